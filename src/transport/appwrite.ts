/**
 * The one browser-side module that speaks Appwrite: REST presences, the Realtime `presences`
 * channel and the keepalive DELETE, turned into the machine-facing shapes of `./types`.
 * Invariants: wire shapes are translated here only, by the pure codec at the top (`toPeerDoc`,
 * `toTransportEvent`, `permissionsFor`); a malformed row or frame becomes a warning, never a
 * throw; the SDK is injected (`import * as Appwrite from 'appwrite'` or `window.Appwrite`) and
 * only its types are imported, so the CDN bundle never carries a second copy of it. Peer events
 * go to the session's direct feed while it is open (`FeedCommand`), otherwise to the machine.
 */
import type {
  Account,
  Client,
  Models,
  Permission,
  Presences,
  Query,
  Realtime,
  RealtimeResponseEvent,
  RealtimeSubscription,
  Role,
} from 'appwrite';
import { fromCallback, fromPromise, type EventObject } from 'xstate';
import type {
  FeedCommand,
  Identity,
  LoadRosterInput,
  LoadRosterOutput,
  Metadata,
  PeerDoc,
  PeerEvent,
  PublishInput,
  PublishOutput,
  RemoveInput,
  Transport,
  TransportEvent,
  WatchPeersInput,
} from './types';
import { codeOf, messageOf, typeOf } from '../errors';
import { characters, isPlainObject, isRecord, kindOf, STATUS_MAX } from '../records';

const LOG_PREFIX = '[Manifest Presence]';

/**
 * Page size of `presences.list` while loading the roster. Appwrite accepts up to 5000; 1000 rows
 * (~300 KB) keep a 10,000-person roster to ten round trips without one huge response.
 */
export const ROSTER_PAGE_SIZE = 1000;

/**
 * Appwrite's own limits on what it stores (see spec §1.1, §3.1): a row can never legitimately
 * exceed them, so anything larger did not come from Appwrite and is refused.
 */
const ID_MAX = 255; // the `userId` column; ids themselves are ≤ 36 characters
const METADATA_MAX_CHARS = 65_535; // `metadata` is a TEXT column holding the JSON encoding
const METADATA_MAX_DEPTH = 64;

/**
 * The SDK's JSON parser (json-bigint with its defaults) throws on ANY object key that contains
 * `__proto__` or `constructor` anywhere in it (unanchored regexes), so a single row carrying such
 * a metadata key makes every `presences.list` response and every realtime frame holding it
 * unparsable for every appwrite@28 client.
 */
const SDK_UNPARSABLE_KEY = /__proto__|constructor/;

// ---------------------------------------------------------------------------------------------
// The SDK, injected
// ---------------------------------------------------------------------------------------------

type RealtimeLike = Pick<Realtime, 'subscribe' | 'onOpen' | 'onClose' | 'onError' | 'disconnect'>;

/**
 * The parts of the `appwrite` namespace this transport uses, typed structurally so both
 * `import * as Appwrite from 'appwrite'` and the CDN's `window.Appwrite` fit.
 */
export interface AppwriteSdk {
  Account: new (client: Client) => Pick<Account, 'get'>;
  Presences: new (client: Client) => Pick<Presences, 'list' | 'upsert' | 'delete'>;
  Realtime: new (client: Client) => RealtimeLike;
  /** Absent in SDKs older than the channel builders; the plain name is used then. */
  Channel?: { presences(): string };
  Query: Pick<typeof Query, 'limit' | 'cursorAfter'>;
  Permission: Pick<typeof Permission, 'read' | 'update' | 'delete'>;
  Role: Pick<typeof Role, 'users' | 'team' | 'user'>;
}

export interface AppwriteTransportOptions {
  client: Client;
  sdk: AppwriteSdk;
  /** A Realtime instance to share with the app; otherwise one is created lazily and owned. */
  realtime?: RealtimeLike;
  /**
   * Minimum wait between the socket opening and `transport.connected` (see `watchPeers`).
   * The wait grows to twice the fastest REST round trip seen, when that is longer.
   */
  connectedSettleMs?: number;
  /** Rows per `presences.list` page while loading the roster, 1 … 5000 (default ROSTER_PAGE_SIZE). */
  rosterPageSize?: number;
  /** Where warnings go; `console.warn` by default (read at call time). */
  warn?: (message: string) => void;
}

// ---------------------------------------------------------------------------------------------
// Codec: pure functions from wire shapes to the machines' shapes
// ---------------------------------------------------------------------------------------------

export type Decoded<T> = { ok: true; doc: T } | { ok: false; reason: string };

/** The transport events a realtime frame can become. */
export type FrameEvent = Extract<TransportEvent, { type: 'peer.upserted' | 'peer.deleted' | 'transport.warning' }>;

/**
 * Translates one presence row (REST response, list item or event payload) into a `PeerDoc`.
 *
 * Requires string `$id`, `userId` and `status` within Appwrite's limits, an ISO `$updatedAt`
 * with a zone, and an ISO `expiresAt` or null. `metadata` is copied into fresh plain objects:
 * null/absent and `[]` (PHP's rendering of an empty object) become `{}`; `__proto__` keys are
 * dropped at every depth; bigints (the SDK's parser makes them from integers beyond 2^53) become
 * numbers. Anything else that is not a JSON object — a non-empty array, a scalar, a non-JSON
 * value, more than Appwrite's column could hold — rejects the whole row rather than showing the
 * peer with their metadata silently emptied: Appwrite's validator only ever stores objects, so
 * such a row is corrupt or forged, and a peer shown without the name and team it published
 * would be shown wrongly (e.g. outside its team scope). So is a row whose `metadata.team` names
 * a team that may not read it (anyone can type a team name; only members can grant it access).
 * `status` is measured in characters (code points), as Appwrite does.
 *
 * @example
 * toPeerDoc({ $id: 'p1', userId: 'u1', status: 'online', $updatedAt: '2026-08-21T10:05:00.000+00:00',
 *   expiresAt: null, metadata: [] })
 * // { ok: true, doc: { id: 'p1', userId: 'u1', status: 'online', metadata: {}, updatedAt: 1787306700000, expiresAt: null } }
 */
export function toPeerDoc(payload: unknown): Decoded<PeerDoc> {
  if (!isRecord(payload)) return fail(`a presence row must be an object, got ${describe(payload)}`);
  const id = payload.$id;
  if (!isId(id)) return fail(`a presence row needs a string $id of 1–${ID_MAX} characters, got ${describe(id)}`);
  const userId = payload.userId;
  if (!isId(userId)) return refuse(id, `userId must be a string of 1–${ID_MAX} characters, got ${describe(userId)}`);
  const status = payload.status;
  // Appwrite measures Text(255) in characters (code points): 200 emoji are 400 UTF-16 units but fit.
  if (typeof status !== 'string' || status.length === 0 || characters(status, STATUS_MAX + 1) > STATUS_MAX) {
    return refuse(id, `status must be a string of 1–${STATUS_MAX} characters, got ${describe(status)}`);
  }
  const updatedAt = parseTime(payload.$updatedAt);
  if (updatedAt === null) return refuse(id, `$updatedAt is not an ISO date, got ${describe(payload.$updatedAt)}`);
  let expiresAt: number | null = null;
  if (payload.expiresAt !== null && payload.expiresAt !== undefined) {
    expiresAt = parseTime(payload.expiresAt);
    if (expiresAt === null) return refuse(id, `expiresAt is not an ISO date, got ${describe(payload.expiresAt)}`);
  }
  const metadata = toMetadata(payload.metadata);
  if (typeof metadata === 'string') return refuse(id, metadata);
  // `metadata.team` decides which team's roster a row enters, but metadata is whatever the writer
  // typed. Only a member of a team may grant it read access (Appwrite refuses other grants), so a
  // team claim counts only when the row is readable by that team; anything else is a spoof.
  if (typeof metadata.team === 'string' && !readableByTeam(payload.$permissions, metadata.team)) {
    return refuse(id, `claims team ${JSON.stringify(clip(metadata.team))} but is not readable by that team`);
  }
  return { ok: true, doc: { id, userId, status, metadata, updatedAt, expiresAt } };
}

/**
 * Translates the argument of the SDK's realtime callback into a transport event: the action
 * comes from the event names (`presences.<id>.upsert|update` ⇒ `peer.upserted`,
 * `presences.<id>.delete` ⇒ `peer.deleted`), `serverTime` from the frame's `timestamp`.
 * Anything unusable becomes `transport.warning` with the reason; this never throws.
 *
 * @example
 * toTransportEvent({ events: ['presences.p1.delete'], timestamp: '2026-08-21T10:05:01.000+00:00', payload: row })
 * // { type: 'peer.deleted', peer: {...}, serverTime: 1787306701000 }
 */
export function toTransportEvent(event: unknown): FrameEvent {
  if (!isRecord(event)) return warning(`ignored a realtime frame that is not an object (${describe(event)})`);
  const names = event.events;
  if (!Array.isArray(names)) return warning(`ignored a realtime frame without an events list (${describe(names)})`);
  let action: string | undefined;
  for (const name of names) {
    const match = typeof name === 'string' ? /^presences\.[^.]+\.(upsert|update|delete)$/.exec(name) : null;
    if (match) {
      action = match[1];
      break;
    }
  }
  if (!action) {
    const shown = names.slice(0, 4).map((n) => (typeof n === 'string' ? clip(n) : describe(n)));
    return warning(`ignored a realtime frame that is not a presence change (events: ${shown.join(', ') || 'none'})`);
  }
  const decoded = toPeerDoc(event.payload);
  if (!decoded.ok) return warning(`ignored a presence ${action} event: ${decoded.reason}`);
  const type = action === 'delete' ? 'peer.deleted' : 'peer.upserted';
  return { type, peer: decoded.doc, serverTime: parseFrameTime(event.timestamp) };
}

/**
 * The permissions of our own row: readable by the team when one is set, else by every signed-in
 * user (guests included: anonymous sessions are users); only the owner may update or delete it.
 *
 * @example
 * permissionsFor({ userId: 'u1', teamId: null }, Appwrite)
 * // ['read("users")', 'update("user:u1")', 'delete("user:u1")']
 */
export function permissionsFor(
  who: { userId: string; teamId: string | null },
  sdk: Pick<AppwriteSdk, 'Permission' | 'Role'>,
): string[] {
  const { Permission, Role } = sdk;
  const owner = Role.user(who.userId);
  return [
    Permission.read(who.teamId ? Role.team(who.teamId) : Role.users()),
    Permission.update(owner),
    Permission.delete(owner),
  ];
}

/**
 * The first object key (at any depth) that the SDK's JSON parser refuses, or null. A row whose
 * metadata holds such a key can be written but then not read back by any appwrite@28 client.
 *
 * @example
 * unparsableKey({ page: { constructorName: 'x' } }) // 'constructorName'
 */
export function unparsableKey(value: unknown, depth = 0): string | null {
  if (depth > METADATA_MAX_DEPTH || typeof value !== 'object' || value === null) return null;
  for (const [key, inner] of Object.entries(value)) {
    if (SDK_UNPARSABLE_KEY.test(key)) return key;
    const found = unparsableKey(inner, depth + 1);
    if (found !== null) return found;
  }
  return null;
}

/** Why this backend cannot carry `metadata`, or null. */
function metadataProblem(metadata: unknown): string | null {
  const bad = unparsableKey(metadata);
  if (bad !== null) {
    return `metadata key ${JSON.stringify(clip(bad))} cannot be published: Appwrite's SDK refuses to read back any key containing "constructor" or "__proto__"`;
  }
  // Whatever our own readers refuse (see toPeerDoc) must not be written: every peer would drop
  // the row as malformed and the person would vanish for everyone while their own tab shows them.
  const read = toMetadata(metadata);
  return typeof read === 'string' ? `metadata cannot be published: ${read}` : null;
}

/** Metadata as a fresh plain object, or the reason it is unusable. */
function toMetadata(value: unknown): Metadata | string {
  if (value === null || value === undefined) return {};
  if (Array.isArray(value) && value.length === 0) return {};
  if (!isPlainObject(value)) return `metadata must be a JSON object, got ${describe(value)}`;
  try {
    return copyJson(value, 0, { left: METADATA_MAX_CHARS }) as Metadata;
  } catch (reason) {
    if (typeof reason === 'string') return reason; // copyJson's own refusal
    throw reason;
  }
}

/**
 * Deep copy of a JSON value; throws the reason (a string) when the value is refused. `budget` counts one per value plus every character of keys and
 * strings: a lower bound of the JSON encoding's length, so any row Appwrite could store fits.
 */
function copyJson(value: unknown, depth: number, budget: { left: number }): unknown {
  budget.left -= 1;
  if (typeof value === 'string') budget.left -= value.length;
  if (budget.left < 0) throw `metadata is larger than Appwrite stores (${METADATA_MAX_CHARS} characters)`;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw `metadata holds a non-JSON number (${value})`;
    return value;
  }
  if (typeof value === 'bigint') return Number(value);
  if (depth >= METADATA_MAX_DEPTH) throw `metadata is nested deeper than ${METADATA_MAX_DEPTH} levels`;
  if (Array.isArray(value)) return value.map((item) => copyJson(item, depth + 1, budget));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      budget.left -= key.length;
      // Kept as an own key it is inert, but any later copy by assignment would swap the
      // prototype of the copy; nobody needs it as data.
      if (key === '__proto__') continue;
      out[key] = copyJson(value[key], depth + 1, budget);
    }
    return out;
  }
  throw `metadata holds a non-JSON value (${describe(value)})`;
}

/** ISO 8601 with date, time and zone, as Appwrite writes it (`2026-08-21T13:42:57.123+00:00`). */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i;

/** Milliseconds since the epoch, or null. Zone-less strings are refused: they would be read as local time. */
function parseTime(value: unknown): number | null {
  if (typeof value !== 'string' || value.length > 40 || !ISO_DATE.test(value)) return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}

/** Frame timestamps: ISO strings today; older servers sent Unix seconds. */
function parseFrameTime(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value < 1e11 ? value * 1000 : value;
  return parseTime(value);
}

function warning(reason: string): FrameEvent {
  return { type: 'transport.warning', reason };
}

function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}

/** A row refused for `reason`, named by its id (built only then: decoding a good row makes no message). */
function refuse(id: string, reason: string): { ok: false; reason: string } {
  return fail(`presence ${JSON.stringify(clip(id))}: ${reason}`);
}

/** The permission list grants `read` to team `teamId` (the whole team or one of its roles). */
function readableByTeam(permissions: unknown, teamId: string): boolean {
  if (!Array.isArray(permissions)) return false;
  const whole = `read("team:${teamId}")`;
  const role = `read("team:${teamId}/`;
  return permissions.some((p) => typeof p === 'string' && (p === whole || p.startsWith(role)));
}


function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= ID_MAX;
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** A short description of a refused value: scalars shown (long strings by length), objects by kind. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return kindOf(value);
}

/** Appwrite's 400 for an `expiresAt` that is not in the future (by the server's clock). */
function refusedExpiry(error: unknown): boolean {
  return codeOf(error) === 400 && typeOf(error) === 'general_argument_invalid' && /`expiresAt`/.test(messageOf(error));
}

// ---------------------------------------------------------------------------------------------
// The transport
// ---------------------------------------------------------------------------------------------

interface Watcher {
  sendBack: (event: TransportEvent) => void;
  /** The session's direct feed while its roster is live (see `FeedCommand`), else null. */
  feed: ((event: PeerEvent) => boolean) | null;
  subscription?: RealtimeSubscription;
  /** Pending `transport.connected`, armed when the socket (re)opens. */
  timer?: ReturnType<typeof setTimeout>;
  closed: boolean;
}

/**
 * Builds the Appwrite transport for the session machine.
 *
 * @example
 * import * as Appwrite from 'appwrite';
 * const client = new Appwrite.Client().setEndpoint('https://cloud.appwrite.io/v1').setProject('p');
 * const transport = createAppwriteTransport({ client, sdk: Appwrite });
 * const machine = sessionMachine.provide({ actors: transport.actors });
 */
export function createAppwriteTransport(options: AppwriteTransportOptions): Transport {
  const { client, sdk } = options;
  const warn = (message: string) => (options.warn ?? console.warn)(`${LOG_PREFIX} ${message}`);

  let account: Pick<Account, 'get'> | undefined;
  let presences: Pick<Presences, 'list' | 'upsert' | 'delete'> | undefined;
  const accountApi = () => (account ??= new sdk.Account(client));
  const presencesApi = () => (presences ??= new sdk.Presences(client));

  // --- round trips, for the connected settle time ---
  let fastestRoundTrip = Infinity;
  const noteRoundTrip = (sentAt: number) => {
    fastestRoundTrip = Math.min(fastestRoundTrip, Date.now() - sentAt);
  };
  const settleMs = () => {
    const floor = options.connectedSettleMs ?? 250;
    return Number.isFinite(fastestRoundTrip) ? Math.max(floor, Math.min(2 * fastestRoundTrip, 5_000)) : floor;
  };

  // --- realtime: one instance, hooked once (the SDK cannot unregister callbacks) ---
  let realtime = options.realtime;
  const ownsRealtime = !options.realtime;
  let hooked = false;
  let link: 'unknown' | 'open' | 'closed' = ownsRealtime ? 'closed' : 'unknown';
  let warnedOutage = false;
  const watchers = new Set<Watcher>();

  const disarm = (w: Watcher) => {
    clearTimeout(w.timer);
    w.timer = undefined;
  };
  const connectedNow = (w: Watcher) => {
    disarm(w);
    if (!w.closed) w.sendBack({ type: 'transport.connected' });
  };
  const arm = (w: Watcher) => {
    clearTimeout(w.timer);
    w.timer = setTimeout(() => connectedNow(w), settleMs());
  };

  const realtimeApi = (): RealtimeLike => {
    realtime ??= new sdk.Realtime(client);
    if (!hooked) {
      hooked = true;
      realtime.onOpen(() => {
        link = 'open';
        warnedOutage = false;
        for (const w of watchers) arm(w);
      });
      realtime.onClose(() => {
        // The SDK reports a close for every retry that never opened too: only a link that was up went down.
        const wasOpen = link !== 'closed';
        link = 'closed';
        if (!wasOpen) return;
        for (const w of watchers) {
          disarm(w);
          w.sendBack({ type: 'transport.disconnected' });
        }
      });
      realtime.onError((error, statusCode) => {
        if (watchers.size === 0) return;
        const reason = `realtime error${statusCode ? ` ${statusCode}` : ''}: ${error ? error.message : 'unknown'}`;
        // Behind a blocking proxy the SDK retries for ever: say it once per outage, not per retry.
        if (!warnedOutage) warn(reason);
        warnedOutage = true;
        for (const w of watchers) w.sendBack({ type: 'transport.warning', reason });
      });
    }
    return realtime;
  };

  const stopWatcher = (w: Watcher) => {
    if (w.closed) return;
    w.closed = true;
    disarm(w);
    watchers.delete(w);
    w.subscription?.unsubscribe().catch(() => undefined);
    if (ownsRealtime && watchers.size === 0 && realtime) realtime.disconnect().catch(() => undefined);
  };

  // --- REST helpers ---
  const requestHeaders = (): Record<string, string> => {
    const headers: Record<string, string> = {
      'X-Appwrite-Project': client.config.project,
      'X-Appwrite-Response-Format': client.headers['X-Appwrite-Response-Format'] ?? '2.3.0',
    };
    if (client.config.session) headers['X-Appwrite-Session'] = client.config.session;
    if (client.config.jwt) headers['X-Appwrite-JWT'] = client.config.jwt;
    const fallback = readCookieFallback();
    if (fallback) headers['X-Fallback-Cookies'] = fallback;
    return headers;
  };

  /**
   * One page of the list. When the SDK cannot parse the answer (a peer's metadata key contains
   * `constructor` or `__proto__`, see SDK_UNPARSABLE_KEY), the page is fetched again with the
   * platform's JSON parser, so one such peer cannot stop everyone's roster from loading.
   */
  const listPage = async (queries: string[]): Promise<unknown[]> => {
    let answer: unknown;
    try {
      answer = await presencesApi().list({ queries, total: false });
    } catch (error) {
      if (!(isRecord(error) && error.name === 'SyntaxError')) throw error;
      warn(`the Appwrite SDK could not parse a roster page (${messageOf(error)}); reading it directly`);
      answer = await listPageDirect(queries);
    }
    if (!isRecord(answer) || !Array.isArray(answer.presences)) {
      throw new Error(`Appwrite answered the presence list without a presences array (${describe(answer)})`);
    }
    return answer.presences;
  };

  const listPageDirect = async (queries: string[]): Promise<unknown> => {
    const url = new URL(`${client.config.endpoint}/presences`);
    queries.forEach((query, i) => url.searchParams.append(`queries[${i}]`, query));
    url.searchParams.append('total', 'false');
    const response = await fetch(url, { method: 'GET', credentials: 'include', headers: requestHeaders() });
    const body: unknown = JSON.parse(await response.text());
    if (!response.ok) {
      throw new Error(isRecord(body) && typeof body.message === 'string' ? body.message : `HTTP ${response.status}`);
    }
    return body;
  };

  // --- the actors ---
  const identify = fromPromise<Identity | null, void>(async () => {
    const sentAt = Date.now();
    let user: Models.User<Models.DefaultPreferences>;
    try {
      user = await accountApi().get();
    } catch (error) {
      if (codeOf(error) === 401) return null;
      throw new Error(`Could not find out who is signed in: ${messageOf(error)}`, { cause: error });
    }
    noteRoundTrip(sentAt);
    const userId: unknown = user.$id;
    if (!isId(userId)) throw new Error(`Appwrite answered account.get() without a user id (${describe(userId)})`);
    const name: unknown = user.name;
    return { userId, name: typeof name === 'string' && name.length > 0 ? name : null };
  });

  const pageSize = Number.isInteger(options.rosterPageSize) ? Math.min(Math.max(options.rosterPageSize!, 1), 5000) : ROSTER_PAGE_SIZE;
  const loadRoster = fromPromise<LoadRosterOutput, LoadRosterInput>(async () => {
    // `input.teamId` needs no query: the server only lists rows we may read, and metadata is
    // not queryable; the roster's scope filter does the rest.
    const { Query } = sdk;
    const peers: PeerDoc[] = [];
    const seen = new Set<string>();
    let cursor: string | null = null;
    for (;;) {
      const queries = [Query.limit(pageSize)];
      if (cursor !== null) queries.push(Query.cursorAfter(cursor));
      const sentAt = Date.now();
      const rows = await listPage(queries);
      noteRoundTrip(sentAt);
      let fresh = 0;
      for (const row of rows) {
        const decoded = toPeerDoc(row);
        if (!decoded.ok) {
          warn(`skipped a roster row: ${decoded.reason}`);
          continue;
        }
        if (seen.has(decoded.doc.id)) continue;
        seen.add(decoded.doc.id);
        peers.push(decoded.doc);
        fresh++;
      }
      if (rows.length < pageSize) break;
      const last = rows[rows.length - 1];
      const lastId = isRecord(last) ? last.$id : undefined;
      if (typeof lastId !== 'string' || lastId === '') {
        throw new Error('Could not page through the roster: the last row of a page has no $id');
      }
      if (fresh === 0 && lastId === cursor) break; // a server that ignores the cursor would loop forever
      cursor = lastId;
    }
    return { peers, receivedAtLocal: Date.now() };
  });

  /**
   * When is the subscription live? The SDK (appwrite@28 `Realtime`) does not say:
   * - `onOpen` fires on the WebSocket `open` event, BEFORE the server's `connected` frame;
   *   only on that frame does the SDK send `authentication` (if needed) and the `subscribe`
   *   frame for every active subscription, and it ignores the server's `response` ack.
   * - `subscribe()` resolves when the socket it had to open is open (same moment as `onOpen`),
   *   at once when a socket was already open, or even before `open` when one was connecting.
   * - After a drop the SDK reconnects by itself (1 s, then 5 s, 10 s, 60 s) and re-subscribes on
   *   the new `connected`; `onOpen` fires again, and `onClose` fires on every close.
   * So `transport.connected` is sent `settleMs` (≥ 250 ms, ≥ 2 fastest REST round trips) after
   * the open, or at once when a frame arrives for our subscription (which proves it is live).
   * Residual race: if the server takes longer than that to process the `subscribe` frame, a
   * change committed after the re-list's snapshot but before the subscription is active is
   * missed until the peer's next heartbeat (an upsert) or its `expiresAt` (a delete).
   * The first `transport.connected` after start also closes this window for the initial list.
   */
  const watchPeers = fromCallback<EventObject, WatchPeersInput>(({ sendBack, receive }) => {
    const w: Watcher = { sendBack, feed: null, closed: false };
    watchers.add(w);
    receive((command) => {
      if (command.type === 'feed') w.feed = (command as FeedCommand).apply;
    });
    const channel = sdk.Channel?.presences() ?? 'presences';
    const onFrame = (frame: RealtimeResponseEvent<unknown>) => {
      if (w.closed) return;
      // First: a `connected` that takes the roster out of live closes the feed before the event.
      if (w.timer !== undefined) connectedNow(w);
      const event = toTransportEvent(frame);
      if (event.type === 'transport.warning') warn(event.reason);
      else if (w.feed?.(event)) return;
      sendBack(event);
    };
    let subscribing: Promise<RealtimeSubscription>;
    try {
      subscribing = realtimeApi().subscribe(channel, onFrame);
    } catch (error) {
      subscribing = Promise.reject(error);
    }
    subscribing.then(
      (subscription) => {
        if (w.closed) {
          subscription.unsubscribe().catch(() => undefined);
          return;
        }
        w.subscription = subscription;
        if (link !== 'closed') arm(w);
      },
      (error: unknown) => {
        if (w.closed) return;
        // The subscription stays registered in the SDK, which keeps reconnecting; `onOpen`
        // will report the link when it comes up.
        const reason = `realtime connection failed (${messageOf(error)}); retrying`;
        warn(reason);
        sendBack({ type: 'transport.warning', reason });
      },
    );
    return () => stopWatcher(w);
  });

  const publish = fromPromise<PublishOutput, PublishInput>(async ({ input }) => {
    const upsert = (expiresAt: number | null) =>
      presencesApi().upsert({
        presenceId: input.presenceId,
        status: input.status,
        permissions: permissionsFor(input, sdk),
        ...(expiresAt === null ? {} : { expiresAt: new Date(expiresAt).toISOString() }),
        metadata: input.metadata,
      });
    let sentAtLocal = Date.now();
    let row: unknown;
    try {
      row = await upsert(input.expiresAt);
    } catch (error) {
      if (!refusedExpiry(error)) throw error;
      // Appwrite found our expiresAt in the past: the server-clock estimate is behind by more than
      // the row's lifetime (no round trip sampled yet and a local clock that is slow). Without a
      // write nothing would ever sample the clock, so the person would never appear. Write once
      // with Appwrite's default expiry (server now + 15 min): the answer's $updatedAt corrects the
      // estimate, and the next heartbeat writes the intended expiresAt.
      warn(`Appwrite refused expiresAt ${new Date(input.expiresAt).toISOString()} as past (this clock is behind); publishing once with its default expiry`);
      sentAtLocal = Date.now();
      row = await upsert(null);
    }
    const receivedAtLocal = Date.now();
    noteRoundTrip(sentAtLocal);
    const decoded = toPeerDoc(row);
    if (!decoded.ok) throw new Error(`Appwrite answered the publish with an unusable row: ${decoded.reason}`);
    return { doc: decoded.doc, sentAtLocal, receivedAtLocal };
  });

  const remove = fromPromise<void, RemoveInput>(async ({ input }) => {
    try {
      await presencesApi().delete({ presenceId: input.presenceId });
    } catch (error) {
      if (codeOf(error) === 404) return; // already gone: expired, deleted by another tab or a socket close
      throw error;
    }
  });

  return {
    actors: { identify, loadRoster, watchPeers, publish, remove },
    scope: client.config.project,

    checkMetadata: metadataProblem,
    removeOnUnload(presenceId: string): boolean {
      const send = globalThis.fetch;
      if (typeof send !== 'function') return false;
      try {
        const url = `${client.config.endpoint}/presences/${encodeURIComponent(presenceId)}`;
        send(url, { method: 'DELETE', keepalive: true, credentials: 'include', headers: requestHeaders() }).catch(
          () => undefined,
        );
        return true;
      } catch {
        return false;
      }
    },

    dispose(): void {
      // Stopping the last watcher also disconnects the Realtime instance when we own it.
      for (const w of [...watchers]) stopWatcher(w);
    },
  };
}

/**
 * `localStorage.cookieFallback`, which the SDK keeps when the API is on another domain. Read from
 * `window.localStorage` exactly as the SDK does (`Client.prepareRequest`).
 */
function readCookieFallback(): string | null {
  try {
    return typeof window !== 'undefined' ? (window.localStorage?.getItem('cookieFallback') ?? null) : null;
  } catch {
    return null; // storage disabled (Safari private mode, sandboxed iframes)
  }
}
