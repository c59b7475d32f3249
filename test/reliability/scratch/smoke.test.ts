import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { SimServer } from '../support/sim';
import { seen, simPerson } from '../support/people';

beforeEach(() => { vi.useFakeTimers(); vi.setSystemTime(Date.parse('2026-08-21T10:00:00Z')); });
afterEach(() => vi.useRealTimers());

it('smoke', async () => {
  const sim = new SimServer();
  const a = simPerson(sim, { heartbeatMs: 25_000 });
  const b = simPerson(sim, { heartbeatMs: 25_000 });
  const pa = a.controller.start(); const pb = b.controller.start();
  await vi.advanceTimersByTimeAsync(2000);
  expect(await pa).toBe(true); expect(await pb).toBe(true);
  console.log(seen(a.controller), seen(b.controller), sim.truth(), a.warnings);
  sim.drop();
  await vi.advanceTimersByTimeAsync(3000);
  console.log(seen(a.controller), sim.connections(), a.realtime()!.opened);
  b.controller.actor.stop();
  await vi.advanceTimersByTimeAsync(75_000);
  console.log(seen(a.controller), sim.truth());
  a.controller.dispose(); b.controller.dispose();
  console.log(vi.getTimerCount());
});

it('first publish 5xx', async () => {
  const sim = new SimServer();
  const a = simPerson(sim, { heartbeatMs: 25_000 });
  sim.failNext('upsert');
  const pa = a.controller.start();
  await vi.advanceTimersByTimeAsync(2000);
  console.log(await pa, a.controller.view().me, a.controller.view().error, sim.truth());
  await vi.advanceTimersByTimeAsync(60_000);
  console.log(a.controller.view().me, a.controller.actor.getSnapshot().value, sim.truth());
  a.controller.dispose();
});
