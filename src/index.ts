/**
 * The npm entry: the Alpine plugin factory `presence()`, the core `createPresence()` for
 * advanced apps, the Appwrite transport and the public types. The Appwrite SDK is a peer
 * dependency: this is the only module of the npm build that imports it at run time.
 */
import * as Appwrite from 'appwrite';
import { presencePlugin, type PluginOptions } from './bindings/plugin';

export { createPresence } from './presence';
export type { PresenceController, PresenceOptions, PresenceView, StartOptions, PresenceActor } from './presence';
export { createAppwriteTransport } from './transport/appwrite';
export type { AppwriteSdk } from './transport/appwrite';
export { colorOf } from './records';
export type { PresenceRecord } from './records';
export type { PresenceMagic } from './bindings/alpine';
export type { Identity, Metadata, Transport } from './transport/types';
export { sessionMachine } from './machines/session';
export { tabsMachine } from './machines/tabs';
export { peerMachine } from './machines/peer';

/**
 * Alpine plugin: registers `$presence`.
 *
 * @example
 * import Alpine from 'alpinejs';
 * import { Client } from 'appwrite';
 * import { presence } from 'appwrite-presence';
 *
 * Alpine.plugin(presence({ client: new Client().setEndpoint(endpoint).setProject(projectId) }));
 * Alpine.start();
 */
export function presence(options: PluginOptions) {
  return presencePlugin({ sdk: Appwrite, ...options });
}

export default presence;

declare global {
  interface Window {
    /** Set by the CDN script: `$presence`'s methods for code outside Alpine. */
    ManifestPresence?: Pick<import('./bindings/alpine').PresenceMagic, 'start' | 'stop' | 'set' | 'clear' | 'of' | 'all'>;
  }
}
