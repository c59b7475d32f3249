/**
 * The session's named parts, declared once for `machine.ts`: effects as actors with inert
 * defaults (the transport, the page and the tab coordinator supply the real ones through
 * `provide()`), named delays, guards and actions. Guards and actions only read and write the
 * context; every rule about WHEN they apply lives in the machine config.
 */
import { assertEvent, assign, enqueueActions, fromCallback, fromPromise, sendTo, spawnChild, stopChild, type CallbackActorLogic, type EventObject, type PromiseActorLogic } from 'xstate';
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
import { applyPeer, bufferPeer, directFeed, hideSelf, isOwn, ownListed, ownRow, publishedMetadata, resetRoster, sampleEventTime, showSelf } from './peers';
import {
  CONNECT_TIMEOUT_MS,
  DEFAULT_HEARTBEAT_MS,
  HIDDEN_HEARTBEAT_MIN_MS,
  isSessionGone,
  isTransient,
  lifetimeIsOff,
  QUIET_TIMEOUT_MS,
  removeRetries,
  retryDelay,
  tryingAgain,
  ttlOf,
} from './policy';
import { effectiveStatus } from './selectors';
import type { EffectEvent, SessionContext, SessionEvent, SessionInput, StartOptions, TabsCommand, Wish } from './types';

/** Input of the `coordinateTabs` actor: whose tabs, and whether this page is hidden now. */
export interface TabsInput {
  userId: string;
  hidden: boolean;
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
    coordinateTabs: fromCallback<TabsCommand, TabsInput>(({ sendBack, receive }) => {
      sendBack({ type: 'tabs.role', leader: true, othersPresent: false });
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
  },
  guards: {
    startInvalid: ({ context, event }) => startProblem(startOptions(context, event)) !== null,
    setInvalid: ({ context, event }) => event.type === 'session.set' && setProblem(context, event.status, event.metadata) !== null,
    autoAway: ({ context }) => context.auto,
    startRescopes: ({ context, event }) => {
      const teamId = startOptions(context, event).teamId;
      return startProblem(startOptions(context, event)) === null && teamId !== undefined && teamId !== context.teamId;
    },
    teamDiffers: ({ context, event }) => event.type === 'team.changed' && event.teamId !== context.teamId,
    noSession: ({ event }) => event.type === 'xstate.done.actor.identify' && event.output === null,
    entersCleared: ({ context }) => context.desired === null,
    entersAway: ({ context }) => context.hidden && context.auto,
    resumes: ({ context, event }) => event.type === 'identity.changed' && context.wanted && event.identity !== null,
    signsOut: ({ event }) => event.type === 'identity.changed' && event.identity === null,
    sameUser: ({ context, event }) =>
      event.type === 'identity.changed' && event.identity !== null && event.identity.userId === context.identity?.userId,
    signedOut: ({ context }) => context.identity === null,
    unwanted: ({ context }) => !context.wanted,
    ownPeer: ({ context, event }) => (event.type === 'peer.upserted' || event.type === 'peer.deleted') && isOwn(context, event),
    removesOldRow: ({ context }) => context.hasRow && (context.leader || !context.othersPresent),
    // A refused write undoes the person's choice; one refused because the session is gone is a
    // sign-out instead (the writer handles it).
    failureReverts: ({ context, event }) => !isSessionGone(errorOf(event)) && revertsTo(context, isTransient(errorOf(event))) !== undefined,
    sessionGone: ({ event }) => isSessionGone(errorOf(event)),
    publishDue: ({ context }) => context.leader && context.due && context.desired !== null && context.identity !== null,
    removeDue: ({ context }) => context.leader && context.due && context.desired === null && context.hasRow,
    beats: ({ context }) => context.leader && context.desired !== null,
    beatsHidden: ({ context }) => context.leader && context.desired !== null && context.hidden,
    silent: ({ context }) => !context.leader || context.desired === null,
    writeSettled: ({ context }) => context.inflight === null,
    // Alone, or signing out (here or in another tab): the row goes; else another tab keeps it.
    removesOnStop: ({ context }) => context.hasRow && !context.restart && (!context.othersPresent || context.leaving !== null),
    // Signing out here: any tab may delete (it holds the same session); otherwise only the writer.
    removesOnLeave: ({ context }) => context.hasRow && (context.leaving === 'here' || context.leader || !context.othersPresent),
    notAnnouncing: ({ context }) => context.leaving !== 'here',
    yielded: ({ context }) => context.leaving === 'there',
    removeRetries: ({ context, event }) => removeRetries(context, errorOf(event)),
    restartRequested: ({ context }) => context.restart,
    resumable: ({ context }) => context.resumable,
    linkDown: ({ context }) => !context.linkUp,
  },
  actions: {
    rejectStart: assign(({ context, event }) => ({ error: startProblem(startOptions(context, event)) })),
    rejectSet: assign(({ context, event }) => (event.type === 'session.set' ? { error: setProblem(context, event.status, event.metadata) } : {})),
    notRunning: assign({ error: NOT_RUNNING }),
    reportError: assign(({ event }) => (event.type === 'session.error' ? { error: event.message } : {})),
    freshStart: assign(({ context, event }) => {
      const o = startOptions(context, event);
      return {
        ...accepted(context, { status: o.status ?? 'online', metadata: {} }),
        auto: o.auto ?? true,
        heartbeatMs: o.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
        teamId: o.teamId === undefined ? context.teamId : o.teamId,
        wanted: true,
      };
    }),
    reapplyStart: assign(({ context, event }) => {
      const o = startOptions(context, event);
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
    /** Tell the person's other tabs what they chose here, now or as soon as the coordinator runs. */
    shareWish: enqueueActions(({ context, event, enqueue }) => {
      const wish = wishOf(context, event);
      if (wish === undefined) return;
      if (context.tabsOf === null) enqueue.assign({ unshared: true });
      else enqueue.sendTo('tabs', { type: 'wish', wish } satisfies TabsCommand);
    }),
    noteVisibility: assign(({ context, event }) => {
      const hidden = event.type === 'tab.hidden';
      return { hidden, due: context.due || hidden !== context.hidden };
    }),
    /** This page's visibility: the coordinator turns it into the person's; alone, it is the person's. */
    notePage: enqueueActions(({ context, event, enqueue }) => {
      const hidden = event.type === 'page.hidden';
      enqueue.assign({ pageHidden: hidden });
      if (context.tabsOf !== null) enqueue.sendTo('tabs', { type: 'visibility', visible: !hidden } satisfies TabsCommand);
      else enqueue.assign({ hidden, due: context.due || hidden !== context.hidden });
    }),
    noteRole: assign(({ context, event }) => {
      assertEvent(event, 'tabs.role');
      return { leader: event.leader, othersPresent: event.othersPresent, due: context.due || (event.leader && !context.leader) };
    }),
    /** Join the identity's tabs: a new identity gets a new coordinator, started here, because the machine says so. */
    startTabs: enqueueActions(({ context, enqueue }) => {
      const userId = context.identity?.userId ?? null;
      if (userId === context.tabsOf) return;
      if (context.tabsOf !== null) enqueue.stopChild('tabs');
      // Nobody writes until the coordinator has said who leads: a follower's first write would
      // otherwise overwrite the leader's status for a heartbeat.
      enqueue.assign({ tabsOf: userId, leader: false, othersPresent: false, unshared: false });
      if (userId === null) return;
      enqueue.spawnChild('coordinateTabs', { id: 'tabs', input: { userId, hidden: context.pageHidden } });
      if (context.unshared) enqueue.sendTo('tabs', { type: 'wish', wish: context.desired ?? 'cleared' } satisfies TabsCommand);
    }),
    stopTabs: enqueueActions(({ context, enqueue }) => {
      if (context.tabsOf === null) return;
      enqueue.stopChild('tabs');
      enqueue.assign({ tabsOf: null });
    }),
    announceSignOut: enqueueActions(({ context, enqueue }) => {
      if (context.leaving === 'here' && context.tabsOf !== null) enqueue.sendTo('tabs', { type: 'signout' } satisfies TabsCommand);
    }),
    answerQuiet: enqueueActions(({ context, enqueue }) => {
      if (context.tabsOf !== null) enqueue.sendTo('tabs', { type: 'quiet' } satisfies TabsCommand);
    }),
    answerIfYielded: enqueueActions(({ context, enqueue }) => {
      if (context.leaving === 'there' && context.tabsOf !== null) enqueue.sendTo('tabs', { type: 'quiet' } satisfies TabsCommand);
    }),
    noteTeam: assign(({ context, event }) => {
      assertEvent(event, 'team.changed');
      return { teamId: event.teamId, due: context.due || event.teamId !== context.teamId };
    }),
    rescope: assign(({ context, event }) => {
      const teamId = event.type === 'team.changed' ? event.teamId : (startOptions(context, event).teamId ?? null);
      return { teamId, loaded: false, due: true };
    }),
    leaveTeam: assign(({ event }) => {
      assertEvent(event, 'team.changed');
      return { teamId: event.teamId, loaded: false, due: true, leaving: 'team' as const };
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
    leaveIdentity: assign(({ event }) => {
      assertEvent(event, 'identity.changed');
      return { identity: event.identity, wanted: true, leaving: 'here' as const };
    }),
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
      // A refusal (4xx) would be refused again; anything else is kept and written again soon.
      const transient = isTransient(event.error);
      const revert = revertsTo(context, transient);
      const failures = transient ? context.failures + 1 : 0;
      const retry = transient ? tryingAgain({ ...context, failures }, 'kept; ') : '';
      return {
        inflight: null,
        failedSeq: Math.max(context.failedSeq, w.seq),
        lastWriteFailed: true,
        failures,
        ...(transient ? { due: true } : {}),
        error: `Could not ${w.kind} your status: ${messageOf(event.error)}${retry}`,
        ...(revert === undefined ? {} : { desired: revert }),
      };
    }),
    markDue: assign({ due: true }),
    clearBuffer: assign({ buffer: () => [] }),
    notePeer: assign(({ context, event }) => (event.type === 'peer.upserted' || event.type === 'peer.deleted' ? ownRow(context, event) : {})),
    bufferPeer: ({ context, event }) => {
      if (event.type === 'peer.upserted' || event.type === 'peer.deleted') bufferPeer(context, event);
    },
    applyPeer: ({ context, event }) => {
      if (event.type !== 'peer.upserted' && event.type !== 'peer.deleted') return;
      sampleEventTime(context, event);
      applyPeer(context, event);
    },
    /** The roster is live: the watcher may apply others' events itself (see `directFeed`). */
    openFeed: sendTo('watchPeers', ({ context }): FeedCommand => ({ type: 'feed', apply: directFeed(context) })),
    closeFeed: sendTo('watchPeers', { type: 'feed', apply: null } satisfies FeedCommand),
    resetRoster: ({ context, event }) => {
      assertEvent(event, 'xstate.done.actor.loadRoster');
      resetRoster(context, event.output);
    },
    rosterLoaded: assign(({ context, event }) => {
      assertEvent(event, 'xstate.done.actor.loadRoster');
      return { loaded: true, buffer: [], ...ownListed(context, event.output) };
    }),
    listFailed: assign(({ event }) => ({ error: `Could not load who is here: ${messageOf(errorOf(event))}` })),
    linkUp: assign(({ context }) => ({ linkUp: true, error: isLiveUpdatesUnavailable(context.error) ? null : context.error })),
    linkDown: assign({ linkUp: false }),
    /** The link has been down for a while (the connect timeout, or a heartbeat): say the roster now polls. */
    pollInstead: assign(({ context }) => ({ error: liveUpdatesUnavailable(context.heartbeatMs) })),
    noteWarning: assign(({ event }) => (event.type === 'transport.warning' ? { warning: event.reason } : {})),
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
     * keepalive DELETE; any other leaves it to the next leader. Frozen, the tab only steps down
     * (its coordinator says bye, the next tab leads): alone, the row stays and lapses unless the
     * page resumes. Either way nothing more is written: a leaving page would otherwise hear its own
     * row's delete event and re-assert it — a ghost until expiry.
     */
    leavePage: enqueueActions(({ context, event, enqueue }, params: { running: boolean }) => {
      const leaving = event.type === 'page.hide';
      if (leaving && context.presenceId !== null && context.hasRow && context.leader && !context.othersPresent) {
        enqueue.spawnChild('removeOnUnload', { id: 'farewell', input: { presenceId: context.presenceId } });
        enqueue.assign({ hasRow: false });
      }
      enqueue.stopChild('write');
      enqueue(() => hideSelf(context));
      enqueue.assign({ inflight: null, restart: false, resumable: params.running && (!leaving || event.persisted) });
    }),
    endFarewell: stopChild('farewell'),
  },
});
