import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { SimServer } from '../support/sim';
import { seen, simPerson } from '../support/people';

beforeEach(() => { vi.useFakeTimers(); vi.setSystemTime(Date.parse('2026-08-21T10:00:00Z')); });
afterEach(() => vi.useRealTimers());

it('sleep with surviving socket', async () => {
  const sim = new SimServer();
  const H = 25_000;
  const a = simPerson(sim, { heartbeatMs: H });
  const b = simPerson(sim, { heartbeatMs: H });
  const c = simPerson(sim, { heartbeatMs: H });
  for (const p of [a,b,c]) void p.controller.start();
  await vi.advanceTimersByTimeAsync(2000);
  console.log(seen(a.controller));
  // a sleeps 5 min: its timers don't run; b crashes meanwhile, c keeps beating? c's timers also frozen in fake timers...
  b.controller.actor.stop(); c.controller.actor.stop();
  const t0 = Date.now();
  vi.setSystemTime(Date.now() + 300_000);
  console.log('after sleep', seen(a.controller), sim.truth(), vi.getTimerCount());
  let first = null;
  for (let i = 0; i < 100; i++) {
    await vi.advanceTimersByTimeAsync(1000);
    const s = seen(a.controller);
    if (!s[b.userId] && first === null) { first = i+1; }
    if (sim.truth()[a.userId] && !globalThis.x) { globalThis.x = i+1; console.log('reannounced after', i+1); }
  }
  console.log('dropped lapsed after', first, 's');
  for (const p of [a,b,c]) p.controller.dispose();
});
