/**
 * Issue 10's sign-out guarantees in real Chromium: one person in two tabs (two pages of ONE
 * browser context: they share cookies, localStorage, BroadcastChannel and Web Locks) and an
 * observer in another context. After a sign-out in either tab, an identity change made in the
 * tab that does not write, or a team switch with a PUT still in flight, the observer (or the old
 * team) stops listing the person's old row within 2 s and does not list it again in the next 5 s.
 *
 * Two ways in: plain Alpine (`$presence.beforeSignOut()`, then `account.deleteSession`), and a
 * Manifest-shaped auth store (fixtures/manifest-auth-store.js) whose logout() deletes the session
 * first and whose other tab changes only through a `storage` event, with no manifest:auth:* event.
 * The writer is the tab holding the Web Lock `appwrite-presence:<projectId>:<userId>`.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { Client, Teams } from 'node-appwrite';
import { describe, expect, it } from 'vitest';
import {
  hasUser,
  holdsLock,
  open,
  presenceCall,
  PROJECT,
  sightings,
  signInAsGuest,
  useBrowserSite,
  within,
  writerLock,
} from './support';

const KEY = 'signout-test-key';
/** Within this long after the act the old row must be gone for the observer … */
const GONE_MS = 2000;
/** … and stay gone for this long. */
const AWAY_MS = 5000;

const world = useBrowserSite({ apiKey: KEY });

type Variant = 'plain' | 'manifest';
const PAGE: Record<Variant, string> = { plain: '/plain.html', manifest: '/manifest-tabs.html' };

interface Person {
  context: BrowserContext;
  userId: string;
  /** The tab holding the writer lock, and the other one. */
  writer: Page;
  other: Page;
}

/** An observer on the plain page, tracking (and scoped to `teamId` when given). */
async function observer(teamId?: string): Promise<Page> {
  const context = await world.browser.newContext();
  const tab = await open(context, world.site.origin + '/plain.html');
  await signInAsGuest(tab);
  expect(await presenceCall<boolean>(tab, '$presence.start()')).toBe(true);
  if (teamId) await presenceCall(tab, `$presence.controller().setTeam(${JSON.stringify(teamId)})`);
  return tab;
}

/** Manifest-shaped page: the store exists and Manifest's methods are attached. */
async function authReady(tab: Page) {
  await within(3000, () => tab.evaluate(() => typeof (window as any).Alpine?.store('auth')?.logout === 'function'));
}

/**
 * One person in two tabs of one browser, both tracking, seen by `watcher`: a guest, or (account)
 * someone with an email account, signed in in the first tab; the second tab opens signed in.
 */
async function personInTwoTabs(variant: Variant, watcher: Page, options: { account?: boolean; query?: string } = {}): Promise<Person> {
  const context = await world.browser.newContext();
  const url = world.site.origin + PAGE[variant] + (options.query ?? '');
  const first = await open(context, url);
  let userId: string;
  if (variant === 'plain') {
    userId = options.account ? await signUp(first) : await signInAsGuest(first);
  } else {
    await authReady(first);
    userId = options.account
      ? await first.evaluate(([email, password]) => (window as any).Alpine.store('auth').signUp(email, password), credentials())
      : await first.evaluate(() => (window as any).Alpine.store('auth').createGuest());
  }
  const second = await open(context, url);
  if (variant === 'manifest') {
    await authReady(second);
    await within(3000, () => second.evaluate((id) => (window as any).Alpine.store('auth').user?.$id === id, userId));
  }
  expect(await presenceCall<boolean>(first, '$presence.start()')).toBe(true);
  expect(await presenceCall<boolean>(second, '$presence.start()')).toBe(true);
  await within(2000, () => hasUser(watcher, userId));
  const [writer, other] = await writerFirst(first, second, userId);
  return { context, userId, writer, other };
}

/** The two tabs, the one holding the person's writer lock first. */
async function writerFirst(a: Page, b: Page, userId: string): Promise<[Page, Page]> {
  let order: [Page, Page] | null = null;
  await within(3000, async () => {
    const [aWrites, bWrites] = [await holdsLock(a, writerLock(userId)), await holdsLock(b, writerLock(userId))];
    if (aWrites !== bWrites) order = aWrites ? [a, b] : [b, a];
    return order !== null;
  });
  return order!;
}

let accounts = 0;
function credentials(): [string, string] {
  return [`person${++accounts}-${Date.now()}@example.test`, 'correct horse battery'];
}

/** An email account, signed in in this page through the real SDK (plain pages). */
function signUp(page: Page): Promise<string> {
  return page.evaluate(async ([email, password]) => {
    const A = (window as any).Appwrite;
    const manifest = await (await fetch('/manifest.json')).json();
    const account = new A.Account(new A.Client().setEndpoint(manifest.appwrite.endpoint).setProject(manifest.appwrite.projectId));
    await account.create({ userId: A.ID.unique(), email, password });
    await account.createEmailPasswordSession({ email, password });
    return (await account.get()).$id as string;
  }, credentials());
}

/** The page's own Appwrite account service, for what an app does around presence. */
const ACCOUNT = `(async () => {
  const A = window.Appwrite;
  const manifest = await (await fetch('/manifest.json')).json();
  return new A.Account(new A.Client().setEndpoint(manifest.appwrite.endpoint).setProject(manifest.appwrite.projectId));
})()`;

/** Sign out in `tab` as each kind of app does. Plain: beforeSignOut(), then delete the session. */
async function signOut(variant: Variant, tab: Page): Promise<void> {
  if (variant === 'manifest') {
    await tab.evaluate(() => (window as any).Alpine.store('auth').logout());
    return;
  }
  await tab.evaluate(`(async () => {
    const account = await ${ACCOUNT};
    await window.ManifestPresence.beforeSignOut();
    await account.deleteSession({ sessionId: 'current' });
  })()`);
}

/** The observer stops listing `userId` within GONE_MS and does not list them again for AWAY_MS. */
async function goneForGood(viewer: Page, userId: string, what: string) {
  const started = Date.now();
  try {
    await within(GONE_MS, async () => !(await hasUser(viewer, userId)));
  } catch {
    throw new Error(`${what}: still listed ${Date.now() - started} ms later`);
  }
  const { shown } = await sightings(viewer, userId, AWAY_MS);
  expect(shown, `${what}: listed again (ms after it went)`).toEqual([]);
}

/** Every tab of the person follows the sign-out: `me` null and not ready, within GONE_MS. */
async function signedOutEverywhere(tabs: Page[], what: string) {
  for (const tab of tabs) {
    try {
      await within(GONE_MS, async () => (await presenceCall(tab, '$presence.me')) === null && (await presenceCall(tab, '$presence.ready')) === false);
    } catch {
      throw new Error(`${what}: a tab of the person still shows me=${await presenceCall(tab, '$presence.me')}, ready=${await presenceCall(tab, '$presence.ready')}`);
    }
  }
}

describe.each(['plain', 'manifest'] as const)('one person in two tabs, an observer (%s)', (variant) => {
  it('sign-out in the tab that does not write: gone within 2 s, for good', async () => {
    const watcher = await observer();
    const person = await personInTwoTabs(variant, watcher);
    await signOut(variant, person.other);
    await goneForGood(watcher, person.userId, 'after a sign-out in the non-writer tab');
    await signedOutEverywhere([person.writer, person.other], 'after a sign-out in the non-writer tab');
  });

  it('sign-out in the writer tab: gone within 2 s, and never back (no other tab re-publishes)', async () => {
    const watcher = await observer();
    const person = await personInTwoTabs(variant, watcher);
    await signOut(variant, person.writer);
    await goneForGood(watcher, person.userId, 'after a sign-out in the writer tab');
    await signedOutEverywhere([person.writer, person.other], 'after a sign-out in the writer tab');
  });

  it('sign-out in a tab that never started presence: that tab still ends the row', async () => {
    const watcher = await observer();
    const context = await world.browser.newContext();
    const url = world.site.origin + PAGE[variant];
    const tracking = await open(context, url);
    let userId: string;
    if (variant === 'plain') userId = await signInAsGuest(tracking);
    else {
      await authReady(tracking);
      userId = await tracking.evaluate(() => (window as any).Alpine.store('auth').createGuest());
    }
    expect(await presenceCall<boolean>(tracking, '$presence.start()')).toBe(true);
    await within(2000, () => hasUser(watcher, userId));
    const idle = await open(context, url); // never calls start()
    if (variant === 'manifest') {
      await authReady(idle);
      await within(3000, () => idle.evaluate((id) => (window as any).Alpine.store('auth').user?.$id === id, userId));
    }
    await signOut(variant, idle);
    await goneForGood(watcher, userId, 'after a sign-out in a tab that never started presence');
    await signedOutEverywhere([tracking], 'after a sign-out in a tab that never started presence');
  });

  it('an identity change made in the tab that does not write: the old identity is gone for good, the new one shows', async () => {
    const watcher = await observer();
    // Manifest: an account signs out with guest-auto, and logout() creates the new guest itself.
    const person = await personInTwoTabs(variant, watcher, { account: true, query: variant === 'manifest' ? '?guest-auto' : '' });
    let newId: string;
    if (variant === 'manifest') {
      await person.other.evaluate(() => (window as any).Alpine.store('auth').logout());
      newId = await person.other.evaluate(() => (window as any).Alpine.store('auth').user?.$id);
      expect(newId).toBeTruthy();
    } else {
      // Plain: what such an app does — end presence, delete the session, become a new guest, start again.
      newId = await person.other.evaluate(`(async () => {
        const account = await ${ACCOUNT};
        await window.ManifestPresence.beforeSignOut();
        await account.deleteSession({ sessionId: 'current' });
        await account.createAnonymousSession();
        return (await account.get()).$id;
      })()`);
      await presenceCall(person.other, '$presence.start()');
    }
    expect(newId).not.toBe(person.userId);
    await goneForGood(watcher, person.userId, 'after an identity change in the non-writer tab');
    if (variant === 'manifest') {
      // The writer tab heard it only through the storage event, and follows the new guest.
      expect(await person.writer.evaluate(() => (window as any).Alpine.store('auth').user?.$id)).toBe(newId);
    }
    // Tracking was on: the person resumes as the new identity.
    await within(3000, () => hasUser(watcher, newId));
  });

  it('a team switch with a PUT still in flight: the old team never sees the old row again after 2 s', async () => {
    const admin = new Teams(new Client().setEndpoint(world.site.emulator.url).setProject(PROJECT).setKey(KEY));
    // The person, in team A with the observer.
    const bootstrap = await observer();
    const person = await personInTwoTabs(variant, bootstrap);
    const createTeam = (name: string) =>
      person.writer.evaluate(`(async () => {
        const A = window.Appwrite;
        const manifest = await (await fetch('/manifest.json')).json();
        const teams = new A.Teams(new A.Client().setEndpoint(manifest.appwrite.endpoint).setProject(manifest.appwrite.projectId));
        return (await teams.create({ teamId: A.ID.unique(), name: ${JSON.stringify(name)} })).$id;
      })()`) as Promise<string>;
    const teamA = await createTeam('A');
    const teamB = await createTeam('B');
    const watcherId = await bootstrap.evaluate(`(async () => (await (${ACCOUNT})).get())()`).then((user) => (user as { $id: string }).$id);
    await admin.createMembership({ teamId: teamA, roles: [], userId: watcherId });
    await presenceCall(bootstrap, `$presence.controller().setTeam(${JSON.stringify(teamA)})`);
    const watcher = bootstrap;
    const switchTo = (tab: Page, teamId: string) =>
      variant === 'manifest'
        ? tab.evaluate((id) => (window as any).Alpine.store('auth').switchTeam(id), teamId)
        : presenceCall(tab, `$presence.controller().setTeam(${JSON.stringify(teamId)})`);
    await switchTo(person.writer, teamA);
    await switchTo(person.other, teamA);
    await within(3000, () => hasUser(watcher, person.userId));

    // Every write of the writer tab now takes 800 ms to reach Appwrite; a status change starts one.
    await person.writer.route('**/v1/presences/**', async (route) => {
      if (route.request().method() !== 'DELETE') await new Promise((resolve) => setTimeout(resolve, 800));
      await route.continue().catch(() => {});
    });
    await person.writer.evaluate(() => void (window as any).ManifestPresence.set('busy'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await switchTo(person.writer, teamB);
    await switchTo(person.other, teamB);
    await goneForGood(watcher, person.userId, 'after a team switch with a write in flight');
  });
});
