/**
 * WebSockets blocked (PRODUCT behaviour 17, issue 10 "Done when"), in real Chromium: a page whose
 * realtime URL is unreachable still sees a join and a leave within one heartbeat, shows
 * "Live updates unavailable; …" in `$presence.error`, and goes live when the socket connects.
 * Two ways to be unreachable: the emulator refusing every upgrade with a 403 (a blocking proxy,
 * everyone affected), and one page whose WebSockets go to a closed port (only that page affected,
 * everyone else live). The heartbeat is 2 s, passed to `start()` (the options a manifest's
 * `presence` block would give).
 */
import { createServer } from 'node:net';
import type { BrowserContext, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { hasUser, open, presenceCall, signInAsGuest, useBrowserSite, within } from './support';

const HEARTBEAT_MS = 2000;
/** One heartbeat plus a generous margin for the list round trip and two shared cores. */
const ONE_HEARTBEAT = HEARTBEAT_MS + 2000;
/** The SDK's next retry after unblocking (1 s after each of its first five failures, then 5 s), plus settling. */
const RECONNECT_MS = 9000;
const UNAVAILABLE = `Live updates unavailable; refreshing every ${Math.round(HEARTBEAT_MS / 1000)} s.`;

const world = useBrowserSite();

interface Person {
  context: BrowserContext;
  tab: Page & { problems: string[] };
  userId: string;
}

/** A guest on the plain page, signed in, not started yet. */
async function guestPage(context?: BrowserContext): Promise<Person> {
  const ctx = context ?? (await world.browser.newContext());
  const tab = await open(ctx, world.site.origin + '/plain.html');
  const userId = await signInAsGuest(tab);
  return { context: ctx, tab, userId };
}

/** `start()` with the short heartbeat, not awaited (with realtime down it answers after the 5 s connect timeout). */
const startSoon = (who: Person) => presenceCall<void>(who.tab, `void $presence.start({ heartbeatMs: ${HEARTBEAT_MS} })`);
const start = (who: Person) => presenceCall<boolean>(who.tab, `$presence.start({ heartbeatMs: ${HEARTBEAT_MS} })`);
const errorOf = (who: Person) => presenceCall<string | null>(who.tab, '$presence.error');
const shown = (who: Person) => who.tab.textContent('#error');

/** `viewer` lists `other` within `ms` of `other` starting. */
async function joinSeen(viewer: Person, other: Person, ms: number): Promise<number> {
  await startSoon(other);
  return within(ms, () => hasUser(viewer.tab, other.userId));
}

/** `other` stops (the row is deleted when stop() answers); `viewer` drops them within `ms`. */
async function leaveSeen(viewer: Person, other: Person, ms: number): Promise<number> {
  expect(await presenceCall<boolean>(other.tab, '$presence.stop()')).toBe(true);
  return within(ms, async () => !(await hasUser(viewer.tab, other.userId)));
}

/**
 * The page's realtime socket opens (it never had one before) within the SDK's retry time; then
 * `error` is back to null within 2 s (on the page too), and the next join is seen within 1 s.
 */
async function goesLive(viewer: Person, joiner: Person): Promise<void> {
  await within(RECONNECT_MS, async () => (await realtimeOpens(viewer.tab)) > 0); // the SDK's own retry got in
  await within(2000, async () => (await errorOf(viewer)) === null); // settle time and a re-list
  expect(await realtimeOpens(viewer.tab)).toBe(1);
  expect(await presenceCall(viewer.tab, '$presence.ready')).toBe(true);
  expect(await shown(viewer)).toBe('');
  await joinSeen(viewer, joiner, 1000);
}

/** A local port with nothing listening: connecting to it is refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Watch the realtime WebSockets of every page of `context` (`window.__realtime.opens` counts the
 * ones that opened). With `unreachable`, they go to a closed port instead (connection refused, as
 * an unreachable URL is) until `reachable(page)`; other WebSockets are untouched.
 */
async function watchRealtime(context: BrowserContext, { unreachable }: { unreachable: boolean }): Promise<void> {
  const port = await closedPort();
  await context.addInitScript(
    ({ port, unreachable }) => {
      const Real = window.WebSocket;
      const state = { blocked: unreachable, opens: 0 };
      (window as any).__realtime = state;
      class Watched extends Real {
        constructor(url: string | URL, protocols?: string | string[]) {
          const target = new URL(String(url));
          const realtime = target.pathname.endsWith('/realtime');
          if (realtime && state.blocked) target.host = `127.0.0.1:${port}`;
          super(target, protocols);
          if (realtime) this.addEventListener('open', () => state.opens++);
        }
      }
      window.WebSocket = Watched;
    },
    { port, unreachable },
  );
}

const reachable = (page: Page) => page.evaluate(() => ((window as any).__realtime.blocked = false));
const realtimeOpens = (page: Page) => page.evaluate(() => (window as any).__realtime.opens as number);

describe('realtime unreachable in real Chromium', () => {
  it('the emulator refuses every WebSocket (a blocking proxy): polling shows joins and leaves, the error says so, live again once allowed', async () => {
    world.site.emulator.blockRealtime(true);
    const watched = await world.browser.newContext();
    await watchRealtime(watched, { unreachable: false });
    const ada = await guestPage(watched);
    const bob = await guestPage();
    const carol = await guestPage();
    const dan = await guestPage();

    expect(await start(ada)).toBe(true);
    expect(await errorOf(ada)).toBe(UNAVAILABLE);
    expect(await shown(ada)).toBe(UNAVAILABLE);
    expect(world.site.emulator.connections()).toBe(0);

    await joinSeen(ada, bob, ONE_HEARTBEAT);
    await joinSeen(ada, carol, ONE_HEARTBEAT);
    await within(ONE_HEARTBEAT + 5000, async () => (await presenceCall(carol.tab, '$presence.ready')) === true);
    await leaveSeen(ada, carol, ONE_HEARTBEAT);
    expect(await errorOf(ada)).toBe(UNAVAILABLE);

    world.site.emulator.blockRealtime(false);
    await goesLive(ada, dan);
    expect(ada.tab.problems).toEqual([]);
  });

  it('one page cannot reach the realtime URL while everyone else is live: same fallback, live when its socket connects', async () => {
    const observer = await guestPage();
    expect(await start(observer)).toBe(true);
    const cut = await world.browser.newContext();
    await watchRealtime(cut, { unreachable: true });
    const ada = await guestPage(cut);
    const bob = await guestPage();
    const carol = await guestPage();

    const startedAt = Date.now();
    expect(await start(ada)).toBe(true);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(4500); // the 5 s connect timeout
    expect(await hasUser(ada.tab, observer.userId)).toBe(true);
    expect(await errorOf(ada)).toBe(UNAVAILABLE);
    expect(await shown(ada)).toBe(UNAVAILABLE);
    await within(1000, () => hasUser(observer.tab, ada.userId)); // the others see ada live

    await joinSeen(ada, bob, ONE_HEARTBEAT);
    await leaveSeen(ada, observer, ONE_HEARTBEAT);
    expect(await errorOf(ada)).toBe(UNAVAILABLE);

    await reachable(ada.tab);
    await goesLive(ada, carol);
    await leaveSeen(ada, bob, 1000);
    expect(ada.tab.problems).toEqual([]);
  });
});
