/**
 * A fake transport for the session machine: every effect is a deferred the test settles by hand,
 * keyed by the actor id the machine gives it (`identify`, `loadRoster`, `write`, `removeRow`), and
 * `watchPeers` is a callback actor whose `sendBack` the test drives. Nothing here knows Appwrite.
 */
import { createActor, fromCallback, fromPromise, type EventObject, type InspectionEvent } from 'xstate';
import { ServerClock } from '../../src/machines/clock';
import { Roster } from '../../src/machines/roster';
import { sessionMachine, type SessionEvent } from '../../src/machines/session';
import type {
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

export interface Call {
  /** Actor id: identify | loadRoster | write | removeRow. */
  id: string;
  src: 'identify' | 'loadRoster' | 'publish' | 'remove';
  input: unknown;
  deferred: Deferred<unknown>;
  settled: boolean;
  aborted: boolean;
}

export function fakeTransport() {
  const calls: Call[] = [];
  let watching: { sendBack: (event: EventObject) => void; input: WatchPeersInput } | null = null;
  let watchers = 0;
  let watchStarts = 0;

  function effect<O, I>(src: Call['src']) {
    return fromPromise<O, I>(({ input, self, signal }) => {
      const call: Call = { id: self.id, src, input, deferred: deferred<unknown>(), settled: false, aborted: false };
      signal.addEventListener('abort', () => (call.aborted = true));
      calls.push(call);
      return call.deferred.promise as Promise<O>;
    });
  }

  const actors = {
    identify: effect<Identity | null, void>('identify'),
    loadRoster: effect<LoadRosterOutput, LoadRosterInput>('loadRoster'),
    publish: effect<PublishOutput, PublishInput>('publish'),
    remove: effect<void, RemoveInput>('remove'),
    watchPeers: fromCallback<EventObject, WatchPeersInput>(({ sendBack, input }) => {
      watchers++;
      watchStarts++;
      const me = { sendBack, input };
      watching = me;
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
    callsOf: (src: Call['src']) => calls.filter((c) => c.src === src),
    /** Writes (publish or remove under id `write`) sent but not answered nor abandoned. */
    writesInFlight: () => calls.filter((c) => c.id === 'write' && !c.settled && !c.aborted).length,
    /** Deliver a transport event as the realtime subscription would. */
    emit(event: TransportEvent) {
      if (!watching) throw new Error(`no watchPeers running to deliver ${event.type}`);
      watching.sendBack(event);
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

export const ada: Identity = { userId: 'u1', name: 'Ada' };
export const bob: Identity = { userId: 'u2', name: null };

export function doc(over: Partial<PeerDoc> & { userId: string }): PeerDoc {
  return { id: `row-${over.userId}`, status: 'online', metadata: {}, updatedAt: 1_000, expiresAt: null, ...over };
}

export function published(input: PublishInput, updatedAt: number, id = input.presenceId): PublishOutput {
  return {
    doc: { id, userId: input.userId, status: input.status, metadata: input.metadata, updatedAt, expiresAt: input.expiresAt },
    sentAtLocal: Date.now(),
    receivedAtLocal: Date.now(),
  };
}

/** A started session actor on a fake transport, with its roster and server clock. */
export function harness(options: { random?: () => number; newId?: () => string; inspect?: (e: InspectionEvent) => void } = {}) {
  const transport = fakeTransport();
  const clock = new ServerClock();
  const roster = new Roster({ clock });
  let ids = 0;
  const actor = createActor(sessionMachine.provide({ actors: transport.actors }), {
    input: { roster, clock, random: options.random ?? (() => 0.5), newId: options.newId ?? (() => `row-${++ids}`) },
    ...(options.inspect ? { inspect: options.inspect } : {}),
  }).start();
  const send = (event: SessionEvent) => actor.send(event);
  return { actor, transport, clock, roster, send, snapshot: () => actor.getSnapshot(), context: () => actor.getSnapshot().context };
}
