/**
 * The actors' edges that a well-behaved server never produces (malformed rows and frames, a
 * server that ignores the cursor, socket errors) and the exact timing of `transport.connected`,
 * with the SDK's classes replaced through the injected `sdk` namespace (the seam the CDN build
 * uses too) and fake time. The happy paths run against the real emulator in the integration file.
 */
import * as Appwrite from 'appwrite';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor, setup, toPromise } from 'xstate';
import { createAppwriteTransport, ROSTER_PAGE_SIZE, type AppwriteSdk } from '../../src/transport/appwrite';
import type { FeedCommand, TransportEvent } from '../../src/transport/types';

const UPDATED = '2026-08-21T10:05:00.000+00:00';
const row = (id: string, extra: Record<string, unknown> = {}) => ({
  $id: id,
  userId: `user-${id}`,
  status: 'online',
  $updatedAt: UPDATED,
  expiresAt: null,
  metadata: {},
  ...extra,
});

type Callback = Parameters<Appwrite.Realtime['subscribe']>[1];

/** A Realtime double that lets a test play the socket's life: open, frames, close, errors. */
class ScriptedRealtime {
  static instances: ScriptedRealtime[] = [];
  readonly channels: unknown[] = [];
  readonly callbacks: Callback[] = [];
  private readonly opened: (() => void)[] = [];
  private readonly closed: (() => void)[] = [];
  private readonly failed: ((error?: Error, code?: number) => void)[] = [];
  unsubscribed = 0;
  disconnected = 0;
  subscribeAnswer: () => Promise<Appwrite.RealtimeSubscription> = async () => ({
    unsubscribe: async () => void this.unsubscribed++,
    update: async () => undefined,
    close: async () => undefined,
  });

  constructor(_client: Appwrite.Client) {
    ScriptedRealtime.instances.push(this);
  }
  onOpen(callback: () => void): void {
    this.opened.push(callback);
  }
  onClose(callback: () => void): void {
    this.closed.push(callback);
  }
  onError(callback: (error?: Error, code?: number) => void): void {
    this.failed.push(callback);
  }
  subscribe(channel: unknown, callback: Callback): Promise<Appwrite.RealtimeSubscription> {
    this.channels.push(channel);
    this.callbacks.push(callback);
    return this.subscribeAnswer();
  }
  async disconnect(): Promise<void> {
    this.disconnected++;
  }
  open(): void {
    for (const f of this.opened) f();
  }
  close(): void {
    for (const f of this.closed) f();
  }
  error(message: string, code?: number): void {
    for (const f of this.failed) f(new Error(message), code);
  }
  frame(event: unknown): void {
    for (const f of this.callbacks) f(event as Parameters<Callback>[0]);
  }
}

/** Presences double answering `list` from an array, honouring limit and cursorAfter unless told not to. */
function listing(rows: unknown[], { ignoreCursor = false } = {}) {
  const calls: string[][] = [];
  class ListedPresences {
    constructor(_client: Appwrite.Client) {}
    async list(params: { queries: string[] }) {
      calls.push(params.queries);
      const parsed = params.queries.map((q) => JSON.parse(q) as { method: string; values: unknown[] });
      const limit = Number(parsed.find((q) => q.method === 'limit')?.values[0]);
      const after = parsed.find((q) => q.method === 'cursorAfter')?.values[0];
      const start = after && !ignoreCursor ? rows.findIndex((r) => (r as { $id?: unknown }).$id === after) + 1 : 0;
      return { total: 0, presences: rows.slice(start, start + limit) };
    }
    async upsert(): Promise<never> {
      throw new Error('not used');
    }
    async delete(): Promise<never> {
      throw new Error('not used');
    }
  }
  return { calls, Presences: ListedPresences as unknown as AppwriteSdk['Presences'] };
}

const client = () => new Appwrite.Client().setEndpoint('http://127.0.0.1:9/v1').setProject('p');

function watch(sdk: AppwriteSdk, options: { realtime?: ScriptedRealtime } = {}) {
  const transport = createAppwriteTransport({ client: client(), sdk, ...options });
  const events: TransportEvent[] = [];
  const machine = setup({ types: { events: {} as TransportEvent }, actors: { watchPeers: transport.actors.watchPeers } }).createMachine({
    invoke: { src: 'watchPeers', input: { teamId: null } },
    on: { '*': { actions: ({ event }) => events.push(event) } },
  });
  const actor = createActor(machine).start();
  return { transport, events, actor, types: () => events.map((e) => e.type) };
}

let warn: ReturnType<typeof vi.spyOn>;
beforeEach(() => {
  ScriptedRealtime.instances = [];
  warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('loadRoster', () => {
  it('skips malformed rows with a prefixed warning and keeps the rest', async () => {
    const { Presences } = listing([row('a'), { $id: 'b', status: 'online' }, null, row('c', { metadata: [1] }), row('d')]);
    const transport = createAppwriteTransport({ client: client(), sdk: { ...Appwrite, Presences } });
    const { peers } = await toPromise(createActor(transport.actors.loadRoster, { input: { teamId: null } }).start());
    expect(peers.map((peer) => peer.id)).toEqual(['a', 'd']);
    expect(warn).toHaveBeenCalledTimes(3);
    for (const [message] of warn.mock.calls) expect(message).toMatch(/^\[Manifest Presence\] skipped a roster row: /);
  });

  it('pages with limit ROSTER_PAGE_SIZE and cursorAfter the last id until a short page', async () => {
    const size = ROSTER_PAGE_SIZE;
    const rows = Array.from({ length: 2 * size }, (_, i) => row(`r${i}`));
    const { calls, Presences } = listing(rows);
    const transport = createAppwriteTransport({ client: client(), sdk: { ...Appwrite, Presences } });
    const { peers } = await toPromise(createActor(transport.actors.loadRoster, { input: { teamId: null } }).start());
    expect(peers).toHaveLength(2 * size);
    expect(calls).toEqual([
      [Appwrite.Query.limit(size)],
      [Appwrite.Query.limit(size), Appwrite.Query.cursorAfter(`r${size - 1}`)],
      [Appwrite.Query.limit(size), Appwrite.Query.cursorAfter(`r${2 * size - 1}`)], // an empty page is a short page
    ]);
    expect(size).toBeLessThanOrEqual(5000); // Appwrite's largest accepted limit
  });

  it('stops instead of looping forever when the server ignores the cursor', async () => {
    const { calls, Presences } = listing(Array.from({ length: 1.5 * ROSTER_PAGE_SIZE }, (_, i) => row(`r${i}`)), { ignoreCursor: true });
    const transport = createAppwriteTransport({ client: client(), sdk: { ...Appwrite, Presences } });
    const { peers } = await toPromise(createActor(transport.actors.loadRoster, { input: { teamId: null } }).start());
    expect(peers).toHaveLength(ROSTER_PAGE_SIZE);
    expect(calls).toHaveLength(2); // the second page brought nothing new and the same last id
  });
});

describe('identify', () => {
  const sdkAnswering = (get: () => Promise<unknown>): AppwriteSdk => ({
    ...Appwrite,
    Account: class {
      constructor(_client: Appwrite.Client) {}
      get = get;
    } as unknown as AppwriteSdk['Account'],
  });
  const identify = (sdk: AppwriteSdk) => toPromise(createActor(createAppwriteTransport({ client: client(), sdk }).actors.identify).start());

  it('reads an empty account name as null', async () => {
    await expect(identify(sdkAnswering(async () => ({ $id: 'u1', name: '', email: 'a@b.c' })))).resolves.toEqual({ userId: 'u1', name: null });
  });

  it('answers null on 401 and rejects with the reason on other failures', async () => {
    await expect(identify(sdkAnswering(() => Promise.reject(new Appwrite.AppwriteException('no session', 401))))).resolves.toBeNull();
    await expect(identify(sdkAnswering(() => Promise.reject(new Appwrite.AppwriteException('Server Error', 500))))).rejects.toThrow(
      'Could not find out who is signed in: Server Error',
    );
  });
});

describe('watchPeers', () => {
  it('subscribes to the presences channel, by name when the SDK has no Channel builder', async () => {
    watch({ ...Appwrite, Realtime: ScriptedRealtime });
    const { Channel: _omitted, ...withoutChannel } = Appwrite;
    watch({ ...withoutChannel, Realtime: ScriptedRealtime });
    await Promise.resolve();
    expect(ScriptedRealtime.instances.map((rt) => rt.channels)).toEqual([['presences'], ['presences']]);
  });

  it('sends connected once, the settle time after the socket opens, and again after each reopen', async () => {
    vi.useFakeTimers();
    const w = watch({ ...Appwrite, Realtime: ScriptedRealtime });
    const rt = ScriptedRealtime.instances[0]!;
    rt.open();
    await vi.advanceTimersByTimeAsync(249);
    expect(w.types()).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(w.types()).toEqual(['transport.connected']);

    rt.close();
    expect(w.types()).toEqual(['transport.connected', 'transport.disconnected']);
    await vi.advanceTimersByTimeAsync(5_000);
    rt.open();
    await vi.advanceTimersByTimeAsync(250);
    expect(w.types()).toEqual(['transport.connected', 'transport.disconnected', 'transport.connected']);
  });

  it('cancels a pending connected when the socket closes before it settled', async () => {
    vi.useFakeTimers();
    const w = watch({ ...Appwrite, Realtime: ScriptedRealtime });
    const rt = ScriptedRealtime.instances[0]!;
    rt.open();
    await vi.advanceTimersByTimeAsync(100);
    rt.close();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(w.types()).toEqual(['transport.disconnected']);
  });

  it('sends connected at once when a frame proves the subscription live, then the event', async () => {
    vi.useFakeTimers();
    const w = watch({ ...Appwrite, Realtime: ScriptedRealtime });
    const rt = ScriptedRealtime.instances[0]!;
    rt.open();
    await vi.advanceTimersByTimeAsync(10);
    rt.frame({ events: ['presences.a.upsert'], timestamp: UPDATED, payload: row('a') });
    expect(w.types()).toEqual(['transport.connected', 'peer.upserted']);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(w.types()).toEqual(['transport.connected', 'peer.upserted']);
  });

  it('waits at least twice the fastest REST round trip before connected', async () => {
    vi.useFakeTimers();
    const { Presences } = listing([]);
    const slowList = Presences.prototype.list;
    Presences.prototype.list = async function (this: unknown, ...args: Parameters<typeof slowList>) {
      await new Promise((resolve) => setTimeout(resolve, 400));
      return slowList.apply(this, args);
    } as typeof slowList;
    const w = watch({ ...Appwrite, Presences, Realtime: ScriptedRealtime });
    const loading = toPromise(createActor(w.transport.actors.loadRoster, { input: { teamId: null } }).start());
    await vi.advanceTimersByTimeAsync(400);
    await loading;
    ScriptedRealtime.instances[0]!.open();
    await vi.advanceTimersByTimeAsync(799);
    expect(w.types()).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(w.types()).toEqual(['transport.connected']);
  });

  it('while the feed is open hands peer events to it, sends back those it declines and warnings, and all once closed', async () => {
    vi.useFakeTimers();
    const w = watch({ ...Appwrite, Realtime: ScriptedRealtime });
    const rt = ScriptedRealtime.instances[0]!;
    rt.open();
    await vi.advanceTimersByTimeAsync(250);
    const watcher = Object.values(w.actor.getSnapshot().children)[0]!;
    const fed: string[] = [];
    const apply = (event: { type: string; peer: { id: string } }) => (fed.push(`${event.type} ${event.peer.id}`), event.peer.id !== 'mine');
    const open: FeedCommand = { type: 'feed', apply };
    watcher.send(open);
    rt.frame({ events: ['presences.a.upsert'], timestamp: UPDATED, payload: row('a') });
    rt.frame({ events: ['presences.mine.upsert'], timestamp: UPDATED, payload: row('mine') });
    rt.frame({ events: ['presences.x.upsert'], timestamp: UPDATED, payload: { $id: 'x' } });
    rt.frame({ events: ['presences.a.delete'], timestamp: UPDATED, payload: row('a') });
    expect(fed).toEqual(['peer.upserted a', 'peer.upserted mine', 'peer.deleted a']);
    expect(w.types()).toEqual(['transport.connected', 'peer.upserted', 'transport.warning']);
    expect(w.events[1]).toMatchObject({ peer: { id: 'mine' } });

    const close: FeedCommand = { type: 'feed', apply: null };
    watcher.send(close);
    rt.frame({ events: ['presences.b.upsert'], timestamp: UPDATED, payload: row('b') });
    expect(fed).toHaveLength(3);
    expect(w.events.at(-1)).toMatchObject({ type: 'peer.upserted', peer: { id: 'b' } });
  });

  it('a frame that proves the link live sends connected before it offers the event to the feed', async () => {
    vi.useFakeTimers();
    const w = watch({ ...Appwrite, Realtime: ScriptedRealtime });
    const rt = ScriptedRealtime.instances[0]!;
    const watcher = Object.values(w.actor.getSnapshot().children)[0]!;
    const order: string[] = [];
    const open: FeedCommand = { type: 'feed', apply: () => (order.push('fed'), true) };
    watcher.send(open);
    rt.open();
    await vi.advanceTimersByTimeAsync(10);
    w.actor.subscribe(() => order.push(w.types().at(-1)!));
    rt.frame({ events: ['presences.a.upsert'], timestamp: UPDATED, payload: row('a') });
    expect(order).toEqual(['transport.connected', 'fed']);
  });

  it('turns a malformed frame into a warning, logged with the prefix, and keeps watching', async () => {
    const w = watch({ ...Appwrite, Realtime: ScriptedRealtime });
    await Promise.resolve();
    const rt = ScriptedRealtime.instances[0]!;
    rt.frame({ events: ['presences.x.upsert'], timestamp: UPDATED, payload: { $id: 'x' } });
    rt.frame({ events: ['presences.a.delete'], timestamp: UPDATED, payload: row('a') });
    expect(w.events[w.events.length - 2]).toMatchObject({ type: 'transport.warning', reason: expect.stringMatching(/userId/) });
    expect(w.events[w.events.length - 1]).toMatchObject({ type: 'peer.deleted', peer: { id: 'a' } });
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^\[Manifest Presence\] ignored a presence upsert event: .*userId/));
  });

  it('reports realtime errors and a failed connection as warnings', async () => {
    const rt = new ScriptedRealtime(client());
    rt.subscribeAnswer = () => Promise.reject(new Error('WebSocket error'));
    const w = watch({ ...Appwrite, Realtime: ScriptedRealtime }, { realtime: rt });
    await vi.waitFor(() => expect(w.types()).toContain('transport.warning'));
    rt.error('Session is not valid.', 1003);
    expect(w.events).toEqual([
      { type: 'transport.warning', reason: 'realtime connection failed (WebSocket error); retrying' },
      { type: 'transport.warning', reason: 'realtime error 1003: Session is not valid.' },
    ]);
  });

  it('warns on the console once per outage, not on every retry, and again after the link was up', async () => {
    const rt = new ScriptedRealtime(client());
    const w = watch({ ...Appwrite, Realtime: ScriptedRealtime }, { realtime: rt });
    await Promise.resolve();
    const errors = () => warn.mock.calls.filter((call: unknown[]) => String(call[0]).includes('realtime error')).length;
    rt.error('refused', 1006);
    rt.error('refused', 1006);
    rt.error('refused', 1006);
    expect(errors()).toBe(1);
    expect(w.events.filter((e) => e.type === 'transport.warning')).toHaveLength(3); // the machine still hears each
    rt.open();
    rt.error('refused', 1006);
    expect(errors()).toBe(2);
  });

  it('on stop, unsubscribes and disconnects the Realtime it created, and ignores later frames', async () => {
    const w = watch({ ...Appwrite, Realtime: ScriptedRealtime });
    await Promise.resolve();
    const rt = ScriptedRealtime.instances[0]!;
    w.actor.stop();
    rt.frame({ events: ['presences.a.upsert'], timestamp: UPDATED, payload: row('a') });
    rt.close();
    expect(rt.unsubscribed).toBe(1);
    expect(rt.disconnected).toBe(1);
    expect(w.events).toEqual([]);
  });

  it('on stop, leaves a Realtime passed in connected', async () => {
    const rt = new ScriptedRealtime(client());
    const w = watch({ ...Appwrite, Realtime: ScriptedRealtime }, { realtime: rt });
    await Promise.resolve();
    w.actor.stop();
    expect(rt.unsubscribed).toBe(1);
    expect(rt.disconnected).toBe(0);
    expect(ScriptedRealtime.instances).toEqual([rt]);
  });

  it('unsubscribes a subscription that resolves after the watcher stopped', async () => {
    let resolve!: (subscription: Appwrite.RealtimeSubscription) => void;
    const rt = new ScriptedRealtime(client());
    rt.subscribeAnswer = () => new Promise((r) => (resolve = r));
    const w = watch({ ...Appwrite, Realtime: ScriptedRealtime }, { realtime: rt });
    w.actor.stop();
    let unsubscribed = 0;
    resolve({ unsubscribe: async () => void unsubscribed++, update: async () => undefined, close: async () => undefined });
    await vi.waitFor(() => expect(unsubscribed).toBe(1));
    expect(w.events).toEqual([]);
  });

  it('dispose stops every watcher', async () => {
    const w = watch({ ...Appwrite, Realtime: ScriptedRealtime });
    await Promise.resolve();
    const rt = ScriptedRealtime.instances[0]!;
    w.transport.dispose();
    rt.close();
    expect(rt.disconnected).toBe(1);
    expect(w.events).toEqual([]);
  });
});
