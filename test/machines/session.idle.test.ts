/**
 * Idle while visible (issue 13, part 1) on a fake transport with fake time: a tab with no input
 * for idleMs counts as not looking, so the person (alone here: the fake coordinator echoes this
 * tab's attention as theirs) turns `away` with one write, and the next input brings their own
 * status back with one write. Input by itself never costs a write.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AWAY, DEFAULT_IDLE_MS, selectError, selectMe, selectPhase, selectSeq, startProblem, type StartOptions } from '../../src/machines/session';
import { flush } from '../support/paths';
import { ada, harness, isCallOf, published } from './session.fixtures';

type Harness = ReturnType<typeof harness>;

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const IDLE = 60_000;

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

const publishes = (h: Harness) => h.transport.callsOf('publish').map((c) => c.input);

/** Started, listed, first write answered: online and at rest. */
async function live(h: Harness, options?: StartOptions) {
  h.send({ type: 'session.start', ...(options ? { options } : {}) });
  h.transport.resolve('identify', ada);
  await flush();
  h.transport.emit({ type: 'transport.connected' });
  h.transport.resolve('loadRoster', { peers: [], receivedAtLocal: Date.now() });
  await flush();
  await answer(h);
}

/** The server answers the write in flight, if there is one. */
async function answer(h: Harness) {
  const call = h.transport.pending('write');
  if (isCallOf(call, 'publish')) h.transport.resolve('write', published(call.input, h.clock.now()));
  else if (call) h.transport.resolve('write');
  await flush();
}

/** Let `ms` pass in 1 s steps, answering every write (heartbeats included); `input` each step. */
async function pass(h: Harness, ms: number, input = false) {
  for (let t = 0; t < ms; t += 1_000) {
    if (input) h.send({ type: 'page.input' });
    vi.advanceTimersByTime(Math.min(1_000, ms - t));
    await answer(h);
  }
}

describe('idleMs: a visible tab without input turns away', () => {
  it('goes away after idleMs without input with one write, and back to the custom status on input with one write', async () => {
    const h = harness();
    await live(h, { idleMs: IDLE, status: 'busy' });
    await pass(h, IDLE - 1_000);
    expect(selectPhase(h.snapshot())).toBe('online');
    const before = publishes(h).length;
    vi.advanceTimersByTime(999);
    expect(selectPhase(h.snapshot())).toBe('online');
    vi.advanceTimersByTime(1);
    // The tab tells its coordinator it no longer counts as looking; alone, that is the person.
    expect(h.tabs.commands.at(-1)).toEqual({ type: 'visibility', visible: false });
    expect(selectPhase(h.snapshot())).toBe('away');
    expect(selectMe(h.snapshot())).toBe(AWAY);
    expect(h.roster.get('u1')?.status).toBe(AWAY);
    expect(publishes(h).slice(before).map((p) => p.status)).toEqual([AWAY]);
    await answer(h);

    const whileAway = publishes(h).length;
    h.send({ type: 'page.input' });
    expect(h.tabs.commands.at(-1)).toEqual({ type: 'visibility', visible: true });
    expect(selectPhase(h.snapshot())).toBe('online');
    expect(selectMe(h.snapshot())).toBe('busy');
    expect(publishes(h).slice(whileAway).map((p) => p.status)).toEqual(['busy']);
  });

  it('input alone never costs a write: only the heartbeat writes while the person keeps working', async () => {
    const h = harness();
    await live(h, { idleMs: IDLE });
    const before = publishes(h).length;
    // Ten minutes of steady input: no transition, so only heartbeats (H × 0.9 apart here).
    await pass(h, 10 * 60_000, true);
    expect(selectPhase(h.snapshot())).toBe('online');
    const written = publishes(h).slice(before);
    expect(written.every((p) => p.status === 'online')).toBe(true);
    expect(written.length).toBeLessThanOrEqual(Math.ceil((10 * 60_000) / (25_000 * 0.8)));
    // Between two heartbeats, input by the second writes nothing.
    const now = publishes(h).length;
    await pass(h, 15_000, true);
    expect(publishes(h).length - now).toBeLessThanOrEqual(1);
  });

  it('each input restarts the count', async () => {
    const h = harness();
    await live(h, { idleMs: IDLE });
    await pass(h, IDLE - 5_000);
    h.send({ type: 'page.input' });
    await pass(h, IDLE - 1_000);
    expect(selectPhase(h.snapshot())).toBe('online');
    await pass(h, 1_000);
    expect(selectPhase(h.snapshot())).toBe('away');
  });

  it('the page shown again counts as input: an idle tab that comes back to view is active', async () => {
    const h = harness();
    await live(h, { idleMs: IDLE });
    h.send({ type: 'page.hidden' });
    await pass(h, IDLE);
    expect(selectPhase(h.snapshot())).toBe('away');
    h.send({ type: 'page.visible' });
    expect(selectPhase(h.snapshot())).toBe('online');
    expect(h.tabs.commands.at(-1)).toEqual({ type: 'visibility', visible: true });
    await pass(h, IDLE - 1_000);
    expect(selectPhase(h.snapshot())).toBe('online');
  });

  it('a hidden page that goes idle stays hidden to its coordinator (never told visible)', async () => {
    const h = harness();
    await live(h, { idleMs: IDLE });
    h.send({ type: 'page.hidden' });
    await pass(h, 2 * IDLE);
    expect(h.tabs.commands.filter((c) => c.type === 'visibility').slice(-2)).toEqual([
      { type: 'visibility', visible: false },
      { type: 'visibility', visible: false },
    ]);
    // Stopping while hidden and idle: the coordinator hears the page's own visibility, still hidden.
    h.send({ type: 'session.stop' });
    expect(h.tabs.commands.filter((c) => c.type === 'visibility').at(-1)).toEqual({ type: 'visibility', visible: false });
  });

  it('defaults to 5 minutes', async () => {
    expect(DEFAULT_IDLE_MS).toBe(300_000);
    const h = harness();
    await live(h);
    await pass(h, DEFAULT_IDLE_MS - 1_000);
    expect(selectPhase(h.snapshot())).toBe('online');
    await pass(h, 1_000);
    expect(selectPhase(h.snapshot())).toBe('away');
  });

  it.each([0, false] as const)('idleMs %s turns it off: online after an hour without input', async (idleMs) => {
    const h = harness();
    await live(h, { idleMs });
    await pass(h, 60 * 60_000);
    expect(selectPhase(h.snapshot())).toBe('online');
    expect(publishes(h).every((p) => p.status === 'online')).toBe(true);
  });

  it('auto: false disables it as it disables visibility-away', async () => {
    const h = harness();
    await live(h, { idleMs: IDLE, auto: false, status: 'busy' });
    await pass(h, 2 * IDLE);
    expect(selectMe(h.snapshot())).toBe('busy');
    expect(publishes(h).every((p) => p.status === 'busy')).toBe(true);
  });

  it('a new idleMs from start() counts from the next input', async () => {
    const h = harness();
    await live(h, { idleMs: 0 });
    await pass(h, 10 * 60_000);
    h.send({ type: 'session.start', options: { idleMs: IDLE } });
    await answer(h);
    h.send({ type: 'page.input' });
    await pass(h, IDLE);
    expect(selectPhase(h.snapshot())).toBe('away');
    h.send({ type: 'session.start', options: { idleMs: false } });
    await answer(h);
    h.send({ type: 'page.input' });
    await pass(h, 10 * IDLE);
    expect(selectPhase(h.snapshot())).toBe('online');
  });
});

describe('idleMs: validated once, in startProblem', () => {
  it.each([0, false, 1_000, 300_000, 10 * 24 * 60 * 60 * 1000, undefined])('accepts %s', (idleMs) => {
    expect(startProblem({ idleMs })).toBeNull();
  });

  it.each([-1, 999, NaN, Infinity, '60000', true, null, 11 * 24 * 60 * 60 * 1000])('refuses %s with a clear error and no command', (idleMs) => {
    expect(startProblem({ idleMs })).toBe(`idleMs must be a number from 1000 to 864000000, got ${String(idleMs)}`);
    const h = harness();
    const seq = selectSeq(h.snapshot());
    h.send({ type: 'session.start', options: { idleMs } as unknown as StartOptions });
    expect(selectSeq(h.snapshot())).toBe(seq);
    expect(selectPhase(h.snapshot())).toBe('idle');
    expect(selectError(h.snapshot())).toBe(startProblem({ idleMs }));
  });
});

describe('an idle tab whose page is visible beats as visible', () => {
  const H = 25_000;

  /** No write for `ms - 1`, then one at `ms` (counted from now). */
  function beatsAfter(h: Harness, ms: number) {
    const writes = publishes(h).length;
    vi.advanceTimersByTime(ms - 1);
    expect(publishes(h)).toHaveLength(writes);
    vi.advanceTimersByTime(1);
    expect(publishes(h)).toHaveLength(writes + 1);
  }

  it('away with the visible expiry and cadence (a sleeping laptop leaves within 3 H); its page hidden writes the 5-minute expiry at once and slows', async () => {
    const h = harness({ random: () => 1 });
    await live(h, { idleMs: IDLE, heartbeatMs: H });
    await pass(h, IDLE - 1_000);
    vi.advanceTimersByTime(1_000);
    expect(selectMe(h.snapshot())).toBe(AWAY);
    expect(publishes(h).at(-1)).toMatchObject({ status: AWAY, expiresAt: h.clock.now() + 3 * H });
    await answer(h);

    // The next beat comes a visible heartbeat later (r = 1: H after the last write), not a minute.
    beatsAfter(h, H);
    expect(publishes(h).at(-1)).toMatchObject({ status: AWAY, expiresAt: h.clock.now() + 3 * H });
    await answer(h);

    // Its page hidden: its timers may be throttled now, so the longer expiry is written at once.
    vi.advanceTimersByTime(1_000);
    const writes = publishes(h).length;
    h.send({ type: 'page.hidden' });
    await flush();
    expect(publishes(h)).toHaveLength(writes + 1);
    expect(publishes(h).at(-1)).toMatchObject({ status: AWAY, expiresAt: h.clock.now() + 300_000 });
    await answer(h);
    // … and the beat slows to max(H, 60 s) × 1.1.
    beatsAfter(h, 66_000);
    h.actor.stop();
  });
});
