/**
 * Clock skew: people whose clocks are 10 minutes slow or fast still write the right `expiresAt`
 * and still drop a crashed peer at the peer's `expiresAt` on the SERVER's clock. First on the
 * in-process sim (fake timers, exact to the millisecond, default heartbeat), then end to end: the
 * emulator's injectable clock skewed against the machine's, the real SDK over HTTP and WebSocket.
 */
import * as Appwrite from 'appwrite';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startEmulator } from '../../src/emulator/index';
import { createPresence, type PresenceController } from '../../src/presence';
import { createAppwriteTransport } from '../../src/transport/appwrite';
import { guest } from '../support/sdk';
import { simPerson } from './support/people';
import { figure } from './support/mode';
import { SimServer } from './support/sim';
import { pollUntil } from '../support/wait';

const H = 25_000;
const SKEWS = [
  ['10 minutes slow', 600_000],
  ['10 minutes fast', -600_000],
] as const;

describe('clock skew on the sim (fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.parse('2026-08-21T10:00:00.000Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  for (const [label, skewMs] of SKEWS) {
    it(`clocks ${label}: rows carry server now + 3 H and a crashed peer leaves at its expiresAt, to the millisecond`, async () => {
      const sim = new SimServer({ skewMs });
      const watcher = simPerson(sim, { heartbeatMs: H });
      const peer = simPerson(sim, { heartbeatMs: H });
      try {
        const started = [watcher.controller.start(), peer.controller.start()];
        await vi.advanceTimersByTimeAsync(2_000);
        expect(await Promise.all(started)).toEqual([true, true]);
        // Three heartbeats of normal life, then the peer's tab crashes (no delete, no more writes).
        await vi.advanceTimersByTimeAsync(3 * H);
        const row = sim.rows().find((r) => r.userId === peer.userId)!;
        const lifetime = Date.parse(row.expiresAt) - Date.parse(row.$updatedAt);
        expect(Math.abs(lifetime - 3 * H)).toBeLessThanOrEqual(sim.restMs);
        peer.controller.actor.stop();

        const expiresAt = Date.parse(row.expiresAt);
        let droppedAt: number | null = null;
        const unsubscribe = watcher.controller.subscribe(() => {
          if (droppedAt === null && watcher.controller.of(peer.userId) === null) droppedAt = sim.clock.now();
        });
        await vi.advanceTimersByTimeAsync(expiresAt - sim.clock.now() + 1_000);
        unsubscribe();
        figure(`clock skew (sim, ${label}): row lifetime ${lifetime} ms, crashed peer dropped ${droppedAt! - expiresAt} ms after its expiresAt (server clock)`);
        expect(droppedAt).not.toBeNull();
        expect(droppedAt! - expiresAt).toBeGreaterThanOrEqual(0);
        expect(droppedAt! - expiresAt).toBeLessThanOrEqual(sim.restMs);
      } finally {
        watcher.controller.dispose();
        peer.controller.dispose();
      }
    });
  }

  it('a client 10 minutes slow still appears: Appwrite refuses its first expiresAt as past, the transport retries', async () => {
    const sim = new SimServer({ skewMs: 600_000 });
    const slow = simPerson(sim, { heartbeatMs: H });
    try {
      const started = slow.controller.start();
      await vi.advanceTimersByTimeAsync(2_000);
      expect(await started).toBe(true);
      expect(slow.controller.view()).toMatchObject({ me: 'online', error: null });
      expect(sim.truth()).toEqual({ [slow.userId]: 'online' });
      expect(slow.warnings.some((w) => w.includes('refused expiresAt'))).toBe(true);
      // The next heartbeat writes the intended lifetime with the corrected clock.
      await vi.advanceTimersByTimeAsync(H);
      const row = sim.rows()[0]!;
      expect(Math.abs(Date.parse(row.expiresAt) - Date.parse(row.$updatedAt) - 3 * H)).toBeLessThanOrEqual(sim.restMs);
    } finally {
      slow.controller.dispose();
    }
  });

  // Was a bug: the first write of a tracking run computed expiresAt from a clock with no sample
  // yet (10 min fast: the row lived 10 min + 3 H; 10 min slow: Appwrite refused it and the
  // fallback row lived Appwrite's default 15 min), so a crash before the next heartbeat left a
  // ghost that long. The session now writes again as soon as the first answer shows the lifetime off.
  for (const [label, skewMs] of SKEWS) {
    it(`clocks ${label}: a peer that crashes one second after start is gone within 3 H`, async () => {
      const sim = new SimServer({ skewMs });
      const watcher = simPerson(sim, { heartbeatMs: H });
      const peer = simPerson(sim, { heartbeatMs: H });
      try {
        const started = watcher.controller.start();
        await vi.advanceTimersByTimeAsync(2_000);
        await started;
        void peer.controller.start();
        await vi.advanceTimersByTimeAsync(1_000);
        expect(watcher.controller.of(peer.userId)?.status).toBe('online');
        peer.controller.actor.stop();
        await vi.advanceTimersByTimeAsync(3 * H + 1_000);
        expect(watcher.controller.of(peer.userId)).toBeNull();
      } finally {
        watcher.controller.dispose();
        peer.controller.dispose();
      }
    });
  }

  it('the rewrite after a corrected clock cannot loop: 6 s round trips keep the heartbeat cadence', async () => {
    // With a 6 s round trip a correct row's lifetime, as the server stamps it, is off by ~3 s:
    // the slack grows with the round trip, so that never counts as a wrong clock.
    const sim = new SimServer({ skewMs: 600_000, restMs: 6_000 });
    const slow = simPerson(sim, { heartbeatMs: H });
    const Presences = slow.session.sdk.Presences as unknown as { prototype: { upsert(...args: unknown[]): unknown } };
    const upsert = Presences.prototype.upsert;
    let writes = 0;
    Presences.prototype.upsert = function (this: unknown, ...args: unknown[]) {
      writes++;
      return upsert.apply(this, args);
    };
    try {
      const started = slow.controller.start();
      await vi.advanceTimersByTimeAsync(30_000);
      expect(await started).toBe(true);
      await vi.advanceTimersByTimeAsync(10 * H);
      // Refused first try + its fallback + the corrected rewrite, then one beat per 0.9 H.
      expect(writes).toBeGreaterThanOrEqual(10);
      expect(writes).toBeLessThanOrEqual(3 + Math.ceil((10 * H + 30_000) / (0.8 * H)));
      const row = sim.rows()[0]!;
      expect(Math.abs(Date.parse(row.expiresAt) - Date.parse(row.$updatedAt) - 3 * H)).toBeLessThanOrEqual(sim.restMs);
    } finally {
      slow.controller.dispose();
    }
  });
});

describe('clock skew end to end (emulator with a skewed clock, real SDK)', () => {
  it('clients 10 minutes slow and fast drop a crashed peer at its expiresAt on the server clock', async () => {
    const results = await Promise.all(SKEWS.map(([label, skewMs]) => crashOnSkewedServer(label, skewMs)));
    for (const { label, lateMs } of results) {
      figure(`clock skew (emulator, ${label}): crashed peer dropped ${lateMs} ms after its expiresAt (server clock), heartbeat 1000 ms`);
      expect(lateMs).toBeGreaterThanOrEqual(-50);
      expect(lateMs).toBeLessThan(1_000);
    }
  });
});

async function crashOnSkewedServer(label: string, skewMs: number): Promise<{ label: string; lateMs: number }> {
  const clock = { now: () => Date.now() + skewMs };
  const emulator = await startEmulator({ port: 0, apiKey: 'skew-key', clock });
  const controllers: PresenceController[] = [];
  try {
    const person = async () => {
      const user = await guest(emulator.url, 'skew');
      const controller = createPresence({
        transport: createAppwriteTransport({ client: user.client, sdk: Appwrite, warn: () => undefined }),
        tabs: false,
        document: null,
        window: null,
        heartbeatMs: 1_000,
      });
      controllers.push(controller);
      return { controller, userId: user.userId! };
    };
    const watcher = await person();
    const peer = await person();
    expect(await watcher.controller.start()).toBe(true);
    expect(await peer.controller.start()).toBe(true);
    // Two heartbeats with a sampled clock, then the crash.
    await pollUntil(() => watcher.controller.of(peer.userId) !== null, 5_000, 5);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    peer.controller.actor.stop();
    await new Promise((resolve) => setTimeout(resolve, 50)); // a heartbeat in flight lands and is delivered
    const expiresAt = Date.parse(watcher.controller.of(peer.userId)!.expiresAt!);
    await pollUntil(() => watcher.controller.of(peer.userId) === null, 6_000, 5); // 5 ms: the lateness reported is no coarser
    return { label, lateMs: clock.now() - expiresAt };
  } finally {
    for (const controller of controllers) controller.dispose();
    await emulator.close();
  }
}
