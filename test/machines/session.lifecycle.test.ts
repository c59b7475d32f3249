/**
 * Example tests for the session's lifecycle (issue 10) that the model-based paths cannot show:
 * the ORDER of effects (a DELETE only after the write in flight, a `quiet` only after the DELETE),
 * what is handed to the person's other tabs and when, what a page that goes, freezes or comes
 * back keeps, and elapsed-time relations (polling while realtime is down, no heartbeat after a
 * sign-out). Fake transport and fake tab coordinator (session.fixtures.ts), fake time.
 * Each test names, in a comment, the bug of the code before the lifecycle moved into the machine
 * that it guards against.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CONNECT_TIMEOUT_MS,
  QUIET_TIMEOUT_MS,
  SIGN_IN_NEEDED,
  WRITE_GAP_MS,
  commandOutcome,
  selectError,
  selectMe,
  selectPhase,
  selectReady,
  selectSeq,
  signOutOutcome,
  type StartOptions,
  type TabsCommand,
} from '../../src/machines/session';
import type { PeerDoc } from '../../src/transport/types';
import { flush } from '../support/paths';
import { ada, bob, doc, harness, isCallOf, published } from './session.fixtures';

type Harness = ReturnType<typeof harness>;

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const H = 25_000;
const follower = { leader: false, othersPresent: true } as const;
const writerWithOthers = { leader: true, othersPresent: true } as const;
/** Appwrite's answer to a caller whose session is gone: the `guests` role lacks the presences scopes. */
const sessionGone = () =>
  Object.assign(new Error('User (role: guests) missing scopes (["presences.write"])'), { code: 401, type: 'general_unauthorized_scope' });

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

/** start() and the session says who we are (Ada): tracking; a leader's first publish is in flight. */
async function started(h: Harness, options?: StartOptions & { teamId?: string | null }) {
  h.send({ type: 'session.start', ...(options ? { options } : {}) });
  h.transport.resolve('identify', ada);
  await flush();
}

/** Realtime connects and the roster list arrives (with `peers`, e.g. the row another tab writes). */
async function listed(h: Harness, peers: PeerDoc[] = []) {
  h.transport.emit({ type: 'transport.connected' });
  h.transport.resolve('loadRoster', { peers, receivedAtLocal: Date.now() });
  await flush();
}

/** The server answers the write in flight (a publish: the row as sent). */
async function answer(h: Harness) {
  const call = h.transport.pending('write');
  if (!call) throw new Error('no write in flight');
  if (isCallOf(call, 'publish')) h.transport.resolve('write', published(call.input, h.clock.now()));
  else h.transport.resolve('write');
  await flush();
}

/** A leader tracking Ada, live, its first row (`row-1`) written, a write gap later: ready to write again. */
async function writing(h: Harness, options?: StartOptions & { teamId?: string | null }) {
  await started(h, options);
  await listed(h);
  await answer(h);
  vi.advanceTimersByTime(WRITE_GAP_MS);
}

/** A follower tab of Ada, live, seeing the row the writer tab keeps (`row-u1`). */
async function followingAdasRow(h: Harness) {
  await started(h);
  await listed(h, [doc({ userId: 'u1', id: 'row-u1', updatedAt: T0 })]);
}

const publishes = (h: Harness) => h.transport.callsOf('publish').map((c) => c.input);
const lastPublish = (h: Harness) => publishes(h).at(-1);
const removals = (h: Harness) => h.transport.callsOf('remove').map((c) => ({ id: c.id, ...c.input }));
const told = (h: Harness, type: TabsCommand['type']) => h.tabs.commands.filter((c) => c.type === type);
const wishes = (h: Harness) => told(h, 'wish');

describe('beforeSignOut in a tab that does not write (issue 10, 1)', () => {
  // Guards: a sign-out in the follower tab deleted nothing, so the writer tab's row stayed listed
  // until expiry (~75 s) once the session was gone.
  it('tells the other tabs, waits for their answer, then deletes the row it saw, and waits idle for the next identity', async () => {
    const h = harness({ role: follower });
    await followingAdasRow(h);
    expect(publishes(h)).toHaveLength(0);

    h.send({ type: 'session.signOut' });
    expect(told(h, 'signout')).toEqual([{ type: 'signout' }]);
    expect(selectMe(h.snapshot())).toBeNull();
    expect(signOutOutcome(h.snapshot())).toBeUndefined();
    // The writer tab is still draining its write and deleting: nothing here meanwhile.
    vi.advanceTimersByTime(QUIET_TIMEOUT_MS - 1);
    expect(removals(h)).toEqual([]);

    h.tabs.emit({ type: 'tabs.quiet' });
    // Any tab may delete the row: it holds the same session.
    expect(removals(h)).toEqual([{ id: 'removeRow', presenceId: 'row-u1' }]);
    h.transport.resolve('removeRow');
    await flush();

    expect(selectPhase(h.snapshot())).toBe('idle');
    expect(h.context().identity).toBeNull();
    expect(selectMe(h.snapshot())).toBeNull();
    expect(selectReady(h.snapshot())).toBe(false);
    expect(signOutOutcome(h.snapshot())).toBe(true);
    expect(h.roster.list()).toEqual([]);
    expect(publishes(h)).toHaveLength(0);

    // The next person (here Bob) resumes tracking with a coordinator of their own.
    h.send({ type: 'identity.changed', identity: bob });
    expect(selectPhase(h.snapshot())).toBe('online');
    expect(selectMe(h.snapshot())).toBe('online');
    expect(h.tabs.userId).toBe('u2');
  });

  // Guards: a tab that crashed without its bye must not hold the sign-out up for ever.
  it('goes on after QUIET_TIMEOUT_MS when the other tabs never answer', async () => {
    const h = harness({ role: follower });
    await followingAdasRow(h);
    h.send({ type: 'session.signOut' });
    vi.advanceTimersByTime(QUIET_TIMEOUT_MS - 1);
    expect(removals(h)).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(removals(h)).toEqual([{ id: 'removeRow', presenceId: 'row-u1' }]);
  });

  // Guards: issue 10, 2 — after beforeSignOut() the server still held the row `busy` for 75 s
  // when the DELETE overtook the PUT in flight.
  it('in a tab that was writing, waits for the PUT in flight before the DELETE', async () => {
    const h = harness({ role: writerWithOthers });
    await writing(h);
    h.send({ type: 'session.set', status: 'busy' });
    expect(h.transport.writesInFlight()).toBe(1);
    // Meanwhile another tab took the lead: this one writes no more, yet its PUT is still out.
    h.tabs.emit({ type: 'tabs.role', ...follower });

    h.send({ type: 'session.signOut' });
    h.tabs.emit({ type: 'tabs.quiet' });
    expect(removals(h)).toEqual([]);
    await answer(h);
    expect(removals(h)).toEqual([{ id: 'removeRow', presenceId: 'row-1' }]);
  });
});

describe('another tab of the person signs out (tabs.signout)', () => {
  // Guards: the writer tab re-published after the signing-out tab's DELETE (gone, then back for ~74 s).
  it('as the writer with a PUT in flight: no DELETE until the PUT settles, then the DELETE, then quiet, then idle', async () => {
    const h = harness({ role: writerWithOthers });
    await writing(h);
    h.send({ type: 'session.set', status: 'busy' });
    expect(h.transport.writesInFlight()).toBe(1);

    h.tabs.emit({ type: 'tabs.signout' });
    expect(selectMe(h.snapshot())).toBeNull();
    expect(removals(h)).toEqual([]);
    expect(told(h, 'quiet')).toEqual([]);

    await answer(h);
    expect(removals(h)).toEqual([{ id: 'removeRow', presenceId: 'row-1' }]);
    expect(told(h, 'quiet')).toEqual([]);

    h.transport.resolve('removeRow');
    await flush();
    expect(told(h, 'quiet')).toEqual([{ type: 'quiet' }]);
    expect(h.tabs.commands.at(-1)).toEqual({ type: 'quiet' });
    expect(selectPhase(h.snapshot())).toBe('idle');
    expect(h.context().identity).toBeNull();

    // Nothing more is written for the person who signed out.
    vi.advanceTimersByTime(5 * H);
    expect(publishes(h)).toHaveLength(2);
  });

  // Guards: with no answer from a follower the signing-out tab would wait QUIET_TIMEOUT_MS in vain,
  // and a follower must not delete the row the writer is still draining.
  it('as a follower: deletes nothing and answers quiet at once', async () => {
    const h = harness({ role: follower });
    await followingAdasRow(h);
    h.tabs.emit({ type: 'tabs.signout' });
    expect(removals(h)).toEqual([]);
    expect(told(h, 'quiet')).toEqual([{ type: 'quiet' }]);
    expect(selectPhase(h.snapshot())).toBe('idle');
    expect(selectMe(h.snapshot())).toBeNull();
    vi.advanceTimersByTime(5 * H);
    expect(publishes(h)).toHaveLength(0);
    expect(removals(h)).toEqual([]);
  });
});

describe('another tab signs out while this one is leaving its row', () => {
  // Guards: stopping answered quiet at once and, with another tab open, left the row to it; its
  // PUT still in flight then landed after the signing-out tab's DELETE.
  it('while stopping with a PUT in flight: the PUT lands, then this tab deletes the row, then answers quiet', async () => {
    const h = harness({ role: writerWithOthers });
    await writing(h);
    h.send({ type: 'session.set', status: 'busy' });
    h.send({ type: 'session.stop' });
    h.tabs.emit({ type: 'tabs.signout' });
    expect(told(h, 'quiet')).toEqual([]);
    await answer(h);
    expect(removals(h)).toEqual([{ id: 'removeRow', presenceId: 'row-1' }]);
    expect(told(h, 'quiet')).toEqual([]);
    h.transport.resolve('removeRow');
    await flush();
    expect(selectPhase(h.snapshot())).toBe('stopped');
    expect(told(h, 'quiet')).toEqual([{ type: 'quiet' }]);
  });

  // Guards: a team switch draining its PUT ignored the sign-out and published for the new team.
  it('during a team switch: it yields instead of publishing for the new team', async () => {
    const h = harness({ role: writerWithOthers });
    await writing(h);
    h.send({ type: 'session.set', status: 'busy' });
    h.send({ type: 'team.changed', teamId: 'design' });
    h.tabs.emit({ type: 'tabs.signout' });
    await answer(h);
    h.transport.resolve('removeRow');
    await flush();
    expect(selectPhase(h.snapshot())).toBe('idle');
    expect(told(h, 'quiet')).toEqual([{ type: 'quiet' }]);
    vi.advanceTimersByTime(5 * H);
    expect(publishes(h).some((p) => p.teamId === 'design')).toBe(false);
  });

  // Guards: beforeSignOut() during stop() neither told the other tabs nor deleted a row they keep,
  // and answered true before the DELETE had run.
  it('beforeSignOut() while stopping tells the other tabs, deletes the row though they are open, and answers once it is gone', async () => {
    const h = harness({ role: writerWithOthers });
    await writing(h);
    h.send({ type: 'session.set', status: 'busy' });
    h.send({ type: 'session.stop' });
    h.send({ type: 'session.signOut' });
    expect(told(h, 'signout')).toEqual([{ type: 'signout' }]);
    expect(signOutOutcome(h.snapshot())).toBeUndefined();
    await answer(h);
    expect(removals(h)).toEqual([{ id: 'removeRow', presenceId: 'row-1' }]);
    h.transport.resolve('removeRow');
    await flush();
    expect(signOutOutcome(h.snapshot())).toBe(true);
  });
});

describe('a switch waits for the write in flight (issue 10, 2)', () => {
  // Guards: tracking → switching sent the DELETE at once; the PUT landing after it re-created the
  // row for the old team (or the old identity) until expiry.
  it('team.changed: the DELETE starts only after the PUT settled, then the row is published for the new team', async () => {
    const h = harness();
    await writing(h);
    h.send({ type: 'session.set', status: 'busy' });
    h.send({ type: 'team.changed', teamId: 'design' });
    expect(selectPhase(h.snapshot())).toBe('switching');
    expect(removals(h)).toEqual([]);

    await answer(h);
    expect(removals(h)).toEqual([{ id: 'removeRow', presenceId: 'row-1' }]);
    h.transport.resolve('removeRow');
    await flush();
    expect(lastPublish(h)).toMatchObject({ status: 'busy', teamId: 'design', metadata: { team: 'design' } });
  });

  it('identity.changed: the DELETE starts only after the PUT settled, then the new person is published', async () => {
    const h = harness();
    await writing(h);
    h.send({ type: 'session.set', status: 'busy' });
    h.send({ type: 'identity.changed', identity: bob });
    expect(removals(h)).toEqual([]);

    await answer(h);
    expect(removals(h)).toEqual([{ id: 'removeRow', presenceId: 'row-1' }]);
    h.transport.resolve('removeRow');
    await flush();
    expect(lastPublish(h)).toMatchObject({ userId: 'u2', status: 'busy' });
    expect(h.tabs.userId).toBe('u2');
  });
});

describe('the session is gone (401 general_unauthorized_scope) (issue 10, 4)', () => {
  // Guards: after a plain account.deleteSession() the tab stayed online, every heartbeat failed
  // with "missing scopes" and observers listed the person until expiry.
  it('a refused publish signs the tab out: me null, not ready, error says to sign in, no heartbeat afterwards', async () => {
    const h = harness();
    await writing(h);
    vi.advanceTimersByTime(H);
    expect(h.transport.writesInFlight()).toBe(1);
    const before = publishes(h).length;

    h.transport.reject('write', sessionGone());
    await flush();
    // It still tries to delete the row (best effort); that is refused as well.
    expect(removals(h)).toEqual([{ id: 'removeRow', presenceId: 'row-1' }]);
    h.transport.reject('removeRow', sessionGone());
    await flush();

    expect(selectMe(h.snapshot())).toBeNull();
    expect(selectReady(h.snapshot())).toBe(false);
    expect(selectError(h.snapshot())).toBe(SIGN_IN_NEEDED);
    expect(selectPhase(h.snapshot())).toBe('idle');
    vi.advanceTimersByTime(5 * H);
    expect(publishes(h)).toHaveLength(before);
    expect(selectError(h.snapshot())).toBe(SIGN_IN_NEEDED);
  });
});

describe('realtime never connects (issue 10, 8)', () => {
  // Guards: the roster was listed once after the connect timeout and never again, with ready true
  // and error null: leavers stayed listed, newcomers never appeared.
  it('lists after the connect timeout, re-lists every heartbeat while the link is down, says so, and stops once live', async () => {
    const h = harness();
    await started(h);
    await answer(h);
    const lists = () => h.transport.callsOf('loadRoster').length;
    const unavailable = 'Live updates unavailable; refreshing every 25 s.';

    vi.advanceTimersByTime(CONNECT_TIMEOUT_MS);
    expect(lists()).toBe(1);
    expect(selectError(h.snapshot())).toBe(unavailable);
    h.transport.resolve('loadRoster', { peers: [doc({ userId: 'p1' })], receivedAtLocal: Date.now() });
    await flush();
    expect(selectReady(h.snapshot())).toBe(true);
    expect(h.roster.get('p1')).not.toBeNull();

    // p1 leaves; nothing is pushed, the next list shows it.
    vi.advanceTimersByTime(H - 1);
    expect(lists()).toBe(1);
    vi.advanceTimersByTime(1);
    expect(lists()).toBe(2);
    h.transport.resolve('loadRoster', { peers: [], receivedAtLocal: Date.now() });
    await flush();
    expect(h.roster.get('p1')).toBeNull();
    expect(selectReady(h.snapshot())).toBe(true);
    vi.advanceTimersByTime(H);
    expect(lists()).toBe(3);
    h.transport.resolve('loadRoster', { peers: [], receivedAtLocal: Date.now() });
    await flush();

    // Live again: one resync, the error goes, no more polling.
    h.transport.emit({ type: 'transport.connected' });
    expect(selectError(h.snapshot())).toBeNull();
    expect(lists()).toBe(4);
    h.transport.resolve('loadRoster', { peers: [], receivedAtLocal: Date.now() });
    await flush();
    vi.advanceTimersByTime(3 * H);
    expect(lists()).toBe(4);
    expect(selectError(h.snapshot())).toBeNull();

    // The link drops while live: polling again, a heartbeat later, and the error says so again.
    h.transport.emit({ type: 'transport.disconnected' });
    vi.advanceTimersByTime(H - 1);
    expect(lists()).toBe(4);
    vi.advanceTimersByTime(1);
    expect(lists()).toBe(5);
    expect(selectError(h.snapshot())).toBe(unavailable);
  });
});

describe('the page goes, freezes and comes back', () => {
  // Guards: the keepalive DELETE at pagehide lived in a closure the machine did not see.
  it('pagehide in the person\'s last tab hands the row id to the keepalive DELETE', async () => {
    const h = harness();
    await writing(h);
    h.send({ type: 'page.hide', persisted: false });
    expect(h.unloads).toEqual(['row-1']);
    expect(selectPhase(h.snapshot())).toBe('left');
    expect(selectMe(h.snapshot())).toBeNull();
    // Nothing more is written by a page that has gone; and it does not come back as it was.
    vi.advanceTimersByTime(5 * H);
    expect(publishes(h)).toHaveLength(1);
    h.send({ type: 'page.resume' });
    expect(selectPhase(h.snapshot())).toBe('stopped');
  });

  // Guards: closing one of two pages deleted the row and the person blinked out (issue 10, 6).
  it('pagehide in a follower tab, or while other tabs are open, sends no keepalive DELETE', async () => {
    const f = harness({ role: follower });
    await followingAdasRow(f);
    f.send({ type: 'page.hide', persisted: false });
    expect(f.unloads).toEqual([]);
    expect(selectPhase(f.snapshot())).toBe('left');

    const w = harness({ role: writerWithOthers });
    await writing(w);
    w.send({ type: 'page.hide', persisted: false });
    expect(w.unloads).toEqual([]);
    expect(selectPhase(w.snapshot())).toBe('left');
  });

  // Guards: a frozen tab kept the writer lock (its timers stopped), so no other tab took over.
  it('freeze sends no keepalive DELETE and stops the tab coordinator (the next tab leads)', async () => {
    const h = harness();
    await writing(h);
    expect(h.snapshot().children.tabs).toBeDefined();
    h.send({ type: 'page.freeze' });
    expect(h.unloads).toEqual([]);
    expect(selectPhase(h.snapshot())).toBe('frozen');
    expect(h.snapshot().children.tabs).toBeUndefined();
    expect(h.tabs.userId).toBeNull();
    expect(removals(h)).toEqual([]);
  });

  // Guards: the resume path rebuilt the session from closure locals and lost what had been chosen.
  for (const [how, leave] of [
    ['after a freeze', { type: 'page.freeze' }],
    ['from the back/forward cache', { type: 'page.hide', persisted: true }],
  ] as const) {
    it(`resume ${how} starts again with the same status, metadata, team and heartbeat`, async () => {
      const h = harness();
      await writing(h, { status: 'busy', heartbeatMs: 10_000, teamId: 'design' });
      h.send({ type: 'session.set', status: 'editing', metadata: { page: 'Invoice #42' } });
      await answer(h);
      h.send(leave);
      expect(h.tabs.userId).toBeNull();

      vi.advanceTimersByTime(60_000);
      h.send({ type: 'page.resume' });
      expect(selectPhase(h.snapshot())).toBe('starting');
      h.transport.resolve('identify', ada);
      await flush();
      expect(h.tabs.userId).toBe('u1');
      expect(lastPublish(h)).toMatchObject({ status: 'editing', teamId: 'design', metadata: { page: 'Invoice #42', team: 'design' } });
      expect(lastPublish(h)!.expiresAt - h.clock.now()).toBe(3 * 10_000);
      await answer(h);
      // The heartbeat is the chosen one: 10 s × 0.9 (random 0.5), not the 25 s default.
      const writes = publishes(h).length;
      vi.advanceTimersByTime(9_000);
      expect(publishes(h)).toHaveLength(writes + 1);
    });
  }

  // Guards: a start() queued during stop() survived the page going and restarted on resume.
  it('pagehide while stopping cancels a restart asked meanwhile: resume does not start again', async () => {
    const h = harness();
    await writing(h);
    h.send({ type: 'session.set', status: 'busy' });
    h.send({ type: 'session.stop' });
    expect(selectPhase(h.snapshot())).toBe('stopping');
    h.send({ type: 'session.start' });
    h.send({ type: 'page.hide', persisted: true });
    expect(selectPhase(h.snapshot())).toBe('left');
    h.send({ type: 'page.resume' });
    await flush();
    expect(selectPhase(h.snapshot())).toBe('stopped');
    expect(h.transport.callsOf('identify')).toHaveLength(1);
  });
});

describe('what the person chooses reaches their other tabs (issue 10, 5)', () => {
  // Guards: start({ status }) in a non-writer tab showed `available` there while the writer kept
  // publishing `online`.
  it('start({ status }) in a follower tab sends the wish to the coordinator once it runs', async () => {
    const h = harness({ role: follower });
    await started(h, { status: 'available' });
    expect(wishes(h)).toEqual([{ type: 'wish', wish: { status: 'available', metadata: {} } }]);
    expect(publishes(h)).toHaveLength(0);
  });

  // Guards: a second tab's plain start() would reset the status chosen in another tab to `online`.
  it('a bare start() sends no wish: it keeps whatever the person chose in another tab', async () => {
    const h = harness({ role: follower });
    await started(h);
    expect(wishes(h)).toEqual([]);
  });

  // Guards: a remote wish shared back would bounce between the tabs.
  it('set() and clear() send a wish; the same commands from another tab (remote) do not', async () => {
    const h = harness({ role: follower });
    await started(h);
    h.send({ type: 'session.set', status: 'busy', metadata: { page: 'Invoice #42' } });
    expect(wishes(h)).toEqual([{ type: 'wish', wish: { status: 'busy', metadata: { page: 'Invoice #42' } } }]);
    h.send({ type: 'session.set', status: 'editing', remote: true });
    h.send({ type: 'session.clear', remote: true });
    expect(wishes(h)).toHaveLength(1);
    h.send({ type: 'session.clear' });
    expect(wishes(h)).toEqual([
      { type: 'wish', wish: { status: 'busy', metadata: { page: 'Invoice #42' } } },
      { type: 'wish', wish: 'cleared' },
    ]);
  });
});

describe('nobody writes before the coordinator says who leads', () => {
  // Guards: a second tab wrote once before it learned it followed, overwriting the writer's status.
  it('a tab that turns out to follow never writes', async () => {
    const h = harness({ role: null });
    await started(h, { status: 'busy' });
    vi.advanceTimersByTime(WRITE_GAP_MS);
    expect(publishes(h)).toHaveLength(0);
    h.tabs.emit({ type: 'tabs.role', ...follower });
    vi.advanceTimersByTime(5 * H);
    expect(publishes(h)).toHaveLength(0);
  });

  // Guards: holding writes until the role is known must not delay the leader's first write.
  it('a tab told it leads writes at once', async () => {
    const h = harness({ role: null });
    await started(h, { status: 'busy' });
    expect(publishes(h)).toHaveLength(0);
    h.tabs.emit({ type: 'tabs.role', leader: true, othersPresent: false });
    expect(lastPublish(h)).toMatchObject({ status: 'busy', userId: 'u1' });
  });
});

describe('input edges (issue 10, 7)', () => {
  // Guards: a `team` key in the person's metadata was written, and every reader dropped the row as
  // a spoofed team scope.
  it('set() with metadata.team is refused: no command number, error says it is reserved, nothing written', async () => {
    const h = harness();
    await writing(h);
    const seq = selectSeq(h.snapshot());
    h.send({ type: 'session.set', status: 'editing', metadata: { team: 'design' } });
    expect(selectSeq(h.snapshot())).toBe(seq);
    expect(selectError(h.snapshot())).toMatch(/metadata\.team is reserved/);
    expect(selectMe(h.snapshot())).toBe('online');
    vi.advanceTimersByTime(WRITE_GAP_MS);
    expect(publishes(h)).toHaveLength(1);
  });

  // Guards: 200 emoji (400 UTF-16 units) were refused as "400 characters"; Appwrite counts code points.
  it('a status of 200 emoji is accepted; 256 characters are refused, counted in characters', async () => {
    const h = harness();
    await writing(h);
    const emoji = '😀'.repeat(200);
    expect(emoji.length).toBe(400);
    h.send({ type: 'session.set', status: emoji });
    expect(selectError(h.snapshot())).toBeNull();
    expect(lastPublish(h)?.status).toBe(emoji);
    await answer(h);
    expect(commandOutcome(h.snapshot(), selectSeq(h.snapshot()))).toBe(true);

    const seq = selectSeq(h.snapshot());
    h.send({ type: 'session.set', status: '😀'.repeat(256) });
    expect(selectSeq(h.snapshot())).toBe(seq);
    expect(selectError(h.snapshot())).toBe('status is 256 characters; the limit is 255');
    expect(selectMe(h.snapshot())).toBe(emoji);
  });
});
