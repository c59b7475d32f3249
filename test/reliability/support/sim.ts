/**
 * An in-process Appwrite for deterministic reliability tests under fake timers: the emulator's own
 * presence rules (PresenceService, the REST route handlers with their validators, EventBus fan-out
 * by read roles, one row per user, expiry hidden on read) behind a fake `appwrite` SDK that mimics
 * appwrite@28's client behaviour where the library depends on it — REST calls that take time,
 * a Realtime whose `onOpen` fires before the subscription is live, a 1 s reconnect after a drop,
 * frames in order per socket. No sockets, no HTTP: every delay is a timer, so
 * `vi.advanceTimersByTimeAsync` drives the whole system and every run is the same.
 *
 * Time: the client's clock is `Date.now()` (faked); the server's is `Date.now() + skewMs`.
 * Faults are explicit and deterministic: `drop()`, `hold()`/`release(transform)` per socket,
 * `inject(data)` (any frame, as the server could send it), `failNext(op)`, `tamper(op, fn)`.
 * The real emulator (HTTP + ws) is used by the real-time tests instead; this one trades the wire
 * for determinism and keeps the server's rules by reusing its modules.
 */
import * as Appwrite from 'appwrite';
import { AppwriteException, Client, type RealtimeResponseEvent } from 'appwrite';
import { userRoles } from '../../../src/emulator/auth';
import { Connection, type Subscription } from '../../../src/emulator/connection';
import { AppwriteError } from '../../../src/emulator/errors';
import { EventBus } from '../../../src/emulator/events';
import { Faults } from '../../../src/emulator/faults';
import { accountModel, presenceModel } from '../../../src/emulator/models';
import { Params } from '../../../src/emulator/params';
import { PresenceService } from '../../../src/emulator/presences';
import { presenceRoutes } from '../../../src/emulator/presences-http';
import { matchPath, type Route } from '../../../src/emulator/routes';
import { Projects, type Project, type User } from '../../../src/emulator/state';
import type { AppwriteSdk } from '../../../src/transport/appwrite';

export type RestOp = 'get' | 'list' | 'upsert' | 'delete';

export interface SimOptions {
  /** Server clock minus client clock, ms (a client whose clock is 10 min slow: +600 000). */
  skewMs?: number;
  /** One REST round trip, ms (half each way). */
  restMs?: number;
  /** One realtime frame, either way, ms. */
  frameMs?: number;
}

const PROJECT = 'sim';

export interface SimSdk {
  sdk: AppwriteSdk;
  client: Client;
  /** The Realtime the transport created, once it did. */
  realtime(): SimRealtime | null;
  /** Swap the session the SDK carries (sign in as someone else); null signs out. */
  signIn(user: User | null): void;
  user(): User | null;
}

export class SimServer {
  skewMs: number;
  readonly restMs: number;
  readonly frameMs: number;
  readonly clock = { now: () => Date.now() + this.skewMs };
  readonly project: Project;
  readonly presences: PresenceService;
  private readonly routes: Route[];
  private readonly sockets = new Set<SimSocket>();
  private readonly failures: { op: RestOp; left: number }[] = [];
  private readonly tampers = new Map<RestOp, (body: unknown) => unknown>();
  private users = 0;
  /** REST requests started and not answered yet. */
  inflight = 0;
  /** List answers the server produced, per user. */
  readonly lists = new Map<string, number>();

  constructor(options: SimOptions = {}) {
    this.skewMs = options.skewMs ?? 0;
    this.restMs = options.restMs ?? 10;
    this.frameMs = options.frameMs ?? 2;
    const projects = new Projects(null);
    this.project = projects.get(PROJECT)!;
    this.presences = new PresenceService(this.clock, new EventBus(this.clock), () => undefined);
    this.routes = presenceRoutes(this.presences, new Faults());
  }

  /** A signed-in user (an anonymous guest unless named). */
  addUser(who: { name?: string; email?: string } = {}): User {
    const now = this.clock.now();
    const id = `user${String(++this.users).padStart(4, '0')}`;
    const user: User = { id, createdAt: now, updatedAt: now, name: who.name ?? null, email: who.email ?? '', password: null, accessedAt: now };
    this.project.users.set(id, user);
    return user;
  }

  /** Make `user` a member of `teamId` (created on first use). */
  join(user: User, teamId: string): void {
    const now = this.clock.now();
    if (!this.project.teams.has(teamId)) this.project.teams.set(teamId, { id: teamId, name: teamId, createdAt: now, updatedAt: now });
    const id = `m-${teamId}-${user.id}`;
    this.project.memberships.set(id, { id, teamId, userId: user.id, roles: [], createdAt: now, updatedAt: now, invited: now, joined: now });
    for (const socket of this.sockets) socket.refreshRoles();
  }

  /** The rows a list by an API key would answer now (expired rows hidden), as the REST model. */
  rows(): Record<string, any>[] {
    const now = this.clock.now();
    return [...this.project.presences.values()].filter((row) => row.expiresAt === null || row.expiresAt > now).map(presenceModel);
  }

  /** userId → status of the live rows. */
  truth(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const row of this.rows()) out[row.userId] = row.status;
    return out;
  }

  /** The fake SDK namespace for one user: what `createAppwriteTransport({ sdk })` takes. */
  sdkFor(user: User): SimSdk {
    const server = this;
    let realtime: SimRealtime | null = null;
    // The session the SDK carries; `signIn` swaps it (a new identity), null signs out.
    const session = { user: user as User | null };
    const who = () => session.user;
    const client = new Client().setEndpoint('http://sim.invalid/v1').setProject(PROJECT);
    const sdk: AppwriteSdk = {
      Account: class {
        get() {
          return server.rest(who(), 'get', (me) => accountModel(me)) as any;
        }
      } as unknown as AppwriteSdk['Account'],
      Presences: class {
        list(params: { queries?: string[]; total?: boolean } = {}) {
          return server.rest(who(), 'list', (me) => server.route('GET', '/v1/presences', me, { queries: params.queries ?? [], total: params.total ?? true })) as any;
        }
        upsert(params: Record<string, unknown>) {
          const { presenceId, ...body } = params;
          return server.rest(who(), 'upsert', (me) => server.route('PUT', `/v1/presences/${String(presenceId)}`, me, body)) as any;
        }
        delete(params: { presenceId: string }) {
          return server.rest(who(), 'delete', (me) => server.route('DELETE', `/v1/presences/${params.presenceId}`, me, {})) as any;
        }
      } as unknown as AppwriteSdk['Presences'],
      Realtime: class {
        constructor() {
          realtime = new SimRealtime(server, who);
          return realtime as any;
        }
      } as unknown as AppwriteSdk['Realtime'],
      Channel: Appwrite.Channel,
      Query: Appwrite.Query,
      Permission: Appwrite.Permission,
      Role: Appwrite.Role,
    };
    return {
      sdk,
      client,
      realtime: () => realtime,
      signIn: (next) => {
        session.user = next;
      },
      user: who,
    };
  }

  /**
   * Write as `user` straight on the server through the REST upsert route (a peer that is not under
   * test): its event fans out to every socket at once. Returns the row as the REST model.
   */
  upsertAs(
    user: User,
    body: { status: string; expiresAt?: number; permissions?: string[]; metadata?: Record<string, unknown> },
  ): Record<string, any> {
    const id = this.project.presenceByUser.get(user.id) ?? `row-${user.id}`;
    const request: Record<string, unknown> = {
      status: body.status,
      permissions: body.permissions ?? [`read("users")`, `update("user:${user.id}")`, `delete("user:${user.id}")`],
      expiresAt: new Date(body.expiresAt ?? this.clock.now() + 75_000).toISOString(),
    };
    if (body.metadata !== undefined) request.metadata = body.metadata;
    return this.route('PUT', `/v1/presences/${id}`, user, request) as Record<string, any>;
  }

  /** Delete `user`'s row straight on the server; false when there was none. */
  deleteAs(user: User): boolean {
    const id = this.project.presenceByUser.get(user.id);
    if (id === undefined) return false;
    this.route('DELETE', `/v1/presences/${id}`, user, {});
    return true;
  }

  // ---- faults ----------------------------------------------------------------------------------

  /** The next `count` calls of `op` fail with Appwrite's 500 before reaching the server. */
  failNext(op: RestOp, count = 1): void {
    this.failures.push({ op, left: count });
  }

  /** Replace what `op` answers (the server still does the work): a malformed REST response. */
  tamper(op: RestOp, fn: ((body: unknown) => unknown) | null): void {
    if (fn) this.tampers.set(op, fn);
    else this.tampers.delete(op);
  }

  /** Kill every socket without a close frame; each client reconnects 1 s later (the SDK's first delay). */
  drop(): number {
    const all = [...this.sockets];
    for (const socket of all) socket.kill();
    return all.length;
  }

  /** Open sockets. */
  connections(): number {
    return this.sockets.size;
  }

  // ---- internals -------------------------------------------------------------------------------

  /** @internal */
  attach(socket: SimSocket): void {
    this.sockets.add(socket);
  }

  /** @internal */
  detach(socket: SimSocket): void {
    this.sockets.delete(socket);
  }

  private route(method: Route['method'], pathname: string, user: User, body: Record<string, unknown>): unknown {
    const route = this.routes.find((r) => r.method === method && matchPath(r.path, pathname));
    if (!route) throw new AppwriteError(404, 'general_route_not_found', 'The requested route was not found.');
    const reply = route.handle({
      project: this.project,
      caller: { kind: 'user', user, session: null as never },
      params: Params.rest(body),
      path: matchPath(route.path, pathname)!,
      headers: {},
      ip: '127.0.0.1',
      now: this.clock.now(),
    });
    return reply.body ?? '';
  }

  /** A REST round trip: half the latency out, the server's work, half back, answered as JSON. */
  private async rest(user: User | null, op: RestOp, work: (user: User) => unknown): Promise<unknown> {
    this.inflight++;
    try {
      await delay(this.restMs / 2);
      const failure = this.failures.find((f) => f.op === op && f.left > 0);
      if (failure) {
        failure.left--;
        await delay(this.restMs / 2);
        throw new AppwriteException('Server Error', 500, 'general_unknown', '');
      }
      let body: unknown;
      try {
        if (user === null) throw new AppwriteError(401, 'general_unauthorized_scope', 'User (role: guests) missing scopes (["account"])');
        body = JSON.parse(JSON.stringify(work(user)));
        if (op === 'list') this.lists.set(user.id, (this.lists.get(user.id) ?? 0) + 1);
      } catch (error) {
        await delay(this.restMs / 2);
        if (error instanceof AppwriteError) throw new AppwriteException(error.message, error.code, error.type, '');
        throw error;
      }
      await delay(this.restMs / 2);
      const tamper = this.tampers.get(op);
      return tamper ? tamper(body) : body;
    } finally {
      this.inflight--;
    }
  }
}

type Callback = (event: RealtimeResponseEvent<unknown>) => void;

/**
 * appwrite@28's `Realtime`, as far as the transport can tell: `subscribe` opens a socket and
 * resolves at `open`; `onOpen` fires then, BEFORE the subscribe frame reaches the server; a close
 * fires `onClose` and reconnects after 1 s while subscriptions remain; `disconnect()` ends it all.
 */
export class SimRealtime {
  private readonly subscriptions = new Map<string, { channels: string[]; callback: Callback }>();
  private readonly opens: (() => void)[] = [];
  private readonly closes: (() => void)[] = [];
  private readonly errors: ((error: Error, code?: number) => void)[] = [];
  private socket: SimSocket | null = null;
  private opening: Promise<void> | null = null;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private ids = 0;
  /** Sockets opened so far. */
  opened = 0;

  constructor(
    private readonly server: SimServer,
    /** Who the session is when a socket opens (connected.user). */
    readonly user: () => User | null,
  ) {}

  /** Subscription ids the client holds now. */
  subscriptionIds(): string[] {
    return [...this.subscriptions.keys()];
  }

  onOpen(callback: () => void): void {
    this.opens.push(callback);
  }

  onClose(callback: () => void): void {
    this.closes.push(callback);
  }

  onError(callback: (error: Error, code?: number) => void): void {
    this.errors.push(callback);
  }

  async subscribe(channels: string | string[], callback: Callback) {
    const id = `sub${++this.ids}`;
    this.subscriptions.set(id, { channels: Array.isArray(channels) ? channels : [channels], callback });
    if (this.socket?.open) this.socket.sendSubscribe(id, this.subscriptions.get(id)!.channels);
    else await this.connect();
    return {
      // As the SDK: `unsubscribe` keeps the socket, `close` also closes it after the last one.
      unsubscribe: async () => {
        this.subscriptions.delete(id);
        this.socket?.sendUnsubscribe(id);
      },
      update: async () => undefined,
      close: async () => {
        this.subscriptions.delete(id);
        if (this.subscriptions.size === 0) this.closeSocket();
      },
    };
  }

  async disconnect(): Promise<void> {
    this.subscriptions.clear();
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.closeSocket();
  }

  /** The live socket, for per-client faults (hold, release, inject). */
  get current(): SimSocket | null {
    return this.socket;
  }

  /** @internal a frame arrived: dispatch it exactly as the SDK's handleResponseEvent does. */
  dispatch(message: unknown): void {
    if (typeof message !== 'object' || message === null) return;
    const { type, data } = message as { type?: unknown; data?: any };
    if (type === 'error') {
      for (const callback of this.errors) callback(new AppwriteException(data?.message || 'Unknown error'), data?.code);
      return;
    }
    if (type !== 'event' || !data) return;
    const { channels, events, payload, timestamp, subscriptions } = data;
    if (!channels || !events || !payload || !subscriptions || subscriptions.length === 0) return;
    for (const id of subscriptions) {
      const subscription = this.subscriptions.get(id);
      subscription?.callback({ events, channels, timestamp, payload, subscriptions });
    }
  }

  /** @internal the server side of the socket went away (drop): notify and reconnect. */
  lost(socket: SimSocket): void {
    if (socket !== this.socket) return;
    this.socket = null;
    for (const callback of this.closes) callback();
    if (this.subscriptions.size === 0) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.subscriptions.size > 0) void this.connect();
    }, 1_000);
  }

  private connect(): Promise<void> {
    if (this.opening) return this.opening;
    this.opening = new Promise<void>((resolve) => {
      setTimeout(() => {
        this.opening = null;
        if (this.subscriptions.size === 0) return resolve();
        const socket = new SimSocket(this.server, this);
        this.socket = socket;
        this.opened++;
        for (const callback of this.opens) callback();
        resolve();
        // After `connected`: the SDK sends every active subscription in one frame.
        for (const [id, { channels }] of this.subscriptions) socket.sendSubscribe(id, channels);
      }, this.server.frameMs * 2);
    });
    return this.opening;
  }

  private closeSocket(): void {
    const socket = this.socket;
    if (!socket) return;
    this.socket = null;
    socket.close();
    for (const callback of this.closes) callback();
  }
}

/**
 * One socket: its server half is a real emulator `Connection` (so EventBus routing, roles and
 * subscriptions are the emulator's), its client half delivers frames in order after `frameMs`.
 */
export class SimSocket {
  readonly connection: Connection;
  open = true;
  private held: unknown[] | null = null;
  private lastDue = 0;
  /** Frames delivered to the client, parsed. */
  readonly received: unknown[] = [];

  constructor(
    private readonly server: SimServer,
    private readonly realtime: SimRealtime,
  ) {
    const ws = { readyState: 1, OPEN: 1, send: (text: string) => this.fromServer(text), terminate() {}, close() {} };
    this.connection = new Connection(ws as never, server.project, '127.0.0.1');
    const user = realtime.user();
    if (user) {
      this.connection.user = user;
      this.connection.roles = userRoles(server.project, user);
    }
    server.project.connections.add(this.connection);
    server.attach(this);
  }

  refreshRoles(): void {
    if (this.connection.user) this.connection.roles = userRoles(this.server.project, this.connection.user);
  }

  sendSubscribe(id: string, channels: string[]): void {
    setTimeout(() => {
      if (!this.open) return;
      const subscription: Subscription = { id, channels: new Set(channels), queries: [], filters: [] };
      this.connection.subscriptions.set(id, subscription);
    }, this.server.frameMs);
  }

  sendUnsubscribe(id: string): void {
    setTimeout(() => this.connection.subscriptions.delete(id), this.server.frameMs);
  }

  /** Keep every frame from now on until `release`. */
  hold(): void {
    this.held ??= [];
  }

  /** Deliver the held frames, transformed (reordered, duplicated, dropped) by `transform`. */
  release(transform: (frames: unknown[]) => unknown[] = (frames) => frames): void {
    const frames = transform(this.held ?? []);
    this.held = null;
    for (const frame of frames) this.deliver(frame);
  }

  /** Frames held so far (parsed). */
  get holding(): unknown[] {
    return this.held ?? [];
  }

  /** Deliver anything, as if the server had sent it (malformed frames, forged events). */
  inject(message: unknown): void {
    this.deliver(message);
  }

  /** Server half gone without a close frame (a dead network): rows are released, the client reconnects. */
  kill(): void {
    if (!this.open) return;
    this.close();
    this.realtime.lost(this);
  }

  /** Both halves closed. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    this.server.project.connections.delete(this.connection);
    this.server.presences.releaseTracked(this.server.project, this.connection.presences);
    this.server.detach(this);
  }

  private fromServer(text: string): void {
    const message = JSON.parse(text) as unknown;
    if (this.held) this.held.push(message);
    else this.deliver(message);
  }

  private deliver(message: unknown): void {
    // In order per socket.
    const due = Math.max(Date.now() + this.server.frameMs, this.lastDue);
    this.lastDue = due;
    setTimeout(() => {
      if (!this.open) return;
      this.received.push(message);
      this.realtime.dispatch(message);
    }, due - Date.now());
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
