/**
 * Timing and retry policy of the session, in numbers. H = heartbeatMs (default 25 000 ms):
 * a heartbeat write every H × (0.8 … 1.0) visible and max(H, 60 000) × (1.0 … 1.1) hidden, counted
 * from the last write; each write sets expiresAt = server now + 3 H visible, max(3 H, 300 000)
 * hidden; ≥ 250 ms between writes; a transiently failed write retried after 1 s, 2 s, 4 s …
 * (≤ min(30 s, H)); a row's removal tried REMOVE_ATTEMPTS times; while the realtime link is down
 * the roster is re-listed every H. "Hidden" above: no tab of the person visible and active (a tab
 * without input for idleMs, default 5 min, counts as not looking) AND the writing tab's own page
 * hidden, so that its timers may be throttled (`beatsSlowly`). An idle person whose writing tab is
 * visible shows `away` but keeps the visible cadence and expiry.
 */
import { codeOf, typeOf } from '../../errors';
import type { PublishOutput } from '../../transport/types';
import type { SessionContext } from './types';

export const DEFAULT_HEARTBEAT_MS = 25_000;
export const MIN_HEARTBEAT_MS = 1_000;
/** Rows are written to expire 3 heartbeats ahead, and Appwrite refuses an expiry past 30 days. */
export const MAX_HEARTBEAT_MS = 10 * 24 * 60 * 60 * 1000;
/**
 * No input for this long makes a tab idle (the person `away`, with auto, once no tab of theirs is
 * visible and active). At least twice the page's input throttle (one `page.input` per 500 ms,
 * platform/page.ts), so steady input never lets the count lapse.
 */
export const DEFAULT_IDLE_MS = 300_000;
export const MIN_IDLE_MS = 1_000;
/** Quiet time between the end of one write and the start of the next. */
export const WRITE_GAP_MS = 250;
/** A write that failed for a transient reason (5xx, network) is retried after 1 s, 2 s, 4 s … */
export const RETRY_FIRST_MS = 1_000;
/** … at most this long apart (and never further apart than a heartbeat). */
export const RETRY_MAX_MS = 30_000;
/**
 * stop(), a sign-out and a switch of identity or team try to delete the row this many times when
 * the failures are transient (5xx, network), 1 s then 2 s apart: a blip would otherwise leave
 * everyone (or the old team) seeing you for 3 heartbeats. Bounded, so that they still end in a few
 * seconds when the server is down.
 */
export const REMOVE_ATTEMPTS = 3;
/** List the roster anyway when realtime has not said `connected` by then. */
export const CONNECT_TIMEOUT_MS = 5_000;
/**
 * How long a tab that signs out waits for the person's other tabs to answer (they finish a write
 * in flight and, if they write, delete the row). BroadcastChannel answers in milliseconds; this
 * only bounds a tab that crashed without saying bye.
 */
export const QUIET_TIMEOUT_MS = 1_000;
/** Browsers run hidden pages' timers about once a minute, so hidden heartbeats are no more frequent. */
export const HIDDEN_HEARTBEAT_MIN_MS = 60_000;
/** Hidden rows live 5 minutes: one throttled minute plus Chrome's intensive throttling and margin. */
export const HIDDEN_TTL_MIN_MS = 300_000;
/**
 * Slack on a written row's lifetime (expiresAt − $updatedAt) before it counts as wrong: covers a
 * server that stores whole seconds; twice the write's round trip is added on top.
 */
export const LIFETIME_SLACK_MS = 2_000;

/**
 * Rows are written at the hidden cadence (a beat a minute or more, 5-minute expiry) only when
 * nobody is looking and this tab's page is hidden too, its timers perhaps throttled to once a
 * minute. A visible tab left idle is not throttled: it beats as visible, so a laptop that goes to
 * sleep idle leaves the others' lists within 3 heartbeats, not 5 minutes.
 */
export const beatsSlowly = (context: Pick<SessionContext, 'hidden' | 'pageHidden'>): boolean => context.hidden && context.pageHidden;

/** How long a row written now should live (ms). */
export function ttlOf(context: Pick<SessionContext, 'heartbeatMs' | 'hidden' | 'pageHidden'>): number {
  const visible = 3 * context.heartbeatMs;
  return beatsSlowly(context) ? Math.max(visible, HIDDEN_TTL_MIN_MS) : visible;
}

/** The pause before the next write: the write gap, or the backoff after transient failures. */
export function retryDelay(context: Pick<SessionContext, 'failures' | 'heartbeatMs'>): number {
  if (context.failures === 0) return WRITE_GAP_MS;
  return Math.min(RETRY_FIRST_MS * 2 ** Math.min(context.failures - 1, 16), RETRY_MAX_MS, context.heartbeatMs);
}

/** The error's tail while a write waits to be retried. */
export function tryingAgain(context: Pick<SessionContext, 'failures' | 'heartbeatMs'>, prefix = ''): string {
  return ` (${prefix}trying again in ${Math.round(retryDelay(context) / 1000)} s)`;
}

/** A server error, a rate limit or a network failure: worth writing again, not a refusal. */
export function isTransient(error: unknown): boolean {
  if (error instanceof TypeError) return true; // fetch: the network failed
  const code = codeOf(error);
  return code !== undefined && (code >= 500 || code === 429);
}

/**
 * The session is gone (signed out elsewhere, deleted, expired): Appwrite answers a caller without
 * one as the `guests` role, which lacks the presences scopes. Not a refusal to retry: a sign-out.
 */
export function isSessionGone(error: unknown): boolean {
  return codeOf(error) === 401 && typeOf(error) === 'general_unauthorized_scope';
}

/** Removing our row failed: is it worth another try? (transient, attempts left, no restart waiting) */
export function removeRetries(context: Pick<SessionContext, 'failures' | 'restart'>, error: unknown): boolean {
  return isTransient(error) && context.failures + 1 < REMOVE_ATTEMPTS && !context.restart;
}

/**
 * Did the server keep the row for a lifetime other than `ttl`, beyond what the round trip explains?
 * With a sampled clock the error is at most ~1.5 round trips, so a rewrite cannot start a loop; a
 * row without expiresAt (never ours) or with Appwrite's default (our expiresAt refused) is off.
 */
export function lifetimeIsOff({ doc, sentAtLocal, receivedAtLocal }: PublishOutput, ttl: number): boolean {
  const lifetime = doc.expiresAt === null ? Infinity : doc.expiresAt - doc.updatedAt;
  return Math.abs(lifetime - ttl) > LIFETIME_SLACK_MS + 2 * Math.max(0, receivedAtLocal - sentAtLocal);
}

/** Appwrite's alphabet and length limit (≤ 36 chars, starts with a letter or digit). */
export function uniqueId(): string {
  const random = Math.floor(Math.random() * 0xffffffff).toString(16).padStart(8, '0');
  return Date.now().toString(16) + random;
}
