/**
 * Example tests for what paths cannot show: elapsed-time relations (heartbeat cadence, jitter bounds,
 * coalescing), the roster's buffering and reconciliation, the clock estimate in expiresAt, and the
 * product behaviours (PRODUCT.md §2: 1–7, 10–13) end to end on a fake transport with fake time.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  AWAY,
  commandOutcome,
  CONNECT_TIMEOUT_MS,
  NOT_RUNNING,
  SIGN_IN_NEEDED,
  selectError,
  selectMe,
  selectPhase,
  selectReady,
  selectSeq,
  RETRY_FIRST_MS,
  RETRY_MAX_MS,
  REMOVE_ATTEMPTS,
  WRITE_GAP_MS,
  type SessionEvent,
  type StartOptions,
} from '../../src/machines/session';
import { colorOf } from '../../src/records';
import type { PeerDoc } from '../../src/transport/types';
import { flush } from '../support/paths';
import { ada, appwriteError, bob, doc, harness, isCallOf, published } from './session.fixtures';

type Harness = ReturnType<typeof harness>;

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const H = 25_000;

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

/** start() and the session says who we are: tracking, first publish in flight. */
async function started(h: Harness, options?: StartOptions) {
  h.send({ type: 'session.start', ...(options ? { options } : {}) });
  h.transport.resolve('identify', ada);
  await flush();
}

/** How long each retry waited after `failures` network failures in a row. */
async function retryWaits(heartbeatMs: number, failures: number): Promise<number[]> {
  const h = harness({ random: () => 1 });
  await started(h, { heartbeatMs });
  const waits: number[] = [];
  for (let i = 0; i < failures; i++) {
    h.transport.reject('write', new TypeError('Failed to fetch'));
    await flush();
    const before = publishes(h).length;
    let waited = 0;
    while (publishes(h).length === before && waited < 60_000) {
      vi.advanceTimersByTime(100);
      waited += 100;
    }
    waits.push(waited);
  }
  h.actor.stop();
  return waits;
}

/** Realtime connects and the roster list arrives. */
async function listed(h: Harness, peers: PeerDoc[] = []) {
  h.transport.emit({ type: 'transport.connected' });
  h.transport.resolve('loadRoster', { peers, receivedAtLocal: Date.now() });
  await flush();
}

/** The server answers the write in flight (a publish: the row as sent, unless told otherwise). */
async function answer(h: Harness, over: { updatedAt?: number; id?: string } = {}) {
  const call = h.transport.pending('write');
  if (!call) throw new Error('no write in flight');
  if (isCallOf(call, 'publish')) h.transport.resolve('write', published(call.input, over.updatedAt ?? h.clock.now(), over.id));
  else h.transport.resolve('write');
  await flush();
}

async function liveAndWritten(h: Harness, options?: StartOptions, peers: PeerDoc[] = []) {
  await started(h, options);
  await listed(h, peers);
  await answer(h);
}

const publishes = (h: Harness) => h.transport.callsOf('publish').map((c) => c.input);
const lastPublish = (h: Harness) => publishes(h).at(-1);
const removals = (h: Harness) => h.transport.callsOf('remove').map((c) => ({ id: c.id, ...c.input }));

describe('start: publish, list, subscribe, then ready (behaviours 1 and 2)', () => {
  it('publishes the status, lists the roster once realtime is connected, and only then is ready', async () => {
    const h = harness();
    h.send({ type: 'session.start' });
    expect(selectPhase(h.snapshot())).toBe('starting');
    h.transport.resolve('identify', ada);
    await flush();

    expect(h.transport.watchers).toBe(1);
    expect(lastPublish(h)).toMatchObject({ status: 'online', userId: 'u1', teamId: null, presenceId: 'row-1' });
    expect(selectMe(h.snapshot())).toBe('online');
    expect(h.transport.callsOf('loadRoster')).toHaveLength(0);
    expect(selectReady(h.snapshot())).toBe(false);

    await listed(h, [doc({ userId: 'p1' })]);
    expect(selectReady(h.snapshot())).toBe(true);
    expect(h.roster.list().map((r) => r.userId)).toEqual(['u1', 'p1']);
  });

  it('lists the roster anyway when realtime has not connected after connectTimeout, not a millisecond earlier', async () => {
    const h = harness();
    await started(h);
    vi.advanceTimersByTime(CONNECT_TIMEOUT_MS - 1);
    expect(h.transport.callsOf('loadRoster')).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(h.transport.callsOf('loadRoster')).toHaveLength(1);
  });

  it('without a session publishes nothing, stays not ready and says sign-in is needed', async () => {
    const h = harness();
    h.send({ type: 'session.start' });
    h.transport.resolve('identify', null);
    await flush();
    expect(selectPhase(h.snapshot())).toBe('idle');
    expect(selectError(h.snapshot())).toBe(SIGN_IN_NEEDED);
    expect(selectReady(h.snapshot())).toBe(false);
    expect(h.transport.callsOf('publish')).toHaveLength(0);
    expect(h.transport.watchers).toBe(0);
  });

  it('resumes by itself when a session (e.g. a guest) arrives after a start without one', async () => {
    const h = harness();
    h.send({ type: 'session.start', options: { status: 'busy' } });
    h.transport.resolve('identify', null);
    await flush();
    h.send({ type: 'identity.changed', identity: bob });
    expect(h.transport.callsOf('identify')).toHaveLength(1);
    expect(selectMe(h.snapshot())).toBe('busy');
    expect(lastPublish(h)).toMatchObject({ userId: 'u2', status: 'busy' });
    expect(selectError(h.snapshot())).toBeNull();
  });

  it('shows the reason when finding out who is signed in fails', async () => {
    const h = harness();
    h.send({ type: 'session.start' });
    h.transport.reject('identify', new Error('Could not find out who is signed in: offline'));
    await flush();
    expect(selectPhase(h.snapshot())).toBe('idle');
    expect(selectError(h.snapshot())).toBe('Could not find out who is signed in: offline');
  });

  it('refuses bad start options with an error and stays idle', () => {
    const h = harness();
    h.send({ type: 'session.start', options: { heartbeatMs: 999 } });
    expect(selectError(h.snapshot())).toBe('heartbeatMs must be a number from 1000 to 864000000, got 999');
    h.send({ type: 'session.start', options: { status: '' } });
    expect(selectError(h.snapshot())).toBe('status must not be empty');
    expect(selectPhase(h.snapshot())).toBe('idle');
    expect(h.transport.callsOf('identify')).toHaveLength(0);
  });
});

describe('the roster load: buffer, then reconcile by updatedAt (behaviour 2)', () => {
  it('replays events that arrive during the list after it, so a delete removes a listed peer and a stale upsert changes nothing', async () => {
    const h = harness();
    await started(h);
    h.transport.emit({ type: 'transport.connected' });
    // While the list is in flight:
    h.transport.emit({ type: 'peer.deleted', peer: doc({ userId: 'p1', updatedAt: 1_500 }), serverTime: null });
    h.transport.emit({ type: 'peer.upserted', peer: doc({ userId: 'p2', status: 'online', updatedAt: 900 }), serverTime: null });
    h.transport.emit({ type: 'peer.upserted', peer: doc({ userId: 'p3', status: 'typing', updatedAt: 2_000 }), serverTime: null });
    expect(h.roster.get('p3')).toBeNull(); // buffered, not applied

    h.transport.resolve('loadRoster', {
      peers: [doc({ userId: 'p1', updatedAt: 1_000 }), doc({ userId: 'p2', status: 'busy', updatedAt: 1_000 })],
      receivedAtLocal: Date.now(),
    });
    await flush();

    expect(h.roster.get('p1')).toBeNull();
    expect(h.roster.get('p2')?.status).toBe('busy');
    expect(h.roster.get('p3')?.status).toBe('typing');
    // Once live, events apply at once.
    h.transport.emit({ type: 'peer.upserted', peer: doc({ userId: 'p2', status: 'away', updatedAt: 3_000 }), serverTime: null });
    expect(h.roster.get('p2')?.status).toBe('away');
  });

  it('re-lists on reconnect: a delete missed while offline vanishes, nobody is duplicated, ready stays true, our row is re-asserted', async () => {
    const h = harness();
    await liveAndWritten(h, undefined, [doc({ userId: 'p1' }), doc({ userId: 'p2' })]);
    const writes = publishes(h).length;

    h.transport.emit({ type: 'transport.connected' });
    expect(h.transport.callsOf('loadRoster')).toHaveLength(2);
    expect(selectReady(h.snapshot())).toBe(true);
    h.transport.resolve('loadRoster', { peers: [doc({ userId: 'p2', updatedAt: 2_000 })], receivedAtLocal: Date.now() });
    await flush();

    expect(h.roster.list().map((r) => r.userId)).toEqual(['u1', 'p2']);
    vi.advanceTimersByTime(WRITE_GAP_MS);
    expect(publishes(h)).toHaveLength(writes + 1);
    expect(lastPublish(h)?.status).toBe('online');
  });

  it('retries a failed list after connectTimeout and reports it', async () => {
    const h = harness();
    await started(h);
    h.transport.emit({ type: 'transport.connected' });
    h.transport.reject('loadRoster', new Error('HTTP 500'));
    await flush();
    expect(selectError(h.snapshot())).toBe('Could not load who is here: HTTP 500');
    vi.advanceTimersByTime(CONNECT_TIMEOUT_MS);
    expect(h.transport.callsOf('loadRoster')).toHaveLength(2);
  });
});

describe('the direct feed: others\' events skip the machine only while the roster is live (issue 12)', () => {
  /** A harness that records the peer events the session actor itself receives. */
  function observed(options: { feed?: boolean } = {}) {
    const heard: string[] = [];
    const h = harness({
      ...options,
      inspect: (e) => {
        const event = e.type === '@xstate.event' ? (e.event as SessionEvent) : null;
        if (event?.type === 'peer.upserted' || event?.type === 'peer.deleted') heard.push(`${event.type} ${event.peer.userId}`);
      },
    });
    return { h, heard };
  }

  it('while live, another person\'s event reaches the roster without a machine step; our own row\'s still takes one', async () => {
    const { h, heard } = observed();
    await liveAndWritten(h, undefined, [doc({ userId: 'p1' })]);
    expect(h.transport.feedOpen).toBe(true);
    const before = h.snapshot();

    h.transport.emit({ type: 'peer.upserted', peer: doc({ userId: 'p1', status: 'typing', updatedAt: 2_000 }), serverTime: null });
    h.transport.emit({ type: 'peer.upserted', peer: doc({ userId: 'p2', updatedAt: 2_000 }), serverTime: null });
    h.transport.emit({ type: 'peer.deleted', peer: doc({ userId: 'p2', updatedAt: 2_000 }), serverTime: null });
    expect(h.roster.get('p1')?.status).toBe('typing');
    expect(h.roster.get('p2')).toBeNull();
    expect(heard).toEqual([]);
    expect(h.snapshot()).toBe(before);

    // The event's server time still samples the clock, as `live`'s own transition does.
    const ahead = h.clock.now() + 60_000;
    h.transport.emit({ type: 'peer.upserted', peer: doc({ userId: 'p1', updatedAt: 3_000 }), serverTime: ahead });
    expect(h.clock.now()).toBeGreaterThanOrEqual(ahead);

    // Our own row's events go to the machine, which learns the row's id from them.
    h.transport.emit({ type: 'peer.upserted', peer: doc({ userId: 'u1', id: 'their-row', updatedAt: 4_000 }), serverTime: null });
    expect(heard).toEqual(['peer.upserted u1']);
    expect(h.context().presenceId).toBe('their-row');
  });

  it('while a list is in flight the feed is closed: peer events go to the machine and are buffered until the list', async () => {
    const { h, heard } = observed();
    await started(h);
    h.transport.emit({ type: 'transport.connected' });
    expect(h.transport.feedOpen).toBe(false); // loading
    h.transport.emit({ type: 'peer.upserted', peer: doc({ userId: 'p1', status: 'typing', updatedAt: 2_000 }), serverTime: null });
    expect(h.roster.get('p1')).toBeNull();
    h.transport.resolve('loadRoster', { peers: [doc({ userId: 'p1', updatedAt: 1_000 })], receivedAtLocal: Date.now() });
    await flush();
    expect(h.roster.get('p1')?.status).toBe('typing');
    expect(h.transport.feedOpen).toBe(true);

    // A reconnect re-lists: closed again for as long as that list is in flight.
    h.transport.emit({ type: 'transport.connected' });
    expect(h.transport.feedOpen).toBe(false); // resyncing
    h.transport.emit({ type: 'peer.upserted', peer: doc({ userId: 'p2', updatedAt: 3_000 }), serverTime: null });
    expect(h.roster.get('p2')).toBeNull();
    h.transport.resolve('loadRoster', { peers: [doc({ userId: 'p1', status: 'typing', updatedAt: 2_000 })], receivedAtLocal: Date.now() });
    await flush();
    expect(h.roster.get('p2')?.status).toBe('online');
    expect(heard).toEqual(['peer.upserted p1', 'peer.upserted p2']);
  });

  it('a watcher that ignores the feed still gets every peer event applied, through the machine', async () => {
    const { h, heard } = observed({ feed: false });
    await liveAndWritten(h, undefined, [doc({ userId: 'p1' })]);
    h.transport.emit({ type: 'peer.upserted', peer: doc({ userId: 'p1', status: 'typing', updatedAt: 2_000 }), serverTime: null });
    expect(h.roster.get('p1')?.status).toBe('typing');
    expect(heard).toEqual(['peer.upserted p1']);
  });
});

describe('set(): validate, show at once, coalesce (behaviours 3 and 4)', () => {
  it('shows a new status at once in me and in our own row, then writes it with our name and colour', async () => {
    const h = harness();
    await liveAndWritten(h);
    vi.advanceTimersByTime(WRITE_GAP_MS);
    h.send({ type: 'session.set', status: 'editing', metadata: { page: 'Invoice #42' } });
    expect(selectMe(h.snapshot())).toBe('editing');
    expect(h.roster.get('u1')).toMatchObject({ status: 'editing', metadata: { name: 'Ada', page: 'Invoice #42', color: colorOf('u1') } });
    expect(lastPublish(h)).toMatchObject({ status: 'editing', metadata: { name: 'Ada', color: colorOf('u1'), page: 'Invoice #42' } });
    expect(Object.keys(lastPublish(h)!.metadata)).not.toContain('email');
  });

  it('lets the person override the account name (a guest naming themselves)', async () => {
    const h = harness();
    await liveAndWritten(h);
    vi.advanceTimersByTime(WRITE_GAP_MS);
    h.send({ type: 'session.set', status: 'online', metadata: { name: 'Grace' } });
    expect(lastPublish(h)?.metadata.name).toBe('Grace');
  });

  it('refuses a bad status or metadata: error set, nothing changes, nothing is sent, no command number taken', async () => {
    const h = harness();
    await liveAndWritten(h);
    vi.advanceTimersByTime(WRITE_GAP_MS);
    const seq = selectSeq(h.snapshot());
    const writes = publishes(h).length;
    h.send({ type: 'session.set', status: 'x'.repeat(256) });
    expect(selectError(h.snapshot())).toBe('status is 256 characters; the limit is 255');
    const array: unknown = [1, 2]; // what untyped markup can pass
    h.send({ type: 'session.set', status: 'busy', metadata: array as Record<string, unknown> });
    expect(selectError(h.snapshot())).toBe('metadata must be a plain object, got an array');
    expect(selectMe(h.snapshot())).toBe('online');
    expect(selectSeq(h.snapshot())).toBe(seq);
    expect(publishes(h)).toHaveLength(writes);
  });

  it('coalesces 100 set() calls in one second into at most 5 writes, one in flight at a time, the last value winning', async () => {
    const h = harness();
    await liveAndWritten(h);
    vi.advanceTimersByTime(1_000);
    const before = publishes(h).length;
    let maxInFlight = 0;
    for (let i = 0; i < 100; i++) {
      h.send({ type: 'session.set', status: `step-${i}` });
      maxInFlight = Math.max(maxInFlight, h.transport.writesInFlight());
      if (h.transport.pending('write')) await answer(h); // a fast server
      await vi.advanceTimersByTimeAsync(10);
    }
    for (let i = 0; i < 10; i++) {
      if (h.transport.pending('write')) await answer(h);
      await vi.advanceTimersByTimeAsync(WRITE_GAP_MS);
    }
    const burst = publishes(h).slice(before);
    expect(burst.length).toBeLessThanOrEqual(5);
    expect(maxInFlight).toBe(1);
    expect(burst.at(-1)?.status).toBe('step-99');
    expect(commandOutcome(h.snapshot(), selectSeq(h.snapshot()))).toBe(true);
  });

  it('waits writeGap after one write ends before starting the next, even for a slow server', async () => {
    const h = harness();
    await started(h);
    vi.advanceTimersByTime(3_000); // a slow first write
    h.send({ type: 'session.set', status: 'busy' });
    expect(publishes(h)).toHaveLength(1);
    await answer(h);
    const endedAt = Date.now();
    vi.advanceTimersByTime(WRITE_GAP_MS - 1);
    expect(publishes(h)).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(h.transport.callsOf('publish').at(-1)?.at).toBe(endedAt + WRITE_GAP_MS);
  });

  it('reverts a failed write to the last confirmed status, sets error, and resolves the command false', async () => {
    const h = harness();
    await liveAndWritten(h);
    vi.advanceTimersByTime(WRITE_GAP_MS);
    h.send({ type: 'session.set', status: 'busy' });
    const seq = selectSeq(h.snapshot());
    expect(h.roster.get('u1')?.status).toBe('busy');
    h.transport.reject('write', new Error('network down'));
    await flush();
    expect(selectMe(h.snapshot())).toBe('online');
    expect(h.roster.get('u1')?.status).toBe('online');
    expect(selectError(h.snapshot())).toBe('Could not publish your status: network down');
    expect(commandOutcome(h.snapshot(), seq)).toBe(false);
  });

  it('does not revert a newer command when an older write fails: the newer one is written next', async () => {
    const h = harness();
    await liveAndWritten(h);
    vi.advanceTimersByTime(WRITE_GAP_MS);
    h.send({ type: 'session.set', status: 'busy' });
    h.send({ type: 'session.set', status: 'editing' });
    h.transport.reject('write', new Error('network down'));
    await flush();
    expect(selectMe(h.snapshot())).toBe('editing');
    vi.advanceTimersByTime(WRITE_GAP_MS);
    expect(lastPublish(h)?.status).toBe('editing');
  });

  it('a failed first write leaves nothing published: me is null and the status cleared', async () => {
    const h = harness();
    await started(h);
    h.transport.reject('write', new Error('403 forbidden'));
    await flush();
    expect(selectPhase(h.snapshot())).toBe('cleared');
    expect(selectMe(h.snapshot())).toBeNull();
    expect(h.roster.get('u1')).toBeNull();
  });

  it('a transient failure (5xx, network) keeps the status and retries after 1 s, 2 s, 4 s … until a write succeeds', async () => {
    const h = harness({ random: () => 1 });
    await started(h);
    h.transport.reject('write', appwriteError(500));
    await flush();
    expect(selectPhase(h.snapshot())).toBe('online');
    expect(selectMe(h.snapshot())).toBe('online');
    expect(selectError(h.snapshot())).toMatch(/Server Error \(kept; trying again in 1 s\)/);
    for (const backoff of [RETRY_FIRST_MS, 2 * RETRY_FIRST_MS, 4 * RETRY_FIRST_MS]) {
      const before = publishes(h).length;
      vi.advanceTimersByTime(backoff - 1);
      expect(publishes(h).length, `not before ${backoff} ms`).toBe(before);
      vi.advanceTimersByTime(1);
      expect(publishes(h).length, `retried after ${backoff} ms`).toBe(before + 1);
      expect(lastPublish(h)?.status).toBe('online');
      if (backoff < 4 * RETRY_FIRST_MS) {
        h.transport.reject('write', appwriteError(500));
        await flush();
      }
    }
    await answer(h);
    expect(selectError(h.snapshot())).toBeNull();
    // Success resets the backoff: the next write waits only the write gap.
    h.send({ type: 'session.set', status: 'busy' });
    vi.advanceTimersByTime(WRITE_GAP_MS);
    expect(lastPublish(h)?.status).toBe('busy');
  });

  it('the backoff never exceeds 30 s nor the heartbeat', async () => {
    expect(await retryWaits(5_000, 5)).toEqual([1_000, 2_000, 4_000, 5_000, 5_000]);
    expect(await retryWaits(120_000, 7)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, RETRY_MAX_MS, RETRY_MAX_MS]);
    expect(RETRY_MAX_MS).toBe(30_000);
  });

  it('a network failure (TypeError from fetch) is transient too; a refusal (4xx) is not', async () => {
    const h = harness();
    await liveAndWritten(h);
    vi.advanceTimersByTime(WRITE_GAP_MS);
    h.send({ type: 'session.set', status: 'busy' });
    h.transport.reject('write', new TypeError('Failed to fetch'));
    await flush();
    expect(selectMe(h.snapshot())).toBe('busy');
    h.send({ type: 'session.set', status: 'review' });
    vi.advanceTimersByTime(RETRY_FIRST_MS); // the retry carries the latest status
    h.transport.reject('write', appwriteError(400, 'Invalid `status` param'));
    await flush();
    expect(selectMe(h.snapshot())).toBe('online');
  });

  it('adopts the id of the row Appwrite already holds for us and removes that one later', async () => {
    const h = harness();
    await started(h);
    await answer(h, { id: 'existing-row' });
    expect(h.context().presenceId).toBe('existing-row');
    vi.advanceTimersByTime(WRITE_GAP_MS);
    h.send({ type: 'session.clear' });
    expect(removals(h)).toEqual([{ id: 'write', presenceId: 'existing-row' }]);
  });
});

describe('auto away (behaviour 5)', () => {
  it('publishes away while hidden and restores the chosen custom status when visible again', async () => {
    const h = harness();
    await liveAndWritten(h, { status: 'busy' });
    vi.advanceTimersByTime(WRITE_GAP_MS);
    h.send({ type: 'tab.hidden' });
    expect(selectMe(h.snapshot())).toBe(AWAY);
    expect(h.roster.get('u1')?.status).toBe(AWAY);
    expect(lastPublish(h)?.status).toBe(AWAY);
    expect(h.context().desired?.status).toBe('busy');
    await answer(h);
    vi.advanceTimersByTime(WRITE_GAP_MS);
    h.send({ type: 'tab.visible' });
    expect(selectMe(h.snapshot())).toBe('busy');
    expect(lastPublish(h)?.status).toBe('busy');
  });

  it('with auto: false never goes away by itself, yet writes the longer hidden expiry', async () => {
    const h = harness();
    await liveAndWritten(h, { auto: false, status: 'available' });
    vi.advanceTimersByTime(WRITE_GAP_MS);
    h.send({ type: 'page.hidden' }); // a hidden writer: its own page hides too (an idle visible one beats as visible)
    h.send({ type: 'tab.hidden' });
    expect(selectMe(h.snapshot())).toBe('available');
    expect(lastPublish(h)).toMatchObject({ status: 'available', expiresAt: h.clock.now() + 300_000 });
  });

  it('starting while hidden starts away', async () => {
    const h = harness();
    h.send({ type: 'tab.hidden' });
    await started(h);
    expect(selectMe(h.snapshot())).toBe(AWAY);
    expect(lastPublish(h)?.status).toBe(AWAY);
  });
});

describe('heartbeat and expiry (behaviours 6 and 7)', () => {
  async function beatAt(r: number, expected: number) {
    const h = harness({ random: () => r });
    await liveAndWritten(h);
    const after = publishes(h).length;
    vi.advanceTimersByTime(expected - 1);
    expect(publishes(h), `not at ${expected - 1} ms`).toHaveLength(after);
    vi.advanceTimersByTime(1);
    expect(publishes(h), `at ${expected} ms`).toHaveLength(after + 1);
    return h;
  }

  it('beats no earlier than 0.8 H after the last write (r = 0)', async () => {
    await beatAt(0, 0.8 * H);
  });

  it('beats no later than H after the last write (r = 1)', async () => {
    await beatAt(1, H);
  });

  it('counts the next beat from the last confirmed write, so a set() resets the timer', async () => {
    const h = harness({ random: () => 0.5 });
    await liveAndWritten(h);
    vi.advanceTimersByTime(10_000);
    h.send({ type: 'session.set', status: 'busy' });
    await answer(h);
    const writes = publishes(h).length;
    vi.advanceTimersByTime(0.9 * H - 1);
    expect(publishes(h)).toHaveLength(writes);
    vi.advanceTimersByTime(1);
    expect(publishes(h)).toHaveLength(writes + 1);
    expect(lastPublish(h)?.status).toBe('busy');
  });

  it('writes expiresAt = server now + 3 H while visible', async () => {
    const h = harness();
    await started(h);
    expect(lastPublish(h)?.expiresAt).toBe(T0 + 3 * H);
  });

  it('beats every max(H, 60 s) × (1 … 1.1) while hidden and writes a 5-minute expiry', async () => {
    for (const [r, every] of [
      [0, 60_000],
      [1, 66_000],
    ] as const) {
      const h = harness({ random: () => r });
      await liveAndWritten(h);
      vi.advanceTimersByTime(WRITE_GAP_MS);
      h.send({ type: 'page.hidden' }); // a hidden writer: its own page hides too (an idle visible one beats as visible)
      h.send({ type: 'tab.hidden' });
      expect(lastPublish(h)?.expiresAt).toBe(h.clock.now() + 300_000);
      await answer(h);
      const writes = publishes(h).length;
      vi.advanceTimersByTime(every - 1);
      expect(publishes(h)).toHaveLength(writes);
      vi.advanceTimersByTime(1);
      expect(publishes(h)).toHaveLength(writes + 1);
      h.actor.stop();
    }
  });

  it('scales the hidden expiry with a long heartbeat: max(3 H, 5 min)', async () => {
    const h = harness({ random: () => 0 });
    h.send({ type: 'page.hidden' }); // a hidden writer: its own page hides too (an idle visible one beats as visible)
    h.send({ type: 'tab.hidden' });
    await started(h, { heartbeatMs: 120_000 });
    expect(lastPublish(h)?.expiresAt).toBe(T0 + 360_000);
    await listed(h);
    await answer(h);
    const writes = publishes(h).length;
    vi.advanceTimersByTime(120_000 - 1);
    expect(publishes(h)).toHaveLength(writes);
    vi.advanceTimersByTime(1);
    expect(publishes(h)).toHaveLength(writes + 1);
  });

  it('dates expiresAt on the server clock estimated from the publish answer', async () => {
    const h = harness();
    await started(h);
    // The server's clock is a minute ahead; the answer came back at once.
    await answer(h, { updatedAt: Date.now() + 60_000 });
    expect(h.clock.offset).toBe(60_000);
    vi.advanceTimersByTime(WRITE_GAP_MS);
    h.send({ type: 'session.set', status: 'busy' });
    expect(lastPublish(h)?.expiresAt).toBe(Date.now() + 60_000 + 3 * H);
    expect(h.roster.get('u1')?.expiresAt).toBe(new Date(Date.now() + 60_000 + 3 * H).toISOString());
  });
});

describe('clear() and stop() (behaviour 11)', () => {
  it('clear deletes our row after the write in flight, me is null, watching continues', async () => {
    const h = harness();
    await started(h);
    await listed(h, [doc({ userId: 'p1' })]);
    h.send({ type: 'session.clear' });
    expect(selectMe(h.snapshot())).toBeNull();
    expect(h.roster.get('u1')).toBeNull();
    expect(removals(h)).toHaveLength(0); // the first publish is still in flight
    await answer(h);
    vi.advanceTimersByTime(WRITE_GAP_MS);
    expect(removals(h)).toEqual([{ id: 'write', presenceId: 'row-1' }]);
    await answer(h);
    expect(h.context().hasRow).toBe(false);
    expect(h.transport.watchers).toBe(1);
    expect(h.roster.get('p1')).not.toBeNull();
    expect(selectReady(h.snapshot())).toBe(true);
  });

  it('clear with no row yet settles at once and sends nothing', async () => {
    const h = harness();
    h.send({ type: 'session.start' });
    h.send({ type: 'session.clear' });
    expect(commandOutcome(h.snapshot(), selectSeq(h.snapshot()))).toBe(true);
    h.transport.resolve('identify', ada);
    await flush();
    expect(selectPhase(h.snapshot())).toBe('cleared');
    expect(publishes(h)).toHaveLength(0);
  });

  it('start() after clear() publishes again', async () => {
    const h = harness();
    await liveAndWritten(h);
    vi.advanceTimersByTime(WRITE_GAP_MS);
    h.send({ type: 'session.clear' });
    await answer(h);
    vi.advanceTimersByTime(WRITE_GAP_MS);
    h.send({ type: 'session.start' });
    expect(selectMe(h.snapshot())).toBe('online');
    expect(lastPublish(h)?.status).toBe('online');
  });

  it('stop waits for the write in flight, then removes the row the server named, then leaves nothing behind', async () => {
    const h = harness();
    await started(h);
    await listed(h, [doc({ userId: 'p1' })]);
    h.send({ type: 'session.stop' });
    expect(selectPhase(h.snapshot())).toBe('stopping');
    // me is null while stopping, and our own record leaves the roster at the same moment.
    expect(selectMe(h.snapshot())).toBeNull();
    expect(h.roster.get('u1')).toBeNull();
    expect(removals(h)).toHaveLength(0);
    expect(h.transport.watchers).toBe(0);
    await answer(h, { id: 'server-row' });
    expect(removals(h)).toEqual([{ id: 'removeRow', presenceId: 'server-row' }]);
    h.transport.resolve('removeRow');
    await flush();
    expect(selectPhase(h.snapshot())).toBe('stopped');
    expect(h.roster.list()).toEqual([]);
    expect(selectReady(h.snapshot())).toBe(false);
    expect(selectMe(h.snapshot())).toBeNull();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('stop keeps the row when another tab of the person is still open', async () => {
    const h = harness();
    await liveAndWritten(h);
    h.send({ type: 'tabs.role', leader: true, othersPresent: true });
    h.send({ type: 'session.stop' });
    expect(selectPhase(h.snapshot())).toBe('stopped');
    expect(removals(h)).toHaveLength(0);
    // ...and hands it over: this page's pagehide must not delete it later (real-Chromium test
    // "the writing page stopped, then closed").
    expect(h.context().hasRow).toBe(false);
  });

  it('stop while finding out who is signed in goes straight to stopped', async () => {
    const h = harness();
    h.send({ type: 'session.start' });
    h.send({ type: 'session.stop' });
    expect(selectPhase(h.snapshot())).toBe('stopped');
    expect(h.transport.pending('identify')).toBeUndefined();
  });

  it('start after stop works again: who is signed in is asked anew, and the status published', async () => {
    const h = harness();
    await liveAndWritten(h);
    h.send({ type: 'session.stop' });
    h.transport.resolve('removeRow');
    await flush();
    h.send({ type: 'session.start', options: { status: 'back' } });
    h.transport.resolve('identify', ada);
    await flush();
    expect(h.transport.callsOf('identify')).toHaveLength(2);
    expect(selectMe(h.snapshot())).toBe('back');
    expect(lastPublish(h)?.status).toBe('back');
  });

  it('start during stopping starts again once the write in flight settled, without deleting the row in between', async () => {
    const h = harness();
    await started(h);
    h.send({ type: 'session.stop' });
    h.send({ type: 'session.start', options: { status: 'back' } });
    await answer(h);
    expect(selectPhase(h.snapshot())).toBe('starting');
    expect(removals(h)).toHaveLength(0);
    h.transport.resolve('identify', ada);
    await flush();
    expect(lastPublish(h)?.status).toBe('back');
  });

  it('stop retries a removal lost to a 5xx after 1 s, then 2 s, and the retry\'s success clears the error', async () => {
    const h = harness();
    await liveAndWritten(h);
    h.send({ type: 'session.stop' });
    for (const [attempt, wait] of [[1, RETRY_FIRST_MS], [2, 2 * RETRY_FIRST_MS]] as const) {
      h.transport.reject('removeRow', appwriteError(500));
      await flush();
      expect(selectPhase(h.snapshot())).toBe('stopping');
      expect(selectError(h.snapshot())).toBe(`Could not remove your status: Server Error (trying again in ${wait / 1000} s)`);
      vi.advanceTimersByTime(wait - 1);
      expect(removals(h), `no retry before ${wait} ms`).toHaveLength(attempt);
      vi.advanceTimersByTime(1);
      expect(removals(h), `retried after ${wait} ms`).toHaveLength(attempt + 1);
    }
    h.transport.resolve('removeRow');
    await flush();
    expect(selectPhase(h.snapshot())).toBe('stopped');
    expect(selectError(h.snapshot())).toBeNull();
    expect(h.context().hasRow).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });

  it(`stop gives up after ${REMOVE_ATTEMPTS} transient failures, and at once on a refusal; the error stays`, async () => {
    const h = harness();
    await liveAndWritten(h);
    h.send({ type: 'session.stop' });
    for (let attempt = 1; attempt <= REMOVE_ATTEMPTS; attempt++) {
      h.transport.reject('removeRow', appwriteError(503));
      await flush();
      vi.runOnlyPendingTimers();
    }
    expect(removals(h)).toHaveLength(REMOVE_ATTEMPTS);
    expect(selectPhase(h.snapshot())).toBe('stopped');
    expect(selectError(h.snapshot())).toBe('Could not remove your status: Server Error');
    expect(h.context().hasRow).toBe(true); // the page's keepalive DELETE at pagehide still tries
    expect(vi.getTimerCount()).toBe(0);

    const refused = harness();
    await liveAndWritten(refused);
    refused.send({ type: 'session.stop' });
    refused.transport.reject('removeRow', appwriteError(401, 'Unauthorized'));
    await flush();
    expect(selectPhase(refused.snapshot())).toBe('stopped');
    expect(removals(refused)).toHaveLength(1);
  });

  it('start while a removal waits to be retried starts again at once, without deleting the row', async () => {
    const h = harness();
    await liveAndWritten(h);
    h.send({ type: 'session.stop' });
    h.transport.reject('removeRow', appwriteError(500));
    await flush();
    h.send({ type: 'session.start', options: { status: 'back' } });
    expect(selectPhase(h.snapshot())).toBe('starting');
    expect(selectError(h.snapshot())).toBeNull();
    vi.advanceTimersByTime(10 * RETRY_FIRST_MS);
    expect(removals(h)).toHaveLength(1);
    h.transport.resolve('identify', ada);
    await flush();
    expect(lastPublish(h)?.status).toBe('back');
  });

  it('set after stop is refused', async () => {
    const h = harness();
    await liveAndWritten(h);
    h.send({ type: 'session.stop' });
    h.transport.resolve('removeRow');
    await flush();
    h.send({ type: 'session.set', status: 'busy' });
    expect(selectError(h.snapshot())).toBe(NOT_RUNNING);
  });
});

describe('identity changes (behaviour 10)', () => {
  it('removes the old row, then publishes as the new person with a new row id, keeping the chosen status', async () => {
    const h = harness();
    await liveAndWritten(h, { status: 'busy' });
    h.send({ type: 'identity.changed', identity: bob });
    expect(selectPhase(h.snapshot())).toBe('switching');
    expect(removals(h)).toEqual([{ id: 'removeRow', presenceId: 'row-1' }]);
    h.transport.reject('removeRow', new Error('401 unauthorized')); // best effort
    await flush();
    expect(selectError(h.snapshot())).toBeNull();
    expect(lastPublish(h)).toMatchObject({ userId: 'u2', status: 'busy', presenceId: 'row-2', metadata: { name: null } });
    expect(h.roster.get('u1')).toBeNull();
    expect(h.roster.get('u2')?.status).toBe('busy');
    expect(h.transport.callsOf('identify')).toHaveLength(1);
  });

  it('signing out stops publishing and empties the roster; the next identity resumes tracking', async () => {
    const h = harness();
    await liveAndWritten(h);
    h.send({ type: 'identity.changed', identity: null });
    h.transport.resolve('removeRow');
    await flush();
    expect(selectPhase(h.snapshot())).toBe('idle');
    expect(h.roster.list()).toEqual([]);
    expect(h.transport.watchers).toBe(0);
    h.send({ type: 'identity.changed', identity: bob });
    expect(selectMe(h.snapshot())).toBe('online');
    expect(lastPublish(h)?.userId).toBe('u2');
  });

  it('a new name for the same person republishes without removing anything', async () => {
    const h = harness();
    await liveAndWritten(h);
    vi.advanceTimersByTime(WRITE_GAP_MS);
    h.send({ type: 'identity.changed', identity: { userId: 'u1', name: 'Ada Lovelace' } });
    expect(removals(h)).toHaveLength(0);
    expect(lastPublish(h)?.metadata.name).toBe('Ada Lovelace');
  });
});

describe('realtime drops and our row (behaviour 12)', () => {
  it('re-asserts our row when another device of the same person deleted it', async () => {
    const h = harness();
    await started(h);
    await listed(h);
    const version = h.clock.now();
    await answer(h, { updatedAt: version });
    vi.advanceTimersByTime(WRITE_GAP_MS);
    const writes = publishes(h).length;
    h.transport.emit({ type: 'peer.deleted', peer: doc({ userId: 'u1', id: 'row-1', updatedAt: version - 1_000 }), serverTime: null });
    expect(publishes(h)).toHaveLength(writes); // an older row's delete
    h.transport.emit({ type: 'peer.deleted', peer: doc({ userId: 'u1', id: 'row-1', updatedAt: version }), serverTime: null });
    expect(publishes(h)).toHaveLength(writes + 1);
    expect(h.roster.get('u1')?.status).toBe('online');
  });

  it('does not re-assert after its own clear()', async () => {
    const h = harness();
    await liveAndWritten(h);
    vi.advanceTimersByTime(WRITE_GAP_MS);
    h.send({ type: 'session.clear' });
    await answer(h);
    vi.advanceTimersByTime(WRITE_GAP_MS);
    h.transport.emit({ type: 'peer.deleted', peer: doc({ userId: 'u1', id: 'row-1', updatedAt: T0 }), serverTime: null });
    vi.advanceTimersByTime(WRITE_GAP_MS);
    expect(publishes(h)).toHaveLength(1);
  });
});

describe('teams (behaviour 13)', () => {
  it('re-scopes: deletes the row for the old audience, then re-lists, re-subscribes and republishes for the team', async () => {
    const h = harness();
    await liveAndWritten(h, undefined, [doc({ userId: 'p1' })]);
    vi.advanceTimersByTime(WRITE_GAP_MS);
    expect(h.transport.writesInFlight()).toBe(1); // the first write's lifetime was off: written again
    h.send({ type: 'team.changed', teamId: 't1' });
    expect(h.roster.get('p1')).toBeNull();
    expect(selectReady(h.snapshot())).toBe(false);
    expect(selectPhase(h.snapshot())).toBe('switching');
    // The write in flight lands first: a DELETE before it would leave the row it re-creates.
    expect(removals(h)).toEqual([]);
    await answer(h);
    // Appwrite only tells those who can read the row afterwards: the delete reaches the old audience.
    expect(removals(h)).toEqual([{ id: 'removeRow', presenceId: 'row-1' }]);
    h.transport.resolve('removeRow');
    await flush();
    expect(h.transport.watchStarts).toBe(2);
    expect(h.transport.watchInput).toEqual({ teamId: 't1' });
    expect(lastPublish(h)).toMatchObject({ teamId: 't1', metadata: { team: 't1' } });
    expect(h.roster.get('u1')?.metadata.team).toBe('t1');

    await listed(h, [doc({ userId: 'p1' }), doc({ userId: 'p2', metadata: { team: 't1' } })]);
    expect(h.transport.callsOf('loadRoster').at(-1)?.input).toEqual({ teamId: 't1' });
    expect(h.roster.list().map((r) => r.userId)).toEqual(['u1', 'p2']);
    h.transport.emit({ type: 'peer.upserted', peer: doc({ userId: 'p3', metadata: { team: 'other' } }), serverTime: null });
    expect(h.roster.get('p3')).toBeNull();
    h.transport.emit({ type: 'peer.upserted', peer: doc({ userId: 'p2', updatedAt: 2_000, metadata: { team: 'other' } }), serverTime: null });
    expect(h.roster.get('p2')).toBeNull(); // moved to another team
  });

  it('a re-scope whose DELETE meets a 5xx tries again after 1 s and 2 s, silently, then publishes for the team', async () => {
    const h = harness();
    await liveAndWritten(h);
    vi.advanceTimersByTime(WRITE_GAP_MS);
    h.send({ type: 'team.changed', teamId: 't1' });
    for (const [attempt, wait] of [[1, RETRY_FIRST_MS], [2, 2 * RETRY_FIRST_MS]] as const) {
      h.transport.reject('removeRow', appwriteError(502));
      await flush();
      expect(selectPhase(h.snapshot())).toBe('switching');
      vi.advanceTimersByTime(wait - 1);
      expect(removals(h), `no retry before ${wait} ms`).toHaveLength(attempt);
      vi.advanceTimersByTime(1);
      expect(removals(h), `retried after ${wait} ms`).toHaveLength(attempt + 1);
    }
    expect(selectError(h.snapshot())).toBeNull(); // the old audience's cleanup is not the person's error
    h.transport.resolve('removeRow');
    await flush();
    // The backoff was the old team's: the new team's first write goes out at once.
    expect(h.context().failures).toBe(0);
    expect(lastPublish(h)).toMatchObject({ teamId: 't1' });
  });

  it(`a re-scope gives up on the old row after ${REMOVE_ATTEMPTS} transient failures and goes on`, async () => {
    const h = harness();
    await liveAndWritten(h, { idleMs: 0 }); // the retry timers run, not an idle timer
    vi.advanceTimersByTime(WRITE_GAP_MS);
    h.send({ type: 'team.changed', teamId: 't1' });
    for (let attempt = 1; attempt <= REMOVE_ATTEMPTS; attempt++) {
      h.transport.reject('removeRow', new TypeError('Failed to fetch'));
      await flush();
      vi.runOnlyPendingTimers();
    }
    expect(removals(h)).toHaveLength(REMOVE_ATTEMPTS);
    expect(selectPhase(h.snapshot())).toBe('online');
    expect(lastPublish(h)).toMatchObject({ teamId: 't1' });
  });

  it('an unscoped roster keeps out records that name a team', async () => {
    const h = harness();
    await liveAndWritten(h, undefined, [doc({ userId: 'p1' }), doc({ userId: 'p2', metadata: { team: 't9' } })]);
    expect(h.roster.list().map((r) => r.userId)).toEqual(['u1', 'p1']);
    h.transport.emit({ type: 'peer.upserted', peer: doc({ userId: 'p3', metadata: { team: 't9' } }), serverTime: null });
    expect(h.roster.get('p3')).toBeNull();
  });

  it('a delete applies at the time it was published, even when its payload is an older snapshot', async () => {
    const h = harness();
    await liveAndWritten(h, undefined, [doc({ userId: 'p1', updatedAt: 5_000 })]);
    // A closing socket's delete carries that socket's last snapshot (Appwrite §5.11), older than the row.
    h.transport.emit({ type: 'peer.deleted', peer: doc({ userId: 'p1', updatedAt: 1_000 }), serverTime: 6_000 });
    expect(h.roster.get('p1')).toBeNull();
  });
});

describe('tabs: only the leader writes (behaviour 9, machine side)', () => {
  it('a follower tab writes nothing and its commands settle at once; becoming leader writes at once', async () => {
    const h = harness({ role: { leader: false, othersPresent: true } });
    await started(h);
    expect(publishes(h)).toHaveLength(0);
    h.send({ type: 'session.set', status: 'busy' });
    expect(commandOutcome(h.snapshot(), selectSeq(h.snapshot()))).toBe(true);
    expect(selectMe(h.snapshot())).toBe('busy');
    vi.advanceTimersByTime(5 * H);
    expect(publishes(h)).toHaveLength(0);

    h.send({ type: 'tabs.role', leader: true, othersPresent: false });
    expect(lastPublish(h)?.status).toBe('busy');
  });
});

describe('selectors', () => {
  it('commandOutcome is pending until the write carrying the command is answered', async () => {
    const h = harness();
    await liveAndWritten(h);
    vi.advanceTimersByTime(WRITE_GAP_MS);
    h.send({ type: 'session.set', status: 'busy' });
    const seq = selectSeq(h.snapshot());
    expect(commandOutcome(h.snapshot(), seq)).toBeUndefined();
    await answer(h);
    expect(commandOutcome(h.snapshot(), seq)).toBe(true);
  });

  it('an error reported by the facade shows as error in any state', () => {
    const h = harness();
    h.send({ type: 'session.error', message: 'start(options) takes an object' });
    expect(selectError(h.snapshot())).toBe('start(options) takes an object');
  });
});
