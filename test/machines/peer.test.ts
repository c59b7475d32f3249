import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor } from 'xstate';
import { PEER_TOMBSTONE_MS, peerMachine } from '../../src/machines/peer';
import { TOMBSTONE_MS } from '../../src/machines/roster';
import type { PeerDoc } from '../../src/transport/types';

const T0 = Date.parse('2026-08-21T10:00:00.000Z');
const TTL = 75_000;

function doc(at: number, over: Partial<PeerDoc> = {}): PeerDoc {
  return { id: 'row-u1', userId: 'u1', status: 'online', metadata: {}, updatedAt: at, expiresAt: at + TTL, ...over };
}

function start(offset = 0) {
  const clock = { now: () => Date.now() + offset };
  const actor = createActor(peerMachine, { input: { userId: 'u1', clock } }).start();
  const upsert = (peer: PeerDoc) => actor.send({ type: 'peer.upserted', peer });
  const remove = (updatedAt: number) => actor.send({ type: 'peer.deleted', peer: { userId: 'u1', updatedAt } });
  const state = () => actor.getSnapshot().value;
  return { actor, upsert, remove, state };
}

describe('peer machine', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0);
  });
  afterEach(() => vi.useRealTimers());

  it('starts absent and knows no version', () => {
    const { actor, state } = start();
    expect(state()).toBe('absent');
    expect(actor.getSnapshot().context).toMatchObject({ userId: 'u1', version: -Infinity, peer: null });
  });

  it('uses the roster’s tombstone time by default', () => {
    const { actor } = start();
    expect(PEER_TOMBSTONE_MS).toBe(TOMBSTONE_MS);
    expect(actor.getSnapshot().context.tombstoneMs).toBe(TOMBSTONE_MS);
  });

  it('is present from an upsert until its expiresAt exactly', () => {
    const { actor, upsert, state } = start();
    upsert(doc(T0));
    expect(state()).toBe('present');
    expect(actor.getSnapshot().context.peer?.status).toBe('online');
    vi.advanceTimersByTime(TTL - 1);
    expect(state()).toBe('present');
    vi.advanceTimersByTime(1);
    expect(state()).toBe('gone');
    expect(actor.getSnapshot().context).toMatchObject({ version: T0, peer: null });
  });

  it.each([600_000, -600_000])('expires on the server clock (offset %i ms)', (offset) => {
    const { upsert, state } = start(offset);
    const serverNow = T0 + offset;
    upsert(doc(serverNow, { expiresAt: serverNow + 10_000 }));
    vi.advanceTimersByTime(9_999);
    expect(state()).toBe('present');
    vi.advanceTimersByTime(1);
    expect(state()).toBe('gone');
  });

  it('pushes the expiry out on a newer upsert', () => {
    const { upsert, state } = start();
    upsert(doc(T0));
    vi.advanceTimersByTime(50_000);
    upsert(doc(T0 + 50_000, { status: 'away' }));
    vi.advanceTimersByTime(TTL - 1);
    expect(state()).toBe('present');
    vi.advanceTimersByTime(1);
    expect(state()).toBe('gone');
  });

  it('ignores a stale upsert, which neither changes the row nor moves the expiry', () => {
    const { actor, upsert, state } = start();
    upsert(doc(T0, { status: 'busy' }));
    upsert(doc(T0 - 1, { status: 'online', expiresAt: T0 + 10 * TTL }));
    expect(actor.getSnapshot().context.peer?.status).toBe('busy');
    vi.advanceTimersByTime(TTL);
    expect(state()).toBe('gone');
  });

  it('goes when deleted, ignores an older delete, and blocks the deleted row and older ones', () => {
    const { actor, upsert, remove, state } = start();
    upsert(doc(T0 + 10));
    remove(T0 + 9);
    expect(state()).toBe('present');
    remove(T0 + 10);
    expect(state()).toBe('gone');
    upsert(doc(T0 + 10));
    upsert(doc(T0 + 2));
    expect(state()).toBe('gone');
    remove(T0 + 5);
    expect(actor.getSnapshot().context.version).toBe(T0 + 10);
    upsert(doc(T0 + 11));
    expect(state()).toBe('present');
  });

  it('does not enter for a row already expired on arrival, but remembers its version', () => {
    const { actor, upsert, state } = start();
    upsert(doc(T0 - TTL));
    expect(state()).toBe('gone');
    expect(actor.getSnapshot().context.version).toBe(T0 - TTL);
    upsert(doc(T0 - TTL - 1, { expiresAt: null }));
    expect(state()).toBe('gone');
  });

  it('leaves when a newer row arrives already expired', () => {
    const { upsert, state } = start();
    upsert(doc(T0 - 20_000, { expiresAt: T0 + 300_000 }));
    upsert(doc(T0 - 10_000, { expiresAt: T0 }));
    expect(state()).toBe('gone');
  });

  it('forgets a tombstone after tombstoneMs', () => {
    const { actor, remove, upsert, state } = start();
    remove(T0 + 10);
    vi.advanceTimersByTime(TOMBSTONE_MS - 1);
    upsert(doc(T0, { expiresAt: null }));
    expect(state()).toBe('gone');
    vi.advanceTimersByTime(1);
    expect(state()).toBe('absent');
    expect(actor.getSnapshot().context.version).toBe(-Infinity);
    upsert(doc(T0, { expiresAt: null }));
    expect(state()).toBe('present');
  });

  it('restarts the tombstone time on a newer delete', () => {
    const { remove, state } = start();
    remove(T0);
    vi.advanceTimersByTime(TOMBSTONE_MS - 1);
    remove(T0 + 1);
    vi.advanceTimersByTime(TOMBSTONE_MS - 1);
    expect(state()).toBe('gone');
    vi.advanceTimersByTime(1);
    expect(state()).toBe('absent');
  });

  it('stays present without expiresAt, and holds a 30-day expiry beyond setTimeout’s range', () => {
    const { upsert, state } = start();
    const month = 30 * 24 * 3_600_000;
    upsert(doc(T0, { expiresAt: null }));
    vi.advanceTimersByTime(month);
    expect(state()).toBe('present');
    upsert(doc(T0 + 1, { expiresAt: Date.now() + month }));
    vi.advanceTimersByTime(month - 1);
    expect(state()).toBe('present');
    vi.advanceTimersByTime(1);
    expect(state()).toBe('gone');
  });

  it('leaves no timer behind when stopped', () => {
    const { actor, upsert } = start();
    upsert(doc(T0));
    expect(vi.getTimerCount()).toBe(1);
    actor.stop();
    expect(vi.getTimerCount()).toBe(0);
  });
});
