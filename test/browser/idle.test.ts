/**
 * Idle while visible (issue 13, part 1) in real Chromium: real mouse and keyboard input through
 * playwright on the plain page, `idleMs` set by the page in `start()`. An observer in another
 * browser context sees a visible tab without input turn `away` and come back with the person's
 * own status on the next input; with two tabs of one person, input in either keeps them active.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { hasUser, holdsLock, open, presenceCall, signInAsGuest, useBrowserSite, within, writerLock } from './support';

const world = useBrowserSite();
const IDLE_MS = 1_500;

/** Someone else, on the plain page, who sees everyone. */
async function observer() {
  const context = await world.browser.newContext();
  const tab = await open(context, world.site.origin + '/plain.html');
  await signInAsGuest(tab);
  expect(await presenceCall<boolean>(tab, '$presence.start()')).toBe(true);
  return tab;
}

const statusOf = async (viewer: Page, userId: string) => (await hasUser(viewer, userId, 'busy')) ? 'busy' : (await hasUser(viewer, userId, 'away')) ? 'away' : 'other';

/** Move the mouse in `tab` every 250 ms for `ms`, checking all along that `watcher` sees `userId` busy. */
async function keepBusy(tab: Page, watcher: Page, userId: string, ms: number) {
  const started = Date.now();
  for (let i = 0; Date.now() - started < ms; i++) {
    await tab.mouse.move(20 + (i % 50) * 3, 20 + (i % 7) * 5);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await statusOf(watcher, userId), `at ${Date.now() - started} ms`).toBe('busy');
  }
}

describe('idleMs in Chromium', () => {
  it('a visible tab without input goes away for an observer after idleMs, and comes back with its status on mouse or key input', async () => {
    const watcher = await observer();
    const context = await world.browser.newContext();
    const tab = await open(context, world.site.origin + '/plain.html');
    const userId = await signInAsGuest(tab);
    expect(await presenceCall<boolean>(tab, `$presence.start({ status: 'busy', idleMs: ${IDLE_MS} })`)).toBe(true);
    await within(2000, () => hasUser(watcher, userId, 'busy'));

    // Input for twice idleMs: busy all along.
    await keepBusy(tab, watcher, userId, 2 * IDLE_MS);

    // No input: away (the tab is visible throughout).
    expect(await tab.evaluate(() => document.visibilityState)).toBe('visible');
    await within(IDLE_MS + 2000, () => hasUser(watcher, userId, 'away'));
    expect(await presenceCall(tab, '$presence.me')).toBe('away');

    await tab.mouse.move(200, 150);
    await within(1500, () => hasUser(watcher, userId, 'busy'));
    expect(await presenceCall(tab, '$presence.me')).toBe('busy');

    await within(IDLE_MS + 2000, () => hasUser(watcher, userId, 'away'));
    await tab.keyboard.press('Shift');
    await within(1500, () => hasUser(watcher, userId, 'busy'));
    expect(tab.problems).toEqual([]);
  });

  it('two tabs of one person: input in either keeps the person active; none in both makes them away', async () => {
    const watcher = await observer();
    const context = await world.browser.newContext();
    const first = await open(context, world.site.origin + '/plain.html');
    const userId = await signInAsGuest(first);
    const second = await open(context, world.site.origin + '/plain.html');
    for (const tab of [first, second]) {
      expect(await presenceCall<boolean>(tab, `$presence.start({ status: 'busy', idleMs: ${IDLE_MS} })`)).toBe(true);
    }
    await within(2000, () => hasUser(watcher, userId, 'busy'));
    // The tab that writes the row, and the other one: input in the one that does NOT write still counts.
    let writer: Page | null = null;
    await within(3000, async () => {
      const [a, b] = [await holdsLock(first, writerLock(userId)), await holdsLock(second, writerLock(userId))];
      if (a !== b) writer = a ? first : second;
      return writer !== null;
    });
    const other = writer === first ? second : first;

    // The writer's tab has no input and goes idle; input in the other keeps the person busy.
    await keepBusy(other, watcher, userId, 3 * IDLE_MS);
    await within(IDLE_MS + 2000, () => hasUser(watcher, userId, 'away'));

    // Input in the writer's own tab, then in the other again: busy each time.
    await writer!.mouse.move(100, 100);
    await within(1500, () => hasUser(watcher, userId, 'busy'));
    await within(IDLE_MS + 2000, () => hasUser(watcher, userId, 'away'));
    await other.keyboard.press('Shift');
    await within(1500, () => hasUser(watcher, userId, 'busy'));
    expect([...first.problems, ...second.problems]).toEqual([]);
  });
});

describe('the demo', () => {
  it('sets idleMs in its manifest and says how to see idle', async () => {
    const context = await world.browser.newContext();
    const tab = await open(context, world.site.origin + '/');
    const manifest = await tab.evaluate(async () => (await (await fetch('/manifest.json')).json()).appwrite.presence);
    expect(manifest.idleMs).toBe(60_000);
    await tab.click('[data-test=join]');
    await within(3000, async () => (await tab.textContent('[data-test=me]')) === 'online');
    expect(await tab.isVisible('[data-test=idle-hint]')).toBe(true);
    expect(await tab.textContent('[data-test=idle-hint]')).toMatch(/away/);
    expect(tab.problems).toEqual([]);
  });
});
