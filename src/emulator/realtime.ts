/**
 * Realtime at `/v1/realtime` (spec §5): the handshake (`connected`, with the user when a cookie or
 * session header names one), the five client messages (`ping`, `authentication`, `subscribe`,
 * `unsubscribe`, `presence`) and `error` frames with Appwrite's codes and messages. Every handler is
 * synchronous, so one socket's frames are processed strictly in arrival order (the SDK's
 * back-to-back authentication → subscribe → presence cannot race, unlike on Swoole, spec §13.6).
 * Only policy violations (1008) close the socket; anything else answers an error frame and the
 * socket stays usable. A closing socket deletes the rows it published, each with one delete event.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { authorizationRoles, sessionForToken, tokenFromHeaders, userRoles } from './auth.js';
import { Connection, type Subscription } from './connection.js';
import { AppwriteError, RealtimeError, userNotFound } from './errors.js';
import { uniqueId, type Clock } from './format.js';
import { clientIp, queryParams } from './http.js';
import { parseJson } from './json.js';
import { accountModel, realtimePresencePayload } from './models.js';
import { Params } from './params.js';
import { permissionsParam } from './permissions.js';
import type { PresenceService } from './presences.js';
import { parseRuntimeQueries, QueryProblem } from './queries.js';
import type { Project, Projects, User } from './state.js';
import { isKey, isPlainObject, text } from './validators.js';

/** Swoole's `package_max_length` on Appwrite's realtime server. */
const MAX_MESSAGE_BYTES = 64_000;
/** Beyond this `ws` itself closes the socket (1009): a guard for the emulator's memory, not Appwrite's rule. */
const MAX_FRAME_BYTES = 1024 * 1024;
const SOCKET_PRESENCE_LIFETIME_MS = 30 * 24 * 60 * 60_000;
const MESSAGES_PER_MINUTE = 32;
const CONNECTS_PER_MINUTE = 128;

const SUBSCRIBE_DESCRIPTION =
  'Value must be a non-empty list of subscriptions, each an object with "channels" (a non-empty list of strings), an optional "subscriptionId" (unique() or a valid ID) and optional "queries" (a list of query strings)';
const UNSUBSCRIBE_DESCRIPTION = 'Value must be a non-empty list of objects, each with a "subscriptionId" string';

export interface RealtimeOptions {
  projects: Projects;
  clock: Clock;
  presences: PresenceService;
  /** Appwrite's realtime abuse limits (32 messages/min/connection, 128 connects/min/IP). */
  abuse: boolean;
}

type Handler = (connection: Connection, data: unknown) => void;

export class Realtime {
  private readonly server = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  private readonly live = new Set<Connection>();
  private readonly connectsByIp = new Map<string, { window: number; count: number }>();
  /** Fault hook: refuse every upgrade, as a proxy that blocks WebSockets does. */
  private blocked = false;
  private readonly handlers: Record<string, Handler> = {
    ping: (connection) => connection.send({ type: 'pong' }),
    authentication: (connection, data) => this.onAuthentication(connection, data),
    subscribe: (connection, data) => this.onSubscribe(connection, data),
    unsubscribe: (connection, data) => this.onUnsubscribe(connection, data),
    presence: (connection, data) => this.onPresence(connection, data),
  };

  constructor(private readonly options: RealtimeOptions) {}

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.blocked) return refuseUpgrade(socket);
    this.server.handleUpgrade(req, socket, head, (ws) => this.open(ws, req));
  }

  /**
   * Fault hook: while blocked, every upgrade is answered 403 before it becomes a WebSocket (as a
   * corporate proxy refusing WebSockets does: the page sees an error and a 1006 close, never a
   * frame); with `drop`, the open sockets are killed too (see dropAll). The SDK keeps retrying
   * on its own schedule, so unblocking lets its next attempt in. Returns how many were dropped.
   */
  block(blocked: boolean, { drop = false }: { drop?: boolean } = {}): number {
    this.blocked = blocked;
    return blocked && drop ? this.dropAll() : 0;
  }

  /** Open realtime sockets. */
  count(): number {
    return this.live.size;
  }

  /**
   * Fault hook: kill every socket without a close frame. The usual close cleanup runs right here,
   * so when the hook answers, the dropped sockets' rows are already deleted.
   */
  dropAll(): number {
    const dropped = [...this.live];
    for (const connection of dropped) {
      this.closed(connection);
      connection.socket.terminate();
    }
    return dropped.length;
  }

  /** Reset or shutdown: drop every socket WITHOUT cleanup, the data they point at is being forgotten. */
  forgetAll(): void {
    for (const connection of this.live) {
      connection.presences.clear();
      connection.socket.terminate();
    }
    this.live.clear();
    this.connectsByIp.clear();
  }

  close(): Promise<void> {
    this.forgetAll();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** A user's memberships changed: re-route their open connections by the new roles. */
  refreshRoles(project: Project, userId: string): void {
    for (const connection of project.connections) {
      if (connection.user?.id === userId) connection.roles = userRoles(project, connection.user);
    }
  }

  private open(ws: WebSocket, req: IncomingMessage): void {
    // A broken socket emits 'error' and then 'close'; the close handler does all the cleanup.
    ws.on('error', () => undefined);
    try {
      this.accept(ws, req);
    } catch (error) {
      // Only a bug gets here; it must cost this socket, never the process.
      console.error('appwrite-presence-emulator: realtime handshake failed', error);
      ws.close(1011, 'Server Error');
    }
  }

  /** The handshake: limits, project, session from headers, URL subscriptions, then `connected`. */
  private accept(ws: WebSocket, req: IncomingMessage): void {
    const ip = clientIp(req);
    const now = this.options.clock.now();
    // The server only upgrades requests whose target parsed, so this cannot throw.
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (this.options.abuse && !this.allowConnect(ip, now)) return reject(ws, new RealtimeError(1013, 'Too many requests'));
    const projectId = url.searchParams.get('project') ?? headerValue(req.headers['x-appwrite-project']);
    const project = this.options.projects.get(projectId);
    if (!project) return reject(ws, new RealtimeError(1008, 'Missing or unknown project ID'));
    let initial: Subscription[];
    try {
      initial = urlSubscriptions(url, now);
    } catch (error) {
      if (error instanceof RealtimeError) return reject(ws, error);
      throw error;
    }
    const connection = new Connection(ws, project, ip);
    const found = sessionForToken(project, tokenFromHeaders(req.headers, project.id), now);
    if (found) this.signIn(connection, found.user);
    for (const subscription of initial) connection.subscriptions.set(subscription.id, subscription);
    this.live.add(connection);
    project.connections.add(connection);
    ws.on('message', (data) => this.receive(connection, data));
    ws.on('close', () => this.closed(connection));
    connection.send({
      type: 'connected',
      data: {
        channels: [...new Set(initial.flatMap((subscription) => [...subscription.channels]))],
        subscriptions: initial.map((subscription) => subscription.id),
        user: connection.user ? accountModel(connection.user) : null,
      },
    });
  }

  /** Idempotent: a dropped socket is cleaned up at once and again (as a no-op) when 'close' fires. */
  private closed(connection: Connection): void {
    if (!this.live.delete(connection)) return;
    connection.project.connections.delete(connection);
    this.options.presences.releaseTracked(connection.project, connection.presences);
    connection.presences.clear();
  }

  private receive(connection: Connection, raw: RawData): void {
    // A dropped socket may still have frames in flight; it must not track new rows.
    if (!this.live.has(connection)) return;
    try {
      if (this.options.abuse && !allowMessage(connection, this.options.clock.now())) throw new RealtimeError(1013, 'Too many messages.');
      const bytes = Buffer.isBuffer(raw) ? raw : Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw);
      if (bytes.length > MAX_MESSAGE_BYTES) throw new RealtimeError(1009, `Message is too big: the limit is ${MAX_MESSAGE_BYTES} bytes.`);
      const { type, data } = parseMessage(bytes.toString('utf8'), this.handlers);
      this.handlers[type]!(connection, data);
    } catch (error) {
      sendError(connection, error);
    }
  }

  private signIn(connection: Connection, user: User): void {
    connection.user = user;
    connection.roles = userRoles(connection.project, user);
  }

  /**
   * Keeps the connection's project, subscriptions and tracked presences (spec §5.5 quirk NOT
   * reproduced: the real handler forgets them when the socket had no subscription yet, which the
   * spec judges unintended). Subscriptions are re-routed by the new user's roles.
   */
  private onAuthentication(connection: Connection, data: unknown): void {
    const token = Params.realtime(isPlainObject(data) ? data : {}).required('session', text(2048));
    const found = sessionForToken(connection.project, token, this.options.clock.now());
    if (!found) throw new RealtimeError(1003, 'Session is not valid.');
    this.signIn(connection, found.user);
    connection.send({ type: 'response', data: { to: 'authentication', success: true, user: accountModel(found.user) } });
  }

  /**
   * Re-using a subscription id replaces its queries and ADDS the channels named (spec §5.6,
   * inferred from Realtime::subscribe: the server never removes an id from a channel). The whole
   * frame is validated before any subscription changes.
   */
  private onSubscribe(connection: Connection, data: unknown): void {
    const requests = subscribeRequests(data);
    const now = this.options.clock.now();
    const answered = requests.map((request) => {
      const id = request.id ?? uniqueId(now);
      const existing = connection.subscriptions.get(id);
      const channels = new Set([...(existing?.channels ?? []), ...request.channels]);
      connection.subscriptions.set(id, { id, channels, queries: request.queries, filters: request.filters });
      return { subscriptionId: id, channels: [...channels], queries: request.queries };
    });
    connection.send({ type: 'response', data: { to: 'subscribe', success: true, subscriptions: answered } });
  }

  private onUnsubscribe(connection: Connection, data: unknown): void {
    const invalid = () => new RealtimeError(1003, `data: ${UNSUBSCRIBE_DESCRIPTION}`);
    if (data === undefined || data === null) throw new RealtimeError(1003, 'Payload is not valid. Data is required');
    if (!Array.isArray(data) || data.length === 0) throw invalid();
    const ids = data.map((entry) => {
      if (!isPlainObject(entry) || typeof entry.subscriptionId !== 'string') throw invalid();
      return entry.subscriptionId;
    });
    const subscriptions = ids.map((subscriptionId) => ({ subscriptionId, removed: connection.subscriptions.delete(subscriptionId) }));
    connection.send({ type: 'response', data: { to: 'unsubscribe', success: true, subscriptions } });
  }

  /**
   * Validation first (1003, nothing written), then the user (401, socket stays open), then the
   * same upsert as REST with source `realtime`, 30 days of expiry and the metadata kept when
   * omitted. The socket tracks the row with the payload it sent, for the delete on close.
   */
  private onPresence(connection: Connection, data: unknown): void {
    const params = Params.realtime(isPlainObject(data) ? data : {});
    const status = params.required('status', text(2048));
    const requestedId = params.optional('presenceId', text(36));
    const permissions = params.optional('permissions', permissionsParam());
    if (!connection.user) throw new RealtimeError(401, 'User must be authorized');
    const { project } = connection;
    const user = project.users.get(connection.user.id);
    if (!user) throw userNotFound();
    const now = this.options.clock.now();
    const actor = { kind: 'user' as const, user, roles: authorizationRoles(project, user) };
    const row = this.options.presences.upsert(project, actor, user, {
      presenceId: requestedId === undefined || requestedId === 'unique()' ? uniqueId(now) : requestedId,
      status,
      permissions,
      expiresAt: now + SOCKET_PRESENCE_LIFETIME_MS,
      metadata: params.raw('metadata'),
      source: 'realtime',
    });
    const payload = realtimePresencePayload(row);
    connection.presences.set(row.id, payload);
    connection.send({ type: 'response', data: { to: 'presence', presence: payload } });
  }

  private allowConnect(ip: string, now: number): boolean {
    const window = windowAt(now);
    const entry = this.connectsByIp.get(ip);
    if (!entry || entry.window !== window) {
      this.connectsByIp.set(ip, { window, count: 1 });
      return true;
    }
    return ++entry.count <= CONNECTS_PER_MINUTE;
  }
}

/** utopia-php/abuse `TimeLimit` counts in fixed windows aligned to the minute. */
const windowAt = (now: number): number => Math.floor(now / 60_000);

function allowMessage(connection: Connection, now: number): boolean {
  const window = windowAt(now);
  if (connection.window.start !== window) connection.window = { start: window, count: 0 };
  return ++connection.window.count <= MESSAGES_PER_MINUTE;
}

const headerValue = (value: string | string[] | undefined): string | undefined => (typeof value === 'string' ? value : undefined);

/** Spec §5.3: JSON with a type or data; a known scalar type. */
function parseMessage(text: string, handlers: Record<string, Handler>): { type: string; data: unknown } {
  let message: unknown;
  try {
    message = parseJson(text);
  } catch {
    throw new RealtimeError(1003, 'Message format is not valid.');
  }
  if (!isPlainObject(message) || (!Object.hasOwn(message, 'type') && !Object.hasOwn(message, 'data')))
    throw new RealtimeError(1003, 'Message format is not valid.');
  const type = message.type;
  if (typeof type !== 'string' || !Object.hasOwn(handlers, type)) throw new RealtimeError(1003, 'Message type is not valid.');
  return { type, data: message.data };
}

interface SubscribeRequest {
  id: string | null;
  channels: string[];
  queries: string[];
  filters: Subscription['filters'];
}

function subscribeRequests(data: unknown): SubscribeRequest[] {
  if (data === undefined || data === null) throw new RealtimeError(1003, 'Payload is not valid. Data is required');
  const invalid = () => new RealtimeError(1003, `data: ${SUBSCRIBE_DESCRIPTION}`);
  if (!Array.isArray(data) || data.length === 0) throw invalid();
  return data.map((entry) => {
    if (!isPlainObject(entry)) throw invalid();
    const { subscriptionId, channels, queries = [] } = entry;
    const idOk = subscriptionId === undefined || subscriptionId === 'unique()' || isKey(subscriptionId);
    const channelsOk = Array.isArray(channels) && channels.length > 0 && channels.every((channel) => typeof channel === 'string' && channel !== '');
    if (!idOk || !channelsOk || !Array.isArray(queries)) throw invalid();
    return {
      id: typeof subscriptionId === 'string' && subscriptionId !== 'unique()' ? subscriptionId : null,
      channels: channels as string[],
      queries: queries as string[],
      filters: runtimeFilters(queries),
    };
  });
}

function runtimeFilters(queries: unknown): Subscription['filters'] {
  try {
    return parseRuntimeQueries(queries);
  } catch (error) {
    if (error instanceof QueryProblem) throw new RealtimeError(1003, `Invalid query: ${error.message}`);
    throw error;
  }
}

/** `?channels[]=a&channels[]=b&a[]=<query>`: one subscription per channel (the SDK never uses this). */
function urlSubscriptions(url: URL, now: number): Subscription[] {
  const params = queryParams(url.searchParams);
  const channels = Array.isArray(params.channels) ? (params.channels as string[]) : [];
  return channels.map((channel) => {
    const queries = params[channel.replaceAll('.', '_')];
    const list = Array.isArray(queries) ? (queries as string[]) : [];
    return { id: uniqueId(now), channels: new Set([channel]), queries: list, filters: runtimeFilters(list) };
  });
}

/** What a blocking proxy answers to an upgrade: a plain 403, then the connection ends. */
function refuseUpgrade(socket: Duplex): void {
  const body = 'WebSockets are blocked (appwrite-presence-emulator block-realtime)';
  socket.end(`HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

/** A handshake failure: an error frame, then the socket closes with the same code. */
function reject(ws: WebSocket, error: RealtimeError): void {
  ws.send(JSON.stringify({ type: 'error', data: { code: error.code, message: error.message } }));
  ws.close(error.code, error.message);
}

function sendError(connection: Connection, error: unknown): void {
  let code: number;
  let message: string;
  if (error instanceof RealtimeError || error instanceof AppwriteError) {
    code = error.code;
    message = code >= 500 && code < 600 ? 'Error: Server Error' : error.message;
  } else {
    console.error('appwrite-presence-emulator: realtime handler failed', error);
    code = 500;
    message = 'Error: Server Error';
  }
  connection.send({ type: 'error', data: { code, message } });
  if (error instanceof RealtimeError && error.close) connection.socket.close(error.code, error.message.slice(0, 120));
}
