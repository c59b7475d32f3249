/**
 * The CDN build renames the properties listed in scripts/cdn-minify.mjs (INTERNAL_PROPERTIES) and
 * the machines' action, guard and delay names (`machinePartNames`: keys and the strings naming
 * them alike). Renaming is safe only for names that never leave the script and whose strings mean
 * nothing else; this checks what can be checked without running it (the browser tests run the
 * script): no renamed name is a machine's state or actor (strings that are not renamed), a public
 * name of `$presence`, its records or its view, a field or a value of what goes over the wire, or a
 * property or string of xstate's own code; an internal property is never quoted, and a part's name is quoted
 * only where it names the part. The machines' event types get short names too: they never leave
 * the script (its actor is not public) and are never a wire value.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AnyStateMachine } from 'xstate';
import { getStateNodes } from 'xstate/graph';
import ts from 'typescript';
import { INTERNAL_PROPERTIES, machineEventTypes, machinePartNames } from '../scripts/cdn-minify.mjs';
import { bindPresence } from '../src/bindings/alpine';
import { sessionMachine } from '../src/machines/session';
import { tabsMachine } from '../src/machines/tabs';

const SRC = join(import.meta.dirname, '..', 'src');

/** The names the build leaves alone in a machine's config: its states and its actors. */
function keptNamesOf(machine: AnyStateMachine): string[] {
  return [...getStateNodes(machine.root).map((node) => node.key), ...Object.keys(machine.implementations.actors ?? {})];
}

const PARTS = machinePartNames();
const EVENTS = machineEventTypes();

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
  'auto', 'heartbeatMs', 'idleMs', 'teamId', 'name', 'color', 'team',
];
/** String values that cross the script's edge: the tabs' message types (src/machines/tabs.ts TabMessage), statuses. */
const WIRE_VALUES = ['hello', 'state', 'bye', 'rollcall', 'wish', 'signout', 'quiet', 'online', 'away'];
/**
 * Where a part's name is quoted outside the file defining its machine, and why the renamed string
 * still means the part there.
 */
const QUOTED_ELSEWHERE: Record<string, string> = {
  verify: "the tabs machine's `verify` action emits an event of that type; platform/tabs.ts listens for it",
};
/** The files that give setup() its parts and use them in a config. */
const DEFINITIONS = ['machines/session/machine.ts', 'machines/session/implementations.ts', 'machines/tabs.ts', 'machines/peer.ts'];

/** Every string literal of a browser source file, as [file, text]. */
function stringsOf(file: string): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
      // Type positions (Pick<…, 'failures'>, literal types) vanish from the build.
      if (!ts.isLiteralTypeNode(node.parent)) found.push(node.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true));
  return found;
}

describe('names renamed in the CDN build (INTERNAL_PROPERTIES and the machine parts)', () => {
  it('finds every action, guard and delay of the machines in their source', () => {
    for (const machine of [sessionMachine, tabsMachine]) {
      const { actions, guards, delays } = machine.implementations;
      const parts = [actions, guards, delays].flatMap((group) => Object.keys(group ?? {}));
      expect(parts.filter((name) => !PARTS.includes(name))).toEqual([]);
    }
  });

  it('names no state or actor of the machines (their strings are not renamed)', () => {
    const kept = new Set([...keptNamesOf(sessionMachine), ...keptNamesOf(tabsMachine)]);
    expect([...INTERNAL_PROPERTIES, ...PARTS].filter((name) => kept.has(name))).toEqual([]);
  });

  it("quotes a part's name outside its machine's definition only where it still names the part", () => {
    const quoted = browserSources()
      .filter((file) => !DEFINITIONS.some((definition) => file.endsWith(definition)))
      .flatMap((file) => stringsOf(file).filter((text) => PARTS.includes(text) && !(text in QUOTED_ELSEWHERE)).map((text) => `${file}: ${text}`));
    expect(quoted).toEqual([]);
  });

  it('finds the event types the machines handle, and none of them is a wire value or reachable from the CDN page', () => {
    for (const type of ['session.start', 'page.hide', 'peer.upserted', 'tab.visible', 'peer.rollcall', 'lock.acquired']) expect(EVENTS).toContain(type);
    expect(EVENTS.filter((type) => type.startsWith('xstate.') || WIRE_VALUES.includes(type))).toEqual([]);
    // window.ManifestPresence picks its methods from the magic: never the actor, which takes events.
    const picked = /type ManifestPresence = Pick<PresenceMagic, ([^>]*)>/.exec(readFileSync(join(SRC, 'cdn.ts'), 'utf8'))?.[1];
    expect(picked).toBeDefined();
    expect(picked).not.toContain('actor');
  });

  it("is never a property or a string of xstate's own code (it would be renamed there too)", () => {
    const dist = join(import.meta.dirname, '..', 'node_modules', 'xstate', 'dist');
    const code = readdirSync(dist)
      .filter((file) => file.endsWith('.esm.js') && !file.includes('development'))
      .map((file) => readFileSync(join(dist, file), 'utf8'))
      .join('\n');
    // Its properties (`.name`, `name:`), which terser renames, and its strings (`'name'`), which the
    // build rewrites when they name a machine part or event type; comments left out.
    const bare = code.replace(/\/\*[\s\S]*?\*\//g, '');
    const properties = new Set([...bare.matchAll(/\.\s*([A-Za-z_$][\w$]*)|([A-Za-z_$][\w$]*)\s*:/g)].map((match) => match[1] ?? match[2]));
    const strings = new Set([...bare.matchAll(/['"`]([A-Za-z_$][\w$.]*)['"`]/g)].map((match) => match[1]));
    expect([...INTERNAL_PROPERTIES, ...PARTS].filter((name) => properties.has(name))).toEqual([]);
    expect([...PARTS, ...EVENTS].filter((name) => strings.has(name))).toEqual([]);
  });

  it('INTERNAL_PROPERTIES are never quoted in the browser code (a string key or an `in` check would not be renamed)', () => {
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
    const outside = [...publicNames, ...WIRE_VALUES];
    expect([...INTERNAL_PROPERTIES, ...PARTS].filter((name) => outside.includes(name))).toEqual([]);
  });
});
