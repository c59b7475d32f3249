import { ID } from 'appwrite';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { useEmulator } from '../support/emulator';
import { guest, type SdkUser } from '../support/sdk';
import { call, expectErrorShape, openSocket, realtimeUrl, type Frame } from './wire';

const PROJECT = 'fuzz-tests';
const KEY = 'fuzz-key';
const SEED = 20_260_821;

const emulator = useEmulator({ apiKey: KEY });
let someone: SdkUser;

beforeAll(async () => {
  someone = await guest(emulator.url, PROJECT);
});

const TYPES = ['ping', 'authentication', 'subscribe', 'unsubscribe', 'presence'];
const huge = fc.integer({ min: 1_000, max: 100_000 }).map((length) => 'x'.repeat(length));
/** Metadata nested past PHP's json_decode depth (512) and past what JSON.stringify can write back. */
const deep = fc.integer({ min: 400, max: 9_000 }).map((depth) => `{"status":"deep","metadata":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`);
const anyJson = fc.jsonValue({ maxDepth: 3 });

/** Frames a broken or hostile client might send: bad JSON, wrong types, huge strings, random payloads. */
const frames: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 200 }),
  anyJson.map((value) => JSON.stringify(value)),
  anyJson.map((value) => JSON.stringify(value).slice(0, -1)),
  fc.record({ type: fc.oneof(fc.constantFrom(...TYPES), anyJson), data: anyJson }, { requiredKeys: [] }).map((frame) => JSON.stringify(frame)),
  fc.record({ type: fc.constantFrom(...TYPES), data: fc.dictionary(fc.constantFrom('status', 'presenceId', 'metadata', 'permissions', 'session', 'channels'), anyJson) }).map((frame) => JSON.stringify(frame)),
  fc.record({ type: fc.constantFrom('subscribe', 'unsubscribe'), data: fc.array(fc.record({ subscriptionId: anyJson, channels: anyJson, queries: anyJson }, { requiredKeys: [] })) }).map((frame) => JSON.stringify(frame)),
  fc.record({ status: huge, presenceId: fc.oneof(huge, fc.string()), metadata: fc.oneof(huge, anyJson) }).map((data) => JSON.stringify({ type: 'presence', data })),
  huge.map((text) => JSON.stringify({ type: text })),
  huge.map((text) => JSON.stringify({ type: 'authentication', data: { session: text } })),
  deep.map((data) => `{"type":"presence","data":${data}}`),
  fc.constantFrom('', 'null', '[]', '{}', '{"type":null}', '{"type":"presence","data":{"status":"fuzzed"}}'),
);

describe('hostile realtime input', () => {
  it('answers 1,000 random frames one by one and keeps serving this socket and everyone else', async () => {
    const socket = await openSocket(realtimeUrl(emulator.url, PROJECT), { 'X-Appwrite-Session': someone.token! });
    const sample = fc.sample(frames, { numRuns: 1_000, seed: SEED });
    for (const frame of sample) socket.send(frame);
    socket.send({ type: 'ping' });
    let answered = 0;
    await socket.frame((frame) => frame.type !== 'event' && ++answered === sample.length + 1, { from: 1, timeoutMs: 20_000 });

    const replies = socket.frames.slice(1).filter((frame) => frame.type !== 'event');
    expect(replies).toHaveLength(sample.length + 1);
    expect(replies.at(-1)).toEqual({ type: 'pong' });
    expect(replies.every((frame) => ['error', 'response', 'pong'].includes(frame.type))).toBe(true);
    const errors = replies.filter((frame): frame is Frame => frame.type === 'error');
    expect(errors.length).toBeGreaterThan(500);
    for (const error of errors) {
      expect(Object.keys(error.data).sort()).toEqual(['code', 'message']);
      expect([400, 401, 404, 409, 1003, 1009]).toContain(error.data.code);
      expect(error.data.message).not.toBe('Error: Server Error');
    }
    expect(socket.ws.readyState).toBe(socket.ws.OPEN);

    const other = await openSocket(realtimeUrl(emulator.url, PROJECT));
    expect(await other.ask({ type: 'ping' })).toEqual({ type: 'pong' });
    const row = await someone.presences.upsert({ presenceId: ID.unique(), status: 'still fine' });
    expect((await someone.presences.get({ presenceId: row.$id })).status).toBe('still fine');
    await Promise.all([socket.close(), other.close()]);
  });
});

describe('hostile REST input', () => {
  const paths = fc.constantFrom(
    '/account',
    '/account/name',
    '/account/sessions',
    '/account/sessions/anonymous',
    '/account/sessions/email',
    '/account/sessions/current',
    '/presences',
    '/presences/some-row',
    '/presences/%E0%A4%A',
    '/presences/..%2F..',
    '/teams',
    '/teams/t1/memberships',
    '/users',
    '/emulator/pause-events',
    '/emulator/fail-writes',
    '/nowhere',
  );
  const requests = fc.record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'),
    path: paths,
    query: fc.oneof(fc.constant(''), fc.string({ maxLength: 40 }).map((text) => `?queries[0]=${encodeURIComponent(text)}`), fc.constant('?queries[99999999999]=%7B%7D&total=maybe')),
    body: fc.oneof(anyJson.map((value) => JSON.stringify(value)), fc.string({ maxLength: 100 }), huge, deep),
    auth: fc.constantFrom('none', 'session', 'key', 'garbage'),
  });

  it('answers every malformed request with an Appwrite error body, never a 5xx', async () => {
    const headersFor = (auth: string): Record<string, string> =>
      auth === 'session'
        ? { 'X-Appwrite-Session': someone.token! }
        : auth === 'key'
          ? { 'X-Appwrite-Key': KEY }
          : auth === 'garbage'
            ? { 'X-Fallback-Cookies': '{"a_session_fuzz-tests": 12}', cookie: `a_session_${PROJECT}=%%%` }
            : {};
    for (const request of fc.sample(requests, { numRuns: 300, seed: SEED })) {
      const result = await call(`${emulator.url}${request.path}${request.query}`, request.method, {
        project: PROJECT,
        headers: headersFor(request.auth),
        body: request.method === 'GET' ? undefined : request.body,
      });
      if (result.status >= 400) expectErrorShape(result);
      expect(result.status, `${request.method} ${request.path}${request.query}`).toBeLessThan(500);
    }
    expect((await call(`${emulator.url}/health`, 'GET')).body.status).toBe('pass');
  });
});
