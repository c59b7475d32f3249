import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor, type ActorRefFrom } from 'xstate';
import { peerMachine } from '../../src/machines/peer';
import { Roster, TOMBSTONE_MS } from '../../src/machines/roster';
import type { PeerDoc } from '../../src/transport/types';

// The roster (one map, one timer) against its model (one peer machine per userId), driven by the
// same random events on the same fake clock: after every step both must show the same people.

const T0 = Date.parse('2026-08-21T10:00:00.000Z');
const USERS = ['a', 'b', 'c', '__proto__'] as const;

/** A doc whose expiry is relative to the server clock at the moment it is applied. */
interface DocSpec {
  userId: string;
  /** updatedAt = T0 + version × 10: few values, so stale, equal and newer all happen often. */
  version: number;
  status: string;
  team: 'ours' | 'theirs';
  /** null: never expires; otherwise ms after now (negative: expired on arrival). */
  expiresIn: number | null;
}

type Op =
  | { kind: 'upsert'; doc: DocSpec }
  | { kind: 'remove'; userId: string; version: number }
  | { kind: 'reset'; docs: DocSpec[] }
  | { kind: 'advance'; ms: number }
  /** Straight to the next timer of either side, so time lands exactly on expiry moments. */
  | { kind: 'next' };

const docSpec: fc.Arbitrary<DocSpec> = fc.record({
  userId: fc.constantFrom(...USERS),
  version: fc.integer({ min: 0, max: 8 }),
  status: fc.constantFrom('online', 'away', 'busy'),
  team: fc.constantFrom('ours', 'ours', 'ours', 'theirs'),
  expiresIn: fc.oneof(fc.constant(null), fc.integer({ min: -500, max: 3_000 })),
});

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: docSpec.map((doc) => ({ kind: 'upsert' as const, doc })) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('remove' as const),
      userId: fc.constantFrom(...USERS),
      version: fc.integer({ min: 0, max: 8 }),
    }),
  },
  { weight: 1, arbitrary: fc.array(docSpec, { maxLength: 5 }).map((docs) => ({ kind: 'reset' as const, docs })) },
  {
    weight: 4,
    arbitrary: fc
      .oneof(fc.integer({ min: 0, max: 1_500 }), fc.constantFrom(TOMBSTONE_MS - 1, TOMBSTONE_MS, TOMBSTONE_MS + 1))
      .map((ms) => ({ kind: 'advance' as const, ms })),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'next' as const }) },
);

const inScope = (doc: PeerDoc) => doc.metadata.team === 'ours';

describe('Roster against the peer-machine model', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('shows the same people with the same rows after every step', () => {
    fc.assert(
      fc.property(fc.integer({ min: -600_000, max: 600_000 }), fc.array(op, { maxLength: 40 }), (offset, ops) => {
        vi.clearAllTimers();
        vi.setSystemTime(T0 - offset); // the server clock reads T0 at the start
        const clock = { now: () => Date.now() + offset };
        const roster = new Roster({ clock, scope: inScope });
        const model = new Map<string, ActorRefFrom<typeof peerMachine>>(
          USERS.map((userId) => [userId, createActor(peerMachine, { input: { userId, clock } }).start()]),
        );
        const peerOf = (userId: string) => model.get(userId)!;
        const toDoc = (spec: DocSpec): PeerDoc => ({
          id: `row-${spec.userId}`,
          userId: spec.userId,
          status: spec.status,
          metadata: { team: spec.team },
          updatedAt: T0 + spec.version * 10,
          expiresAt: spec.expiresIn === null ? null : clock.now() + spec.expiresIn,
        });
        // The model has no scope: a row outside it is that peer's removal, as the roster documents.
        const upsertModel = (doc: PeerDoc) =>
          peerOf(doc.userId).send(
            inScope(doc) ? { type: 'peer.upserted', peer: doc } : { type: 'peer.deleted', peer: doc },
          );

        try {
          for (const step of ops) {
            if (step.kind === 'upsert') {
              const doc = toDoc(step.doc);
              roster.upsert(doc);
              upsertModel(doc);
            } else if (step.kind === 'remove') {
              const gone = { userId: step.userId, updatedAt: T0 + step.version * 10 };
              roster.remove(gone);
              peerOf(step.userId).send({ type: 'peer.deleted', peer: gone });
            } else if (step.kind === 'reset') {
              const docs = step.docs.map(toDoc);
              roster.reset(docs);
              docs.forEach(upsertModel);
              const listed = new Set(docs.map((d) => d.userId));
              for (const [userId, peer] of model) {
                const { context } = peer.getSnapshot();
                if (!listed.has(userId) && peer.getSnapshot().matches('present')) {
                  peer.send({ type: 'peer.deleted', peer: { userId, updatedAt: context.version } });
                }
              }
            } else if (step.kind === 'advance') {
              vi.advanceTimersByTime(step.ms);
            } else {
              vi.advanceTimersToNextTimer();
            }

            const expected = [...model.values()]
              .filter((peer) => peer.getSnapshot().matches('present'))
              .map((peer) => {
                const row = peer.getSnapshot().context.peer!;
                return { userId: row.userId, status: row.status, lastSeen: row.updatedAt, expiresAt: row.expiresAt };
              })
              .sort((x, y) => x.userId.localeCompare(y.userId));
            const actual = roster
              .list()
              .map((r) => ({
                userId: r.userId,
                status: r.status,
                lastSeen: r.lastSeen,
                expiresAt: r.expiresAt === null ? null : Date.parse(r.expiresAt),
              }))
              .sort((x, y) => x.userId.localeCompare(y.userId));
            expect(actual).toEqual(expected);
            expect(roster.size).toBe(expected.length);
            expect(Object.keys(roster.records()).sort()).toEqual(expected.map((e) => e.userId));
          }
        } finally {
          roster.clear();
          model.forEach((peer) => peer.stop());
        }
        expect(vi.getTimerCount()).toBe(0);
      }),
      { numRuns: 400 },
    );
  });
});
