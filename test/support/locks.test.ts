import { describe, expect, it } from 'vitest';
import { MemoryLockManager } from './locks';

/** A promise and the function that settles it: the lock callback's "held until". */
function gate() {
  let open = () => {};
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

const names = (list: { name: string }[]) => list.map((lock) => lock.name);

describe('MemoryLockManager (Web Locks, exclusive)', () => {
  it('holds a lock until the callback’s promise settles, then grants the queue in order', async () => {
    const locks = new MemoryLockManager();
    const order: string[] = [];
    const first = gate();
    const a = locks.request('x', {}, async () => {
      order.push('a');
      await first.promise;
      return 'a done';
    });
    const b = locks.request('x', {}, () => order.push('b'));
    const c = locks.request('x', {}, () => order.push('c'));
    await Promise.resolve();
    await Promise.resolve();
    expect(order).toEqual(['a']);
    expect(await locks.query()).toMatchObject({ held: [{ name: 'x' }], pending: [{ name: 'x' }, { name: 'x' }] });
    first.open();
    expect(await a).toBe('a done');
    await Promise.all([b, c]);
    expect(order).toEqual(['a', 'b', 'c']);
    expect(await locks.query()).toEqual({ held: [], pending: [] });
  });

  it('calls the callback in a later microtask, never inside request()', () => {
    const locks = new MemoryLockManager();
    let called = false;
    void locks.request('x', () => (called = true));
    expect(called).toBe(false);
  });

  it('ifAvailable calls back with null while the lock is held, and grants it when free', async () => {
    const locks = new MemoryLockManager();
    const held = gate();
    void locks.request('x', () => held.promise);
    expect(await locks.request('x', { ifAvailable: true }, (lock) => lock)).toBeNull();
    expect(await locks.request('y', { ifAvailable: true }, (lock) => lock)).toEqual({ name: 'y', mode: 'exclusive' });
    held.open();
    await held.promise;
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(await locks.request('x', { ifAvailable: true }, (lock) => lock?.name)).toBe('x');
  });

  it('an aborted signal removes a queued request and rejects it with an AbortError; a granted one is unaffected', async () => {
    const locks = new MemoryLockManager();
    const held = gate();
    const holder = new AbortController();
    const holding = locks.request('x', { signal: holder.signal }, () => held.promise);
    const waiter = new AbortController();
    const queued = locks.request('x', { signal: waiter.signal }, () => 'never');
    await Promise.resolve();
    expect(names((await locks.query()).pending)).toEqual(['x']);
    waiter.abort();
    await expect(queued).rejects.toMatchObject({ name: 'AbortError' });
    expect((await locks.query()).pending).toEqual([]);
    holder.abort(); // granted already: still held until the callback settles
    expect(names((await locks.query()).held)).toEqual(['x']);
    held.open();
    await holding;
    await expect(locks.request('x', { signal: waiter.signal }, () => 'late')).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('a callback that throws rejects its request and releases the lock', async () => {
    const locks = new MemoryLockManager();
    await expect(
      locks.request('x', () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await locks.request('x', { ifAvailable: true }, (lock) => lock !== null)).toBe(true);
  });

  it('tabs sharing one browser’s locks see each other in query(), by client id', async () => {
    const browser = new MemoryLockManager();
    const tab1 = browser.forClient('tab-1');
    const tab2 = browser.forClient('tab-2');
    const held = gate();
    void tab1.request('x', () => held.promise);
    void tab2.request('x', () => undefined);
    await Promise.resolve();
    const snapshot = await browser.query();
    expect(snapshot.held).toEqual([{ name: 'x', mode: 'exclusive', clientId: 'tab-1' }]);
    expect(snapshot.pending).toEqual([{ name: 'x', mode: 'exclusive', clientId: 'tab-2' }]);
    held.open();
  });
});
