import { AppwriteException, ID, Permission, Query, Role } from 'appwrite';
import { beforeAll, describe, expect, it } from 'vitest';
import { useEmulator } from '../support/emulator';
import { guest, keyClient, type KeyClient, type SdkUser } from '../support/sdk';
import { call, expectErrorShape } from './wire';

const PROJECT = 'presence-rest';
const KEY = 'rest-test-key';
const MINUTE = 60_000;

let clockOffset = 0;
const emulator = useEmulator({ apiKey: KEY, clock: { now: () => Date.now() + clockOffset } });
let key: KeyClient;

beforeAll(async () => {
  key = keyClient(emulator.url, PROJECT, KEY);
});

/** The error of a rejected SDK call (`appwrite` or `node-appwrite`): code, type and message. */
async function failure(promise: Promise<unknown>): Promise<{ code: number; type: string; message: string }> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(Error);
  expect((error as Error).name).toBe('AppwriteException');
  const { code, type, message } = error as AppwriteException;
  return { code, type, message };
}

const upsert = (user: SdkUser, status = 'online', extra: Record<string, unknown> = {}) =>
  user.presences.upsert({ presenceId: ID.unique(), status, ...extra });

describe('upsert', () => {
  it('returns the Presence model with owner-only defaults and 15 minutes of life', async () => {
    const ada = await guest(emulator.url, PROJECT);
    const before = Date.now();
    const row = await ada.presences.upsert({ presenceId: 'ada-row', status: 'online', metadata: { device: 'web' } });
    expect(Object.keys(row)).toEqual(['$id', '$createdAt', '$updatedAt', '$permissions', 'userId', 'status', 'source', 'expiresAt', 'metadata']);
    expect(row).toMatchObject({ $id: 'ada-row', userId: ada.userId, status: 'online', source: 'rest', metadata: { device: 'web' } });
    const u = ada.userId;
    expect(row.$permissions).toEqual([`delete("user:${u}")`, `read("user:${u}")`, `update("user:${u}")`, `write("user:${u}")`]);
    const life = Date.parse(row.expiresAt!) - before;
    expect(life).toBeGreaterThanOrEqual(15 * MINUTE - 1_000);
    expect(life).toBeLessThanOrEqual(15 * MINUTE + 1_000);
  });

  it('keeps one row per user: a second upsert with another id rewrites the first row', async () => {
    const user = await guest(emulator.url, PROJECT);
    const first = await user.presences.upsert({ presenceId: ID.unique(), status: 'online', metadata: { a: 1 } });
    const second = await user.presences.upsert({ presenceId: ID.unique(), status: 'busy' });
    expect(second.$id).toBe(first.$id);
    expect(second.$createdAt).toBe(first.$createdAt);
    expect(second).toMatchObject({ status: 'busy', metadata: [] });
    const mine = await key.presences.list({ queries: [Query.equal('userId', user.userId!)] });
    expect(mine.total).toBe(1);
  });

  it("refuses another user's id with 409 and leaves the owner's row intact", async () => {
    const owner = await guest(emulator.url, PROJECT);
    const intruder = await guest(emulator.url, PROJECT);
    const row = await owner.presences.upsert({ presenceId: 'contested', status: 'mine', metadata: { keep: true } });
    expect(await failure(intruder.presences.upsert({ presenceId: 'contested', status: 'yours' }))).toMatchObject({
      code: 409,
      type: 'presence_already_exists',
    });
    expect({ ...(await owner.presences.get({ presenceId: 'contested' })) }).toEqual({ ...row });
    expect((await failure(key.presences.upsert({ presenceId: 'contested', userId: intruder.userId!, status: 'key' }))).code).toBe(409);
  });

  it('validates status: 1 to 255 chars', async () => {
    const user = await guest(emulator.url, PROJECT);
    expect(await failure(upsert(user, ''))).toEqual({
      code: 400,
      type: 'general_argument_invalid',
      message: 'Invalid `status` param: Value must be a valid string and at least 1 chars and no longer than 255 chars',
    });
    expect((await failure(upsert(user, 'x'.repeat(256)))).code).toBe(400);
    expect((await upsert(user, '😀'.repeat(255))).status).toHaveLength(510);
    const missing = await call(`${emulator.url}/presences/abc`, 'PUT', { project: PROJECT, headers: { 'X-Appwrite-Session': user.token! }, body: {} });
    expect(expectErrorShape(missing).message).toBe('Param "status" is not optional.');
  });

  it('validates presenceId with the UID rules', async () => {
    const user = await guest(emulator.url, PROJECT);
    for (const presenceId of ['_leading', '.dot', '-dash', 'a'.repeat(37), 'has space', 'unique()']) {
      expect(await failure(user.presences.upsert({ presenceId, status: 'online' }))).toEqual({
        code: 400,
        type: 'general_argument_invalid',
        message: "Invalid `presenceId` param: UID must contain at most 36 chars. Valid chars are a-z, A-Z, 0-9, and underscore. Can't start with a leading underscore",
      });
    }
    expect((await user.presences.upsert({ presenceId: 'a.b-c_D9', status: 'online' })).$id).toBe('a.b-c_D9');
  });

  it('validates permissions, expands write and sorts', async () => {
    const user = await guest(emulator.url, PROJECT);
    const u = user.userId!;
    const row = await upsert(user, 'online', { permissions: [Permission.read(Role.users()), Permission.write(Role.user(u))] });
    expect(row.$permissions).toEqual([`delete("user:${u}")`, 'read("users")', `update("user:${u}")`]);
    expect((await failure(upsert(user, 'online', { permissions: ['create("any")'] }))).message).toBe(
      'Invalid `permissions` param: Permission "create("any")" is not allowed. Must be one of: read, update, delete, write.',
    );
    expect((await failure(upsert(user, 'online', { permissions: ['read("nobody")'] }))).message).toBe(
      'Invalid `permissions` param: Role "nobody" is not allowed. Must be one of: any, guests, users, user, team, member, label.',
    );
    const notList = await call(`${emulator.url}/presences/x1`, 'PUT', {
      project: PROJECT,
      headers: { 'X-Appwrite-Session': user.token! },
      body: { status: 'online', permissions: 'read("any")' },
    });
    expect(expectErrorShape(notList).message).toBe('Invalid `permissions` param: Permissions must be an array of strings.');
  });

  it('lets a session grant only roles it holds', async () => {
    const user = await guest(emulator.url, PROJECT);
    const refused = await failure(upsert(user, 'online', { permissions: [Permission.read(Role.guests())] }));
    expect(refused.code).toBe(401);
    expect(refused.type).toBe('user_unauthorized');
    expect(refused.message).toMatch(/^Permissions must be one of: \(any, users, user:/);
    expect((await upsert(user, 'online', { permissions: [Permission.read(Role.any())] })).$permissions).toEqual(['read("any")']);
  });

  it('accepts metadata objects only, preserves key order and caps the stored JSON at 64 KB', async () => {
    const user = await guest(emulator.url, PROJECT);
    for (const metadata of [['a'], 'text', 5]) {
      const result = await call(`${emulator.url}/presences/m1`, 'PUT', {
        project: PROJECT,
        headers: { 'X-Appwrite-Session': user.token! },
        body: { status: 'online', metadata },
      });
      expect(expectErrorShape(result).message).toBe('Invalid `metadata` param: Value must be a valid object.');
    }
    const ordered = { zebra: 1, apple: { y: 1, b: [2, { d: 1, c: 2 }] }, mango: null };
    const stored = await upsert(user, 'online', { metadata: ordered });
    expect(JSON.stringify(stored.metadata)).toBe(JSON.stringify(ordered));
    const raw = await call(`${emulator.url}/presences/${stored.$id}`, 'GET', { project: PROJECT, headers: { 'X-Appwrite-Session': user.token! } });
    expect(JSON.stringify(raw.body.metadata)).toBe(JSON.stringify(ordered));
    expect((await upsert(user, 'online', { metadata: JSON.stringify({ encoded: true }) })).metadata).toEqual({ encoded: true });
    expect((await upsert(user, 'online', { metadata: { fits: 'x'.repeat(65_500) } })).status).toBe('online');
    const tooBig = await failure(upsert(user, 'online', { metadata: { big: 'x'.repeat(65_536) } }));
    expect(tooBig).toMatchObject({ code: 400, type: 'document_invalid_structure' });
    // PHP's json_encode writes "€" as the 6-char \u20ac, so 11 000 of them overflow the column.
    expect((await failure(upsert(user, 'online', { metadata: { euro: '€'.repeat(11_000) } }))).code).toBe(400);
  });

  it('reads no body nested deeper than PHP does (512 levels), so the parameters go missing', async () => {
    const user = await guest(emulator.url, PROJECT);
    const nested = (depth: number) => `{"status":"deep","metadata":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
    const headers = { 'X-Appwrite-Session': user.token! };
    const tooDeep = await call(`${emulator.url}/presences/deep-row`, 'PUT', { project: PROJECT, headers, body: nested(6_000) });
    expect(expectErrorShape(tooDeep)).toMatchObject({ code: 400, message: 'Param "status" is not optional.' });
    expect((await call(`${emulator.url}/presences/deep-row`, 'PUT', { project: PROJECT, headers, body: nested(500) })).status).toBe(200);
  });

  it('takes expiresAt only in the future and at most 30 days ahead', async () => {
    const user = await guest(emulator.url, PROJECT);
    const at = (ms: number) => new Date(Date.now() + ms).toISOString();
    const row = await upsert(user, 'online', { expiresAt: at(29 * 24 * 60 * MINUTE) });
    expect(Date.parse(row.expiresAt!)).toBeGreaterThan(Date.now() + 28 * 24 * 60 * MINUTE);
    for (const expiresAt of [at(-MINUTE), at(31 * 24 * 60 * MINUTE), 'tomorrow', '']) {
      const result = await failure(upsert(user, 'online', { expiresAt }));
      expect(result.code).toBe(400);
      expect(result.message).toMatch(/^Invalid `expiresAt` param: Value must be valid date in future/);
    }
  });

  it('refuses userId from sessions, requires it from keys, and checks the user exists', async () => {
    const user = await guest(emulator.url, PROJECT);
    const fromSession = await call(`${emulator.url}/presences/p1`, 'PUT', {
      project: PROJECT,
      headers: { 'X-Appwrite-Session': user.token! },
      body: { status: 'online', userId: user.userId },
    });
    expect(expectErrorShape(fromSession)).toMatchObject({
      code: 401,
      type: 'general_unauthorized_scope',
      message: 'userId is not allowed for non-API key and non-privileged users',
    });
    const noUser = await call(`${emulator.url}/presences/p1`, 'PUT', { project: PROJECT, headers: { 'X-Appwrite-Key': KEY }, body: { status: 'on' } });
    expect(expectErrorShape(noUser)).toMatchObject({ code: 400, type: 'general_bad_request', message: 'userId is required for API key authentication' });
    expect(await failure(key.presences.upsert({ presenceId: ID.unique(), userId: 'nobody-here', status: 'on' }))).toMatchObject({
      code: 404,
      type: 'user_not_found',
    });
    const byKey = await key.presences.upsert({ presenceId: ID.unique(), userId: user.userId!, status: 'set by key' });
    expect(byKey.$permissions).toContain(`read("user:${user.userId}")`);
    expect((await user.presences.get({ presenceId: byKey.$id })).status).toBe('set by key');
  });

  it('records the GraphQL source when the resolver header is present', async () => {
    const user = await guest(emulator.url, PROJECT);
    const result = await call(`${emulator.url}/presences/gql-row`, 'PUT', {
      project: PROJECT,
      headers: { 'X-Appwrite-Session': user.token!, 'x-appwrite-source': 'graphql' },
      body: { status: 'online' },
    });
    expect(result.body.source).toBe('graphql');
  });
});

describe('document permissions', () => {
  it("hides another user's default row from get and list", async () => {
    const owner = await guest(emulator.url, PROJECT);
    const other = await guest(emulator.url, PROJECT);
    const row = await upsert(owner);
    expect(await failure(other.presences.get({ presenceId: row.$id }))).toMatchObject({ code: 404, type: 'presence_not_found' });
    const seen = await other.presences.list({ queries: [Query.equal('userId', owner.userId!)] });
    expect(seen).toMatchObject({ total: 0, presences: [] });
    expect((await key.presences.get({ presenceId: row.$id })).userId).toBe(owner.userId);
  });

  it('lets readers read but not update or delete, and owners do both', async () => {
    const owner = await guest(emulator.url, PROJECT);
    const reader = await guest(emulator.url, PROJECT);
    const row = await upsert(owner, 'online', { permissions: [Permission.read(Role.users()), Permission.write(Role.user(owner.userId!))] });
    expect((await reader.presences.get({ presenceId: row.$id })).status).toBe('online');
    expect(await failure(reader.presences.update({ presenceId: row.$id, status: 'hijacked' }))).toMatchObject({ code: 401, type: 'user_unauthorized' });
    expect((await failure(reader.presences.delete({ presenceId: row.$id }))).code).toBe(401);
    expect((await owner.presences.update({ presenceId: row.$id, status: 'away' })).status).toBe('away');
    await owner.presences.delete({ presenceId: row.$id });
    expect((await failure(owner.presences.get({ presenceId: row.$id }))).code).toBe(404);
  });

  it('lets explicit grants allow other users to update', async () => {
    const owner = await guest(emulator.url, PROJECT);
    const helper = await guest(emulator.url, PROJECT);
    const row = await upsert(owner, 'online', { permissions: [Permission.read(Role.users()), Permission.update(Role.users())] });
    expect((await helper.presences.update({ presenceId: row.$id, status: 'edited' })).status).toBe('edited');
  });

  it('hides a row with no permissions from everybody but keys', async () => {
    const owner = await guest(emulator.url, PROJECT);
    const row = await upsert(owner, 'online', { permissions: [] });
    expect(row.$permissions).toEqual([]);
    expect((await failure(owner.presences.get({ presenceId: row.$id }))).code).toBe(404);
    expect((await key.presences.get({ presenceId: row.$id })).$id).toBe(row.$id);
  });
});

describe('update and delete', () => {
  it('changes only the fields sent; metadata is replaced whole', async () => {
    const user = await guest(emulator.url, PROJECT);
    const row = await upsert(user, 'online', { metadata: { a: { deep: 1 }, b: 2 } });
    const statusOnly = await user.presences.update({ presenceId: row.$id, status: 'away' });
    expect(statusOnly).toMatchObject({ status: 'away', metadata: { a: { deep: 1 }, b: 2 }, expiresAt: row.expiresAt, source: 'rest' });
    const replaced = await user.presences.update({ presenceId: row.$id, metadata: { a: { other: 2 } } });
    expect(replaced.metadata).toEqual({ a: { other: 2 } });
    const untouched = await user.presences.update({ presenceId: row.$id });
    expect(untouched.$updatedAt).toBe(replaced.$updatedAt);
  });

  it('refuses userId from sessions; a key reassigns the row and resets its permissions', async () => {
    const from = await guest(emulator.url, PROJECT);
    const to = await guest(emulator.url, PROJECT);
    const row = await upsert(from);
    const bySession = await call(`${emulator.url}/presences/${row.$id}`, 'PATCH', {
      project: PROJECT,
      headers: { 'X-Appwrite-Session': from.token! },
      body: { userId: to.userId },
    });
    expect(expectErrorShape(bySession).code).toBe(401);
    const moved = await key.presences.update({ presenceId: row.$id, userId: to.userId! });
    expect(moved.userId).toBe(to.userId);
    expect(moved.$permissions).toContain(`update("user:${to.userId}")`);
    expect((await failure(from.presences.get({ presenceId: row.$id }))).code).toBe(404);
    expect((await to.presences.get({ presenceId: row.$id })).$id).toBe(row.$id);
  });

  it('answers 404 for unknown rows and deletes once', async () => {
    const user = await guest(emulator.url, PROJECT);
    expect((await failure(user.presences.update({ presenceId: 'never-was', status: 'x' }))).code).toBe(404);
    const row = await upsert(user);
    await user.presences.delete({ presenceId: row.$id });
    expect(await failure(user.presences.delete({ presenceId: row.$id }))).toMatchObject({ code: 404, type: 'presence_not_found' });
  });
});

describe('expiry', () => {
  it('hides expired rows from get, patch and list, but still deletes them', async () => {
    const user = await guest(emulator.url, PROJECT);
    const row = await upsert(user, 'online', {
      expiresAt: new Date(Date.now() + 2 * MINUTE).toISOString(),
      permissions: [Permission.read(Role.users()), Permission.write(Role.user(user.userId!))],
    });
    expect((await user.presences.list({ queries: [Query.equal('$id', row.$id)] })).total).toBe(1);
    clockOffset += 3 * MINUTE;
    try {
      expect((await failure(user.presences.get({ presenceId: row.$id }))).code).toBe(404);
      expect((await failure(user.presences.update({ presenceId: row.$id, status: 'late' }))).code).toBe(404);
      expect((await user.presences.list({ queries: [Query.equal('$id', row.$id)] })).total).toBe(0);
      expect((await key.presences.list({ queries: [Query.equal('$id', row.$id)] })).total).toBe(0);
      await user.presences.delete({ presenceId: row.$id });
    } finally {
      clockOffset -= 3 * MINUTE;
    }
  });

  it("lets the owner's next upsert revive an expired row under its old id", async () => {
    const user = await guest(emulator.url, PROJECT);
    const row = await upsert(user, 'online', { expiresAt: new Date(Date.now() + MINUTE).toISOString() });
    clockOffset += 2 * MINUTE;
    try {
      const revived = await upsert(user, 'back');
      expect(revived.$id).toBe(row.$id);
      expect((await user.presences.get({ presenceId: row.$id })).status).toBe('back');
    } finally {
      clockOffset -= 2 * MINUTE;
    }
  });
});

describe('list queries', () => {
  const project = 'presence-queries';
  let users: SdkUser[];

  beforeAll(async () => {
    users = [];
    for (const status of ['online', 'away', 'online', 'busy']) {
      const user = await guest(emulator.url, project);
      await user.presences.upsert({ presenceId: ID.unique(), status, permissions: [Permission.read(Role.users())] });
      users.push(user);
    }
  });

  const ids = (list: { presences: { userId: string }[] }) => list.presences.map((row) => row.userId);

  it('filters on userId, status, source and expiresAt and counts the total', async () => {
    const [a, b, c, d] = users as [SdkUser, SdkUser, SdkUser, SdkUser];
    expect(ids(await a.presences.list({ queries: [Query.equal('userId', [b.userId!, d.userId!])] }))).toEqual([b.userId, d.userId]);
    const online = await a.presences.list({ queries: [Query.equal('status', 'online')] });
    expect([online.total, ids(online)]).toEqual([2, [a.userId, c.userId]]);
    expect((await a.presences.list({ queries: [Query.notEqual('status', 'online')] })).total).toBe(2);
    expect((await a.presences.list({ queries: [Query.equal('source', 'realtime')] })).total).toBe(0);
    const later = new Date(Date.now() + 10 * MINUTE).toISOString();
    expect((await a.presences.list({ queries: [Query.greaterThan('expiresAt', later)] })).total).toBe(4);
    expect((await a.presences.list({ queries: [Query.lessThan('expiresAt', later)] })).total).toBe(0);
  });

  it('pages with limit, offset, order and cursors; total ignores the page', async () => {
    const [a] = users as [SdkUser];
    const all = ids(await a.presences.list());
    const page = await a.presences.list({ queries: [Query.limit(2), Query.offset(1)] });
    expect([page.total, ids(page)]).toEqual([4, all.slice(1, 3)]);
    expect(ids(await a.presences.list({ queries: [Query.orderDesc('$sequence')] }))).toEqual([...all].reverse());
    const first = (await a.presences.list({ queries: [Query.limit(1)] })).presences[0]!;
    expect(ids(await a.presences.list({ queries: [Query.cursorAfter(first.$id)] }))).toEqual(all.slice(1));
    const last = (await a.presences.list()).presences[3]!;
    expect(ids(await a.presences.list({ queries: [Query.cursorBefore(last.$id), Query.limit(2)] }))).toEqual(all.slice(1, 3));
    expect((await a.presences.list({ total: false })).total).toBe(0);
  });

  it('refuses malformed queries with 400 general_query_invalid', async () => {
    const [a] = users as [SdkUser];
    expect(await failure(a.presences.list({ queries: ['{not json'] }))).toEqual({
      code: 400,
      type: 'general_query_invalid',
      message: 'Invalid query: Syntax error',
    });
    expect((await failure(a.presences.list({ queries: [Query.equal('metadata', 'x')] }))).message).toBe('Invalid query: Attribute not found in schema: metadata');
    expect((await failure(a.presences.list({ queries: [Query.search('status', 'x')] }))).type).toBe('general_query_invalid');
    expect((await failure(a.presences.list({ queries: [Query.limit(0)] }))).code).toBe(400);
    expect((await failure(a.presences.list({ queries: [Query.greaterThan('expiresAt', 'not a date')] }))).code).toBe(400);
    expect(await failure(a.presences.list({ queries: [Query.cursorAfter('no-such-row')] }))).toMatchObject({ code: 400, type: 'general_cursor_not_found' });
  });

  it('pages through 1,000 presences returning each exactly once', async () => {
    const pagingProject = 'presence-paging';
    const paging = keyClient(emulator.url, pagingProject, KEY);
    const created: string[] = [];
    for (let batch = 0; batch < 1_000; batch += 50) {
      const rows = await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const userId = `user-${batch + i}`;
          await paging.users.create({ userId });
          return paging.presences.upsert({ presenceId: `row-${batch + i}`, userId, status: 'online' });
        }),
      );
      created.push(...rows.map((row) => row.$id));
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const queries = [Query.limit(97), ...(cursor ? [Query.cursorAfter(cursor)] : [])];
      const page = await paging.presences.list({ queries });
      expect(page.total).toBe(1_000);
      if (page.presences.length === 0) break;
      seen.push(...page.presences.map((row) => row.$id));
      cursor = page.presences.at(-1)!.$id;
    }
    expect(seen).toHaveLength(1_000);
    expect(new Set(seen)).toEqual(new Set(created));
  });
});
