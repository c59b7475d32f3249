/**
 * Idle across a person's tabs (issue 13, part 1): two real session machines, each with the real
 * `coordinateTabs` (Node's BroadcastChannel, an in-memory Web Locks origin), a fake transport and
 * a page whose input the test drives. Time is fake; channel delivery is real I/O (`until`).
 * An idle tab tells the others it is not looking, as a hidden one does: the person is `away` only
 * when no tab is both visible and active, and the writer's tab may be the idle one.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor, fromCallback, type EventObject } from 'xstate';
import { ServerClock } from '../../src/machines/clock';
import { Roster } from '../../src/machines/roster';
import { AWAY, selectMe, sessionMachine } from '../../src/machines/session';
import type { PageEvent } from '../../src/machines/session/types';
import { coordinateTabs } from '../../src/platform/tabs';
import { ada, fakeTransport, isCallOf, published } from '../machines/session.fixtures';
import { flush } from '../support/paths';
import { MemoryLockManager } from '../support/locks';
import { settle, until } from '../support/wait';

const IDLE = 60_000;
let keys = 0;
let key: string;
let locks: MemoryLockManager;
const cleanups: (() => void)[] = [];

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  key = `idle-${++keys}:${Date.now()}`;
  locks = new MemoryLockManager();
});
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  vi.useRealTimers();
});

/** One tab of Ada's: a session on a fake transport whose every write the server accepts at once. */
function tab(tabId: string) {
  const transport = fakeTransport();
  let page: ((event: PageEvent) => void) | null = null;
  const clock = new ServerClock();
  const machine = sessionMachine.provide({
    actors: {
      ...transport.actors,
      coordinateTabs: coordinateTabs({ key, locks: locks.forClient(tabId), BroadcastChannel, tabId }),
      watchPage: fromCallback<EventObject, void>(({ sendBack }) => {
        page = sendBack;
      }),
    },
  });
  const actor = createActor(machine, { input: { roster: new Roster({ clock }), clock, random: () => 0.5 } }).start();
  cleanups.push(() => actor.stop());
  actor.send({ type: 'session.start', options: { idleMs: IDLE, status: 'busy' } });
  transport.resolve('identify', ada);
  return {
    actor,
    transport,
    input: () => page!({ type: 'page.input' }),
    me: () => selectMe(actor.getSnapshot()),
    leads: () => actor.getSnapshot().context.leader,
    /** Answer what the server is asked (list, writes), as many times as it is asked. */
    async serve() {
      await flush();
      if (transport.pending('loadRoster')) transport.resolve('loadRoster', { peers: [], receivedAtLocal: Date.now() });
      const call = transport.pending('write');
      if (isCallOf(call, 'publish')) transport.resolve('write', published(call.input, clock.now()));
      else if (call) transport.resolve('write');
      await flush();
    },
  };
}
type Tab = ReturnType<typeof tab>;

/** Let `ms` pass in 1 s steps; `busy` gives input each step; every tab's server answers. */
async function pass(tabs: Tab[], ms: number, busy: Tab[] = []) {
  for (let t = 0; t < ms; t += 1_000) {
    for (const b of busy) b.input();
    vi.advanceTimersByTime(1_000);
    await settle();
    for (const x of tabs) await x.serve();
  }
}

describe("idle across the person's tabs", () => {
  it('input in either tab keeps the person active; none in both for idleMs makes them away; input in any brings them back', async () => {
    const a = tab('a');
    await until(() => a.leads(), 'a leads');
    const b = tab('b');
    await until(() => a.actor.getSnapshot().context.othersPresent && b.actor.getSnapshot().context.othersPresent, 'a and b meet');
    const tabs = [a, b];
    for (const x of tabs) x.transport.emit({ type: 'transport.connected' });
    await pass(tabs, 1_000);
    expect([a.me(), b.me()]).toEqual(['busy', 'busy']);

    // Only the follower has input, for three idleMs: the writer's tab is idle, the person is not.
    const written = a.transport.callsOf('publish').length;
    await pass(tabs, 3 * IDLE, [b]);
    expect(a.actor.getSnapshot().matches({ tracking: { activity: 'idle' } })).toBe(true);
    expect([a.me(), b.me()]).toEqual(['busy', 'busy']);
    expect(a.transport.callsOf('publish').slice(written).every((c) => c.input.status === 'busy')).toBe(true);
    expect(b.transport.callsOf('publish')).toEqual([]); // only the leader writes

    // No input anywhere: once b has been idle for idleMs too, the person is away, in both tabs.
    await pass(tabs, IDLE - 2_000);
    expect(a.me()).toBe('busy');
    await pass(tabs, 2_000);
    await until(() => a.me() === AWAY && b.me() === AWAY, 'both away');
    expect(a.transport.callsOf('publish').at(-1)!.input.status).toBe(AWAY);

    // One input in the follower: the writer's tab publishes busy again.
    b.input();
    await until(() => a.me() === 'busy' && b.me() === 'busy', 'both busy again');
    await a.serve();
    expect(a.transport.callsOf('publish').at(-1)!.input.status).toBe('busy');
  });
});
