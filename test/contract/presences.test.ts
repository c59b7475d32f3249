/**
 * The protocol contract the library relies on, checked against a real Appwrite
 * (`npm run test:appwrite` with APPWRITE_ENDPOINT, APPWRITE_PROJECT_ID, APPWRITE_API_KEY) or a
 * fresh emulator (`npm test`): one row per user, owner-only writes, realtime routing by read role,
 * cursor paging, expiry hidden on read, the socket-close delete, and one createPresence round
 * trip. Only the real SDKs speak to the server (appwrite for people, node-appwrite for the key).
 * Where a real server may answer differently from our emulator, both answers are accepted and
 * the reason is given beside the check.
 */
import { Query as KeyQuery } from 'node-appwrite';
import { afterEach, describe, expect, it } from 'vitest';
import { createAppwriteTransport, createPresence, type PresenceController } from '../../src/index';
import { untilChange } from '../support/wait';
import { Appwrite, EventLog, ID, Query, named, refusal, useContract } from './support';

const contract = useContract();
const running: PresenceController[] = [];

afterEach(() => {
  for (const controller of running.splice(0)) controller.dispose();
});

const owner = (userId: string) => ['read', 'update', 'delete'].map((action) => `${action}("user:${userId}")`);
const rowsOf = async (userId: string) =>
  (await contract.key.presences.list({ queries: [KeyQuery.equal('userId', [userId])] })).presences;

describe('one row per user', () => {
  it("keeps the existing row's id when the user upserts under another id", async () => {
    const [a] = await contract.people(1);
    const first = await a!.presences.upsert({ presenceId: ID.unique(), status: 'online' });
    const second = await a!.presences.upsert({ presenceId: ID.unique(), status: 'busy' });
    expect(second.$id).toBe(first.$id);
    expect(second.userId).toBe(a!.userId);
    expect(second.status).toBe('busy');
    expect((await rowsOf(a!.userId)).map((row) => [row.$id, row.status])).toEqual([[first.$id, 'busy']]);
  });

  it("refuses another user's row id and leaves that row untouched", async () => {
    const [a, b] = await contract.people(2);
    const row = await a!.presences.upsert({ presenceId: ID.unique(), status: 'mine' });
    const refused = await refusal(b!.presences.upsert({ presenceId: row.$id, status: 'stolen' }));
    // The emulator answers 409 presence_already_exists (Appwrite's answer on adapters without
    // upsert-on-unique-index); Appwrite on MariaDB reaches the foreign row and fails its update
    // permission check: 401 user_unauthorized. Appwrite's own e2e test only asserts "not 200".
    expect([409, 401]).toContain(refused.code);
    const kept = await contract.key.presences.get({ presenceId: row.$id });
    expect([kept.userId, kept.status]).toEqual([a!.userId, 'mine']);
    expect(await rowsOf(b!.userId)).toEqual([]);
  });
});

describe('permissions', () => {
  it("default to the owner alone: others cannot read, update or delete the row", async () => {
    const [a, b] = await contract.people(2);
    const row = await a!.presences.upsert({ presenceId: ID.unique(), status: 'private' });
    expect(row.$permissions).toEqual(expect.arrayContaining(owner(a!.userId)));
    expect(row.$permissions.every((permission) => permission.includes(`"user:${a!.userId}"`))).toBe(true);
    expect(await refusal(b!.presences.get({ presenceId: row.$id }))).toEqual({ code: 404, type: 'presence_not_found' });
    expect((await refusal(b!.presences.update({ presenceId: row.$id, status: 'changed' }))).code).toBe(404);
    expect((await refusal(b!.presences.delete({ presenceId: row.$id }))).code).toBe(404);
  });

  it('a row readable by all users is still written only by its owner', async () => {
    const [a, b] = await contract.people(2);
    const permissions = ['read("users")', `update("user:${a!.userId}")`, `delete("user:${a!.userId}")`];
    const row = await a!.presences.upsert({ presenceId: ID.unique(), status: 'shared', permissions });
    expect((await b!.presences.get({ presenceId: row.$id })).status).toBe('shared');
    expect((await refusal(b!.presences.update({ presenceId: row.$id, status: 'changed' }))).code).toBe(401);
    expect((await refusal(b!.presences.delete({ presenceId: row.$id }))).code).toBe(401);
    expect((await a!.presences.update({ presenceId: row.$id, status: 'still mine' })).status).toBe('still mine');
  });
});

describe('realtime events', () => {
  it('reach only the connections whose roles may read the row (users, team, one user)', async () => {
    const teamId = await contract.team();
    const [a, teammate] = await contract.people(2, { teamId });
    const [outsider] = await contract.people(1);
    const seenByTeammate = new EventLog();
    const seenByOutsider = new EventLog();
    await teammate!.subscribe(['presences'], seenByTeammate.callback);
    await outsider!.subscribe(['presences'], seenByOutsider.callback);
    const presenceId = ID.unique();
    const write = (status: string, read: string) =>
      a!.presences.upsert({ presenceId, status, permissions: [`read("${read}")`, `update("user:${a!.userId}")`, `delete("user:${a!.userId}")`] });
    const status = (value: string) => (event: { events: string[]; payload: { status?: string } }) =>
      event.events.includes('presences.*.upsert') && event.payload.status === value;

    await write('for users', 'users');
    await seenByTeammate.until(status('for users'));
    await seenByOutsider.until(status('for users'));
    await write('for the team', `team:${teamId}`);
    await write('for a alone', `user:${a!.userId}`);
    await write('last', 'users');
    // Events of one row reach a connection in order: once `last` arrived, nothing earlier is pending.
    await seenByTeammate.until(status('last'));
    await seenByOutsider.until(status('last'));
    expect(seenByTeammate.events.map((event) => (event.payload as { status: string }).status)).toEqual(['for users', 'for the team', 'last']);
    expect(seenByOutsider.events.map((event) => (event.payload as { status: string }).status)).toEqual(['for users', 'last']);
  });

  it("a socket's own presence row is deleted, with one delete event, when the socket closes", async () => {
    const [a, b] = await contract.people(2);
    const seen = new EventLog();
    await b!.subscribe(['presences'], seen.callback);
    // Subscribing first makes the SDK authenticate the socket before the presence frame is sent.
    await a!.subscribe(['presences'], () => undefined);
    const presenceId = ID.unique();
    await a!.realtime.upsertPresence({ presenceId, status: 'on the socket', permissions: ['read("users")'] });
    const [upserted] = await seen.until((event) => named('presences.*.upsert')(event) && event.payload.userId === a!.userId);
    expect(upserted!.payload).toMatchObject({ userId: a!.userId, status: 'on the socket', source: 'realtime' });
    const rowId = upserted!.payload.$id;

    await a!.realtime.disconnect();
    const [deleted] = await seen.until((event) => named('presences.*.delete')(event) && event.payload.$id === rowId);
    expect(deleted!.payload).toMatchObject({ userId: a!.userId, status: 'on the socket' });
    expect(deleted!.events).toContain(`presences.${rowId}.delete`);
    expect((await refusal(contract.key.presences.get({ presenceId: rowId }))).code).toBe(404);
    expect(seen.matching((event) => named('presences.*.delete')(event) && event.payload.$id === rowId)).toHaveLength(1);
  });
});

describe('listing', () => {
  it('pages through every row with cursors, none twice, the total on every page', async () => {
    const ids = await contract.accounts(7);
    for (const [index, userId] of ids.entries()) {
      await contract.key.presences.upsert({ presenceId: ID.unique(), userId, status: `row ${index}`, permissions: ['read("users")'] });
    }
    const [viewer] = await contract.people(1);
    const seen: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const queries: string[] = [Query.equal('userId', ids), Query.limit(3), ...(cursor ? [Query.cursorAfter(cursor)] : [])];
      const { total, presences }: { total: number; presences: { $id: string; userId: string }[] } = await viewer!.presences.list({ queries });
      expect(total).toBe(7);
      if (presences.length === 0) break;
      sizes.push(presences.length);
      seen.push(...presences.map((row) => row.userId));
      cursor = presences.at(-1)!.$id;
    }
    expect(sizes).toEqual([3, 3, 1]);
    expect([...seen].sort()).toEqual([...ids].sort());
  });

  it("hides a row once it is past its expiresAt (get 404, left out of lists), by the server's clock", async () => {
    const [a] = await contract.people(1);
    const sent = Date.now();
    const first = await a!.presences.upsert({ presenceId: ID.unique(), status: 'clock' });
    // Server time minus local time, within one round trip: the row's $updatedAt is the server's now.
    const offset = Date.parse(first.$updatedAt) - (sent + Date.now()) / 2;
    const expiresAt = Date.now() + offset + 2_000;
    const row = await a!.presences.upsert({ presenceId: first.$id, status: 'short-lived', expiresAt: new Date(expiresAt).toISOString() });
    expect((await a!.presences.get({ presenceId: row.$id })).status).toBe('short-lived');

    // Time itself is the subject here: wait until the server's clock has passed expiresAt.
    await new Promise((resolve) => setTimeout(resolve, expiresAt - (Date.now() + offset) + 500));
    expect(await refusal(a!.presences.get({ presenceId: row.$id }))).toEqual({ code: 404, type: 'presence_not_found' });
    expect((await a!.presences.list({ queries: [Query.equal('userId', [a!.userId])] })).presences).toEqual([]);
    expect(await rowsOf(a!.userId)).toEqual([]);
  });
});

describe('createPresence between two users', () => {
  it('one joins and the other sees them online; they stop and the other sees them gone', async () => {
    const [a, b] = await contract.people(2);
    const start = (who: typeof a) => {
      const controller = createPresence({
        transport: createAppwriteTransport({ client: who!.client, sdk: Appwrite }),
        tabs: false,
        document: null,
        window: null,
      });
      running.push(controller);
      return controller;
    };
    const [alice, bob] = [start(a), start(b)];
    const until = (controller: PresenceController, probe: () => boolean) =>
      untilChange(controller, probe, 10_000, () => JSON.stringify(controller.all().map((person) => [person.userId, person.status])));

    expect(await alice.start()).toBe(true);
    expect(await bob.start({ status: 'busy' })).toBe(true);
    await until(bob, () => bob.of(a!.userId)?.status === 'online');
    await until(alice, () => alice.of(b!.userId)?.status === 'busy');
    expect(bob.of(a!.userId)?.metadata.name).toBe(a!.name);

    expect(await alice.stop()).toBe(true);
    await until(bob, () => bob.of(a!.userId) === null);
    expect(await rowsOf(a!.userId)).toEqual([]);
  });
});
