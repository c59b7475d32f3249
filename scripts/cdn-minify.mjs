/**
 * How the CDN script is minified, shared by the build (tsup.config.ts) and the size table
 * (bench/size.mjs) so both measure the same bytes: esbuild's minifier first (its renaming and
 * syntax folding), then terser with three compress passes — about 1.5 KB less after gzip than
 * esbuild's minifier alone on this bundle (bench/README.md, "Bundle") — renaming the internal
 * properties below and the machines' named parts (`minifyCdn`).
 * unsafe_arrows: no function expression here is called with `new` or uses `this`; pure_getters:
 * the getters here (roster.size, clock.offset) only read; keep_fargs: nothing reads a function's
 * `length`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { minify } from 'terser';
import ts from 'typescript';

/**
 * Property names that never leave the CDN script, renamed short by terser (−258 B min+gzip):
 * the session's context fields and the roster's and server clock's internals. A name may be
 * listed only when it is never a public name, a wire field (Appwrite SDK arguments, REST or
 * realtime payloads, BroadcastChannel messages), a machine's state, action, guard, delay or actor
 * name (those are strings in the machine config), or read with `in` / `['…']`:
 * test/cdn-properties.test.ts checks what it can of that, and the browser tests run the result.
 */
export const INTERNAL_PROPERTIES = [
  // session context (src/machines/session/types.ts)
  'checkMetadata', 'pageHidden', 'tabsOf', 'unshared', 'hasRow', 'rowVersion', 'loaded',
  'buffer', 'due', 'inflight', 'seq', 'confirmedSeq', 'failedSeq', 'lastWriteFailed', 'failures', 'wanted',
  'restart', 'leaving', 'desired', 'confirmed', 'newId', 'defaults',
  // roster entries and the roster's own state (src/machines/roster.ts)
  'tombs', 'oldestTomb', 'selfId', 'selfView', 'listCache', 'listStale', 'reorder', 'patches', 'recordsCache',
  'changes', 'timerAt', 'goneAt', 'expiry', 'slot', 'setSelf', 'selfRecord', 'isVisible', 'sweep', 'disarm', 'touch',
  // the server clock (src/machines/clock.ts)
  'estimate', 'doubtAt', 'sampleLowerBound',
];

// From the package root, where the build and the benches run (tsup inlines this file into its config).
const MACHINES = join(process.cwd(), 'src', 'machines');

/**
 * The names of the machines' actions, guards and delays: the keys of the `actions`, `guards` and
 * `delays` objects given to `setup()` anywhere under src/machines, read from the source (nothing
 * runs). In the config they are strings (`actions: 'stopWrite'`, `guard: 'lastWriter'`) and keys
 * (`after: { writeGap: … }`); xstate looks each string up among those keys, so the build renames
 * both alike: −856 B min+gzip (29 930 → 29 074 B). Actors are left alone: their ids name
 * done/error events, and `remove`/`publish` are also words of the error text.
 * test/cdn-properties.test.ts refuses a part name that is also a state, an actor, a wire or public
 * name, a property or string of xstate's own code, or quoted elsewhere with another meaning.
 */
export function machinePartNames(dir = MACHINES) {
  const names = new Set();
  const visit = (node) => {
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'setup') {
      const [implementations] = node.arguments;
      for (const group of ts.isObjectLiteralExpression(implementations) ? implementations.properties : []) {
        if (!ts.isPropertyAssignment(group) || !['actions', 'guards', 'delays'].includes(group.name.getText())) continue;
        if (!ts.isObjectLiteralExpression(group.initializer)) continue;
        for (const part of group.initializer.properties) if (part.name && ts.isIdentifier(part.name)) names.add(part.name.text);
      }
    }
    ts.forEachChild(node, visit);
  };
  for (const file of sources(dir)) visit(ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true));
  return [...names].sort();
}

/**
 * The machines' own event types: the dotted keys of the machines' configs under src/machines
 * (`on: { 'session.start': … }`, and the handler objects spread into them; xstate's own `xstate.*`
 * left out). They are strings in the configs, in the actors that send them and in the checks that
 * read them — all inside the CDN script, whose actor is not public — so the build gives each a
 * short name: −171 B min+gzip (→ 28 903 B).
 */
export function machineEventTypes(dir = MACHINES) {
  const types = new Set();
  const visit = (node) => {
    if (ts.isPropertyAssignment(node) && ts.isStringLiteral(node.name)) {
      const key = node.name.text;
      if (key.includes('.') && !key.startsWith('xstate.') && !key.endsWith('.*')) types.add(key);
    }
    ts.forEachChild(node, visit);
  };
  for (const file of sources(dir)) visit(ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true));
  return [...types].sort();
}

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

export const TERSER_OPTIONS = {
  ecma: 2020,
  compress: { passes: 3, unsafe_arrows: true, pure_getters: true, keep_fargs: false },
  mangle: { properties: { regex: new RegExp(`^(?:${INTERNAL_PROPERTIES.join('|')})$`) } },
  format: { comments: false, wrap_func_args: false },
};

/**
 * Minify the esbuild-minified CDN script: terser renames the internal properties and the machine
 * parts' keys (properties terser must keep — the DOM's and the builtins' — stay as they are), then
 * every string literal naming a renamed part gets the part's new name, so the config still finds it,
 * and every string literal that is one of the machines' event types gets a short one.
 */
export async function minifyCdn(code, parts = machinePartNames(), events = machineEventTypes()) {
  const nameCache = {};
  const regex = new RegExp(`^(?:${[...INTERNAL_PROPERTIES, ...parts].join('|')})$`);
  const out = await minify(code, { ...TERSER_OPTIONS, nameCache, mangle: { properties: { regex } } });
  const renamed = new Map();
  for (const [key, name] of Object.entries(nameCache.props?.props ?? {})) if (parts.includes(key.slice(1))) renamed.set(key.slice(1), name);
  // `~` + a number: no other string of the script looks like that (checked below).
  events.forEach((type, i) => renamed.set(type, `~${i.toString(36)}`));
  const strings = [];
  const visit = (node) => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) strings.push(node);
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile('cdn.js', out.code, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS));
  const clash = strings.find((node) => /^~[0-9a-z]+$/.test(node.text));
  if (clash) throw new Error(`minifyCdn: the script already has the string ${JSON.stringify(clash.text)}; pick another prefix for event types`);
  const edits = strings.filter((node) => renamed.has(node.text)).map((node) => [node.getStart(), node.getEnd(), JSON.stringify(renamed.get(node.text))]);
  let result = out.code;
  for (const [start, end, text] of edits.reverse()) result = result.slice(0, start) + text + result.slice(end);
  return result;
}
