/**
 * The CDN build renames the properties listed in scripts/cdn-minify.mjs (INTERNAL_PROPERTIES) and
 * the machines' action, guard and delay names (`machinePartNames`: keys and the strings naming
 * them alike). Renaming is safe only for names that never leave the script and whose strings mean
 * nothing else; this checks what can be checked without running it (the browser tests run the
 * script): no renamed property or part is a machine's state or actor (their strings are read as
 * states' or not renamed at all), a public name of `$presence`, its records or its view, a field
 * or a value of what goes over the wire, or a property or string of xstate's own code; an internal property is never quoted, and a part's name is quoted
 * only where it names the part. The machines' event types get short names too: they never leave
 * the script (its actor is not public) and are never a wire value. So do the states whose names
 * mean nothing else in the script (`renamableStates`): the checks below run that choice on small
 * scripts, on the real bundle, and run a renamed machine, and check the built script's every state
 * path against its states.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AnyStateMachine } from 'xstate';
import { getStateNodes } from 'xstate/graph';
import ts from 'typescript';
import { build } from 'esbuild';
import { INTERNAL_PROPERTIES, machineEventTypes, machinePartNames, machineStateNames, minifyCdn, renamableStates, stateReferences } from '../scripts/cdn-minify.mjs';
import { bindPresence } from '../src/bindings/alpine';
import { sessionMachine } from '../src/machines/session';
import { tabsMachine } from '../src/machines/tabs';

const ROOT = join(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');

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

/**
 * xstate's own properties (`.name`, `name:`), which terser renames, and its strings (`'name'`),
 * which the build rewrites when they name a machine part, event type or state; comments left out.
 */
function xstateNames(): { properties: Set<string | undefined>; strings: Set<string | undefined> } {
  const dist = join(ROOT, 'node_modules', 'xstate', 'dist');
  const code = readdirSync(dist)
    .filter((file) => file.endsWith('.esm.js') && !file.includes('development'))
    .map((file) => readFileSync(join(dist, file), 'utf8'))
    .join('\n');
  const bare = code.replace(/\/\*[\s\S]*?\*\//g, '');
  return {
    properties: new Set([...bare.matchAll(/\.\s*([A-Za-z_$][\w$]*)|([A-Za-z_$][\w$]*)\s*:/g)].map((match) => match[1] ?? match[2])),
    strings: new Set([...bare.matchAll(/['"`]([A-Za-z_$][\w$.]*)['"`]/g)].map((match) => match[1])),
  };
}

/** The public names of `$presence`, its view and its records, and what crosses the script's edge. */
function outsideNames(): string[] {
  const view = { list: [], records: {}, me: null, ready: false, error: null };
  const magic = bindPresence(
    { reactive: (value) => value, magic: () => {} },
    { start: async () => true, set: async () => true, clear: async () => true, stop: async () => true, beforeSignOut: async () => true, view: () => view, rosterVersion: () => 0, subscribe: () => () => {} },
  );
  const record = { userId: 'u', status: 'online', metadata: {}, color: '', lastSeen: 0, expiresAt: null };
  return [...Object.keys(magic), ...Object.keys(view), ...Object.keys(record), ...WIRE, ...WIRE_VALUES];
}

/** A script bundled as the CDN build bundles it (esbuild, minified, Appwrite from the page), before terser. */
async function bundled(options: { entryPoints: string[] } | { stdin: { contents: string; resolveDir: string } }): Promise<string> {
  const result = await build({ ...options, bundle: true, format: 'iife', write: false, target: 'es2022', platform: 'browser', logLevel: 'silent', minify: true, external: ['appwrite'] });
  const [script] = result.outputFiles;
  if (!script) throw new Error('esbuild wrote no script');
  return script.text;
}

describe('names renamed in the CDN build (INTERNAL_PROPERTIES and the machine parts)', () => {
  it('finds every action, guard and delay of the machines in their source', () => {
    for (const machine of [sessionMachine, tabsMachine]) {
      const { actions, guards, delays } = machine.implementations;
      const parts = [actions, guards, delays].flatMap((group) => Object.keys(group ?? {}));
      expect(parts.filter((name) => !PARTS.includes(name))).toEqual([]);
    }
  });

  it("names no state or actor of the machines (their strings are read as states' or not renamed)", () => {
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
    const { properties, strings } = xstateNames();
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
    const outside = outsideNames();
    expect([...INTERNAL_PROPERTIES, ...PARTS].filter((name) => outside.includes(name))).toEqual([]);
  });
});

describe('state names renamed in the CDN build (renamableStates)', () => {
  it('finds every state of the machines in their source', () => {
    const states = machineStateNames();
    for (const machine of [sessionMachine, tabsMachine]) {
      expect(getStateNodes(machine.root).map((node) => node.key).filter((key) => !states.includes(key))).toEqual([]);
    }
  });

  it('renames a state only when its name is nothing else in the script', () => {
    const code = `
      const m = createMachine({ id: "m", initial: "first", states: {
        first: { on: { "m.go": "second", "m.back": { target: "#m.first" } }, after: { gap: "second" } },
        second: { initial: "inner", states: { inner: { on: { "m.in": ".deep" } }, deep: {} }, onDone: "first" },
        field: {}, status: {}, path: {}, built: {}, phase: {}, passed: {},
      } });
      context.field = 1;                                // a property elsewhere
      send({ type: "status", status: "status" });        // a value elsewhere
      go("#m.path");                                     // a path outside a config
      const id = \`\${m.id}.built\`;                      // a path put together
      const PHASES = ["phase"];                          // a name handed to callers
      const to = (target) => ({ target }); to("passed"); // through an argument
      snapshot.matches("deep") || snapshot.matches({ second: "inner" });
    `;
    const names = ['first', 'second', 'inner', 'deep', 'field', 'status', 'path', 'built', 'phase', 'passed'];
    expect(renamableStates(code, names)).toEqual(['first', 'second', 'inner', 'deep']);
  });

  it('on the real bundle, renames no status, wire or public name, part, event, actor, property or string of xstate', async () => {
    const renamed = renamableStates(await bundled({ entryPoints: [join(SRC, 'cdn.ts')] }));
    // The renaming happens: the lifecycle's own states are among them.
    expect(renamed).toEqual(expect.arrayContaining(['tracking', 'switching', 'stopping', 'announcing']));
    // Statuses and tab messages (`online`, `away`), xstate's own words (`active`, `done`, `stopped`), context fields stay.
    const actors = [sessionMachine, tabsMachine].flatMap((machine) => Object.keys(machine.implementations.actors ?? {}));
    const { properties, strings } = xstateNames();
    const clashes = renamed.filter(
      (name) =>
        outsideNames().includes(name) || PARTS.includes(name) || EVENTS.some((type) => type.split('.').includes(name)) ||
        actors.includes(name) || INTERNAL_PROPERTIES.includes(name) || properties.has(name) || strings.has(name),
    );
    expect(clashes).toEqual([]);
  });

  it('the built script names, wherever a config or a `matches` call names a state, only states it has', () => {
    const { keys, names, paths } = stateReferences(readFileSync(join(ROOT, 'dist', 'manifest.appwrite.presences.js'), 'utf8'));
    expect(paths.length).toBeGreaterThan(50);
    expect(names.filter((name) => !keys.has(name))).toEqual([]);
    // And the renaming took: the session's own states are short in it.
    expect(keys.has('tracking')).toBe(false);
  });

  it('a renamed machine runs as the source one: targets by id, relative and shorthand, `initial`, `onDone`, `matches`', async () => {
    const code = await bundled({
      stdin: {
        resolveDir: ROOT,
        contents: `
          import { createActor, createMachine, fromPromise } from 'xstate';
          const probeMachine = createMachine({
            id: 'probe',
            initial: 'waitingHere',
            states: {
              waitingHere: { on: { 'probe.go': 'movingOn', 'probe.jump': { target: '#probe.movingOn.innerSecond' } } },
              movingOn: {
                initial: 'innerFirst',
                on: { 'probe.deep': '.innerSecond', 'probe.back': { target: 'waitingHere' } },
                states: {
                  innerFirst: {},
                  innerSecond: { invoke: { src: fromPromise(() => Promise.resolve(1)), onDone: '#probe.finishedAll' } },
                },
              },
              finishedAll: { type: 'final' },
            },
          });
          globalThis.probeRun = async () => {
            const actor = createActor(probeMachine).start();
            const seen = [actor.getSnapshot().matches('waitingHere')];
            actor.send({ type: 'probe.go' });
            seen.push(actor.getSnapshot().matches({ movingOn: 'innerFirst' }));
            actor.send({ type: 'probe.back' });
            seen.push(actor.getSnapshot().matches('waitingHere'));
            actor.send({ type: 'probe.jump' });
            seen.push(actor.getSnapshot().matches('movingOn.innerSecond'));
            await new Promise((done) => actor.subscribe({ complete: done }));
            seen.push(actor.getSnapshot().matches('finishedAll'), actor.getSnapshot().status === 'done');
            return { seen, value: actor.getSnapshot().value };
          };
        `,
      },
    });
    const states = ['waitingHere', 'movingOn', 'innerFirst', 'innerSecond', 'finishedAll'];
    expect(renamableStates(code, states)).toEqual(states);
    const renamed = await minifyCdn(code, [], [], states);
    // Renamed indeed: no state's name is left in the script.
    expect(states.filter((name) => renamed.includes(name))).toEqual([]);
    new Function(renamed)();
    const { seen, value } = await (globalThis as unknown as { probeRun: () => Promise<{ seen: boolean[]; value: unknown }> }).probeRun();
    expect(seen).toEqual([true, true, true, true, true, true]);
    expect(value).not.toBe('finishedAll');
  });
});
