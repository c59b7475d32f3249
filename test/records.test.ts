import { describe, expect, it } from 'vitest';
import { checkMetadata, checkStatus, colorOf } from '../src/records';

describe('colorOf', () => {
  it.each([
    ['a', 'hsl(97, 70%, 50%)'],
    ['abc', 'hsl(234, 70%, 50%)'],
    ['6650f2a1b3c4d5e6f7a8', 'hsl(107, 70%, 50%)'],
  ])('matches Manifest for %s', (id, hsl) => expect(colorOf(id)).toBe(hsl));

  it('is #666 without an id', () => {
    expect(colorOf('')).toBe('#666');
    expect(colorOf(null)).toBe('#666');
  });
});

describe('checkStatus', () => {
  it('accepts 1 to 255 characters', () => {
    expect(checkStatus('a')).toBeNull();
    expect(checkStatus('x'.repeat(255))).toBeNull();
  });
  it.each([[''], ['x'.repeat(256)], [42], [null], [{}]])('refuses %j with a message', (s) => {
    expect(checkStatus(s)).toMatch(/status/);
  });
});

describe('checkMetadata', () => {
  it('accepts plain JSON objects up to 64 KB', () => {
    expect(checkMetadata(undefined)).toBeNull();
    expect(checkMetadata({ name: 'Ada', page: 'Invoice #42', nested: { a: [1, 'b', null] } })).toBeNull();
    expect(checkMetadata({ blob: 'x'.repeat(60_000) })).toBeNull();
  });
  it('refuses arrays, scalars, class instances, cycles, functions and 70 KB', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(checkMetadata([1])).toMatch(/plain object/);
    expect(checkMetadata('x')).toMatch(/plain object/);
    expect(checkMetadata(new Date())).toMatch(/plain object/);
    expect(checkMetadata(cyclic)).toMatch(/JSON/);
    expect(checkMetadata({ f: () => 1 })).toMatch(/JSON values/);
    expect(checkMetadata({ n: Number.NaN })).toMatch(/JSON values/);
    expect(checkMetadata({ blob: 'x'.repeat(70_000) })).toMatch(/limit is 65536/);
  });
});
