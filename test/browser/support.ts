/**
 * Real-browser harness: the emulator serves a temporary copy of demo/ plus the fixture pages
 * (same origin as the API, as `npm start` does), and Debian's Chromium is driven by
 * playwright-core — never a downloaded browser. One browser context per person.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index';

const root = join(import.meta.dirname, '..', '..');
export const PROJECT = 'presence-demo';

export interface Site {
  emulator: Emulator;
  origin: string;
  close(): Promise<void>;
}

/** The demo and fixtures on a fresh emulator at a free port, manifest.json pointing at it. */
export async function startSite(options: { expiryEvents?: boolean; apiKey?: string } = {}): Promise<Site> {
  const dir = mkdtempSync(join(tmpdir(), 'presence-site-'));
  cpSync(join(root, 'demo'), dir, { recursive: true });
  cpSync(join(import.meta.dirname, 'fixtures'), dir, { recursive: true });
  const emulator = await startEmulator({ port: 0, staticDir: dir, expiryEvents: options.expiryEvents ?? false, apiKey: options.apiKey ?? null });
  const origin = `http://127.0.0.1:${emulator.port}`;
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  manifest.appwrite.endpoint = emulator.url;
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return {
    emulator,
    origin,
    async close() {
      await emulator.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A test file's world: one Chromium for the file, a fresh site (emulator + pages) for each test, and
 * every browser context and the site closed after it. `world.site` may be replaced inside a test
 * (a site with other options); the one in place at the end is closed.
 */
export function useBrowserSite(options: Parameters<typeof startSite>[0] = {}): { browser: Browser; site: Site } {
  const world = {} as { browser: Browser; site: Site };
  beforeAll(async () => {
    world.browser = await launchChromium();
  });
  afterAll(async () => {
    await world.browser?.close();
  });
  beforeEach(async () => {
    world.site = await startSite(options);
  });
  afterEach(async () => {
    for (const context of world.browser.contexts()) await context.close();
    await world.site.close();
  });
  return world;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // Keep timers of background pages running at full speed: tests drive visibility themselves.
      '--disable-background-timer-throttling',
      '--disable-renderer-backgrounding',
      '--disable-backgrounding-occluded-windows',
    ],
  });
}

/** Open a page and collect its console errors and uncaught exceptions. */
export async function open(context: BrowserContext, url: string): Promise<Page & { problems: string[] }> {
  const page = (await context.newPage()) as Page & { problems: string[] };
  page.problems = [];
  page.on('pageerror', (error) => page.problems.push(String(error)));
  await page.goto(url);
  return page;
}

/** Sign in as a guest in this page (optionally naming the account), through the real SDK. */
export async function signInAsGuest(page: Page, name?: string): Promise<string> {
  return page.evaluate(async (name) => {
    const manifest = await (await fetch('/manifest.json')).json();
    const client = new (window as any).Appwrite.Client().setEndpoint(manifest.appwrite.endpoint).setProject(manifest.appwrite.projectId);
    const account = new (window as any).Appwrite.Account(client);
    await account.createAnonymousSession();
    if (name) await account.updateName({ name });
    return (await account.get()).$id as string;
  }, name);
}

/** The roster as a page shows it, via the public `$presence` surface. */
export function rosterOf(page: Page): Promise<{ userId: string; status: string; color: string; metadata: Record<string, unknown> }[]> {
  return page.evaluate(() => JSON.parse(JSON.stringify((window as any).Alpine.$data(document.querySelector('[x-data]')).$presence.list)));
}

export function presenceCall<T>(page: Page, expression: string): Promise<T> {
  return page.evaluate(`(async () => { const $presence = window.Alpine.$data(document.querySelector('[x-data]')).$presence; return ${expression}; })()`) as Promise<T>;
}

/** Set the page's visibility the way a tab switch does (headless pages are always "visible"). */
export function setVisibility(page: Page, state: 'hidden' | 'visible'): Promise<void> {
  return page.evaluate((state) => {
    Object.defineProperty(document, 'visibilityState', { value: state, configurable: true });
    Object.defineProperty(document, 'hidden', { value: state === 'hidden', configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  }, state);
}

/** Poll `probe` until it returns true; resolves with the elapsed ms, rejects after `ms`. */
export async function within(ms: number, probe: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await probe()) return Date.now() - started;
    if (Date.now() - started > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export const hasUser = async (page: Page, userId: string, status?: string) =>
  (await rosterOf(page)).some((p) => p.userId === userId && (status === undefined || p.status === status));

/** The Web Lock held by the tab that writes a person's row: `appwrite-presence:<projectId>:<userId>`. */
export const writerLock = (userId: string, projectId = PROJECT) => `appwrite-presence:${projectId}:${userId}`;

/**
 * Whether this page holds the Web Lock `name`. `navigator.locks.query()` lists every holder of
 * the origin by client id; a probe lock taken for the question tells which client id is this page.
 */
export function holdsLock(page: Page, name: string): Promise<boolean> {
  return page.evaluate(
    async (name) =>
      (await navigator.locks.request(`probe:${Math.random()}`, async (probe) => {
        const { held = [] } = await navigator.locks.query();
        const self = held.find((lock) => lock.name === probe?.name)?.clientId;
        return held.some((lock) => lock.name === name && lock.clientId === self);
      })) as boolean,
    name,
  );
}

/** When (ms from now, polled every 50 ms for `ms`) `viewer` did or did not list `userId`. */
export async function sightings(viewer: Page, userId: string, ms: number): Promise<{ shown: number[]; absent: number[] }> {
  const shown: number[] = [];
  const absent: number[] = [];
  const started = Date.now();
  while (Date.now() - started < ms) {
    ((await hasUser(viewer, userId)) ? shown : absent).push(Date.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { shown, absent };
}
