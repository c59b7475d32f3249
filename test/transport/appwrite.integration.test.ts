/**
 * The real transport actors, driven through xstate's `createActor`, against the real emulator
 * over 127.0.0.1 with the real `appwrite` SDK. Every test uses its own project id (the emulator
 * keeps each project's data apart), so tests share one emulator without seeing each other.
 */
import * as Appwrite from 'appwrite';
import { createPresence } from '../../src/presence';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createActor, setup, toPromise, type AnyActorLogic, type InputFrom, type OutputFrom } from 'xstate';
import { useEmulator } from '../support/emulator';
import { createAppwriteTransport } from '../../src/transport/appwrite';
import type { PeerDoc, Transport, TransportEvent } from '../../src/transport/types';
import { guest, keyClient, member, visitor, type SdkUser } from '../support/sdk';

const KEY = 'transport-test-key';
const HOUR = 3_600_000;

const emulator = useEmulator({ apiKey: KEY });
let projects = 0;
const cleanups: (() => unknown)[] = [];


afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  vi.restoreAllMocks();
});


function project(): string {
  return `transport-${++projects}`;
}

function transportOf(user: SdkUser, options: { realtime?: Appwrite.Realtime; rosterPageSize?: number } = {}): Transport {
  const transport = createAppwriteTransport({ client: user.client, sdk: Appwrite, ...options });
  cleanups.push(() => transport.dispose());
  return transport;
}

/** Runs one promise actor to completion, as the session machine would invoke it. */
function run<L extends AnyActorLogic>(logic: L, ...input: InputFrom<L> extends void ? [] : [InputFrom<L>]): Promise<OutputFrom<L>> {
  const actor = createActor(logic, { input: input[0] });
  const done = toPromise(actor);
  actor.start();
  return done as Promise<OutputFrom<L>>;
}

/** A parent machine that invokes `watchPeers` and records everything it sends back. */
function watch(transport: Transport, teamId: string | null = null) {
  const events: TransportEvent[] = [];
  const waiters = new Set<() => void>();
  const machine = setup({
    types: { events: {} as TransportEvent },
    actors: { watchPeers: transport.actors.watchPeers },
  }).createMachine({
    invoke: { id: 'watchPeers', src: 'watchPeers', input: { teamId } },
    on: {
      '*': {
        actions: ({ event }) => {
          events.push(event);
          for (const check of [...waiters]) check();
        },
      },
    },
  });
  const actor = createActor(machine).start();
  cleanups.push(() => actor.stop());
  return {
    events,
    stop: () => actor.stop(),
    /** Resolves once `count` matching events have arrived in total (earlier ones count). */
    until(match: (event: TransportEvent) => boolean, { count = 1, timeoutMs = 5_000 } = {}): Promise<TransportEvent[]> {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.filter(match);
          if (found.length < count) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`expected ${count} matching event(s) in ${timeoutMs} ms; got ${JSON.stringify(events.map((e) => e.type))}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

const type =
  (name: TransportEvent['type'], userId?: string) =>
  (event: TransportEvent): boolean =>
    event.type === name && (userId === undefined || ('peer' in event && event.peer.userId === userId));

function publishInput(user: SdkUser, overrides: Partial<{ presenceId: string; status: string; metadata: Record<string, unknown>; teamId: string | null; expiresAt: number }> = {}) {
  return {
    presenceId: Appwrite.ID.unique(),
    status: 'online',
    metadata: { name: 'someone' },
    teamId: null,
    expiresAt: Date.now() + 75_000,
    userId: user.userId!,
    ...overrides,
  };
}

async function users(p: string) {
  const [a, b] = await Promise.all([member(emulator.url, p, { name: 'Ada Lovelace' }), guest(emulator.url, p)]);
  cleanups.push(() => a.close(), () => b.close());
  return { a, b };
}

async function eventually<T>(probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 3_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function rawPresence(p: string, body: Record<string, unknown>, presenceId: string) {
  return fetch(`${emulator.url}/presences/${presenceId}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', 'X-Appwrite-Project': p, 'X-Appwrite-Key': KEY },
    body: JSON.stringify(body),
  });
}

describe('identify', () => {
  it('answers null when nobody is signed in', async () => {
    const nobody = visitor(emulator.url, project());
    expect(await run(transportOf(nobody).actors.identify)).toBeNull();
  });

  it('answers a guest (anonymous session) with a null name', async () => {
    const p = project();
    const anonymous = await guest(emulator.url, p);
    expect(await run(transportOf(anonymous).actors.identify)).toEqual({ userId: anonymous.userId, name: null });
  });

  it('answers a named account with its name and never its email', async () => {
    const p = project();
    const ada = await member(emulator.url, p, { name: 'Ada Lovelace', email: 'ada@example.test' });
    const identity = await run(transportOf(ada).actors.identify);
    expect(identity).toEqual({ userId: ada.userId, name: 'Ada Lovelace' });
    expect(JSON.stringify(identity)).not.toContain('example.test');
  });

  it('rejects with a clear message when Appwrite cannot be reached', async () => {
    const client = new Appwrite.Client().setEndpoint('http://127.0.0.1:1/v1').setProject('nowhere');
    const transport = createAppwriteTransport({ client, sdk: Appwrite });
    await expect(run(transport.actors.identify)).rejects.toThrow(/Could not find out who is signed in: .+/);
  });
});

describe('publish and loadRoster', () => {
  it('publishes a row another user lists, readable by users and writable only by its owner', async () => {
    const p = project();
    const { a, b } = await users(p);
    const input = publishInput(a, { status: 'busy', metadata: { name: 'Ada Lovelace', page: 'invoice' } });
    const published = await run(transportOf(a).actors.publish, input);

    expect(published.doc).toMatchObject({
      id: input.presenceId,
      userId: a.userId,
      status: 'busy',
      metadata: { name: 'Ada Lovelace', page: 'invoice' },
      expiresAt: input.expiresAt,
    });
    expect(published.sentAtLocal).toBeLessThanOrEqual(published.receivedAtLocal);
    expect(Math.abs(published.doc.updatedAt - Date.now())).toBeLessThan(5_000);

    const row = await keyClient(emulator.url, p, KEY).presences.get({ presenceId: input.presenceId });
    expect([...row.$permissions].sort()).toEqual(['delete("user:' + a.userId + '")', 'read("users")', 'update("user:' + a.userId + '")'].sort());

    const roster = await run(transportOf(b).actors.loadRoster, { teamId: null });
    expect(roster.peers).toEqual([published.doc]);
    expect(Math.abs(roster.receivedAtLocal - Date.now())).toBeLessThan(5_000);

    // Another user may read it but not delete it.
    await expect(run(transportOf(b).actors.remove, { presenceId: input.presenceId })).rejects.toMatchObject({ code: 401 });
  });

  it('scopes a team row to that team: a member of another team does not see it', async () => {
    const p = project();
    const { a, b } = await users(p);
    const outsider = await member(emulator.url, p, { name: 'Outsider' });
    cleanups.push(() => outsider.close());
    await a.teams.create({ teamId: 'alpha', name: 'Alpha' });
    await outsider.teams.create({ teamId: 'beta', name: 'Beta' });
    await keyClient(emulator.url, p, KEY).teams.createMembership({ teamId: 'alpha', roles: [], userId: b.userId! });

    const input = publishInput(a, { teamId: 'alpha', metadata: { team: 'alpha' } });
    const published = await run(transportOf(a).actors.publish, input);
    const row = await keyClient(emulator.url, p, KEY).presences.get({ presenceId: input.presenceId });
    expect(row.$permissions).toContain('read("team:alpha")');
    expect(row.$permissions).not.toContain('read("users")');

    expect((await run(transportOf(b).actors.loadRoster, { teamId: 'alpha' })).peers).toEqual([published.doc]);
    expect((await run(transportOf(outsider).actors.loadRoster, { teamId: 'beta' })).peers).toEqual([]);
  });

  it("rejects with Appwrite's message when the row may not be scoped to a team the user is not in", async () => {
    const p = project();
    const { a } = await users(p);
    await expect(run(transportOf(a).actors.publish, publishInput(a, { teamId: 'not-mine' }))).rejects.toThrow(/Permissions must be one of/);
  });

  it('keeps one row per user: a second publish with another id answers the existing id', async () => {
    const p = project();
    const { a, b } = await users(p);
    const transport = transportOf(a);
    const first = await run(transport.actors.publish, publishInput(a, { presenceId: 'first-id' }));
    const second = await run(transport.actors.publish, publishInput(a, { presenceId: 'second-id', status: 'away' }));
    expect(first.doc.id).toBe('first-id');
    expect(second.doc).toMatchObject({ id: 'first-id', status: 'away' });
    expect(second.doc.updatedAt).toBeGreaterThanOrEqual(first.doc.updatedAt);
    expect((await run(transportOf(b).actors.loadRoster, { teamId: null })).peers.map((peer) => peer.id)).toEqual(['first-id']);
  });

  it('refuses metadata keys the SDK could not read back: set() answers false and nothing is written', async () => {
    // The transport states the limit (checkMetadata); the session machine asks it before any write.
    const p = project();
    const { a, b } = await users(p);
    expect(transportOf(a).checkMetadata?.({ widget: { constructorName: 'Chart' } })).toMatch(/constructorName.*cannot be published/);
    const presence = createPresence({ transport: transportOf(a), tabs: false, document: null, window: null });
    expect(await presence.start()).toBe(true);
    const before = (await run(transportOf(b).actors.loadRoster, { teamId: null })).peers;
    expect(await presence.set('busy', { widget: { constructorName: 'Chart' } })).toBe(false);
    expect(presence.view().error).toMatch(/constructorName.*cannot be published/);
    expect((await run(transportOf(b).actors.loadRoster, { teamId: null })).peers).toEqual(before);
    presence.dispose();
  });

  it('loads the whole roster through every page: 250 rows, each exactly once', async () => {
    const p = project();
    const key = keyClient(emulator.url, p, KEY);
    const ids: string[] = [];
    for (let batch = 0; batch < 5; batch++) {
      await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const n = batch * 50 + i;
          const userId = `user-${n}`;
          await key.users.create({ userId, name: `User ${n}` });
          await key.presences.upsert({
            presenceId: `row-${n}`,
            userId,
            status: 'online',
            permissions: ['read("users")'],
            expiresAt: new Date(Date.now() + HOUR).toISOString(),
            metadata: { n },
          });
          ids.push(`row-${n}`);
        }),
      );
    }
    const reader = await guest(emulator.url, p);
    cleanups.push(() => reader.close());
    const list = vi.spyOn(Appwrite.Presences.prototype, 'list');

    const roster = await run(transportOf(reader, { rosterPageSize: 100 }).actors.loadRoster, { teamId: null });

    expect(roster.peers).toHaveLength(250);
    expect(new Set(roster.peers.map((peer) => peer.id))).toEqual(new Set(ids));
    expect(roster.peers.every((peer) => peer.metadata.n === Number(peer.id.slice(4)))).toBe(true);
    expect(list).toHaveBeenCalledTimes(3); // 100 + 100 + 50: the short page ends it
  });

  it('loads the roster even when a peer carries a metadata key the SDK cannot parse', async () => {
    const p = project();
    const key = keyClient(emulator.url, p, KEY);
    await key.users.create({ userId: 'odd-user', name: 'Odd' });
    const written = await rawPresence(p, { userId: 'odd-user', status: 'online', permissions: ['read("users")'], metadata: { constructor: 'x', ok: 1 } }, 'odd-row');
    expect(written.status).toBe(200);
    const { a, b } = await users(p);
    const mine = await run(transportOf(a).actors.publish, publishInput(a));
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);

    // What the fallback is for: the SDK itself throws on the whole page.
    await expect(b.presences.list()).rejects.toMatchObject({ name: 'SyntaxError' });

    const roster = await run(transportOf(b).actors.loadRoster, { teamId: null });
    expect(roster.peers.map((peer) => peer.id).sort()).toEqual(['odd-row', mine.doc.id].sort());
    expect(roster.peers.find((peer) => peer.id === 'odd-row')?.metadata).toEqual({ constructor: 'x', ok: 1 });
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^\[Manifest Presence\] the Appwrite SDK could not parse a roster page/));
  });
});

describe('remove and removeOnUnload', () => {
  it('removes our row, and removing a row already gone succeeds', async () => {
    const p = project();
    const { a, b } = await users(p);
    const transport = transportOf(a);
    const { doc } = await run(transport.actors.publish, publishInput(a));
    await run(transport.actors.remove, { presenceId: doc.id });
    expect((await run(transportOf(b).actors.loadRoster, { teamId: null })).peers).toEqual([]);
    await expect(run(transport.actors.remove, { presenceId: doc.id })).resolves.toBeUndefined();
  });

  it('sends a keepalive DELETE with the headers the SDK sends, and it deletes the row', async () => {
    const p = project();
    const { a, b } = await users(p);
    const transport = transportOf(a);
    const { doc } = await run(transport.actors.publish, publishInput(a));
    const sent = vi.spyOn(globalThis, 'fetch');

    expect(transport.removeOnUnload(doc.id)).toBe(true);

    expect(sent).toHaveBeenCalledTimes(1);
    const [url, init] = sent.mock.calls[0]!;
    expect(url).toBe(`${emulator.url}/presences/${doc.id}`);
    expect(init).toMatchObject({
      method: 'DELETE',
      keepalive: true,
      credentials: 'include',
      headers: { 'X-Appwrite-Project': p, 'X-Appwrite-Session': a.token, 'X-Appwrite-Response-Format': '2.3.0' },
    });
    const peers = await eventually(
      async () => (await run(transportOf(b).actors.loadRoster, { teamId: null })).peers,
      (list: PeerDoc[]) => list.length === 0,
    );
    expect(peers).toEqual([]);
  });

  it('authenticates the keepalive DELETE from localStorage.cookieFallback like the SDK', async () => {
    const p = project();
    const { a, b } = await users(p);
    const { doc } = await run(transportOf(a).actors.publish, publishInput(a));
    // A client that holds its session only in the cookie fallback, as a cross-domain page does.
    const client = new Appwrite.Client().setEndpoint(emulator.url).setProject(p);
    const transport = createAppwriteTransport({ client, sdk: Appwrite });
    window.localStorage.setItem('cookieFallback', JSON.stringify({ [`a_session_${p}`]: a.token }));
    cleanups.push(() => window.localStorage.removeItem('cookieFallback'));
    const sent = vi.spyOn(globalThis, 'fetch');

    expect(transport.removeOnUnload(doc.id)).toBe(true);

    const headers = sent.mock.calls[0]![1]!.headers as Record<string, string>;
    expect(headers['X-Fallback-Cookies']).toBe(JSON.stringify({ [`a_session_${p}`]: a.token }));
    expect(headers['X-Appwrite-Session']).toBeUndefined();
    const peers = await eventually(
      async () => (await run(transportOf(b).actors.loadRoster, { teamId: null })).peers,
      (list: PeerDoc[]) => list.length === 0,
    );
    expect(peers).toEqual([]);
  });

  it('answers false when fetch is missing or throws at once', async () => {
    const p = project();
    const nobody = visitor(emulator.url, p);
    const transport = transportOf(nobody);
    vi.stubGlobal('fetch', undefined);
    try {
      expect(transport.removeOnUnload('some-row')).toBe(false);
      vi.stubGlobal('fetch', () => {
        throw new TypeError('keepalive budget exceeded');
      });
      expect(transport.removeOnUnload('some-row')).toBe(false);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});

describe('watchPeers', () => {
  it("delivers another user's upsert and delete as peer events with the server's time", async () => {
    const p = project();
    const { a, b } = await users(p);
    const watching = watch(transportOf(b));
    await watching.until(type('transport.connected'));

    const writer = transportOf(a);
    const { doc } = await run(writer.actors.publish, publishInput(a, { status: 'busy', metadata: { page: 'home' } }));
    const [upserted] = await watching.until(type('peer.upserted', a.userId!));
    expect(upserted).toEqual({ type: 'peer.upserted', peer: doc, serverTime: expect.any(Number) });
    expect(Math.abs((upserted as { serverTime: number }).serverTime - doc.updatedAt)).toBeLessThan(1_000);

    await run(writer.actors.remove, { presenceId: doc.id });
    const [deleted] = await watching.until(type('peer.deleted', a.userId!));
    expect(deleted).toMatchObject({ type: 'peer.deleted', peer: { id: doc.id, userId: a.userId, status: 'busy' } });
  });

  it('reports connected only after the server acknowledged the subscription', async () => {
    const p = project();
    const { b } = await users(p);
    const acked = b.nextFrame((frame) => frame.type === 'response' && frame.data?.to === 'subscribe');
    let ackedAt = Infinity;
    void acked.then(() => (ackedAt = Date.now()));
    const watching = watch(transportOf(b));
    await watching.until(type('transport.connected'));
    const connectedAt = Date.now();
    await acked;
    expect(ackedAt).toBeLessThanOrEqual(connectedAt);
    expect(watching.events.filter(type('transport.connected'))).toHaveLength(1);
  });

  it('reports the drop and connected again once the SDK has reconnected and re-subscribed', async () => {
    const p = project();
    const { a, b } = await users(p);
    const watching = watch(transportOf(b));
    await watching.until(type('transport.connected'));

    expect(emulator.dropSockets()).toBeGreaterThan(0);
    await watching.until(type('transport.disconnected'));
    const resubscribed = b.nextFrame((frame) => frame.type === 'response' && frame.data?.to === 'subscribe', 8_000);
    await watching.until(type('transport.connected'), { count: 2, timeoutMs: 8_000 });
    await resubscribed; // the SDK's own re-subscribe reached the server (at most a moment later on localhost)

    const order = watching.events.map((event) => event.type);
    expect(order.indexOf('transport.disconnected')).toBeLessThan(order.lastIndexOf('transport.connected'));
    const { doc } = await run(transportOf(a).actors.publish, publishInput(a));
    const [upserted] = await watching.until(type('peer.upserted', a.userId!));
    expect(upserted).toMatchObject({ peer: { id: doc.id } });
  });

  it('unsubscribes and closes its own socket when stopped', async () => {
    const p = project();
    const { b } = await users(p);
    const watching = watch(transportOf(b));
    await watching.until(type('transport.connected'));
    expect(b.openSockets()).toBe(1);
    watching.stop();
    expect(await eventually(async () => b.openSockets(), (open) => open === 0)).toBe(0);
  });

  it('watches again at once after a stop, as a team change does, on a fresh socket', async () => {
    const p = project();
    const { a, b } = await users(p);
    const transport = transportOf(b);
    const first = watch(transport);
    await first.until(type('transport.connected'));
    first.stop();
    const second = watch(transport, 'some-team');
    await second.until(type('transport.connected'));
    const { doc } = await run(transportOf(a).actors.publish, publishInput(a));
    const [upserted] = await second.until(type('peer.upserted', a.userId!));
    expect(upserted).toMatchObject({ peer: { id: doc.id } });
    expect(first.events.filter(type('peer.upserted'))).toHaveLength(0);
    expect(b.openSockets()).toBe(1);
  });

  it('leaves a shared Realtime open for the app, removing only its own subscription', async () => {
    const p = project();
    const { a, b } = await users(p);
    const appEvents: unknown[] = [];
    await b.subscribe(['presences'], (event) => appEvents.push(event));
    const watching = watch(transportOf(b, { realtime: b.realtime }));
    await watching.until(type('transport.connected'));
    const unsubscribed = b.nextFrame((frame) => frame.type === 'response' && frame.data?.to === 'unsubscribe');

    watching.stop();
    await unsubscribed;
    await run(transportOf(a).actors.publish, publishInput(a));
    expect(await eventually(async () => appEvents.length, (n) => n === 1)).toBe(1);
    expect(b.openSockets()).toBe(1);
    expect(watching.events.filter(type('peer.upserted'))).toHaveLength(0);
  });
});
