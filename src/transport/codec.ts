/**
 * The codec between Appwrite's wire shapes and the machines' (`./types`): presence rows (REST
 * answers, list items, realtime payloads) become `PeerDoc`s, realtime frames become transport
 * events, and our own row's permissions and metadata are built and checked for the wire.
 * Invariants: pure — no SDK instance, no I/O, no clock, no state — and it never throws on wire
 * data: a malformed row is refused with a reason naming the row, a malformed frame becomes a
 * `transport.warning`. Every reason a row, a frame or our metadata is refused is written here.
 */
import type { AppwriteSdk } from './appwrite';
import type { Metadata, PeerDoc, TransportEvent } from './types';
import { characters, isPlainObject, isRecord, kindOf, STATUS_MAX } from '../records';

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
  // What happened, from the first name that says: `presences.<id>.upsert|update|delete`.
  const action = names
    .map((name) => typeof name === 'string' && /^presences\.[^.]+\.(upsert|update|delete)$/.exec(name)?.[1])
    .find(Boolean);
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
export function metadataProblem(metadata: unknown): string | null {
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
  if (value === null || value === undefined || (Array.isArray(value) && value.length === 0)) return {};
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

/** The `transport.warning` event: something arrived or failed that the roster must ignore. */
export function warning(reason: string): FrameEvent {
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

/** A row or user id as Appwrite stores it. */
export function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= ID_MAX;
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** A short description of a refused value: scalars shown (long strings by length), objects by kind. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return kindOf(value);
}
