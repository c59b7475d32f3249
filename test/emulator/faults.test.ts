import { Channel, ID, Permission, Role } from 'appwrite';
import { afterEach, describe, expect, it } from 'vitest';
import { useEmulator } from '../support/emulator';
import { pollUntil } from '../support/wait';
import { EventLog, guest, keyClient, type Frame, type SdkUser } from '../support/sdk';
import WebSocket from 'ws';
import { call, expectErrorShape, openSocket, realtimeUrl } from './wire';

const PROJECT = 'fault-tests';
const KEY = 'fault-key';

const emulator = useEmulator({ apiKey: KEY });
const opened: { close(): Promise<void> }[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((thing) => thing.close()));
  emulator.failWrites(0);
  emulator.blockRealtime(false);
});

async function user(): Promise<SdkUser> {
  const created = await guest(emulator.url, PROJECT);
  opened.push(created);
  return created;
}

const hook = (name: string, body: unknown = {}) => call(`${emulator.url}/emulator/${name}`, 'POST', { body });
const shared = (who: SdkUser) => [Permission.read(Role.users()), Permission.write(Role.user(who.userId!))];
const presenceAnswer = (frame: Frame) => frame.type === 'response' && frame.data.to === 'presence';

async function publishOverSocket(sender: SdkUser, status: string): Promise<string> {
  const answered = sender.nextFrame(presenceAnswer);
  await sender.realtime.upsertPresence({ presenceId: ID.unique(), status, permissions: shared(sender) });
  return (await answered).data.presence.$id as string;
}

describe('drop-sockets', () => {
  it('kills every socket without a close frame, deletes their rows, and the SDK comes back', async () => {
    const sender = await user();
    const watcher = await user();
    await watcher.subscribe([Channel.presences()], () => undefined);
    const id = await publishOverSocket(sender, 'online');
    const raw = await openSocket(realtimeUrl(emulator.url, PROJECT));
    expect(emulator.connections()).toBe(3);

    const resent = sender.nextFrame(presenceAnswer, 5_000);
    const resubscribed = watcher.nextFrame((frame) => frame.type === 'response' && frame.data.to === 'subscribe', 5_000);
    expect(await hook('drop-sockets')).toMatchObject({ status: 200, body: { dropped: 3 } });
    expect((await raw.closed).code).toBe(1006);
    expect((await keyClient(emulator.url, PROJECT, KEY).presences.list()).presences.map((row) => row.$id)).not.toContain(id);

    // The SDK reconnects after a second, re-subscribes and re-sends its latest presence.
    expect((await resent).data.presence).toMatchObject({ status: 'online', source: 'realtime' });
    await resubscribed;
    expect(emulator.connections()).toBe(2);
  });

  it('is also a method of the emulator', async () => {
    const sender = await user();
    const id = await publishOverSocket(sender, 'online');
    const closed = new Promise<void>((resolve) => sender.realtime.onClose(resolve));
    expect(emulator.dropSockets()).toBe(1);
    await closed;
    await sender.realtime.disconnect();
    expect((await keyClient(emulator.url, PROJECT, KEY).presences.list()).presences.map((row) => row.$id)).not.toContain(id);
  });
});

/** What a raw upgrade to `url` gets: the HTTP status of a refusal, or 101 when it became a socket. */
function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      response.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      resolve(101);
      ws.terminate();
    });
    ws.on('error', reject);
  });
}

describe('block-realtime', () => {
  const subscribeAck = (frame: Frame) => frame.type === 'response' && frame.data.to === 'subscribe';

  it('refuses upgrades with a 403 before any frame, while REST keeps working; unblocked, the next attempt gets in', async () => {
    const url = realtimeUrl(emulator.url, PROJECT);
    expect(await hook('block-realtime', { blocked: true })).toMatchObject({ status: 200, body: { blocked: true, dropped: 0 } });
    expect(await upgradeStatus(url)).toBe(403);
    expect(emulator.connections()).toBe(0);
    const writer = await user();
    expect((await writer.presences.upsert({ presenceId: ID.unique(), status: 'over REST' })).status).toBe('over REST');

    expect(await hook('block-realtime', { blocked: false })).toMatchObject({ status: 200, body: { blocked: false, dropped: 0 } });
    expect(await upgradeStatus(url)).toBe(101);
  });

  it('blocked from the start, the SDK sees errors and closes and never a frame; unblocked, its own retry subscribes', async () => {
    emulator.blockRealtime(true);
    const watcher = await user();
    const errors: string[] = [];
    let closes = 0;
    watcher.realtime.onError((error) => errors.push(String(error?.message)));
    watcher.realtime.onClose(() => closes++);
    const log = new EventLog();
    // The SDK's subscribe() rejects when its first socket fails; it keeps the subscription and retries.
    await watcher.realtime.subscribe([Channel.presences()], log.callback).catch(() => undefined);
    await pollUntil(() => closes >= 2, 5_000); // the first attempt and the retry a second later
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(watcher.frames).toEqual([]);
    expect(emulator.connections()).toBe(0);

    const subscribed = watcher.nextFrame(subscribeAck, 5_000);
    emulator.blockRealtime(false);
    await subscribed;
    expect(emulator.connections()).toBe(1);
    const writer = await user();
    await writer.presences.upsert({ presenceId: ID.unique(), status: 'after the block', permissions: shared(writer) });
    await log.until((event) => event.payload.status === 'after the block');
  });

  it('with drop, kills the open sockets too; they stay out until unblocked, then the SDK re-subscribes', async () => {
    const watcher = await user();
    const log = new EventLog();
    await watcher.subscribe([Channel.presences()], log.callback);
    let closes = 0;
    watcher.realtime.onClose(() => closes++);
    expect(await hook('block-realtime', { blocked: true, drop: true })).toMatchObject({ status: 200, body: { blocked: true, dropped: 1 } });
    await pollUntil(() => closes >= 2, 5_000); // the drop, then the reconnect a second later, refused
    expect(emulator.connections()).toBe(0);
    const writer = await user();
    await writer.presences.upsert({ presenceId: ID.unique(), status: 'while blocked', permissions: shared(writer) });

    const resubscribed = watcher.nextFrame(subscribeAck, 5_000);
    expect(emulator.blockRealtime(false)).toBe(0);
    await resubscribed;
    await writer.presences.upsert({ presenceId: ID.unique(), status: 'after the block', permissions: shared(writer) });
    await log.until((event) => event.payload.status === 'after the block');
    expect(log.matching((event) => event.payload.status === 'while blocked')).toEqual([]);
  });

  it('refuses a missing or non-boolean value; the method throws a RangeError; reset unblocks', async () => {
    expect(expectErrorShape(await hook('block-realtime', {})).message).toBe('Param "blocked" is not optional.');
    expect(expectErrorShape(await hook('block-realtime', { blocked: 'yes' })).message).toBe('Invalid `blocked` param: Value must be a valid boolean');
    expect(expectErrorShape(await hook('block-realtime', { blocked: true, drop: 'all' })).code).toBe(400);
    expect(() => emulator.blockRealtime('yes' as unknown as boolean)).toThrow(RangeError);
    expect(await upgradeStatus(realtimeUrl(emulator.url, PROJECT))).toBe(101);

    emulator.blockRealtime(true);
    emulator.reset();
    expect(await upgradeStatus(realtimeUrl(emulator.url, PROJECT))).toBe(101);
  });
});

describe('pause-events', () => {
  it('holds deliveries for the time asked, then delivers them in order', async () => {
    const watcher = await user();
    const log = new EventLog();
    await watcher.subscribe([Channel.presences()], log.callback);
    const writers = [await user(), await user(), await user()];
    const writes = (event: { payload: { status?: string } }) => event.payload.status?.startsWith('write ') === true;
    const pausedAt = performance.now();
    expect(await hook('pause-events', { ms: 800 })).toMatchObject({ status: 200, body: { ms: 800 } });
    for (const [i, writer] of writers.entries()) {
      await writer.presences.upsert({ presenceId: ID.unique(), status: `write ${i}`, permissions: shared(writer) });
    }
    expect(log.matching(writes)).toEqual([]);
    const received = await log.until(writes, { count: 3 });
    expect(performance.now() - pausedAt).toBeGreaterThanOrEqual(795);
    expect(received.map((event) => event.payload.status)).toEqual(['write 0', 'write 1', 'write 2']);
  });

  it('refuses a bad duration with an Appwrite error', async () => {
    for (const body of [{}, { ms: -1 }, { ms: 'soon' }, { ms: 1.5 }]) {
      expect(expectErrorShape(await hook('pause-events', body)).code).toBe(400);
    }
  });
});

describe('fail-writes', () => {
  it('fails REST presence writes with a 500 Appwrite body and changes nothing', async () => {
    const writer = await user();
    const row = await writer.presences.upsert({ presenceId: ID.unique(), status: 'before' });
    expect(await hook('fail-writes', { rate: 1 })).toMatchObject({ status: 200, body: { rate: 1 } });
    const headers = { 'X-Appwrite-Session': writer.token! };
    const path = `${emulator.url}/presences/${row.$id}`;
    for (const [method, body] of [['PUT', { status: 'after' }], ['PATCH', { status: 'after' }], ['DELETE', {}]] as const) {
      const failed = await call(path, method, { project: PROJECT, headers, body });
      expect(failed.body).toEqual({ message: 'Server Error', code: 500, type: 'general_server_error', version: '1.9.6' });
    }
    expect((await writer.presences.get({ presenceId: row.$id })).status).toBe('before');
    await hook('fail-writes', { rate: 0 });
    expect((await writer.presences.upsert({ presenceId: row.$id, status: 'after' })).status).toBe('after');
  });

  it('fails roughly the asked fraction, and is a method too', async () => {
    const writer = await user();
    emulator.failWrites(0.5);
    const outcomes = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        writer.presences.upsert({ presenceId: 'one-row', status: `try ${i}` }).then(
          () => 'ok',
          (error: { code: number }) => error.code,
        ),
      ),
    );
    const failures = outcomes.filter((outcome) => outcome === 500).length;
    expect(outcomes.every((outcome) => outcome === 'ok' || outcome === 500)).toBe(true);
    // Binomial(100, 0.5): outside 20–80 happens with probability below 1e-9.
    expect(failures).toBeGreaterThan(20);
    expect(failures).toBeLessThan(80);
  });

  it('refuses a rate outside 0–1', async () => {
    expect(expectErrorShape(await hook('fail-writes', { rate: 2 })).message).toBe('Invalid `rate` param: Value must be a number between 0 and 1');
  });
});

describe('reset', () => {
  it('forgets users, sessions, rows and sockets', async () => {
    const writer = await guest(emulator.url, PROJECT);
    await writer.presences.upsert({ presenceId: ID.unique(), status: 'here' });
    const raw = await openSocket(realtimeUrl(emulator.url, PROJECT));
    expect(await hook('reset')).toMatchObject({ status: 200 });
    await raw.closed;
    expect(emulator.connections()).toBe(0);
    expect((await writer.account.get().then(() => 200, (error: { code: number }) => error.code))).toBe(401);
    expect((await keyClient(emulator.url, PROJECT, KEY).presences.list()).total).toBe(0);
    emulator.reset();
    expect((await keyClient(emulator.url, PROJECT, KEY).presences.list()).total).toBe(0);
  });
});

describe('hook routing', () => {
  it('answers unknown hooks and other methods with route-not-found', async () => {
    expect(expectErrorShape(await hook('explode')).type).toBe('general_route_not_found');
    expect(expectErrorShape(await call(`${emulator.url}/emulator/reset`, 'GET')).code).toBe(404);
  });
});
