/**
 * Classic-script entry, built to dist/manifest.appwrite.presences.js (the file Manifest's loader
 * asks for). Takes Appwrite and Alpine from the page, reads manifest.json itself, registers
 * `$presence` on `alpine:init` — or at once when Alpine is already running (late load) — and
 * exposes `window.ManifestPresence`.
 */
import { presencePlugin, LOG_PREFIX, type AlpinePluginHost } from './bindings/plugin';
import type { PresenceMagic } from './bindings/alpine';
import type { AppwriteSdk } from './transport/appwrite';
import type { ManifestWindow } from './bindings/manifest';

interface PageWindow extends ManifestWindow {
  Alpine?: AlpinePluginHost & { plugin?(callback: (Alpine: AlpinePluginHost) => void): void; version?: string };
  Appwrite?: AppwriteSdk;
  ManifestPresence?: Pick<PresenceMagic, 'start' | 'stop' | 'set' | 'clear' | 'of' | 'all'>;
  __manifestPresenceInstalled?: boolean;
}

const page = window as unknown as PageWindow;

function install(Alpine: AlpinePluginHost) {
  if (page.__manifestPresenceInstalled) return;
  page.__manifestPresenceInstalled = true;
  const magic = presencePlugin({ sdk: page.Appwrite, manifest: page })(Alpine);
  page.ManifestPresence = {
    start: (options) => magic.start(options),
    stop: () => magic.stop(),
    set: (status, metadata) => magic.set(status, metadata),
    clear: () => magic.clear(),
    of: (userId) => magic.of(userId),
    all: () => magic.all(),
  };
}

/** Alpine has started once any component carries its internal data stack. */
function alpineRunning(): boolean {
  return Boolean(page.Alpine && document.querySelector('[x-data]') && (document.querySelector('[x-data]') as unknown as { _x_dataStack?: unknown })._x_dataStack);
}

if (page.Alpine && alpineRunning()) {
  install(page.Alpine);
} else {
  document.addEventListener('alpine:init', () => {
    if (page.Alpine) install(page.Alpine);
    else console.warn(`${LOG_PREFIX} Alpine is not on the page; $presence is unavailable.`);
  });
}
