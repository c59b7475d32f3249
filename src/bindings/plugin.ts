/**
 * The Alpine plugin behind both entries: `presence({ client, sdk })` for module users and the
 * CDN script, which configures itself from manifest.json at the first `start()` (or the first
 * `beforeSignOut()`). Until the configuration is known `$presence` is an empty, not-ready roster;
 * a configuration problem becomes `$presence.error` and a `false` from `start()`, never an
 * exception in markup. Manifest's auth store is followed from the plugin's first moment, so a
 * tab that never started presence still ends the person's row when they sign out there.
 */
import { createPresence, type PresenceController, type PresenceOptions, type PresenceView, type StartOptions } from '../presence';
import { NOT_RUNNING } from '../machines/session';
import { messageOf } from '../errors';
import { createAppwriteTransport, type AppwriteSdk } from '../transport/appwrite';
import type { Client } from 'appwrite';
import { createActor, toPromise } from 'xstate';
import { bindPresence, type AlpineLike, type PresenceMagic, type PresenceSource } from './alpine';
import {
  followManifestAuth,
  identityFromUser,
  loadConfig,
  teamFromStore,
  type AuthSink,
  type ManifestAuthStore,
  type ManifestWindow,
} from './manifest';

export const LOG_PREFIX = '[Manifest Presence]';

/** Alpine as the plugin sees it: the binding's slice plus stores and effects when present. */
export interface AlpinePluginHost extends AlpineLike {
  store?(name: string, value?: unknown): unknown;
  effect?(callback: () => void): unknown;
  /** Evaluate in an element's scope (a function runs with the scope, magics included, as `this`). */
  evaluate?(el: Element, expression: (this: never) => unknown): unknown;
}

export interface PluginOptions extends Omit<PresenceOptions, 'transport'> {
  /** A configured Appwrite client (endpoint and project set). */
  client?: Client;
  /** The Appwrite SDK module (`import * as Appwrite from 'appwrite'`, or `window.Appwrite`). */
  sdk?: PageSdk;
  /** Read endpoint, project and defaults from manifest.json (the CDN script's way). */
  manifest?: ManifestWindow;
  /** Team id, or 'manifest' to follow Manifest's `currentTeam`. */
  team?: string | null;
}

/** The SDK as the plugin uses it: the transport's part plus `Client`, to build one from manifest.json. */
export type PageSdk = AppwriteSdk & { Client?: new () => Client };

/**
 * A controller that builds the real one on first `start()` or `beforeSignOut()`. Everything
 * before that reads as "not started"; a failed build is reported through `error` and `start()`
 * answers false. A sign-out in a tab that never started builds it: the core identifies, tells
 * the person's other tabs and deletes the row if there is one, so no tab of theirs keeps it.
 */
export function deferredController(build: () => Promise<PresenceController>): PresenceSource & { current(): PresenceController | null } {
  const listeners = new Set<() => void>();
  let inner: PresenceController | null = null;
  let building: Promise<PresenceController | null> | null = null;
  let error: string | null = null;
  const empty: PresenceView = { list: [], records: Object.create(null), me: null, ready: false, error: null };
  const notify = () => listeners.forEach((listener) => listener());

  const ensure = () => {
    building ??= build().then(
      (controller) => {
        inner = controller;
        controller.subscribe(notify);
        notify();
        return controller;
      },
      (failure: unknown) => {
        error = messageOf(failure);
        console.warn(`${LOG_PREFIX} ${error}`);
        building = null; // a fixed configuration can be retried
        notify();
        return null;
      },
    );
    return building;
  };
  const notStarted = async () => {
    error = NOT_RUNNING;
    notify();
    return false;
  };

  return {
    current: () => inner,
    async start(options?: StartOptions) {
      const controller = await ensure();
      return controller ? controller.start(options) : false;
    },
    set: (status, metadata) => (inner ? inner.set(status, metadata) : notStarted()),
    clear: () => (inner ? inner.clear() : notStarted()),
    stop: async () => (inner ? inner.stop() : true),
    async beforeSignOut() {
      const controller = await ensure();
      // The core answers true when the row is gone or there was none (older cores: nothing).
      const done: boolean | void = controller ? await controller.beforeSignOut() : false;
      return done !== false;
    },
    view: () => (inner ? inner.view() : { ...empty, error }),
    rosterVersion: () => (inner ? inner.rosterVersion() : 0),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** How the plugin reaches Appwrite, settled on first use: a configured client and the `start()` defaults. */
export type Connect = (sdk: PageSdk) => Promise<{ client: Client; projectId: string; defaults?: StartOptions }>;

type PresencePlugin = (Alpine: AlpinePluginHost) => PresenceMagic & { controller(): PresenceController | null };

/** Endpoint, project and `start()` defaults from manifest.json: the CDN script's way. */
export const fromManifest =
  (manifest: ManifestWindow): Connect =>
  async (sdk) => {
    if (!sdk.Client) throw new Error('The Appwrite SDK on this page has no Client class.');
    const result = await loadConfig(manifest);
    if (!result.ok) throw new Error(result.error);
    const { endpoint, projectId, presence } = result.config;
    return { client: new sdk.Client().setEndpoint(endpoint).setProject(projectId), projectId, defaults: presence };
  };

/**
 * The Alpine plugin.
 *
 * @example
 * import Alpine from 'alpinejs';
 * import * as Appwrite from 'appwrite';
 * import { presence } from 'appwrite-presence';
 *
 * const client = new Appwrite.Client().setEndpoint('https://cloud.appwrite.io/v1').setProject('my-project');
 * Alpine.plugin(presence({ client }));
 * Alpine.start();
 */
export function presencePlugin(options: PluginOptions): PresencePlugin {
  const { client, manifest } = options;
  return createPlugin(
    options,
    client
      ? async () => ({ client, projectId: (client as { config?: { project?: string } }).config?.project ?? 'default' })
      : manifest
        ? fromManifest(manifest)
        : async () => {
            throw new Error('Presence needs an Appwrite client or a manifest.json with an "appwrite" block.');
          },
  );
}

/**
 * The plugin, reaching Appwrite through `connect` (the CDN script passes `fromManifest` itself, so
 * it carries no code for an app's own client).
 */
export function createPlugin(options: Omit<PluginOptions, 'client'>, connect: Connect): PresencePlugin {
  return (Alpine) => {
    /** Manifest's auth store, when the page has one (it may appear after this plugin). */
    const store = () => (Alpine.store?.('auth') ?? undefined) as ManifestAuthStore | undefined;
    const { sdk, manifest, team, ...rest } = options;
    // A team id fixes the scope; none, or 'manifest', follows Manifest's `currentTeam`.
    const followTeam = team === undefined || team === 'manifest';
    // Set synchronously when built, so no change of the store between build and use is lost.
    let built: PresenceController | null = null;
    const source = deferredController(async () => {
      if (!sdk) throw new Error('The Appwrite SDK is missing: load it before presence (window.Appwrite), or pass { sdk }.');
      const { client, projectId, defaults } = await connect(sdk);
      const transport = createAppwriteTransport({ client, sdk });
      return (built = createPresence({
        ...defaults,
        ...rest,
        transport,
        tabs: rest.tabs ?? { key: projectId },
        teamId: followTeam ? teamFromStore(store()) : team,
        // Manifest knows who is signed in before Appwrite is asked; without it, account.get().
        identify: rest.identify ?? (async () => identityFromUser(store()?.user) ?? (await toPromise(createActor(transport.actors.identify).start()))),
      }));
    });
    const magic = bindPresence(Alpine, source);
    const sink: AuthSink = {
      setIdentity: (identity) => built?.setIdentity(identity),
      setTeam: (teamId) => built?.setTeam(teamId),
      beforeSignOut: () => source.beforeSignOut(),
    };
    if (Alpine.store) {
      followManifestAuth(manifest ?? (globalThis as ManifestWindow), store, sink, { effect: Alpine.effect?.bind(Alpine), team: followTeam });
    }
    return Object.assign(magic, { controller: source.current });
  };
}
