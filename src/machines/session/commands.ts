/**
 * Commands: whether the machine can honour one (validation, written once for every way in — the
 * facade sends raw arguments and the machine's guards ask here), the messages the person reads,
 * and the bookkeeping that lets a command's promise settle on the first write that carries it.
 */
import { checkMetadata, checkStatus } from '../../records';
import { MAX_HEARTBEAT_MS, MIN_HEARTBEAT_MS, MIN_IDLE_MS } from './policy';
import type { Chosen, SessionContext } from './types';

export const SIGN_IN_NEEDED = 'Sign in first: presence needs a session (an account or a guest).';
export const NOT_RUNNING = 'Presence is not running: call start() first.';
const UNAVAILABLE = 'Live updates unavailable';

/** `error` while the realtime link is down and the roster is re-listed every heartbeat instead. */
export function liveUpdatesUnavailable(heartbeatMs: number): string {
  return `${UNAVAILABLE}; refreshing every ${Math.round(heartbeatMs / 1000)} s.`;
}

export const isLiveUpdatesUnavailable = (error: string | null) => error !== null && error.startsWith(UNAVAILABLE);

/** A number of ms from `min` to the longest timer we arm (rows expire 3 heartbeats ahead, ≤ 30 days). */
const within = (ms: unknown, min: number) => typeof ms === 'number' && ms >= min && ms <= MAX_HEARTBEAT_MS;

/** Why `start(options)` cannot be honoured, or null. */
export function startProblem(options: unknown): string | null {
  if (options === undefined || options === null) return null;
  if (typeof options !== 'object' || Array.isArray(options)) return 'start() options must be an object';
  const o = options as Record<string, unknown>;
  if (o.status !== undefined) {
    const problem = checkStatus(o.status);
    if (problem !== null) return problem;
  }
  if (o.auto !== undefined && typeof o.auto !== 'boolean') return `auto must be true or false, got ${typeof o.auto}`;
  if (o.heartbeatMs !== undefined && !within(o.heartbeatMs, MIN_HEARTBEAT_MS)) {
    return `heartbeatMs must be a number from ${MIN_HEARTBEAT_MS} to ${MAX_HEARTBEAT_MS}, got ${String(o.heartbeatMs)}`;
  }
  if (o.idleMs !== undefined && o.idleMs !== false && o.idleMs !== 0 && !within(o.idleMs, MIN_IDLE_MS)) {
    return `idleMs must be a number from ${MIN_IDLE_MS} to ${MAX_HEARTBEAT_MS}, got ${String(o.idleMs)}`;
  }
  if (o.teamId !== undefined && o.teamId !== null && !(typeof o.teamId === 'string' && o.teamId !== '')) {
    return 'teamId must be a non-empty string or null';
  }
  return null;
}

/** Why `set(status, metadata)` cannot be honoured, or null: the shared checks, then the backend's. */
export function setProblem(context: Pick<SessionContext, 'checkMetadata'>, status: unknown, metadata: unknown): string | null {
  return checkStatus(status) ?? checkMetadata(metadata) ?? context.checkMetadata(metadata);
}

/** Accept a command: it changes the chosen status and owes a write that will carry it. */
export function accepted(context: SessionContext, desired: Chosen | null): Partial<SessionContext> {
  const seq = context.seq + 1;
  // Nothing will be written for it: a follower tab (the leader writes the person's wish) or a
  // clear with no row to delete.
  const settled = !context.leader || (desired === null && !context.hasRow && context.inflight === null);
  return { desired, seq, due: true, error: null, confirmedSeq: settled ? seq : context.confirmedSeq };
}

/** Commands not yet confirmed count as failed (the session ended before a write carried them). */
export function failPending(context: SessionContext): Partial<SessionContext> {
  return context.seq > context.confirmedSeq ? { failedSeq: Math.max(context.failedSeq, context.seq) } : {};
}

/**
 * What a failure of the write in flight reverts the chosen status to, or undefined when nothing
 * is reverted: a newer command is waiting (latest wins: it is written next), or the failure was
 * transient, where undoing the person's choice would make them vanish after one blip — the choice
 * stays and is retried with backoff.
 */
export function revertsTo(context: SessionContext, transient: boolean): Chosen | null | undefined {
  const w = context.inflight;
  if (w === null || w.seq !== context.seq || transient) return undefined;
  return context.confirmed;
}
