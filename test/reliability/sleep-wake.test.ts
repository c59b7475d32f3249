/**
 * Sleep/wake: a laptop lid closes for 5 minutes. The page's timers stop (fake timers simply do not
 * run while the wall clock jumps), the server keeps going: one peer lapses (stops writing, its row
 * expires), another keeps its heartbeat, and the sleeper's own row expires on the server. On wake
 * the sleeper must re-announce itself and drop the lapsed peer within one heartbeat (H = 25 s, the
 * default), whether its socket survived the sleep (frames queued meanwhile arrive on wake) or died.
 * In-process sim: deterministic to the millisecond.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { simPerson } from './support/people';
import { figure } from './support/mode';
import { SimServer } from './support/sim';

const H = 25_000;
const SLEEP_MS = 5 * 60_000;

beforeEach(() => {
  vi.useFakeTimers({ now: Date.parse('2026-08-21T10:00:00.000Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

async function sleepAndWake(socketSurvives: boolean) {
  const sim = new SimServer();
  const sleeper = simPerson(sim, { heartbeatMs: H });
  const lapsed = sim.addUser();
  const alive = sim.addUser();
  try {
    sim.upsertAs(lapsed, { status: 'online', expiresAt: sim.clock.now() + 3 * H });
    sim.upsertAs(alive, { status: 'online', expiresAt: sim.clock.now() + 3 * H });
    const started = sleeper.controller.start();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(await started).toBe(true);
    expect(sleeper.controller.all().map((p) => p.userId).sort()).toEqual([sleeper.userId, lapsed.id, alive.id].sort());

    // The lid closes. The wall clock moves on in heartbeat steps; no timer of the page runs.
    const sleptAt = Date.now();
    for (let slept = 0; slept < SLEEP_MS; slept += H) {
      vi.setSystemTime(Date.now() + H);
      sim.upsertAs(alive, { status: 'online', expiresAt: sim.clock.now() + 3 * H });
      if (!socketSurvives && slept === 2 * H) sim.drop();
    }
    vi.setSystemTime(sleptAt + SLEEP_MS);
    expect(sim.truth()).toEqual({ [alive.id]: 'online' }); // the sleeper's own row and the lapsed one expired

    const wokeAt = Date.now();
    let announcedAfter: number | null = null;
    let lapsedGoneAfter: number | null = null;
    const aliveGaps: number[] = [];
    let aliveMissingSince: number | null = null;
    const unsubscribe = sleeper.controller.subscribe(() => {
      const now = Date.now() - wokeAt;
      if (lapsedGoneAfter === null && sleeper.controller.of(lapsed.id) === null) lapsedGoneAfter = now;
      const aliveShown = sleeper.controller.of(alive.id) !== null;
      if (!aliveShown && aliveMissingSince === null) aliveMissingSince = now;
      if (aliveShown && aliveMissingSince !== null) {
        aliveGaps.push(now - aliveMissingSince);
        aliveMissingSince = null;
      }
    });
    for (let waited = 0; waited <= H && (announcedAfter === null || lapsedGoneAfter === null); waited += 10) {
      await vi.advanceTimersByTimeAsync(10);
      if (announcedAfter === null && sim.truth()[sleeper.userId] === 'online') announcedAfter = Date.now() - wokeAt;
      if (waited % H === 0) sim.upsertAs(alive, { status: 'online', expiresAt: sim.clock.now() + 3 * H });
    }
    await vi.advanceTimersByTimeAsync(2_000);
    unsubscribe();
    return { sleeper, sim, lapsed, alive, announcedAfter, lapsedGoneAfter, aliveGaps, aliveMissingSince };
  } finally {
    sleeper.controller.dispose();
  }
}

describe('a laptop that sleeps for 5 minutes (timers stopped) and wakes', () => {
  for (const socketSurvives of [true, false]) {
    const how = socketSurvives ? 'its socket survived (queued frames arrive on wake)' : 'its socket died meanwhile (reconnect and re-list)';
    it(`re-announces itself and drops the lapsed peer within one heartbeat when ${how}`, async () => {
      const result = await sleepAndWake(socketSurvives);
      figure(
        `sleep/wake (${socketSurvives ? 'socket survived' : 'socket died'}): re-announced ${result.announcedAfter} ms after wake, ` +
          `lapsed peer dropped after ${result.lapsedGoneAfter} ms (H = ${H} ms); live peer absent ${result.aliveGaps.length} time(s) ` +
          `for ${result.aliveGaps.join(', ') || '0'} ms while queued frames replayed`,
      );
      expect(result.announcedAfter).not.toBeNull();
      expect(result.announcedAfter!).toBeLessThanOrEqual(H);
      expect(result.lapsedGoneAfter).not.toBeNull();
      expect(result.lapsedGoneAfter!).toBeLessThanOrEqual(H);
      // The peer who kept its heartbeat is there at the end, and the sleeper is back for everyone.
      expect(result.aliveMissingSince).toBeNull();
      expect(result.sim.truth()).toEqual({ [result.sleeper.userId]: 'online', [result.alive.id]: 'online' });
    });
  }
});
