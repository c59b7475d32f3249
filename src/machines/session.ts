/**
 * The session: one person's presence from `start()` to `stop()`, as an XState machine.
 * Timing contract (H = heartbeatMs, default 25 000 ms): a heartbeat write every H × (0.8 … 1.0)
 * while visible and max(H, 60 000) × (1.0 … 1.1) while hidden, counted from the last write;
 * each write sets expiresAt = server now + 3 H visible, max(3 H, 300 000) hidden; one write in
 * flight, latest wins, ≥ 250 ms (writeGap) between writes, a transiently failed write retried after
 * 1 s, 2 s, 4 s … (≤ min(30 s, H)) until one succeeds, a write whose row came back with a lifetime
 * off by more than LIFETIME_SLACK_MS + 2 round trips (a clock not yet sampled) written again a
 * writeGap later; the roster is listed once realtime is connected (or after 5 s, connectTimeout)
 * and again on every reconnect, peer events buffered meanwhile; stop() and a switch of identity or
 * team try the row's DELETE REMOVE_ATTEMPTS times when it fails transiently (1 s, then 2 s apart).
 */
import {
  and,
  assertEvent,
  assign,
  fromCallback,
  fromPromise,
  spawnChild,
  stopChild,
  type DoneActorEvent,
  type ErrorActorEvent,
  type EventObject,
  type SnapshotFrom,
} from 'xstate';
import { checkMetadata, checkStatus, colorOf } from '../records';
import type {
  Identity,
  LoadRosterInput,
  LoadRosterOutput,
  Metadata,
  PeerDoc,
  PublishInput,
  PublishOutput,
  RemoveInput,
  TransportEvent,
  WatchPeersInput,
} from '../transport/types';
import type { ServerClock } from './clock';
import type { Roster, SelfRecord } from './roster';
import { setup } from './setup';

export const DEFAULT_HEARTBEAT_MS = 25_000;
export const MIN_HEARTBEAT_MS = 1_000;
/** Rows are written to expire 3 heartbeats ahead, and Appwrite refuses an expiry past 30 days. */
export const MAX_HEARTBEAT_MS = 10 * 24 * 60 * 60 * 1000;
/** Quiet time between the end of one write and the start of the next. */
export const WRITE_GAP_MS = 250;
/** A write that failed for a transient reason (5xx, network) is retried after 1 s, 2 s, 4 s … */
export const RETRY_FIRST_MS = 1_000;
/** … at most this long apart (and never further apart than a heartbeat). */
export const RETRY_MAX_MS = 30_000;
/**
 * stop() and a switch of identity or team try to delete the row this many times when the failures
 * are transient (5xx, network), 1 s then 2 s apart: a blip would otherwise leave everyone (or the
 * old team) seeing you for 3 heartbeats. Bounded, so that stop() still resolves in a few seconds
 * when the server is down.
 */
export const REMOVE_ATTEMPTS = 3;
/** List the roster anyway when realtime has not said `connected` by then. */
export const CONNECT_TIMEOUT_MS = 5_000;
/** Browsers run hidden pages' timers about once a minute, so hidden heartbeats are no more frequent. */
export const HIDDEN_HEARTBEAT_MIN_MS = 60_000;
/** Hidden rows live 5 minutes: one throttled minute plus Chrome's intensive throttling and margin. */
export const HIDDEN_TTL_MIN_MS = 300_000;
/** Status published while no tab of the person is visible (with `auto`). */
export const AWAY = 'away';
export const SIGN_IN_NEEDED = 'Sign in first: presence needs a session (an account or a guest).';
export const NOT_RUNNING = 'Presence is not running: call start() first.';

/** Options of `start()`; anything left out keeps its current value (defaults on a fresh start). */
export interface StartOptions {
  /** Flip to `away` while no tab of the person is visible (default true). */
  auto?: boolean;
  /** Status to publish (default 'online'; on a running session the current one is kept). */
  status?: string;
  /** Heartbeat period in ms, ≥ 1000 (default 25 000). */
  heartbeatMs?: number;
  /** Team to scope presence to; null = every signed-in user; undefined = keep the current one. */
  teamId?: string | null;
}

/** What the person chose to publish; `away` is applied on top of it, never stored in it. */
export interface Chosen {
  status: string;
  metadata: Metadata;
}

export interface SessionInput {
  roster: Roster;
  clock: ServerClock;
  /** Jitter source in [0, 1] (default Math.random). */
  random?: () => number;
  /** Row id for a first write (default: a time-prefixed random id in Appwrite's alphabet). */
  newId?: () => string;
}

/** Commands from the bindings. */
export type SessionCommand =
  | { type: 'session.start'; options?: StartOptions }
  /** `remote`: the wish came from another tab of the person (the machine treats it alike). */
  | { type: 'session.set'; status: string; metadata?: Metadata | null; remote?: boolean }
  | { type: 'session.clear'; remote?: boolean }
  /** An error found before the machine (the facade's own argument checks): shown as `error`. */
  | { type: 'session.error'; message: string }
  | { type: 'session.stop' }
  /**
   * The page is going away (`pagehide`): write nothing more. The row is already left to a keepalive
   * delete (last tab) or to the next leader tab; a write now — say, re-asserting the row whose delete
   * event we are about to hear — would bring the person back as a ghost until expiry.
   */
  | { type: 'session.unload' }
  /** The PERSON's visibility: no tab of theirs visible / at least one visible again. */
  | { type: 'tab.hidden' }
  | { type: 'tab.visible' }
  | { type: 'tabs.role'; leader: boolean; othersPresent: boolean }
  | { type: 'identity.changed'; identity: Identity | null }
  | { type: 'team.changed'; teamId: string | null };

/** Every event the session accepts from outside: commands plus what the transport sends back. */
export type SessionEvent = SessionCommand | TransportEvent;

type PeerEvent = Extract<TransportEvent, { type: 'peer.upserted' | 'peer.deleted' }>;
/**
 * Settling effects, typed for the named actions. The one write in flight is spawned (not invoked)
 * under the id `write` so that `stopping` can wait for it after `tracking` has been left.
 */
type EffectEvent =
  | DoneActorEvent<Identity | null, 'identify'>
  | ErrorActorEvent<unknown, 'identify'>
  | DoneActorEvent<LoadRosterOutput, 'loadRoster'>
  | ErrorActorEvent<unknown, 'loadRoster'>
  | DoneActorEvent<PublishOutput | undefined, 'write'>
  | ErrorActorEvent<unknown, 'write'>
  | DoneActorEvent<void, 'removeRow'>
  | ErrorActorEvent<unknown, 'removeRow'>;

interface Write {
  kind: 'publish' | 'remove';
  /** The last command this write carries. */
  seq: number;
  chosen: Chosen | null;
}

export interface SessionContext {
  readonly roster: Roster;
  readonly clock: ServerClock;
  readonly random: () => number;
  readonly newId: () => string;
  /** Most recent error message, or null. */
  error: string | null;
  /** Most recent transport warning (a frame we could not use), for logging. */
  warning: string | null;
  identity: Identity | null;
  auto: boolean;
  heartbeatMs: number;
  teamId: string | null;
  /** The person's chosen status; null = cleared. */
  desired: Chosen | null;
  /** The chosen status the server last confirmed in this tracking run (reverted to on failure). */
  confirmed: Chosen | null;
  hidden: boolean;
  /** Only the leader tab writes. */
  leader: boolean;
  /** Another tab of the same person is open. */
  othersPresent: boolean;
  /** Our row's id: Appwrite's existing row id wins over the one we made up. */
  presenceId: string | null;
  /** We have, or may have, a row on the server that this page answers for (pagehide deletes it). */
  hasRow: boolean;
  /** `updatedAt` of the row we last wrote (tells a foreign delete from a stale one). */
  rowVersion: number | null;
  /** The roster region has been live at least once in this tracking run (`ready`). */
  loaded: boolean;
  /** Peer events held while a list is in flight; a mutable queue (10 000 peers, 400 events/s). */
  buffer: PeerEvent[];
  /** A write of our current state is owed. */
  due: boolean;
  inflight: Write | null;
  /** Accepted commands so far; a command's promise settles on the first write that carries it. */
  seq: number;
  confirmedSeq: number;
  failedSeq: number;
  lastWriteFailed: boolean;
  /** Writes failed in a row for a transient reason (5xx, network): sets the retry backoff. */
  failures: number;
  /** Tracking was asked for and not stopped: a new identity resumes it. */
  wanted: boolean;
  /** `start()` arrived while stopping: start again once stopped. */
  restart: boolean;
}

export const sessionMachine = setup({
  types: {
    context: {} as SessionContext,
    events: {} as SessionEvent | EffectEvent,
    input: {} as SessionInput,
  },
  actors: {
    identify: fromPromise<Identity | null, void>(async () => null),
    loadRoster: fromPromise<LoadRosterOutput, LoadRosterInput>(async () => ({ peers: [], receivedAtLocal: Date.now() })),
    watchPeers: fromCallback<EventObject, WatchPeersInput>(() => () => {}),
    publish: fromPromise<PublishOutput, PublishInput>(async ({ input }) => {
      const now = Date.now();
      const doc: PeerDoc = { id: input.presenceId, userId: input.userId, status: input.status, metadata: input.metadata, updatedAt: now, expiresAt: input.expiresAt };
      return { doc, sentAtLocal: now, receivedAtLocal: now };
    }),
    remove: fromPromise<void, RemoveInput>(async () => {}),
  },
  delays: {
    connectTimeout: CONNECT_TIMEOUT_MS,
    writeGap: ({ context }) => retryDelay(context),
    heartbeatEvery: ({ context }) => context.heartbeatMs * (0.8 + 0.2 * context.random()),
    hiddenHeartbeatEvery: ({ context }) => Math.max(context.heartbeatMs, HIDDEN_HEARTBEAT_MIN_MS) * (1 + 0.1 * context.random()),
  },
  guards: {
    startInvalid: ({ event }) => event.type === 'session.start' && startProblem(event.options) !== null,
    setInvalid: ({ event }) => event.type === 'session.set' && setProblem(event) !== null,
    startGoesAway: ({ context, event }) =>
      event.type === 'session.start' && context.hidden && (event.options?.auto ?? context.auto),
    setGoesAway: ({ context }) => context.hidden && context.auto,
    autoAway: ({ context }) => context.auto,
    startRescopes: ({ context, event }) =>
      event.type === 'session.start' &&
      startProblem(event.options) === null &&
      event.options?.teamId !== undefined &&
      event.options.teamId !== context.teamId,
    teamDiffers: ({ context, event }) => event.type === 'team.changed' && event.teamId !== context.teamId,
    noSession: ({ event }) => event.type === 'xstate.done.actor.identify' && event.output === null,
    entersCleared: ({ context }) => context.desired === null,
    entersAway: ({ context }) => context.hidden && context.auto,
    resumes: ({ context, event }) => event.type === 'identity.changed' && context.wanted && event.identity !== null,
    signsOut: ({ event }) => event.type === 'identity.changed' && event.identity === null,
    sameUser: ({ context, event }) =>
      event.type === 'identity.changed' && event.identity !== null && event.identity.userId === context.identity?.userId,
    signedOut: ({ context }) => context.identity === null,
    ownPeer: ({ context, event }) =>
      (event.type === 'peer.upserted' || event.type === 'peer.deleted') && event.peer.userId === context.identity?.userId,
    removesOldRow: ({ context }) => context.hasRow && (context.leader || !context.othersPresent),
    failureClears: ({ context, event }) => revertsTo(context, eventError(event)) === null,
    failureRestores: ({ context, event }) => {
      const revert = revertsTo(context, eventError(event));
      return revert !== null && revert !== undefined;
    },
    failureRestoresAway: ({ context, event }) => {
      const revert = revertsTo(context, eventError(event));
      return revert !== null && revert !== undefined && context.hidden && context.auto;
    },
    publishDue: ({ context }) => context.leader && context.due && context.desired !== null && context.identity !== null,
    removeDue: ({ context }) => context.leader && context.due && context.desired === null && context.hasRow,
    beats: ({ context }) => context.leader && context.desired !== null,
    beatsHidden: ({ context }) => context.leader && context.desired !== null && context.hidden,
    silent: ({ context }) => !context.leader || context.desired === null,
    writeSettled: ({ context }) => context.inflight === null,
    removesOnStop: ({ context }) => context.hasRow && !context.othersPresent && !context.restart,
    removeRetries: ({ context, event }) => removeRetries(context, event),
    restartRequested: ({ context }) => context.restart,
  },
  actions: {
    rejectStart: assign(({ event }) => ({ error: event.type === 'session.start' ? startProblem(event.options) : null })),
    rejectSet: assign(({ event }) => ({ error: event.type === 'session.set' ? setProblem(event) : null })),
    notRunning: assign({ error: NOT_RUNNING }),
    reportError: assign(({ event }) => (event.type === 'session.error' ? { error: event.message } : {})),
    freshStart: assign(({ context, event }) => {
      assertEvent(event, 'session.start');
      const o = event.options ?? {};
      return {
        ...accepted(context, { status: o.status ?? 'online', metadata: {} }),
        auto: o.auto ?? true,
        heartbeatMs: o.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
        teamId: o.teamId === undefined ? context.teamId : o.teamId,
        wanted: true,
      };
    }),
    reapplyStart: assign(({ context, event }) => {
      assertEvent(event, 'session.start');
      const o = event.options ?? {};
      const chosen = { status: o.status ?? context.desired?.status ?? 'online', metadata: context.desired?.metadata ?? {} };
      return {
        ...accepted(context, chosen),
        auto: o.auto ?? context.auto,
        heartbeatMs: o.heartbeatMs ?? context.heartbeatMs,
        teamId: o.teamId === undefined ? context.teamId : o.teamId,
        wanted: true,
      };
    }),
    requestRestart: assign({ restart: true }),
    clearRestart: assign({ restart: false }),
    acceptSet: assign(({ context, event }) => {
      assertEvent(event, 'session.set');
      return accepted(context, { status: event.status, metadata: event.metadata ?? {} });
    }),
    acceptClear: assign(({ context }) => accepted(context, null)),
    noteVisibility: assign(({ context, event }) => {
      const hidden = event.type === 'tab.hidden';
      return { hidden, due: context.due || hidden !== context.hidden };
    }),
    noteRole: assign(({ context, event }) => {
      assertEvent(event, 'tabs.role');
      return {
        leader: event.leader,
        othersPresent: event.othersPresent,
        due: context.due || (event.leader && !context.leader),
      };
    }),
    noteTeam: assign(({ context, event }) => {
      assertEvent(event, 'team.changed');
      return { teamId: event.teamId, due: context.due || event.teamId !== context.teamId };
    }),
    rescope: assign(({ context, event }) => {
      const teamId = event.type === 'team.changed' ? event.teamId : event.type === 'session.start' ? (event.options?.teamId ?? null) : context.teamId;
      return { teamId, loaded: false, due: true };
    }),
    leaveTeam: assign(({ context, event }) => {
      assertEvent(event, 'team.changed');
      return { teamId: event.teamId, loaded: false, due: true, ...dropWrite(context) };
    }),
    adoptIdentity: assign(({ event }) => {
      assertEvent(event, 'xstate.done.actor.identify');
      return { identity: event.output };
    }),
    takeIdentity: assign(({ event }) => {
      assertEvent(event, 'identity.changed');
      return { identity: event.identity };
    }),
    renameSelf: assign(({ event }) => {
      assertEvent(event, 'identity.changed');
      return { identity: event.identity, due: true };
    }),
    leaveIdentity: assign(({ context, event }) => {
      assertEvent(event, 'identity.changed');
      return { identity: event.identity, wanted: true, ...dropWrite(context) };
    }),
    stopWrite: stopChild('write'),
    signInNeeded: assign(({ context }) => ({ error: SIGN_IN_NEEDED, wanted: true, ...failPending(context) })),
    startFailed: assign(({ context, event }) => ({ error: messageOf(eventError(event)), wanted: true, ...failPending(context) })),
    pendingFail: assign(({ context }) => failPending(context)),
    unwant: assign({ wanted: false }),
    beginTracking: assign(({ context }) => ({
      presenceId: context.newId(),
      hasRow: false,
      rowVersion: null,
      confirmed: null,
      loaded: false,
      due: true,
      inflight: null,
      failures: 0,
      error: null,
      buffer: [],
    })),
    showSelf: ({ context }) => showSelf(context),
    beginPublish: assign(({ context }) => ({
      inflight: { kind: 'publish' as const, seq: context.seq, chosen: context.desired },
      due: false,
      hasRow: true,
    })),
    beginRemove: assign(({ context }) => ({ inflight: { kind: 'remove' as const, seq: context.seq, chosen: null }, due: false })),
    settleWrite: assign(({ context, event }) => {
      assertEvent(event, 'xstate.done.actor.write');
      const w = context.inflight;
      if (w === null) return {};
      const done = {
        inflight: null,
        confirmedSeq: Math.max(context.confirmedSeq, w.seq),
        confirmed: w.chosen,
        lastWriteFailed: false,
        failures: 0,
        error: context.lastWriteFailed ? null : context.error,
      };
      if (w.kind === 'remove' || event.output === undefined) return { ...done, hasRow: false, rowVersion: null };
      return { ...done, presenceId: event.output.doc.id, hasRow: true, rowVersion: event.output.doc.updatedAt };
    }),
    sampleRoundTrip: ({ context, event }) => {
      if (event.type !== 'xstate.done.actor.write' || event.output === undefined) return;
      const { doc, sentAtLocal, receivedAtLocal } = event.output;
      context.clock.sampleRoundTrip(doc.updatedAt, sentAtLocal, receivedAtLocal);
    },
    // The first write of a run computes expiresAt before the clock has a sample. When the answer
    // shows a lifetime further off than the round trip explains, write again with the corrected
    // clock (writeGap later) rather than a heartbeat later: a crash meanwhile would leave the row
    // up for the clock's error + 3 H, or Appwrite's default 15 minutes.
    rewriteOffLifetime: assign(({ context, event }) => {
      if (event.type !== 'xstate.done.actor.write' || event.output === undefined) return {};
      return lifetimeIsOff(event.output, ttlOf(context)) ? { due: true } : {};
    }),
    failWrite: assign(({ context, event }) => {
      assertEvent(event, 'xstate.error.actor.write');
      const w = context.inflight;
      if (w === null) return {};
      const what = w.kind === 'publish' ? 'publish' : 'remove';
      const revert = revertsTo(context, event.error);
      // A refusal (4xx) would be refused again; anything else is kept and written again soon.
      const transient = isTransient(event.error);
      const failures = transient ? context.failures + 1 : 0;
      const retry = transient ? tryingAgain({ ...context, failures }, 'kept; ') : '';
      return {
        inflight: null,
        failedSeq: Math.max(context.failedSeq, w.seq),
        lastWriteFailed: true,
        failures,
        ...(transient ? { due: true } : {}),
        error: `Could not ${what} your status: ${messageOf(event.error)}${retry}`,
        ...(revert === undefined ? {} : { desired: revert }),
      };
    }),
    markDue: assign({ due: true }),
    hideSelf: ({ context }) => context.roster.setSelf(context.identity?.userId ?? null, null),
    clearBuffer: assign({ buffer: (): PeerEvent[] => [] }),
    notePeer: assign(({ context, event }) => {
      if (event.type !== 'peer.upserted' && event.type !== 'peer.deleted') return {};
      return ownRow(context, event);
    }),
    // The queue is mutated in place: it was created fresh when this list started and nothing else holds it.
    bufferPeer: ({ context, event }) => {
      if (event.type !== 'peer.upserted' && event.type !== 'peer.deleted') return;
      sampleEventTime(context, event);
      context.buffer.push(event);
    },
    applyPeer: ({ context, event }) => {
      if (event.type !== 'peer.upserted' && event.type !== 'peer.deleted') return;
      sampleEventTime(context, event);
      applyPeer(context, event);
    },
    resetRoster: ({ context, event }) => {
      assertEvent(event, 'xstate.done.actor.loadRoster');
      const { peers, receivedAtLocal } = event.output;
      let newest = -Infinity;
      for (const peer of peers) newest = Math.max(newest, peer.updatedAt);
      if (newest > -Infinity) context.clock.sampleLowerBound(newest, receivedAtLocal);
      context.roster.reset(peers.filter((peer) => inScope(peer, context.teamId)));
      for (const buffered of context.buffer) applyPeer(context, buffered);
    },
    rosterLoaded: assign(({ context, event }) => {
      assertEvent(event, 'xstate.done.actor.loadRoster');
      const self = context.identity?.userId;
      const own = event.output.peers.find((peer) => peer.userId === self);
      return { loaded: true, buffer: [], ...(own ? { presenceId: own.id, hasRow: true } : {}) };
    }),
    listFailed: assign(({ event }) => ({ error: `Could not load who is here: ${messageOf(eventError(event))}` })),
    noteWarning: assign(({ event }) => (event.type === 'transport.warning' ? { warning: event.reason } : {})),
    forgetRoster: ({ context }) => context.roster.clear(),
    shutDown: assign(({ context }) => ({ due: false, loaded: false, buffer: [], inflight: null, failures: 0, ...(context.restart ? {} : failPending(context)) })),
    // The row is gone: no earlier write's error (nor a retry's) is still true.
    rowRemoved: assign({ hasRow: false, rowVersion: null, confirmed: null, error: null }),
    resetFailures: assign({ failures: 0 }),
    countFailure: assign(({ context }) => ({ failures: context.failures + 1 })),
    // Stopped while another tab of the person is open: the row is theirs now, and this page must
    // not delete it when it goes (its tab coordinator is gone by then and cannot tell).
    handOverRow: assign(({ context }) => (context.othersPresent ? { hasRow: false } : {})),
    removeFailed: assign(({ context, event }) => {
      const retry = removeRetries(context, event) ? tryingAgain({ ...context, failures: context.failures + 1 }) : '';
      return { failures: context.failures + 1, error: `Could not remove your status: ${messageOf(eventError(event))}${retry}` };
    }),
  },
}).createMachine({
  id: 'session',
  context: ({ input }) => ({
    roster: input.roster,
    clock: input.clock,
    random: input.random ?? Math.random,
    newId: input.newId ?? uniqueId,
    error: null,
    warning: null,
    identity: null,
    auto: true,
    heartbeatMs: DEFAULT_HEARTBEAT_MS,
    teamId: null,
    desired: null,
    confirmed: null,
    hidden: false,
    leader: true,
    othersPresent: false,
    presenceId: null,
    hasRow: false,
    rowVersion: null,
    loaded: false,
    buffer: [],
    due: false,
    inflight: null,
    seq: 0,
    confirmedSeq: 0,
    failedSeq: 0,
    lastWriteFailed: false,
    failures: 0,
    wanted: false,
    restart: false,
  }),
  initial: 'idle',
  // Facts that hold whatever the lifecycle. XState v5 consults an ancestor's handler only when no
  // active state below handles the event, so every state that reacts to one of these notes it too.
  on: {
    'tab.hidden': { actions: 'noteVisibility' },
    'tab.visible': { actions: 'noteVisibility' },
    'tabs.role': { actions: 'noteRole' },
    'team.changed': { actions: 'noteTeam' },
    'session.error': { actions: 'reportError' },
  },
  states: {
    idle: {
      entry: 'forgetRoster',
      on: {
        'session.start': [{ guard: 'startInvalid', actions: 'rejectStart' }, { target: 'starting', actions: 'freshStart' }],
        'session.set': { actions: 'notRunning' },
        'session.clear': { actions: 'notRunning' },
        'session.stop': { actions: 'unwant' },
        'identity.changed': [
          { guard: and(['resumes', 'entersCleared']), target: '#session.tracking.status.cleared', actions: 'takeIdentity' },
          { guard: and(['resumes', 'entersAway']), target: '#session.tracking.status.away', actions: 'takeIdentity' },
          { guard: 'resumes', target: 'tracking', actions: 'takeIdentity' },
        ],
      },
    },
    starting: {
      invoke: {
        id: 'identify',
        src: 'identify',
        onDone: [
          { guard: 'noSession', target: 'idle', actions: 'signInNeeded' },
          { guard: 'entersCleared', target: '#session.tracking.status.cleared', actions: 'adoptIdentity' },
          { guard: 'entersAway', target: '#session.tracking.status.away', actions: 'adoptIdentity' },
          { target: 'tracking', actions: 'adoptIdentity' },
        ],
        onError: { target: 'idle', actions: 'startFailed' },
      },
      on: {
        'session.start': [{ guard: 'startInvalid', actions: 'rejectStart' }, { actions: 'reapplyStart' }],
        'session.set': [{ guard: 'setInvalid', actions: 'rejectSet' }, { actions: 'acceptSet' }],
        'session.clear': { actions: 'acceptClear' },
        'session.stop': { target: 'stopped', actions: 'unwant' },
        'session.unload': 'stopped',
        'identity.changed': [
          { guard: 'signsOut', target: 'idle', actions: ['takeIdentity', 'pendingFail'] },
          { guard: 'entersCleared', target: '#session.tracking.status.cleared', actions: 'takeIdentity' },
          { guard: 'entersAway', target: '#session.tracking.status.away', actions: 'takeIdentity' },
          { target: 'tracking', actions: 'takeIdentity' },
        ],
      },
    },
    tracking: {
      type: 'parallel',
      entry: ['beginTracking', 'showSelf'],
      on: {
        // `me` is null from here on; our own record leaves the roster with it.
        'session.stop': { target: 'stopping', actions: ['unwant', 'hideSelf'] },
        'session.unload': { target: 'stopped', actions: ['stopWrite', 'hideSelf'] },
        'identity.changed': [
          { guard: 'sameUser', actions: ['renameSelf', 'showSelf'] },
          // `me` is null while the old row goes: so is our record (the new identity's row may be listed).
          { guard: 'removesOldRow', target: 'switching', actions: ['leaveIdentity', 'stopWrite', 'hideSelf'] },
          { guard: 'signsOut', target: 'idle', actions: ['leaveIdentity', 'stopWrite', 'pendingFail'] },
          { guard: 'entersCleared', target: '#session.tracking.status.cleared', reenter: true, actions: ['leaveIdentity', 'stopWrite'] },
          { guard: 'entersAway', target: '#session.tracking.status.away', reenter: true, actions: ['leaveIdentity', 'stopWrite'] },
          { target: 'tracking', reenter: true, actions: ['leaveIdentity', 'stopWrite'] },
        ],
      },
      states: {
        roster: {
          initial: 'watching',
          states: {
            watching: {
              invoke: { id: 'watchPeers', src: 'watchPeers', input: ({ context }) => ({ teamId: context.teamId }) },
              initial: 'connecting',
              on: {
                // Most events are about others: only our own row's touch the context (an assign
                // copies it, which at 400 events/s was most of an event's cost).
                'peer.upserted': [{ guard: 'ownPeer', actions: ['notePeer', 'bufferPeer'] }, { actions: 'bufferPeer' }],
                'peer.deleted': [{ guard: 'ownPeer', actions: ['notePeer', 'bufferPeer'] }, { actions: 'bufferPeer' }],
                'transport.warning': { actions: 'noteWarning' },
                'team.changed': [
                  // Appwrite tells only those who may read a row after a change, so the old
                  // audience would keep a ghost until expiry: delete the row first (its delete
                  // event reaches them), then publish for the new team.
                  { guard: and(['teamDiffers', 'removesOldRow']), target: '#session.switching', actions: ['leaveTeam', 'stopWrite', 'forgetRoster'] },
                  { guard: 'teamDiffers', target: 'watching', reenter: true, actions: ['rescope', 'forgetRoster', 'showSelf'] },
                ],
                'session.start': { guard: 'startRescopes', target: 'watching', reenter: true, actions: ['rescope', 'forgetRoster', 'showSelf'] },
              },
              states: {
                connecting: {
                  after: { connectTimeout: 'loading' },
                  on: { 'transport.connected': 'loading' },
                },
                loading: {
                  entry: 'clearBuffer',
                  invoke: {
                    id: 'loadRoster',
                    src: 'loadRoster',
                    input: ({ context }) => ({ teamId: context.teamId }),
                    onDone: { target: 'live', actions: ['resetRoster', 'rosterLoaded'] },
                    onError: { target: 'connecting', actions: 'listFailed' },
                  },
                  on: { 'transport.connected': { target: 'loading', reenter: true } },
                },
                live: {
                  on: {
                    'peer.upserted': [{ guard: 'ownPeer', actions: ['notePeer', 'applyPeer'] }, { actions: 'applyPeer' }],
                    'peer.deleted': [{ guard: 'ownPeer', actions: ['notePeer', 'applyPeer'] }, { actions: 'applyPeer' }],
                    'transport.connected': { target: 'resyncing', actions: 'markDue' },
                  },
                },
                resyncing: {
                  entry: 'clearBuffer',
                  invoke: {
                    id: 'loadRoster',
                    src: 'loadRoster',
                    input: ({ context }) => ({ teamId: context.teamId }),
                    onDone: { target: 'live', actions: ['resetRoster', 'rosterLoaded'] },
                    onError: { target: 'connecting', actions: 'listFailed' },
                  },
                  on: { 'transport.connected': { target: 'resyncing', reenter: true, actions: 'markDue' } },
                },
              },
            },
          },
        },
        status: {
          initial: 'online',
          states: {
            online: {
              on: {
                'tab.hidden': { guard: 'autoAway', target: 'away', actions: ['noteVisibility', 'showSelf'] },
                'session.start': [
                  { guard: 'startInvalid', actions: 'rejectStart' },
                  { guard: 'startGoesAway', target: 'away', actions: ['reapplyStart', 'showSelf'] },
                  { actions: ['reapplyStart', 'showSelf'] },
                ],
                'session.set': [{ guard: 'setInvalid', actions: 'rejectSet' }, { actions: ['acceptSet', 'showSelf'] }],
                'session.clear': { target: 'cleared', actions: ['acceptClear', 'showSelf'] },
                'xstate.error.actor.write': { guard: 'failureClears', target: 'cleared' },
              },
            },
            away: {
              on: {
                'tab.visible': { target: 'online', actions: ['noteVisibility', 'showSelf'] },
                'session.start': [
                  { guard: 'startInvalid', actions: 'rejectStart' },
                  { guard: 'startGoesAway', actions: ['reapplyStart', 'showSelf'] },
                  { target: 'online', actions: ['reapplyStart', 'showSelf'] },
                ],
                'session.set': [{ guard: 'setInvalid', actions: 'rejectSet' }, { actions: ['acceptSet', 'showSelf'] }],
                'session.clear': { target: 'cleared', actions: ['acceptClear', 'showSelf'] },
                'xstate.error.actor.write': { guard: 'failureClears', target: 'cleared' },
              },
            },
            cleared: {
              on: {
                'session.start': [
                  { guard: 'startInvalid', actions: 'rejectStart' },
                  { guard: 'startGoesAway', target: 'away', actions: ['reapplyStart', 'showSelf'] },
                  { target: 'online', actions: ['reapplyStart', 'showSelf'] },
                ],
                'session.set': [
                  { guard: 'setInvalid', actions: 'rejectSet' },
                  { guard: 'setGoesAway', target: 'away', actions: ['acceptSet', 'showSelf'] },
                  { target: 'online', actions: ['acceptSet', 'showSelf'] },
                ],
                'session.clear': { actions: 'acceptClear' },
                'xstate.error.actor.write': [
                  { guard: 'failureRestoresAway', target: 'away' },
                  { guard: 'failureRestores', target: 'online' },
                ],
              },
            },
          },
        },
        writer: {
          initial: 'idle',
          states: {
            idle: {
              always: [
                { guard: 'publishDue', target: 'publishing' },
                { guard: 'removeDue', target: 'removing' },
              ],
            },
            publishing: {
              entry: ['beginPublish', spawnChild('publish', { id: 'write', input: ({ context }) => publishInput(context) })],
              on: {
                'xstate.done.actor.write': {
                  target: 'cooling',
                  actions: ['stopWrite', 'settleWrite', 'sampleRoundTrip', 'rewriteOffLifetime', 'showSelf'],
                },
                'xstate.error.actor.write': { target: 'cooling', actions: ['stopWrite', 'failWrite', 'showSelf'] },
              },
            },
            removing: {
              entry: ['beginRemove', spawnChild('remove', { id: 'write', input: ({ context }) => ({ presenceId: context.presenceId ?? '' }) })],
              on: {
                'xstate.done.actor.write': { target: 'cooling', actions: ['stopWrite', 'settleWrite'] },
                'xstate.error.actor.write': { target: 'cooling', actions: ['stopWrite', 'failWrite', 'showSelf'] },
              },
            },
            cooling: { after: { writeGap: 'idle' } },
          },
        },
        heartbeat: {
          initial: 'off',
          states: {
            off: {
              always: [
                { guard: 'beatsHidden', target: 'waiting.hidden' },
                { guard: 'beats', target: 'waiting' },
              ],
            },
            // One timer at a time, with the cadence of the current visibility: going hidden
            // re-arms at once rather than letting a visible-rate timer run out in a throttled page.
            waiting: {
              initial: 'visible',
              always: { guard: 'silent', target: 'off' },
              states: {
                visible: {
                  after: { heartbeatEvery: { target: 'visible', reenter: true, actions: 'markDue' } },
                  on: {
                    'tab.hidden': { target: 'hidden', actions: 'noteVisibility' },
                    // Every confirmed write refreshes the row, so the next beat counts from it.
                    'xstate.done.actor.write': { target: 'visible', reenter: true },
                  },
                },
                hidden: {
                  after: { hiddenHeartbeatEvery: { target: 'hidden', reenter: true, actions: 'markDue' } },
                  on: {
                    'tab.visible': { target: 'visible', actions: 'noteVisibility' },
                    'xstate.done.actor.write': { target: 'hidden', reenter: true },
                  },
                },
              },
            },
          },
        },
      },
    },
    // The writer's backoff belongs to the old identity or team: the switch starts and ends with none.
    switching: {
      initial: 'removing',
      entry: 'resetFailures',
      exit: 'resetFailures',
      states: {
        removing: {
          invoke: {
            id: 'removeRow',
            src: 'remove',
            input: ({ context }) => ({ presenceId: context.presenceId ?? '' }),
            onDone: [
              { guard: 'signedOut', target: '#session.idle', actions: 'pendingFail' },
              { guard: 'entersCleared', target: '#session.tracking.status.cleared' },
              { guard: 'entersAway', target: '#session.tracking.status.away' },
              { target: '#session.tracking' },
            ],
            // Best effort after a blip or two (the old audience would see a ghost until expiry);
            // a refusal means the old session is gone already, and the row expires on its own.
            onError: [
              { guard: 'removeRetries', target: 'retrying', actions: 'countFailure' },
              { guard: 'signedOut', target: '#session.idle', actions: 'pendingFail' },
              { guard: 'entersCleared', target: '#session.tracking.status.cleared' },
              { guard: 'entersAway', target: '#session.tracking.status.away' },
              { target: '#session.tracking' },
            ],
          },
        },
        retrying: { after: { writeGap: 'removing' } },
      },
      on: {
        'session.start': [{ guard: 'startInvalid', actions: 'rejectStart' }, { actions: 'reapplyStart' }],
        'session.set': [{ guard: 'setInvalid', actions: 'rejectSet' }, { actions: 'acceptSet' }],
        'session.clear': { actions: 'acceptClear' },
        'session.stop': { target: 'stopped', actions: 'unwant' },
        'session.unload': 'stopped',
        'identity.changed': { actions: ['takeIdentity', 'hideSelf'] },
      },
    },
    stopping: {
      initial: 'draining',
      on: {
        'session.start': [{ guard: 'startInvalid', actions: 'rejectStart' }, { actions: ['freshStart', 'requestRestart'] }],
        'session.set': [
          { guard: 'setInvalid', actions: 'rejectSet' },
          { guard: 'restartRequested', actions: 'acceptSet' },
          { actions: 'notRunning' },
        ],
        'session.clear': [{ guard: 'restartRequested', actions: 'acceptClear' }, { actions: 'notRunning' }],
        // The bindings hand the row to a keepalive delete; no restart survives the page.
        'session.unload': { target: 'stopped', actions: ['stopWrite', 'clearRestart'] },
      },
      states: {
        draining: {
          always: [
            { guard: and(['writeSettled', 'removesOnStop']), target: 'removing', actions: 'resetFailures' },
            { guard: 'writeSettled', target: '#session.stopped', actions: 'handOverRow' },
          ],
          on: {
            'xstate.done.actor.write': { actions: ['stopWrite', 'settleWrite', 'sampleRoundTrip'] },
            'xstate.error.actor.write': { actions: ['stopWrite', 'failWrite'] },
          },
        },
        removing: {
          invoke: {
            id: 'removeRow',
            src: 'remove',
            input: ({ context }) => ({ presenceId: context.presenceId ?? '' }),
            onDone: { target: '#session.stopped', actions: 'rowRemoved' },
            onError: [
              { guard: 'removeRetries', target: 'retrying', actions: 'removeFailed' },
              { target: '#session.stopped', actions: 'removeFailed' },
            ],
          },
        },
        // A restart asked meanwhile writes the row again anyway: no need to delete it first.
        retrying: {
          always: { guard: 'restartRequested', target: '#session.stopped' },
          after: { writeGap: 'removing' },
        },
      },
    },
    stopped: {
      entry: ['forgetRoster', 'shutDown'],
      always: { guard: 'restartRequested', target: 'starting', actions: 'clearRestart' },
      on: {
        'session.start': [{ guard: 'startInvalid', actions: 'rejectStart' }, { target: 'starting', actions: 'freshStart' }],
        'session.set': { actions: 'notRunning' },
        'session.clear': { actions: 'notRunning' },
      },
    },
  },
});

export type SessionMachine = typeof sessionMachine;
export type SessionSnapshot = SnapshotFrom<typeof sessionMachine>;

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

/** Where the lifecycle is, in the design card's words. */
export type SessionPhase = 'idle' | 'starting' | 'online' | 'away' | 'cleared' | 'switching' | 'stopping' | 'stopped';

/** @example selectPhase(actor.getSnapshot()) // 'online' */
export function selectPhase(snapshot: SessionSnapshot): SessionPhase {
  if (snapshot.matches({ tracking: { status: 'away' } })) return 'away';
  if (snapshot.matches({ tracking: { status: 'cleared' } })) return 'cleared';
  if (snapshot.matches('tracking')) return 'online';
  for (const phase of ['starting', 'switching', 'stopping', 'stopped'] as const) if (snapshot.matches(phase)) return phase;
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

/** The status to publish now: null when cleared, `away` while hidden with auto. */
export function effectiveStatus(context: Pick<SessionContext, 'desired' | 'hidden' | 'auto'>): string | null {
  if (context.desired === null) return null;
  return context.hidden && context.auto ? AWAY : context.desired.status;
}

/** How long a row written now should live (ms). */
export function ttlOf(context: Pick<SessionContext, 'heartbeatMs' | 'hidden'>): number {
  const visible = 3 * context.heartbeatMs;
  return context.hidden ? Math.max(visible, HIDDEN_TTL_MIN_MS) : visible;
}

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
  if (
    o.heartbeatMs !== undefined &&
    !(typeof o.heartbeatMs === 'number' && o.heartbeatMs >= MIN_HEARTBEAT_MS && o.heartbeatMs <= MAX_HEARTBEAT_MS)
  ) {
    return `heartbeatMs must be a number from ${MIN_HEARTBEAT_MS} to ${MAX_HEARTBEAT_MS}, got ${String(o.heartbeatMs)}`;
  }
  if (o.teamId !== undefined && o.teamId !== null && !(typeof o.teamId === 'string' && o.teamId !== '')) {
    return 'teamId must be a non-empty string or null';
  }
  return null;
}

function setProblem(event: { status: unknown; metadata?: unknown }): string | null {
  return checkStatus(event.status) ?? checkMetadata(event.metadata);
}

// private

/** Accept a command: it changes the chosen status and owes a write that will carry it. */
function accepted(context: SessionContext, desired: Chosen | null): Partial<SessionContext> {
  const seq = context.seq + 1;
  // Nothing will be written for it: a follower tab (the leader writes the person's wish) or a
  // clear with no row to delete.
  const settled = !context.leader || (desired === null && !context.hasRow && context.inflight === null);
  return { desired, seq, due: true, error: null, confirmedSeq: settled ? seq : context.confirmedSeq };
}

function failPending(context: SessionContext): Partial<SessionContext> {
  return context.seq > context.confirmedSeq ? { failedSeq: Math.max(context.failedSeq, context.seq) } : {};
}

/** The write in flight is abandoned (identity change): its commands count as failed. */
function dropWrite(context: SessionContext): Partial<SessionContext> {
  const w = context.inflight;
  return w === null ? {} : { inflight: null, failedSeq: Math.max(context.failedSeq, w.seq) };
}

/**
 * What a failure of the write in flight reverts the chosen status to, or undefined when nothing
 * is reverted: a newer command is waiting (latest wins: it is written next), or the failure was
 * transient (a 5xx, a rate limit, the network), where undoing the person's choice would make
 * them vanish after one blip — the choice stays and is retried with backoff (1 s, 2 s, 4 s …).
 */
function revertsTo(context: SessionContext, error?: unknown): Chosen | null | undefined {
  const w = context.inflight;
  if (w === null || w.seq !== context.seq || isTransient(error)) return undefined;
  return context.confirmed;
}

/** A server error, a rate limit or a network failure: worth writing again, not a refusal. */
function isTransient(error: unknown): boolean {
  if (error instanceof TypeError) return true; // fetch: the network failed
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'number' && (code >= 500 || code === 429);
}

function publishedMetadata(context: SessionContext): Metadata {
  const userId = context.identity?.userId ?? null;
  return {
    name: context.identity?.name ?? null,
    color: colorOf(userId),
    ...context.desired?.metadata,
    ...(context.teamId === null ? {} : { team: context.teamId }),
  };
}

/**
 * Slack on a written row's lifetime (expiresAt − $updatedAt) before it counts as wrong: covers a
 * server that stores whole seconds; twice the write's round trip is added on top.
 */
export const LIFETIME_SLACK_MS = 2_000;

/**
 * Did the server keep the row for a lifetime other than `ttl`, beyond what the round trip explains?
 * With a sampled clock the error is at most ~1.5 round trips, so a rewrite cannot start a loop; a
 * row without expiresAt (never ours) or with Appwrite's default (our expiresAt refused) is off.
 */
export function lifetimeIsOff({ doc, sentAtLocal, receivedAtLocal }: PublishOutput, ttl: number): boolean {
  const lifetime = doc.expiresAt === null ? Infinity : doc.expiresAt - doc.updatedAt;
  return Math.abs(lifetime - ttl) > LIFETIME_SLACK_MS + 2 * Math.max(0, receivedAtLocal - sentAtLocal);
}

function publishInput(context: SessionContext): PublishInput {
  return {
    presenceId: context.presenceId ?? '',
    status: effectiveStatus(context) ?? '',
    metadata: publishedMetadata(context),
    expiresAt: context.clock.now() + ttlOf(context),
    teamId: context.teamId,
    userId: context.identity?.userId ?? '',
  };
}

/** Removing our row failed: is it worth another try? (transient, attempts left, no restart waiting) */
function removeRetries(context: SessionContext, event: { type: string }): boolean {
  return isTransient(eventError(event)) && context.failures + 1 < REMOVE_ATTEMPTS && !context.restart;
}

/** The error's tail while a write waits to be retried. */
function tryingAgain(context: Pick<SessionContext, 'failures' | 'heartbeatMs'>, prefix = ''): string {
  return ` (${prefix}trying again in ${Math.round(retryDelay(context) / 1000)} s)`;
}

/** The pause before the next write: the write gap, or the backoff after transient failures. */
function retryDelay(context: Pick<SessionContext, 'failures' | 'heartbeatMs'>): number {
  if (context.failures === 0) return WRITE_GAP_MS;
  return Math.min(RETRY_FIRST_MS * 2 ** Math.min(context.failures - 1, 16), RETRY_MAX_MS, context.heartbeatMs);
}

/** Optimistic: the roster shows our current status at once, whatever the server says meanwhile. */
function showSelf(context: SessionContext): void {
  const userId = context.identity?.userId ?? null;
  const status = effectiveStatus(context);
  let record: SelfRecord | null = null;
  if (status !== null) {
    const now = context.clock.now();
    record = { status, metadata: publishedMetadata(context), lastSeen: now, expiresAt: now + ttlOf(context) };
  }
  context.roster.setSelf(userId, record);
}

/** A peer event about our own row: learn its id, or notice someone else deleted it. */
function ownRow(context: SessionContext, event: PeerEvent): Partial<SessionContext> {
  if (context.identity === null || event.peer.userId !== context.identity.userId) return {};
  if (event.type === 'peer.upserted') return { presenceId: event.peer.id, hasRow: true };
  // A delete older than the row we wrote is about a row we have already replaced.
  if (context.rowVersion !== null && event.peer.updatedAt < context.rowVersion) return {};
  // Another device of this user deleted the shared row (or it was our own removal): re-assert
  // when we still publish; a second write of the same status is harmless.
  return { hasRow: false, rowVersion: null, due: context.due || context.desired !== null };
}

/** A record belongs to the team it names; one naming no team belongs to the unscoped roster. */
function inScope(peer: PeerDoc, teamId: string | null): boolean {
  const team = typeof peer.metadata.team === 'string' ? peer.metadata.team : null;
  return team === teamId;
}

function applyPeer(context: SessionContext, event: PeerEvent): void {
  const { roster } = context;
  if (event.type === 'peer.deleted') {
    // The payload is the row as it was (for a socket close, even an older snapshot of it); the
    // deletion itself happened when the event was published, which is the version that counts.
    roster.remove({ userId: event.peer.userId, updatedAt: Math.max(event.peer.updatedAt, event.serverTime ?? 0) });
  } else if (!inScope(event.peer, context.teamId)) roster.remove(event.peer);
  else roster.upsert(event.peer);
}

function sampleEventTime(context: SessionContext, event: PeerEvent): void {
  if (event.serverTime !== null) context.clock.sampleLowerBound(event.serverTime, Date.now());
}

function eventError(event: { type: string }): unknown {
  return 'error' in event ? event.error : undefined;
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  if (typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string') {
    return (error as { message: string }).message;
  }
  return String(error);
}

/** Appwrite's alphabet and length limit (≤ 36 chars, starts with a letter or digit). */
function uniqueId(): string {
  const random = Math.floor(Math.random() * 0xffffffff).toString(16).padStart(8, '0');
  return Date.now().toString(16) + random;
}
