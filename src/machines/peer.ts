/**
 * One peer's life as a state machine: absent → present → gone (a tombstone) → absent. The MODEL of
 * the roster's rules and its test oracle; the roster implements the same rules for 10 000 peers
 * with one timer (see roster.ts for why). Invariants: the highest `updatedAt` decides; a present peer
 * leaves at its `expiresAt` on the server clock; a tombstone blocks upserts up to its `updatedAt`
 * for `tombstoneMs`, then the peer is forgotten.
 */
import { assertEvent, assign } from 'xstate';
import { setup } from './setup';
import type { PeerDoc } from '../transport/types';

/**
 * The roster's TOMBSTONE_MS and MAX_TIMER_MS, repeated because machines/peer.ts may import only
 * xstate (peer.test.ts checks the first; both files test a 30-day expiry for the second).
 */
export const PEER_TOMBSTONE_MS = 10 * 60_000;
const MAX_TIMER_MS = 2_147_483_647;

export interface PeerInput {
  userId: string;
  /** Server clock (`ServerClock` or anything with `now()` in server ms). */
  clock: { now(): number };
  /** How long a tombstone blocks stale upserts; PEER_TOMBSTONE_MS by default. */
  tombstoneMs?: number;
}

export interface PeerContext {
  userId: string;
  clock: { now(): number };
  tombstoneMs: number;
  /** `updatedAt` of the event that decided the current state; -Infinity while absent. */
  version: number;
  /** The row while present, null otherwise. */
  peer: PeerDoc | null;
}

/** The transport's peer events, addressed to this peer (the sender routes by userId). */
export type PeerEvent =
  | { type: 'peer.upserted'; peer: PeerDoc }
  | { type: 'peer.deleted'; peer: Pick<PeerDoc, 'userId' | 'updatedAt'> };

/**
 * @example
 * const actor = createActor(peerMachine, { input: { userId: 'u1', clock } }).start();
 * actor.send({ type: 'peer.upserted', peer: doc });
 * actor.getSnapshot().matches('present'); // true until doc.expiresAt on the server clock
 */
export const peerMachine = setup({
  types: {
    context: {} as PeerContext,
    events: {} as PeerEvent,
    input: {} as PeerInput,
  },
  guards: {
    /** Older than the row or tombstone we hold. */
    olderThanHeld: ({ context, event }) => event.peer.updatedAt < context.version,
    /** A tombstone also blocks the very version it buried (a replay of a deleted row). */
    notNewerThanTombstone: ({ context, event }) => event.peer.updatedAt <= context.version,
    arrivesExpired: ({ context, event }) =>
      event.type === 'peer.upserted' && event.peer.expiresAt !== null && event.peer.expiresAt <= context.clock.now(),
    hasExpired: ({ context }) =>
      context.peer !== null && context.peer.expiresAt !== null && context.peer.expiresAt <= context.clock.now(),
  },
  actions: {
    hold: assign(({ event }) => {
      assertEvent(event, 'peer.upserted');
      return { version: event.peer.updatedAt, peer: event.peer };
    }),
    bury: assign(({ event }) => ({ version: event.peer.updatedAt, peer: null })),
    buryHeld: assign({ peer: null }),
    forget: assign({ version: -Infinity }),
  },
  delays: {
    /** Until the row's expiresAt on the server clock, capped to what setTimeout can hold (then re-checked). */
    untilExpiry: ({ context }) => {
      const at = context.peer?.expiresAt ?? null;
      if (at === null) return MAX_TIMER_MS;
      return Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil(at - context.clock.now())));
    },
    tombstoneMs: ({ context }) => context.tombstoneMs,
  },
}).createMachine({
  id: 'peer',
  context: ({ input }) => ({
    userId: input.userId,
    clock: input.clock,
    tombstoneMs: input.tombstoneMs ?? PEER_TOMBSTONE_MS,
    version: -Infinity,
    peer: null,
  }),
  initial: 'absent',
  states: {
    absent: {
      on: {
        'peer.upserted': [{ guard: 'arrivesExpired', target: 'gone', actions: 'bury' }, { target: 'present', actions: 'hold' }],
        'peer.deleted': { target: 'gone', actions: 'bury' },
      },
    },
    present: {
      after: {
        // The timer re-checks when it fires: a capped delay may end before the expiry.
        untilExpiry: [{ guard: 'hasExpired', target: 'gone', actions: 'buryHeld' }, { target: 'present', reenter: true }],
      },
      on: {
        'peer.upserted': [
          { guard: 'olderThanHeld' }, // stale: ignored
          { guard: 'arrivesExpired', target: 'gone', actions: 'bury' },
          { target: 'present', reenter: true, actions: 'hold' }, // re-entry recomputes the expiry delay
        ],
        'peer.deleted': [{ guard: 'olderThanHeld' }, { target: 'gone', actions: 'bury' }],
      },
    },
    gone: {
      after: { tombstoneMs: { target: 'absent', actions: 'forget' } },
      on: {
        'peer.upserted': [
          { guard: 'notNewerThanTombstone' },
          { guard: 'arrivesExpired', target: 'gone', reenter: true, actions: 'bury' },
          { target: 'present', actions: 'hold' },
        ],
        'peer.deleted': [{ guard: 'olderThanHeld' }, { target: 'gone', reenter: true, actions: 'bury' }],
      },
    },
  },
});
