import * as Appwrite from 'appwrite';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { permissionsFor, toPeerDoc, toTransportEvent, unparsableKey } from '../../src/transport/codec';

const UPDATED = '2026-08-21T10:05:00.000+00:00';
const EXPIRES = '2026-08-21T10:20:00.000+00:00';

/** A row exactly as Appwrite's REST API renders it (spec §1.2). */
function row(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    $id: '66c5f0a1b2c3d4e5f601',
    $createdAt: '2026-08-21T10:00:00.000+00:00',
    $updatedAt: UPDATED,
    $permissions: ['delete("user:u1")', 'read("users")', 'update("user:u1")'],
    userId: 'u1',
    status: 'online',
    source: 'rest',
    expiresAt: EXPIRES,
    metadata: { device: 'web', name: 'Ada' },
    ...overrides,
  };
}

function withoutKey(key: string): Record<string, unknown> {
  const r = row();
  delete r[key];
  return r;
}

function rejected(payload: unknown): string {
  const result = toPeerDoc(payload);
  if (result.ok) throw new Error(`expected a rejection, got ${JSON.stringify(result.doc)}`);
  return result.reason;
}

function metadataOf(payload: unknown): Record<string, unknown> {
  const result = toPeerDoc(payload);
  if (!result.ok) throw new Error(`expected a doc, got: ${result.reason}`);
  return result.doc.metadata;
}

/** Only null, strings, finite numbers, booleans, arrays and objects with Object.prototype. */
function isPlainJson(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(isPlainJson);
  if (typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return false;
  return Object.values(value).every(isPlainJson);
}

describe('toPeerDoc', () => {
  it('translates an Appwrite row into a PeerDoc with server times in ms', () => {
    expect(toPeerDoc(row())).toEqual({
      ok: true,
      doc: {
        id: '66c5f0a1b2c3d4e5f601',
        userId: 'u1',
        status: 'online',
        metadata: { device: 'web', name: 'Ada' },
        updatedAt: Date.parse(UPDATED),
        expiresAt: Date.parse(EXPIRES),
      },
    });
  });

  it('reads expiresAt null or absent as never', () => {
    expect(toPeerDoc(row({ expiresAt: null }))).toMatchObject({ ok: true, doc: { expiresAt: null } });
    expect(toPeerDoc(withoutKey('expiresAt'))).toMatchObject({ ok: true, doc: { expiresAt: null } });
  });

  it('honours the offset of the timestamps', () => {
    const doc = toPeerDoc(row({ $updatedAt: '2026-08-21T12:05:00.000+02:00' }));
    expect(doc).toMatchObject({ ok: true, doc: { updatedAt: Date.parse(UPDATED) } });
    expect(toPeerDoc(row({ $updatedAt: '2026-08-21T10:05:00Z' }))).toMatchObject({ ok: true });
  });

  it.each([
    ['absent', undefined],
    ['null', null],
    ['[] (how PHP renders an empty object)', []],
    ['{}', {}],
  ])('reads metadata %s as {}', (_label, metadata) => {
    expect(metadataOf(row({ metadata }))).toEqual({});
  });

  it('copies metadata deeply, in key order, detached from the wire object', () => {
    const metadata = { z: 1, a: { list: [1, 'two', null, { deep: true }] }, m: 'x' };
    const copied = metadataOf(row({ metadata }));
    expect(copied).toEqual(metadata);
    expect(Object.keys(copied)).toEqual(['z', 'a', 'm']);
    metadata.a.list.push(5);
    expect((copied.a as { list: unknown[] }).list).toHaveLength(4);
  });

  it('accepts metadata objects without a prototype', () => {
    const metadata = Object.assign(Object.create(null) as object, { page: 'home' });
    expect(metadataOf(row({ metadata }))).toEqual({ page: 'home' });
  });

  it('turns bigints from the SDK parser into numbers', () => {
    expect(metadataOf(row({ metadata: { big: 9007199254740993n } }))).toEqual({ big: 9007199254740992 });
  });

  it('drops __proto__ keys at every depth and never touches a prototype', () => {
    const payload: unknown = JSON.parse(
      `{"$id":"p1","userId":"u1","status":"online","$updatedAt":"${UPDATED}",` +
        '"metadata":{"__proto__":{"polluted":true},"a":1,"nested":{"__proto__":{"polluted":true},"b":2}}}',
    );
    const metadata = metadataOf(payload);
    expect(metadata).toEqual({ a: 1, nested: { b: 2 } });
    expect(Object.getPrototypeOf(metadata)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(metadata, '__proto__')).toBe(false);
    expect(Object.getPrototypeOf(metadata.nested)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((metadata as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('keeps constructor and prototype keys as plain data', () => {
    const metadata = metadataOf(row({ metadata: JSON.parse('{"constructor":"x","prototype":{"a":1}}') }));
    expect(Object.getOwnPropertyDescriptor(metadata, 'constructor')?.value).toBe('x');
    expect(metadata.prototype).toEqual({ a: 1 });
  });

  describe('refuses', () => {
    it.each([
      ['null', null],
      ['undefined', undefined],
      ['an array', [row()]],
      ['a string', JSON.stringify(row())],
      ['a number', 42],
      ['a boolean', true],
    ])('a payload that is %s', (_label, payload) => {
      expect(rejected(payload)).toMatch(/must be an object/);
    });

    it.each([
      ['$id missing', withoutKey('$id'), /\$id/],
      ['$id a number', row({ $id: 42 }), /\$id/],
      ['$id empty', row({ $id: '' }), /\$id/],
      ['$id huge', row({ $id: 'p'.repeat(1_000_000) }), /\$id/],
      ['userId missing', withoutKey('userId'), /userId/],
      ['userId an object', row({ userId: { id: 'u1' } }), /userId/],
      ['userId empty', row({ userId: '' }), /userId/],
      ['userId huge', row({ userId: 'u'.repeat(256) }), /userId/],
      ['status missing', withoutKey('status'), /status/],
      ['status null', row({ status: null }), /status/],
      ['status a number', row({ status: 1 }), /status/],
      ['status empty', row({ status: '' }), /status/],
      ['status longer than Appwrite stores', row({ status: 's'.repeat(256) }), /status/],
      ['status huge', row({ status: 's'.repeat(1_000_000) }), /status/],
    ])('a row with %s', (_label, payload, field) => {
      expect(rejected(payload)).toMatch(field);
    });

    it.each([
      ['missing', undefined],
      ['null', null],
      ['a number', Date.parse(UPDATED)],
      ['words', 'yesterday'],
      ['a date without a time', '2026-08-21'],
      ['a time without a zone (would be read as local time)', '2026-08-21T10:05:00.000'],
      ['an impossible date', '2026-13-45T99:99:99.000+00:00'],
      ['V8-parsable junk', '1'],
      ['huge', `${UPDATED}${' '.repeat(100_000)}`],
    ])('$updatedAt %s', (_label, value) => {
      expect(rejected(row({ $updatedAt: value }))).toMatch(/\$updatedAt/);
    });

    it.each([
      ['words', 'soon'],
      ['a number', 0],
      ['an object', {}],
      ['an impossible date', '2026-02-31T25:00:00.000+00:00'],
    ])('expiresAt %s', (_label, value) => {
      expect(rejected(row({ expiresAt: value }))).toMatch(/expiresAt/);
    });

    it.each([
      ['a non-empty array', [1, 2]],
      ['a string', '{"a":1}'],
      ['a number', 7],
      ['a boolean', false],
      ['a Date', new Date(0)],
      ['a Map', new Map([['a', 1]])],
    ])('metadata that is %s (Appwrite stores only objects: the row is corrupt or forged)', (_label, metadata) => {
      expect(rejected(row({ metadata }))).toMatch(/metadata must be a JSON object/);
    });

    it.each([
      ['NaN', { n: Number.NaN }],
      ['Infinity', { n: Number.POSITIVE_INFINITY }],
      ['a function', { f: () => 1 }],
      ['undefined', { u: undefined }],
      ['a nested Date', { when: new Date(0) }],
      ['a symbol', { s: Symbol('x') }],
    ])('metadata holding %s', (_label, metadata) => {
      expect(rejected(row({ metadata }))).toMatch(/metadata holds a non-JSON/);
    });

    it('metadata larger than Appwrite could store, in one string or in many values', () => {
      expect(rejected(row({ metadata: { blob: 'x'.repeat(70_000) } }))).toMatch(/larger than Appwrite stores/);
      expect(rejected(row({ metadata: { list: new Array<number>(70_000).fill(0) } }))).toMatch(/larger/);
      expect(rejected(row({ metadata: { ['k'.repeat(70_000)]: 1 } }))).toMatch(/larger/);
    });

    it('metadata nested deeper than 64 levels, without overflowing the stack', () => {
      let deep: Record<string, unknown> = { leaf: true };
      for (let i = 0; i < 10_000; i++) deep = { d: deep };
      expect(rejected(row({ metadata: deep }))).toMatch(/nested deeper/);
    });

    it('with a short reason, never echoing a huge value', () => {
      for (const payload of [
        row({ status: 's'.repeat(1_000_000) }),
        row({ $id: 'p'.repeat(1_000_000) }),
        row({ $updatedAt: 'x'.repeat(1_000_000) }),
        row({ metadata: { blob: 'x'.repeat(1_000_000) } }),
      ]) {
        expect(rejected(payload).length).toBeLessThan(200);
      }
    });
  });

  it('accepts metadata just within what Appwrite stores, and 64 levels deep', () => {
    expect(metadataOf(row({ metadata: { blob: 'x'.repeat(60_000) } })).blob).toHaveLength(60_000);
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 63; i++) deep = { d: deep };
    expect(toPeerDoc(row({ metadata: deep })).ok).toBe(true);
  });

  it('never throws, whatever it is given', () => {
    fc.assert(
      fc.property(fc.anything({ withBigInt: true, withDate: true, withMap: true, withNullPrototype: true }), (value) => {
        const result = toPeerDoc(value);
        expect(typeof result.ok).toBe('boolean');
      }),
    );
    fc.assert(
      fc.property(fc.anything({ withBigInt: true, withNullPrototype: true }), (metadata) => {
        const result = toPeerDoc(row({ metadata }));
        if (result.ok) expect(isPlainJson(result.doc.metadata)).toBe(true);
      }),
    );
  });
});

describe('toTransportEvent', () => {
  const TIMESTAMP = '2026-08-21T10:05:01.250+00:00';
  function frame(action: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const id = '66c5f0a1b2c3d4e5f601';
    return {
      events: [`presences.${id}.${action}`, `presences.*.${action}`, `presences.${id}`, 'presences.*'],
      channels: ['presences', `presences.${id}`, `presences.${action}`, `presences.${id}.${action}`],
      timestamp: TIMESTAMP,
      payload: row(),
      subscriptions: ['sub1'],
      ...overrides,
    };
  }
  const peer = (toPeerDoc(row()) as { ok: true; doc: unknown }).doc;

  it.each([
    ['upsert', 'peer.upserted'],
    ['update', 'peer.upserted'],
    ['delete', 'peer.deleted'],
  ])('turns a presences.*.%s event into %s with the server time of the frame', (action, type) => {
    expect(toTransportEvent(frame(action))).toEqual({ type, peer, serverTime: Date.parse(TIMESTAMP) });
  });

  it('finds the action in any of the event names', () => {
    expect(toTransportEvent(frame('delete', { events: ['presences.*', 'presences.*.delete'] }))).toMatchObject({
      type: 'peer.deleted',
    });
  });

  it.each([
    ['missing', undefined, null],
    ['unparsable', 'later', null],
    ['Unix seconds (older servers)', 1_787_306_701, 1_787_306_701_000],
    ['milliseconds', 1_787_306_701_250, 1_787_306_701_250],
    ['negative', -5, null],
  ])('reads a timestamp that is %s', (_label, timestamp, serverTime) => {
    expect(toTransportEvent(frame('upsert', { timestamp }))).toMatchObject({ type: 'peer.upserted', serverTime });
  });

  it.each([
    ['null', null, /not an object/],
    ['an array', [frame('upsert')], /not an object/],
    ['a string', 'event', /not an object/],
    ['without events', frame('upsert', { events: undefined }), /without an events list/],
    ['with events that are not a list', frame('upsert', { events: 'presences.p.upsert' }), /without an events list/],
    ['with no presence action', frame('upsert', { events: ['presences.*', 'presences.p1'] }), /not a presence change/],
    ['of another service', frame('create', { events: ['databases.d.collections.c.documents.x.create'] }), /not a presence change/],
    ['with a create action Appwrite never sends for presences', frame('create'), /not a presence change/],
    ['with events that are not strings', frame('upsert', { events: [1, null, {}] }), /not a presence change/],
    ['without a payload', frame('upsert', { payload: undefined }), /upsert event: a presence row must be an object/],
    ['with a payload lacking userId', frame('delete', { payload: withoutKey('userId') }), /delete event: .*userId/],
    ['with metadata that is a list', frame('update', { payload: row({ metadata: ['x'] }) }), /update event: .*metadata/],
  ])('warns about a frame %s instead of throwing', (_label, event, reason) => {
    const result = toTransportEvent(event);
    expect(result.type).toBe('transport.warning');
    expect(result).toMatchObject({ reason: expect.stringMatching(reason) });
  });

  it('never throws, whatever the SDK hands over', () => {
    fc.assert(
      fc.property(
        fc.record({
          events: fc.oneof(fc.anything(), fc.array(fc.constantFrom('presences.p.upsert', 'presences.*.delete', 'x'))),
          timestamp: fc.anything(),
          payload: fc.oneof(fc.anything({ withBigInt: true }), fc.constant(row())),
        }),
        (event) => {
          expect(['peer.upserted', 'peer.deleted', 'transport.warning']).toContain(toTransportEvent(event).type);
        },
      ),
    );
  });
});

describe('permissionsFor', () => {
  it('lets signed-in users read and only the owner write without a team', () => {
    expect(permissionsFor({ userId: 'u1', teamId: null }, Appwrite)).toEqual([
      'read("users")',
      'update("user:u1")',
      'delete("user:u1")',
    ]);
  });

  it('lets only the team read with a team', () => {
    expect(permissionsFor({ userId: 'u1', teamId: 't1' }, Appwrite)).toEqual([
      'read("team:t1")',
      'update("user:u1")',
      'delete("user:u1")',
    ]);
  });
});

describe('unparsableKey', () => {
  it('finds keys the SDK parser refuses, at any depth and inside lists', () => {
    expect(unparsableKey({ constructor: 1 })).toBe('constructor');
    expect(unparsableKey({ a: { b: [{ myconstructorName: 1 }] } })).toBe('myconstructorName');
    expect(unparsableKey(JSON.parse('{"x":{"__proto__":1}}'))).toBe('__proto__');
  });

  it('passes ordinary metadata', () => {
    expect(unparsableKey({ name: 'Ada', page: { title: 'constructor' }, list: ['__proto__'] })).toBeNull();
    expect(unparsableKey({})).toBeNull();
  });
});
