import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor } from 'xstate';
import { isLastTab, tabsMachine, type TabsEmitted, type TabsEvent } from '../../src/machines/tabs';

// What the paths cannot show: refused guards (`can` filtering drops them), timers that repeat,
// and the order of what a tab says.

const busy = { status: 'busy', metadata: {} };

function tab(visible = true) {
  const actor = createActor(tabsMachine, { input: { tabId: 'a', visible } });
  const out: TabsEmitted[] = [];
  actor.on('*', (e) => out.push(e));
  actor.start();
  out.length = 0; // drop the hello
  const send = (...events: TabsEvent[]) => {
    out.length = 0;
    for (const e of events) actor.send(e);
    return out;
  };
  return { actor, send, context: () => actor.getSnapshot().context };
}

describe('tabs machine', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('says hello on start with its visibility', () => {
    const actor = createActor(tabsMachine, { input: { tabId: 'a', visible: false } });
    const out: TabsEmitted[] = [];
    actor.on('*', (e) => out.push(e));
    actor.start();
    expect(out).toEqual([{ type: 'broadcast', message: { type: 'hello', from: 'a', visible: false } }]);
  });

  it('answers a newcomer with its state and the current wish', () => {
    const t = tab();
    t.send({ type: 'wish.local', wish: busy, at: 10 });
    expect(t.send({ type: 'peer.hello', tabId: 'b', visible: false, at: 11 })).toEqual([
      { type: 'broadcast', message: { type: 'state', from: 'a', visible: true } },
      { type: 'broadcast', message: { type: 'wish', from: 'a', wish: { wish: busy, at: 10, tabId: 'a' } } },
    ]);
  });

  it('ignores its own messages echoed back', () => {
    const t = tab();
    expect(t.send({ type: 'peer.hello', tabId: 'a', visible: false, at: 1 })).toEqual([]);
    expect(t.send({ type: 'peer.rollcall', tabId: 'a' })).toEqual([]);
    expect(t.context().peers).toEqual({});
  });

  it('ignores a bye from a tab it never knew, and an unchanged visibility', () => {
    const t = tab();
    t.send({ type: 'lock.acquired' });
    expect(t.send({ type: 'peer.bye', tabId: 'zz' })).toEqual([]);
    expect(t.send({ type: 'tab.visibility', visible: true })).toEqual([]);
  });

  it('keeps the newest wish: later stamp first, then the larger tab id', () => {
    const t = tab();
    expect(t.send({ type: 'peer.wish', wish: { wish: busy, at: 5, tabId: 'b' } })).toEqual([{ type: 'wish', wish: busy }]);
    expect(t.send({ type: 'peer.wish', wish: { wish: 'cleared', at: 4, tabId: 'c' } })).toEqual([]);
    expect(t.send({ type: 'peer.wish', wish: { wish: 'cleared', at: 5, tabId: 'a0' } })).toEqual([]);
    expect(t.send({ type: 'peer.wish', wish: { wish: 'cleared', at: 5, tabId: 'c' } })).toEqual([
      { type: 'wish', wish: 'cleared' },
    ]);
    // The same wish relayed by several tabs (answers to a hello) applies once.
    expect(t.send({ type: 'peer.wish', wish: { wish: 'cleared', at: 5, tabId: 'c' } })).toEqual([]);
  });

  it('stamps a local wish above the one it replaces, so peers cannot refuse it', () => {
    const t = tab();
    t.send({ type: 'peer.wish', wish: { wish: busy, at: 100, tabId: 'b' } });
    t.send({ type: 'wish.local', wish: 'cleared', at: 90 }); // this tab's clock is behind
    expect(t.context().wish).toEqual({ wish: 'cleared', at: 101, tabId: 'a' });
  });

  it('drops a peer missing from the locks only if last heard before the snapshot was asked', () => {
    const t = tab();
    t.send({ type: 'lock.acquired' });
    t.send({ type: 'peer.hello', tabId: 'b', visible: true, at: 100 });
    // Snapshot asked at 100, b heard at 100: b may have taken its lock after the snapshot.
    expect(t.send({ type: 'members.verified', tabIds: [], askedAt: 100 })).toEqual([]);
    expect(t.context().peers).toHaveProperty('b');
    expect(t.send({ type: 'members.verified', tabIds: [], askedAt: 101 })).toEqual([
      { type: 'role', leader: true, othersPresent: false },
    ]);
    expect(t.context().peers).toEqual({});
  });

  it('checks the locks every verifyEvery while it knows peers, as leader or follower', () => {
    const t = tab();
    const checks: TabsEmitted[] = [];
    t.actor.on('verify', (e) => checks.push(e));
    t.send({ type: 'lock.queued' });
    vi.advanceTimersByTime(30_000);
    expect(checks).toHaveLength(0); // alone: nothing to check
    t.send({ type: 'peer.hello', tabId: 'b', visible: true, at: 1 });
    vi.advanceTimersByTime(6_000);
    expect(checks).toHaveLength(3);
    t.send({ type: 'lock.acquired' }); // leading: checks at once, then keeps the same pace
    expect(checks).toHaveLength(4);
    vi.advanceTimersByTime(4_000);
    expect(checks).toHaveLength(6);
  });

  it('a new leader asks for a roll-call and checks the locks', () => {
    const t = tab();
    t.send({ type: 'lock.queued' }, { type: 'peer.hello', tabId: 'b', visible: true, at: 1 });
    expect(t.send({ type: 'lock.acquired' })).toEqual([
      { type: 'role', leader: true, othersPresent: true },
      { type: 'broadcast', message: { type: 'rollcall', from: 'a' } },
      { type: 'verify' },
    ]);
    expect(t.send({ type: 'peer.rollcall', tabId: 'b' })).toEqual([
      { type: 'broadcast', message: { type: 'state', from: 'a', visible: true } },
    ]);
  });

  it('is the last tab only while leading alone', () => {
    const t = tab();
    expect(isLastTab(t.actor.getSnapshot())).toBe(false); // electing: does not know yet
    t.send({ type: 'lock.queued' });
    expect(isLastTab(t.actor.getSnapshot())).toBe(false); // someone else holds the lock
    t.send({ type: 'lock.acquired' });
    expect(isLastTab(t.actor.getSnapshot())).toBe(true);
    t.send({ type: 'peer.state', tabId: 'b', visible: false, at: 1 });
    expect(isLastTab(t.actor.getSnapshot())).toBe(false);
    t.send({ type: 'tabs.leave' });
    expect(isLastTab(t.actor.getSnapshot())).toBe(false); // the answer stays readable after leaving
  });

  it('aggregates visibility over every tab it knows', () => {
    const t = tab(false);
    t.send({ type: 'lock.acquired' });
    expect(t.send({ type: 'peer.hello', tabId: 'b', visible: true, at: 1 })).toContainEqual({
      type: 'visibility',
      anyVisible: true,
    });
    expect(t.send({ type: 'peer.hello', tabId: 'c', visible: false, at: 1 })).not.toContainEqual(
      expect.objectContaining({ type: 'visibility' }),
    );
    expect(t.send({ type: 'peer.state', tabId: 'b', visible: false, at: 2 })).toContainEqual({
      type: 'visibility',
      anyVisible: false,
    });
    expect(t.send({ type: 'tab.visibility', visible: true })).toEqual([
      { type: 'broadcast', message: { type: 'state', from: 'a', visible: true } },
      { type: 'visibility', anyVisible: true },
    ]);
  });
});
