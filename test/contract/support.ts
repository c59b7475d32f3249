/**
 * The contract suite's world: `useContract()` gives the target (a real Appwrite or a fresh
 * emulator, test/contract/target.ts), a key client, and `people(n)`: throw-away users made with the
 * API key (no sign-up abuse limits), each signed in through the browser SDK with its own session.
 * Everything made on a real server — rows, users, teams — is deleted after the file.
 *
 * Realtime: the SDK never says when the server acknowledged a subscription, so each person's
 * socket is tagged (the user part of its `ws://tag@host` endpoint, as in test/support/sdk.ts) and
 * `subscribe()` resolves on the server's `subscribe` response frame. Waiting is on events and
 * frames, never on sleeps, except where time itself is the subject (expiry).
 */
import * as Appwrite from 'appwrite';
import { Account, Client, ID, Presences, Query, Realtime, type RealtimeResponseEvent, type RealtimeSubscription } from 'appwrite';
import * as server from 'node-appwrite';
import { afterAll, beforeAll } from 'vitest';
import { keyClient, type Frame, type KeyClient } from '../support/sdk';
import { startEmulator, type Emulator } from '../../src/emulator/index';
import { contractTarget, type ContractTarget } from './target';

export { EventLog, named } from '../support/sdk';
export { Appwrite, ID, Query };

const EMULATOR_KEY = 'contract-key';
const EMULATOR_PROJECT = 'contract';

export interface Person {
  userId: string;
  name: string;
  client: Client;
  account: Account;
  presences: Presences;
  realtime: Realtime;
  /** `realtime.subscribe`, resolved once the server acknowledged it. Await one at a time per person. */
  subscribe(channels: string[], callback: (event: RealtimeResponseEvent<any>) => void): Promise<RealtimeSubscription>;
  /** The next realtime frame this person's socket receives that matches. */
  nextFrame(match: (frame: Frame) => boolean, timeoutMs?: number): Promise<Frame>;
}

export interface Contract {
  readonly target: ContractTarget;
  readonly endpoint: string;
  readonly projectId: string;
  readonly key: KeyClient;
  /** `n` fresh users with sessions, optionally made members of `teamId` before they sign in. */
  people(n: number, options?: { teamId?: string }): Promise<Person[]>;
  /** `n` fresh users without sessions (for rows written with the key). */
  accounts(n: number): Promise<string[]>;
  /** A fresh team (made with the key: nobody is a member until `people(n, { teamId })`). */
  team(): Promise<string>;
}

// ---- tagged sockets --------------------------------------------------------------------------

class Frames {
  private readonly waiters = new Set<{ match: (frame: Frame) => boolean; resolve: (frame: Frame) => void }>();
  record(frame: Frame): void {
    for (const waiter of [...this.waiters]) {
      if (!waiter.match(frame)) continue;
      this.waiters.delete(waiter);
      waiter.resolve(frame);
    }
  }
  next(match: (frame: Frame) => boolean, timeoutMs: number): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`no matching realtime frame within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = { match, resolve: (frame: Frame) => (clearTimeout(timer), resolve(frame)) };
      this.waiters.add(waiter);
    });
  }
}

const tagged = new Map<string, Frames>();
let tags = 0;
// test/support/sdk.ts (imported above) installed `ws` as the global WebSocket; this subclass also
// records the frames of sockets tagged `k<n>`, a prefix that file never uses.
type SocketClass = new (address: string | URL, protocols?: string | string[]) => { on(event: 'message', listener: (data: unknown) => void): void };
const Base = (globalThis as unknown as { WebSocket: SocketClass }).WebSocket;
class ContractSocket extends Base {
  constructor(address: string | URL, protocols?: string | string[]) {
    const url = new URL(String(address));
    const frames = tagged.get(decodeURIComponent(url.username));
    url.username = '';
    super(url, protocols);
    this.on('message', (data) => {
      try {
        frames?.record(JSON.parse(String(data)) as Frame);
      } catch {
        // not JSON: nothing a waiter could match
      }
    });
  }
}
(globalThis as unknown as { WebSocket: SocketClass }).WebSocket = ContractSocket;

// ---- sessions --------------------------------------------------------------------------------

const storage = () => (globalThis as unknown as { window: { localStorage: { getItem(key: string): string | null; clear(): void } } }).window.localStorage;

/**
 * An email-password session through the browser SDK; its token comes back in X-Fallback-Cookies
 * (the SDK stores it in localStorage.cookieFallback, one per process: hence one at a time) and is
 * pinned to the person's own client with `setSession`.
 */
async function signIn(endpoint: string, projectId: string, email: string, password: string): Promise<string> {
  storage().clear();
  try {
    await new Account(new Client().setEndpoint(endpoint).setProject(projectId)).createEmailPasswordSession({ email, password });
    const fallback = JSON.parse(storage().getItem('cookieFallback') ?? '{}') as Record<string, unknown>;
    const token = fallback[`a_session_${projectId}`];
    if (typeof token !== 'string') throw new Error('the server sent no X-Fallback-Cookies session token');
    return token;
  } finally {
    storage().clear();
  }
}

function person(endpoint: string, projectId: string, userId: string, name: string, token: string): Person {
  const tag = `k${++tags}`;
  const frames = new Frames();
  tagged.set(tag, frames);
  const client = new Client().setEndpoint(endpoint).setProject(projectId).setSession(token);
  client.setEndpointRealtime(endpoint.replace(/^http(s?):\/\//, `ws$1://${tag}@`));
  const realtime = new Realtime(client);
  const nextFrame = (match: (frame: Frame) => boolean, timeoutMs = 10_000) => frames.next(match, timeoutMs);
  return {
    userId,
    name,
    client,
    account: new Account(client),
    presences: new Presences(client),
    realtime,
    nextFrame,
    async subscribe(channels, callback) {
      const acknowledged = nextFrame((frame) => frame.type === 'response' && frame.data?.to === 'subscribe');
      const subscription = await realtime.subscribe(channels, callback);
      await acknowledged;
      return subscription;
    },
  };
}

// ---- the suite's world -----------------------------------------------------------------------

/** Registers the file's hooks: start (or reach) the target before, clean up after. */
export function useContract(): Contract {
  const target = contractTarget(process.env);
  let emulator: Emulator | null = null;
  let endpoint = '';
  let projectId = '';
  let key: KeyClient | null = null;
  const made = { users: [] as string[], teams: [] as string[], realtime: [] as Realtime[] };

  beforeAll(async () => {
    if (target.kind === 'appwrite') {
      ({ endpoint, projectId } = target);
      key = keyClient(endpoint, projectId, target.apiKey);
    } else {
      emulator = await startEmulator({ port: 0, apiKey: EMULATOR_KEY });
      endpoint = emulator.url;
      projectId = EMULATOR_PROJECT;
      key = keyClient(endpoint, projectId, EMULATOR_KEY);
    }
    console.info(`[contract] against ${target.kind === 'appwrite' ? `${endpoint} (project ${projectId})` : `a fresh emulator (${target.reason})`}`);
  });

  afterAll(async () => {
    await Promise.allSettled(made.realtime.map((realtime) => realtime.disconnect()));
    if (emulator) {
      await emulator.close();
      return;
    }
    if (!key) return;
    // A real server: every row of our users, then the users (and with them their sessions), then the teams.
    const k = key;
    for (let at = 0; at < made.users.length; at += 100) {
      const ids = made.users.slice(at, at + 100);
      const rows = await k.presences.list({ queries: [server.Query.equal('userId', ids), server.Query.limit(5000)] });
      await Promise.allSettled(rows.presences.map((row) => k.presences.delete({ presenceId: row.$id })));
    }
    await Promise.allSettled(made.users.map((userId) => k.users.delete({ userId })));
    await Promise.allSettled(made.teams.map((teamId) => k.teams.delete({ teamId })));
  });

  const need = () => {
    if (!key) throw new Error('the contract target is not ready (used outside a hook or test?)');
    return key;
  };

  return {
    target,
    get endpoint() {
      return endpoint;
    },
    get projectId() {
      return projectId;
    },
    get key() {
      return need();
    },
    async team() {
      const teamId = ID.unique();
      await need().teams.create({ teamId, name: `contract ${teamId}` });
      made.teams.push(teamId);
      return teamId;
    },
    async accounts(n) {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        const userId = ID.unique();
        await need().users.create({ userId, name: `Contract ${userId.slice(-6)}` });
        made.users.push(userId);
        ids.push(userId);
      }
      return ids;
    },
    async people(n, options = {}) {
      const out: Person[] = [];
      for (let i = 0; i < n; i++) {
        const userId = ID.unique();
        const name = `Contract ${userId.slice(-6)}`;
        const email = `contract-${userId}@example.test`;
        const password = `pw-${userId}-${Math.random().toString(36).slice(2)}`;
        await need().users.create({ userId, email, password, name });
        made.users.push(userId);
        if (options.teamId) await need().teams.createMembership({ teamId: options.teamId, roles: ['member'], userId });
        const token = await signIn(endpoint, projectId, email, password);
        const someone = person(endpoint, projectId, userId, name, token);
        made.realtime.push(someone.realtime);
        out.push(someone);
      }
      return out;
    },
  };
}

/** The Appwrite error a promise rejected with: its HTTP code and type. */
export async function refusal(promise: Promise<unknown>): Promise<{ code: number; type: string }> {
  try {
    await promise;
  } catch (error) {
    const failure = error as { code?: number; type?: string };
    return { code: failure.code ?? 0, type: failure.type ?? '' };
  }
  throw new Error('expected Appwrite to refuse the request, but it succeeded');
}
