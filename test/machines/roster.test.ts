import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ServerClock } from '../../src/machines/clock';
import { MAX_TOMBSTONES, Roster, TOMBSTONE_MS, type RosterOptions } from '../../src/machines/roster';
import { colorOf } from '../../src/records';
import type { PeerDoc } from '../../src/transport/types';

const T0 = Date.parse('2026-08-21T10:00:00.000Z');
const TTL = 75_000;

/** A fresh doc each call; `at` is its updatedAt, expiring TTL later unless told. */
function doc(userId: string, at: number, over: Partial<PeerDoc> = {}): PeerDoc {
  return { id: `row-${userId}`, userId, status: 'online', metadata: {}, updatedAt: at, expiresAt: at + TTL, ...over };
}

const localClock = { now: () => Date.now() };

function setup(options: Partial<RosterOptions> = {}) {
  const onChange = vi.fn();
  const roster = new Roster({ clock: localClock, onChange, ...options });
  const ids = () => roster.list().map((r) => r.userId);
  return { roster, onChange, ids };
}

describe('Roster', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0);
  });
  afterEach(() => vi.useRealTimers());

  describe('records', () => {
    it('turns a doc into the public record: colour from the userId, name and color in metadata', () => {
      const { roster } = setup();
      roster.upsert(doc('u1', T0, { status: 'editing', metadata: { name: 'Ada', page: 'Invoice #42' } }));
      expect(roster.get('u1')).toEqual({
        userId: 'u1',
        status: 'editing',
        metadata: { name: 'Ada', page: 'Invoice #42', color: colorOf('u1') },
        color: colorOf('u1'),
        lastSeen: T0,
        expiresAt: new Date(T0 + TTL).toISOString(),
      });
    });

    it('never takes a colour from the wire and makes a non-string name null', () => {
      const { roster } = setup();
      roster.upsert(doc('u1', T0, { metadata: { color: 'url(javascript:alert(1))', name: 42 }, expiresAt: null }));
      const record = roster.get('u1');
      expect(record?.color).toBe(colorOf('u1'));
      expect(record?.metadata).toEqual({ color: colorOf('u1'), name: null });
      expect(record?.expiresAt).toBeNull();
    });

    it('returns null for someone absent', () => {
      const { roster } = setup();
      expect(roster.get('nobody')).toBeNull();
      expect(roster.get(42 as unknown as string)).toBeNull();
    });
  });

  describe('ordering by updatedAt', () => {
    it('ignores a stale upsert', () => {
      const { roster, onChange } = setup();
      roster.upsert(doc('u1', T0 + 10, { status: 'busy' }));
      expect(roster.upsert(doc('u1', T0 + 5, { status: 'online' }))).toBe(false);
      expect(roster.get('u1')?.status).toBe('busy');
      expect(onChange).toHaveBeenCalledTimes(1);
      expect(roster.version).toBe(1);
    });

    it('treats an equal-timestamp duplicate as a no-op, and a different row at the same time as the latest', () => {
      const { roster, onChange } = setup();
      roster.upsert(doc('u1', T0, { metadata: { page: { id: 1 } } }));
      const before = roster.list();
      expect(roster.upsert(doc('u1', T0, { metadata: { page: { id: 1 } } }))).toBe(false);
      expect(roster.list()).toBe(before);
      expect(onChange).toHaveBeenCalledTimes(1);
      expect(roster.upsert(doc('u1', T0, { status: 'busy', metadata: { page: { id: 1 } } }))).toBe(true);
      expect(roster.get('u1')?.status).toBe('busy');
      expect(roster.version).toBe(2);
    });

    it('applies a newer upsert and moves lastSeen', () => {
      const { roster } = setup();
      roster.upsert(doc('u1', T0));
      expect(roster.upsert(doc('u1', T0 + 1, { status: 'away' }))).toBe(true);
      expect(roster.get('u1')).toMatchObject({ status: 'away', lastSeen: T0 + 1 });
    });
  });

  describe('remove and tombstones', () => {
    it('removes when the delete is not older than the held row, and ignores an older delete', () => {
      const { roster } = setup();
      roster.upsert(doc('u1', T0 + 10));
      expect(roster.remove({ userId: 'u1', updatedAt: T0 + 9 })).toBe(false);
      expect(roster.get('u1')).not.toBeNull();
      expect(roster.remove({ userId: 'u1', updatedAt: T0 + 10 })).toBe(true);
      expect(roster.get('u1')).toBeNull();
      expect(roster.size).toBe(0);
    });

    it('keeps a stale or replayed upsert from resurrecting a removed peer, but lets a newer one back in', () => {
      const { roster, onChange } = setup();
      roster.upsert(doc('u1', T0 + 10));
      roster.remove({ userId: 'u1', updatedAt: T0 + 10 });
      expect(roster.upsert(doc('u1', T0 + 10))).toBe(false); // the deleted row itself, replayed
      expect(roster.upsert(doc('u1', T0 + 3))).toBe(false);
      expect(roster.get('u1')).toBeNull();
      expect(onChange).toHaveBeenCalledTimes(2);
      expect(roster.upsert(doc('u1', T0 + 11))).toBe(true);
      expect(roster.get('u1')?.lastSeen).toBe(T0 + 11);
    });

    it('tombstones a delete for someone never seen, so the row it deleted cannot arrive afterwards', () => {
      const { roster, onChange } = setup();
      expect(roster.remove({ userId: 'u1', updatedAt: T0 + 10 })).toBe(false);
      expect(roster.upsert(doc('u1', T0 + 10))).toBe(false);
      expect(onChange).not.toHaveBeenCalled();
    });

    it('forgets a tombstone after TOMBSTONE_MS', () => {
      const { roster } = setup();
      roster.remove({ userId: 'u1', updatedAt: T0 + 10 });
      vi.advanceTimersByTime(TOMBSTONE_MS - 1);
      expect(roster.upsert(doc('u1', T0 + 5, { expiresAt: null }))).toBe(false);
      vi.advanceTimersByTime(1);
      expect(roster.upsert(doc('u1', T0 + 5, { expiresAt: null }))).toBe(true);
    });

    it(`keeps at most ${MAX_TOMBSTONES} tombstones, dropping the oldest`, () => {
      const { roster } = setup();
      for (let i = 0; i < MAX_TOMBSTONES; i++) roster.remove({ userId: `u${i}`, updatedAt: T0 + 10 });
      expect(roster.upsert(doc('u0', T0 + 5))).toBe(false); // all still held at the cap
      roster.remove({ userId: 'u0', updatedAt: T0 + 10 }); // u0 becomes the newest again
      roster.remove({ userId: 'over', updatedAt: T0 + 10 }); // one past the cap: the oldest eighth goes
      // 10 001 held, 8 750 kept: u1 … u1251, the oldest, are forgotten.
      const dropped = MAX_TOMBSTONES + 1 - (MAX_TOMBSTONES - MAX_TOMBSTONES / 8);
      expect(roster.upsert(doc('u1', T0 + 5))).toBe(true);
      expect(roster.upsert(doc(`u${dropped}`, T0 + 5))).toBe(true);
      expect(roster.upsert(doc(`u${dropped + 1}`, T0 + 5))).toBe(false);
      expect(roster.upsert(doc('u0', T0 + 5))).toBe(false);
      expect(roster.upsert(doc('over', T0 + 5))).toBe(false);
    });
  });

  describe('reset', () => {
    it('replaces the server view: missing peers vanish, duplicates collapse to the newest, one change', () => {
      const { roster, onChange, ids } = setup();
      roster.upsert(doc('gone', T0));
      roster.upsert(doc('stays', T0));
      onChange.mockClear();
      roster.reset([doc('stays', T0 + 5, { status: 'busy' }), doc('new', T0 + 2), doc('new', T0 + 1, { status: 'old' })]);
      expect(ids()).toEqual(['stays', 'new']);
      expect(roster.get('stays')?.status).toBe('busy');
      expect(roster.get('new')?.lastSeen).toBe(T0 + 2);
      expect(onChange).toHaveBeenCalledTimes(1);
    });

    it('does nothing visible when the list matches what we hold', () => {
      const { roster, onChange } = setup();
      roster.upsert(doc('u1', T0));
      const version = roster.version;
      roster.reset([doc('u1', T0)]);
      expect(roster.version).toBe(version);
      expect(onChange).toHaveBeenCalledTimes(1);
    });

    it('keeps a held row newer than the listed one, and lets tombstones block listed rows they buried', () => {
      const { roster } = setup();
      roster.upsert(doc('newer', T0 + 10, { status: 'busy' }));
      roster.upsert(doc('deleted', T0));
      roster.remove({ userId: 'deleted', updatedAt: T0 });
      roster.reset([doc('newer', T0 + 5), doc('deleted', T0)]);
      expect(roster.get('newer')?.status).toBe('busy');
      expect(roster.get('deleted')).toBeNull();
    });

    it('leaves a tombstone for a peer the list dropped, at the row we held', () => {
      const { roster } = setup();
      roster.upsert(doc('u1', T0));
      roster.reset([]);
      expect(roster.upsert(doc('u1', T0))).toBe(false);
      expect(roster.upsert(doc('u1', T0 + 1))).toBe(true);
    });

    it('leaves out rows that are already expired and docs that are malformed', () => {
      const { roster, ids } = setup();
      roster.reset([doc('late', T0 - TTL), { userId: 7 } as unknown as PeerDoc, doc('ok', T0)]);
      expect(ids()).toEqual(['ok']);
    });

    // The session's load: the list request goes out, peer events are buffered until it returns,
    // then reset(list) and the buffer replays in arrival order.
    describe('then the buffered events replay', () => {
      const replay = (roster: Roster, events: Array<['upsert', PeerDoc] | ['remove', PeerDoc]>) => {
        for (const [kind, peer] of events) (kind === 'upsert' ? roster.upsert(peer) : roster.remove(peer));
      };

      it('someone who joined after the server took the list appears', () => {
        const { roster, ids } = setup();
        roster.reset([doc('a', T0)]);
        replay(roster, [['upsert', doc('b', T0 + 5)]]);
        expect(ids()).toEqual(['a', 'b']);
      });

      it('someone who joined before the server took the list is there once', () => {
        const { roster, ids } = setup();
        roster.reset([doc('a', T0), doc('b', T0 + 5)]);
        replay(roster, [['upsert', doc('b', T0 + 5)]]);
        expect(ids()).toEqual(['a', 'b']);
      });

      it('someone listed who left while the list was in flight is gone', () => {
        const { roster, ids } = setup();
        roster.upsert(doc('a', T0 - 5));
        roster.reset([doc('a', T0 - 5), doc('b', T0)]);
        replay(roster, [['remove', doc('a', T0 - 5)]]);
        expect(ids()).toEqual(['b']);
      });

      it('someone who came and went entirely inside the window never shows', () => {
        const { roster, ids, onChange } = setup();
        roster.reset([doc('b', T0)]);
        replay(roster, [
          ['upsert', doc('a', T0 + 1)],
          ['remove', doc('a', T0 + 1)],
          ['upsert', doc('a', T0 + 1)], // a late duplicate of the deleted row
        ]);
        expect(ids()).toEqual(['b']);
        expect(onChange).toHaveBeenCalledTimes(3);
      });

      it('an update older than the listed row is ignored; a newer one applies', () => {
        const { roster } = setup();
        roster.reset([doc('a', T0 + 10, { status: 'busy' })]);
        replay(roster, [['upsert', doc('a', T0 + 5, { status: 'online' })]]);
        expect(roster.get('a')?.status).toBe('busy');
        replay(roster, [['upsert', doc('a', T0 + 15, { status: 'away' })]]);
        expect(roster.get('a')?.status).toBe('away');
      });

      it('a peer dropped by the list who re-published after it is back; a delete of the older row does not hide them', () => {
        const { roster, ids } = setup();
        roster.upsert(doc('a', T0));
        roster.reset([]);
        replay(roster, [
          ['remove', doc('a', T0)],
          ['upsert', doc('a', T0 + 20)],
          ['remove', doc('a', T0)],
        ]);
        expect(ids()).toEqual(['a']);
      });
    });
  });

  describe('expiry', () => {
    it('drops a peer at its expiresAt exactly, with no delete event, and notifies', () => {
      const { roster, onChange } = setup();
      roster.upsert(doc('u1', T0));
      onChange.mockClear();
      vi.advanceTimersByTime(TTL - 1);
      expect(roster.get('u1')).not.toBeNull();
      expect(onChange).not.toHaveBeenCalled();
      vi.advanceTimersByTime(1);
      expect(roster.get('u1')).toBeNull();
      expect(onChange).toHaveBeenCalledTimes(1);
      expect(vi.getTimerCount()).toBe(0);
    });

    it.each([
      ['ahead', 600_000],
      ['behind', -600_000],
    ])('expires at the right server moment with the server clock ten minutes %s', (_, offset) => {
      const clock = new ServerClock();
      clock.sampleRoundTrip(T0 + offset, T0, T0);
      const { roster } = setup({ clock });
      const serverNow = T0 + offset;
      roster.upsert(doc('u1', serverNow, { expiresAt: serverNow + 30_000 }));
      vi.advanceTimersByTime(29_999);
      expect(roster.size).toBe(1);
      vi.advanceTimersByTime(1);
      expect(roster.size).toBe(0);
      expect(clock.now()).toBe(serverNow + 30_000);
    });

    it('does not add a doc that has already expired on arrival', () => {
      const { roster, onChange } = setup();
      expect(roster.upsert(doc('u1', T0 - TTL))).toBe(false);
      expect(roster.upsert(doc('u2', T0 - 10, { expiresAt: T0 }))).toBe(false);
      expect(roster.size).toBe(0);
      expect(onChange).not.toHaveBeenCalled();
      expect(vi.getTimerCount()).toBe(0);
    });

    it('removes a present peer whose newer row arrives already expired, and blocks its older rows', () => {
      const { roster } = setup();
      roster.upsert(doc('u1', T0 - 20_000, { expiresAt: T0 + 300_000 })); // hidden: a long expiry
      expect(roster.upsert(doc('u1', T0 - 10_000, { expiresAt: T0 }))).toBe(true);
      expect(roster.size).toBe(0);
      expect(roster.upsert(doc('u1', T0 - 20_000, { expiresAt: T0 + 300_000 }))).toBe(false);
    });

    it('keeps one timer; a refresh that moves the expiry later does not rearm it, the timer re-checks', () => {
      const { roster, onChange } = setup();
      const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
      roster.upsert(doc('a', T0));
      roster.upsert(doc('b', T0 + 10));
      expect(setTimeoutSpy).toHaveBeenCalledTimes(1);
      vi.advanceTimersByTime(50_000);
      roster.upsert(doc('a', T0 + 50_000)); // a now expires at T0 + 125 000
      expect(setTimeoutSpy).toHaveBeenCalledTimes(1);
      expect(vi.getTimerCount()).toBe(1);
      onChange.mockClear();
      vi.advanceTimersByTime(25_000); // the old timer fires at T0 + 75 000: nobody due, rearm for b
      expect(roster.list().map((r) => r.userId)).toEqual(['a', 'b']);
      expect(onChange).not.toHaveBeenCalled();
      expect(setTimeoutSpy).toHaveBeenCalledTimes(2);
      vi.advanceTimersByTime(10);
      expect(roster.list().map((r) => r.userId)).toEqual(['a']);
      vi.advanceTimersByTime(50_000);
      expect(roster.size).toBe(0);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('rearms for a new expiry earlier than the armed one', () => {
      const { roster } = setup();
      roster.upsert(doc('slow', T0, { expiresAt: T0 + 300_000 }));
      roster.upsert(doc('fast', T0, { expiresAt: T0 + 1_000 }));
      expect(vi.getTimerCount()).toBe(1);
      vi.advanceTimersByTime(999);
      expect(roster.get('fast')).not.toBeNull();
      vi.advanceTimersByTime(1);
      expect(roster.get('fast')).toBeNull();
      expect(roster.get('slow')).not.toBeNull();
    });

    it('after sleep (timers five minutes late), drops everyone due at once with one change', () => {
      const { roster, onChange, ids } = setup();
      roster.upsert(doc('a', T0, { expiresAt: T0 + 10_000 }));
      roster.upsert(doc('b', T0, { expiresAt: T0 + 20_000 }));
      roster.upsert(doc('c', T0, { expiresAt: T0 + 400_000 }));
      onChange.mockClear();
      vi.setSystemTime(T0 + 300_000); // the wall clock moved; pending timers did not fire
      expect(ids()).toEqual(['a', 'b', 'c']);
      vi.advanceTimersByTime(10_000); // the late timer finally runs
      expect(ids()).toEqual(['c']);
      expect(onChange).toHaveBeenCalledTimes(1);
    });

    it('after sleep, an event that arrives before the late timer settles what is due first', () => {
      const { roster, onChange, ids } = setup();
      roster.upsert(doc('a', T0, { expiresAt: T0 + 10_000 }));
      onChange.mockClear();
      vi.setSystemTime(T0 + 300_000);
      expect(roster.upsert(doc('b', T0 + 300_000))).toBe(true);
      expect(ids()).toEqual(['b']);
      expect(onChange).toHaveBeenCalledTimes(1);
      expect(vi.getTimerCount()).toBe(1);
    });

    it('holds an expiry beyond what setTimeout can take (30 days) without firing early', () => {
      const { roster } = setup();
      const month = 30 * 24 * 3_600_000;
      roster.upsert(doc('u1', T0, { expiresAt: T0 + month }));
      vi.advanceTimersByTime(month - 1);
      expect(roster.size).toBe(1);
      vi.advanceTimersByTime(1);
      expect(roster.size).toBe(0);
    });

    it('never expires a row without expiresAt', () => {
      const { roster } = setup();
      roster.upsert(doc('u1', T0, { expiresAt: null }));
      expect(vi.getTimerCount()).toBe(0);
      vi.advanceTimersByTime(365 * 24 * 3_600_000);
      expect(roster.size).toBe(1);
    });
  });

  describe('scope', () => {
    const team = (t: string) => (d: PeerDoc) => d.metadata.team === t;

    it('keeps out-of-scope docs out, and removes a peer whose newer row leaves the scope', () => {
      const { roster, ids } = setup({ scope: team('t1') });
      expect(roster.upsert(doc('other', T0, { metadata: { team: 't2' } }))).toBe(false);
      roster.upsert(doc('u1', T0, { metadata: { team: 't1' } }));
      expect(ids()).toEqual(['u1']);
      expect(roster.upsert(doc('u1', T0 + 1, { metadata: { team: 't2' } }))).toBe(true);
      expect(ids()).toEqual([]);
      // The older in-scope row, arriving late, does not bring them back.
      expect(roster.upsert(doc('u1', T0, { metadata: { team: 't1' } }))).toBe(false);
      expect(roster.upsert(doc('u1', T0 + 2, { metadata: { team: 't1' } }))).toBe(true);
    });

    it('ignores an out-of-scope row older than the in-scope one we hold', () => {
      const { roster } = setup({ scope: team('t1') });
      roster.upsert(doc('u1', T0 + 5, { metadata: { team: 't1' } }));
      expect(roster.upsert(doc('u1', T0, { metadata: { team: 't2' } }))).toBe(false);
      expect(roster.size).toBe(1);
    });

    it('applies to reset too', () => {
      const { roster, ids } = setup({ scope: team('t1') });
      roster.reset([doc('a', T0, { metadata: { team: 't1' } }), doc('b', T0, { metadata: { team: 't2' } })]);
      expect(ids()).toEqual(['a']);
    });
  });

  describe('self overlay', () => {
    const mine = { status: 'busy', metadata: { name: 'Me' }, lastSeen: T0, expiresAt: T0 + 5_000 };

    it('shows our record first instead of the server row, and never expires it', () => {
      const { roster, ids, onChange } = setup();
      roster.upsert(doc('peer', T0));
      roster.upsert(doc('me', T0, { status: 'online', expiresAt: T0 + 1_000 }));
      onChange.mockClear();
      roster.setSelf('me', mine);
      expect(onChange).toHaveBeenCalledTimes(1);
      expect(ids()).toEqual(['me', 'peer']);
      expect(roster.size).toBe(2);
      expect(roster.get('me')).toEqual({
        userId: 'me',
        status: 'busy',
        metadata: { name: 'Me', color: colorOf('me') },
        color: colorOf('me'),
        lastSeen: T0,
        expiresAt: new Date(T0 + 5_000).toISOString(),
      });
      vi.advanceTimersByTime(60_000); // past both our overlay's and our server row's expiresAt
      expect(roster.get('me')?.status).toBe('busy');
      expect(onChange).toHaveBeenCalledTimes(1); // only the setSelf above
    });

    it('hides self with null and falls back to the server row with undefined', () => {
      const { roster, ids } = setup();
      roster.upsert(doc('me', T0, { status: 'online' }));
      roster.setSelf('me', mine);
      roster.setSelf('me', null);
      expect(ids()).toEqual([]);
      expect(roster.get('me')).toBeNull();
      expect(roster.size).toBe(0);
      roster.setSelf('me', undefined);
      expect(roster.get('me')?.status).toBe('online');
      expect(roster.size).toBe(1);
    });

    it('does not report changes to our server row while overlaid', () => {
      const { roster, onChange } = setup();
      roster.setSelf('me', mine);
      onChange.mockClear();
      expect(roster.upsert(doc('me', T0))).toBe(false);
      expect(roster.remove({ userId: 'me', updatedAt: T0 })).toBe(false);
      expect(onChange).not.toHaveBeenCalled();
    });

    it('bumps the version only when the overlay really changes', () => {
      const { roster } = setup();
      roster.setSelf('me', mine);
      const version = roster.version;
      roster.setSelf('me', { ...mine, metadata: { name: 'Me' } });
      expect(roster.version).toBe(version);
      roster.setSelf('me', { ...mine, status: 'away' });
      expect(roster.version).toBe(version + 1);
      roster.setSelf('someone-else', undefined);
      expect(roster.version).toBe(version + 2);
      expect(roster.size).toBe(0);
    });

    it('ignores a malformed overlay', () => {
      const { roster } = setup();
      roster.setSelf('me', { status: 3 } as unknown as typeof mine);
      expect(roster.size).toBe(0);
      expect(roster.version).toBe(0);
    });
  });

  describe('keys from the wire', () => {
    it.each(['__proto__', 'constructor', 'hasOwnProperty', 'toString'])('handles a userId of %s', (userId) => {
      const { roster } = setup();
      roster.upsert(doc(userId, T0, { status: 'here' }));
      const records = roster.records();
      expect(Object.getPrototypeOf(records)).toBeNull();
      expect(Object.keys(records)).toEqual([userId]);
      expect(records[userId]?.status).toBe('here');
      expect(roster.get(userId)?.status).toBe('here');
      expect(roster.remove({ userId, updatedAt: T0 })).toBe(true);
      expect(Object.keys(roster.records())).toEqual([]);
      expect(roster.get(userId)).toBeNull();
    });

    it('keeps a __proto__ key inside metadata as plain data', () => {
      const { roster } = setup();
      const metadata = JSON.parse('{"__proto__": {"polluted": true}, "page": 1}') as Record<string, unknown>;
      roster.upsert(doc('u1', T0, { metadata }));
      const record = roster.get('u1');
      expect(record?.metadata.page).toBe(1);
      expect(Object.getPrototypeOf(record?.metadata)).toBe(Object.prototype);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it.each([
      ['a null', null],
      ['a number', 42],
      ['a non-string userId', { ...doc('x', T0), userId: 7 }],
      ['an empty userId', { ...doc('x', T0), userId: '' }],
      ['a non-string status', { ...doc('x', T0), status: null }],
      ['a NaN updatedAt', { ...doc('x', T0), updatedAt: Number.NaN }],
      ['an updatedAt out of Date range', { ...doc('x', T0), updatedAt: 1e300 }],
      ['a string expiresAt', { ...doc('x', T0), expiresAt: '2026-01-01' }],
      ['array metadata', { ...doc('x', T0), metadata: [1] }],
      ['missing metadata', { ...doc('x', T0), metadata: undefined }],
    ])('ignores %s without throwing', (_, bad) => {
      const { roster, onChange } = setup();
      expect(roster.upsert(bad as PeerDoc)).toBe(false);
      expect(roster.remove(bad as PeerDoc)).toBe(false);
      expect(roster.size).toBe(0);
      expect(onChange).not.toHaveBeenCalled();
    });

    it('ignores a reset that is not an array', () => {
      const { roster } = setup();
      roster.upsert(doc('u1', T0));
      roster.reset(null as unknown as PeerDoc[]);
      expect(roster.size).toBe(1);
    });
  });

  describe('reading', () => {
    it('returns the same list and records objects until a visible change', () => {
      const { roster } = setup();
      roster.upsert(doc('a', T0));
      roster.upsert(doc('b', T0));
      const list = roster.list();
      const records = roster.records();
      expect(roster.list()).toBe(list);
      expect(roster.records()).toBe(records);
      roster.upsert(doc('a', T0 - 1)); // stale: nothing visible
      expect(roster.list()).toBe(list);
      roster.upsert(doc('a', T0 + 1, { status: 'away' }));
      const next = roster.list();
      expect(next).not.toBe(list);
      expect(roster.records()).not.toBe(records);
      // The untouched person keeps the very same record object.
      expect(next[1]).toBe(list[1]);
      expect(next[0]).not.toBe(list[0]);
      expect(roster.records().b).toBe(records.b);
    });

    it('notifies synchronously after each visible change, and only then', () => {
      const seen: number[] = [];
      const roster: Roster = new Roster({ clock: localClock, onChange: () => seen.push(roster.size) });
      roster.upsert(doc('a', T0));
      roster.upsert(doc('b', T0));
      roster.upsert(doc('b', T0 - 5));
      roster.remove({ userId: 'a', updatedAt: T0 });
      roster.remove({ userId: 'a', updatedAt: T0 });
      expect(seen).toEqual([1, 2, 1]);
      expect(roster.version).toBe(3);
    });
  });

  describe('clear', () => {
    it('forgets everyone, tombstones included, and leaves no timer behind', () => {
      const { roster, onChange } = setup();
      roster.upsert(doc('a', T0));
      roster.remove({ userId: 'b', updatedAt: T0 + 10 });
      roster.setSelf('me', { status: 'online', metadata: {}, lastSeen: T0, expiresAt: null });
      expect(vi.getTimerCount()).toBe(1);
      onChange.mockClear();
      roster.clear();
      expect(vi.getTimerCount()).toBe(0);
      expect(roster.list()).toEqual([]);
      expect(roster.size).toBe(0);
      expect(onChange).toHaveBeenCalledTimes(1);
      expect(roster.upsert(doc('b', T0 + 5))).toBe(true);
    });

    it('stays quiet when there was nothing to show', () => {
      const { roster, onChange } = setup();
      roster.clear();
      expect(onChange).not.toHaveBeenCalled();
    });
  });
});
