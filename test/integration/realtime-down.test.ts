/**
 * WebSockets blocked (PRODUCT behaviour 17, issue 10 item 8), end to end: createPresence on the
 * real Appwrite transport and SDK against the emulator, whose `blockRealtime` hook answers every
 * realtime upgrade 403 the way a blocking proxy does while REST keeps working. While the link is
 * down the roster is re-listed every heartbeat and `error` says so; once the SDK's own retry gets
 * through, the page is live again (error null, joins seen at once, no more polling).
 *
 * The hook blocks every socket on this file's emulator, so everyone here polls while it is on;
 * the tests run one after another and each ends unblocked.
 */
import * as Appwrite from 'appwrite';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { guest } from '../support/sdk';
import { useEmulator } from '../support/emulator';
import { createPresence, type PresenceController } from '../../src/presence';
import { createAppwriteTransport } from '../../src/transport/appwrite';
import { untilChange } from '../support/wait';

const KEY = 'realtime-down-key';
const HEARTBEAT_MS = 2000;
/** One heartbeat plus a generous margin for the list round trip and a loaded machine. */
const ONE_HEARTBEAT = HEARTBEAT_MS + 1500;
/**
 * After unblocking, the SDK's next retry: it waits 1 s after each of its first five failed
 * attempts, then 5 s (appwrite@28 `Realtime.getTimeout`).
 */
const RECONNECT_MS = 8000;
const UNAVAILABLE = `Live updates unavailable; refreshing every ${Math.round(HEARTBEAT_MS / 1000)} s.`;

const emulator = useEmulator({ apiKey: KEY });
let project = 0;
const running: PresenceController[] = [];

/** The SDK logs every refused attempt (error, close, retry): dozens of lines that say nothing here. */
const SDK_RETRY_NOISE = /^(WebSocket error:|Failed to reconnect:|Realtime disconnected\. Re-connecting)/;
beforeAll(() => {
  for (const method of ['log', 'error'] as const) {
    const original = console[method].bind(console);
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      if (typeof args[0] === 'string' && SDK_RETRY_NOISE.test(args[0])) return;
      original(...args);
    });
  }
});
afterAll(() => {
  vi.restoreAllMocks();
});

afterEach(async () => {
  emulator.blockRealtime(false);
  for (const controller of running.splice(0)) controller.dispose();
});

const newProject = () => `down-${++project}`;

/**
 * A person on their own SDK client, heartbeat 2 s unless `timing` says otherwise. `lists` holds the time of every
 * `presences.list` call their transport makes (the SDK is injected, so it can be observed).
 */
async function person(projectId: string, timing: { heartbeatMs?: number } = { heartbeatMs: HEARTBEAT_MS }) {
  const user = await guest(emulator.url, projectId);
  const lists: number[] = [];
  const warnings: string[] = [];
  class CountedPresences extends Appwrite.Presences {
    constructor(client: Appwrite.Client) {
      super(client);
      const list = this.list.bind(this) as (...args: unknown[]) => ReturnType<Appwrite.Presences['list']>;
      this.list = ((...args: unknown[]) => {
        lists.push(Date.now());
        return list(...args);
      }) as Appwrite.Presences['list'];
    }
  }
  const controller = createPresence({
    // Every refused attempt is a transport warning; kept here rather than on the console.
    transport: createAppwriteTransport({ client: user.client, sdk: { ...Appwrite, Presences: CountedPresences }, warn: (message) => warnings.push(message) }),
    ...timing,
    tabs: false,
    document: null,
    window: null,
  });
  running.push(controller);
  return { user, controller, userId: user.userId!, lists, warnings };
}

type Person = Awaited<ReturnType<typeof person>>;

const describeView = (controller: PresenceController) => () => {
  const view = controller.view();
  return `ready ${view.ready}, error ${JSON.stringify(view.error)}, roster ${JSON.stringify(view.list.map((p) => [p.userId, p.status]))}`;
};

function until(controller: PresenceController, probe: () => boolean, ms: number): Promise<number> {
  return untilChange(controller, probe, ms, describeView(controller));
}

const sees = (viewer: Person, other: Person) => viewer.controller.of(other.userId) !== null;

/** `other` joins (start() called now; it is not awaited: while blocked it answers only after the connect timeout); `viewer` lists them within `ms`. */
async function joinSeen(viewer: Person, other: Person, ms: number): Promise<{ took: number; started: Promise<boolean> }> {
  const started = other.controller.start();
  const took = await until(viewer.controller, () => sees(viewer, other), ms);
  return { took, started };
}

/** `other` stops (their row is deleted when stop() answers); `viewer` stops listing them within `ms`. */
async function leaveSeen(viewer: Person, other: Person, ms: number): Promise<number> {
  expect(await other.controller.stop()).toBe(true);
  return until(viewer.controller, () => !sees(viewer, other), ms);
}

/**
 * Unblock; once the SDK's next retry connects, `viewer` goes live (error null within 2 s: the
 * transport's settle time and a re-list), sees the next join within 1 s, and then stops polling: in two heartbeats at most one more list (a resync already under way).
 */
async function backToLive(viewer: Person, joiner: Person): Promise<void> {
  const connected = viewer.user.nextFrame((frame) => frame.type === 'connected', RECONNECT_MS);
  emulator.blockRealtime(false);
  await connected; // the SDK's own retry got in: from here on it is the machine's turn
  await until(viewer.controller, () => viewer.controller.view().error === null, 2000);
  expect(viewer.controller.view().ready).toBe(true);
  const { started } = await joinSeen(viewer, joiner, 1000);
  expect(await started).toBe(true);
  const listsBefore = viewer.lists.length;
  await new Promise((resolve) => setTimeout(resolve, 2 * HEARTBEAT_MS));
  expect(viewer.lists.length - listsBefore, 'still re-listing every heartbeat while live').toBeLessThanOrEqual(1);
  expect(viewer.controller.view().error).toBeNull();
  expect(sees(viewer, joiner)).toBe(true);
}

describe('realtime unreachable (WebSockets blocked)', () => {
  it('blocked from the start: ready after the connect timeout, says so in error, sees a join and a leave within a heartbeat, live once unblocked', { timeout: 60_000 }, async () => {
    const projectId = newProject();
    emulator.blockRealtime(true);
    const [a, b, c, d] = [await person(projectId), await person(projectId), await person(projectId), await person(projectId)];

    const startedAt = Date.now();
    expect(await Promise.all([a.controller.start(), b.controller.start()])).toEqual([true, true]);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(4500); // the connect timeout, 5 s
    expect(emulator.connections()).toBe(0);
    await until(a.controller, () => sees(a, b), ONE_HEARTBEAT);
    expect(a.controller.view()).toMatchObject({ ready: true, me: 'online', error: UNAVAILABLE });

    // Polling: a list about every heartbeat, never more often than the jitter allows.
    const listsAt = a.lists.length;
    await new Promise((resolve) => setTimeout(resolve, 3 * HEARTBEAT_MS));
    const polled = a.lists.length - listsAt;
    expect(polled, `lists in 3 heartbeats: ${JSON.stringify(a.lists.map((t) => t - startedAt))}`).toBeGreaterThanOrEqual(2);
    expect(polled).toBeLessThanOrEqual(4);

    const join = await joinSeen(a, c, ONE_HEARTBEAT);
    expect(await join.started).toBe(true);
    expect(c.controller.view().error).toBe(UNAVAILABLE);
    await leaveSeen(a, b, ONE_HEARTBEAT);
    expect(a.controller.view().error).toBe(UNAVAILABLE);

    await backToLive(a, d);
  });

  it('dropped while live: the error appears, polling sees a join and a leave, and it goes live again when unblocked', { timeout: 60_000 }, async () => {
    const projectId = newProject();
    const [a, b, c, d] = [await person(projectId), await person(projectId), await person(projectId), await person(projectId)];
    expect(await a.controller.start()).toBe(true);
    expect(await b.controller.start()).toBe(true);
    await until(a.controller, () => sees(a, b), 1000);
    expect(a.controller.view().error).toBeNull();

    expect(emulator.blockRealtime(true, { drop: true })).toBe(2);
    await until(a.controller, () => a.controller.view().error === UNAVAILABLE, ONE_HEARTBEAT);
    expect(a.controller.view().ready).toBe(true);
    expect(sees(a, b)).toBe(true);

    const join = await joinSeen(a, c, ONE_HEARTBEAT);
    expect(await join.started).toBe(true);
    await leaveSeen(a, b, ONE_HEARTBEAT);

    await backToLive(a, d);
  });

  it('a heartbeat longer than the SDK\'s retry interval still polls: the failed retries do not put the re-list off', { timeout: 30_000 }, async () => {
    // The SDK retries every 1 s, then every 5 s, then every 10 s; each refused attempt reports a
    // close. A 7 s heartbeat must still re-list every 7 s, not only once the retries thin out.
    const projectId = newProject();
    emulator.blockRealtime(true);
    const slow = { heartbeatMs: 7000 };
    const [a, b] = [await person(projectId, slow), await person(projectId, slow)];
    expect(await a.controller.start()).toBe(true);
    expect(a.controller.view().error).toBe('Live updates unavailable; refreshing every 7 s.');
    const { started } = await joinSeen(a, b, 7000 + 1500);
    expect(await started).toBe(true);
  });

  it('the message names the heartbeat in seconds: 25 s by default', async () => {
    emulator.blockRealtime(true);
    const a = await person(newProject(), {});
    expect(await a.controller.start()).toBe(true);
    expect(a.controller.view().error).toBe('Live updates unavailable; refreshing every 25 s.');
  });
});
