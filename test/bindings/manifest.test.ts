import { describe, expect, it, vi } from 'vitest';
import {
  configFromManifest,
  followManifestAuth,
  identityFromUser,
  loadConfig,
  teamFromStore,
  type ManifestAuthStore,
  type ManifestWindow,
} from '../../src/bindings/manifest';

const good = { appwrite: { projectId: 'p1', endpoint: 'https://example.test/v1/', auth: {}, presence: { auto: false, status: 'available', heartbeatMs: 30000, junk: 1 } } };

describe('configFromManifest', () => {
  it('reads endpoint, project and the presence block as defaults', () => {
    expect(configFromManifest(good)).toEqual({
      ok: true,
      config: { projectId: 'p1', endpoint: 'https://example.test/v1', presence: { auto: false, status: 'available', heartbeatMs: 30000 } },
    });
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
    followManifestAuth(new EventTarget() as unknown as ManifestWindow, () => store, sink, (cb) => effects.push(cb));
    effects.forEach((cb) => cb());
    store.currentTeam = { $id: 't2' };
    effects.forEach((cb) => cb());
    expect(sink.setTeam.mock.calls).toEqual([['t1'], ['t2']]);
  });
});
