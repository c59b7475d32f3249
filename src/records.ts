/**
 * The public record shape, the person's colour, and argument checks shared by every way in.
 * Colours are computed here from the userId, never taken from the wire, so a peer cannot
 * spoof another's colour or smuggle CSS through it. Checks return a message instead of
 * throwing: bad input becomes `$presence.error` and a `false` return, never an exception.
 */
import { messageOf } from './errors';
import type { Metadata } from './transport/types';

/** One person in the roster, exactly the seed's shape. */
export interface PresenceRecord<M extends Metadata = Metadata> {
  userId: string;
  status: string;
  /** Always carries `name` (string or null) and `color`. */
  metadata: M & { name: string | null; color: string };
  color: string;
  /** Milliseconds since the epoch of the last update. */
  lastSeen: number;
  /** ISO time the status expires if not refreshed, or null. */
  expiresAt: string | null;
}

/**
 * Deterministic colour for a user, identical to Manifest's existing presence plugin:
 * a 31-multiplier string hash kept as a JS number (no int32 truncation), hue = |h| mod 360.
 *
 * @example
 * colorOf('a') // 'hsl(97, 70%, 50%)'
 */
export function colorOf(userId: string | null | undefined): string {
  if (!userId) return '#666';
  let h = 0;
  for (let i = 0; i < userId.length; i++) h = userId.charCodeAt(i) + ((h << 5) - h);
  return `hsl(${Math.abs(h) % 360}, 70%, 50%)`;
}

/** Appwrite's `status` column is Text(255), measured in characters (code points), not UTF-16 units. */
export const STATUS_MAX = 255;
/** Appwrite stores metadata in a 65 535-char TEXT column; we keep the seed's 64 KB promise. */
export const METADATA_MAX_BYTES = 64 * 1024;

/** Why a status is unusable, or null when it is fine. */
export function checkStatus(status: unknown): string | null {
  if (typeof status !== 'string') return `status must be a string, got ${kindOf(status)}`;
  if (status.length === 0) return 'status must not be empty';
  const length = characters(status);
  if (length > STATUS_MAX) return `status is ${length} characters; the limit is ${STATUS_MAX}`;
  return null;
}

/**
 * Characters (code points) in `text`, as Appwrite counts them: 200 emoji are 400 UTF-16 units but
 * 200 characters. Stops counting at `stop`.
 */
export function characters(text: string, stop = Infinity): number {
  let count = 0;
  for (const _ of text) if (++count >= stop) break;
  return count;
}

/** Why metadata is unusable, or null when it is a plain JSON object within the size limit. */
export function checkMetadata(metadata: unknown): string | null {
  if (metadata === undefined || metadata === null) return null;
  if (!isRecord(metadata)) return `metadata must be a plain object, got ${kindOf(metadata)}`;
  if (!isPlainObject(metadata)) return 'metadata must be a plain object';
  // Presence writes `team` itself: it carries the team scope every reader filters on, so a person's
  // own `team` would make readers drop the row as a spoofed scope. (`name` and `color` are defaults
  // the person may override.)
  if (Object.hasOwn(metadata, 'team')) return 'metadata.team is reserved: presence sets it from the team scope';
  let json: string;
  try {
    json = JSON.stringify(metadata);
  } catch (error) {
    return `metadata is not JSON-serialisable (${messageOf(error)})`;
  }
  const bytes = new TextEncoder().encode(json).length;
  if (bytes > METADATA_MAX_BYTES) return `metadata is ${bytes} bytes as JSON; the limit is ${METADATA_MAX_BYTES}`;
  // A round trip drops functions, undefined and symbols silently; refuse rather than lose data.
  if (!sameJson(metadata, JSON.parse(json))) return 'metadata must contain only JSON values';
  return null;
}

/** Structural equality of JSON values: same keys (own), same values, at every depth. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keys = Object.keys(a);
  return (
    keys.length === Object.keys(b).length &&
    keys.every((k) => Object.hasOwn(b, k) && sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  );
}

/** An object that is not an array (wire data, thrown values, options). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A record made by `{}` or `Object.create(null)`: no Date, Map or class instance. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (!isRecord(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** What a value is, for messages: `null`, `an array` or its `typeof`. */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
