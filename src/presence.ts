/**
 * `createPresence()`: the session actor with its roster, server clock, tab coordination and page
 * listeners wired together — the one core behind `$presence`, `window.ManifestPresence` and
 * advanced apps. Commands return promises of booleans and never throw: bad input and failures
 * land in `error`. Browser pieces (visibility, pagehide, freeze, tabs) are optional and injected, so the
 * same core runs in Node tests, happy-dom and real pages.
 */
import { createActor, fromPromise, type ActorRefFrom, type InspectionEvent } from 'xstate';
import { ServerClock } from './machines/clock';
import { Roster } from './machines/roster';
import {
  commandOutcome,
  selectError,
  selectMe,
  selectReady,
  selectSeq,
  sessionMachine,
  startProblem,
  type SessionContext,
  type SessionEvent,
  type SessionSnapshot,
} from './machines/session';
import {
  createTabCoordinator,
  isVisible,
  onFreeze,
  onPageHide,
  onPageShow,
  watchVisibility,
  type DocumentLike,
  type TabCoordinator,
  type TabCoordinatorOptions,
  type WindowLike,
} from './bindings/browser';
import { checkMetadata, checkStatus, type PresenceRecord } from './records';
import type { Identity, Metadata, Transport } from './transport/types';

/** Options of `start()`; the manifest's `presence` block gives the same keys as defaults. */
export interface StartOptions {
  /** Flip to `away` while none of the person's tabs is visible. Default true. */
  auto?: boolean;
  /** Status published when tracking begins. Default "online". */
  status?: string;
  /** Heartbeat period in ms. Default 25 000. */
  heartbeatMs?: number;
}

export interface PresenceOptions extends StartOptions {
  transport: Transport;
  /** Who is signed in; defaults to the transport's own lookup (`account.get()`). */
  identify?: () => Promise<Identity | null> | Identity | null;
  /** Team to scope to (readable by that team only). Default none: readable by signed-in users. */
  teamId?: string | null;
  /**
   * Coordinate the person's tabs in this browser under this key (e.g. the project id), or false.
   * Default: coordinate when the page has BroadcastChannel and Web Locks.
   */
  tabs?: { key: string } & Omit<TabCoordinatorOptions, 'key'> | false;
  /** The page's document and window for visibility and pagehide; null to ignore. Default globals. */
  document?: DocumentLike | null;
  window?: WindowLike | null;
  /** XState inspection, for debugging tools. */
  inspect?: (event: InspectionEvent) => void;
  /** Random source for heartbeat jitter (tests). */
  random?: () => number;
}

/** What `$presence` shows; every field is read-only data. */
export interface PresenceView {
  list: PresenceRecord[];
  records: Record<string, PresenceRecord>;
  me: string | null;
  ready: boolean;
  error: string | null;
}

export type PresenceActor = ActorRefFrom<typeof sessionMachine>;

export interface PresenceController {
  /** The XState actor, for advanced apps: subscribe to snapshots, send events, inspect. */
  readonly actor: PresenceActor;
  start(options?: StartOptions): Promise<boolean>;
  set(status: string, metadata?: Metadata): Promise<boolean>;
  clear(): Promise<boolean>;
  stop(): Promise<boolean>;
  of(userId: string): PresenceRecord | null;
  all(): PresenceRecord[];
  view(): PresenceView;
  /** Bumps whenever `list`/`records` changed. */
  rosterVersion(): number;
  /** Called synchronously after any change of the view; returns the unsubscribe. */
  subscribe(listener: () => void): () => void;
  /** Manifest and other auth layers: the signed-in person changed (null: signed out). */
  setIdentity(identity: Identity | null): void;
  /** Re-scope to a team (null: no team). */
  setTeam(teamId: string | null): void;
  /** Remove our row while the session still works (before a sign-out). */
  beforeSignOut(): Promise<void>;
  /** Stop everything and release listeners, sockets and timers. */
  dispose(): void;
}

const COMMAND_TIMEOUT_MS = 20_000;

/**
 * The presence core for one page.
 *
 * @example
 * import { Client } from 'appwrite';
 * import * as Appwrite from 'appwrite';
 * import { createPresence, createAppwriteTransport } from 'appwrite-presence';
 *
 * const client = new Client().setEndpoint('https://cloud.appwrite.io/v1').setProject('my-project');
 * const presence = createPresence({ transport: createAppwriteTransport({ client, sdk: Appwrite }) });
 * presence.actor.subscribe((snapshot) => console.log(snapshot.value));
 * await presence.start({ status: 'online' });
 * presence.all(); // [{ userId, status, metadata, color, lastSeen, expiresAt }, …]
 */
export function createPresence(options: PresenceOptions): PresenceController {
  const listeners = new Set<() => void>();
  // The roster changes inside the machine's actions, before the actor commits its snapshot:
  // listeners hear once, after both, so `me` and our own record never disagree.
  let queued = false;
  const notify = () => {
    if (queued) return;
    queued = true;
    queueMicrotask(() => {
      queued = false;
      for (const listener of listeners) listener();
    });
  };
  const clock = new ServerClock();
  const roster = new Roster({ clock, onChange: notify });
  const { transport } = options;
  const identify = options.identify;
  const machine = sessionMachine.provide({
    actors: {
      ...transport.actors,
      ...(identify ? { identify: fromIdentify(identify) } : {}),
    },
  });
  const actor = createActor(machine, {
    input: { roster, clock, random: options.random },
    inspect: options.inspect,
  });

  // Tabs are coordinated per (key, user): a new identity gets a new coordinator.
  let tabs: TabCoordinator | null = null;
  let tabsUserId: string | null = null;
  let teamSet = false;
  let last = { me: null as string | null, ready: false, error: null as string | null };
  actor.subscribe((snapshot) => {
    const next = { me: selectMe(snapshot), ready: selectReady(snapshot), error: selectError(snapshot) };
    if (next.me !== last.me || next.ready !== last.ready || next.error !== last.error) {
      last = next;
      notify();
    }
    followIdentity(snapshot.context.identity);
  });
  actor.start();

  const send = (event: SessionEvent) => actor.send(event);
  const fail = (message: string) => {
    send({ type: 'session.error', message });
    return false;
  };

  // Page visibility, straight from the document unless tabs aggregate it for the person.
  const doc = options.document === undefined ? (globalThis.document as DocumentLike | undefined) : options.document;
  const win = options.window === undefined ? (globalThis.window as WindowLike | undefined) : options.window;
  const cleanups: (() => void)[] = [];
  if (doc) {
    cleanups.push(
      watchVisibility(doc, (visible) => {
        if (!tabs) send({ type: visible ? 'tab.visible' : 'tab.hidden' });
      }),
    );
    // A page opened in the background starts hidden, and no visibilitychange will say so.
    if (!isVisible(doc)) send({ type: 'tab.hidden' });
  }
  let resume: SessionEvent[] | null = null;
  /** The page has been handed over (pagehide or freeze) and not shown again yet. */
  let left = false;
  if (win) cleanups.push(onPageHide(win, ({ persisted }) => leavePage(persisted)), onPageShow(win, showPageAgain));
  // A frozen tab runs nothing: were it the writer, the person's other tabs would wait on it in vain.
  if (doc) cleanups.push(onFreeze(doc, () => leavePage(true, true), showPageAgain));

  function followIdentity(identity: Identity | null) {
    const userId = identity?.userId ?? null;
    if (userId === tabsUserId || options.tabs === false) return;
    tabs?.dispose();
    tabs = null;
    tabsUserId = userId;
    if (!userId || !options.tabs) return;
    const { key, ...rest } = options.tabs;
    tabs = createTabCoordinator({ document: doc ?? null, window: null, ...rest, key: `${key}:${userId}` });
    tabs.subscribe((event) => {
      if (event.type === 'role') send({ type: 'tabs.role', leader: event.leader, othersPresent: event.othersPresent });
      else if (event.type === 'visibility') send({ type: event.anyVisible ? 'tab.visible' : 'tab.hidden' });
      else if (event.wish === 'cleared') send({ type: 'session.clear', remote: true });
      else send({ type: 'session.set', status: event.wish.status, metadata: event.wish.metadata, remote: true });
    });
  }

  /**
   * The page is going away, or the browser freezes it. Leaving, the last tab hands our row to a
   * keepalive DELETE; any other leaves it to the next leader. Frozen, the tab only steps down: the
   * Web Lock goes to the person's next tab, which writes from then on; with no other tab the row
   * stays (the person is still there, hidden) and lapses at its expiresAt unless the page resumes.
   * Either way the session writes nothing more: a leaving page would otherwise hear its own row's
   * delete event and re-assert the row — a ghost until expiry. Entering the back/forward cache
   * fires pagehide then freeze: the first one counts.
   */
  function leavePage(persisted: boolean, frozen = false) {
    if (left) return;
    left = true;
    const snapshot = actor.getSnapshot();
    const { presenceId, leader, hasRow } = snapshot.context;
    const last = tabs ? tabs.isLastTab() : true;
    if (!frozen && presenceId && leader && hasRow && last) transport.removeOnUnload(presenceId);
    tabs?.leave();
    // A page kept in the back/forward cache resumes where it was when it is shown again.
    const wasRunning = !snapshot.matches('idle') && !snapshot.matches('stopped') && !snapshot.matches('stopping');
    resume = persisted && wasRunning ? resumeCommands(snapshot.context) : null;
    send({ type: 'session.unload' });
  }

  /** Shown again from the back/forward cache, or resumed after a freeze (both, in that order, from the cache). */
  function showPageAgain() {
    if (!left) return;
    left = false;
    const commands = resume;
    resume = null;
    // The old coordinator said bye; this tab joins the person's tabs afresh (at once when the
    // session resumes, else with the next identity it tracks).
    tabs?.dispose();
    tabs = null;
    tabsUserId = null;
    for (const command of commands ?? []) send(command);
  }

  /**
   * Send a command; resolve with its outcome: false at once when the machine refused it (not
   * running), else true/false when the write that carries it settled. `share` tells the other
   * tabs about an accepted command.
   */
  function command(event: SessionEvent, share: () => void): Promise<boolean> {
    const before = selectSeq(actor.getSnapshot());
    send(event);
    const seq = selectSeq(actor.getSnapshot());
    if (seq === before) return Promise.resolve(false);
    share();
    return answer((snapshot) => commandOutcome(snapshot, seq), COMMAND_TIMEOUT_MS);
  }

  /** start()'s answer: true once ready, false when the session ended up idle or stopped instead. */
  function whenReady(): Promise<boolean> {
    return answer((snapshot) => (selectReady(snapshot) ? true : snapshot.matches('idle') || snapshot.matches('stopped') ? false : undefined));
  }

  /**
   * The first defined `outcome` of the current snapshot or of a later one; false after `ms`
   * without one.
   */
  function answer(outcome: (snapshot: SessionSnapshot) => boolean | undefined, ms?: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(() => done(false), ms);
      const subscription = actor.subscribe((snapshot) => check(snapshot));
      function check(snapshot: SessionSnapshot) {
        const value = outcome(snapshot);
        if (value !== undefined) done(value);
      }
      function done(value: boolean) {
        clearTimeout(timer);
        subscription.unsubscribe();
        resolve(value);
      }
      check(actor.getSnapshot());
    });
  }

  const controller: PresenceController = {
    actor,
    async start(startOptions = {}) {
      let merged: StartOptions;
      try {
        // Options come from markup: read them once, defensively (a getter may throw).
        const problem = startProblem(startOptions);
        if (problem) return fail(problem);
        merged = { auto: options.auto, status: options.status, heartbeatMs: options.heartbeatMs, ...clean(startOptions) };
        const defaultsProblem = startProblem(merged);
        if (defaultsProblem) return fail(defaultsProblem);
      } catch (error) {
        return fail(`start() options could not be read: ${error instanceof Error ? error.message : String(error)}`);
      }
      // The team follows setTeam() once it was called; the option is only the first scope.
      const teamId = teamSet ? actor.getSnapshot().context.teamId : (options.teamId ?? null);
      send({ type: 'session.start', options: { ...merged, teamId } });
      return whenReady();
    },
    async set(status, metadata) {
      const problem = checkStatus(status) ?? checkMetadata(metadata) ?? transport.checkMetadata?.(metadata) ?? null;
      if (problem) return fail(problem);
      const wish = { status, metadata: (metadata ?? {}) as Metadata };
      return command({ type: 'session.set', ...wish }, () => tabs?.shareWish(wish));
    },
    async clear() {
      return command({ type: 'session.clear' }, () => tabs?.shareWish('cleared'));
    },
    async stop() {
      send({ type: 'session.stop' });
      const stopped = await answer((snapshot) => (snapshot.matches('stopping') ? undefined : snapshot.matches('stopped') || snapshot.matches('idle')));
      tabs?.leave();
      tabs = null;
      tabsUserId = null;
      return stopped;
    },
    of: (userId) => (typeof userId === 'string' ? roster.get(userId) : null),
    all: () => roster.list(),
    // list and records are read on demand: a binding that only needs `me` builds neither.
    view: () => ({
      get list() {
        return roster.list();
      },
      get records() {
        return roster.records();
      },
      me: last.me,
      ready: last.ready,
      error: last.error,
    }),
    rosterVersion: () => roster.version,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    setIdentity: (identity) => send({ type: 'identity.changed', identity }),
    setTeam: (teamId) => {
      teamSet = true;
      if ((actor.getSnapshot().context.teamId ?? null) !== teamId) send({ type: 'team.changed', teamId });
    },
    async beforeSignOut() {
      // Sign out now, through the machine: it removes our row while the session still works
      // and waits in `idle` to resume as whoever signs in next.
      if (!actor.getSnapshot().matches('tracking')) return;
      send({ type: 'identity.changed', identity: null });
      await answer((snapshot) => (snapshot.matches('switching') ? undefined : true));
    },
    dispose() {
      actor.send({ type: 'session.stop' });
      tabs?.dispose();
      for (const cleanup of cleanups) cleanup();
      actor.stop();
      roster.clear();
      transport.dispose();
      listeners.clear();
    },
  };
  return controller;
}

function fromIdentify(identify: NonNullable<PresenceOptions['identify']>) {
  return fromPromise<Identity | null, void>(async () => identify());
}

/** What brings a session back as it was: the same options, team, and chosen status (or none). */
function resumeCommands(context: SessionContext): SessionEvent[] {
  const { auto, heartbeatMs, teamId, desired } = context;
  const start: SessionEvent = { type: 'session.start', options: { auto, heartbeatMs, teamId, ...(desired ? { status: desired.status } : {}) } };
  if (!desired) return [start, { type: 'session.clear' }];
  return Object.keys(desired.metadata).length > 0 ? [start, { type: 'session.set', ...desired }] : [start];
}

function clean(options: StartOptions): StartOptions {
  const out: StartOptions = {};
  if (options && typeof options === 'object') {
    if (options.auto !== undefined) out.auto = options.auto;
    if (options.status !== undefined) out.status = options.status;
    if (options.heartbeatMs !== undefined) out.heartbeatMs = options.heartbeatMs;
  }
  return out;
}
