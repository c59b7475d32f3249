/**
 * Issue 14: a Manifest app with a `presence` block gets Manifest's own presences plugin from its
 * CDN, and the page adds ours by a tag. Whichever runs first — or when ours arrives after Alpine
 * started — `$presence`, `$store.presence` and `window.ManifestPresence` are ours, the built-in
 * one never starts, writes or deletes, and the console says so once. "Ours" is shown by what only
 * ours does: `hidden` → `away` (the built-in reacts to window blur only), and the keepalive leave
 * when the page closes. The built-in plugin is a stand-in with its observable surface
 * (fixtures/builtin-presences.js); fixtures/builtin.html injects the scripts as Manifest's loader does.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { hasUser, open, presenceCall, setVisibility, signInAsGuest, useBrowserSite, within } from './support';

const world = useBrowserSite();

/** Someone else, on the plain page, who sees everyone. */
async function observer() {
  const context = await world.browser.newContext();
  const tab = await open(context, world.site.origin + '/plain.html');
  await signInAsGuest(tab);
  expect(await presenceCall<boolean>(tab, '$presence.start()')).toBe(true);
  return tab;
}

/** The page with both plugins, Alpine running, signed in as a guest; its console and presence requests recorded. */
async function pageWithBoth(order: 'before' | 'after' | 'late') {
  const context = await world.browser.newContext();
  const tab = (await context.newPage()) as Page & { problems: string[] };
  tab.problems = [];
  const messages: string[] = [];
  const builtinRequests: string[] = [];
  tab.on('pageerror', (error) => tab.problems.push(String(error)));
  tab.on('console', (message) => messages.push(message.text()));
  tab.on('request', (request) => {
    if (request.url().includes('/v1/presences') && (request.postData() ?? '').includes('built-in')) builtinRequests.push(`${request.method()} ${request.url()}`);
  });
  await tab.goto(`${world.site.origin}/builtin.html?order=${order}`);
  await within(3000, () => tab.evaluate(() => Boolean((document.querySelector('[x-data]') as any)?._x_dataStack)));
  const userId = await signInAsGuest(tab);
  if (order === 'late') {
    // Alpine started with the built-in plugin alone: the component already holds its facade.
    expect(await tab.textContent('#ready')).toBe('false');
    await tab.addScriptTag({ url: '/vendor/manifest.appwrite.presences.js' });
  }
  return { tab, userId, messages, builtinRequests };
}

describe.each(['before', 'after', 'late'] as const)("ours beside Manifest's built-in presences plugin (it runs %s ours)", (order) => {
  it('$presence, $store.presence and window.ManifestPresence are ours; the built-in plugin never writes; the console says so once', async () => {
    const watcher = await observer();
    const { tab, userId, messages, builtinRequests } = await pageWithBoth(order);

    // Only ours has beforeSignOut().
    expect(await tab.evaluate(() => typeof (window as any).ManifestPresence?.beforeSignOut)).toBe('function');
    expect(await tab.evaluate(() => typeof (window as any).Alpine.store('presence').beforeSignOut)).toBe('function');

    expect(await presenceCall<boolean>(tab, '$presence.start()')).toBe(true);
    await within(1000, async () => (await tab.textContent('#me')) === 'online');
    await within(1000, () => hasUser(watcher, userId, 'online'));

    // Ours: a hidden page is away (the built-in plugin only listens to window blur).
    await setVisibility(tab, 'hidden');
    await within(1500, () => hasUser(watcher, userId, 'away'));
    await within(1000, async () => (await tab.textContent('#me')) === 'away');
    expect(await tab.evaluate((id) => (window as any).ManifestPresence.of(id)?.status, userId)).toBe('away');

    expect(await tab.evaluate(() => (window as any).__builtin)).toEqual({ started: 0, writes: 0, deletes: 0 });
    expect(builtinRequests).toEqual([]);
    const said = messages.filter((text) => text.startsWith('[Manifest Presence]') && text.includes('built-in'));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/Replaced Manifest's built-in presences plugin/);

    // Ours: the keepalive leave when the person's last page closes.
    await tab.close({ runBeforeUnload: true });
    await within(1000, async () => !(await hasUser(watcher, userId)));
    expect(tab.problems).toEqual([]);
  });
});

describe('our script alone or twice', () => {
  it('says nothing about a built-in plugin that is not there, and a second copy changes nothing', async () => {
    const context = await world.browser.newContext();
    const tab = await context.newPage();
    const messages: string[] = [];
    tab.on('console', (message) => messages.push(message.text()));
    await tab.goto(world.site.origin + '/plain.html');
    await within(3000, () => tab.evaluate(() => typeof (window as any).ManifestPresence?.start === 'function'));
    const first = await tab.evaluate(() => (window as any).ManifestPresence);
    await tab.addScriptTag({ url: '/vendor/manifest.appwrite.presences.js' });
    await signInAsGuest(tab);
    expect(await tab.evaluate(() => (window as any).ManifestPresence.start())).toBe(true);
    expect(await presenceCall(tab, '$presence.me')).toBe('online');
    expect(Object.keys(first).sort()).toEqual(['all', 'beforeSignOut', 'clear', 'of', 'set', 'start', 'stop']);
    expect(messages.filter((text) => text.includes('built-in'))).toEqual([]);
  });
});
