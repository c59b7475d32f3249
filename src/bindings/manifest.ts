/**
 * Manifest integration: where the configuration comes from (Manifest's loaded manifest, or the
 * page's `<link rel="manifest">`, fetched once) and who is signed in (Manifest's auth store and
 * its `manifest:auth:*` events). An unresolved `${VAR}` placeholder is a configuration error,
 * never sent to Appwrite. Manifest deletes the session BEFORE it announces a logout, so the
 * store's logout/clearSession are wrapped to remove our row while the session still works.
 */
import type { Identity } from '../transport/types';
import type { StartOptions } from '../presence';

export interface AppwriteConfig {
  projectId: string;
  endpoint: string;
  /** The manifest's `presence` block: defaults for `start()`. */
  presence: StartOptions;
}

export type ConfigResult = { ok: true; config: AppwriteConfig } | { ok: false; error: string };

/** The globals this module reads; tests pass their own. */
export interface ManifestWindow {
  document?: { querySelector(selector: string): { getAttribute(name: string): string | null } | null };
  fetch?: (url: string, init?: Record<string, unknown>) => Promise<{ ok: boolean; status: number; json(): Promise<unknown> }>;
  addEventListener?(type: string, listener: () => void): void;
  removeEventListener?(type: string, listener: () => void): void;
  __manifestLoaded?: unknown;
  ManifestComponentsRegistry?: { manifest?: unknown };
  ManifestDataConfig?: { ensureManifest?: () => Promise<unknown> | unknown };
}

const PLACEHOLDER = /\$\{[^}]*\}/;

/** Read and check the `appwrite` block of a manifest object. */
export function configFromManifest(manifest: unknown): ConfigResult {
  const appwrite = isObject(manifest) ? manifest.appwrite : undefined;
  if (!isObject(appwrite)) return { ok: false, error: 'manifest.json has no "appwrite" block; presence needs { "appwrite": { "projectId", "endpoint" } }.' };
  for (const key of ['projectId', 'endpoint'] as const) {
    const value = appwrite[key];
    if (typeof value !== 'string' || value.trim() === '' || value === 'null' || value === 'undefined') {
      return { ok: false, error: `manifest.json appwrite.${key} is missing; presence cannot connect without it.` };
    }
    if (PLACEHOLDER.test(value)) {
      return { ok: false, error: `manifest.json appwrite.${key} is the unresolved placeholder "${value}"; set the variable before loading presence.` };
    }
  }
  const block = isObject(appwrite.presence) ? appwrite.presence : {};
  const presence: StartOptions = {};
  if (typeof block.auto === 'boolean') presence.auto = block.auto;
  if (typeof block.status === 'string') presence.status = block.status;
  if (typeof block.heartbeatMs === 'number') presence.heartbeatMs = block.heartbeatMs;
  return {
    ok: true,
    config: { projectId: appwrite.projectId as string, endpoint: (appwrite.endpoint as string).replace(/\/+$/, ''), presence },
  };
}

const cache = new WeakMap<object, Promise<ConfigResult>>();

/**
 * The manifest as Manifest already loaded it, else the `<link rel="manifest">` file, fetched at
 * most once per window.
 */
export function loadConfig(win: ManifestWindow): Promise<ConfigResult> {
  let pending = cache.get(win);
  if (!pending) {
    pending = readManifest(win).then(
      (manifest) => configFromManifest(manifest),
      (error: unknown) => ({ ok: false as const, error: `Could not load manifest.json: ${message(error)}` }),
    );
    cache.set(win, pending);
  }
  return pending;
}

async function readManifest(win: ManifestWindow): Promise<unknown> {
  const known = win.ManifestComponentsRegistry?.manifest ?? (isObject(win.__manifestLoaded) ? win.__manifestLoaded : undefined);
  if (isObject(known)) return known;
  if (typeof win.ManifestDataConfig?.ensureManifest === 'function') {
    const ensured = await win.ManifestDataConfig.ensureManifest();
    if (isObject(ensured)) return ensured;
  }
  const href = win.document?.querySelector('link[rel="manifest"]')?.getAttribute('href') ?? '/manifest.json';
  if (typeof win.fetch !== 'function') throw new Error('fetch is not available');
  const response = await win.fetch(href, { credentials: 'same-origin' });
  if (!response.ok) throw new Error(`${href} answered ${response.status}`);
  return response.json();
}

/** The part of Manifest's auth store we read. */
export interface ManifestAuthStore {
  user?: { $id?: unknown; name?: unknown } | null;
  currentTeam?: { $id?: unknown } | null;
  logout?: (...args: unknown[]) => unknown;
  clearSession?: (...args: unknown[]) => unknown;
}

/** Identity from Manifest's `user` (the account model); never reads the email. */
export function identityFromUser(user: ManifestAuthStore['user']): Identity | null {
  if (!user || typeof user.$id !== 'string' || user.$id === '') return null;
  return { userId: user.$id, name: typeof user.name === 'string' && user.name !== '' ? user.name : null };
}

export function teamFromStore(store: ManifestAuthStore | undefined): string | null {
  const id = store?.currentTeam?.$id;
  return typeof id === 'string' && id !== '' ? id : null;
}

export interface AuthSink {
  setIdentity(identity: Identity | null): void;
  setTeam(teamId: string | null): void;
  /** Remove our row while the session still exists; resolves when done or given up. */
  beforeSignOut(): Promise<void>;
}

const IDENTITY_EVENTS = ['manifest:auth:login', 'manifest:auth:anonymous', 'manifest:auth:logout', 'manifest:auth:session-cleared'];
const SIGN_OUT_GRACE_MS = 1500;

/**
 * Follow Manifest's auth store: identity on the `manifest:auth:*` events, the team on
 * `teams-loaded` and whenever `currentTeam` changes (through Alpine's reactivity when given
 * `effect`), and our row removed before the store signs out. Returns the cleanup.
 */
export function followManifestAuth(
  win: ManifestWindow,
  getStore: () => ManifestAuthStore | undefined,
  sink: AuthSink,
  effect?: (callback: () => void) => unknown,
): () => void {
  const onIdentity = () => sink.setIdentity(identityFromUser(getStore()?.user));
  const onTeam = () => sink.setTeam(teamFromStore(getStore()));
  for (const type of IDENTITY_EVENTS) win.addEventListener?.(type, onIdentity);
  win.addEventListener?.('manifest:auth:teams-loaded', onTeam);

  let disposed = false;
  if (effect) {
    effect(() => {
      const team = teamFromStore(getStore());
      if (!disposed) sink.setTeam(team);
    });
  }

  const unwrap = wrapSignOut(getStore(), sink);
  return () => {
    disposed = true;
    for (const type of IDENTITY_EVENTS) win.removeEventListener?.(type, onIdentity);
    win.removeEventListener?.('manifest:auth:teams-loaded', onTeam);
    unwrap();
  };
}

function wrapSignOut(store: ManifestAuthStore | undefined, sink: AuthSink): () => void {
  if (!store) return () => {};
  const originals: Partial<Record<'logout' | 'clearSession', ManifestAuthStore['logout']>> = {};
  for (const name of ['logout', 'clearSession'] as const) {
    const original = store[name];
    if (typeof original !== 'function') continue;
    originals[name] = original;
    store[name] = async function (this: unknown, ...args: unknown[]) {
      await settleWithin(sink.beforeSignOut(), SIGN_OUT_GRACE_MS);
      return original.apply(this ?? store, args);
    };
  }
  return () => Object.assign(store, originals);
}

/** Wait for `work`, but never longer than `ms`: a sign-out must not hang on our network call. */
function settleWithin(work: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    work.catch(() => {}).then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
