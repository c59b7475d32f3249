// @vitest-environment happy-dom
import Alpine from 'alpinejs';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  bindPresence,
  ROSTER_EVERY_MS,
  ROSTER_MAX_MS,
  ROSTER_SHARE,
  type FrameScheduler,
  type PresenceMagic,
  type PresenceSource,
} from '../../src/bindings/alpine';
import type { PresenceView } from '../../src/presence';
import { colorOf, type PresenceRecord } from '../../src/records';

/** A hand-driven controller: the binding's only collaborator, faked inside this unit test. */
function fakeSource() {
  const listeners = new Set<() => void>();
  let version = 0;
  let view: PresenceView = { list: [], records: Object.create(null), me: null, ready: false, error: null };
  const calls: string[] = [];
  const source: PresenceSource = {
    start: async () => (calls.push('start'), true),
    set: async (status) => (calls.push(`set:${status}`), true),
    clear: async () => (calls.push('clear'), true),
    stop: async () => (calls.push('stop'), true),
    beforeSignOut: async () => (calls.push('beforeSignOut'), true),
    view: () => view,
    rosterVersion: () => version,
    subscribe: (listener) => (listeners.add(listener), () => listeners.delete(listener)),
  };
  return {
    source,
    calls,
    emit(change: Partial<PresenceView>, rosterChanged = false) {
      if (rosterChanged) version++;
      view = { ...view, ...change };
      listeners.forEach((listener) => listener());
    },
  };
}

const person = (userId: string, status: string): PresenceRecord => ({
  userId,
  status,
  metadata: { name: null, color: colorOf(userId) },
  color: colorOf(userId),
  lastSeen: 1,
  expiresAt: null,
});

function rosterOf(...people: PresenceRecord[]) {
  const records = Object.create(null) as Record<string, PresenceRecord>;
  for (const p of people) records[p.userId] = p;
  return { list: people, records };
}

/** Frames run when the test says so, so batching is observable. */
function manualFrames() {
  const queue: (() => void)[] = [];
  const frames: FrameScheduler = { request: (cb) => queue.push(cb) };
  return { frames, pending: () => queue.length, run: () => queue.splice(0).forEach((cb) => cb()) };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('$presence in Alpine (happy-dom)', () => {
  let fake: ReturnType<typeof fakeSource>;
  let frames: ReturnType<typeof manualFrames>;
  let magic: PresenceMagic;

  beforeAll(() => Alpine.start());

  beforeEach(async () => {
    fake = fakeSource();
    frames = manualFrames();
    document.body.innerHTML = `
      <div x-data>
        <p id="ready" x-text="$presence.ready"></p>
        <b id="me" x-text="$presence.me"></b>
        <i id="error" x-text="$presence.error"></i>
        <ul><template x-for="p in $presence.list" :key="p.userId"><li x-text="p.userId + ':' + p.status"></li></template></ul>
        <span id="of" x-text="$presence.of('u2')?.status ?? 'absent'"></span>
        <button id="start" @click="$presence.start()"></button>
        <button id="set" @click="$presence.set('busy')"></button>
      </div>`;
    magic = bindPresence(Alpine, fake.source, { frames: frames.frames, rosterEveryMs: 0 });
    Alpine.initTree(document.body.firstElementChild as HTMLElement);
    await tick();
  });

  afterEach(() => {
    Alpine.destroyTree(document.body);
    document.body.innerHTML = '';
  });

  it('returns one stable facade with exactly the seed surface', () => {
    const keys = ['list', 'records', 'me', 'ready', 'error', 'start', 'set', 'of', 'all', 'clear', 'stop', 'beforeSignOut'];
    expect(Object.keys(magic).sort()).toEqual(keys.sort());
    expect(Alpine.evaluate(document.body.firstElementChild as HTMLElement, '$presence')).toBe(magic);
    expect(Alpine.evaluate(document.body.firstElementChild as HTMLElement, '$presence')).toBe(magic);
  });

  it('renders list, me, ready, error and of() reactively after the next frame', async () => {
    fake.emit({ ...rosterOf(person('u1', 'online'), person('u2', 'away')), me: 'online', ready: true }, true);
    expect(document.querySelectorAll('li')).toHaveLength(0); // not before the frame
    frames.run();
    await tick();
    expect([...document.querySelectorAll('li')].map((li) => li.textContent)).toEqual(['u1:online', 'u2:away']);
    expect(document.querySelector('#me')?.textContent).toBe('online');
    expect(document.querySelector('#ready')?.textContent).toBe('true');
    expect(document.querySelector('#of')?.textContent).toBe('away');

    fake.emit({ ...rosterOf(person('u1', 'online')), error: 'Network down' }, true);
    frames.run();
    await tick();
    expect(document.querySelectorAll('li')).toHaveLength(1);
    expect(document.querySelector('#of')?.textContent).toBe('absent');
    expect(document.querySelector('#error')?.textContent).toBe('Network down');
  });

  it('batches a burst of changes into one frame', async () => {
    for (let i = 0; i < 500; i++) fake.emit({ ...rosterOf(person('u1', `s${i}`)) }, true);
    expect(frames.pending()).toBe(1);
    frames.run();
    await tick();
    expect(document.querySelector('li')?.textContent).toBe('u1:s499');
    expect(frames.pending()).toBe(0);
  });

  it('does not touch the list when only me changed (no re-render of the roster)', async () => {
    fake.emit({ ...rosterOf(person('u1', 'online')) }, true);
    frames.run();
    await tick();
    const before = magic.list;
    fake.emit({ me: 'busy' });
    frames.run();
    await tick();
    expect(magic.list).toBe(before);
    expect(document.querySelector('#me')?.textContent).toBe('busy');
  });

  it('a status change patches that person in place: same list, same elements, only their text changes', async () => {
    fake.emit({ ...rosterOf(person('u1', 'online'), person('u2', 'away'), person('u3', 'busy')) }, true);
    frames.run();
    await tick();
    const list = magic.list;
    const items = [...document.querySelectorAll('li')];
    const changed: Node[] = [];
    const observer = new MutationObserver((records) => records.forEach((r) => changed.push(r.target)));
    observer.observe(document.querySelector('ul')!, { subtree: true, childList: true, characterData: true });

    fake.emit({ ...rosterOf(person('u1', 'online'), person('u2', 'editing'), person('u3', 'busy')) }, true);
    frames.run();
    await tick();
    await tick();
    observer.disconnect();
    expect(magic.list).toBe(list); // x-for has nothing to redo
    expect([...document.querySelectorAll('li')]).toEqual(items);
    expect(items.map((li) => li.textContent)).toEqual(['u1:online', 'u2:editing', 'u3:busy']);
    expect(changed.every((node) => node === items[1] || node.parentNode === items[1])).toBe(true);
    expect(changed.length).toBeGreaterThan(0);
    expect(document.querySelector('#of')?.textContent).toBe('editing');
    expect(magic.of('u2')).toBe(magic.list[1]);
  });

  it('metadata equal by value is not written again: a status change leaves what reads it alone', async () => {
    fake.emit({ ...rosterOf(person('u1', 'online')) }, true);
    frames.run();
    await tick();
    let runs = 0;
    const stop = Alpine.effect(() => {
      void magic.of('u1')?.metadata.color;
      runs++;
    });
    // person() builds a new metadata object each time, as the roster does for every change of a row.
    fake.emit({ ...rosterOf(person('u1', 'editing')) }, true);
    frames.run();
    await tick();
    expect(magic.of('u1')?.status).toBe('editing');
    expect(runs).toBe(1);
    fake.emit({ ...rosterOf({ ...person('u1', 'editing'), metadata: { name: 'Ann', color: '#000' } }) }, true);
    frames.run();
    await tick();
    expect(magic.of('u1')?.metadata).toEqual({ name: 'Ann', color: '#000' });
    expect(runs).toBe(2);
    Alpine.release(stop);
  });

  it('rows that did not change cost Alpine nothing, even when the roster hands over new record objects', async () => {
    fake.emit({ ...rosterOf(person('u1', 'online'), person('u2', 'away'), person('u3', 'busy')) }, true);
    frames.run();
    await tick();
    const runs: Record<string, number> = { u1: 0, u2: 0, u3: 0 };
    const effects = ['u1', 'u2', 'u3'].map((id) =>
      Alpine.effect(() => {
        const record = magic.of(id)!;
        void [record.userId, record.status, record.metadata.name, record.metadata.color, record.color, record.lastSeen, record.expiresAt];
        runs[id]!++;
      }),
    );
    // Equal by value, new objects (a rebuilt list); only u2's status differs.
    fake.emit({ ...rosterOf(person('u1', 'online'), person('u2', 'editing'), person('u3', 'busy')) }, true);
    frames.run();
    await tick();
    expect(runs).toEqual({ u1: 1, u2: 2, u3: 1 });
    effects.forEach((effect) => Alpine.release(effect));
  });

  it('someone coming, going or moving rebuilds the list and keeps the others\' records', async () => {
    fake.emit({ ...rosterOf(person('u1', 'online'), person('u2', 'away')) }, true);
    frames.run();
    await tick();
    const u1 = magic.of('u1');
    fake.emit({ ...rosterOf(person('u3', 'busy'), person('u1', 'review')) }, true);
    frames.run();
    await tick();
    expect([...document.querySelectorAll('li')].map((li) => li.textContent)).toEqual(['u3:busy', 'u1:review']);
    expect(magic.of('u1')).toBe(u1); // the same record, patched
    expect(magic.of('u1')?.status).toBe('review');
    expect(magic.of('u2')).toBeNull();
    expect(Object.keys(magic.records).sort()).toEqual(['u1', 'u3']);
    expect(document.querySelector('#of')?.textContent).toBe('absent');
  });

  it('routes clicks to the controller and methods return promises of booleans', async () => {
    (document.querySelector('#start') as HTMLButtonElement).click();
    (document.querySelector('#set') as HTMLButtonElement).click();
    await tick();
    expect(fake.calls).toEqual(['start', 'set:busy']);
    await expect(magic.clear()).resolves.toBe(true);
    await expect(magic.stop()).resolves.toBe(true);
  });

  it('beforeSignOut() reaches the controller and resolves with $presence already signed out', async () => {
    fake.emit({ ...rosterOf(person('me', 'online')), me: 'online', ready: true }, true);
    frames.run();
    fake.source.beforeSignOut = async () => {
      fake.calls.push('beforeSignOut');
      fake.emit({ ...rosterOf(), me: null, ready: false }, true);
      return true;
    };
    await expect(magic.beforeSignOut()).resolves.toBe(true);
    expect(fake.calls).toEqual(['beforeSignOut']);
    expect(magic.me).toBeNull();
    expect(magic.list).toEqual([]);
  });

  it('beforeSignOut() answers a boolean whatever the controller resolves with', async () => {
    fake.source.beforeSignOut = async () => undefined;
    await expect(magic.beforeSignOut()).resolves.toBe(true);
    fake.source.beforeSignOut = async () => false;
    await expect(magic.beforeSignOut()).resolves.toBe(false);
  });

  it('of() answers null for non-strings and unknown ids without throwing', () => {
    expect(magic.of(42 as unknown as string)).toBeNull();
    expect(magic.of('__proto__')).toBeNull();
    expect(magic.all()).toEqual([]);
  });
});

/**
 * A binding on fake timers whose frames come 16 ms after they are asked for, called with a
 * timestamp as requestAnimationFrame calls them; `requests()` counts the frames asked for.
 */
function throttled() {
  vi.useFakeTimers();
  const fake = fakeSource();
  let requests = 0;
  const frames: FrameScheduler = { request: (cb) => (requests++, setTimeout(() => (cb as (t: number) => void)(16.7), 16)) };
  const magic = bindPresence({ reactive: (v) => v, magic: () => undefined }, fake.source, { frames });
  return { fake, magic, requests: () => requests };
}

/** Tracking, with one other person. */
const meAndU1 = () => ({ ...rosterOf(person('u1', 'online'), person('me', 'busy')), me: 'busy', ready: true });

describe('roster commits under a stream of events', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('commits the roster at once after a quiet spell, then at most every 250 ms, and never loses the last change', () => {
    const { fake, magic, requests } = throttled();
    const commits: number[] = [];
    const t0 = Date.now();
    let shown = '';
    for (let i = 0; i < 100; i++) {
      fake.emit({ ...rosterOf(person('u1', `s${i}`)), ready: true }, true);
      vi.advanceTimersByTime(10); // 100 events a second for one second
      const status = magic.of('u1')?.status ?? '';
      if (status !== shown) {
        shown = status;
        commits.push(Date.now() - t0);
      }
    }
    vi.advanceTimersByTime(ROSTER_EVERY_MS + 16);
    expect(magic.of('u1')?.status).toBe('s99');
    expect(commits[0]).toBeLessThanOrEqual(20); // the first change: next frame
    for (let i = 1; i < commits.length; i++) expect(commits[i]! - commits[i - 1]!).toBeGreaterThanOrEqual(ROSTER_EVERY_MS);
    expect(commits.length).toBeLessThanOrEqual(5);
    // Between commits the binding waits on a timer: an animation frame is asked for only to commit
    // (each one costs the page a style/layout/paint pass), not once per event.
    expect(requests()).toBeLessThanOrEqual(commits.length + 1);
  });

  it('a change of me or ready carries the roster with it, whatever the throttle', () => {
    const { fake, magic } = throttled();
    fake.emit({ ...rosterOf(person('u1', 'online')) }, true);
    vi.advanceTimersByTime(16);
    fake.emit(meAndU1(), true);
    vi.advanceTimersByTime(16); // well within the 250 ms
    expect(magic.me).toBe('busy');
    expect(magic.ready).toBe(true);
    expect(magic.of('me')?.status).toBe('busy');
  });

  it('a frame that shows a new error does not carry the roster past the throttle', () => {
    const { fake, magic } = throttled();
    fake.emit({ ...rosterOf(person('u1', 'online')), ready: true }, true);
    vi.advanceTimersByTime(16);
    fake.emit({ ...rosterOf(person('u1', 'busy')), error: 'Network down' }, true);
    vi.advanceTimersByTime(16);
    expect({ error: magic.error, status: magic.of('u1')?.status }).toEqual({ error: 'Network down', status: 'online' });
    vi.advanceTimersByTime(ROSTER_EVERY_MS);
    expect(magic.of('u1')?.status).toBe('busy');
  });

  it('a command resolves with $presence already showing its outcome', async () => {
    const { fake, magic } = throttled();
    fake.emit(meAndU1(), true);
    vi.advanceTimersByTime(16);
    const source = fake.source;
    source.stop = async () => {
      fake.emit({ ...rosterOf(), me: null, ready: false }, true);
      return true;
    };
    expect(await magic.stop()).toBe(true); // no frame has run since
    expect({ list: magic.list, me: magic.me, ready: magic.ready }).toEqual({ list: [], me: null, ready: false });
  });

  it('a roster emptied after the session stopped shows at once, whatever the throttle', () => {
    const { fake, magic } = throttled();
    fake.emit(meAndU1(), true);
    vi.advanceTimersByTime(16);
    // stop(): `me` and `ready` go first (stopping), the roster is forgotten a round trip later.
    fake.emit({ ...rosterOf(person('u1', 'online')), me: null, ready: false }, true);
    vi.advanceTimersByTime(16);
    expect(magic.list.map((p) => p.userId)).toEqual(['u1']);
    fake.emit({ ...rosterOf() }, true);
    vi.advanceTimersByTime(16); // well within the 250 ms
    expect(magic.list).toEqual([]);
  });
});

describe('roster commits spaced by what they cost the page', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Frames 16 ms after they are asked for, each commit's frame taking `cost` ms to render. */
  function costly(cost: number) {
    vi.useFakeTimers();
    const fake = fakeSource();
    const frames: FrameScheduler = {
      request: (cb) => setTimeout(cb, 16),
      after: (cb) => setTimeout(cb, cost),
    };
    const magic = bindPresence({ reactive: (v) => v, magic: () => undefined }, fake.source, { frames });
    return { fake, magic };
  }

  /** 100 status changes a second for `seconds`; when each new status first showed, in ms from the start. */
  function stream({ fake, magic }: ReturnType<typeof costly>, seconds: number) {
    const shown: number[] = [];
    const t0 = Date.now();
    let last = '';
    for (let i = 0; i < seconds * 100; i++) {
      fake.emit({ ...rosterOf(person('u1', `s${i}`)), ready: true }, true);
      vi.advanceTimersByTime(10);
      const status = magic.of('u1')?.status ?? '';
      if (status !== last) shown.push(Date.now() - t0), (last = status);
    }
    return shown;
  }
  const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

  it('a commit whose frame took 12 ms is followed by the next no sooner than 12 ms / ROSTER_SHARE', () => {
    const binding = costly(12);
    const shown = stream(binding, 5);
    const spacing = 12 / ROSTER_SHARE;
    expect(spacing).toBeGreaterThan(ROSTER_EVERY_MS);
    // The first commit is measured before the second is due; from then on the spacing holds.
    for (const gap of gaps(shown).slice(1)) expect(gap).toBeGreaterThanOrEqual(spacing);
    expect(shown.length).toBeGreaterThanOrEqual((5000 - ROSTER_EVERY_MS) / (spacing + 20));
    vi.advanceTimersByTime(spacing + 16);
    expect(binding.magic.of('u1')?.status).toBe('s499'); // the last change still shows
  });

  it('however dear the commits, a stream shows at least every ROSTER_MAX_MS', () => {
    const shown = stream(costly(100), 5);
    for (const gap of gaps(shown).slice(1)) {
      expect(gap).toBeGreaterThanOrEqual(ROSTER_MAX_MS);
      expect(gap).toBeLessThanOrEqual(ROSTER_MAX_MS + 30); // the frame, and the 10 ms between events
    }
  });

  it('cheap commits keep the ROSTER_EVERY_MS rhythm', () => {
    const shown = stream(costly(1), 3);
    for (const gap of gaps(shown)) expect(gap).toBeLessThanOrEqual(ROSTER_EVERY_MS + 30);
    expect(shown.length).toBeGreaterThanOrEqual(3000 / (ROSTER_EVERY_MS + 30));
  });
});

describe('default frame scheduler', () => {
  it('falls back to a timer when the page is hidden', async () => {
    vi.useFakeTimers();
    const { animationFrames } = await import('../../src/bindings/alpine');
    Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
    const spy = vi.fn();
    animationFrames.request(spy);
    vi.advanceTimersByTime(16);
    expect(spy).toHaveBeenCalledTimes(1);
    // Nothing is rendered while hidden (and timers are throttled): no commit is measured there.
    const after = vi.fn();
    animationFrames.after?.(after);
    vi.advanceTimersByTime(1_000);
    expect(after).not.toHaveBeenCalled();
    Object.defineProperty(document, 'visibilityState', { value: 'visible', configurable: true });
    animationFrames.after?.(after);
    vi.advanceTimersByTime(0);
    expect(after).toHaveBeenCalledTimes(1);
    vi.useRealTimers();
  });
});
