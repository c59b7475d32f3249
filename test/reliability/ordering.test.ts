/**
 * Ordering: whatever order realtime events arrive in — duplicated, reordered, stale (an older
 * `$updatedAt`) — a person's roster never moves a record backwards. Peers write through the
 * emulator's REST rules on the in-process sim; the watcher is the whole stack (createPresence,
 * session, roster, Appwrite transport). Its socket holds every frame of a random script and then
 * delivers them in a random order with random duplicates and forged stale copies. After EVERY
 * frame the roster must equal the model: per peer, the newest delivered version wins and a delete
 * wins a tie with the version it deleted. Fake timers: deterministic, ~1 s for all runs.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { settle, simPerson } from './support/people';
import { FC_SEED, figure, SOAK } from './support/mode';
import { SimServer } from './support/sim';

const PEERS = 3;
const RUNS = SOAK ? 2_000 : 80;

beforeEach(() => {
  vi.useFakeTimers({ now: Date.parse('2026-08-21T10:00:00.000Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

type Write = { peer: number; kind: 'upsert' | 'delete'; gapMs: number };
type Frame = { type: 'event'; data: { events: string[]; payload: Record<string, any>; [key: string]: unknown } };

const writes = fc.array(
  fc.record({ peer: fc.nat(PEERS - 1), kind: fc.constantFrom('upsert', 'upsert', 'delete') as fc.Arbitrary<'upsert' | 'delete'>, gapMs: fc.integer({ min: 1, max: 400 }) }),
  { minLength: 1, maxLength: 30 },
);
/** Sort keys for a permutation, extra copies (index, position) and forged stale copies (index, age). */
const delivery = fc.record({
  keys: fc.array(fc.nat(10_000), { minLength: 64, maxLength: 64 }),
  copies: fc.array(fc.record({ of: fc.nat(), at: fc.nat() }), { maxLength: 12 }),
  stale: fc.array(fc.record({ of: fc.nat(), at: fc.nat(), ageMs: fc.integer({ min: 1, max: 5_000 }) }), { maxLength: 6 }),
});

type Plan = typeof delivery extends fc.Arbitrary<infer T> ? T : never;

function scramble(frames: Frame[], plan: Plan, selfId: string): Frame[] {
  const peerFrames = frames.filter((frame) => frame.data.payload.userId !== selfId);
  const order = peerFrames.map((frame, i) => ({ frame, key: plan.keys[i % plan.keys.length]! + i / 1e6 }));
  const out = order.sort((a, b) => a.key - b.key).map((entry) => entry.frame);
  if (out.length === 0) return out;
  for (const { of, at } of plan.copies) out.splice(at % (out.length + 1), 0, structuredClone(out[of % out.length]!));
  for (const { of, at, ageMs } of plan.stale) {
    const forged = structuredClone(out[of % out.length]!);
    const older = (iso: string) => new Date(Date.parse(iso) - ageMs).toISOString();
    forged.data.payload.$updatedAt = older(forged.data.payload.$updatedAt);
    forged.data.timestamp = older(forged.data.timestamp as string);
    forged.data.payload.status = 'STALE';
    out.splice(at % (out.length + 1), 0, forged);
  }
  return out;
}

/** Per peer, the newest delivered version (the session's and roster's documented rules). */
function model(delivered: Frame[], selfId: string): Map<string, { version: number; deleted: boolean; status: string }> {
  const best = new Map<string, { version: number; deleted: boolean; status: string }>();
  for (const frame of delivered) {
    const { payload, events } = frame.data;
    if (payload.userId === selfId) continue;
    const deleted = events[0]!.endsWith('.delete');
    // A delete's payload is the row as it was; the deletion happened when the event was published.
    const version = deleted ? Math.max(Date.parse(payload.$updatedAt), Date.parse(frame.data.timestamp as string)) : Date.parse(payload.$updatedAt);
    const held = best.get(payload.userId);
    // A tie: a delete beats the version it deleted; between two rows of one version the later arrival wins.
    if (!held || version > held.version || (version === held.version && (deleted || !held.deleted))) {
      best.set(payload.userId, { version, deleted, status: payload.status });
    }
  }
  return best;
}

describe('ordering under duplicated, reordered and stale events', () => {
  it('after every delivered frame the roster equals the newest-wins model, and no record ever moves backwards', async () => {
    let runs = 0;
    let framesChecked = 0;
    await fc.assert(
      fc.asyncProperty(writes, delivery, async (script, plan) => {
        runs++;
        const sim = new SimServer();
        const watcher = simPerson(sim);
        const peers = Array.from({ length: PEERS }, () => sim.addUser());
        try {
          expect(await settle(watcher.controller.start(), 5_000)).toBe(true);
          const socket = watcher.realtime()!.current!;
          socket.hold();
          for (const write of script) {
            await vi.advanceTimersByTimeAsync(write.gapMs);
            const peer = peers[write.peer]!;
            if (write.kind === 'upsert') sim.upsertAs(peer, { status: `s${write.gapMs}` });
            else sim.deleteAs(peer);
          }
          const frames = scramble(socket.holding as Frame[], plan, watcher.userId);
          const shown = new Map<string, number>();
          const deletedAt = new Map<string, number>();
          const problems: string[] = [];
          const unsubscribe = watcher.controller.subscribe(() => {
            const delivered = socket.received.slice(-frames.length).filter((frame): frame is Frame => (frame as Frame).type === 'event');
            const expected = model(delivered, watcher.userId);
            for (const peer of peers) {
              const record = watcher.controller.of(peer.id);
              const want = expected.get(peer.id);
              const wantShown = want !== undefined && !want.deleted;
              if (wantShown !== (record !== null) || (record && (record.lastSeen !== want!.version || record.status !== want!.status))) {
                problems.push(`${peer.id}: shows ${record ? `${record.status}@${record.lastSeen}` : 'nothing'}, model ${JSON.stringify(want)} after ${delivered.map((f) => `${f.data.events[0]!.split('.').pop()}:${f.data.payload.userId}:${f.data.payload.status}@${Date.parse(f.data.payload.$updatedAt)}`).join(' ')}`);
              }
              if (record) {
                if (record.lastSeen < (shown.get(peer.id) ?? -Infinity)) problems.push(`${peer.id} moved back to ${record.lastSeen}`);
                if (record.lastSeen <= (deletedAt.get(peer.id) ?? -Infinity)) problems.push(`${peer.id} came back at a deleted version`);
                shown.set(peer.id, record.lastSeen);
              }
              if (want?.deleted) deletedAt.set(peer.id, Math.max(deletedAt.get(peer.id) ?? -Infinity, want.version));
            }
          });
          socket.release(() => frames);
          await vi.advanceTimersByTimeAsync(100);
          unsubscribe();
          framesChecked += frames.length;
          expect(problems).toEqual([]);
          // Every real frame arrived at least once, so the end state is the server's.
          const truth = sim.truth();
          for (const peer of peers) expect(watcher.controller.of(peer.id)?.status ?? null).toBe(truth[peer.id] ?? null);
        } finally {
          watcher.controller.dispose();
        }
      }),
      { numRuns: RUNS, seed: FC_SEED },
    );
    expect(runs).toBe(RUNS);
    expect(framesChecked).toBeGreaterThan(200);
    figure(`ordering: ${runs} random scripts (fast-check seed ${FC_SEED}), ${framesChecked} frames delivered reordered/duplicated/stale, 0 records moved backwards`);
  }, SOAK ? 600_000 : 60_000);

  it('a duplicated or stale delete never removes a peer who published again after it', async () => {
    const sim = new SimServer();
    const watcher = simPerson(sim);
    const peer = sim.addUser();
    try {
      const started = watcher.controller.start();
      await vi.advanceTimersByTimeAsync(1_000);
      expect(await started).toBe(true);
      const socket = watcher.realtime()!.current!;
      socket.hold();
      sim.upsertAs(peer, { status: 'first' });
      await vi.advanceTimersByTimeAsync(50);
      sim.deleteAs(peer);
      await vi.advanceTimersByTimeAsync(50);
      sim.upsertAs(peer, { status: 'back' });
      const [upsert, remove, again] = socket.holding as Frame[];
      // The old delete arrives last, twice; the first upsert arrives after everything.
      socket.release(() => [again!, remove!, upsert!, structuredClone(remove!)]);
      await vi.advanceTimersByTimeAsync(100);
      expect(watcher.controller.of(peer.id)?.status).toBe('back');
    } finally {
      watcher.controller.dispose();
    }
  });
});
