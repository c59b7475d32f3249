/**
 * Browser effects for the session machine, as actors to `provide()`: the page (visibility,
 * pagehide, freeze, resume) and the person's tabs (Web Locks + BroadcastChannel). Globals are read
 * when these are built, never at import; where a piece is missing (Node, SSR, an old browser) the
 * session keeps its inert default for it: a page nobody hides, a tab that is alone.
 */
import type { DocumentLike, WindowLike } from './page';
import { watchPage } from './page';
import { coordinateTabs, type TabsPlatformOptions } from './tabs';

export { watchPage, type DocumentLike, type WindowLike } from './page';
export { coordinateTabs, createTabCoordinator, type TabCoordinator, type TabCoordinatorOptions, type TabsPlatformOptions } from './tabs';

export interface BrowserEffectsOptions {
  /** The page's document and window; null to ignore. Default the globals. */
  document?: DocumentLike | null;
  window?: WindowLike | null;
  /** Coordinate the person's tabs under this key (e.g. the project id), or false. */
  tabs: TabsPlatformOptions | false;
}

/**
 * The session's `watchPage` and `coordinateTabs` actors for this browser.
 *
 * @example
 * const machine = sessionMachine.provide({ actors: { ...transport.actors, ...browserEffects({ tabs: { key: projectId } }) } });
 */
export function browserEffects(options: BrowserEffectsOptions) {
  const document = options.document === undefined ? (globalThis.document as DocumentLike | undefined) ?? null : options.document;
  const window = options.window === undefined ? (globalThis.window as WindowLike | undefined) ?? null : options.window;
  return {
    watchPage: watchPage(document, window),
    ...(options.tabs === false ? {} : { coordinateTabs: coordinateTabs(options.tabs) }),
  };
}
