/**
 * Sign-out across a person's tabs (issue 10): `createTabCoordinator`'s `signOut()` / `quiet()`
 * between real coordinators, and the session's `coordinateTabs` actor turning coordinator events
 * into session events and session commands into coordinator calls. Tabs of one browser in one
 * process: Node 20's BroadcastChannel between instances and one in-memory Web Locks origin
 * (test/support/locks.ts). Channel delivery is real I/O, so waiting for it yields to the event
 * loop (`until`); timers and Date are fake, and nothing here waits on them.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { assertEvent, createActor, sendTo, setup } from 'xstate';
import type { SessionEvent, TabsCommand, TabsInput } from '../../src/machines/session';
import { coordinateTabs, createTabCoordinator, type TabCoordinator, type TabEvent } from '../../src/platform/tabs';
import { MemoryLockManager } from '../support/locks';
import { settle, until } from '../support/wait';


let keys = 0;
let key: string;
let locks: MemoryLockManager;
const cleanups: (() => void)[] = [];

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  // BroadcastChannel names are process-wide: a fresh key keeps tests apart.
  key = `project-${++keys}:${Date.now()}`;
  locks = new MemoryLockManager();
});
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  vi.useRealTimers();
});

interface Tab {
  coordinator: TabCoordinator;
  events: TabEvent[];
  count(type: TabEvent['type']): number;
  role(): Extract<TabEvent, { type: 'role' }> | undefined;
}

function openTab(id: string): Tab {
  const coordinator = createTabCoordinator({
    key,
    tabId: id,
    document: null,
    window: null,
    locks: locks.forClient(id),
    BroadcastChannel,
  });
  const events: TabEvent[] = [];
  coordinator.subscribe((event) => events.push(event));
  cleanups.push(() => coordinator.dispose());
  return {
    coordinator,
    events,
    count: (type) => events.filter((e) => e.type === type).length,
    role: () => events.filter((e): e is Extract<TabEvent, { type: 'role' }> => e.type === 'role').at(-1),
  };
}

/** Tabs that have all been elected and know each other, one per id. */
async function openTabs<const Ids extends readonly string[]>(...ids: Ids): Promise<{ [K in keyof Ids]: Tab }> {
  const tabs = ids.map(openTab);
  await until(() => tabs.every((t) => t.role()?.othersPresent === true), 'every tab knows the others');
  return tabs as { [K in keyof Ids]: Tab };
}

describe('createTabCoordinator: a sign-out asks every other tab to go quiet', () => {
  // Guards issue 10, 1 and the "gone, then back" of the writer tab: before, a sign-out in one tab
  // was never told to the others, so the writer went on writing the row after it was deleted.
  it('signOut() in one tab reaches every other tab as `signout`, and not the tab itself', async () => {
    const [a, b, c] = await openTabs('a', 'b', 'c');
    a.coordinator.signOut();
    await until(() => b.count('signout') === 1 && c.count('signout') === 1, 'b and c hear the sign-out');
    await settle();
    expect([a.count('signout'), b.count('signout'), c.count('signout')]).toEqual([0, 1, 1]);
  });

  it('reports `quiet` exactly once, when the last tab asked has answered', async () => {
    const [a, b, c] = await openTabs('a', 'b', 'c');
    a.coordinator.signOut();
    await until(() => b.count('signout') === 1 && c.count('signout') === 1, 'b and c hear the sign-out');

    b.coordinator.quiet();
    await settle();
    expect(a.count('quiet')).toBe(0);

    c.coordinator.quiet();
    await until(() => a.count('quiet') === 1, 'a hears that everyone is quiet');
    // A repeated answer, or one nobody asked for, reports nothing more.
    c.coordinator.quiet();
    b.coordinator.quiet();
    await settle();
    expect(a.count('quiet')).toBe(1);
    expect([b.count('quiet'), c.count('quiet')]).toEqual([0, 0]);
  });

  // Guards: a tab closed mid sign-out would otherwise hold it up until the session's timeout.
  it('counts a tab that leaves (bye) before answering as quiet', async () => {
    const [a, b, c] = await openTabs('a', 'b', 'c');
    a.coordinator.signOut();
    await until(() => b.count('signout') === 1 && c.count('signout') === 1, 'b and c hear the sign-out');
    b.coordinator.quiet();
    c.coordinator.dispose(); // says bye, never answers
    await until(() => a.count('quiet') === 1, 'a hears quiet once c has gone');
    await settle();
    expect(a.count('quiet')).toBe(1);
  });

  it('with no other tab, reports `quiet` without waiting for any answer', async () => {
    const a = openTab('alone');
    await until(() => a.role() !== undefined, 'a elected');
    a.coordinator.signOut();
    // Fake timers are never advanced here: no timeout stands in for an answer.
    await until(() => a.count('quiet') === 1, 'a reports quiet');
    await settle();
    expect(a.events.filter((e) => e.type === 'quiet')).toEqual([{ type: 'quiet' }]);
  });

  it.each([
    ['no Web Locks', { locks: null, BroadcastChannel }],
    ['neither Web Locks nor BroadcastChannel', { locks: null, BroadcastChannel: null }],
  ])('with %s (alone), reports `quiet` without waiting for any answer', async (_, env) => {
    const coordinator = createTabCoordinator({ key, tabId: 'alone', document: null, window: null, ...env });
    cleanups.push(() => coordinator.dispose());
    const events: TabEvent[] = [];
    coordinator.subscribe((event) => events.push(event));
    coordinator.signOut();
    await until(() => events.some((e) => e.type === 'quiet'), 'it reports quiet');
    await settle();
    expect(events.filter((e) => e.type === 'quiet')).toEqual([{ type: 'quiet' }]);
  });

  // Guards issue 10's "a tab that never started presence still ends the person's row": such a tab
  // starts its coordinator at the sign-out and asks at once, before it has met the open tabs. Were
  // it to report quiet then, the app would delete the session before the writer's DELETE ran.
  it('a tab that has just opened, before it has met the others, still waits for every open tab', async () => {
    const [a, b] = await openTabs('a', 'b');
    const c = openTab('c');
    c.coordinator.signOut();
    await until(() => a.count('signout') === 1 && b.count('signout') === 1, 'a and b hear the sign-out');
    await settle();
    expect(c.count('quiet')).toBe(0);
    a.coordinator.quiet();
    await settle();
    expect(c.count('quiet')).toBe(0);
    b.coordinator.quiet();
    await until(() => c.count('quiet') === 1, 'c hears quiet once a and b answered');
  });

  it('a tab that opens after the sign-out was asked does not hold it up', async () => {
    const [a, b] = await openTabs('a', 'b');
    a.coordinator.signOut();
    await until(() => b.count('signout') === 1, 'b hears the sign-out');
    await settle();
    const c = openTab('c');
    await until(() => c.role() !== undefined, 'c is elected');
    b.coordinator.quiet();
    await until(() => a.count('quiet') === 1, 'a hears quiet from b alone');
    expect(c.count('signout')).toBe(0);
  });
});

/**
 * A stand-in for the session: it invokes `coordinateTabs` as the session does (id `tabs`), records
 * every event the actor sends back, and forwards `command` events to it.
 */
function sessionStandIn(userId: string, tabId: string, hidden = false, more: Pick<TabsInput, 'wish' | 'signOut'> = {}) {
  const received: SessionEvent[] = [];
  const logic = setup({
    types: { events: {} as SessionEvent | { type: 'command'; command: TabsCommand }, input: {} as TabsInput, context: {} as TabsInput },
    actors: { coordinateTabs: coordinateTabs({ key, locks: locks.forClient(tabId), BroadcastChannel, tabId }) },
  }).createMachine({
    context: ({ input }) => input,
    invoke: { id: 'tabs', src: 'coordinateTabs', input: ({ context }) => context },
    on: {
      command: {
        actions: sendTo('tabs', ({ event }) => {
          assertEvent(event, 'command');
          return event.command;
        }),
      },
      '*': { actions: ({ event }) => void (event.type === 'command' || received.push(event)) },
    },
  });
  const actor = createActor(logic, { input: { userId, hidden, ...more } }).start();
  cleanups.push(() => actor.stop());
  return {
    received,
    tell: (command: TabsCommand) => actor.send({ type: 'command', command }),
    of: <T extends SessionEvent['type']>(type: T) => received.filter((e): e is Extract<SessionEvent, { type: T }> => e.type === type),
    stop: () => actor.stop(),
  };
}

type StandIn = ReturnType<typeof sessionStandIn>;
const lastRole = (s: StandIn) => s.of('tabs.role').at(-1);

describe('coordinateTabs: the session\'s actor for the person\'s tabs', () => {
  it('announces the role as tabs.role, the person\'s visibility as tab.visible / tab.hidden', async () => {
    const a = sessionStandIn('u1', 'a');
    await until(() => lastRole(a) !== undefined, 'a elected');
    expect(lastRole(a)).toEqual({ type: 'tabs.role', leader: true, othersPresent: false });
    expect(a.of('tab.visible')).toHaveLength(1);

    const b = sessionStandIn('u1', 'b', true);
    await until(() => lastRole(a)?.othersPresent === true && lastRole(b)?.othersPresent === true, 'a and b meet');
    expect(lastRole(b)).toEqual({ type: 'tabs.role', leader: false, othersPresent: true });

    // The person is visible while any of their tabs is: a hidden as well → hidden everywhere.
    a.tell({ type: 'visibility', visible: false });
    await until(() => a.received.at(-1)?.type === 'tab.hidden' && b.received.at(-1)?.type === 'tab.hidden', 'both hear hidden');
    b.tell({ type: 'visibility', visible: true });
    await until(() => a.received.at(-1)?.type === 'tab.visible' && b.received.at(-1)?.type === 'tab.visible', 'both hear visible');
  });

  it('carries a sign-out as tabs.signout and its answers as tabs.quiet', async () => {
    const a = sessionStandIn('u1', 'a');
    const b = sessionStandIn('u1', 'b');
    await until(() => lastRole(a)?.othersPresent === true && lastRole(b)?.othersPresent === true, 'a and b meet');

    a.tell({ type: 'signout' });
    await until(() => b.of('tabs.signout').length === 1, 'b hears the sign-out');
    expect(a.of('tabs.quiet')).toEqual([]);
    b.tell({ type: 'quiet' });
    await until(() => a.of('tabs.quiet').length === 1, 'a hears quiet');
    await settle();
    expect(a.of('tabs.signout')).toEqual([]);
    expect(b.of('tabs.quiet')).toEqual([]);
  });

  it('carries a wish as a remote session.set / session.clear, never back to its own tab', async () => {
    const a = sessionStandIn('u1', 'a');
    const b = sessionStandIn('u1', 'b');
    await until(() => lastRole(a)?.othersPresent === true && lastRole(b)?.othersPresent === true, 'a and b meet');

    a.tell({ type: 'wish', wish: { status: 'busy', metadata: { page: 'Invoice #42' } } });
    await until(() => b.of('session.set').length === 1, 'b hears the set');
    expect(b.of('session.set')).toEqual([{ type: 'session.set', status: 'busy', metadata: { page: 'Invoice #42' }, remote: true }]);
    a.tell({ type: 'wish', wish: 'cleared' });
    await until(() => b.of('session.clear').length === 1, 'b hears the clear');
    expect(b.of('session.clear')).toEqual([{ type: 'session.clear', remote: true }]);
    await settle();
    expect([...a.of('session.set'), ...a.of('session.clear')]).toEqual([]);
  });

  // Guards issue 10, 5: a status chosen before this identity's coordinator ran (start({ status })
  // while signing in) comes with the coordinator's input and must reach the other tabs as a wish.
  it('shares a wish given in its input with the tabs it meets', async () => {
    const b = sessionStandIn('u1', 'b');
    await until(() => lastRole(b) !== undefined, 'b elected');
    sessionStandIn('u1', 'a', false, { wish: { status: 'available', metadata: {} } });
    await until(() => b.of('session.set').length === 1, 'b hears the wish');
    expect(b.of('session.set')).toEqual([{ type: 'session.set', status: 'available', metadata: {}, remote: true }]);
  });

  // Guards: a tab that never tracked starts its coordinator for the sign-out itself; it cannot be
  // told before it runs, so the sign-out comes with its input (else the writer never hears it).
  it('a coordinator started for a sign-out asks the other tabs at once, and reports their answers', async () => {
    const b = sessionStandIn('u1', 'b');
    await until(() => lastRole(b) !== undefined, 'b elected');
    const a = sessionStandIn('u1', 'a', false, { signOut: true });
    await until(() => b.of('tabs.signout').length === 1, 'b hears the sign-out');
    expect(a.of('tabs.quiet')).toEqual([]);
    b.tell({ type: 'quiet' });
    await until(() => a.of('tabs.quiet').length === 1, 'a hears quiet');
  });

  // Guards: the coordinator is per identity (key + userId): another person's sign-out in the same
  // browser must not reach this person's tabs.
  it('coordinates only the tabs of the same user', async () => {
    const a = sessionStandIn('u1', 'a');
    const other = sessionStandIn('u2', 'b');
    await until(() => lastRole(a) !== undefined && lastRole(other) !== undefined, 'both elected');
    expect(lastRole(a)).toEqual({ type: 'tabs.role', leader: true, othersPresent: false });
    expect(lastRole(other)).toEqual({ type: 'tabs.role', leader: true, othersPresent: false });
    a.tell({ type: 'signout' });
    await until(() => a.of('tabs.quiet').length === 1, 'a alone: quiet at once');
    await settle();
    expect(other.of('tabs.signout')).toEqual([]);
  });

  it('stopping the actor says bye: the other tab leads, alone', async () => {
    const a = sessionStandIn('u1', 'a');
    const b = sessionStandIn('u1', 'b');
    await until(() => lastRole(a)?.othersPresent === true && lastRole(b)?.othersPresent === true, 'a and b meet');
    a.stop();
    await until(() => lastRole(b)?.leader === true && lastRole(b)?.othersPresent === false, 'b leads alone');
  });
});
