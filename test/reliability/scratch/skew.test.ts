import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { SimServer } from '../support/sim';
import { seen, simPerson } from '../support/people';

beforeEach(() => { vi.useFakeTimers(); vi.setSystemTime(Date.parse('2026-08-21T10:00:00Z')); });
afterEach(() => vi.useRealTimers());

for (const skew of [600_000, -600_000]) it('skew ' + skew, async () => {
  const sim = new SimServer({ skewMs: skew });
  const H = 25_000;
  const a = simPerson(sim, { heartbeatMs: H });
  const b = simPerson(sim, { heartbeatMs: H });
  void a.controller.start(); await vi.advanceTimersByTimeAsync(1000); void b.controller.start();
  await vi.advanceTimersByTimeAsync(2000);
  console.log(skew, seen(a.controller), seen(b.controller), sim.truth(), a.controller.view().error, b.warnings);
  const exp = Date.parse(a.controller.of(b.userId)?.expiresAt ?? 'x');
  b.controller.actor.stop();
  const serverRowExp = sim.rows().find(r=>r.userId===b.userId)?.expiresAt;
  console.log('server row exp', serverRowExp, 'seen exp', new Date(exp).toISOString());
  let gone = null;
  for (let i=0;i<900;i++){ await vi.advanceTimersByTimeAsync(1000); if(!a.controller.of(b.userId)){ gone = sim.clock.now(); break; } }
  console.log('dropped at server time', gone && new Date(gone).toISOString());
  a.controller.dispose(); b.controller.dispose();
});
