import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DRIFT, ServerClock } from '../../src/machines/clock';

const T0 = Date.parse('2026-08-21T10:00:00.000Z');

describe('ServerClock', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0);
  });
  afterEach(() => vi.useRealTimers());

  it('is the local clock until a sample arrives', () => {
    const clock = new ServerClock();
    expect(clock.offset).toBe(0);
    expect(clock.now()).toBe(T0);
    expect(clock.toLocal(T0 + 5)).toBe(T0 + 5);
  });

  it('takes the midpoint of a round trip', () => {
    const clock = new ServerClock();
    // Sent at 0, answered at 100: the server stamped 600 000 somewhere in between.
    expect(clock.sampleRoundTrip(T0 + 600_000, T0, T0 + 100)).toBe(true);
    expect(clock.offset).toBe(600_000 - 50);
  });

  it('reads Date.now() at call time, so fake time moves now()', () => {
    const clock = new ServerClock();
    clock.sampleRoundTrip(T0 - 600_000, T0, T0);
    vi.advanceTimersByTime(1_234);
    expect(clock.now()).toBe(T0 + 1_234 - 600_000);
    expect(clock.toLocal(T0 - 600_000)).toBe(T0);
  });

  it('keeps the sample with the smaller round trip', () => {
    const clock = new ServerClock();
    clock.sampleRoundTrip(T0 + 1_000, T0, T0 + 20); // offset in [980, 1000]
    // 1 s later a slow answer, consistent with the first: ignored.
    expect(clock.sampleRoundTrip(T0 + 2_300, T0 + 1_000, T0 + 1_400)).toBe(false);
    expect(clock.offset).toBe(990);
    // A faster one replaces it.
    expect(clock.sampleRoundTrip(T0 + 3_000 + 995, T0 + 3_000, T0 + 3_004)).toBe(true);
    expect(clock.offset).toBe(993);
  });

  it('lets an old narrow sample give way to a fresh wider one (a drifting clock is followed)', () => {
    const clock = new ServerClock();
    const heldAt = T0 + 20;
    clock.sampleRoundTrip(T0 + 1_000, T0, heldAt); // [980, 1000]: half-width 10 ms
    // A 100 ms round trip (half-width 50) wins once the held one has gained 40 ms of doubt.
    const ageToLose = 40 / DRIFT; // 40 s
    const early = heldAt + ageToLose - 1_000;
    expect(clock.sampleRoundTrip(early - 100 + 1_030, early - 100, early)).toBe(false);
    expect(clock.offset).toBe(990);
    const late = heldAt + ageToLose + 1_000;
    expect(clock.sampleRoundTrip(late - 100 + 1_030, late - 100, late)).toBe(true);
    expect(clock.offset).toBe(980);
  });

  it('follows a clock that stepped: a sample disjoint from the held one replaces it at once', () => {
    const clock = new ServerClock();
    clock.sampleRoundTrip(T0 + 1_000, T0, T0 + 10);
    // The local clock was set back ten minutes: the offset grew by 600 000.
    expect(clock.sampleRoundTrip(T0 + 601_000 + 500, T0 + 50, T0 + 450)).toBe(true);
    expect(clock.offset).toBe(601_000 + 500 - 250);
  });

  it('uses an event timestamp only when it proves the estimate too low', () => {
    const clock = new ServerClock();
    clock.sampleRoundTrip(T0 + 1_000, T0, T0 + 100); // offset in [900, 1000], estimate 950
    // Stamped 980 ms ahead of our receipt: consistent with the interval, ignored.
    expect(clock.sampleLowerBound(T0 + 200 + 980, T0 + 200)).toBe(false);
    expect(clock.offset).toBe(950);
    // Stamped 5 s ahead: the interval cannot hold; the bound itself becomes the estimate.
    expect(clock.sampleLowerBound(T0 + 300 + 5_000, T0 + 300)).toBe(true);
    expect(clock.offset).toBe(5_000);
    // A lower bound never pulls the estimate down.
    expect(clock.sampleLowerBound(T0 + 400 + 4_000, T0 + 400)).toBe(false);
    expect(clock.offset).toBe(5_000);
  });

  it('before any round trip, takes the highest lower bound', () => {
    const clock = new ServerClock();
    expect(clock.sampleLowerBound(T0 - 600_000, T0)).toBe(true);
    expect(clock.offset).toBe(-600_000);
    expect(clock.sampleLowerBound(T0 - 599_900, T0 + 50)).toBe(true);
    expect(clock.offset).toBe(-599_950);
    expect(clock.sampleLowerBound(T0 - 700_000, T0 + 60)).toBe(false);
    expect(clock.offset).toBe(-599_950);
    // A round trip always beats lower bounds alone.
    expect(clock.sampleRoundTrip(T0 + 100 - 599_900, T0 + 100, T0 + 120)).toBe(true);
    expect(clock.offset).toBe(-599_910);
  });

  it('ignores non-finite or backwards samples', () => {
    const clock = new ServerClock();
    expect(clock.sampleRoundTrip(Number.NaN, T0, T0 + 1)).toBe(false);
    expect(clock.sampleRoundTrip(T0, T0 + 10, T0)).toBe(false);
    expect(clock.sampleRoundTrip(T0, Infinity, Infinity)).toBe(false);
    expect(clock.sampleLowerBound(Infinity, T0)).toBe(false);
    expect(clock.sampleLowerBound('x' as unknown as number, T0)).toBe(false);
    expect(clock.offset).toBe(0);
  });
});
