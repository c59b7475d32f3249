/**
 * `createPresence()` without a `tabs` option coordinates the person's tabs whenever the page has
 * Web Locks and BroadcastChannel, under the transport's project (issue 10, item 6: it used to
 * coordinate nothing, so closing one of two tabs deleted the row and the person blinked out).
 * Node has BroadcastChannel; `navigator.locks` is one in-memory origin for the whole test, as a
 * browser's is for its tabs. The real SDK and transport against the emulator; an observer watches.
 */
import * as Appwrite from 'appwrite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPresence, type PresenceController } from '../../src/presence';
import { createAppwriteTransport } from '../../src/transport/appwrite';
import { useEmulator } from '../support/emulator';
import { MemoryLockManager } from '../support/locks';
import { guest } from '../support/sdk';
import { pollUntil } from '../support/wait';

const emulator = useEmulator();
const running: PresenceController[] = [];
let projects = 0;

beforeEach(() => {
  Object.defineProperty(globalThis, 'navigator', { value: { locks: new MemoryLockManager() }, configurable: true, writable: true });
});
afterEach(() => {
  for (const controller of running.splice(0)) controller.dispose();
  Reflect.deleteProperty(globalThis, 'navigator');
});

describe('createPresence() without a tabs option', () => {
  it('coordinates two tabs of one person: one writes, and closing the other never hides the person', async () => {
    const project = `default-tabs-${++projects}`;
    const person = await guest(emulator.url, project);
    const watcher = await guest(emulator.url, project);
    const pages: EventTarget[] = [];
    const tab = () => {
      const page = new EventTarget();
      pages.push(page);
      const client = new Appwrite.Client().setEndpoint(emulator.url).setProject(project).setSession(person.token!);
      const controller = createPresence({ transport: createAppwriteTransport({ client, sdk: Appwrite, warn: () => undefined }), document: null, window: page });
      running.push(controller);
      return controller;
    };
    const [first, second] = [tab(), tab()];
    const observer = createPresence({ transport: createAppwriteTransport({ client: watcher.client, sdk: Appwrite, warn: () => undefined }), tabs: false, document: null, window: null });
    running.push(observer);

    expect(await first.start()).toBe(true);
    expect(await second.start()).toBe(true);
    expect(await observer.start()).toBe(true);
    const context = (c: PresenceController) => c.actor.getSnapshot().context;
    await pollUntil(() => context(first).othersPresent && context(second).othersPresent, 3_000);
    expect([context(first).leader, context(second).leader].sort()).toEqual([false, true]);
    await pollUntil(() => observer.of(person.userId!) !== null, 3_000);

    // The writer's page goes (pagehide, not the last tab): no keepalive delete; the other tab leads.
    const writer = context(first).leader ? 0 : 1;
    const sightings: number[] = [];
    const unsubscribe = observer.subscribe(() => {
      if (observer.of(person.userId!) === null) sightings.push(Date.now());
    });
    pages[writer]!.dispatchEvent(new Event('pagehide'));
    const remaining = writer === 0 ? second : first;
    await pollUntil(() => context(remaining).leader, 3_000);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    unsubscribe();
    expect(sightings, 'the observer never lost the person').toEqual([]);
    expect(observer.of(person.userId!)?.status).toBe('online');
  });
});
