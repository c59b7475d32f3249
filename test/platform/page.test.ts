/**
 * The page watcher's input (issue 13, part 1): passive, captured listeners for the person's input,
 * at most one `page.input` per INPUT_EVERY_MS (the first at once), removed when the actor stops.
 * Fake time; a fake document records its listeners.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor, createMachine, type EventObject } from 'xstate';
import { INPUT_EVENTS, INPUT_EVERY_MS, watchPage, type DocumentLike } from '../../src/platform/page';

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(Date.UTC(2026, 0, 1));
});
afterEach(() => vi.useRealTimers());

function fakeDocument() {
  const listeners = new Map<string, { listener: () => void; options: unknown }[]>();
  const doc: DocumentLike & { fire(type: string): void; count(type: string): number } = {
    visibilityState: 'visible',
    addEventListener(type, listener, options) {
      listeners.set(type, [...(listeners.get(type) ?? []), { listener, options }]);
    },
    removeEventListener(type, listener) {
      listeners.set(type, (listeners.get(type) ?? []).filter((l) => l.listener !== listener));
    },
    fire: (type) => (listeners.get(type) ?? []).forEach((l) => l.listener()),
    count: (type) => (listeners.get(type) ?? []).length,
  };
  return { doc, listeners };
}

/** The watcher as a parent's child, recording what it sends back. */
function watch(doc: DocumentLike) {
  const received: EventObject[] = [];
  const parent = createActor(
    createMachine({ invoke: { src: watchPage(doc, null) }, on: { '*': { actions: ({ event }) => received.push(event) } } }),
  ).start();
  return { received, inputs: () => received.filter((e) => e.type === 'page.input').length, stop: () => parent.stop() };
}

describe('watchPage: the person\'s input', () => {
  it('listens passively, in the capture phase, to pointer, key, touch, wheel and scroll', () => {
    const { doc, listeners } = fakeDocument();
    const w = watch(doc);
    expect(INPUT_EVENTS).toEqual(['pointerdown', 'pointermove', 'keydown', 'touchstart', 'wheel', 'scroll']);
    for (const type of INPUT_EVENTS) expect(listeners.get(type)?.map((l) => l.options)).toEqual([{ passive: true, capture: true }]);
    w.stop();
    for (const type of INPUT_EVENTS) expect(doc.count(type)).toBe(0);
    expect(doc.count('visibilitychange')).toBe(0);
  });

  it('reports the first input at once, then at most one per INPUT_EVERY_MS whatever the rate', () => {
    const { doc } = fakeDocument();
    const w = watch(doc);
    doc.fire('pointermove');
    expect(w.inputs()).toBe(1);
    // 120 pointermoves a second for 3 s: 3 000 / INPUT_EVERY_MS more at most.
    for (let i = 0; i < 360; i++) {
      vi.advanceTimersByTime(1000 / 120);
      doc.fire(INPUT_EVENTS[i % INPUT_EVENTS.length]!);
    }
    expect(w.inputs()).toBeGreaterThanOrEqual(3000 / INPUT_EVERY_MS);
    expect(w.inputs()).toBeLessThanOrEqual(1 + 3000 / INPUT_EVERY_MS);
    w.stop();
  });

  it('a wall clock set back does not silence input', () => {
    const { doc } = fakeDocument();
    const w = watch(doc);
    doc.fire('keydown');
    vi.setSystemTime(Date.now() - 60 * 60_000);
    doc.fire('keydown');
    expect(w.inputs()).toBe(2);
    w.stop();
  });

  it('sends nothing after it stopped', () => {
    const { doc } = fakeDocument();
    const w = watch(doc);
    w.stop();
    doc.fire('pointerdown');
    expect(w.inputs()).toBe(0);
  });
});
