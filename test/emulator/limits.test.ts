import { Channel, ID, Permission, Query, Role } from 'appwrite';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index';
import { EventLog, guest, keyClient, named, type SdkUser } from '../support/sdk';
import { openSocket, realtimeUrl, type RawSocket } from './wire';

const PROJECT = 'limit-tests';
const KEY = 'limit-key';
const MINUTE = 60_000;

describe('--abuse', () => {
  // Pinned to the middle of a minute: the limits count in fixed windows aligned to the minute.
  const pinned = Math.floor(Date.now() / MINUTE) * MINUTE + 30_000;
  let emulator: Emulator;
  const sockets: RawSocket[] = [];

  beforeAll(async () => {
    emulator = await startEmulator({ port: 0, abuse: true, clock: { now: () => pinned } });
  });
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((socket) => socket.close()));
    emulator.reset();
  });
  afterAll(async () => {
    await emulator.close();
  });

  it('answers the 33rd message of a minute with 1013 and keeps the socket', async () => {
    const socket = await openSocket(realtimeUrl(emulator.url, PROJECT));
    sockets.push(socket);
    for (let i = 0; i < 32; i++) expect(await socket.ask({ type: 'ping' })).toEqual({ type: 'pong' });
    expect(await socket.ask({ type: 'ping' })).toEqual({ type: 'error', data: { code: 1013, message: 'Too many messages.' } });
    expect(socket.ws.readyState).toBe(socket.ws.OPEN);
  });

  it('refuses the 129th connection of a minute from one address with 1013 and closes it', async () => {
    sockets.push(...(await Promise.all(Array.from({ length: 128 }, () => openSocket(realtimeUrl(emulator.url, PROJECT))))));
    expect(sockets.every((socket) => socket.frames[0]!.type === 'connected')).toBe(true);
    const refused = await openSocket(realtimeUrl(emulator.url, PROJECT));
    expect(refused.frames[0]).toEqual({ type: 'error', data: { code: 1013, message: 'Too many requests' } });
    expect((await refused.closed).code).toBe(1013);
  });
});

describe('expiry', () => {
  let offset = 0;
  const clock = { now: () => Date.now() + offset };
  const emulators: Emulator[] = [];
  const opened: SdkUser[] = [];

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((user) => user.close()));
    offset = 0;
  });
  afterAll(async () => {
    await Promise.all(emulators.map((emulator) => emulator.close()));
  });

  async function setUp(options: { expiryEvents: boolean }) {
    const emulator = await startEmulator({ port: 0, apiKey: KEY, clock, sweepEveryMs: 20, ...options });
    emulators.push(emulator);
    const watcher = await guest(emulator.url, PROJECT);
    const writer = await guest(emulator.url, PROJECT);
    opened.push(watcher, writer);
    const log = new EventLog();
    await watcher.subscribe([Channel.presences()], log.callback);
    const row = await writer.presences.upsert({
      presenceId: ID.unique(),
      status: 'short-lived',
      expiresAt: new Date(clock.now() + MINUTE).toISOString(),
      permissions: [Permission.read(Role.users()), Permission.write(Role.user(writer.userId!))],
    });
    return { emulator, writer, log, row, key: keyClient(emulator.url, PROJECT, KEY) };
  }

  it('with --expiry-events, announces presences.<id>.delete when a row expires', async () => {
    const { log, row, key } = await setUp({ expiryEvents: true });
    offset = 2 * MINUTE;
    const [deleted] = await log.until(named(`presences.${row.$id}.delete`), { timeoutMs: 3_000 });
    expect(deleted!.payload).toMatchObject({ $id: row.$id, status: 'short-lived' });
    expect((await key.presences.list({ queries: [Query.equal('$id', row.$id)] })).total).toBe(0);
  });

  it('by default, purges expired rows silently, as the open-source server does', async () => {
    const { writer, log, row, key } = await setUp({ expiryEvents: false });
    offset = 2 * MINUTE;
    // Hidden at once; purged by the next sweep, after which even DELETE (which ignores expiry) finds nothing.
    expect((await key.presences.list({ queries: [Query.equal('$id', row.$id)] })).total).toBe(0);
    expect(await key.presences.get({ presenceId: row.$id }).then(() => 200, (error: { code: number }) => error.code)).toBe(404);
    // The sweep runs every 20 ms in this process: a 100 ms timer fires after at least one sweep
    // (Node runs due timers in order), however late both are. (A DELETE before it would find the
    // row and announce its deletion — the event this test says never comes.)
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await writer.presences.delete({ presenceId: row.$id }).then(() => 204, (error: { code: number }) => error.code)).toBe(404);
    const marker = await writer.presences.upsert({ presenceId: ID.unique(), status: 'after the purge', permissions: [Permission.read(Role.users())] });
    await log.until((event) => event.payload.$id === marker.$id && event.payload.status === 'after the purge');
    expect(log.matching(named(`presences.${row.$id}.delete`))).toEqual([]);
  });
});
