/**
 * What bindings read from a session snapshot: the person's published status, readiness, the
 * error, where the lifecycle is, and how a command ended. Pure functions of the snapshot.
 */
import type { SnapshotFrom } from 'xstate';
import type { sessionMachine } from './machine';
import type { SessionContext } from './types';

export type SessionSnapshot = SnapshotFrom<typeof sessionMachine>;

/** Status published while no tab of the person is visible, or none visible has had input for idleMs (with `auto`). */
export const AWAY = 'away';

/** The status to publish now: null when cleared, `away` while hidden with auto. */
export function effectiveStatus(context: Pick<SessionContext, 'desired' | 'hidden' | 'auto'>): string | null {
  if (context.desired === null) return null;
  return context.hidden && context.auto ? AWAY : context.desired.status;
}

/**
 * Your published status: the chosen one, `away` while hidden with `auto`, null when cleared or not tracking.
 *
 * @example
 * actor.subscribe((s) => (state.me = selectMe(s)));
 */
export function selectMe(snapshot: SessionSnapshot): string | null {
  return snapshot.matches('tracking') ? effectiveStatus(snapshot.context) : null;
}

/** True once tracking started and the roster has been listed (and stays true through resyncs). */
export function selectReady(snapshot: SessionSnapshot): boolean {
  return snapshot.matches('tracking') && snapshot.context.loaded;
}

/** The most recent error message, or null. */
export function selectError(snapshot: SessionSnapshot): string | null {
  return snapshot.context.error;
}

/** Where the lifecycle is, in the design card's words plus the page's own states. */
export type SessionPhase =
  | 'idle'
  | 'starting'
  | 'online'
  | 'away'
  | 'cleared'
  | 'switching'
  | 'announcing'
  | 'stopping'
  | 'stopped'
  | 'left'
  | 'frozen';

const PHASES = ['starting', 'switching', 'announcing', 'stopping', 'stopped', 'left', 'frozen'] as const;

/** @example selectPhase(actor.getSnapshot()) // 'online' */
export function selectPhase(snapshot: SessionSnapshot): SessionPhase {
  if (snapshot.matches({ tracking: { status: 'away' } })) return 'away';
  if (snapshot.matches({ tracking: { status: 'cleared' } })) return 'cleared';
  if (snapshot.matches('tracking')) return 'online';
  for (const phase of PHASES) if (snapshot.matches(phase)) return phase;
  return 'idle';
}

/** Number of the last accepted command; read it right after sending one to learn its number. */
export function selectSeq(snapshot: SessionSnapshot): number {
  return snapshot.context.seq;
}

/**
 * How command `seq` ended: true once a write carrying it was confirmed (or nothing had to be
 * written), false once that write failed or the session ended first, undefined while pending.
 * Call it on every snapshot while pending: the first defined answer is the command's.
 *
 * @example
 * const seq = selectSeq(actor.getSnapshot()) + 1;
 * actor.send({ type: 'session.set', status: 'busy' });
 * if (selectSeq(actor.getSnapshot()) < seq) return false; // rejected: see selectError
 */
export function commandOutcome(snapshot: SessionSnapshot, seq: number): boolean | undefined {
  if (snapshot.context.confirmedSeq >= seq) return true;
  if (snapshot.context.failedSeq >= seq) return false;
  return undefined;
}

/** A sign-out's answer: undefined while it runs, then whether the person's row is gone. */
export function signOutOutcome(snapshot: SessionSnapshot): boolean | undefined {
  if (snapshot.matches('switching') || snapshot.matches('announcing') || snapshot.matches('stopping')) return undefined;
  return !snapshot.context.hasRow;
}
