import { Channel, ID, Permission, Query, Role } from 'appwrite';
import { afterEach, describe, expect, it } from 'vitest';
import { useEmulator } from '../support/emulator';
import { EventLog, guest, keyClient, member, named, visitor, type Frame, type SdkUser } from '../support/sdk';
import { openSocket, realtimeUrl, type RawSocket } from './wire';

const PROJECT = 'realtime-tests';
const KEY = 'realtime-key';
const DAY = 24 * 60 * 60_000;

const emulator = useEmulator({ apiKey: KEY });
const opened: { close(): Promise<void> }[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((thing) => thing.close()));
});

async function user(kind: 'guest' | 'member' = 'guest'): Promise<SdkUser> {
  const created = kind === 'guest' ? await guest(emulator.url, PROJECT) : await member(emulator.url, PROJECT, { name: 'Member' });
  opened.push(created);
  return created;
}

async function socket(headers: Record<string, string> = {}, project = PROJECT): Promise<RawSocket> {
  const raw = await openSocket(realtimeUrl(emulator.url, project), headers);
  opened.push(raw);
  return raw;
}

/** Send a presence through the SDK and wait for the server's answer (the SDK itself ignores it). */
async function publish(sender: SdkUser, presence: Parameters<SdkUser['realtime']['upsertPresence']>[0]): Promise<Frame> {
  const answered = sender.nextFrame((frame) => frame.type === 'error' || (frame.type === 'response' && frame.data.to === 'presence'));
  await sender.realtime.upsertPresence(presence);
  return answered;
}

/** A listener subscribed (and acknowledged) to the `presences` channel. */
async function listener(who?: SdkUser, queries: string[] = []): Promise<{ user: SdkUser; log: EventLog }> {
  const listening = who ?? (await user());
  const log = new EventLog();
  await listening.subscribe([Channel.presences()], log.callback, queries);
  return { user: listening, log };
}

let barriers = 0;
/**
 * Publish a row everybody may read and wait until every log has it. Each socket receives events
 * in publish order, so once the barrier is in, any earlier event a log was going to get is in too.
 */
async function barrier(...logs: EventLog[]): Promise<void> {
  const status = `barrier-${++barriers}`;
  const writer = await user();
  await writer.presences.upsert({ presenceId: ID.unique(), status, permissions: [Permission.read(Role.any())] });
  await Promise.all(logs.map((log) => log.until((event) => event.payload.status === status)));
}

describe('handshake', () => {
  it('sends connected with the user when the upgrade carries a session', async () => {
    const owner = await user('member');
    const withSession = await socket({ 'X-Appwrite-Session': owner.token! });
    expect(withSession.frames[0]).toEqual({
      type: 'connected',
      data: { channels: [], subscriptions: [], user: expect.objectContaining({ $id: owner.userId, name: 'Member' }) },
    });
    const withCookie = await socket({ cookie: `a_session_${PROJECT}=${owner.token}` });
    expect(withCookie.frames[0]!.data.user.$id).toBe(owner.userId);
    const anonymous = await socket();
    expect(anonymous.frames[0]).toEqual({ type: 'connected', data: { channels: [], subscriptions: [], user: null } });
  });

  it('subscribes to channels named in the URL', async () => {
    const raw = await openSocket(`${realtimeUrl(emulator.url, PROJECT)}&channels[]=presences&channels[]=presences.x`);
    opened.push(raw);
    expect(raw.frames[0]!.data.channels).toEqual(['presences', 'presences.x']);
    expect(raw.frames[0]!.data.subscriptions).toHaveLength(2);
  });

  it('refuses a missing or unknown project with 1008 and closes with 1008', async () => {
    for (const url of [realtimeUrl(emulator.url), realtimeUrl(emulator.url, 'bad project!')]) {
      const raw = await openSocket(url);
      expect(raw.frames[0]).toEqual({ type: 'error', data: { code: 1008, message: 'Missing or unknown project ID' } });
      expect((await raw.closed).code).toBe(1008);
    }
  });
});

describe('client messages', () => {
  it('answers ping with pong', async () => {
    const raw = await socket();
    expect(await raw.ask({ type: 'ping' })).toEqual({ type: 'pong' });
  });

  it('authenticates with the session token, and refuses a bad or missing one', async () => {
    const owner = await user();
    const raw = await socket();
    expect(await raw.ask({ type: 'authentication', data: { session: 'bm90IGEgdG9rZW4=' } })).toEqual({
      type: 'error',
      data: { code: 1003, message: 'Session is not valid.' },
    });
    expect((await raw.ask({ type: 'authentication', data: {} })).data.message).toBe('Payload is not valid. Session is required');
    const answer = await raw.ask({ type: 'authentication', data: { session: owner.token } });
    expect(answer).toEqual({ type: 'response', data: { to: 'authentication', success: true, user: expect.objectContaining({ $id: owner.userId }) } });
  });

  it('acknowledges subscribe and unsubscribe', async () => {
    const raw = await socket();
    const subscribed = await raw.ask({
      type: 'subscribe',
      data: [{ subscriptionId: 'mine', channels: ['presences'], queries: [Query.equal('status', 'busy')] }, { channels: ['presences.x'] }],
    });
    expect(subscribed.data).toEqual({
      to: 'subscribe',
      success: true,
      subscriptions: [
        { subscriptionId: 'mine', channels: ['presences'], queries: [Query.equal('status', 'busy')] },
        { subscriptionId: expect.stringMatching(/^[0-9a-f]{20}$/), channels: ['presences.x'], queries: [] },
      ],
    });
    const unsubscribed = await raw.ask({ type: 'unsubscribe', data: [{ subscriptionId: 'mine' }, { subscriptionId: 'never' }] });
    expect(unsubscribed.data).toEqual({
      to: 'unsubscribe',
      success: true,
      subscriptions: [
        { subscriptionId: 'mine', removed: true },
        { subscriptionId: 'never', removed: false },
      ],
    });
  });

  it('answers malformed frames with 1003 errors and keeps the socket open', async () => {
    const raw = await socket();
    const cases: [unknown, string][] = [
      ['{not json', 'Message format is not valid.'],
      [{}, 'Message format is not valid.'],
      [[1, 2], 'Message format is not valid.'],
      [{ type: 'nope' }, 'Message type is not valid.'],
      [{ type: 5 }, 'Message type is not valid.'],
      [{ data: {} }, 'Message type is not valid.'],
      [{ type: 'subscribe' }, 'Payload is not valid. Data is required'],
      [{ type: 'subscribe', data: [{ channels: [] }] }, expect.stringMatching(/^data: /) as unknown as string],
      [{ type: 'subscribe', data: [{ channels: ['presences'], queries: ['{bad'] }] }, 'Invalid query: Syntax error'],
      [{ type: 'unsubscribe', data: 'x' }, expect.stringMatching(/^data: /) as unknown as string],
      // Deeper than PHP's json_decode goes (512 levels).
      [`{"type":"presence","data":{"status":"x","metadata":${'['.repeat(600)}${']'.repeat(600)}}}`, 'Message format is not valid.'],
    ];
    for (const [message, expected] of cases) {
      expect(await raw.ask(message)).toEqual({ type: 'error', data: { code: 1003, message: expected } });
    }
    expect((await raw.ask({ type: 'ping', data: 'x'.repeat(70_000) })).data).toEqual({ code: 1009, message: expect.stringContaining('64000') });
    expect(await raw.ask({ type: 'ping' })).toEqual({ type: 'pong' });
  });

  it('processes one socket’s frames strictly in order', async () => {
    const owner = await user();
    const raw = await socket();
    const messages = [
      { type: 'authentication', data: { session: owner.token } },
      { type: 'subscribe', data: [{ subscriptionId: 's1', channels: ['presences'] }] },
      { type: 'presence', data: { status: 'first', presenceId: ID.unique() } },
      { type: 'ping' },
      { type: 'presence', data: { status: 'second' } },
      { type: 'ping' },
    ];
    for (const message of messages) raw.send(message);
    await raw.frame((frame) => frame.type === 'pong', { from: 4 });
    const answers = raw.frames.slice(1).filter((frame) => frame.type !== 'event');
    expect(answers.map((frame) => (frame.type === 'response' ? `${frame.data.to}:${frame.data.presence?.status ?? ''}` : frame.type))).toEqual([
      'authentication:',
      'subscribe:',
      'presence:first',
      'pong',
      'presence:second',
      'pong',
    ]);
  });
});

describe('presence message', () => {
  it('works with the SDK sending authentication, subscribe and presence back to back', async () => {
    const sender = await user();
    const log = new EventLog();
    const answered = sender.nextFrame((frame) => frame.type === 'error' || (frame.type === 'response' && frame.data.to === 'presence'));
    await sender.realtime.subscribe([Channel.presences()], log.callback);
    await sender.realtime.upsertPresence({ presenceId: ID.unique(), status: 'online' });
    const answer = await answered;
    expect(answer.type).toBe('response');
    const [event] = await log.until(named('presences.*.upsert'));
    expect(event!.payload).toEqual(answer.data.presence);
  });

  it('creates a socket-bound row: source realtime, 30 days, $sequence in the payload', async () => {
    const sender = await user();
    const before = Date.now();
    const answer = await publish(sender, { presenceId: 'socket-row', status: 'online', metadata: { z: 1, a: 2 } });
    const row = answer.data.presence;
    expect(Object.keys(row)).toEqual(['$id', '$sequence', '$createdAt', '$updatedAt', '$permissions', 'userId', 'status', 'source', 'expiresAt', 'metadata']);
    expect(row).toMatchObject({ $id: 'socket-row', userId: sender.userId, source: 'realtime', status: 'online', metadata: { z: 1, a: 2 } });
    expect(Object.keys(row.metadata)).toEqual(['z', 'a']);
    expect(Date.parse(row.expiresAt) - before).toBeGreaterThan(30 * DAY - 5_000);
    const rest = await sender.presences.get({ presenceId: 'socket-row' });
    expect(rest.source).toBe('realtime');
  });

  it("answers with the user's existing row id and keeps metadata when omitted", async () => {
    const sender = await user();
    const existing = await sender.presences.upsert({ presenceId: ID.unique(), status: 'rest', metadata: { from: 'rest' } });
    const answer = await publish(sender, { presenceId: ID.unique(), status: 'socket' });
    expect(answer.data.presence).toMatchObject({ $id: existing.$id, status: 'socket', source: 'realtime', metadata: { from: 'rest' } });
  });

  it('refuses a guest with 401 and keeps the socket open', async () => {
    const raw = await socket();
    expect(await raw.ask({ type: 'presence', data: { status: 'online' } })).toEqual({ type: 'error', data: { code: 401, message: 'User must be authorized' } });
    expect(await raw.ask({ type: 'ping' })).toEqual({ type: 'pong' });
    const viaSdk = visitor(emulator.url, PROJECT);
    opened.push(viaSdk);
    const errors: [string, number | undefined][] = [];
    viaSdk.realtime.onError((error, code) => errors.push([error?.message ?? '', code]));
    const answer = await publish(viaSdk, { presenceId: ID.unique(), status: 'online' });
    expect(answer.data).toEqual({ code: 401, message: 'User must be authorized' });
    expect(errors).toEqual([['User must be authorized', 401]]);
  });

  it('answers validation errors only, writes nothing, and the socket stays usable', async () => {
    const sender = await user();
    const { log } = await listener();
    const raw = await socket({ 'X-Appwrite-Session': sender.token! });
    const refused: [unknown, { code: number; message: string }][] = [
      [{ presenceId: 'v1' }, { code: 1003, message: 'Payload is not valid. Status is required' }],
      [{ status: '' }, { code: 1003, message: 'status: Value must be a valid string and at least 1 chars and no longer than 2048 chars' }],
      [{ status: 'ok', permissions: 'read("any")' }, { code: 1003, message: 'permissions: Permissions must be an array of strings.' }],
      [{ status: 'ok', presenceId: 'x'.repeat(37) }, { code: 1003, message: 'presenceId: Value must be a valid string and at least 1 chars and no longer than 36 chars' }],
      [{ status: 'x'.repeat(300) }, { code: 400, message: expect.stringContaining('Invalid document structure') as unknown as string }],
      [{ status: 'ok', permissions: [Permission.read(Role.guests())] }, { code: 401, message: expect.stringMatching(/^Permissions must be one of/) as unknown as string }],
    ];
    for (const [data, error] of refused) expect(await raw.ask({ type: 'presence', data })).toEqual({ type: 'error', data: error });
    expect((await sender.presences.list()).total).toBe(0);
    const accepted = await raw.ask({ type: 'presence', data: { status: 'valid at last', permissions: [Permission.read(Role.users())] } });
    expect(accepted.data.presence.status).toBe('valid at last');
    await barrier(log);
    expect(log.matching((event) => event.payload.userId === sender.userId).map((event) => event.payload.status)).toEqual(['valid at last']);
  });

  it('refuses a foreign row id (409) without touching it', async () => {
    const owner = await user();
    const intruder = await user();
    await owner.presences.upsert({ presenceId: 'owned-by-owner', status: 'mine' });
    const answer = await publish(intruder, { presenceId: 'owned-by-owner', status: 'stolen' });
    expect(answer.data).toMatchObject({ code: 409 });
    expect((await owner.presences.get({ presenceId: 'owned-by-owner' })).status).toBe('mine');
  });
});

describe('events', () => {
  it('carries the four names, the four channels, the timestamp and the subscription ids', async () => {
    const { log } = await listener();
    const writer = await user();
    const row = await writer.presences.upsert({ presenceId: 'named-row', status: 'online', permissions: [Permission.read(Role.users())] });
    const [event] = await log.until(named('presences.named-row.upsert'));
    expect(event!.events).toEqual(['presences.named-row.upsert', 'presences.*.upsert', 'presences.named-row', 'presences.*']);
    expect(event!.channels).toEqual(['presences', 'presences.named-row', 'presences.upsert', 'presences.named-row.upsert']);
    expect(event!.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/);
    expect(event!.subscriptions).toHaveLength(1);
    expect({ ...event!.payload }).toEqual({ ...row });
  });

  it('announces update and delete, and nothing for an empty update', async () => {
    const { log } = await listener();
    const writer = await user();
    const permissions = [Permission.read(Role.users()), Permission.write(Role.user(writer.userId!))];
    const row = await writer.presences.upsert({ presenceId: ID.unique(), status: 'online', permissions });
    await writer.presences.update({ presenceId: row.$id });
    await writer.presences.update({ presenceId: row.$id, status: 'away' });
    await writer.presences.delete({ presenceId: row.$id });
    await log.until(named(`presences.${row.$id}.delete`));
    expect(log.matching((event) => event.payload.$id === row.$id).map((event) => [event.events[1], event.payload.status])).toEqual([
      ['presences.*.upsert', 'online'],
      ['presences.*.update', 'away'],
      ['presences.*.delete', 'away'],
    ]);
  });

  it('reaches readers only: a reader receives, a non-reader does not', async () => {
    // As in Appwrite's testPresencePermissionsReceiverRouting: the writer is also a listener.
    const writer = await listener();
    const outsider = await listener();
    const w = writer.user;
    const owned = [Permission.update(Role.user(w.userId!))];
    await w.presences.upsert({ presenceId: ID.unique(), status: 'for everyone', permissions: [Permission.read(Role.any()), ...owned] });
    await w.presences.upsert({ presenceId: ID.unique(), status: 'for the writer', permissions: [Permission.read(Role.user(w.userId!)), ...owned] });
    await w.presences.upsert({ presenceId: ID.unique(), status: 'for nobody', permissions: owned });
    await barrier(writer.log, outsider.log);
    const statuses = (log: EventLog) => log.matching((event) => event.payload.userId === w.userId).map((event) => event.payload.status);
    expect(statuses(writer.log)).toEqual(['for everyone', 'for the writer']);
    expect(statuses(outsider.log)).toEqual(['for everyone']);
  });

  it('routes by roles granted with an API key', async () => {
    const reader = await listener();
    const outsider = await listener();
    const subject = await user();
    const key = keyClient(emulator.url, PROJECT, KEY);
    await key.presences.upsert({ presenceId: ID.unique(), userId: subject.userId!, status: 'for the reader', permissions: [Permission.read(Role.user(reader.user.userId!))] });
    await barrier(reader.log, outsider.log);
    const statuses = (log: EventLog) => log.matching((event) => event.payload.userId === subject.userId).map((event) => event.payload.status);
    expect(statuses(reader.log)).toEqual(['for the reader']);
    expect(statuses(outsider.log)).toEqual([]);
  });

  it('lets guests (no session) receive rows readable by any or guests', async () => {
    const watcher = visitor(emulator.url, PROJECT);
    opened.push(watcher);
    const log = new EventLog();
    await watcher.subscribe([Channel.presences()], log.callback);
    const [first, second] = [await user(), await user()];
    await first.presences.upsert({ presenceId: ID.unique(), status: 'users only', permissions: [Permission.read(Role.users())] });
    await second.presences.upsert({ presenceId: ID.unique(), status: 'anyone', permissions: [Permission.read(Role.any())] });
    await log.until((event) => event.payload.status === 'anyone');
    const writers = [first.userId, second.userId];
    expect(log.matching((event) => writers.includes(event.payload.userId)).map((event) => event.payload.status)).toEqual(['anyone']);
  });

  it('filters by channel and by the subscription’s queries', async () => {
    const watcher = await user();
    const busyOnly = new EventLog();
    const oneRow = new EventLog();
    const deletes = new EventLog();
    await watcher.subscribe([Channel.presences()], busyOnly.callback, [Query.equal('status', ['busy'])]);
    await watcher.subscribe([Channel.presence('watched-row')], oneRow.callback);
    await watcher.subscribe(['presences.delete'], deletes.callback);
    const writer = await user();
    const other = await user();
    const permissions = [Permission.read(Role.users()), Permission.write(Role.user(writer.userId!))];
    await other.presences.upsert({ presenceId: ID.unique(), status: 'busy', permissions: [Permission.read(Role.users())] });
    await writer.presences.upsert({ presenceId: 'watched-row', status: 'online', permissions });
    // One row per user: this upsert rewrites 'watched-row' whatever id it names.
    await writer.presences.upsert({ presenceId: 'ignored', status: 'busy', permissions });
    await writer.presences.delete({ presenceId: 'watched-row' });
    await deletes.until(named('presences.watched-row.delete'));
    expect(busyOnly.events.map((event) => [event.payload.userId, event.events[1]])).toEqual([
      [other.userId, 'presences.*.upsert'],
      [writer.userId, 'presences.*.upsert'],
      [writer.userId, 'presences.*.delete'],
    ]);
    expect(oneRow.events.map((event) => event.events[0])).toEqual(['presences.watched-row.upsert', 'presences.watched-row.upsert', 'presences.watched-row.delete']);
    expect(deletes.events).toHaveLength(1);
  });
});

describe('socket close', () => {
  const readable = (sender: SdkUser) => [Permission.read(Role.users()), Permission.write(Role.user(sender.userId!))];

  it('deletes the socket’s row with exactly one delete event within a second', async () => {
    const sender = await user();
    const { log } = await listener();
    const answer = await publish(sender, { presenceId: ID.unique(), status: 'online', permissions: readable(sender) });
    const id = answer.data.presence.$id as string;
    await log.until(named(`presences.${id}.upsert`));
    const closedAt = performance.now();
    await sender.close();
    await log.until(named(`presences.${id}.delete`), { timeoutMs: 1_000 });
    expect(performance.now() - closedAt).toBeLessThan(1_000);
    await barrier(log);
    expect(log.matching(named(`presences.${id}.delete`))).toHaveLength(1);
    expect((await keyClient(emulator.url, PROJECT, KEY).presences.list({ queries: [Query.equal('$id', id)] })).total).toBe(0);
  });

  it('announces the socket’s own snapshot, even after a REST edit', async () => {
    const sender = await user();
    const { log } = await listener();
    const answer = await publish(sender, { presenceId: ID.unique(), status: 'from socket', permissions: readable(sender) });
    const id = answer.data.presence.$id as string;
    await sender.presences.update({ presenceId: id, status: 'from rest' });
    await sender.close();
    const [deleted] = await log.until(named(`presences.${id}.delete`));
    expect(deleted!.payload).toEqual(answer.data.presence);
  });

  it('sends exactly one delete event when the row was deleted over REST first', async () => {
    const sender = await user();
    const { log } = await listener();
    const answer = await publish(sender, { presenceId: ID.unique(), status: 'online', permissions: readable(sender) });
    const id = answer.data.presence.$id as string;
    await sender.presences.delete({ presenceId: id });
    await sender.close();
    await barrier(log);
    expect(log.matching(named(`presences.${id}.delete`))).toHaveLength(1);
  });

  it('with two tabs: the first close deletes, the second close sends nothing more', async () => {
    const person = await user();
    const { log } = await listener();
    const first = await socket({ 'X-Appwrite-Session': person.token! });
    const second = await socket({ 'X-Appwrite-Session': person.token! });
    const a = await first.ask({ type: 'presence', data: { status: 'tab one', permissions: readable(person) } });
    const b = await second.ask({ type: 'presence', data: { status: 'tab two', permissions: readable(person) } });
    const id = a.data.presence.$id as string;
    expect(b.data.presence.$id).toBe(id);
    await first.close();
    await log.until(named(`presences.${id}.delete`));
    await second.close();
    await barrier(log);
    expect(log.matching(named(`presences.${id}.delete`))).toHaveLength(1);
  });
});
