import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { Client, Teams } from 'node-appwrite';
import {
  hasUser,
  open,
  presenceCall,
  PROJECT,
  rosterOf,
  setVisibility,
  signInAsGuest,
  sightings,
  startSite,
  useBrowserSite,
  within,
} from './support';

const KEY = 'browser-test-key';
const world = useBrowserSite();

/** A person: their own browser context, signed in as a guest, tracking on the plain page. */
async function person(name?: string, page = '/plain.html') {
  const context = await world.browser.newContext();
  const tab = await open(context, world.site.origin + page);
  const userId = await signInAsGuest(tab, name);
  expect(await presenceCall<boolean>(tab, '$presence.start()')).toBe(true);
  return { context, tab, userId };
}

/**
 * Gone for good: a leaving page hears its own row's delete event while it still runs, and once
 * answered it by re-creating the row — a ghost until expiry.
 */

/**
 * An observer, and Ada in two pages of one browser, both tracking: `ada.tab` opened first, so it
 * holds the lock and writes for both; the observer already sees her.
 */
async function onePersonTwoPages() {
  const observer = await person();
  const ada = await person();
  const second = await open(ada.context, world.site.origin + '/plain.html');
  expect(await presenceCall<boolean>(second, '$presence.start()')).toBe(true);
  await within(1000, () => hasUser(observer.tab, ada.userId));
  return { observer, ada, second };
}

async function staysAway(viewer: Page, userId: string, ms = 1500) {
  expect((await sightings(viewer, userId, ms)).shown, 'came back after leaving').toEqual([]);
}

async function staysPresent(viewer: Page, userId: string, ms: number) {
  expect((await sightings(viewer, userId, ms)).absent, 'vanished while a page of theirs was open').toEqual([]);
}

describe('$presence in real Chromium', () => {
  it('two guests see each other within 1 s with status, colour and a null name', async () => {
    const ada = await person();
    const bob = await person();
    await within(1000, () => hasUser(ada.tab, bob.userId, 'online'));
    await within(1000, () => hasUser(bob.tab, ada.userId, 'online'));
    const seen = (await rosterOf(ada.tab)).find((p) => p.userId === bob.userId)!;
    expect(seen.metadata.name).toBeNull();
    expect(seen.color).toMatch(/^hsl\(\d+, 70%, 50%\)$/);
    expect(seen.metadata.color).toBe(seen.color);
    const of = await presenceCall<{ status: string }>(ada.tab, `$presence.of(${JSON.stringify(bob.userId)})`);
    expect(of.status).toBe('online');
    expect(await presenceCall(ada.tab, `$presence.of('nobody')`)).toBeNull();
    expect(ada.tab.problems).toEqual([]);
  });

  it('ready turns true only after the roster loaded', async () => {
    const others = await person();
    const context = await world.browser.newContext();
    const tab = await open(context, world.site.origin + '/plain.html');
    await signInAsGuest(tab);
    const seenAtReady = await tab.evaluate(() => {
      const $presence = (window as any).Alpine.$data(document.querySelector('[x-data]')).$presence;
      return new Promise<{ ready: boolean; size: number }[]>((resolve) => {
        const samples: { ready: boolean; size: number }[] = [];
        const timer = setInterval(() => {
          samples.push({ ready: $presence.ready, size: $presence.list.length });
          if ($presence.ready) {
            clearInterval(timer);
            resolve(samples);
          }
        }, 1);
        $presence.start();
      });
    });
    expect(seenAtReady.at(-1)).toEqual({ ready: true, size: 2 });
    expect(seenAtReady.filter((s) => s.ready && s.size < 2)).toEqual([]);
    expect(await hasUser(tab, others.userId)).toBe(true);
  });

  it('set() with metadata reaches the other page', async () => {
    const ada = await person();
    const bob = await person();
    await presenceCall(ada.tab, `$presence.set('editing', { name: 'Ada', page: 'Invoice #42' })`);
    await within(1000, () => hasUser(bob.tab, ada.userId, 'editing'));
    const seen = (await rosterOf(bob.tab)).find((p) => p.userId === ada.userId)!;
    expect(seen.metadata).toMatchObject({ name: 'Ada', page: 'Invoice #42' });
  });

  it('hiding the page shows away; showing it restores the custom status, not online', async () => {
    const ada = await person();
    const bob = await person();
    await presenceCall(ada.tab, `$presence.set('busy')`);
    await within(1000, () => hasUser(bob.tab, ada.userId, 'busy'));
    await setVisibility(ada.tab, 'hidden');
    await within(1000, () => hasUser(bob.tab, ada.userId, 'away'));
    await setVisibility(ada.tab, 'visible');
    await within(1000, () => hasUser(bob.tab, ada.userId, 'busy'));
  });

  it('clear() removes the person for others while they keep watching; stop() ends everything', async () => {
    const ada = await person();
    const bob = await person();
    await within(1000, () => hasUser(bob.tab, ada.userId));
    expect(await presenceCall(ada.tab, '$presence.clear()')).toBe(true);
    await within(1000, async () => !(await hasUser(bob.tab, ada.userId)));
    expect(await presenceCall(ada.tab, '$presence.me')).toBeNull();
    expect(await hasUser(ada.tab, bob.userId)).toBe(true);

    expect(await presenceCall(bob.tab, '$presence.stop()')).toBe(true);
    expect(await rosterOf(bob.tab)).toEqual([]);
    expect(await presenceCall(bob.tab, '$presence.ready')).toBe(false);
    await within(1000, async () => !(await hasUser(ada.tab, bob.userId)));
  });

  it('closing a page removes the person for others within 1 s', async () => {
    const ada = await person();
    const bob = await person();
    await within(1000, () => hasUser(ada.tab, bob.userId));
    await bob.tab.close({ runBeforeUnload: true });
    const took = await within(1000, async () => !(await hasUser(ada.tab, bob.userId)));
    expect(took).toBeLessThanOrEqual(1000);
    await staysAway(ada.tab, bob.userId);
  });

  it('one person in two pages: closing one never removes them, closing the last does', async () => {
    const { observer, ada, second } = await onePersonTwoPages();

    await ada.tab.close({ runBeforeUnload: true });
    await staysPresent(observer.tab, ada.userId, 5000);

    await second.close({ runBeforeUnload: true });
    await within(1000, async () => !(await hasUser(observer.tab, ada.userId)));
    await staysAway(observer.tab, ada.userId);
  });

  it('one person in two pages: the writing page stopped, then closed, never removes them while the other is open', async () => {
    const { observer, ada, second } = await onePersonTwoPages();

    expect(await presenceCall<boolean>(ada.tab, '$presence.stop()')).toBe(true);
    await ada.tab.close({ runBeforeUnload: true });
    await staysPresent(observer.tab, ada.userId, 3000);
  });

  it('one person in two pages: when the browser freezes the writing page, the other one writes', async () => {
    const { observer, ada, second } = await onePersonTwoPages();

    // What Chrome does to a background tab: fire `freeze`, then run none of its code (headless
    // Chromium does not freeze pages itself; a paused debugger stops the page's JS just the same).
    await ada.tab.evaluate(() => document.dispatchEvent(new Event('freeze')));
    const cdp = await ada.context.newCDPSession(ada.tab);
    await cdp.send('Debugger.enable');
    await cdp.send('Debugger.pause');
    try {
      expect(await presenceCall<boolean>(second, `$presence.set('busy')`)).toBe(true);
      await within(3000, () => hasUser(observer.tab, ada.userId, 'busy'));
    } finally {
      await cdp.send('Debugger.disable'); // resumes, or drops a pause still waiting for code to run
    }

    // Resumed, the first page rejoins as a follower and shows what the person chose meanwhile.
    await ada.tab.evaluate(() => document.dispatchEvent(new Event('resume')));
    await within(3000, async () => (await presenceCall(ada.tab, '$presence.me')) === 'busy');
    await second.close({ runBeforeUnload: true });
    expect(await presenceCall<boolean>(ada.tab, `$presence.set('back')`)).toBe(true);
    await within(3000, () => hasUser(observer.tab, ada.userId, 'back'));
  });

  it('without a session, start() leaves ready false and says sign-in is needed', async () => {
    const context = await world.browser.newContext();
    const tab = await open(context, world.site.origin + '/plain.html');
    expect(await presenceCall(tab, '$presence.start()')).toBe(false);
    expect(await presenceCall(tab, '$presence.ready')).toBe(false);
    expect(await presenceCall<string>(tab, '$presence.error')).toMatch(/Sign in first/);
    await expect(tab.locator('#error')).toBeTruthy();
    expect(await tab.textContent('#error')).toMatch(/Sign in first/);
  });

  it('the plugin injected after Alpine started still provides $presence', async () => {
    const context = await world.browser.newContext();
    const tab = await open(context, world.site.origin + '/late.html');
    await within(2000, async () => (await tab.textContent('#alpine')) === '1');
    const userId = await signInAsGuest(tab);
    await tab.addScriptTag({ url: '/vendor/manifest.appwrite.presences.js' });
    expect(await tab.evaluate(() => typeof (window as any).ManifestPresence?.start)).toBe('function');
    expect(await tab.evaluate(() => (window as any).ManifestPresence.start())).toBe(true);
    await tab.evaluate(() => {
      const el = document.createElement('div');
      el.setAttribute('x-data', '');
      el.innerHTML = '<b id="late" x-text="$presence.me"></b><i id="count" x-text="$presence.list.length"></i>';
      document.body.append(el);
    });
    await within(1000, async () => (await tab.textContent('#late')) === 'online');
    expect(await tab.evaluate((id) => (window as any).ManifestPresence.of(id)?.status, userId)).toBe('online');
  });

  it('a status carrying HTML shows as literal text', async () => {
    const ada = await person();
    const bob = await person();
    const evil = '<img src=x onerror=alert(1)>';
    let alerted = false;
    bob.tab.on('dialog', async (dialog) => {
      alerted = true;
      await dialog.dismiss();
    });
    await presenceCall(ada.tab, `$presence.set(${JSON.stringify(evil)})`);
    await within(1000, () => hasUser(bob.tab, ada.userId, evil));
    expect(await bob.tab.textContent(`[data-user="${ada.userId}"] .status`)).toBe(evil);
    expect(await bob.tab.locator('#roster img').count()).toBe(0);
    expect(alerted).toBe(false);
  });
});

describe('Manifest auth integration (stand-in of the auth store surface)', () => {
  async function manifestPerson(name?: string) {
    const context = await world.browser.newContext();
    const tab = await open(context, world.site.origin + '/manifest-auth.html');
    await within(2000, () => tab.evaluate(() => Boolean((window as any).Alpine?.store('auth'))));
    const userId = await tab.evaluate((name) => (window as any).Alpine.store('auth').guest(name), name);
    expect(await presenceCall<boolean>(tab, '$presence.start()')).toBe(true);
    return { context, tab, userId };
  }

  it('logout clears the person for others', async () => {
    const ada = await manifestPerson();
    const bob = await manifestPerson();
    await within(1000, () => hasUser(bob.tab, ada.userId));
    await ada.tab.evaluate(() => (window as any).Alpine.store('auth').logout());
    await within(1000, async () => !(await hasUser(bob.tab, ada.userId)));
  });

  it('a team switch re-scopes the roster', async () => {
    await world.site.close();
    world.site = await startSite({ apiKey: KEY });
    const ada = await manifestPerson('Ada');
    const bob = await manifestPerson('Bob');
    const carol = await manifestPerson('Carol');
    await within(1000, () => hasUser(ada.tab, carol.userId));

    const teamId = await ada.tab.evaluate(() => (window as any).Alpine.store('auth').createTeam('Crew'));
    const admin = new Teams(new Client().setEndpoint(world.site.emulator.url).setProject(PROJECT).setKey(KEY));
    await admin.createMembership({ teamId, roles: [], userId: bob.userId });

    await ada.tab.evaluate((id) => (window as any).Alpine.store('auth').switchTeam(id), teamId);
    await bob.tab.evaluate((id) => (window as any).Alpine.store('auth').switchTeam(id), teamId);
    await within(2000, async () => (await hasUser(ada.tab, bob.userId)) && !(await hasUser(ada.tab, carol.userId)));
    await within(2000, async () => (await hasUser(bob.tab, ada.userId)) && !(await hasUser(bob.tab, carol.userId)));
    // Carol, outside the team, no longer sees them.
    await within(2000, async () => !(await hasUser(carol.tab, ada.userId)) && !(await hasUser(carol.tab, bob.userId)));
    const meta = (await rosterOf(bob.tab)).find((p) => p.userId === ada.userId)!.metadata;
    expect(meta.team).toBe(teamId);
  });
});

describe('the demo', () => {
  it('shows two people with coloured dots (screenshot for the README)', async () => {
    const contexts = [await world.browser.newContext({ viewport: { width: 720, height: 640 } }), await world.browser.newContext({ viewport: { width: 720, height: 640 } })];
    const [ada, grace] = await Promise.all(contexts.map((c) => open(c, world.site.origin + '/')));
    await ada!.fill('input[name=name]', 'Ada');
    await ada!.click('[data-test=join]');
    await grace!.fill('input[name=name]', 'Grace');
    await grace!.click('[data-test=join]');
    await within(3000, async () => (await ada!.locator('[data-test=roster] li[data-user]').count()) === 2);
    await grace!.click('text=Busy');
    await within(2000, async () => (await ada!.textContent('[data-test=roster]'))!.includes('busy'));
    expect(await ada!.textContent('.count')).toBe('2 people here');
    expect(await grace!.textContent('[data-test=seen-as]')).toBe('busy');
    mkdirSync(join(import.meta.dirname, '..', '..', 'docs'), { recursive: true });
    await ada!.screenshot({ path: join(import.meta.dirname, '..', '..', 'docs', 'demo.png') });

    // Signing out the way the demo does (beforeSignOut, then the session): Ada sees Grace go at
    // once, and Grace's own line reads "nobody" instead of throwing on of(...).status.
    await grace!.click('[data-test=sign-out]');
    await within(2000, async () => (await ada!.locator('[data-test=roster] li[data-user]').count()) === 1);
    await within(2000, async () => !(await grace!.isVisible('[data-test=sign-out]')));
    expect(ada!.problems).toEqual([]);
    expect(grace!.problems).toEqual([]);
  });
});
