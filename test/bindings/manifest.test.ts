// @vitest-environment happy-dom
import Alpine from 'alpinejs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  configFromManifest,
  followManifestAuth,
  identityFromUser,
  loadConfig,
  teamFromStore,
  type ManifestAuthStore,
  type ManifestWindow,
} from '../../src/bindings/manifest';
import { deferredController } from '../../src/bindings/plugin';
import type { PresenceController } from '../../src/presence';

const good = { appwrite: { projectId: 'p1', endpoint: 'https://example.test/v1/', auth: {}, presence: { auto: false, status: 'available', heartbeatMs: 30000, junk: 1 } } };

describe('configFromManifest', () => {
  it('reads endpoint, project and the presence block as defaults', () => {
    expect(configFromManifest(good)).toEqual({
      ok: true,
      config: { projectId: 'p1', endpoint: 'https://example.test/v1', presence: { auto: false, status: 'available', heartbeatMs: 30000 } },
    });
  });

  it('takes `presences` (the loader\'s other spelling) as the same block; `presence` wins when both are there', () => {
    const alias = { appwrite: { projectId: 'p1', endpoint: 'https://x/v1', presences: { status: 'here', heartbeatMs: 30000 } } };
    expect(configFromManifest(alias)).toMatchObject({ ok: true, config: { presence: { status: 'here', heartbeatMs: 30000 } } });
    const both = { appwrite: { ...alias.appwrite, presence: { status: 'online' } } };
    expect(configFromManifest(both)).toMatchObject({ ok: true, config: { presence: { status: 'online' } } });
  });

  it('passes the start options on as written (idleMs a number or false); start() is where a bad one is refused', () => {
    const withIdle = (idleMs: unknown) => ({ appwrite: { projectId: 'p1', endpoint: 'https://x/v1', presence: { idleMs } } });
    expect(configFromManifest(withIdle(120_000))).toMatchObject({ ok: true, config: { presence: { idleMs: 120_000 } } });
    expect(configFromManifest(withIdle(false))).toMatchObject({ ok: true, config: { presence: { idleMs: false } } });
    expect(configFromManifest(withIdle('soon'))).toMatchObject({ ok: true, config: { presence: { idleMs: 'soon' } } });
    expect(configFromManifest(good)).toMatchObject({ ok: true, config: { presence: { heartbeatMs: 30000 } } });
    expect('idleMs' in (configFromManifest(good) as { config: { presence: object } }).config.presence).toBe(false);
    const wrong = { appwrite: { projectId: 'p1', endpoint: 'https://x/v1', presence: { heartbeatMs: '30000' } } };
    expect(configFromManifest(wrong)).toMatchObject({ ok: true, config: { presence: { heartbeatMs: '30000' } } });
  });

  it.each([
    [{}, /no "appwrite" block/],
    [{ appwrite: { endpoint: 'https://x/v1' } }, /projectId is missing/],
    [{ appwrite: { projectId: 'null', endpoint: 'https://x/v1' } }, /projectId is missing/],
    [{ appwrite: { projectId: '${APPWRITE_PROJECT}', endpoint: 'https://x/v1' } }, /unresolved placeholder "\$\{APPWRITE_PROJECT\}"/],
    [{ appwrite: { projectId: 'p', endpoint: 'https://${HOST}/v1' } }, /endpoint is the unresolved placeholder/],
    [null, /no "appwrite" block/],
  ])('refuses %j with a clear error', (manifest, error) => {
    const result = configFromManifest(manifest);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.error).toMatch(error);
  });
});

describe('loadConfig', () => {
  it("prefers the manifest Manifest already loaded", async () => {
    const fetch = vi.fn();
    const win: ManifestWindow = { __manifestLoaded: good, fetch };
    await expect(loadConfig(win)).resolves.toMatchObject({ ok: true, config: { projectId: 'p1' } });
    expect(fetch).not.toHaveBeenCalled();
  });

  it('asks ManifestDataConfig.ensureManifest() when present', async () => {
    const win: ManifestWindow = { ManifestDataConfig: { ensureManifest: async () => good } };
    await expect(loadConfig(win)).resolves.toMatchObject({ ok: true });
  });

  it('fetches the <link rel="manifest"> once without Manifest', async () => {
    const fetch = vi.fn(async () => ({ ok: true, status: 200, json: async () => good }));
    const win: ManifestWindow = {
      document: { querySelector: () => ({ getAttribute: () => '/app/manifest.json' }) },
      fetch,
    };
    await loadConfig(win);
    await loadConfig(win);
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(fetch).toHaveBeenCalledWith('/app/manifest.json', expect.anything());
  });

  it('reports a failed fetch as a configuration error, not an exception', async () => {
    const win: ManifestWindow = { document: { querySelector: () => null }, fetch: async () => ({ ok: false, status: 404, json: async () => ({}) }) };
    await expect(loadConfig(win)).resolves.toEqual({ ok: false, error: 'Could not load manifest.json: /manifest.json answered 404' });
  });
});

describe('Manifest auth store', () => {
  it('takes identity from the account model, never the email', () => {
    expect(identityFromUser({ $id: 'u1', name: 'Ada', email: 'ada@example.test' } as never)).toEqual({ userId: 'u1', name: 'Ada' });
    expect(identityFromUser({ $id: 'g1', name: '' })).toEqual({ userId: 'g1', name: null });
    expect(identityFromUser(null)).toBeNull();
    expect(identityFromUser({ $id: 42 } as never)).toBeNull();
  });

  it('reads the current team id', () => {
    expect(teamFromStore({ currentTeam: { $id: 't1' } })).toBe('t1');
    expect(teamFromStore({ currentTeam: null })).toBeNull();
    expect(teamFromStore(undefined)).toBeNull();
  });

  it('follows manifest:auth:* events and removes our row before the store signs out', async () => {
    const target = new EventTarget();
    const win = target as unknown as ManifestWindow;
    const order: string[] = [];
    const store: ManifestAuthStore = {
      user: { $id: 'u1', name: 'Ada' },
      currentTeam: { $id: 't1' },
      async logout() {
        order.push('session deleted');
        store.user = null;
        target.dispatchEvent(new Event('manifest:auth:logout'));
      },
    };
    const sink = {
      setIdentity: vi.fn((identity) => order.push(`identity ${identity?.userId ?? 'none'}`)),
      setTeam: vi.fn(),
      beforeSignOut: vi.fn(async () => void order.push('row removed')),
    };
    const stop = followManifestAuth(win, () => store, sink);

    target.dispatchEvent(new Event('manifest:auth:login'));
    target.dispatchEvent(new Event('manifest:auth:teams-loaded'));
    expect(sink.setTeam).toHaveBeenCalledWith('t1');
    await store.logout!();
    expect(order).toEqual(['identity u1', 'row removed', 'session deleted', 'identity none']);

    stop();
    target.dispatchEvent(new Event('manifest:auth:login'));
    expect(sink.setIdentity).toHaveBeenCalledTimes(2);
  });

  it('follows currentTeam through Alpine effects when given', () => {
    const store: ManifestAuthStore = { currentTeam: { $id: 't1' } };
    const effects: (() => void)[] = [];
    const sink = { setIdentity: vi.fn(), setTeam: vi.fn(), beforeSignOut: vi.fn(async () => {}) };
    followManifestAuth(new EventTarget() as unknown as ManifestWindow, () => store, sink, { effect: (cb) => effects.push(cb) });
    effects.forEach((cb) => cb());
    store.currentTeam = { $id: 't2' };
    effects.forEach((cb) => cb());
    expect(sink.setTeam.mock.calls).toEqual([['t1'], ['t2']]);
  });
});

/**
 * The store as Manifest really drives it: an Alpine store whose other tabs assign `user` from a
 * `storage` event without any manifest:auth:* event, whose methods are attached after the store
 * exists, and which may register after our plugin.
 */
describe('following the auth store through Alpine (happy-dom)', () => {
  let names = 0;
  const stores: string[] = [];
  const effect = (callback: () => void) => Alpine.effect(callback);
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
  /** A fresh store name per test: Alpine's stores are global to the module. */
  function storeName() {
    const name = `auth${++names}`;
    stores.push(name);
    return name;
  }
  function sink(order: string[] = []) {
    return {
      order,
      setIdentity: vi.fn((identity: { userId: string } | null) => void order.push(`identity ${identity?.userId ?? 'none'}`)),
      setTeam: vi.fn((teamId: string | null) => void order.push(`team ${teamId ?? 'none'}`)),
      beforeSignOut: vi.fn(async () => void order.push('row removed')),
    };
  }
  afterEach(() => vi.useRealTimers());

  it('hears a change written straight into the store (another tab), once per change of identity', async () => {
    const name = storeName();
    Alpine.store(name, { user: null, currentTeam: null });
    const store = () => Alpine.store(name) as ManifestAuthStore;
    const to = sink();
    followManifestAuth(new EventTarget() as unknown as ManifestWindow, store, to, { effect });
    await settle();
    expect(to.setIdentity.mock.calls).toEqual([[null]]);

    store().user = { $id: 'g1', name: '' }; // what Manifest's storage listener does: no event
    await settle();
    store().user = { $id: 'g1', name: '' }; // the same person again (a new object): nothing to say
    await settle();
    store().user = { $id: 'g1', name: 'Ada' }; // renamed
    await settle();
    store().user = null; // signed out in the other tab
    await settle();
    expect(to.setIdentity.mock.calls).toEqual([[null], [{ userId: 'g1', name: null }], [{ userId: 'g1', name: 'Ada' }], [null]]);
  });

  it('follows currentTeam once per change, and the teams-loaded event adds nothing the store did not say', async () => {
    const name = storeName();
    const target = new EventTarget();
    Alpine.store(name, { user: { $id: 'u1' }, currentTeam: null });
    const store = () => Alpine.store(name) as ManifestAuthStore;
    const to = sink();
    followManifestAuth(target as unknown as ManifestWindow, store, to, { effect });
    store().currentTeam = { $id: 't1' };
    await settle();
    target.dispatchEvent(new Event('manifest:auth:teams-loaded'));
    store().currentTeam = { $id: 't1' };
    await settle();
    expect(to.setTeam.mock.calls).toEqual([[null], ['t1']]);
  });

  it('leaves the team alone when the app fixed it (team: false)', async () => {
    const name = storeName();
    Alpine.store(name, { user: null, currentTeam: { $id: 't1' } });
    const to = sink();
    followManifestAuth(new EventTarget() as unknown as ManifestWindow, () => Alpine.store(name) as ManifestAuthStore, to, { effect, team: false });
    await settle();
    expect(to.setTeam).not.toHaveBeenCalled();
  });

  it('finds a store that registers after the plugin, and wraps logout when Manifest attaches it later', async () => {
    const name = storeName();
    const order: string[] = [];
    const to = sink(order);
    const store = () => Alpine.store(name) as ManifestAuthStore | undefined;
    followManifestAuth(new EventTarget() as unknown as ManifestWindow, store, to, { effect });
    await settle();

    Alpine.store(name, { user: { $id: 'u1', name: 'Ada' }, currentTeam: null });
    await settle();
    store()!.logout = async function (this: ManifestAuthStore) {
      order.push('session deleted');
      this.user = null;
    };
    await settle();
    await store()!.logout!();
    await settle();
    expect(order).toEqual(['identity none', 'team none', 'identity u1', 'row removed', 'session deleted', 'identity none']);
  });

  it('wraps clearSession too, and again whenever Manifest assigns a new logout; never twice', async () => {
    const name = storeName();
    const order: string[] = [];
    Alpine.store(name, {
      user: { $id: 'u1' },
      currentTeam: null,
      async logout() {
        order.push('logout');
      },
      async clearSession() {
        order.push('clearSession');
      },
    });
    const store = () => Alpine.store(name) as ManifestAuthStore;
    const to = sink(order);
    followManifestAuth(new EventTarget() as unknown as ManifestWindow, store, to, { effect });
    await settle();
    order.length = 0;
    await store().clearSession!();
    expect(order).toEqual(['row removed', 'clearSession']);

    store().logout = async () => void order.push('logout v2');
    await settle();
    order.length = 0;
    await store().logout!();
    expect(order).toEqual(['row removed', 'logout v2']); // one row removal: wrapped once
  });

  it('a logout with nobody signed in is Manifest\'s no-op, without a presence call', async () => {
    const name = storeName();
    const logout = vi.fn(async () => ({ success: false }));
    Alpine.store(name, { user: null, currentTeam: null, logout });
    const to = sink();
    followManifestAuth(new EventTarget() as unknown as ManifestWindow, () => Alpine.store(name) as ManifestAuthStore, to, { effect });
    await settle();
    await expect((Alpine.store(name) as ManifestAuthStore).logout!()).resolves.toEqual({ success: false });
    expect(to.beforeSignOut).not.toHaveBeenCalled();
    expect(logout).toHaveBeenCalledOnce();
  });

  it('a sign-out never waits more than 1.5 s for presence', async () => {
    vi.useFakeTimers();
    const store: ManifestAuthStore = { user: { $id: 'u1' }, logout: vi.fn(async () => 'signed out') };
    const original = store.logout;
    const to = { setIdentity: vi.fn(), setTeam: vi.fn(), beforeSignOut: vi.fn(() => new Promise<boolean>(() => {})) };
    followManifestAuth(new EventTarget() as unknown as ManifestWindow, () => store, to);
    const result = store.logout!();
    await vi.advanceTimersByTimeAsync(1499);
    expect(original).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    await expect(result).resolves.toBe('signed out');
  });
});

describe('a tab that never started presence, signing out', () => {
  it('builds the controller on beforeSignOut() and asks it to end the row; the tab stays not started', async () => {
    const beforeSignOut = vi.fn(async () => true);
    const controller = { beforeSignOut, subscribe: () => () => {}, view: () => ({ list: [], records: {}, me: null, ready: false, error: null }) };
    const build = vi.fn(async () => controller as unknown as PresenceController);
    const source = deferredController(build);
    expect(source.current()).toBeNull();
    await expect(source.beforeSignOut()).resolves.toBe(true);
    expect(build).toHaveBeenCalledOnce();
    expect(beforeSignOut).toHaveBeenCalledOnce();
    await source.beforeSignOut();
    expect(build).toHaveBeenCalledOnce(); // built once, reused
  });

  it('answers false when there is no configuration to build from', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const source = deferredController(async () => {
      throw new Error('manifest.json has no "appwrite" block');
    });
    await expect(source.beforeSignOut()).resolves.toBe(false);
    expect(source.view().error).toMatch(/no "appwrite" block/);
    warn.mockRestore();
  });
});
