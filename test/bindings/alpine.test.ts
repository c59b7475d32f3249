// @vitest-environment happy-dom
import Alpine from 'alpinejs';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { bindPresence, type FrameScheduler, type PresenceMagic, type PresenceSource } from '../../src/bindings/alpine';
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
    magic = bindPresence(Alpine, fake.source, frames.frames);
    Alpine.initTree(document.body.firstElementChild as HTMLElement);
    await tick();
  });

  afterEach(() => {
    Alpine.destroyTree(document.body);
    document.body.innerHTML = '';
  });

  it('returns one stable facade with exactly the seed surface', () => {
    const keys = ['list', 'records', 'me', 'ready', 'error', 'start', 'set', 'of', 'all', 'clear', 'stop'];
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

  it('routes clicks to the controller and methods return promises of booleans', async () => {
    (document.querySelector('#start') as HTMLButtonElement).click();
    (document.querySelector('#set') as HTMLButtonElement).click();
    await tick();
    expect(fake.calls).toEqual(['start', 'set:busy']);
    await expect(magic.clear()).resolves.toBe(true);
    await expect(magic.stop()).resolves.toBe(true);
  });

  it('of() answers null for non-strings and unknown ids without throwing', () => {
    expect(magic.of(42 as unknown as string)).toBeNull();
    expect(magic.of('__proto__')).toBeNull();
    expect(magic.all()).toEqual([]);
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
    Object.defineProperty(document, 'visibilityState', { value: 'visible', configurable: true });
    vi.useRealTimers();
  });
});
