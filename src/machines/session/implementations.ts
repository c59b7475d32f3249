/**
 * The session's named parts, declared once for `machine.ts`: effects as actors with inert
 * defaults (the transport, the page and the tab coordinator supply the real ones through
 * `provide()`), named delays, guards and actions. Guards only read the context; actions write it,
 * spawn or stop a child, or give a running child a command (`childOf`, a plain call: xstate's
 * sendTo would cost the CDN script ~380 B). Every rule about WHEN they apply lives in the machine
 * config, and the config routes each action the one event type it reads (`Of<'…'>`).
 */
import { assign, fromCallback, fromPromise, spawnChild, stopChild, type AnyActorRef, type CallbackActorLogic, type EventObject, type PromiseActorLogic } from 'xstate';
import { messageOf } from '../../errors';
import type {
  FeedCommand,
  Identity,
  LoadRosterInput,
  LoadRosterOutput,
  PublishInput,
  PublishOutput,
  RemoveInput,
  WatchPeersInput,
} from '../../transport/types';
import { setup } from '../setup';
import {
  accepted,
  failPending,
  isLiveUpdatesUnavailable,
  liveUpdatesUnavailable,
  NOT_RUNNING,
  revertsTo,
  setProblem,
  SIGN_IN_NEEDED,
  startProblem,
} from './commands';
import { applyLive, bufferPeer, directFeed, hideSelf, isOwn, ownListed, ownRow, publishedMetadata, resetRoster, showSelf } from './peers';
import {
  CONNECT_TIMEOUT_MS,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_IDLE_MS,
  HIDDEN_HEARTBEAT_MIN_MS,
  isSessionGone,
  isTransient,
  lifetimeIsOff,
  QUIET_TIMEOUT_MS,
  removeRetries,
  retryDelay,
  tryingAgain,
  ttlOf,
  beatsSlowly,
} from './policy';
import { effectiveStatus } from './selectors';
import type { EffectEvent, PeerEvent, SessionContext, SessionEvent, SessionInput, StartOptions, TabsCommand, Wish } from './types';

/**
 * Input of the `coordinateTabs` actor: whose tabs, whether this page is hidden now, a wish made
 * here before it ran, and whether it starts for a sign-out (ask the other tabs to go quiet at once).
 */
export interface TabsInput {
  userId: string;
  hidden: boolean;
  wish?: Wish;
  signOut?: boolean;
}

/** Input of the `watchPage` actor (none: it reads the page it was built for). */
export type PageInput = void;

const errorOf = (event: { type: string }): unknown => ('error' in event ? event.error : undefined);
const pending = fromPromise(() => new Promise<never>(() => {}));
const silent = fromCallback(() => {});

/** The start options in force: the event's, over the defaults (`undefined` never overrides). */
function startOptions(context: SessionContext, event: SessionEvent | EffectEvent): StartOptions & { teamId?: string | null } {
  const given: unknown = event.type === 'session.start' ? (event.options ?? {}) : {};
  // Not an object: left as it is, for startProblem to say why.
  if (typeof given !== 'object' || given === null || Array.isArray(given)) return given as StartOptions;
  const out: StartOptions & { teamId?: string | null } = { ...context.defaults };
  for (const [key, value] of Object.entries(given)) if (value !== undefined) (out as Record<string, unknown>)[key] = value;
  return out;
}

/** The wish this event makes in this tab, to share with the person's other tabs; undefined: none. */
function wishOf(context: SessionContext, event: SessionEvent | EffectEvent): Wish | undefined {
  if ((event.type === 'session.set' || event.type === 'session.clear') && !event.remote) return context.desired ?? 'cleared';
  // start() shares only a status it names: a bare start() in a second tab keeps the person's wish.
  if (event.type === 'session.start' && event.options?.status !== undefined && context.desired) return context.desired;
  return undefined;
}

/** What a fresh start() falls back on where its options say nothing (a running session: what it has). */
const FRESH = { desired: null, auto: true, heartbeatMs: DEFAULT_HEARTBEAT_MS, idleMs: DEFAULT_IDLE_MS } as const;

/** An accepted start(): its options over `was` (FRESH, or the running session's own). */
function started(context: SessionContext, event: SessionEvent | EffectEvent, was: Pick<SessionContext, keyof typeof FRESH>): Partial<SessionContext> {
  const o = startOptions(context, event);
  return {
    ...accepted(context, { status: o.status ?? was.desired?.status ?? 'online', metadata: was.desired?.metadata ?? {} }),
    auto: o.auto ?? was.auto,
    heartbeatMs: o.heartbeatMs ?? was.heartbeatMs,
    idleMs: +(o.idleMs ?? was.idleMs),
    teamId: o.teamId === undefined ? context.teamId : o.teamId,
    wanted: true,
  };
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

/** The event a transition routes to an action: the machine config names it, so it is not checked again at run time. */
type Of<T extends (SessionEvent | EffectEvent)['type']> = Extract<SessionEvent | EffectEvent, { type: T }>;

/**
 * A running child of the session (as of the last step: one spawned in this step is not there yet).
 * Commands to children are plain actions, sent at once in order with the step's other effects
 * (xstate's sendTo alone would cost the CDN script ~380 B); the child answers through the
 * mailbox, after this step.
 */
function childOf(self: AnyActorRef, id: 'tabs' | 'watchPeers'): AnyActorRef | undefined {
  return (self.getSnapshot() as { children?: Record<string, AnyActorRef | undefined> } | undefined)?.children?.[id];
}

/** Give the identity's tab coordinator (while one runs) a command. */
function tell(self: AnyActorRef, command: TabsCommand): void {
  childOf(self, 'tabs')?.send(command);
}

/** The input of this identity's coordinator (the `tabs` child, so `tell` finds it). */
function tabsInput(context: SessionContext, signOut: boolean): TabsInput {
  return {
    userId: context.identity!.userId,
    hidden: context.pageHidden,
    ...(context.unshared ? { wish: context.desired ?? 'cleared' } : {}),
    signOut,
  };
}

export const rowInput = ({ context }: { context: SessionContext }): RemoveInput => ({ presenceId: context.presenceId ?? '' });

export const implementations = setup({
  types: {
    context: {} as SessionContext,
    events: {} as SessionEvent | EffectEvent,
    input: {} as SessionInput,
  },
  // Inert by default: the transport, the page and the tab coordinator are supplied with provide().
  // A default that never settles and says nothing keeps the machine traversable without them.
  actors: {
    identify: pending as PromiseActorLogic<Identity | null, void>,
    loadRoster: pending as PromiseActorLogic<LoadRosterOutput, LoadRosterInput>,
    watchPeers: silent as CallbackActorLogic<EventObject, WatchPeersInput>,
    publish: pending as PromiseActorLogic<PublishOutput, PublishInput>,
    remove: pending as PromiseActorLogic<void, RemoveInput>,
    /** The keepalive delete at pagehide (transport). */
    removeOnUnload: silent as CallbackActorLogic<EventObject, RemoveInput>,
    /** The page: visibility, pagehide, freeze, resume (platform). */
    watchPage: silent as CallbackActorLogic<EventObject, PageInput>,
    /** The person's other tabs (platform). Alone by default: this tab leads, and its page is the person's. */
    coordinateTabs: fromCallback<TabsCommand, TabsInput>(({ input, sendBack, receive }) => {
      sendBack({ type: 'tabs.role', leader: true, othersPresent: false });
      if (input.signOut) sendBack({ type: 'tabs.quiet' });
      receive((command) => {
        if (command.type === 'visibility') sendBack({ type: command.visible ? 'tab.visible' : 'tab.hidden' });
        else if (command.type === 'signout') sendBack({ type: 'tabs.quiet' });
      });
    }),
  },
  delays: {
    connectTimeout: CONNECT_TIMEOUT_MS,
    quietTimeout: QUIET_TIMEOUT_MS,
    writeGap: ({ context }) => retryDelay(context),
    heartbeatEvery: ({ context }) => context.heartbeatMs * (0.8 + 0.2 * context.random()),
    hiddenHeartbeatEvery: ({ context }) => Math.max(context.heartbeatMs, HIDDEN_HEARTBEAT_MIN_MS) * (1 + 0.1 * context.random()),
    pollEvery: ({ context }) => context.heartbeatMs,
    idleAfter: ({ context }) => context.idleMs,
  },
  guards: {
    startInvalid: ({ context, event }) => startProblem(startOptions(context, event)) !== null,
    setInvalid: ({ context, event }) => setProblem(context, (event as Of<'session.set'>).status, (event as Of<'session.set'>).metadata) !== null,
    autoAway: ({ context }) => context.auto,
    startRescopes: ({ context, event }) => {
      const options = startOptions(context, event);
      return startProblem(options) === null && options.teamId !== undefined && options.teamId !== context.teamId;
    },
    /** Idleness is on (idleMs not 0). */
    idles: ({ context }) => context.idleMs > 0,
    teamDiffers: ({ context, event }) => (event as Of<'team.changed'>).teamId !== context.teamId,
    noSession: ({ event }) => (event as Of<'xstate.done.actor.identify'>).output === null,
    entersCleared: ({ context }) => context.desired === null,
    entersAway: ({ context }) => context.hidden && context.auto,
    resumes: ({ context, event }) => context.wanted && (event as Of<'identity.changed'>).identity !== null,
    signsOut: ({ event }) => (event as Of<'identity.changed'>).identity === null,
    sameUser: ({ context, event }) => {
      const { identity } = event as Of<'identity.changed'>;
      return identity !== null && identity.userId === context.identity?.userId;
    },
    signedOut: ({ context }) => context.identity === null,
    unwanted: ({ context }) => !context.wanted,
    ownPeer: ({ context, event }) => isOwn(context, event as PeerEvent),
    /** Another team, and this tab's row must go first (see the roster's `team.changed`). */
    leavesTeamRow: ({ context, event }) =>
      (event as Of<'team.changed'>).teamId !== context.teamId && context.hasRow && (context.leader || !context.othersPresent),
    // A refused write undoes the person's choice; one refused because the session is gone is a
    // sign-out instead (the writer handles it).
    failureReverts: ({ context, event }) => !isSessionGone(errorOf(event)) && revertsTo(context, isTransient(errorOf(event))) !== undefined,
    sessionGone: ({ event }) => isSessionGone(errorOf(event)),
    publishDue: ({ context }) => context.leader && context.due && context.desired !== null && context.identity !== null,
    removeDue: ({ context }) => context.leader && context.due && context.desired === null && context.hasRow,
    beats: ({ context }) => context.leader && context.desired !== null,
    beatsHidden: ({ context }) => context.leader && context.desired !== null && beatsSlowly(context),
    slowly: ({ context }) => beatsSlowly(context),
    quickly: ({ context }) => !beatsSlowly(context),
    silent: ({ context }) => !context.leader || context.desired === null,
    writeSettled: ({ context }) => context.inflight === null,
    // Once the write in flight has landed: alone, or signing out (here or in another tab), the row
    // goes; else another tab keeps it.
    removesOnStop: ({ context }) =>
      context.inflight === null && context.hasRow && !context.restart && (!context.othersPresent || context.leaving !== null),
    // Once the write in flight has landed: signing out here, any tab may delete (it holds the same
    // session); otherwise only the writer.
    removesOnLeave: ({ context }) =>
      context.inflight === null && context.hasRow && (context.leaving === 'here' || context.leader || !context.othersPresent),
    notAnnouncing: ({ context }) => context.leaving !== 'here',
    yielded: ({ context }) => context.leaving === 'there',
    removeRetries: ({ context, event }) => removeRetries(context, errorOf(event)),
    restartRequested: ({ context }) => context.restart,
    resumable: ({ context }) => context.resumable,
    linkDown: ({ context }) => !context.linkUp,
    /** The coordinator that runs is this identity's (kept across a team switch). */
    tabsCurrent: ({ context }) => context.tabsOf !== null && context.tabsOf === context.identity?.userId,
    /** The page goes while this tab is the person's last one, and writes a row: it must go too. */
    lastWriter: ({ context }) => context.presenceId !== null && context.hasRow && context.leader && !context.othersPresent,
  },
  actions: {
    rejectStart: assign(({ context, event }) => ({ error: startProblem(startOptions(context, event)) })),
    rejectSet: assign(({ context, event }) => {
      const { status, metadata } = event as Of<'session.set'>;
      return { error: setProblem(context, status, metadata) };
    }),
    notRunning: assign({ error: NOT_RUNNING }),
    reportError: assign(({ event }) => ({ error: (event as Of<'session.error'>).message })),
    freshStart: assign(({ context, event }) => started(context, event, FRESH)),
    reapplyStart: assign(({ context, event }) => started(context, event, context)),
    requestRestart: assign({ restart: true }),
    clearRestart: assign({ restart: false }),
    acceptSet: assign(({ context, event }) => {
      const { status, metadata } = event as Of<'session.set'>;
      return accepted(context, { status, metadata: metadata ?? {} });
    }),
    acceptClear: assign(({ context }) => accepted(context, null)),
    /** A wish made before the coordinator runs is shared as it starts (see `spawnTabs`). */
    holdWish: assign(({ context, event }) => (context.tabsOf === null && wishOf(context, event) !== undefined ? { unshared: true } : {})),
    /** Tell the person's other tabs what they chose here. */
    shareWish: ({ context, event, self }) => {
      const wish = wishOf(context, event);
      if (wish !== undefined) tell(self, { type: 'wish', wish });
    },
    noteVisibility: assign(({ context, event }) => {
      const hidden = event.type === 'tab.hidden';
      return { hidden, due: context.due || hidden !== context.hidden };
    }),
    /** This page's visibility: the coordinator turns it into the person's; alone, it is the person's. */
    notePage: assign(({ context, event }) => {
      const hidden = event.type === 'page.hidden';
      return context.tabsOf !== null ? { pageHidden: hidden } : { pageHidden: hidden, hidden, due: context.due || hidden !== context.hidden };
    }),
    /**
     * This tab's attention, for the coordinator: its page visible (idleness ends only on input,
     * which comes to a visible page, on the page shown, or as tracking ends: then the page's
     * visibility is right). `tellIdle`: the tab has gone idle, so it is not looking either way.
     */
    tellPage: ({ context, self }) => tell(self, { type: 'visibility', visible: !context.pageHidden }),
    tellIdle: ({ self }) => tell(self, { type: 'visibility', visible: false }),
    noteRole: assign(({ context, event }) => {
      const { leader, othersPresent } = event as Of<'tabs.role'>;
      return { leader, othersPresent, due: context.due || (leader && !context.leader) };
    }),
    /** The coordinator of this identity's tabs; a wish made before it ran goes with it. */
    spawnTabs: spawnChild('coordinateTabs', { id: 'tabs', input: ({ context }) => tabsInput(context, false) }),
    /** The same, for a sign-out from a tab that was not tracking: it asks the other tabs to go quiet as it starts. */
    spawnTabsToSignOut: spawnChild('coordinateTabs', { id: 'tabs', input: ({ context }) => tabsInput(context, true) }),
    // Nobody writes until the new coordinator has said who leads: a follower's first write would
    // otherwise overwrite the leader's status for a heartbeat.
    claimTabs: assign(({ context }) => ({ tabsOf: context.identity!.userId, leader: false, othersPresent: false, unshared: false })),
    dropTabs: stopChild('tabs'),
    forgetTabs: assign({ tabsOf: null }),
    announceSignOut: ({ context, self }) => {
      if (context.leaving === 'here') tell(self, { type: 'signout' });
    },
    answerQuiet: ({ self }) => tell(self, { type: 'quiet' }),
    answerIfYielded: ({ context, self }) => {
      if (context.leaving === 'there') tell(self, { type: 'quiet' });
    },
    noteTeam: assign(({ context, event }) => {
      const { teamId } = event as Of<'team.changed'>;
      return { teamId, due: context.due || teamId !== context.teamId };
    }),
    rescope: assign(({ context, event }) => {
      const teamId = event.type === 'team.changed' ? event.teamId : (startOptions(context, event).teamId ?? null);
      return { teamId, loaded: false, due: true };
    }),
    leaveTeam: assign(({ event }) => ({ teamId: (event as Of<'team.changed'>).teamId, loaded: false, due: true, leaving: 'team' as const })),
    adoptIdentity: assign(({ event }) => ({ identity: (event as Of<'xstate.done.actor.identify'>).output })),
    takeIdentity: assign(({ event }) => ({ identity: (event as Of<'identity.changed'>).identity })),
    renameSelf: assign(({ event }) => ({ identity: (event as Of<'identity.changed'>).identity, due: true })),
    leaveIdentity: assign(({ event }) => ({ identity: (event as Of<'identity.changed'>).identity, wanted: true, leaving: 'here' as const })),
    signOutHere: assign({ identity: null, wanted: true, leaving: 'here' as const }),
    sessionGoneHere: assign({ identity: null, wanted: true, leaving: 'here' as const, error: SIGN_IN_NEEDED }),
    yieldToSignOut: assign({ identity: null, wanted: true, leaving: 'there' as const }),
    beginAnnouncing: assign({ leaving: 'here' as const }),
    endLeaving: assign({ leaving: null }),
    forgetIdentity: assign({ identity: null }),
    stopWrite: stopChild('write'),
    signInNeeded: assign(({ context }) => ({ error: SIGN_IN_NEEDED, wanted: true, ...failPending(context) })),
    startFailed: assign(({ context, event }) => ({ error: messageOf(errorOf(event)), wanted: true, ...failPending(context) })),
    pendingFail: assign(({ context }) => failPending(context)),
    unwant: assign({ wanted: false }),
    beginTracking: assign(({ context }) => ({
      presenceId: context.newId(),
      hasRow: false,
      rowVersion: null,
      confirmed: null,
      loaded: false,
      linkUp: false,
      due: true,
      inflight: null,
      failures: 0,
      error: null,
      buffer: [],
    })),
    showSelf: ({ context }) => showSelf(context),
    hideSelf: ({ context }) => hideSelf(context),
    beginPublish: assign(({ context }) => ({ inflight: { kind: 'publish' as const, seq: context.seq, chosen: context.desired }, due: false, hasRow: true })),
    beginRemove: assign(({ context }) => ({ inflight: { kind: 'remove' as const, seq: context.seq, chosen: null }, due: false })),
    spawnPublish: spawnChild('publish', { id: 'write', input: ({ context }) => publishInput(context) }),
    spawnRemove: spawnChild('remove', { id: 'write', input: rowInput }),
    settleWrite: assign(({ context, event }) => {
      const { output } = event as Of<'xstate.done.actor.write'>;
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
      if (w.kind === 'remove' || output === undefined) return { ...done, hasRow: false, rowVersion: null };
      return { ...done, presenceId: output.doc.id, hasRow: true, rowVersion: output.doc.updatedAt };
    }),
    sampleRoundTrip: ({ context, event }) => {
      const { output } = event as Of<'xstate.done.actor.write'>;
      if (output !== undefined) context.clock.sampleRoundTrip(output.doc.updatedAt, output.sentAtLocal, output.receivedAtLocal);
    },
    // The first write of a run computes expiresAt before the clock has a sample. When the answer
    // shows a lifetime further off than the round trip explains, write again with the corrected
    // clock (writeGap later) rather than a heartbeat later: a crash meanwhile would leave the row
    // up for the clock's error + 3 H, or Appwrite's default 15 minutes.
    rewriteOffLifetime: assign(({ context, event }) => {
      const { output } = event as Of<'xstate.done.actor.write'>;
      return output !== undefined && lifetimeIsOff(output, ttlOf(context)) ? { due: true } : {};
    }),
    failWrite: assign(({ context, event }) => {
      const { error } = event as Of<'xstate.error.actor.write'>;
      const w = context.inflight;
      if (w === null) return {};
      // A refusal (4xx) would be refused again; anything else is kept and written again soon.
      const transient = isTransient(error);
      const revert = revertsTo(context, transient);
      const failures = transient ? context.failures + 1 : 0;
      const retry = transient ? tryingAgain({ ...context, failures }, 'kept; ') : '';
      return {
        inflight: null,
        failedSeq: Math.max(context.failedSeq, w.seq),
        lastWriteFailed: true,
        failures,
        ...(transient ? { due: true } : {}),
        error: `Could not ${w.kind} your status: ${messageOf(error)}${retry}`,
        ...(revert === undefined ? {} : { desired: revert }),
      };
    }),
    markDue: assign({ due: true }),
    clearBuffer: assign({ buffer: () => [] }),
    notePeer: assign(({ context, event }) => ownRow(context, event as PeerEvent)),
    bufferPeer: ({ context, event }) => bufferPeer(context, event as PeerEvent),
    applyPeer: ({ context, event }) => applyLive(context, event as PeerEvent),
    /** The roster is live: the watcher may apply others' events itself (see `directFeed`). */
    openFeed: ({ context, self }) => childOf(self, 'watchPeers')?.send({ type: 'feed', apply: directFeed(context) } satisfies FeedCommand),
    closeFeed: ({ self }) => childOf(self, 'watchPeers')?.send({ type: 'feed', apply: null } satisfies FeedCommand),
    resetRoster: ({ context, event }) => resetRoster(context, (event as Of<'xstate.done.actor.loadRoster'>).output),
    rosterLoaded: assign(({ context, event }) => ({ loaded: true, buffer: [], ...ownListed(context, (event as Of<'xstate.done.actor.loadRoster'>).output) })),
    listFailed: assign(({ event }) => ({ error: `Could not load who is here: ${messageOf(errorOf(event))}` })),
    linkUp: assign(({ context }) => ({ linkUp: true, error: isLiveUpdatesUnavailable(context.error) ? null : context.error })),
    linkDown: assign({ linkUp: false }),
    /** The link has been down for a while (the connect timeout, or a heartbeat): say the roster now polls. */
    pollInstead: assign(({ context }) => ({ error: liveUpdatesUnavailable(context.heartbeatMs) })),
    noteWarning: assign(({ event }) => ({ warning: (event as Of<'transport.warning'>).reason })),
    forgetRoster: ({ context }) => context.roster.clear(),
    shutDown: assign(({ context }) => ({ due: false, loaded: false, buffer: [], inflight: null, failures: 0, ...(context.restart ? {} : failPending(context)) })),
    // The row is gone: no earlier write's error (nor a retry's) is still true.
    rowRemoved: assign({ hasRow: false, rowVersion: null, confirmed: null, error: null }),
    resetFailures: assign({ failures: 0 }),
    countFailure: assign(({ context }) => ({ failures: context.failures + 1 })),
    // Stopped while another tab of the person is open: the row is theirs now, and this page must
    // not delete it when it goes.
    handOverRow: assign(({ context }) => (context.othersPresent ? { hasRow: false } : {})),
    removeFailed: assign(({ context, event }) => {
      const error = errorOf(event);
      const retry = removeRetries(context, error) ? tryingAgain({ ...context, failures: context.failures + 1 }) : '';
      // A session already gone cannot delete anything: the row lapses at its expiresAt.
      return { failures: context.failures + 1, ...(isSessionGone(error) ? {} : { error: `Could not remove your status: ${messageOf(error)}${retry}` }) };
    }),
    /**
     * The page goes (pagehide) or freezes. Leaving, the person's last tab hands the row to a
     * keepalive DELETE (`sayFarewell`, when `lastWriter`); any other leaves it to the next leader.
     * Frozen, the tab only steps down (its coordinator says bye, the next tab leads): alone, the
     * row stays and lapses unless the page resumes. Either way nothing more is written: a leaving
     * page would otherwise hear its own row's delete event and re-assert it — a ghost until expiry.
     */
    notePageLeft: assign(({ event }, params: { running: boolean }) => ({
      inflight: null,
      restart: false,
      resumable: params.running && (event.type !== 'page.hide' || event.persisted),
    })),
    sayFarewell: spawnChild('removeOnUnload', { id: 'farewell', input: rowInput }),
    handOverToFarewell: assign({ hasRow: false }),
    endFarewell: stopChild('farewell'),
  },
});
