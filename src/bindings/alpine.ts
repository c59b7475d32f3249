/**
 * The only place where the presence actor meets Alpine. One controller subscription feeds one
 * `Alpine.reactive` view, flushed at most once per animation frame, so a burst of peer events
 * renders once; the roster is committed at most every ROSTER_EVERY_MS, except together with a
 * change of `me` or `ready` (so `me` and our own record, `ready` and the list, always agree) and
 * whenever the session is not ready (a stream only flows while it is; stop() empties the list at once).
 * A commit's cost (its frame: Alpine's effects, style, layout, paint) is measured, and the next one
 * waits until commits would take at most ROSTER_SHARE of the main thread, never over ROSTER_MAX_MS:
 * a page that lays out a thousand rows pays a whole-list rendering pass per commit, however few
 * rows changed. While the roster waits for its turn no frame is requested (a timer does the
 * waiting): a frame costs the page a rendering pass even when nothing is written.
 * Records are the binding's own copies, patched in place, field by field (metadata by value): a
 * status change re-renders only what reads that person's status; `list` is a new array (and
 * `x-for` runs) only when someone comes, goes or moves. `$presence` returns the same facade
 * object on every read (Alpine calls magic callbacks on every access); its methods return
 * promises of booleans that never reject and resolve with the view already showing the outcome.
 */
import type { PresenceController, PresenceView, StartOptions } from '../presence';
import { sameJson, type PresenceRecord } from '../records';
import type { Metadata } from '../transport/types';

/** The slice of Alpine this binding uses; the plugin receives the page's own Alpine. */
export interface AlpineLike {
  reactive<T extends object>(value: T): T;
  magic(name: string, callback: (el: unknown) => unknown): void;
}

/** What `$presence` is in markup: the seed's properties and methods, plus `beforeSignOut()`. */
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
  /**
   * Call before deleting the session (apps without Manifest; Manifest's logout does it itself):
   * ends the person's row in every tab of theirs while the session still works. True when the
   * row is gone or there was none. Tracking resumes with the next identity or `start()`.
   */
  beforeSignOut(): Promise<boolean>;
}

/** What the binding needs of a controller (a lazily configured one qualifies too). */
export type PresenceSource = Pick<PresenceController, 'start' | 'set' | 'clear' | 'stop' | 'view' | 'rosterVersion' | 'subscribe'> & {
  /** True (or, from an older core, nothing) once the person's row is gone; false when it may remain. */
  beforeSignOut(): Promise<boolean | void>;
};

export interface FrameScheduler {
  request(callback: () => void): unknown;
  /**
   * Calls back in a later task, once the frame that `request`'s callback is part of has been
   * rendered. Without it commits are not measured (and never spaced wider than `rosterEveryMs`).
   */
  after?(callback: () => void): unknown;
}

const hidden = () => (globalThis as { document?: { visibilityState?: string } }).document?.visibilityState === 'hidden';

/** requestAnimationFrame when the page has one, else a 16 ms timer (looked up at call time). */
export const animationFrames: FrameScheduler = {
  request(callback) {
    const raf = (globalThis as { requestAnimationFrame?: (cb: () => void) => unknown }).requestAnimationFrame;
    // A hidden page gets no animation frames; its roster must still be current when it comes back.
    return raf && !hidden() ? raf(callback) : setTimeout(callback, 16);
  },
  // A task queued from an animation frame callback runs after that frame's style, layout and
  // paint. A hidden page renders nothing and its timers are throttled: nothing to measure there.
  after: (callback) => hidden() || setTimeout(callback, 0),
};

/**
 * The roster is committed to the page at most this often (`me`, `ready` and `error` every frame).
 * A change after a quiet spell shows in the next frame; a stream of them (hundreds of events a
 * second in a big room) shows every 250 ms, or up to every ROSTER_MAX_MS where commits are dear
 * (ROSTER_SHARE), instead of making the browser lay the list out 60 times a second.
 */
export const ROSTER_EVERY_MS = 250;

/**
 * Share of the main thread roster commits may take under a stream: a commit whose frame took
 * 10 ms is followed by the next no sooner than 500 ms later. Measured in Chromium on a page that
 * lists 1 000 people under 400 status changes a second (bench/browser.mjs), a commit's frame costs
 * ~5 ms whatever changed plus ~70 µs per changed row (Alpine's effect, then that row's style,
 * layout and paint): every 250 ms that was ~11 ms a commit, 4–5 % of the main thread for the
 * list alone; spaced by this share (capped at ROSTER_MAX_MS), ~2.5 %.
 */
export const ROSTER_SHARE = 0.02;
/** However dear the commits, a stream of changes shows at least this often. */
export const ROSTER_MAX_MS = 1_000;

export interface BindOptions {
  /** When to flush (default: animation frames, a 16 ms timer while hidden). */
  frames?: FrameScheduler;
  /**
   * Least time between two roster commits, in ms (default ROSTER_EVERY_MS; 0 = every frame);
   * measured commits stretch it (see ROSTER_SHARE) up to ROSTER_MAX_MS.
   */
  rosterEveryMs?: number;
}

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
  options: BindOptions = {},
): PresenceMagic {
  const frames = options.frames ?? animationFrames;
  const rosterEveryMs = options.rosterEveryMs ?? ROSTER_EVERY_MS;
  // Shown records are our own mutable copies, one per person, shared by `list` and `records`;
  // `records` is the raw object behind `view.records` (writes to it go through the proxy).
  const records = Object.create(null) as Record<string, PresenceRecord>;
  const initial = controller.view();
  let shown = initial.list; // the controller's records last committed, to tell what changed
  const view = Alpine.reactive<PresenceView>({ ...initial, list: initial.list.map((record) => (records[record.userId] = { ...record })), records });
  let scheduled = false;
  let rosterVersion = controller.rosterVersion();
  let lastRosterCommit = -Infinity;
  /** The spacing the last measured commit asks for. */
  let rosterEvery = rosterEveryMs;
  let rosterTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Write the fields that differ through the reactive proxy: only their readers re-render. The
   * roster builds a new `metadata` object with every change of the row, so it is compared by
   * value: a status change must not re-render what reads `person.metadata.name`.
   */
  const patch = (copy: PresenceRecord, record: PresenceRecord) => {
    const live = Alpine.reactive(copy) as unknown as Record<string, unknown>;
    for (const key of Object.keys(record) as (keyof PresenceRecord)[]) {
      if (copy[key] !== record[key] && (key !== 'metadata' || !sameJson(copy.metadata, record.metadata))) live[key] = record[key];
    }
  };

  const commitRoster = (list: PresenceRecord[]) => {
    const before = shown;
    shown = list;
    // Same people in the same places (heartbeats, status changes): patch the changed ones, and the
    // list stays, so x-for does not run (no set of ids, no walk over every copy).
    if (list.length === before.length && list.every((record, i) => record.userId === before[i]!.userId)) {
      list.forEach((record, i) => record !== before[i] && patch(records[record.userId]!, record));
      return;
    }
    const next = new Set<string>();
    const items = list.map((record) => {
      next.add(record.userId);
      const copy = records[record.userId];
      if (copy === undefined) {
        // Per key, so `$presence.of(id)` re-renders only for the people who came or went.
        return (view.records[record.userId] = { ...record });
      }
      patch(copy, record);
      return copy;
    });
    for (const userId of Object.keys(records)) if (!next.has(userId)) delete view.records[userId];
    view.list = items;
  };

  /** ms until the roster may be committed again (≤ 0: now). */
  const rosterWait = () => lastRosterCommit + rosterEvery - Date.now();
  const armRosterTimer = () => {
    if (rosterTimer !== undefined) return;
    rosterTimer = setTimeout(() => {
      rosterTimer = undefined;
      schedule();
    }, Math.max(0, rosterWait()));
  };

  /** The roster goes with this view at once, throttle or not: it is due, or `me`/`ready` change, or no stream flows. */
  const rosterNow = (next: PresenceView) => rosterWait() <= 0 || !next.ready || view.me !== next.me || view.ready !== next.ready;

  /**
   * `now`: commit whatever changed, throttle or not (a command has just settled). `inFrame`: the
   * call is an animation frame's, so what the commit costs the page can be measured.
   */
  const flush = (now = false, inFrame = false) => {
    scheduled = false;
    const next = controller.view();
    // Assign only what changed: each assignment is a reactive write that Alpine re-renders.
    if (rosterVersion !== controller.rosterVersion()) {
      if (now || rosterNow(next)) {
        rosterVersion = controller.rosterVersion();
        const started = (lastRosterCommit = Date.now());
        commitRoster(next.list);
        // From here to the next task: Alpine's effects, then the frame's style, layout and paint.
        if (inFrame)
          frames.after?.(() => (rosterEvery = Math.max(rosterEveryMs, Math.min((Date.now() - started) / ROSTER_SHARE, ROSTER_MAX_MS))));
      } else {
        // Under a stream of events the page re-lays out its list a few times a second, not 60.
        armRosterTimer();
      }
    }
    for (const key of ['me', 'ready', 'error'] as const) if (view[key] !== next[key]) (view as Record<typeof key, unknown>)[key] = next[key];
  };
  const schedule = () => {
    if (scheduled) return;
    // Only the roster changed and it is not due yet: wait on the timer, not on frames. Every
    // requested animation frame makes the browser run style, layout and paint, even for nothing;
    // at 400 events/s asking for one per event cost ~5 % of the main thread.
    const next = controller.view();
    if (!rosterNow(next) && view.error === next.error) {
      armRosterTimer();
      return;
    }
    scheduled = true;
    frames.request(() => flush(false, true));
  };
  controller.subscribe(schedule);
  /** A command's promise resolves with `$presence` already showing its outcome, not a frame later. */
  const settled = (result: Promise<boolean>) =>
    result.then((ok) => {
      flush(true);
      return ok;
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
    start: (options) => settled(controller.start(options)),
    set: (status, metadata) => settled(controller.set(status, metadata)),
    // Read through the reactive view so `x-show="$presence.of(id)"` re-renders on change.
    of: (userId) => (typeof userId === 'string' ? (view.records[userId] ?? null) : null),
    all: () => view.list,
    clear: () => settled(controller.clear()),
    stop: () => settled(controller.stop()),
    beforeSignOut: () => settled(controller.beforeSignOut().then((done) => done !== false)),
  };
  Alpine.magic('presence', () => facade);
  return facade;
}
