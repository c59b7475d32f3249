/**
 * `appwrite-presence/emulator`: a Node-only, in-memory emulator of the parts of Appwrite that
 * presence needs (Account, Teams, Presences, Realtime), for tests, demos and local development.
 * Production runs on Appwrite itself; nothing here is meant to be deployed.
 *
 * @example
 * ```ts
 * import { startEmulator } from 'appwrite-presence/emulator';
 * const emulator = await startEmulator({ port: 0, apiKey: 'dev-key' });
 * client.setEndpoint(emulator.url).setProject('demo');
 * // …
 * await emulator.close();
 * ```
 */
export { startEmulator, type Emulator, type EmulatorOptions } from './server.js';
export type { Clock } from './format.js';
