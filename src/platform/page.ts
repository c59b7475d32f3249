/**
 * The page, as the session hears it: this page shown or hidden (`visibilitychange`, never window
 * focus), `pagehide` (leaving, or entering the back/forward cache), the Page Lifecycle's `freeze`
 * and `resume`, `pageshow` from the cache, and the person's input (at most one `page.input` every
 * 500 ms; listeners passive). `watchPage()` is the session's `watchPage` actor: it only reports;
 * what each event means is decided by the session machine. Globals are never read at import.
 */
import { fromCallback, type EventObject } from 'xstate';
import type { PageEvent } from '../machines/session/types';

export interface DocumentLike {
  readonly visibilityState: string;
  /**
   * `freeze`/`resume`: the Page Lifecycle events of a tab the browser stops and restarts; the
   * person's input (`INPUT_EVENTS`), passive and captured.
   */
  addEventListener(type: string, listener: () => void, options?: { passive?: boolean; capture?: boolean }): void;
  removeEventListener(type: string, listener: () => void, options?: { passive?: boolean; capture?: boolean }): void;
}

/** What counts as the person's input; captured, so a scroll inside any element counts too. */
export const INPUT_EVENTS = 'pointerdown pointermove keydown touchstart wheel scroll'.split(' ');
const PASSIVE = { passive: true, capture: true };
/**
 * At most one `page.input` this often (ms), the first after a quiet spell at once. A pointermove
 * or scroll fires 60–120 times a second; the session only restarts its idle count, so two events
 * a second cost nothing and start idleness at most half a second early. Half of `MIN_IDLE_MS`
 * (1 s), so steady input never lets the count lapse.
 */
export const INPUT_EVERY_MS = 500;

export interface WindowLike {
  addEventListener(type: 'pagehide' | 'pageshow', listener: (event: object) => void): void;
  removeEventListener(type: 'pagehide' | 'pageshow', listener: (event: object) => void): void;
}

/**
 * Call `callback(visible)` on every `visibilitychange` — the page hidden or shown, not the window
 * losing focus. Returns the cleanup.
 *
 * @example
 * const stop = watchVisibility(document, (visible) => console.log(visible ? 'back' : 'away'));
 */
export function watchVisibility(document: DocumentLike, callback: (visible: boolean) => void): () => void {
  const listener = () => callback(isVisible(document));
  document.addEventListener('visibilitychange', listener);
  return () => document.removeEventListener('visibilitychange', listener);
}

/**
 * Call `callback` on `pagehide`: the last moment a leaving page runs, where only synchronous work
 * and keepalive requests are sure to finish. `persisted`: the page goes into the back/forward
 * cache and may come back. Returns the cleanup.
 *
 * @example
 * const stop = onPageHide(window, () => tabs.leave());
 */
export function onPageHide(window: WindowLike, callback: (event: { persisted: boolean }) => void): () => void {
  const listener = (event: object) => callback({ persisted: 'persisted' in event && event.persisted === true });
  window.addEventListener('pagehide', listener);
  return () => window.removeEventListener('pagehide', listener);
}

/**
 * Call `callback` when a page comes back from the back/forward cache (`pageshow` with `persisted`);
 * a first load is not a return. Returns the cleanup.
 *
 * @example
 * const stop = onPageShow(window, () => presence.start());
 */
export function onPageShow(window: WindowLike, callback: () => void): () => void {
  const listener = (event: object) => {
    if ('persisted' in event && event.persisted === true) callback();
  };
  window.addEventListener('pageshow', listener);
  return () => window.removeEventListener('pageshow', listener);
}

/**
 * Call `freeze` when the browser is about to freeze the page (Page Lifecycle `freeze`: a background
 * tab stops running — timers, handlers, lock callbacks — until it is resumed or discarded, and
 * pages entering the back/forward cache are frozen too), and `resume` when it runs again.
 * Returns the cleanup.
 *
 * @example
 * const stop = onFreeze(document, () => tabs.leave(), () => rejoin());
 */
export function onFreeze(document: DocumentLike, freeze: () => void, resume: () => void): () => void {
  document.addEventListener('freeze', freeze);
  document.addEventListener('resume', resume);
  return () => {
    document.removeEventListener('freeze', freeze);
    document.removeEventListener('resume', resume);
  };
}

/** Is the page shown (not hidden, not prerendering)? */
export const isVisible = (document: DocumentLike) => document.visibilityState === 'visible';

/**
 * The session's `watchPage` actor for this document and window (either may be null: not watched).
 * A page opened in the background starts hidden, and no `visibilitychange` will say so: it says so at once.
 *
 * @example
 * sessionMachine.provide({ actors: { watchPage: watchPage(document, window) } });
 */
export function watchPage(document: DocumentLike | null, window: WindowLike | null) {
  return fromCallback<EventObject, void>(({ sendBack }) => {
    const send = (event: PageEvent) => sendBack(event);
    const cleanups: (() => void)[] = [];
    if (document) {
      cleanups.push(watchVisibility(document, (visible) => send({ type: visible ? 'page.visible' : 'page.hidden' })));
      cleanups.push(onFreeze(document, () => send({ type: 'page.freeze' }), () => send({ type: 'page.resume' })));
      let last = -Infinity;
      const input = () => {
        const now = Date.now();
        // Either way: a wall clock set back must not silence input until it catches up.
        if (Math.abs(now - last) >= INPUT_EVERY_MS) {
          last = now;
          send({ type: 'page.input' });
        }
      };
      for (const type of INPUT_EVENTS) document.addEventListener(type, input, PASSIVE);
      cleanups.push(() => INPUT_EVENTS.forEach((type) => document.removeEventListener(type, input, PASSIVE)));
      if (!isVisible(document)) send({ type: 'page.hidden' });
    }
    if (window) {
      cleanups.push(onPageHide(window, ({ persisted }) => send({ type: 'page.hide', persisted })));
      cleanups.push(onPageShow(window, () => send({ type: 'page.resume' })));
    }
    return () => cleanups.forEach((cleanup) => cleanup());
  });
}
