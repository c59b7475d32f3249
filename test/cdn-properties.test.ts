/**
 * The CDN build renames the properties listed in scripts/cdn-minify.mjs (INTERNAL_PROPERTIES).
 * Renaming is safe only for names that never leave the script; this checks what can be checked
 * without running it (the browser tests run it): no listed name is a machine's state, action,
 * guard, delay or actor name (strings in the config), quoted anywhere in the browser code, a
 * public name of `$presence`, its records or its view, or a field of what goes over the wire.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AnyStateMachine } from 'xstate';
import { getStateNodes } from 'xstate/graph';
import { INTERNAL_PROPERTIES } from '../scripts/cdn-minify.mjs';
import { bindPresence } from '../src/bindings/alpine';
import { sessionMachine } from '../src/machines/session';
import { tabsMachine } from '../src/machines/tabs';

const SRC = join(import.meta.dirname, '..', 'src');

/** Every named part of a machine: state keys and the keys of its implementations. */
function namesOf(machine: AnyStateMachine): string[] {
  const { actions, guards, delays, actors } = machine.implementations;
  return [
    ...getStateNodes(machine.root).map((node) => node.key),
    ...[actions, guards, delays, actors].flatMap((parts) => Object.keys(parts ?? {})),
  ];
}

/** The browser code's files: everything but the Node-only emulator. */
function browserSources(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'emulator' ? [] : browserSources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Fields that cross the script's edge: Appwrite SDK arguments and rows, realtime frames, tab messages, options. */
const WIRE = [
  'presenceId', 'userId', 'status', 'metadata', 'expiresAt', 'permissions', 'queries', 'total', 'sessionId',
  '$id', '$updatedAt', '$permissions', 'events', 'payload', 'timestamp', 'channels',
  'type', 'from', 'visible', 'wish', 'at', 'tabId',
  'auto', 'heartbeatMs', 'teamId', 'name', 'color', 'team',
];

describe('INTERNAL_PROPERTIES (renamed in the CDN build)', () => {
  it('names no state, action, guard, delay or actor of the machines', () => {
    const named = new Set([...namesOf(sessionMachine), ...namesOf(tabsMachine)]);
    expect(INTERNAL_PROPERTIES.filter((name) => named.has(name))).toEqual([]);
  });

  it('is never quoted in the browser code (a string key or an `in` check would not be renamed)', () => {
    const quoted = browserSources().flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        // Type positions (Pick<…, 'failures'>) vanish from the build.
        .filter((line) => !/\b(?:Pick|Omit)</.test(line))
        .flatMap((line) => INTERNAL_PROPERTIES.filter((name) => line.includes(`'${name}'`) || line.includes(`"${name}"`)).map((name) => `${file}: ${name}`)),
    );
    expect(quoted).toEqual([]);
  });

  it('names nothing public or on the wire', () => {
    const view = { list: [], records: {}, me: null, ready: false, error: null };
    const magic = bindPresence(
      { reactive: (value) => value, magic: () => {} },
      { start: async () => true, set: async () => true, clear: async () => true, stop: async () => true, beforeSignOut: async () => true, view: () => view, rosterVersion: () => 0, subscribe: () => () => {} },
    );
    const record = { userId: 'u', status: 'online', metadata: {}, color: '', lastSeen: 0, expiresAt: null };
    const publicNames = [...Object.keys(magic), ...Object.keys(view), ...Object.keys(record), ...WIRE];
    expect(INTERNAL_PROPERTIES.filter((name) => publicNames.includes(name))).toEqual([]);
  });
});
