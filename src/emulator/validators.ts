/**
 * Appwrite's parameter validators (utopia `Text`, `UID`, `Key`, `Datetime`, `JSONObject`, …) with
 * their descriptions, which become error messages: REST wraps them as ``Invalid `p` param: …``,
 * realtime as `p: …` (see params.ts). Lengths count code points, as PHP's `mb_strlen` does.
 */
import { formatTime } from './format.js';
import { parseJson } from './json.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; description: string };

export interface Validator<T> {
  parse(value: unknown): Parsed<T>;
}

const valid = <T>(value: T): Parsed<T> => ({ ok: true, value });
const invalid = (description: string): Parsed<never> => ({ ok: false, description });

export const codePoints = (text: string): number => {
  let count = 0;
  for (const _ of text) count++;
  return count;
};

/** utopia `Text(length, min)`; the message wording is utopia's `Text::getDescription`. */
export function text(length: number, min = 1): Validator<string> {
  const description =
    min === length
      ? `Value must be a valid string and exactly ${length} chars`
      : `Value must be a valid string${min !== 0 ? ` and at least ${min} chars` : ''}${length !== 0 ? ` and no longer than ${length} chars` : ''}`;
  return {
    parse: (value) => {
      if (typeof value !== 'string') return invalid(description);
      const size = codePoints(value);
      return size < min || (length !== 0 && size > length) ? invalid(description) : valid(value);
    },
  };
}

const KEY_CHARS = /^[A-Za-z0-9._-]+$/;

/** utopia `Key`: 1–max chars of `[A-Za-z0-9._-]`, not starting with `_`, `.` or `-`. */
export function isKey(value: unknown, max = 36): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    value.length <= max &&
    KEY_CHARS.test(value) &&
    !'_.-'.includes(value[0]!)
  );
}

/** utopia `UID` with the SQL adapters' 36-char limit (presence ids, user ids, cursors). */
export function uid(): Validator<string> {
  const description =
    "UID must contain at most 36 chars. Valid chars are a-z, A-Z, 0-9, and underscore. Can't start with a leading underscore";
  return { parse: (value) => (isKey(value) ? valid(value) : invalid(description)) };
}

/** Appwrite `CustomId`: `unique()` (the server generates the id) or a valid key. Returns null for `unique()`. */
export function customId(): Validator<string | null> {
  const description =
    "Parameter must contain at most 36 chars. Valid chars are a-z, A-Z, 0-9, period, hyphen, and underscore. Can't start with a special char";
  return {
    parse: (value) => (value === 'unique()' ? valid(null) : isKey(value) ? valid(value) : invalid(description)),
  };
}

// Deliberately loose, like Appwrite's own `Email` validator it only has to reject obvious garbage.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function email(): Validator<string> {
  return {
    parse: (value) =>
      typeof value === 'string' && value.length <= 255 && EMAIL.test(value)
        ? valid(value.toLowerCase())
        : invalid('Value must be a valid email address'),
  };
}

export function password(): Validator<string> {
  return {
    parse: (value) =>
      typeof value === 'string' && value.length >= 8 && value.length <= 256
        ? valid(value)
        : invalid('Password must be between 8 and 256 characters long.'),
  };
}

/**
 * utopia `Datetime` as presences use it: a parsable date with a 4-digit year, in the future and at
 * most `maxAheadMs` from now (evaluated per request). The wording past "in future" is the
 * emulator's: the spec names the bounds but not the message. Returns epoch milliseconds.
 */
export function futureDate(now: number, maxAheadMs: number): Validator<number> {
  const latest = now + maxAheadMs;
  const description = `Value must be valid date in future and no later than ${formatTime(latest)}.`;
  return {
    parse: (value) => {
      if (typeof value !== 'string' || !/\d{4}/.test(value)) return invalid(description);
      const ms = Date.parse(value);
      return Number.isNaN(ms) || ms <= now || ms > latest ? invalid(description) : valid(ms);
    },
  };
}

export const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * utopia `JSONObject` (`ObjectValidator`): a JSON object, given decoded or as an encoded string.
 * `[]` passes as the empty object because PHP cannot tell the two apart; other lists and scalars fail.
 */
export function jsonObject(): Validator<Record<string, unknown>> {
  const description = 'Value must be a valid object.';
  const accept = (candidate: unknown): Parsed<Record<string, unknown>> => {
    if (isPlainObject(candidate)) return valid(candidate);
    if (Array.isArray(candidate) && candidate.length === 0) return valid({});
    return invalid(description);
  };
  return {
    parse: (value) => {
      if (typeof value !== 'string') return accept(value);
      try {
        return accept(parseJson(value));
      } catch {
        return invalid(description);
      }
    },
  };
}

/** utopia `Boolean(loose: true)`: also the strings a query string carries. */
export function boolean(): Validator<boolean> {
  const truthy = new Set<unknown>([true, 'true', '1', 1]);
  const falsy = new Set<unknown>([false, 'false', '0', 0]);
  return {
    parse: (value) =>
      truthy.has(value) ? valid(true) : falsy.has(value) ? valid(false) : invalid('Value must be a valid boolean'),
  };
}

/** utopia `Range(min, max)` over integers, numeric strings included (query strings carry text). */
export function range(min: number, max: number): Validator<number> {
  const description = `Value must be a valid range between ${min.toLocaleString('en-US')} and ${max.toLocaleString('en-US')}`;
  return {
    parse: (value) => {
      const number = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
      return typeof number === 'number' && Number.isInteger(number) && number >= min && number <= max
        ? valid(number)
        : invalid(description);
    },
  };
}

/** utopia `ArrayList(Text(maxLength), maxCount)` — team roles and similar string lists. */
export function stringList(maxCount: number, maxLength: number): Validator<string[]> {
  const description = `Value must a valid array no longer than ${maxCount} items and Value must be a valid string and at least 1 chars and no longer than ${maxLength} chars`;
  const item = text(maxLength);
  return {
    parse: (value) =>
      Array.isArray(value) && value.length <= maxCount && value.every((entry) => item.parse(entry).ok)
        ? valid(value as string[])
        : invalid(description),
  };
}
