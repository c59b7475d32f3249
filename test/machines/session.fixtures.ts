/**
 * A fake transport for the session machine: every effect is a deferred the test settles by hand,
 * keyed by the actor id the machine gives it (`identify`, `loadRoster`, `write`, `removeRow`), and
 * `watchPeers` is a callback actor whose `sendBack` the test drives. Like the Appwrite transport,
 * it honours the session's direct feed (`FeedCommand`) unless told not to (`feed: false`): while
 * the roster is live, others' peer events go to the feed instead. Nothing here knows Appwrite.
 */
import { createActor, fromCallback, fromPromise, type EventObject, type InspectionEvent } from 'xstate';
import { ServerClock } from '../../src/machines/clock';
import { Roster } from '../../src/machines/roster';
import { sessionMachine, type SessionEvent, type TabsCommand, type TabsInput } from '../../src/machines/session';
import type {
  FeedCommand,
  Identity,
  LoadRosterInput,
  LoadRosterOutput,
  PeerDoc,
  PublishInput,
  PublishOutput,
  RemoveInput,
  TransportEvent,
  WatchPeersInput,
} from '../../src/transport/types';
import { deferred, type Deferred } from '../support/paths';

interface Inputs {
  identify: void;
  loadRoster: LoadRosterInput;
  publish: PublishInput;
  remove: RemoveInput;
}

interface CallOf<S extends keyof Inputs> {
  /** Actor id: identify | loadRoster | write | removeRow. */
  id: string;
  src: S;
  input: Inputs[S];
  /** Date.now() when the effect started. */
  at: number;
  deferred: Deferred<unknown>;
  settled: boolean;
  aborted: boolean;
}

export type Call = CallOf<keyof Inputs>;

/** Narrows a call to one effect (its input typed). */
export function isCallOf<S extends keyof Inputs>(call: Call | undefined, src: S): call is CallOf<S> {
  return call?.src === src;
}

type Feed = NonNullable<FeedCommand['apply']>;

export function fakeTransport(options: { feed?: boolean } = {}) {
  const calls: Call[] = [];
  let watching: { sendBack: (event: EventObject) => void; input: WatchPeersInput; feed: Feed | null } | null = null;
  let watchers = 0;
  let watchStarts = 0;

  function effect<O, S extends keyof Inputs>(src: S) {
    return fromPromise<O, Inputs[S]>(({ input, self, signal }) => {
      const call: CallOf<S> = { id: self.id, src, input, at: Date.now(), deferred: deferred<unknown>(), settled: false, aborted: false };
      signal.addEventListener('abort', () => (call.aborted = true));
      calls.push(call);
      // The test answers with whatever the step under test carries (typed by the test, not here).
      return call.deferred.promise as Promise<O>;
    });
  }

  const actors = {
    identify: effect<Identity | null, 'identify'>('identify'),
    loadRoster: effect<LoadRosterOutput, 'loadRoster'>('loadRoster'),
    publish: effect<PublishOutput, 'publish'>('publish'),
    remove: effect<void, 'remove'>('remove'),
    watchPeers: fromCallback<EventObject, WatchPeersInput>(({ sendBack, input, receive }) => {
      watchers++;
      watchStarts++;
      const me: NonNullable<typeof watching> = { sendBack, input, feed: null };
      watching = me;
      receive((command) => {
        if (command.type === 'feed' && options.feed !== false) me.feed = (command as FeedCommand).apply;
      });
      return () => {
        watchers--;
        if (watching === me) watching = null;
      };
    }),
  };

  /** The unsettled, still running call of actor `id` (the latest one). */
  function pending(id: string): Call | undefined {
    return calls.filter((c) => c.id === id && !c.settled && !c.aborted).at(-1);
  }

  function take(id: string): Call {
    const call = pending(id);
    if (!call) throw new Error(`no ${id} in flight (calls: ${calls.map((c) => `${c.id}${c.settled ? '✓' : ''}`).join(', ')})`);
    call.settled = true;
    return call;
  }

  return {
    actors,
    calls,
    pending,
    resolve(id: string, value?: unknown) {
      take(id).deferred.resolve(value);
    },
    reject(id: string, error: unknown) {
      take(id).deferred.reject(error);
    },
    /** Calls of one effect, oldest first. */
    callsOf: <S extends keyof Inputs>(src: S) => calls.filter((c): c is CallOf<S> => isCallOf(c, src)),
    /** Writes (publish or remove under id `write`) sent but not answered nor abandoned. */
    writesInFlight: () => calls.filter((c) => c.id === 'write' && !c.settled && !c.aborted).length,
    /** Deliver a transport event as the realtime subscription would (to the feed while it takes it). */
    emit(event: TransportEvent) {
      if (!watching) throw new Error(`no watchPeers running to deliver ${event.type}`);
      if ((event.type === 'peer.upserted' || event.type === 'peer.deleted') && watching.feed?.(event)) return;
      watching.sendBack(event);
    },
    /** The session's direct feed is open (its roster is live). */
    get feedOpen() {
      return watching?.feed != null;
    },
    get watchers() {
      return watchers;
    },
    get watchStarts() {
      return watchStarts;
    },
    get watchInput() {
      return watching?.input ?? null;
    },
  };
}

export type FakeTransport = ReturnType<typeof fakeTransport>;

/** An error as the Appwrite SDK throws it: a message and the HTTP status as `code`. */
export function appwriteError(code: number, message = code >= 500 ? 'Server Error' : 'Bad Request'): Error {
  return Object.assign(new Error(message), { code });
}

export const ada: Identity = { userId: 'u1', name: 'Ada' };
export const bob: Identity = { userId: 'u2', name: null };

export function doc(over: Partial<PeerDoc> & { userId: string }): PeerDoc {
  return { id: `row-${over.userId}`, status: 'online', metadata: {}, updatedAt: 1_000, expiresAt: null, ...over };
}

/** The server's answer to a publish: the row as written, with `updatedAt` on the server's clock. */
export function published(input: PublishInput, updatedAt: number, id = input.presenceId): PublishOutput {
  return {
    doc: { id, userId: input.userId, status: input.status, metadata: input.metadata, updatedAt, expiresAt: input.expiresAt },
    sentAtLocal: Date.now(),
    receivedAtLocal: Date.now(),
  };
}

/**
 * A fake tab coordinator: it announces `role` when the session starts it, answers a sign-out at
 * once (as a tab alone does), and records what the session told it. With `role` null it is silent.
 */
export function fakeTabs(role: { leader: boolean; othersPresent: boolean } | null) {
  const commands: TabsCommand[] = [];
  let running: { sendBack: (event: SessionEvent) => void; input: TabsInput } | null = null;
  const coordinateTabs = fromCallback<TabsCommand, TabsInput>(({ sendBack, receive, input }) => {
    const me = { sendBack, input };
    running = me;
    if (role) sendBack({ type: 'tabs.role', ...role });
    // A wish made before the coordinator ran, and a sign-out it starts for, come with its input:
    // recorded as the commands they stand for.
    const handle = (command: TabsCommand) => {
      commands.push(command);
      if (!role) return; // silent: the test says what the coordinator says
      if (command.type === 'visibility') sendBack({ type: command.visible ? 'tab.visible' : 'tab.hidden' });
      if (command.type === 'signout' && !role.othersPresent) sendBack({ type: 'tabs.quiet' });
    };
    if (input.wish !== undefined) handle({ type: 'wish', wish: input.wish });
    if (input.signOut) handle({ type: 'signout' });
    receive(handle);
    return () => {
      if (running === me) running = null;
    };
  });
  return {
    coordinateTabs,
    commands,
    /** Deliver an event as the coordinator would (another tab's message). */
    emit(event: SessionEvent) {
      if (!running) throw new Error(`no coordinator running to deliver ${event.type}`);
      running.sendBack(event);
    },
    get userId() {
      return running?.input.userId ?? null;
    },
  };
}

/**
 * A fake keepalive DELETE (`removeOnUnload`, the transport's at pagehide): it records the row id
 * it was started for and does nothing else.
 */
export function fakeUnload() {
  const rowIds: string[] = [];
  const removeOnUnload = fromCallback<EventObject, RemoveInput>(({ input }) => {
    rowIds.push(input.presenceId);
  });
  return { removeOnUnload, rowIds };
}

/** A started session actor on a fake transport, with its roster and server clock. */
export function harness(
  options: {
    random?: () => number;
    newId?: () => string;
    inspect?: (e: InspectionEvent) => void;
    role?: { leader: boolean; othersPresent: boolean } | null;
    /** false: the watcher ignores the direct feed, so every peer event goes through the machine. */
    feed?: boolean;
  } = {},
) {
  const transport = fakeTransport({ feed: options.feed });
  const tabs = fakeTabs(options.role === undefined ? { leader: true, othersPresent: false } : options.role);
  // Recording only: like the inert default, it sends nothing back to the session.
  const unload = fakeUnload();
  const clock = new ServerClock();
  const roster = new Roster({ clock });
  let ids = 0;
  const actors = { ...transport.actors, coordinateTabs: tabs.coordinateTabs, removeOnUnload: unload.removeOnUnload };
  const actor = createActor(sessionMachine.provide({ actors }), {
    input: { roster, clock, random: options.random ?? (() => 0.5), newId: options.newId ?? (() => `row-${++ids}`) },
    ...(options.inspect ? { inspect: options.inspect } : {}),
  }).start();
  const send = (event: SessionEvent) => actor.send(event);
  return {
    actor,
    transport,
    tabs,
    /** Row ids handed to the keepalive DELETE at pagehide, oldest first. */
    unloads: unload.rowIds,
    clock,
    roster,
    send,
    snapshot: () => actor.getSnapshot(),
    context: () => actor.getSnapshot().context,
  };
}
