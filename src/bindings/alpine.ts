/**
 * The only place where the presence actor meets Alpine. One controller subscription feeds one
 * `Alpine.reactive` view, flushed at most once per animation frame, so a burst of peer events
 * renders once. `$presence` returns the same facade object on every read (Alpine calls magic
 * callbacks on every access); its methods return promises of booleans and never throw.
 */
import type { PresenceController, PresenceView, StartOptions } from '../presence';
import type { PresenceRecord } from '../records';
import type { Metadata } from '../transport/types';

/** The slice of Alpine this binding uses; the plugin receives the page's own Alpine. */
export interface AlpineLike {
  reactive<T extends object>(value: T): T;
  magic(name: string, callback: (el: unknown) => unknown): void;
}

/** What `$presence` is in markup: exactly the seed's properties and methods. */
export interface PresenceMagic {
  readonly list: PresenceRecord[];
  readonly records: Record<string, PresenceRecord>;
  readonly me: string | null;
  readonly ready: boolean;
  readonly error: string | null;
  start(options?: StartOptions): Promise<boolean>;
  set(status: string, metadata?: Metadata): Promise<boolean>;
  of(userId: string): PresenceRecord | null;
  all(): PresenceRecord[];
  clear(): Promise<boolean>;
  stop(): Promise<boolean>;
}

/** What the binding needs of a controller (a lazily configured one qualifies too). */
export type PresenceSource = Pick<PresenceController, 'start' | 'set' | 'clear' | 'stop' | 'view' | 'rosterVersion' | 'subscribe'>;

export interface FrameScheduler {
  request(callback: () => void): unknown;
}

/** requestAnimationFrame when the page has one, else a 16 ms timer (looked up at call time). */
export const animationFrames: FrameScheduler = {
  request(callback) {
    const raf = (globalThis as { requestAnimationFrame?: (cb: () => void) => unknown }).requestAnimationFrame;
    // A hidden page gets no animation frames; its roster must still be current when it comes back.
    const hidden = (globalThis as { document?: { visibilityState?: string } }).document?.visibilityState === 'hidden';
    return raf && !hidden ? raf(callback) : setTimeout(callback, 16);
  },
};

/**
 * Bind a controller to Alpine: registers `$presence` and returns the facade.
 *
 * @example
 * import Alpine from 'alpinejs';
 * bindPresence(Alpine, createPresence({ transport }));
 * Alpine.start(); // <p x-text="$presence.me"></p>
 */
export function bindPresence(
  Alpine: AlpineLike,
  controller: PresenceSource,
  frames: FrameScheduler = animationFrames,
): PresenceMagic {
  const view = Alpine.reactive<PresenceView>({ ...controller.view() });
  let scheduled = false;
  let rosterVersion = controller.rosterVersion();

  const flush = () => {
    scheduled = false;
    const next = controller.view();
    // Assign only what changed: each assignment is a reactive write that Alpine re-renders.
    if (rosterVersion !== controller.rosterVersion()) {
      rosterVersion = controller.rosterVersion();
      view.list = next.list;
      view.records = next.records;
    }
    if (view.me !== next.me) view.me = next.me;
    if (view.ready !== next.ready) view.ready = next.ready;
    if (view.error !== next.error) view.error = next.error;
  };
  controller.subscribe(() => {
    if (scheduled) return;
    scheduled = true;
    frames.request(flush);
  });

  const facade: PresenceMagic = {
    get list() {
      return view.list;
    },
    get records() {
      return view.records;
    },
    get me() {
      return view.me;
    },
    get ready() {
      return view.ready;
    },
    get error() {
      return view.error;
    },
    start: (options) => controller.start(options),
    set: (status, metadata) => controller.set(status, metadata),
    // Read through the reactive view so `x-show="$presence.of(id)"` re-renders on change.
    of: (userId) => (typeof userId === 'string' ? (view.records[userId] ?? null) : null),
    all: () => view.list,
    clear: () => controller.clear(),
    stop: () => controller.stop(),
  };
  Alpine.magic('presence', () => facade);
  return facade;
}
