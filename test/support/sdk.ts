/**
 * Real-SDK clients for Node tests: `guest()` (anonymous session), `member()` (named account),
 * `visitor()` (no session) give `appwrite` browser-SDK users; `keyClient()` gives `node-appwrite`
 * services with a project key; `EventLog` and `named()` await realtime events without sleeping.
 *
 * Importing this module installs what the browser SDK expects from a page: a `window` (memory
 * localStorage, setInterval/clearInterval, a console that drops the SDK's cookie-fallback warning)
 * and `WebSocket` (the `ws` package). Pitfall it handles: in Node the SDK keeps the session in ONE
 * process-wide `window.localStorage.cookieFallback`, shared by every client. So session creation is
 * serialised by a mutex; right after it the token is read from that cookie, pinned to its client with
 * `client.setSession(token)` (sent as `X-Appwrite-Session`; the SDK's Realtime sends it in the
 * `authentication` frame after `connected`) and localStorage is cleared. Clients are then independent,
 * except that a visitor's request made WHILE another session is being created may carry that session.
 * Each client's realtime socket is tagged (the user part of its `ws://tag@host` endpoint, stripped
 * before connecting) so tests can see the frames the SDK hides, e.g. the server's subscribe ack.
 */
import { Account, Client, ID, Presences, Realtime, Teams, type Models, type RealtimeResponseEvent, type RealtimeSubscription } from 'appwrite';
import * as server from 'node-appwrite';
import WebSocket from 'ws';

export type Frame = { type: string; data?: any };
export type SubscribeChannels = Parameters<Realtime['subscribe']>[0];

/** One browser-SDK client (one "browser"), with the services tests use. */
export interface SdkUser {
  client: Client;
  account: Account;
  presences: Presences;
  teams: Teams;
  realtime: Realtime;
  /** null for a visitor (no session). */
  userId: string | null;
  /** The session token (`base64({id, secret})`), null for a visitor. */
  token: string | null;
  /** Frames the server sent to this client's realtime sockets, oldest first. */
  frames: Frame[];
  /** The next frame (received after this call) that matches; rejects after `timeoutMs`. */
  nextFrame(match?: (frame: Frame) => boolean, timeoutMs?: number): Promise<Frame>;
  /** `realtime.subscribe`, resolved only once the server acknowledged it (the SDK never waits). Await one at a time. */
  subscribe(channels: SubscribeChannels, callback: (event: RealtimeResponseEvent<any>) => void, queries?: string[]): Promise<RealtimeSubscription>;
  /** Number of this client's realtime sockets the server has not closed yet. */
  openSockets(): number;
  /** `realtime.disconnect()`: closes the socket, no reconnect. */
  close(): Promise<void>;
}

export interface KeyClient {
  client: server.Client;
  presences: server.Presences;
  teams: server.Teams;
  users: server.Users;
}

// ---- globals ---------------------------------------------------------------------------------

class MemoryStorage {
  private readonly items = new Map<string, string>();
  get length(): number {
    return this.items.size;
  }
  key(index: number): string | null {
    return [...this.items.keys()][index] ?? null;
  }
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, String(value));
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
  clear(): void {
    this.items.clear();
  }
}

class FrameLog {
  readonly frames: Frame[] = [];
  readonly sockets = new Set<WebSocket>();
  private readonly waiters = new Set<{ match: (frame: Frame) => boolean; resolve: (frame: Frame) => void }>();

  record(frame: Frame): void {
    this.frames.push(frame);
    for (const waiter of this.waiters) {
      if (!waiter.match(frame)) continue;
      this.waiters.delete(waiter);
      waiter.resolve(frame);
    }
  }

  next(match: (frame: Frame) => boolean, timeoutMs: number): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (frame: Frame) => {
          clearTimeout(timer);
          resolve(frame);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`no matching realtime frame within ${timeoutMs} ms; received: ${JSON.stringify(this.frames.slice(-5))}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }
}

const logs = new Map<string, FrameLog>();

/** `ws` under the browser name, recording what the server sends to tagged clients. */
class ObservedWebSocket extends WebSocket {
  constructor(address: string | URL, protocols?: string | string[]) {
    const url = new URL(String(address));
    const log = logs.get(decodeURIComponent(url.username));
    url.username = '';
    url.password = '';
    super(url, protocols);
    if (!log) return;
    log.sockets.add(this);
    this.on('close', () => log.sockets.delete(this));
    this.on('message', (data) => {
      try {
        log.record(JSON.parse(String(data)) as Frame);
      } catch {
        log.record({ type: 'unparsable', data: String(data) });
      }
    });
  }
}

const FALLBACK_WARNING = 'Appwrite is using localStorage for session management';
const quietConsole = Object.assign(Object.create(console) as Console, {
  warn: (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith(FALLBACK_WARNING)) return;
    console.warn(...args);
  },
});
const globals = globalThis as unknown as { window?: unknown; WebSocket?: unknown };
globals.window ??= {
  localStorage: new MemoryStorage(),
  setInterval: (handler: () => void, ms: number) => setInterval(handler, ms),
  clearInterval: (timer: NodeJS.Timeout) => clearInterval(timer),
  setTimeout: (handler: () => void, ms: number) => setTimeout(handler, ms),
  clearTimeout: (timer: NodeJS.Timeout) => clearTimeout(timer),
  console: quietConsole,
  location: { host: 'localhost' },
};
globals.WebSocket = ObservedWebSocket;
/** The storage the SDK writes `cookieFallback` to: ours, or the window's when a DOM environment made one. */
const storage = (globals.window as { localStorage: Pick<MemoryStorage, 'getItem' | 'clear'> }).localStorage;

// ---- clients ---------------------------------------------------------------------------------

let sessionQueue: Promise<unknown> = Promise.resolve();
let tags = 0;

/** Run `task` alone: nothing else creates a session (and so writes cookieFallback) meanwhile. */
function exclusive<T>(task: () => Promise<T>): Promise<T> {
  const run = sessionQueue.then(task);
  sessionQueue = run.catch(() => undefined);
  return run;
}

function sessionFromFallback(project: string): string {
  const fallback = JSON.parse(storage.getItem('cookieFallback') ?? '{}') as Record<string, unknown>;
  const token = fallback[`a_session_${project}`];
  if (typeof token !== 'string') throw new Error('the server answered no X-Fallback-Cookies session');
  return token;
}

/** A client with no session at all: Appwrite's `guests` role. */
export function visitor(url: string, project: string): SdkUser {
  return sdkUser(url, project, null, null);
}

/** A user with an anonymous session (PRODUCT's "guest": a real user, without a name). */
export async function guest(url: string, project: string): Promise<SdkUser> {
  const anonymous = new Account(new Client().setEndpoint(url).setProject(project));
  const { userId, token } = await exclusive(async () => {
    try {
      const session = await anonymous.createAnonymousSession();
      return { userId: session.userId, token: sessionFromFallback(project) };
    } finally {
      storage.clear();
    }
  });
  return sdkUser(url, project, userId, token);
}

/** A named account with an email-password session. */
export async function member(url: string, project: string, who: { name?: string; email?: string; password?: string } = {}): Promise<SdkUser> {
  const account = new Account(new Client().setEndpoint(url).setProject(project));
  const email = who.email ?? `${ID.unique()}@example.test`;
  const password = who.password ?? 'password-for-tests';
  await account.create({ userId: ID.unique(), email, password, name: who.name });
  const { userId, token } = await exclusive(async () => {
    try {
      const session = await account.createEmailPasswordSession({ email, password });
      return { userId: session.userId, token: sessionFromFallback(project) };
    } finally {
      storage.clear();
    }
  });
  return sdkUser(url, project, userId, token);
}

/** A `node-appwrite` client authenticated by a project API key. */
export function keyClient(url: string, project: string, key: string): KeyClient {
  const client = new server.Client().setEndpoint(url).setProject(project).setKey(key);
  return { client, presences: new server.Presences(client), teams: new server.Teams(client), users: new server.Users(client) };
}

function sdkUser(url: string, project: string, userId: string | null, token: string | null): SdkUser {
  const tag = `c${++tags}`;
  const log = new FrameLog();
  logs.set(tag, log);
  const client = new Client().setEndpoint(url).setProject(project);
  client.setEndpointRealtime(url.replace(/^http(s?):\/\//, `ws$1://${tag}@`));
  if (token) client.setSession(token);
  const realtime = new Realtime(client);
  const nextFrame = (match: (frame: Frame) => boolean = () => true, timeoutMs = 5_000) => log.next(match, timeoutMs);
  return {
    client,
    account: new Account(client),
    presences: new Presences(client),
    teams: new Teams(client),
    realtime,
    userId,
    token,
    frames: log.frames,
    nextFrame,
    subscribe: async (channels, callback, queries = []) => {
      const acknowledged = nextFrame((frame) => frame.type === 'response' && frame.data?.to === 'subscribe');
      const subscription = await realtime.subscribe(channels, callback, queries);
      await acknowledged;
      return subscription;
    },
    openSockets: () => log.sockets.size,
    close: async () => {
      await realtime.disconnect();
      logs.delete(tag);
    },
  };
}

// ---- event collection --------------------------------------------------------------------------

/** Collects realtime events (pass `log.callback` to subscribe) and awaits the ones a test expects. */
export class EventLog<T = Models.Presence> {
  readonly events: RealtimeResponseEvent<T>[] = [];
  private readonly waiters = new Set<() => void>();

  readonly callback = (event: RealtimeResponseEvent<T>): void => {
    this.events.push(event);
    for (const check of [...this.waiters]) check();
  };

  matching(match: (event: RealtimeResponseEvent<T>) => boolean): RealtimeResponseEvent<T>[] {
    return this.events.filter(match);
  }

  /** Resolves with the matching events once at least `count` have arrived (earlier ones count too). */
  until(match: (event: RealtimeResponseEvent<T>) => boolean, { count = 1, timeoutMs = 5_000 } = {}): Promise<RealtimeResponseEvent<T>[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.matching(match);
        if (found.length < count) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`expected ${count} matching event(s) within ${timeoutMs} ms, got ${this.matching(match).length}: ${JSON.stringify(this.events.map((event) => event.events[0]))}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }
}

/** Match an event by one of its names, e.g. `named('presences.*.delete')`. */
export const named =
  (name: string) =>
  (event: RealtimeResponseEvent<unknown>): boolean =>
    event.events.includes(name);
