import { AppwriteException, Channel, ID, Permission, Role } from 'appwrite';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useEmulator } from '../support/emulator';
import { EventLog, guest, keyClient, member, visitor, type KeyClient, type SdkUser } from '../support/sdk';

const PROJECT = 'team-tests';
const KEY = 'team-key';

const emulator = useEmulator({ apiKey: KEY });
let key: KeyClient;
const opened: SdkUser[] = [];

beforeAll(async () => {
  key = keyClient(emulator.url, PROJECT, KEY);
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((user) => user.close()));
});

async function person(name: string): Promise<SdkUser> {
  const created = await member(emulator.url, PROJECT, { name });
  opened.push(created);
  return created;
}

async function errorOf(promise: Promise<unknown>): Promise<{ code: number; type: string }> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect((error as Error | null)?.name).toBe('AppwriteException');
  return { code: (error as AppwriteException).code, type: (error as AppwriteException).type };
}

/** A team owned by `owner` with `others` added by the API key under the given role. */
async function team(owner: SdkUser, others: SdkUser[] = [], roles = ['member']): Promise<string> {
  const teamId = ID.unique();
  await owner.teams.create({ teamId, name: `Team ${teamId}` });
  for (const other of others) await key.teams.createMembership({ teamId, roles, userId: other.userId! });
  return teamId;
}

describe('teams', () => {
  it('makes the creator an owner and lists only my teams', async () => {
    const ada = await person('Ada');
    const bob = await person('Bob');
    const teamId = ID.unique();
    const created = await ada.teams.create({ teamId, name: 'Engineers' });
    expect(created).toMatchObject({ $id: teamId, name: 'Engineers', total: 1 });
    const { memberships } = await ada.teams.listMemberships({ teamId });
    expect(memberships).toEqual([expect.objectContaining({ userId: ada.userId, userName: 'Ada', teamId, roles: ['owner'], confirm: true })]);
    expect((await ada.teams.list()).teams.map((found) => found.$id)).toContain(teamId);
    expect((await bob.teams.list()).teams.map((found) => found.$id)).not.toContain(teamId);
    expect(await errorOf(bob.teams.listMemberships({ teamId }))).toEqual({ code: 404, type: 'team_not_found' });
  });

  it('lets an API key add a user directly, once', async () => {
    const ada = await person('Ada');
    const bob = await person('Bob');
    const teamId = await team(ada);
    const membership = await key.teams.createMembership({ teamId, roles: ['editor'], userId: bob.userId! });
    expect(membership).toMatchObject({ userId: bob.userId, teamId, roles: ['editor'], confirm: true });
    expect((await bob.teams.list()).teams.map((found) => found.$id)).toEqual([teamId]);
    expect((await bob.teams.get({ teamId })).total).toBe(2);
    expect(await errorOf(key.teams.createMembership({ teamId, roles: [], userId: bob.userId! }))).toEqual({ code: 409, type: 'team_invite_already_exists' });
    expect((await errorOf(key.teams.createMembership({ teamId, roles: [], userId: 'nobody' }))).code).toBe(404);
  });

  it('does not emulate e-mail invitations and keeps guests out', async () => {
    const ada = await person('Ada');
    const teamId = await team(ada);
    expect(await errorOf(ada.teams.createMembership({ teamId, roles: [], email: 'x@example.test' }))).toEqual({ code: 405, type: 'general_not_implemented' });
    expect((await errorOf(visitor(emulator.url, PROJECT).teams.list())).code).toBe(401);
  });
});

describe('team roles in permissions and routing', () => {
  it('lets team members read a team-scoped row and keeps others out', async () => {
    const ada = await person('Ada');
    const bob = await person('Bob');
    const eve = await person('Eve');
    const teamId = await team(ada, [bob]);
    const row = await ada.presences.upsert({ presenceId: ID.unique(), status: 'in team', permissions: [Permission.read(Role.team(teamId))] });
    expect((await bob.presences.get({ presenceId: row.$id })).status).toBe('in team');
    expect((await errorOf(eve.presences.get({ presenceId: row.$id }))).code).toBe(404);
    expect((await bob.presences.list()).presences.map((found) => found.$id)).toContain(row.$id);
    expect((await eve.presences.list()).presences.map((found) => found.$id)).not.toContain(row.$id);
  });

  it('honours team:<id>/<role> and refuses granting a team one is not in', async () => {
    const ada = await person('Ada');
    const bob = await person('Bob');
    const teamId = await team(ada, [bob], ['member']);
    const row = await ada.presences.upsert({ presenceId: ID.unique(), status: 'owners', permissions: [Permission.read(Role.team(teamId, 'owner'))] });
    expect((await ada.presences.get({ presenceId: row.$id })).status).toBe('owners');
    expect((await errorOf(bob.presences.get({ presenceId: row.$id }))).code).toBe(404);
    const stranger = await guest(emulator.url, PROJECT);
    opened.push(stranger);
    expect(await errorOf(stranger.presences.upsert({ presenceId: ID.unique(), status: 'x', permissions: [Permission.read(Role.team(teamId))] }))).toEqual({
      code: 401,
      type: 'user_unauthorized',
    });
  });

  it('routes team-scoped events to members only, including members added while connected', async () => {
    const ada = await person('Ada');
    const bob = await person('Bob');
    const eve = await person('Eve');
    const teamId = await team(ada, [bob]);
    const logs = { bob: new EventLog(), eve: new EventLog() };
    await bob.subscribe([Channel.presences()], logs.bob.callback);
    await eve.subscribe([Channel.presences()], logs.eve.callback);
    const scoped = [Permission.read(Role.team(teamId)), Permission.update(Role.user(ada.userId!))];
    await ada.presences.upsert({ presenceId: ID.unique(), status: 'first', permissions: scoped });
    await logs.bob.until((event) => event.payload.status === 'first');
    await key.teams.createMembership({ teamId, roles: [], userId: eve.userId! });
    await ada.presences.upsert({ presenceId: ID.unique(), status: 'second', permissions: scoped });
    await logs.eve.until((event) => event.payload.status === 'second');
    expect(logs.eve.events.map((event) => event.payload.status)).toEqual(['second']);
    expect(logs.bob.events.map((event) => event.payload.status)).toEqual(['first', 'second']);
  });
});
