/**
 * Manifest integration: where the configuration comes from (Manifest's loaded manifest, or the
 * page's `<link rel="manifest">`, fetched once) and who is signed in (Manifest's auth store). An
 * unresolved `${VAR}` placeholder is a configuration error, never sent to Appwrite.
 * The store itself is the source of truth: in the person's other tabs Manifest changes it from a
 * `storage` event and dispatches no `manifest:auth:*` event, so `user` and `currentTeam` are
 * watched through Alpine's reactivity and the events are only a hint. Manifest deletes the
 * session BEFORE it announces a logout, so the store's logout/clearSession are wrapped, from the
 * plugin's first moment and again whenever Manifest (re)defines them, to end our row while the
 * session still works — in any tab, tracking or not (see ../../../shared/spec/manifest.md).
 */
import type { Identity } from '../transport/types';
import type { StartOptions } from '../presence';
import { messageOf } from '../errors';
import { isRecord } from '../records';

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
  const appwrite = isRecord(manifest) ? manifest.appwrite : undefined;
  if (!isRecord(appwrite)) return { ok: false, error: 'manifest.json has no "appwrite" block with projectId and endpoint.' };
  for (const key of ['projectId', 'endpoint'] as const) {
    const value = appwrite[key];
    if (typeof value !== 'string' || value.trim() === '' || value === 'null' || value === 'undefined') {
      return { ok: false, error: `manifest.json appwrite.${key} is missing.` };
    }
    if (PLACEHOLDER.test(value)) {
      return { ok: false, error: `manifest.json appwrite.${key} is the unresolved placeholder "${value}": set the variable.` };
    }
  }
  // Manifest's loader accepts `presences` (the Appwrite product's name) as well: so do we.
  const block = isRecord(appwrite.presence) ? appwrite.presence : isRecord(appwrite.presences) ? appwrite.presences : {};
  // The start options it names, as written: start() says what is wrong with one (commands.ts).
  const presence: StartOptions = {};
  for (const key of ['auto', 'status', 'heartbeatMs', 'idleMs'] as const) if (block[key] !== undefined) (presence as Record<string, unknown>)[key] = block[key];
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
      (error: unknown) => ({ ok: false as const, error: `Could not load manifest.json: ${messageOf(error)}` }),
    );
    cache.set(win, pending);
  }
  return pending;
}

async function readManifest(win: ManifestWindow): Promise<unknown> {
  const known = win.ManifestComponentsRegistry?.manifest ?? (isRecord(win.__manifestLoaded) ? win.__manifestLoaded : undefined);
  if (isRecord(known)) return known;
  if (typeof win.ManifestDataConfig?.ensureManifest === 'function') {
    const ensured = await win.ManifestDataConfig.ensureManifest();
    if (isRecord(ensured)) return ensured;
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
  const userId = text(user?.$id);
  return userId ? { userId, name: text(user!.name) } : null;
}

export const teamFromStore = (store: ManifestAuthStore | undefined): string | null => text(store?.currentTeam?.$id);

/** A non-empty string, else null. */
const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);

export interface AuthSink {
  setIdentity(identity: Identity | null): void;
  setTeam(teamId: string | null): void;
  /** End the person's row while the session still exists; settles when done or given up. */
  beforeSignOut(): Promise<unknown>;
}

export interface FollowOptions {
  /** `Alpine.effect`: without it only the events are heard and the store is wrapped once. */
  effect?: (callback: () => void) => unknown;
  /** Follow `currentTeam` too (default true; false when the app fixed the team itself). */
  team?: boolean;
}

const AUTH_EVENTS = ['login', 'anonymous', 'logout', 'session-cleared', 'teams-loaded'].map((name) => `manifest:auth:${name}`);
const SIGN_OUT_GRACE_MS = 1500;
const wrappers = new WeakSet<object>();

/**
 * Follow Manifest's auth store, which may not exist yet (its plugin can register after ours):
 * the identity and the team reach `sink` once per change, from an Alpine effect on the store and
 * from the `manifest:auth:*` events (a hint only: other tabs change the store without them). The
 * store's logout/clearSession are wrapped as soon as they exist. Returns the cleanup.
 */
export function followManifestAuth(
  win: ManifestWindow,
  getStore: () => ManifestAuthStore | undefined,
  sink: AuthSink,
  options: FollowOptions = {},
): () => void {
  const { effect, team: followTeam = true } = options;
  let sentIdentity: string | null | undefined;
  let sentTeam: string | null | undefined;
  let disposed = false;
  const identity = () => {
    const next = identityFromUser(getStore()?.user);
    const key = next && `${next.userId}\n${next.name ?? ''}`;
    if (disposed || key === sentIdentity) return;
    sentIdentity = key;
    sink.setIdentity(next);
  };
  const scope = () => {
    const next = teamFromStore(getStore());
    if (disposed || !followTeam || next === sentTeam) return;
    sentTeam = next;
    sink.setTeam(next);
  };
  const wrap = () => {
    const store = getStore();
    if (store && !disposed) for (const name of ['logout', 'clearSession'] as const) wrapSignOut(store, name, getStore, sink);
  };
  const hint = () => {
    wrap();
    identity();
    scope();
  };
  for (const type of AUTH_EVENTS) win.addEventListener?.(type, hint);
  if (effect) {
    effect(identity);
    effect(scope);
    effect(wrap);
  } else hint();
  return () => {
    disposed = true;
    for (const type of AUTH_EVENTS) win.removeEventListener?.(type, hint);
  };
}

/**
 * Make `store[name]` end our row first. Reads `store[name]` (so an effect re-wraps when Manifest
 * assigns it again) and leaves a function that is already our wrapper alone. Nobody signed in:
 * Manifest's own call does nothing, and neither does ours.
 */
function wrapSignOut(store: ManifestAuthStore, name: 'logout' | 'clearSession', getStore: () => ManifestAuthStore | undefined, sink: AuthSink) {
  const original = store[name];
  if (typeof original !== 'function' || wrappers.has(original)) return;
  const wrapper = async function (this: unknown, ...args: unknown[]) {
    if (identityFromUser(getStore()?.user)) await settleWithin(sink.beforeSignOut(), SIGN_OUT_GRACE_MS);
    return original.apply(this ?? store, args);
  };
  wrappers.add(wrapper);
  store[name] = wrapper;
}

/** Wait for `work`, but never longer than `ms`: a sign-out must not hang on our network call. */
function settleWithin(work: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    work.catch(() => {}).then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
