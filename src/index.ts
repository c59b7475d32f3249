/**
 * The npm entry: the Alpine plugin factory `presence()`, the core `createPresence()` for
 * advanced apps, the Appwrite transport and the public types. It never imports `appwrite`, at
 * run time or in its types: the app passes the SDK module in (`presence({ client, sdk })`,
 * `createAppwriteTransport({ client, sdk })`), so the entry loads in a project without it and
 * a bundler never resolves a second copy. The public signatures use the structural types of
 * `./appwrite-types`; inside, the transport keeps the SDK's precise ones.
 */
import { presencePlugin, type AlpinePluginHost, type PluginOptions } from './bindings/plugin';
import type { PresenceMagic } from './bindings/alpine';
import type { ManifestWindow } from './bindings/manifest';
import { createAppwriteTransport as createTransport, type AppwriteTransportOptions } from './transport/appwrite';
import type { Transport } from './transport/types';
import type { PresenceController, PresenceOptions } from './presence';
import type { AppwriteClient, AppwriteRealtime, AppwriteSdk } from './appwrite-types';

export { createPresence } from './presence';
export type { PresenceController, PresenceOptions, PresenceView, StartOptions, PresenceActor } from './presence';
export type { AppwriteClient, AppwriteRealtime, AppwriteSdk } from './appwrite-types';
export { colorOf } from './records';
export type { PresenceRecord } from './records';
export type { PresenceMagic } from './bindings/alpine';
export type { Identity, Metadata, Transport } from './transport/types';
export { sessionMachine } from './machines/session';
export { tabsMachine } from './machines/tabs';
export { peerMachine } from './machines/peer';

/** Options of `presence()`: the core's options (see `createPresence`) plus where Appwrite is. */
export interface PresencePluginOptions extends Omit<PresenceOptions, 'transport'> {
  /** The Appwrite SDK module: `import * as Appwrite from 'appwrite'` (or `window.Appwrite`). */
  sdk: AppwriteSdk;
  /** A configured client (endpoint and project set); without one, manifest.json is read. */
  client?: AppwriteClient;
  /** Read endpoint, project and defaults from `<link rel="manifest">` (the CDN script's way). */
  manifest?: ManifestWindow;
  /** Team id, or 'manifest' to follow Manifest's `currentTeam`. */
  team?: string | null;
}

/**
 * Options of `createAppwriteTransport()`: the transport's own (`AppwriteTransportOptions`),
 * spelled out with the structural SDK types (test/package/types.test-d.ts keeps them in step).
 */
export interface AppwriteTransportConfig {
  /** A configured client (endpoint and project set). */
  client: AppwriteClient;
  /** The Appwrite SDK module: `import * as Appwrite from 'appwrite'` (or `window.Appwrite`). */
  sdk: AppwriteSdk;
  /** A Realtime instance to share with the app; otherwise one is created lazily and owned. */
  realtime?: AppwriteRealtime;
  /** Minimum wait between the socket opening and `transport.connected`. */
  connectedSettleMs?: number;
  /** Rows per `presences.list` page while loading the roster, 1 … 5000. */
  rosterPageSize?: number;
  /** Where warnings go; `console.warn` by default. */
  warn?: (message: string) => void;
}

/** The Alpine plugin `presence()` returns: registers `$presence` and hands back the same facade. */
export type PresencePlugin = (Alpine: AlpinePluginHost) => PresenceMagic & { controller(): PresenceController | null };

/**
 * Alpine plugin: registers `$presence`. The SDK is passed in, never imported here (see above).
 *
 * @example
 * import Alpine from 'alpinejs';
 * import * as Appwrite from 'appwrite';
 * import { presence } from 'appwrite-presence';
 *
 * const client = new Appwrite.Client().setEndpoint(endpoint).setProject(projectId);
 * Alpine.plugin(presence({ client, sdk: Appwrite }));
 * Alpine.start();
 */
export function presence(options: PresencePluginOptions): PresencePlugin {
  // The structural types are supertypes of the SDK's own; the plugin checks at run time what it uses.
  return presencePlugin(options as unknown as PluginOptions);
}

/**
 * The Appwrite transport for `createPresence()`: REST presences, the Realtime `presences`
 * channel and the keepalive DELETE.
 *
 * @example
 * import * as Appwrite from 'appwrite';
 * import { createPresence, createAppwriteTransport } from 'appwrite-presence';
 *
 * const presence = createPresence({ transport: createAppwriteTransport({ client, sdk: Appwrite }) });
 */
export function createAppwriteTransport(options: AppwriteTransportConfig): Transport {
  return createTransport(options as unknown as AppwriteTransportOptions);
}

export default presence;

declare global {
  interface Window {
    /** Set by the CDN script: `$presence`'s methods for code outside Alpine (always ours, even beside Manifest's own plugin). */
    ManifestPresence?: Pick<PresenceMagic, 'start' | 'stop' | 'set' | 'clear' | 'of' | 'all' | 'beforeSignOut'>;
  }
}
