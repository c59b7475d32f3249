import { Window } from 'happy-dom';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTabCoordinator, toMachineEvent, type LockManagerLike, type TabCoordinator, type TabEvent } from '../../src/platform/tabs';
import { onPageHide, watchVisibility } from '../../src/platform/page';
import { tabsMachine } from '../../src/machines/tabs';
import { settle, until } from '../support/wait';

// Tabs of one browser in one process: Node 20's real BroadcastChannel between instances, an
// in-memory LockManager with Web Locks semantics, tiny EventTarget fakes for document/window.
// Channel delivery is real I/O, so waiting for it yields to the event loop (`until`); time that
// matters (the periodic lock check) is fake and moved by hand.

const verifyEvery = tabsMachine.implementations.delays.verifyEvery as number;
const busy = { status: 'busy', metadata: { note: 'on a call' } };

/** Exclusive locks per name, FIFO queue, granted in a later microtask, released when the callback's promise settles. */
class FakeLocks {
  private held = new Map<string, Waiter>();
  private queues = new Map<string, Waiter[]>();

  /** The `navigator.locks` of one tab (one client). */
  client(clientId: string): LockManagerLike {
    return {
      request: (name, options, callback) =>
        new Promise((resolve, reject) => {
          const waiter: Waiter = { clientId, name, callback, resolve, reject };
          if (options.signal?.aborted) return reject(new DOMException('aborted', 'AbortError'));
          if (options.ifAvailable && (this.held.has(name) || this.queue(name).length > 0)) {
            queueMicrotask(() => this.run(waiter, null));
            return;
          }
          this.queue(name).push(waiter);
          options.signal?.addEventListener('abort', () => {
            const queue = this.queue(name);
            if (!queue.includes(waiter)) return; // already granted: a signal only cancels waiting
            queue.splice(queue.indexOf(waiter), 1);
            reject(new DOMException('aborted', 'AbortError'));
          });
          this.grantNext(name);
        }),
      query: async () => ({
        held: [...this.held].map(([name, w]) => ({ name, clientId: w.clientId, mode: 'exclusive' as const })),
        pending: [...this.queues].flatMap(([name, q]) => q.map((w) => ({ name, clientId: w.clientId }))),
      }),
    };
  }

  /** The tab's process dies: its locks are released and its waiting requests dropped, with no callback. */
  crash(clientId: string) {
    for (const [name, queue] of this.queues) this.queues.set(name, queue.filter((w) => w.clientId !== clientId));
    for (const [name, holder] of [...this.held]) {
      if (holder.clientId !== clientId) continue;
      this.held.delete(name);
      this.grantNext(name);
    }
  }

  holderOf(name: string) {
    return this.held.get(name)?.clientId ?? null;
  }

  private queue(name: string) {
    let queue = this.queues.get(name);
    if (!queue) this.queues.set(name, (queue = []));
    return queue;
  }

  private grantNext(name: string) {
    if (this.held.has(name)) return;
    const next = this.queue(name).shift();
    if (!next) return;
    this.held.set(name, next);
    queueMicrotask(() => this.run(next, { name, mode: 'exclusive' }));
  }

  private run(waiter: Waiter, lock: unknown) {
    const release = () => {
      if (this.held.get(waiter.name) !== waiter) return; // released already (crash)
      this.held.delete(waiter.name);
      this.grantNext(waiter.name);
    };
    Promise.resolve()
      .then(() => waiter.callback(lock))
      .then(
        (value) => (release(), waiter.resolve(value)),
        (error) => (release(), waiter.reject(error)),
      );
  }
}

interface Waiter {
  clientId: string;
  name: string;
  callback: (lock: unknown) => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

class FakeDocument extends EventTarget {
  visibilityState: 'visible' | 'hidden';
  constructor(visible: boolean) {
    super();
    this.visibilityState = visible ? 'visible' : 'hidden';
  }
  show(visible: boolean) {
    this.visibilityState = visible ? 'visible' : 'hidden';
    this.dispatchEvent(new Event('visibilitychange'));
  }
}

const pagehide = (persisted = false) => Object.assign(new Event('pagehide'), { persisted });


let locks: FakeLocks;
let key: string;
let keys = 0;
let tabs: Tab[];
let channels: BroadcastChannel[];
/** Every role event of every tab, in order, with how many open tabs were leading right after it. */
let roleLog: { tab: string; leader: boolean; leadersOpen: number }[];

interface Tab {
  id: string;
  coordinator: TabCoordinator;
  doc: FakeDocument;
  win: EventTarget;
  events: TabEvent[];
  left: boolean;
  role(): Extract<TabEvent, { type: 'role' }> | undefined;
  anyVisible(): boolean | undefined;
  wishes(): TabEvent[];
  leave(): void;
  crash(): void;
}

function openTab(id: string, { visible = true } = {}): Tab {
  const own: BroadcastChannel[] = [];
  class Channel extends BroadcastChannel {
    constructor(name: string) {
      super(name);
      own.push(this);
      channels.push(this);
    }
  }
  const doc = new FakeDocument(visible);
  const win = new EventTarget();
  const coordinator = createTabCoordinator({
    key,
    tabId: id,
    document: doc,
    window: win,
    locks: locks.client(id),
    BroadcastChannel: Channel,
  });
  const events: TabEvent[] = [];
  const tab: Tab = {
    id,
    coordinator,
    doc,
    win,
    events,
    left: false,
    role: () => lastOf(events, 'role'),
    anyVisible: () => lastOf(events, 'visibility')?.anyVisible,
    wishes: () => events.filter((e) => e.type === 'wish'),
    leave() {
      tab.left = true;
      win.dispatchEvent(pagehide());
    },
    crash() {
      tab.left = true;
      for (const channel of own) channel.close(); // a dead page hears nothing
      locks.crash(id);
    },
  };
  coordinator.subscribe((event) => {
    events.push(event);
    if (event.type !== 'role') return;
    const leadersOpen = tabs.filter((t) => !t.left && t.role()?.leader).length;
    roleLog.push({ tab: id, leader: event.leader, leadersOpen });
  });
  tabs.push(tab);
  return tab;
}

function lastOf<T extends TabEvent['type']>(events: TabEvent[], type: T) {
  const found = events.filter((e): e is Extract<TabEvent, { type: T }> => e.type === type);
  return found[found.length - 1];
}
const leaders = () => tabs.filter((t) => !t.left && t.role()?.leader);
const electionLock = () => `appwrite-presence:${key}`;

describe('createTabCoordinator', () => {
  beforeEach(() => {
    // Fake clock and timers; setImmediate stays real so channel messages can arrive.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    locks = new FakeLocks();
    key = `project:user-${++keys}`;
    tabs = [];
    channels = [];
    roleLog = [];
  });
  afterEach(() => {
    for (const tab of tabs) tab.coordinator.dispose();
    for (const channel of channels) channel.close();
    vi.useRealTimers();
  });

  it('elects exactly one leader among two tabs', async () => {
    const a = openTab('a');
    await until(() => a.role() !== undefined, 'a decides');
    expect(a.role()).toEqual({ type: 'role', leader: true, othersPresent: false });
    const b = openTab('b');
    await until(() => !!b.role()?.othersPresent && !!a.role()?.othersPresent, 'both see each other');
    expect(a.role()).toEqual({ type: 'role', leader: true, othersPresent: true });
    expect(b.role()).toEqual({ type: 'role', leader: false, othersPresent: true });
    expect(locks.holderOf(electionLock())).toBe('a');
  });

  it('elects exactly one leader among three tabs opened at once', async () => {
    const three = [openTab('a'), openTab('b'), openTab('c')];
    await until(() => three.every((t) => t.role()?.othersPresent), 'all decided and see others');
    expect(leaders()).toHaveLength(1);
    expect(locks.holderOf(electionLock())).toBe(leaders()[0]!.id);
    expect(roleLog.every((entry) => entry.leadersOpen <= 1)).toBe(true);
  });

  it('hands over at once when the leader leaves: the next tab in the queue leads', async () => {
    const a = openTab('a');
    await until(() => a.role() !== undefined, 'a leads');
    const b = openTab('b');
    await until(() => b.role() !== undefined, 'b follows');
    const c = openTab('c');
    await until(() => c.role() !== undefined && a.role()?.othersPresent === true, 'c follows');

    expect(a.coordinator.isLastTab()).toBe(false);
    a.leave(); // pagehide
    // The clock never moves in this test: no timeout elects b, the released lock does.
    await until(() => b.role()?.leader === true, 'b leads');
    expect(c.role()?.leader).toBe(false);
    expect(locks.holderOf(electionLock())).toBe('b');

    b.leave();
    await until(() => c.role()?.leader === true && c.role()?.othersPresent === false, 'c leads alone');
    expect(c.coordinator.isLastTab()).toBe(true);

    // Through every role event: once a leader existed, exactly one open tab led.
    const afterFirst = roleLog.slice(roleLog.findIndex((e) => e.leader));
    expect(afterFirst.map((e) => e.leadersOpen)).toEqual(afterFirst.map(() => 1));
    const leading = roleLog.filter((e) => e.leader).map((e) => e.tab);
    expect(leading.filter((tab, i) => tab !== leading[i - 1])).toEqual(['a', 'b', 'c']);
  });

  it('aggregates visibility: the person is visible while any tab is', async () => {
    const a = openTab('a', { visible: true });
    const b = openTab('b', { visible: false });
    const c = openTab('c', { visible: false });
    const all = [a, b, c];
    await until(() => all.every((t) => t.role()?.othersPresent), 'all met');
    await until(() => all.every((t) => t.anyVisible() === true), 'everyone sees a visible tab');

    a.doc.show(false);
    await until(() => all.every((t) => t.anyVisible() === false), 'nobody is looking');
    c.doc.show(true);
    await until(() => all.every((t) => t.anyVisible() === true), 'c is looked at');

    // A window losing focus is not the page being hidden.
    c.win.dispatchEvent(new Event('blur'));
    await settle();
    expect(all.map((t) => t.anyVisible())).toEqual([true, true, true]);
  });

  it('carries a wish made in one tab to the others, and to a tab opened later', async () => {
    const [a, b, c] = [openTab('a'), openTab('b'), openTab('c')];
    await until(() => [a, b, c].every((t) => t.role()?.othersPresent), 'all met');

    b.coordinator.shareWish(busy);
    await until(() => a.wishes().length === 1 && c.wishes().length === 1, 'a and c hear the wish');
    expect(a.wishes()).toEqual([{ type: 'wish', wish: busy }]);
    expect(c.wishes()).toEqual([{ type: 'wish', wish: busy }]);
    expect(b.wishes()).toEqual([]); // applied locally by whoever made it; never echoed back

    a.coordinator.shareWish('cleared');
    await until(() => b.wishes().length === 1 && c.wishes().length === 2, 'the clear reaches b and c');
    expect(c.wishes().at(-1)).toEqual({ type: 'wish', wish: 'cleared' });

    const d = openTab('d');
    await until(() => d.wishes().length > 0, 'd learns the current wish');
    await settle();
    expect(d.wishes()).toEqual([{ type: 'wish', wish: 'cleared' }]); // once, though three tabs answered
  });

  it('drops a crashed follower at the next lock check', async () => {
    const a = openTab('a', { visible: false });
    await until(() => a.role() !== undefined, 'a leads');
    const b = openTab('b', { visible: true });
    await until(() => a.role()?.othersPresent === true && a.anyVisible() === true, 'a sees b');

    b.crash(); // no bye
    await settle();
    expect(a.role()).toEqual({ type: 'role', leader: true, othersPresent: true });
    expect(a.coordinator.isLastTab()).toBe(false);

    vi.advanceTimersByTime(verifyEvery);
    await until(() => a.role()?.othersPresent === false, 'b dropped');
    expect(a.anyVisible()).toBe(false);
    expect(a.coordinator.isLastTab()).toBe(true);
  });

  it('drops a crashed leader at once: the next tab takes the lock and checks who is left', async () => {
    const a = openTab('a', { visible: true });
    await until(() => a.role() !== undefined, 'a leads');
    const b = openTab('b', { visible: false });
    await until(() => b.role()?.othersPresent === true && b.anyVisible() === true, 'b knows a');

    a.crash();
    await until(() => b.role()?.leader === true && b.role()?.othersPresent === false, 'b leads alone');
    expect(b.anyVisible()).toBe(false);
    expect(b.coordinator.isLastTab()).toBe(true);
  });

  it('isLastTab() is true only for the last tab, even when asked during pagehide', async () => {
    const asked: Record<string, boolean> = {};
    const [a, b, c] = [openTab('a'), openTab('b'), openTab('c')];
    await until(() => [a, b, c].every((t) => t.role()?.othersPresent), 'all met');
    for (const t of [a, b, c]) t.win.addEventListener('pagehide', () => (asked[t.id] = t.coordinator.isLastTab()));
    expect([a, b, c].map((t) => t.coordinator.isLastTab())).toEqual([false, false, false]);

    b.leave();
    await until(() => leaders().length === 1 && a.role()?.othersPresent === true, 'b gone');
    await settle();
    a.leave();
    await until(() => c.role()?.leader === true && c.role()?.othersPresent === false, 'c alone');
    expect(c.coordinator.isLastTab()).toBe(true);
    c.leave();
    expect(asked).toEqual({ a: false, b: false, c: true });
  });

  it('answers isLastTab() the same when asked before its own pagehide handler ran', async () => {
    const win = new EventTarget();
    let asked: boolean | undefined;
    let coordinator: TabCoordinator | undefined;
    win.addEventListener('pagehide', () => (asked = coordinator?.isLastTab()));
    coordinator = createTabCoordinator({
      key,
      tabId: 'solo',
      window: win,
      document: null,
      locks: locks.client('solo'),
      BroadcastChannel,
    });
    const events: TabEvent[] = [];
    coordinator.subscribe((e) => events.push(e));
    await until(() => events.some((e) => e.type === 'role'), 'solo leads');
    win.dispatchEvent(pagehide());
    expect(asked).toBe(true);
    expect(coordinator.isLastTab()).toBe(true);
  });

  it('releases both locks and says bye on leave; leave is idempotent', async () => {
    const a = openTab('a');
    const b = openTab('b');
    await until(() => !!a.role()?.othersPresent && !!b.role()?.othersPresent, 'met');
    a.coordinator.leave();
    a.coordinator.leave();
    a.left = true;
    await until(() => b.role()?.othersPresent === false, 'bye arrived');
    const snapshot = await locks.client('probe').query();
    expect(snapshot.held?.map((l) => l.name).sort()).toEqual([electionLock(), `${electionLock()}:tab:b`]);
    // After leaving, nothing reaches the listeners and sharing is a no-op.
    const count = a.events.length;
    a.coordinator.shareWish(busy);
    b.doc.show(false);
    await settle();
    expect(a.events.length).toBe(count);
    expect(b.wishes()).toEqual([]);
  });

  it('replays the current role, visibility and remote wish to a late subscriber', async () => {
    const a = openTab('a', { visible: false });
    const b = openTab('b', { visible: true });
    await until(() => !!a.role()?.othersPresent && !!b.role()?.othersPresent, 'met');
    b.coordinator.shareWish(busy);
    await until(() => a.wishes().length === 1, 'wish arrived');
    const late: TabEvent[] = [];
    a.coordinator.subscribe((e) => late.push(e));
    expect(late).toEqual([
      { type: 'role', leader: true, othersPresent: true },
      { type: 'visibility', anyVisible: true },
      { type: 'wish', wish: busy },
    ]);
  });

  it('ignores malformed channel messages', async () => {
    const a = openTab('a');
    await until(() => a.role() !== undefined, 'a leads');
    const stranger = new BroadcastChannel(electionLock());
    channels.push(stranger);
    for (const junk of [null, 42, 'hello', { type: 'hello' }, { type: 'hello', from: 'x' }, { type: 'nope', from: 'x' },
      { type: 'wish', from: 'x', wish: { wish: { status: 1 }, at: 1, tabId: 'x' } }]) stranger.postMessage(junk);
    stranger.postMessage({ type: 'state', from: 'x', visible: false });
    await until(() => a.role()?.othersPresent === true, 'the well-formed message counts');
    expect(a.wishes()).toEqual([]);
  });

  it('tolerates a listener that throws: the others still hear, the error is reported', () => {
    const reportError = vi.fn();
    vi.stubGlobal('reportError', reportError);
    try {
      const coordinator = createTabCoordinator({ key, document: null, window: null, locks: null });
      const heard: TabEvent[] = [];
      coordinator.subscribe(() => {
        throw new Error('listener broke');
      });
      coordinator.subscribe((e) => heard.push(e));
      coordinator.shareWish(busy);
      expect(heard).toContainEqual({ type: 'role', leader: true, othersPresent: false });
      expect(reportError).toHaveBeenCalledWith(new Error('listener broke'));
      coordinator.dispose();
    } finally {
      vi.unstubAllGlobals();
    }
  });
});

describe('without BroadcastChannel or Web Locks', () => {
  afterEach(() => vi.unstubAllGlobals());

  it.each([
    ['no BroadcastChannel', { BroadcastChannel: null, locks: new FakeLocks().client('x') }],
    ['no Web Locks', { BroadcastChannel, locks: null }],
    ['neither', { BroadcastChannel: null, locks: null }],
  ])('%s: leader, alone, at once, and nothing throws', (_, env) => {
    const opened: unknown[] = [];
    const Channel = env.BroadcastChannel && class extends env.BroadcastChannel {
      constructor(name: string) {
        super(name);
        opened.push(this);
      }
    };
    const doc = new FakeDocument(true);
    const coordinator = createTabCoordinator({ key: 'p:u', document: doc, window: null, ...env, BroadcastChannel: Channel });
    const events: TabEvent[] = [];
    coordinator.subscribe((e) => events.push(e));
    expect(events).toEqual([
      { type: 'role', leader: true, othersPresent: false },
      { type: 'visibility', anyVisible: true },
    ]);
    expect(coordinator.isLastTab()).toBe(true);
    doc.show(false);
    expect(events.at(-1)).toEqual({ type: 'visibility', anyVisible: false });
    coordinator.shareWish(busy);
    coordinator.leave();
    coordinator.dispose();
    expect(opened).toEqual([]); // no channel left open to keep the process alive
  });

  it.each([
    ['Web Locks refuse (an opaque origin)', 'locks'],
    ['the channel cannot be opened', 'channel'],
  ])('%s: leader, alone, once the refusal arrives', async (_, broken) => {
    const refusing: LockManagerLike = {
      request: () => Promise.reject(new DOMException('opaque origin', 'SecurityError')),
      query: () => Promise.reject(new DOMException('opaque origin', 'SecurityError')),
    };
    const Unopenable = class {
      constructor() {
        throw new DOMException('opaque origin', 'SecurityError');
      }
    } as unknown as typeof BroadcastChannel;
    const coordinator = createTabCoordinator({
      key: 'p:u',
      document: null,
      window: null,
      locks: broken === 'locks' ? refusing : new FakeLocks().client('x'),
      BroadcastChannel: broken === 'channel' ? Unopenable : BroadcastChannel,
    });
    const events: TabEvent[] = [];
    coordinator.subscribe((e) => events.push(e));
    await until(() => events.some((e) => e.type === 'role'), 'decided');
    expect(events.filter((e) => e.type === 'role')).toEqual([{ type: 'role', leader: true, othersPresent: false }]);
    expect(coordinator.isLastTab()).toBe(true);
    coordinator.dispose();
  });

  it('in plain Node (no document, window or navigator.locks) needs no options but the key', () => {
    const coordinator = createTabCoordinator({ key: 'p:u' });
    const events: TabEvent[] = [];
    coordinator.subscribe((e) => events.push(e));
    expect(events[0]).toEqual({ type: 'role', leader: true, othersPresent: false });
    expect(coordinator.isLastTab()).toBe(true);
    coordinator.dispose();
  });

  it('reads the globals when the coordinator is created, not when the module loaded', async () => {
    const fake = new FakeLocks();
    const doc = new FakeDocument(false);
    vi.stubGlobal('navigator', { locks: fake.client('g') });
    vi.stubGlobal('document', doc);
    const coordinator = createTabCoordinator({ key: 'p:late', tabId: 'g' });
    const events: TabEvent[] = [];
    coordinator.subscribe((e) => events.push(e));
    await until(() => events.some((e) => e.type === 'role'), 'leads through the stubbed locks');
    expect(fake.holderOf('appwrite-presence:p:late')).toBe('g');
    expect(fake.holderOf('appwrite-presence:p:late:tab:g')).toBe('g');
    expect(events).toContainEqual({ type: 'visibility', anyVisible: false });
    coordinator.dispose();
    await settle();
    expect(fake.holderOf('appwrite-presence:p:late')).toBeNull();
  });
});

describe('watchVisibility and onPageHide (happy-dom)', () => {
  it('reports visibilitychange, not window blur, until cleaned up', () => {
    const window = new Window();
    let state = 'visible';
    Object.defineProperty(window.document, 'visibilityState', { get: () => state });
    const seen: boolean[] = [];
    const stop = watchVisibility(window.document, (visible) => seen.push(visible));
    window.dispatchEvent(new window.Event('blur'));
    state = 'hidden';
    window.document.dispatchEvent(new window.Event('visibilitychange'));
    state = 'visible';
    window.document.dispatchEvent(new window.Event('visibilitychange'));
    stop();
    window.document.dispatchEvent(new window.Event('visibilitychange'));
    expect(seen).toEqual([false, true]);
    void window.happyDOM.close();
  });

  it('reports pagehide with its persisted flag until cleaned up', () => {
    const window = new Window();
    const seen: boolean[] = [];
    const stop = onPageHide(window, (event) => seen.push(event.persisted));
    window.dispatchEvent(Object.assign(new window.Event('pagehide'), { persisted: true }));
    window.dispatchEvent(new window.Event('beforeunload'));
    window.dispatchEvent(new window.Event('pagehide'));
    stop();
    window.dispatchEvent(new window.Event('pagehide'));
    expect(seen).toEqual([true, false]);
    void window.happyDOM.close();
  });
});

describe('toMachineEvent', () => {
  it('translates each message kind, stamping when it was heard', () => {
    expect(toMachineEvent({ type: 'hello', from: 'b', visible: true }, 7)).toEqual({
      type: 'peer.hello',
      tabId: 'b',
      visible: true,
      at: 7,
    });
    expect(toMachineEvent({ type: 'state', from: 'b', visible: false }, 8)).toEqual({
      type: 'peer.state',
      tabId: 'b',
      visible: false,
      at: 8,
    });
    expect(toMachineEvent({ type: 'bye', from: 'b' }, 9)).toEqual({ type: 'peer.bye', tabId: 'b' });
    expect(toMachineEvent({ type: 'rollcall', from: 'b' }, 9)).toEqual({ type: 'peer.rollcall', tabId: 'b' });
    const wish = { wish: busy, at: 3, tabId: 'c' };
    expect(toMachineEvent({ type: 'wish', from: 'b', wish }, 9)).toEqual({ type: 'peer.wish', wish });
  });

  it.each([
    [null],
    [[]],
    [{ type: 'hello', from: '', visible: true }],
    [{ type: 'state', from: 'b', visible: 'yes' }],
    [{ type: 'wish', from: 'b', wish: { wish: 'busy', at: 1, tabId: 'b' } }],
    [{ type: 'wish', from: 'b', wish: { wish: { status: 'x', metadata: [] }, at: 1, tabId: 'b' } }],
    [{ type: 'wish', from: 'b', wish: { wish: 'cleared', at: Number.NaN, tabId: 'b' } }],
    [{ type: 'bye', from: 3 }],
  ])('refuses %j', (data) => expect(toMachineEvent(data, 1)).toBeNull());

  it.each(['toString', 'constructor', '__proto__', 'hasOwnProperty'])('refuses the type %j (an Object.prototype name)', (type) =>
    expect(toMachineEvent({ type, from: 'b', visible: true }, 1)).toBeNull(),
  );
});
