/**
 * Classic-script entry, built to dist/manifest.appwrite.presences.js (the file Manifest's loader
 * asks for). Takes Appwrite and Alpine from the page, reads manifest.json itself, registers
 * `$presence` on `alpine:init` — or at once when Alpine is already running (late load) — and
 * exposes `window.ManifestPresence`.
 *
 * A Manifest app with a `presence` block also gets Manifest's own presences plugin from its CDN,
 * which registers the same `$presence`, `$store.presence` and `window.ManifestPresence`. Ours
 * win whatever the order, and the other one is never reached, so it never starts, writes or
 * deletes: its `window.ManifestPresence` is refused (before us: replaced), its magic and store
 * are registered over once every `alpine:init` listener has run, and when Alpine was already
 * running the facade its magic gave to live components is pointed at ours.
 */
import { createPlugin, fromManifest, LOG_PREFIX, type AlpinePluginHost } from './bindings/plugin';
import type { PresenceMagic } from './bindings/alpine';
import type { AppwriteSdk } from './transport/appwrite';
import type { ManifestWindow } from './bindings/manifest';

type ManifestPresence = Pick<PresenceMagic, 'start' | 'stop' | 'set' | 'clear' | 'of' | 'all' | 'beforeSignOut'>;

interface PageWindow extends ManifestWindow {
  Alpine?: AlpinePluginHost;
  Appwrite?: AppwriteSdk;
  ManifestPresence?: ManifestPresence;
  /** Set by the first copy of this script: a second one (a tag and the loader) does nothing. */
  __appwritePresence?: boolean;
}

const page = window as unknown as PageWindow;

if (!page.__appwritePresence) {
  page.__appwritePresence = true;
  let ours: ManifestPresence | undefined;
  let said = false;
  const replaced = () => {
    if (said) return;
    said = true;
    console.info(`${LOG_PREFIX} Replaced Manifest's built-in presences plugin: $presence and window.ManifestPresence are appwrite-presence's.`);
  };
  // Manifest's plugin assigns window.ManifestPresence as its script runs: before us it is here now.
  if (page.ManifestPresence) replaced();
  Object.defineProperty(page, 'ManifestPresence', {
    configurable: true,
    enumerable: true,
    get: () => ours,
    set: (value) => value === ours || replaced(),
  });

  const install = (Alpine: AlpinePluginHost) => {
    // The facade another plugin's magic hands out (components initialised before us hold it).
    const theirs = Alpine.evaluate?.(document.documentElement, function (this: { $presence?: unknown }) {
      return this.$presence;
    });
    const magic = createPlugin({ sdk: page.Appwrite, manifest: page }, fromManifest(page))(Alpine);
    const { start, stop, set, clear, of, all, beforeSignOut } = magic;
    ours = { start, stop, set, clear, of, all, beforeSignOut };
    const claim = () => {
      Alpine.magic('presence', () => magic);
      // Also re-runs whatever read the other plugin's store, now through our facade.
      Alpine.store?.('presence', magic);
    };
    if (theirs) {
      replaced();
      try {
        Object.defineProperties(theirs, Object.getOwnPropertyDescriptors(magic));
      } catch {
        // A frozen facade keeps answering for the components that hold it; new ones get ours.
      }
    }
    claim();
    return claim;
  };

  // Alpine has started once any component carries its internal data stack.
  if (page.Alpine && (document.querySelector('[x-data]') as { _x_dataStack?: unknown } | null)?._x_dataStack) {
    install(page.Alpine);
  } else {
    document.addEventListener('alpine:init', () => {
      if (!page.Alpine) return console.warn(`${LOG_PREFIX} Alpine is not on the page; $presence is unavailable.`);
      // `alpine:initializing` follows every `alpine:init` listener: a plugin that registered after us is overruled.
      document.addEventListener('alpine:initializing', install(page.Alpine), { once: true });
    });
  }
}
