/**
 * createPresence end to end: real actors, the real Appwrite transport and SDK, the emulator on
 * 127.0.0.1. Each person is their own SDK client (independent sessions, see test/support/sdk.ts).
 */
import * as Appwrite from 'appwrite';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { guest, keyClient, type SdkUser } from '../support/sdk';
import { useEmulator } from '../support/emulator';
import { createPresence, type PresenceController, type PresenceOptions } from '../../src/presence';
import { createAppwriteTransport } from '../../src/transport/appwrite';
import type { DocumentLike } from '../../src/platform';
import { untilChange } from '../support/wait';

const KEY = 'integration-key';
const emulator = useEmulator({ apiKey: KEY });
let project = 0;
const running: PresenceController[] = [];

afterEach(async () => {
  for (const controller of running.splice(0)) controller.dispose();
});

/** A fresh project per test: no shared rows, no reset races. */
const newProject = () => `itest-${++project}`;

async function person(projectId: string, options: Partial<PresenceOptions> = {}) {
  const user = await guest(emulator.url, projectId);
  const controller = createPresence({
    transport: createAppwriteTransport({ client: user.client, sdk: Appwrite }),
    tabs: false,
    document: null,
    window: null,
    ...options,
  });
  running.push(controller);
  return { user, controller, userId: user.userId! };
}

/** Resolve when `probe` holds, checked after every change the controller reports. */
function until(controller: PresenceController, probe: () => boolean, ms = 1000): Promise<number> {
  return untilChange(controller, probe, ms, () => `roster: ${JSON.stringify(controller.all().map((p) => [p.userId, p.status]))}`);
}

const statusOf = (controller: PresenceController, userId: string) => controller.of(userId)?.status ?? null;

/** `a` and an observer in a fresh project, both tracking, the observer already seeing `a` online. */
async function watchedPair(options: Partial<PresenceOptions> = {}) {
  const projectId = newProject();
  const a = await person(projectId, options);
  const observer = await person(projectId);
  await a.controller.start();
  await observer.controller.start();
  await until(observer.controller, () => statusOf(observer.controller, a.userId) === 'online');
  return { projectId, a, observer };
}

/** `userId`'s row is deleted: the observer stops showing them within 3 s, and the server lists no row. */
async function goneEverywhere(projectId: string, userId: string, observer: PresenceController): Promise<void> {
  await until(observer, () => statusOf(observer, userId) === null, 3000);
  const server = await keyClient(emulator.url, projectId, KEY).presences.list();
  expect(server.presences.map((row) => row.userId)).not.toContain(userId);
}

/** A page's document as far as presence uses it: its visibility and the events on it. */
const pageDocument = (visibilityState: 'visible' | 'hidden') => Object.assign(new EventTarget(), { visibilityState });
const asDocument = (page: ReturnType<typeof pageDocument>) => page as unknown as DocumentLike;

describe('createPresence with the Appwrite transport and the emulator', () => {
  it('three people see each other start, set, clear and stop within 1 s', async () => {
    const projectId = newProject();
    const [a, b, c] = [await person(projectId), await person(projectId), await person(projectId)];
    expect(await a.controller.start()).toBe(true);
    expect(await b.controller.start()).toBe(true);
    expect(await c.controller.start({ status: 'busy' })).toBe(true);
    for (const viewer of [a, b, c]) {
      await until(viewer.controller, () => viewer.controller.all().length === 3);
    }
    expect(statusOf(a.controller, c.userId)).toBe('busy');

    expect(await b.controller.set('editing', { page: 'Invoice #42' })).toBe(true);
    await until(a.controller, () => statusOf(a.controller, b.userId) === 'editing');
    await until(c.controller, () => c.controller.of(b.userId)?.metadata.page === 'Invoice #42');
    expect(c.controller.of(b.userId)?.metadata.name).toBeNull();

    expect(await c.controller.clear()).toBe(true);
    await until(a.controller, () => statusOf(a.controller, c.userId) === null);
    await until(b.controller, () => statusOf(b.controller, c.userId) === null);
    expect(c.controller.view().me).toBeNull();
    expect(c.controller.all().map((p) => p.userId).sort()).toEqual([a.userId, b.userId].sort());

    expect(await a.controller.stop()).toBe(true);
    expect(a.controller.view()).toMatchObject({ list: [], ready: false, me: null });
    await until(b.controller, () => statusOf(b.controller, a.userId) === null);
  });

  it('own status shows at once (optimistic); a failed write reports an error and a 5xx blip is written again', async () => {
    const projectId = newProject();
    const a = await person(projectId, { heartbeatMs: 1000 });
    const observer = await person(projectId);
    await a.controller.start();
    await observer.controller.start();
    const pending = a.controller.set('busy');
    expect(a.controller.view().me).toBe('busy');
    expect(a.controller.of(a.userId)?.status).toBe('busy');
    expect(await pending).toBe(true);

    emulator.failWrites(1);
    try {
      expect(await a.controller.set('review')).toBe(false);
    } finally {
      emulator.failWrites(0);
    }
    // A server error is not a refusal: the choice stays and the next heartbeat delivers it.
    expect(a.controller.view().me).toBe('review');
    expect(a.controller.view().error).toMatch(/Could not publish your status/);
    await until(observer.controller, () => statusOf(observer.controller, a.userId) === 'review', 3000);

    // The same holds for clear(): answered false, yet the row goes a backoff later (chaos found a
    // person whose false clear() was believed to have changed nothing).
    emulator.failWrites(1);
    try {
      expect(await a.controller.clear()).toBe(false);
    } finally {
      emulator.failWrites(0);
    }
    expect(a.controller.view().me).toBeNull();
    expect(a.controller.view().error).toMatch(/Could not remove your status: .*\(kept; trying again in 1 s\)/);
    await goneEverywhere(projectId, a.userId, observer.controller);
    await until(a.controller, () => a.controller.view().error === null);
  });

  it('stop() still deletes the row when the first DELETE meets a 5xx: nobody sees a ghost for 3 heartbeats', async () => {
    const { projectId, a, observer } = await watchedPair();

    emulator.failWrites(1);
    const stopping = a.controller.stop();
    await until(a.controller, () => /Could not remove your status: .*\(trying again in 1 s\)/.test(a.controller.view().error ?? ''));
    emulator.failWrites(0);
    expect(await stopping).toBe(true);
    expect(a.controller.view()).toMatchObject({ list: [], ready: false, me: null, error: null });
    await goneEverywhere(projectId, a.userId, observer.controller);
  });

  it('bad input sets error, returns false and sends nothing', async () => {
    const { a, observer } = await watchedPair();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const [status, metadata] of [
      ['', undefined],
      ['x'.repeat(256), undefined],
      [42, undefined],
      ['ok', [1, 2]],
      ['ok', cyclic],
      ['ok', { blob: 'x'.repeat(70_000) }],
      ['ok', { constructorName: 'x' }],
    ] as [string, Record<string, unknown>][]) {
      expect(await a.controller.set(status, metadata)).toBe(false);
      expect(a.controller.view().error).toEqual(expect.any(String));
    }
    expect(a.controller.view().me).toBe('online');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(statusOf(observer.controller, a.userId)).toBe('online');
  });

  it('a live roster takes others\' changes without a step of the session machine; our own row\'s still take one', async () => {
    const projectId = newProject();
    const a = await person(projectId);
    const heard: string[] = [];
    const observer = await person(projectId, {
      inspect: (e) => {
        if (e.type === '@xstate.event' && e.event.type.startsWith('peer.')) heard.push(e.event.peer.userId === a.userId ? 'a' : 'own');
      },
    });
    await a.controller.start();
    await observer.controller.start();
    await until(observer.controller, () => statusOf(observer.controller, a.userId) === 'online');
    heard.length = 0; // whatever came while the list was in flight was buffered by the machine

    expect(await a.controller.set('busy')).toBe(true);
    await until(observer.controller, () => statusOf(observer.controller, a.userId) === 'busy');
    expect(await a.controller.stop()).toBe(true);
    await until(observer.controller, () => statusOf(observer.controller, a.userId) === null);
    expect(await observer.controller.set('typing')).toBe(true);
    await vi.waitFor(() => expect(heard).toContain('own')); // our own row's echo
    expect(heard.filter((who) => who === 'a')).toEqual([]);
  });

  it('after a socket drop, the resync removes a peer deleted meanwhile and re-asserts our own row', async () => {
    const projectId = newProject();
    const a = await person(projectId);
    const b = await person(projectId);
    const c = await person(projectId);
    for (const p of [a, b, c]) await p.controller.start();
    await until(a.controller, () => a.controller.all().length === 3);

    const admin = keyClient(emulator.url, projectId, KEY);
    emulator.dropSockets();
    // While everyone is disconnected: b's row goes away, and so does a's own row.
    const rows = await admin.presences.list();
    for (const row of rows.presences.filter((r) => r.userId === b.userId || r.userId === a.userId)) {
      await admin.presences.delete({ presenceId: row.$id });
    }
    b.controller.actor.stop(); // b is gone for good (no heartbeats to bring it back)

    await until(a.controller, () => statusOf(a.controller, b.userId) === null, 5000);
    await until(c.controller, () => statusOf(c.controller, a.userId) === 'online' && statusOf(c.controller, b.userId) === null, 5000);
    const after = await admin.presences.list();
    expect(after.presences.filter((r) => r.userId === a.userId)).toHaveLength(1);
  });

  it('the last page leaving deletes the row, nothing re-asserts it, and a page back from the cache returns as it was', async () => {
    const projectId = newProject();
    const observer = await person(projectId);
    const page = new EventTarget();
    // Entering the back/forward cache fires pagehide then freeze; leaving it, resume then pageshow.
    const doc = pageDocument('visible');
    const ada = await person(projectId, { window: page, document: asDocument(doc) });
    expect(await observer.controller.start()).toBe(true);
    expect(await ada.controller.start()).toBe(true);
    expect(await ada.controller.set('editing', { page: 'Invoice #42' })).toBe(true);
    await until(observer.controller, () => statusOf(observer.controller, ada.userId) === 'editing');

    // Our own delete event comes back to the leaving page while it still runs: it must not re-assert.
    let sightings = 0;
    const admin = keyClient(emulator.url, projectId, KEY);
    page.dispatchEvent(Object.assign(new Event('pagehide'), { persisted: true }));
    doc.dispatchEvent(new Event('freeze'));
    await until(observer.controller, () => statusOf(observer.controller, ada.userId) === null);
    const watch = observer.controller.subscribe(() => {
      if (statusOf(observer.controller, ada.userId) !== null) sightings++;
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    watch();
    expect(sightings).toBe(0);
    expect((await admin.presences.list()).presences.filter((row) => row.userId === ada.userId)).toEqual([]);
    expect(ada.controller.view()).toMatchObject({ me: null, ready: false, list: [] });

    doc.dispatchEvent(new Event('resume'));
    page.dispatchEvent(Object.assign(new Event('pageshow'), { persisted: true }));
    await until(observer.controller, () => observer.controller.of(ada.userId)?.metadata.page === 'Invoice #42');
    expect(statusOf(observer.controller, ada.userId)).toBe('editing');
    await until(ada.controller, () => ada.controller.view().ready && ada.controller.view().me === 'editing');
  });

  it('a page opened in the background starts away, and is online once shown', async () => {
    const projectId = newProject();
    const observer = await person(projectId);
    const page = pageDocument('hidden');
    const ada = await person(projectId, { document: asDocument(page) });
    expect(await observer.controller.start()).toBe(true);
    expect(await ada.controller.start()).toBe(true);
    expect(ada.controller.view().me).toBe('away');
    await until(observer.controller, () => statusOf(observer.controller, ada.userId) === 'away');
    expect(observer.controller.of(ada.userId)!.expiresAt).not.toBeNull();

    page.visibilityState = 'visible';
    page.dispatchEvent(new Event('visibilitychange'));
    await until(observer.controller, () => statusOf(observer.controller, ada.userId) === 'online');
  });

  it('a frozen page writes nothing and keeps its row; resumed, it carries on as it was', async () => {
    const projectId = newProject();
    const observer = await person(projectId);
    const page = pageDocument('visible');
    const ada = await person(projectId, { document: asDocument(page), heartbeatMs: 1000 });
    expect(await observer.controller.start()).toBe(true);
    expect(await ada.controller.start()).toBe(true);
    expect(await ada.controller.set('editing', { page: 'Invoice #42' })).toBe(true);
    await until(observer.controller, () => statusOf(observer.controller, ada.userId) === 'editing');
    const admin = keyClient(emulator.url, projectId, KEY);
    const rowOf = async () => (await admin.presences.list()).presences.find((row) => row.userId === ada.userId) ?? null;
    const written = (await rowOf())!.$updatedAt;

    // Frozen, a page runs nothing; what it does in `freeze` decides what others see meanwhile:
    // no DELETE (the person is still there, hidden), no write after it.
    page.dispatchEvent(new Event('freeze'));
    await new Promise((resolve) => setTimeout(resolve, 1500)); // past a heartbeat (H = 1 s)
    expect((await rowOf())?.$updatedAt).toBe(written);
    expect(statusOf(observer.controller, ada.userId)).not.toBeNull();

    page.dispatchEvent(new Event('resume'));
    await until(ada.controller, () => ada.controller.view().ready && ada.controller.view().me === 'editing');
    // Written again (lastSeen is the row's $updatedAt), with the status and metadata it had.
    await until(observer.controller, () => (observer.controller.of(ada.userId)?.lastSeen ?? 0) > Date.parse(written));
    expect(observer.controller.of(ada.userId)).toMatchObject({ status: 'editing', metadata: { page: 'Invoice #42' } });
    expect((await admin.presences.list()).presences.filter((row) => row.userId === ada.userId)).toHaveLength(1);
  });

  it('a peer whose heartbeats stop disappears at its expiresAt with silent expiry', async () => {
    const projectId = newProject();
    const a = await person(projectId, { heartbeatMs: 1000 });
    const crashed = await person(projectId, { heartbeatMs: 1000 });
    await a.controller.start();
    await crashed.controller.start();
    await until(a.controller, () => statusOf(a.controller, crashed.userId) === 'online');
    const expiresAt = Date.parse(a.controller.of(crashed.userId)!.expiresAt!);
    crashed.controller.actor.stop(); // a crash: no delete, no more heartbeats

    await until(a.controller, () => statusOf(a.controller, crashed.userId) === null, 6000);
    const lateBy = Date.now() - expiresAt;
    expect(lateBy).toBeGreaterThanOrEqual(-50);
    expect(lateBy).toBeLessThan(1000);
  });

  it('start() answers false with an error for options it cannot use, never throws', async () => {
    const a = await person(newProject());
    const hostile = {
      get auto(): boolean {
        throw new Error('revoked');
      },
    };
    expect(await a.controller.start(hostile)).toBe(false);
    expect(a.controller.view().error).toMatch(/revoked/);
    expect(await a.controller.start({ heartbeatMs: 11 * 24 * 3600 * 1000 })).toBe(false);
    expect(a.controller.view().error).toMatch(/heartbeatMs must be a number from 1000/);
    expect(await a.controller.start([] as never)).toBe(false);
    expect(await a.controller.start({ heartbeatMs: 30_000 })).toBe(true);
  });

  it('start() keeps the team chosen with setTeam() before it', async () => {
    const projectId = newProject();
    const a = await person(projectId);
    const team = await a.user.teams.create({ teamId: Appwrite.ID.unique(), name: 'Crew' });
    a.controller.setTeam(team.$id);
    expect(await a.controller.start()).toBe(true);
    expect(a.controller.of(a.userId)?.metadata.team).toBe(team.$id);
    const admin = keyClient(emulator.url, projectId, KEY);
    const [row] = (await admin.presences.list()).presences;
    expect(row?.$permissions).toContain(`read("team:${team.$id}")`);
  });

  it('without a session, start() publishes nothing and says sign-in is needed', async () => {
    const projectId = newProject();
    const { visitor } = await import('../support/sdk');
    const nobody: SdkUser = visitor(emulator.url, projectId);
    const controller = createPresence({
      transport: createAppwriteTransport({ client: nobody.client, sdk: Appwrite }),
      tabs: false,
      document: null,
      window: null,
    });
    running.push(controller);
    expect(await controller.start()).toBe(false);
    expect(controller.view()).toMatchObject({ ready: false, me: null, error: 'Sign in first: presence needs a session (an account or a guest).' });
    const admin = keyClient(emulator.url, projectId, KEY);
    expect((await admin.presences.list()).total).toBe(0);
  });
});
