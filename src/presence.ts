/**
 * `createPresence()`: the one core behind `$presence`, `window.ManifestPresence` and advanced apps.
 * A thin shell: it creates the session actor, provides its effects (the transport, the page, the
 * person's tabs) and exposes commands and a view. Every lifecycle rule is the machine's; commands
 * send events, resolve with what the machine says, and never throw.
 */
import { createActor, fromCallback, fromPromise, type ActorRefFrom, type EventObject, type InspectionEvent } from 'xstate';
import { ServerClock } from './machines/clock';
import { Roster } from './machines/roster';
import {
  commandOutcome,
  selectError,
  selectMe,
  selectReady,
  selectSeq,
  sessionMachine,
  signOutOutcome,
  type SessionEvent,
  type SessionSnapshot,
  type StartOptions,
} from './machines/session';
import { browserEffects, type DocumentLike, type TabsPlatformOptions, type WindowLike } from './platform';
import { messageOf } from './errors';
import { isRecord, type PresenceRecord } from './records';
import type { Identity, Metadata, RemoveInput, Transport } from './transport/types';

export type { StartOptions } from './machines/session';

export interface PresenceOptions extends StartOptions {
  transport: Transport;
  /** Who is signed in; defaults to the transport's own lookup (`account.get()`). */
  identify?: () => Promise<Identity | null> | Identity | null;
  /** Team to scope to (readable by that team only). Default none: readable by signed-in users. */
  teamId?: string | null;
  /**
   * Coordinate the person's tabs in this browser (BroadcastChannel + Web Locks, where the page has
   * them) under `key` — default the transport's project — or false for none.
   */
  tabs?: (Partial<Pick<TabsPlatformOptions, 'key'>> & Omit<TabsPlatformOptions, 'key'>) | false;
  /** The page's document and window for visibility, pagehide and freeze; null to ignore. Default globals. */
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
  /** Before signing out: remove the person's row everywhere while the session still works. True once it is gone. */
  beforeSignOut(): Promise<boolean>;
  of(userId: string): PresenceRecord | null;
  all(): PresenceRecord[];
  view(): PresenceView;
  /** Bumps whenever `list`/`records` changed. */
  rosterVersion(): number;
  /** Called after any change of the view; returns the unsubscribe. */
  subscribe(listener: () => void): () => void;
  /** Manifest and other auth layers: the signed-in person changed (null: signed out). */
  setIdentity(identity: Identity | null): void;
  /** Re-scope to a team (null: no team). */
  setTeam(teamId: string | null): void;
  /** Stop everything and release listeners, sockets and timers. */
  dispose(): void;
}

const COMMAND_TIMEOUT_MS = 20_000;

/**
 * The presence core for one page.
 *
 * @example
 * import * as Appwrite from 'appwrite';
 * import { createPresence, createAppwriteTransport } from 'appwrite-presence';
 *
 * const client = new Appwrite.Client().setEndpoint('https://cloud.appwrite.io/v1').setProject('my-project');
 * const presence = createPresence({ transport: createAppwriteTransport({ client, sdk: Appwrite }) });
 * presence.actor.subscribe((snapshot) => console.log(snapshot.value));
 * await presence.start({ status: 'online' });
 * presence.all(); // [{ userId, status, metadata, color, lastSeen, expiresAt }, …]
 */
export function createPresence(options: PresenceOptions): PresenceController {
  const { transport, identify, tabs } = options;
  const listeners = new Set<() => void>();
  // The roster changes inside the machine's actions, before the actor commits its snapshot:
  // listeners hear once, after both, so `me` and our own record never disagree.
  const notify = batched(listeners);
  const clock = new ServerClock();
  const roster = new Roster({ clock, onChange: notify });
  const machine = sessionMachine.provide({
    actors: {
      ...transport.actors,
      removeOnUnload: fromCallback<EventObject, RemoveInput>(({ input }) => void transport.removeOnUnload(input.presenceId)),
      ...(identify ? { identify: fromPromise<Identity | null, void>(async () => identify()) } : {}),
      ...browserEffects({
        document: options.document,
        window: options.window,
        tabs: tabs === false ? false : { ...tabs, key: tabs?.key ?? transport.scope ?? 'default' },
      }),
    },
  });
  // Without a document (Node, SSR) no input can come: nobody goes idle unless asked to.
  const { auto, status, heartbeatMs, idleMs = (options.document === undefined ? globalThis.document : options.document) ? undefined : 0 } = options;
  const actor = createActor(machine, {
    input: { roster, clock, random: options.random, defaults: { auto, status, heartbeatMs, idleMs }, teamId: options.teamId ?? null, checkMetadata: transport.checkMetadata },
    inspect: options.inspect,
  });
  // One view per change of `me`, `ready` or `error` (built only then: most snapshots are others'
  // events); list and records are read on demand, so a binding that only needs `me` builds neither.
  const viewOf = (me: string | null, ready: boolean, error: string | null): PresenceView => ({
    get list() {
      return roster.list();
    },
    get records() {
      return roster.records();
    },
    me,
    ready,
    error,
  });
  // Not started yet: idle, nobody shown, no error.
  let shown = viewOf(null, false, null);
  actor.subscribe((snapshot) => {
    const me = selectMe(snapshot);
    const ready = selectReady(snapshot);
    const error = selectError(snapshot);
    if (me !== shown.me || ready !== shown.ready || error !== shown.error) notify((shown = viewOf(me, ready, error)));
  });
  actor.start();

  const send = (event: SessionEvent) => actor.send(event);
  const answer = (outcome: (snapshot: SessionSnapshot) => boolean | undefined, ms?: number) => firstAnswer(actor, outcome, ms);
  /** Send a command: its number when the machine accepted it, null when it refused it (see `error`). */
  const accept = (event: SessionEvent): number | null => {
    const before = selectSeq(actor.getSnapshot());
    send(event);
    const seq = selectSeq(actor.getSnapshot());
    return seq === before ? null : seq;
  };
  /** A command's answer: false at once when refused, else the outcome of the write that carries it. */
  const command = async (event: SessionEvent): Promise<boolean> => {
    const seq = accept(event);
    return seq !== null && answer((snapshot) => commandOutcome(snapshot, seq), COMMAND_TIMEOUT_MS);
  };

  return {
    actor,
    async start(startOptions) {
      const read = readOptions(startOptions);
      if (typeof read === 'string') return send({ type: 'session.error', message: read }), false;
      if (accept({ type: 'session.start', options: read }) === null) return false;
      return answer((s) => (selectReady(s) ? true : atRest(s) ? false : undefined));
    },
    set: (status, metadata) => command({ type: 'session.set', status, metadata }),
    clear: () => command({ type: 'session.clear' }),
    async stop() {
      send({ type: 'session.stop' });
      return answer((s) => (s.matches('stopping') || s.matches('switching') ? undefined : atRest(s)));
    },
    async beforeSignOut() {
      send({ type: 'session.signOut' });
      return answer(signOutOutcome);
    },
    of: (userId) => (typeof userId === 'string' ? roster.get(userId) : null),
    all: () => roster.list(),
    view: () => shown,
    rosterVersion: () => roster.version,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    setIdentity: (identity) => send({ type: 'identity.changed', identity }),
    setTeam: (teamId) => send({ type: 'team.changed', teamId }),
    dispose() {
      if (actor.getSnapshot().status !== 'active') return; // disposed already
      send({ type: 'session.stop' });
      actor.stop();
      roster.clear();
      transport.dispose();
      listeners.clear();
    },
  };
}

/** Not running: never started, or stopped. */
const atRest = (snapshot: SessionSnapshot) => snapshot.matches('idle') || snapshot.matches('stopped');

/** Calls every listener once per microtask, however many changes came within it. */
function batched(listeners: Set<() => void>): (..._: unknown[]) => void {
  let queued = false;
  // One flush function for the controller's life: a peer event costs no closure of its own.
  const flush = () => {
    queued = false;
    for (const listener of listeners) listener();
  };
  return () => {
    if (queued) return;
    queued = true;
    queueMicrotask(flush);
  };
}

/** The first defined `outcome` of the current snapshot or of a later one; false after `ms` without one. */
function firstAnswer(actor: PresenceActor, outcome: (snapshot: SessionSnapshot) => boolean | undefined, ms?: number): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (value: boolean) => {
      clearTimeout(timer);
      subscription.unsubscribe();
      resolve(value);
    };
    const check = (snapshot: SessionSnapshot) => {
      const value = outcome(snapshot);
      if (value !== undefined) done(value);
    };
    const timer = ms === undefined ? undefined : setTimeout(() => done(false), ms);
    const subscription = actor.subscribe(check);
    check(actor.getSnapshot());
  });
}

/**
 * Options come from markup: copy the known keys once, defensively (a getter may throw). Anything
 * but an object goes to the machine as it is, which refuses it with the reason.
 */
function readOptions(options: unknown): StartOptions | undefined | string {
  if (!isRecord(options)) return options as StartOptions | undefined;
  try {
    const { auto, status, heartbeatMs, idleMs } = options as StartOptions;
    return { auto, status, heartbeatMs, idleMs };
  } catch (error) {
    return `start() options could not be read: ${messageOf(error)}`;
  }
}
