/**
 * Security, end to end on the emulator with the real SDK: another user cannot change, take over
 * or delete our record (default permissions: only the owner updates or deletes) and nothing they
 * publish changes our record in anyone's roster; the email never appears in anything published
 * (requests, rows, realtime frames); a record from a team we are not scoped to — including one
 * that merely CLAIMS our team in its metadata — never enters the roster.
 */
import * as Appwrite from 'appwrite';
import { AppwriteException, ID, Permission, Role } from 'appwrite';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { useEmulator } from '../support/emulator';
import { createPresence, type PresenceController } from '../../src/presence';
import { createAppwriteTransport } from '../../src/transport/appwrite';
import { guest, keyClient, member, type SdkUser } from '../support/sdk';
import { settle, simPerson } from './support/people';
import { SimServer } from './support/sim';
import { pollUntil } from '../support/wait';

const KEY = 'security-key';
const emulator = useEmulator({ apiKey: KEY });
let projects = 0;
const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function presenceFor(user: SdkUser, teamId: string | null = null): PresenceController {
  const controller = createPresence({
    transport: createAppwriteTransport({ client: user.client, sdk: Appwrite, warn: () => undefined }),
    tabs: false,
    document: null,
    window: null,
    teamId,
  });
  cleanups.push(() => controller.dispose(), () => user.close());
  return controller;
}

async function refusal(call: Promise<unknown>): Promise<number | 'allowed'> {
  try {
    await call;
    return 'allowed';
  } catch (error) {
    if (error instanceof AppwriteException) return error.code;
    throw error;
  }
}

describe('another user cannot touch our record', () => {
  it('update, delete and take-over by id are refused; the roster keeps our record; a forged name changes nothing', async () => {
    const project = `sec-${++projects}`;
    const victim = await member(emulator.url, project, { name: 'Victim' });
    const attacker = await guest(emulator.url, project);
    const observer = await guest(emulator.url, project);
    const victimPresence = presenceFor(victim);
    const observerPresence = presenceFor(observer);
    expect(await victimPresence.start({ status: 'online' })).toBe(true);
    expect(await observerPresence.start()).toBe(true);
    await pollUntil(() => observerPresence.of(victim.userId!)?.status === 'online', 3_000);
    const row = (await keyClient(emulator.url, project, KEY).presences.list()).presences.find((r) => r.userId === victim.userId)!;
    expect(row.$permissions).toEqual([`delete("user:${victim.userId}")`, 'read("users")', `update("user:${victim.userId}")`]);

    const attempts = {
      update: await refusal(attacker.presences.update({ presenceId: row.$id, status: 'hacked' })),
      delete: await refusal(attacker.presences.delete({ presenceId: row.$id })),
      upsertSameId: await refusal(attacker.presences.upsert({ presenceId: row.$id, status: 'hacked', permissions: [Permission.read(Role.users())] })),
      widenPermissions: await refusal(attacker.presences.update({ presenceId: row.$id, permissions: [Permission.write(Role.users())] })),
    };
    expect(attempts).toEqual({ update: 401, delete: 401, upsertSameId: 409, widenPermissions: 401 });

    // The attacker publishes its own row dressed up as the victim: it stays the attacker's record.
    await attacker.presences.upsert({
      presenceId: ID.unique(),
      status: 'impersonating',
      permissions: [Permission.read(Role.users())],
      metadata: { name: 'Victim', userId: victim.userId, color: '#000' },
    });
    await pollUntil(() => observerPresence.of(attacker.userId!) !== null, 3_000);
    expect(observerPresence.of(victim.userId!)).toMatchObject({ status: 'online', metadata: { name: 'Victim' } });
    expect(observerPresence.of(attacker.userId!)).toMatchObject({ userId: attacker.userId, status: 'impersonating' });
    expect(observerPresence.of(attacker.userId!)!.color).not.toBe('#000'); // colour from the userId, never the wire
    expect(observerPresence.all().filter((p) => p.status === 'online').map((p) => p.userId).sort()).toEqual([observer.userId, victim.userId].sort());

    // The owner itself may update and delete.
    expect(await refusal(victim.presences.update({ presenceId: row.$id, status: 'busy' }))).toBe('allowed');
    expect(await refusal(victim.presences.delete({ presenceId: row.$id }))).toBe('allowed');
    await attacker.close();
  });

  it("an event carrying another row's id under a different userId only ever touches that userId's record", async () => {
    vi.useFakeTimers({ now: Date.parse('2026-08-21T10:00:00.000Z') });
    const sim = new SimServer();
    const watcher = simPerson(sim);
    const victim = sim.addUser({ name: 'Victim' });
    const mallory = sim.addUser({ name: 'Mallory' });
    try {
      sim.upsertAs(victim, { status: 'online', metadata: { name: 'Victim' } });
      expect(await settle(watcher.controller.start(), 5_000)).toBe(true);
      const victimRow = sim.rows().find((r) => r.userId === victim.id)!;
      const before = watcher.controller.of(victim.id);
      const socket = watcher.realtime()!.current!;
      const subscriptions = watcher.realtime()!.subscriptionIds();
      const later = new Date(Date.parse(victimRow.$updatedAt) + 60_000).toISOString();
      for (const action of ['upsert', 'delete'] as const) {
        socket.inject({
          type: 'event',
          data: {
            events: [`presences.${victimRow.$id}.${action}`],
            channels: ['presences'],
            timestamp: later,
            payload: { ...victimRow, userId: mallory.id, status: 'hacked', $updatedAt: later, metadata: { name: 'Victim' } },
            subscriptions,
          },
        });
        await vi.advanceTimersByTimeAsync(10);
        expect(watcher.controller.of(victim.id)).toEqual(before);
      }
    } finally {
      watcher.controller.dispose();
      vi.useRealTimers();
    }
  });
});

describe('privacy', () => {
  it('the email never appears in a request, a row or a realtime frame', async () => {
    const project = `sec-${++projects}`;
    const email = `ada.lovelace.${ID.unique()}@example.test`;
    const sent: string[] = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = String(input instanceof Request ? input.url : input);
      if (url.includes('/presences')) sent.push(`${init?.method ?? 'GET'} ${url} ${typeof init?.body === 'string' ? init.body : ''}`);
      return realFetch(input, init);
    }) as typeof fetch;
    cleanups.push(() => (globalThis.fetch = realFetch));

    const ada = await member(emulator.url, project, { name: 'Ada', email });
    const observer = await guest(emulator.url, project);
    const adaPresence = presenceFor(ada);
    const observerPresence = presenceFor(observer);
    expect(await observerPresence.start()).toBe(true);
    expect(await adaPresence.start()).toBe(true);
    expect(await adaPresence.set('reviewing', { page: 'Invoice #42' })).toBe(true);
    await pollUntil(() => observerPresence.of(ada.userId!)?.status === 'reviewing', 3_000);
    expect(observerPresence.of(ada.userId!)!.metadata.name).toBe('Ada');
    expect(await adaPresence.stop()).toBe(true);
    await pollUntil(() => observerPresence.of(ada.userId!) === null, 3_000);

    const rows = JSON.stringify((await keyClient(emulator.url, project, KEY).presences.list()).presences);
    const frames = JSON.stringify(observer.frames);
    expect(sent.some((request) => request.startsWith('PUT'))).toBe(true);
    expect(frames).toContain('reviewing');
    const localPart = email.split('@')[0]!;
    for (const [where, text] of [['requests', sent.join('\n')], ['rows', rows], ['frames', frames]] as const) {
      expect(text.includes(email) || text.includes(localPart), `email found in ${where}`).toBe(false);
    }
  });
});

describe('team scoping', () => {
  it('records from other teams, unscoped records and records that only claim our team never enter the roster', async () => {
    const project = `sec-${++projects}`;
    const admin = keyClient(emulator.url, project, KEY);
    // X belongs to red and blue and is scoped to red: its socket receives blue and users-wide rows.
    const x = await member(emulator.url, project, { name: 'X' });
    const redMate = await member(emulator.url, project, { name: 'Red mate' });
    const blueOnly = await member(emulator.url, project, { name: 'Blue only' });
    const unscoped = await guest(emulator.url, project);
    const mallory = await guest(emulator.url, project);
    await admin.teams.create({ teamId: 'red', name: 'Red' });
    await admin.teams.create({ teamId: 'blue', name: 'Blue' });
    for (const [teamId, who] of [['red', x], ['blue', x], ['red', redMate], ['blue', blueOnly]] as const) {
      await admin.teams.createMembership({ teamId, roles: [], userId: who.userId! });
    }
    const xPresence = presenceFor(x, 'red');
    const redPresence = presenceFor(redMate, 'red');
    const bluePresence = presenceFor(blueOnly, 'blue');
    const openPresence = presenceFor(unscoped, null);
    for (const controller of [xPresence, redPresence, bluePresence, openPresence]) expect(await controller.start()).toBe(true);
    // Mallory (no team at all) publishes a row readable by every user that claims team red.
    await mallory.presences.upsert({
      presenceId: ID.unique(),
      status: 'spoofing',
      permissions: [Permission.read(Role.users())],
      metadata: { name: 'Mallory', team: 'red' },
    });
    cleanups.push(() => mallory.close());

    await pollUntil(() => xPresence.of(redMate.userId!) !== null && openPresence.of(mallory.userId!) === null && bluePresence.of(x.userId!) === null, 3_000);
    // Let every event settle, then look: the blue, unscoped and spoofed rows all reached X's socket.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(x.frames.some((frame) => JSON.stringify(frame).includes('spoofing'))).toBe(true);
    expect(xPresence.all().map((p) => p.userId).sort()).toEqual([x.userId, redMate.userId].sort());
    expect(redPresence.all().map((p) => p.userId).sort()).toEqual([x.userId, redMate.userId].sort());
    expect(bluePresence.all().map((p) => p.userId)).toEqual([blueOnly.userId]);
    expect(openPresence.all().map((p) => p.userId)).toEqual([unscoped.userId]);
  });

  it('a team chosen with setTeam() before start() scopes the session (Manifest loads teams before start)', async () => {
    vi.useFakeTimers({ now: Date.parse('2026-08-21T10:00:00.000Z') });
    const sim = new SimServer();
    const person = simPerson(sim);
    sim.join(person.user, 'red');
    try {
      person.controller.setTeam('red');
      expect(await settle(person.controller.start(), 5_000)).toBe(true);
      const row = sim.rows().find((r) => r.userId === person.userId);
      expect({ scope: person.controller.actor.getSnapshot().context.teamId, team: row?.metadata?.team ?? null, read: row?.$permissions }).toEqual({
        scope: 'red',
        team: 'red',
        read: expect.arrayContaining(['read("team:red")']),
      });
    } finally {
      person.controller.dispose();
      vi.useRealTimers();
    }
  });
});
