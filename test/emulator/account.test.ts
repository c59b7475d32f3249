import { Account, AppwriteException, Client, ID } from 'appwrite';
import { describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index';
import { useEmulator } from '../support/emulator';
import { guest, member, visitor } from '../support/sdk';
import { call, expectErrorShape } from './wire';

const PROJECT = 'account-tests';
const emulator = useEmulator();

async function rejection(promise: Promise<unknown>): Promise<AppwriteException> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AppwriteException);
  return error as AppwriteException;
}

describe('account', () => {
  it('creates a named user whose email-password session reads the account', async () => {
    const bob = await member(emulator.url, PROJECT, { name: 'Bob', email: 'bob@example.test' });
    const account = await bob.account.get();
    expect(account).toMatchObject({ $id: bob.userId, name: 'Bob', email: 'bob@example.test', emailVerification: false, prefs: {} });
    expect(account.$createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/);
  });

  it('gives anonymous users an empty name and email', async () => {
    const anonymous = await guest(emulator.url, PROJECT);
    expect(await anonymous.account.get()).toMatchObject({ $id: anonymous.userId, name: '', email: '' });
  });

  it('updates the name', async () => {
    const user = await guest(emulator.url, PROJECT);
    expect((await user.account.updateName({ name: 'Ada' })).name).toBe('Ada');
    expect((await user.account.get()).name).toBe('Ada');
  });

  it('refuses a duplicate email and a wrong password', async () => {
    const email = `${ID.unique()}@example.test`;
    await member(emulator.url, PROJECT, { email, password: 'right-password' });
    const account = new Account(new Client().setEndpoint(emulator.url).setProject(PROJECT));
    const duplicate = await rejection(account.create({ userId: ID.unique(), email, password: 'another-password' }));
    expect([duplicate.code, duplicate.type]).toEqual([409, 'user_already_exists']);
    const wrong = await call(`${emulator.url}/account/sessions/email`, 'POST', {
      project: PROJECT,
      body: { email, password: 'wrong-password' },
    });
    expect(expectErrorShape(wrong)).toMatchObject({ code: 401, type: 'user_invalid_credentials' });
  });

  it('validates parameters with Appwrite messages', async () => {
    const short = await call(`${emulator.url}/account`, 'POST', {
      project: PROJECT,
      body: { userId: 'unique()', email: 'a@b.test', password: 'short' },
    });
    expect(expectErrorShape(short)).toMatchObject({
      code: 400,
      type: 'general_argument_invalid',
      message: 'Invalid `password` param: Password must be between 8 and 256 characters long.',
    });
    const missing = await call(`${emulator.url}/account`, 'POST', { project: PROJECT, body: { userId: 'unique()' } });
    expect(expectErrorShape(missing).message).toBe('Param "email" is not optional.');
  });

  it('answers guests 401 with the scope message', async () => {
    const error = await rejection(visitor(emulator.url, PROJECT).account.get());
    expect([error.code, error.type, error.message]).toEqual([401, 'general_unauthorized_scope', 'User (role: guests) missing scopes (["account"])']);
    expectErrorShape(await call(`${emulator.url}/account`, 'GET', { project: PROJECT }));
  });

  it('refuses a second session while one is active', async () => {
    const user = await guest(emulator.url, PROJECT);
    const error = await rejection(user.account.createAnonymousSession());
    expect([error.code, error.type]).toEqual([401, 'user_session_already_exists']);
  });

  it('lists sessions, marks the current one and never reveals secrets', async () => {
    const email = `${ID.unique()}@example.test`;
    const first = await member(emulator.url, PROJECT, { email, password: 'password-1234' });
    const second = await call(`${emulator.url}/account/sessions/email`, 'POST', { project: PROJECT, body: { email, password: 'password-1234' } });
    const { sessions, total } = await first.account.listSessions();
    expect(total).toBe(2);
    expect(sessions.map((session) => session.current).sort()).toEqual([false, true]);
    expect(sessions.every((session) => session.secret === '')).toBe(true);
    expect(second.body.secret).toBe('');
  });

  it('deletes a given session and then the current one, which signs out', async () => {
    const email = `${ID.unique()}@example.test`;
    const user = await member(emulator.url, PROJECT, { email, password: 'password-1234' });
    const other = await call(`${emulator.url}/account/sessions/email`, 'POST', { project: PROJECT, body: { email, password: 'password-1234' } });
    await user.account.deleteSession({ sessionId: other.body.$id });
    expect((await user.account.listSessions()).total).toBe(1);
    const bye = await call(`${emulator.url}/account/sessions/current`, 'DELETE', {
      project: PROJECT,
      headers: { 'X-Appwrite-Session': user.token! },
    });
    expect(bye.status).toBe(204);
    expect(bye.headers.get('x-fallback-cookies')).toBe('[]');
    expect(bye.headers.getSetCookie().every((cookie) => cookie.includes('Expires=Thu, 01 Jan 1970'))).toBe(true);
    expect((await rejection(user.account.get())).code).toBe(401);
  });
});

describe('session transport', () => {
  it('sets both session cookies and X-Fallback-Cookies, all carrying one token', async () => {
    const created = await call(`${emulator.url}/account/sessions/anonymous`, 'POST', { project: PROJECT, body: {} });
    expect(created.status).toBe(201);
    const fallback = JSON.parse(created.headers.get('x-fallback-cookies')!) as Record<string, string>;
    const token = fallback[`a_session_${PROJECT}`]!;
    expect(JSON.parse(Buffer.from(token, 'base64').toString())).toEqual({ id: created.body.userId, secret: expect.any(String) });
    const cookies = created.headers.getSetCookie();
    expect(cookies).toEqual([
      expect.stringMatching(new RegExp(`^a_session_${PROJECT}_legacy=${escape(token)}; .*HttpOnly$`)),
      expect.stringMatching(new RegExp(`^a_session_${PROJECT}=${escape(token)}; .*HttpOnly; SameSite=None$`)),
    ]);
  });

  it('authenticates by cookie, legacy cookie, X-Appwrite-Session or X-Fallback-Cookies', async () => {
    const user = await guest(emulator.url, PROJECT);
    const name = `a_session_${PROJECT}`;
    const sources: Record<string, string>[] = [
      { cookie: `${name}=${user.token}` },
      { cookie: `other=1; ${name}_legacy=${user.token}` },
      { 'X-Appwrite-Session': user.token! },
      { 'X-Fallback-Cookies': JSON.stringify({ [name]: user.token }) },
    ];
    for (const headers of sources) {
      const result = await call(`${emulator.url}/account`, 'GET', { project: PROJECT, headers });
      expect(result.body.$id).toBe(user.userId);
    }
  });

  it('lets the first decodable source win, so a stale cookie makes a guest', async () => {
    const user = await guest(emulator.url, PROJECT);
    const stale = Buffer.from(JSON.stringify({ id: user.userId, secret: 'not-the-secret' })).toString('base64');
    const result = await call(`${emulator.url}/account`, 'GET', {
      project: PROJECT,
      headers: { cookie: `a_session_${PROJECT}=${stale}`, 'X-Appwrite-Session': user.token! },
    });
    expect(expectErrorShape(result).code).toBe(401);
    const garbage = await call(`${emulator.url}/account`, 'GET', {
      project: PROJECT,
      headers: { cookie: `a_session_${PROJECT}=%%%not-base64`, 'X-Appwrite-Session': user.token! },
    });
    expect(garbage.body.$id).toBe(user.userId);
  });

  it('keeps projects apart', async () => {
    const user = await guest(emulator.url, PROJECT);
    const elsewhere = await call(`${emulator.url}/account`, 'GET', { project: 'another-project', headers: { 'X-Appwrite-Session': user.token! } });
    expect(expectErrorShape(elsewhere).code).toBe(401);
  });
});

describe('project ids', () => {
  it('refuses a missing project id, and any other id when one project is configured', async () => {
    expect(expectErrorShape(await call(`${emulator.url}/account`, 'GET')).type).toBe('project_not_found');
    const only = await startEmulator({ port: 0, project: 'the-one' });
    try {
      expect(expectErrorShape(await call(`${only.url}/account`, 'GET', { project: 'another' })).code).toBe(404);
      expect((await call(`${only.url}/account/sessions/anonymous`, 'POST', { project: 'the-one', body: {} })).status).toBe(201);
    } finally {
      await only.close();
    }
  });
});

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
