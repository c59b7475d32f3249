/**
 * How the CDN script is minified, shared by the build (tsup.config.ts) and the size table
 * (bench/size.mjs) so both measure the same bytes: esbuild's minifier first (its renaming and
 * syntax folding), then terser with three compress passes — about 1.5 KB less after gzip than
 * esbuild's minifier alone on this bundle (bench/README.md, "Bundle") — renaming the internal
 * properties below, the machines' named parts, event types and the states whose names mean
 * nothing else in the script (`minifyCdn`).
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

/**
 * The machines' state names: the keys of every `states` object in the configs under src/machines,
 * read from the source (new states are found as they come). Which of them the build may rename is
 * decided on the bundle itself (`renamableStates`).
 */
export function machineStateNames(dir = MACHINES) {
  const names = new Set();
  const visit = (node) => {
    if (ts.isPropertyAssignment(node) && node.name.getText() === 'states' && ts.isObjectLiteralExpression(node.initializer)) {
      for (const state of node.initializer.properties) if (state.name && ts.isIdentifier(state.name)) names.add(state.name.text);
    }
    ts.forEachChild(node, visit);
  };
  for (const file of sources(dir)) visit(ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true));
  return [...names].sort();
}

/** The name of a property assignment (`a:` or `"a":`), or undefined. */
const keyOf = (node) => (ts.isPropertyAssignment(node) && (ts.isIdentifier(node.name) || ts.isStringLiteral(node.name)) ? node.name.text : undefined);
/** Inside the argument of a `….matches(…)` call: its keys and strings name states. */
const inMatches = (node) => {
  for (let at = node; at.parent; at = at.parent) {
    const call = at.parent;
    if (ts.isCallExpression(call) && call.arguments.includes(at)) return ts.isPropertyAccessExpression(call.expression) && call.expression.name.text === 'matches';
    if (!ts.isObjectLiteralExpression(at.parent) && !ts.isPropertyAssignment(at.parent)) return false;
  }
  return false;
};

/**
 * Where a string of a machine config names a state: a `target`, an `initial`, a transition written
 * as a string (`on: { 'tabs.quiet': 'draining' }`, `after: { writeGap: 'idle' }`, `onDone`,
 * `onError`, `always`), or what `….matches()` is asked.
 */
function isStateString(node) {
  const owner = node.parent;
  if (ts.isCallExpression(owner)) return inMatches(node);
  if (!ts.isPropertyAssignment(owner) || owner.initializer !== node) return false;
  if (['target', 'initial', 'onDone', 'onError', 'always'].includes(keyOf(owner))) return true;
  const group = owner.parent.parent;
  return ['on', 'after'].includes(keyOf(group)) || inMatches(node);
}

/** Where an identifier is a state's key: in a `states` object, or in what `….matches()` is asked. */
function isStateKey(node) {
  const owner = node.parent;
  if (!ts.isPropertyAssignment(owner) || owner.name !== node) return false;
  return keyOf(owner.parent.parent) === 'states' || inMatches(owner);
}

/** The text a string or template part gives the script, with whether it sits where a state is named. */
function stringsIn(source) {
  const found = [];
  const visit = (node) => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
      // A quoted key (`"session.start":`) is a property name, not a string.
      if (!(ts.isPropertyAssignment(node.parent) && node.parent.name === node)) found.push({ node, state: isStateString(node) });
    } else if (ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) found.push({ node, state: false });
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const STATE_PATH = /^(#[^.]+\.)?\.?[\w$]+(\.[\w$]+)*$/;
/** The state names a string names where a state is named: `#session.idle`, `.choosing`, `waiting.hidden`. */
const pathNames = (text) => (STATE_PATH.test(text) ? text.replace(/^#[^.]+\./, '').replace(/^\./, '').split('.') : []);
/**
 * Whether a string that is not a state's place could still be read as naming `name`: the name
 * itself, a `#id.…` path or a state's done event (`xstate.done.state.…`) holding it, or a template
 * part with it next to a substitution or a dot (`${id}.name`; a word of prose is not a path).
 */
function mentions(node, name) {
  const text = node.text;
  if (!ts.isStringLiteral(node) && !ts.isNoSubstitutionTemplateLiteral(node)) {
    const before = ts.isTemplateHead(node) ? '[.#]' : '^|[.#]';
    const after = ts.isTemplateTail(node) ? '\\.' : '$|\\.';
    return new RegExp(`(${before})${name}($|[^\\w$])|(^|[^\\w$])${name}(${after})`).test(text);
  }
  if (text.startsWith('#') || text.startsWith('xstate.done.state.')) return text.split('.').includes(name);
  return text === name;
}

/**
 * What a script's machine configs name as states: the keys of its `states` objects, and every
 * state path its strings give where a state is named, split into names (`#session.idle` → idle).
 * test/cdn-properties.test.ts checks on the built script that every such name is a state's key.
 */
export function stateReferences(code) {
  const source = ts.createSourceFile('cdn.js', code, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  const keys = new Set();
  const visit = (node) => {
    if (ts.isIdentifier(node) && isStateKey(node) && !inMatches(node.parent)) keys.add(node.text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  const paths = stringsIn(source).filter(({ node, state }) => state && STATE_PATH.test(node.text)).map(({ node }) => node.text);
  return { keys, paths, names: [...new Set(paths.flatMap(pathNames))] };
}

/**
 * The state names the build may rename in this (esbuild-minified) script: those whose every
 * identifier is a state's key and whose every string sits where a state is named. A state that is
 * also a property anywhere (a context field, xstate's own `.done`, a DOM name) or a string with
 * another meaning (a status, a tab message, xstate's `'active'`, a phase returned to callers), or
 * handed to a config through an argument (tabs.ts `recheck('follower')`), is left alone, so
 * renaming it cannot change what anything reads.
 */
export function renamableStates(code, names = machineStateNames()) {
  const source = ts.createSourceFile('cdn.js', code, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  const refused = new Set();
  const visit = (node) => {
    if ((ts.isIdentifier(node) || ts.isPrivateIdentifier(node)) && names.includes(node.text.replace(/^#/, '')) && !isStateKey(node)) refused.add(node.text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  for (const { node, state } of stringsIn(source)) {
    if (!state) for (const name of names) if (mentions(node, name)) refused.add(name);
  }
  return names.filter((name) => !refused.has(name));
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
 * Minify the esbuild-minified CDN script: terser renames the internal properties and the keys of
 * the machine parts and of the renamable states (properties terser must keep — the DOM's and the
 * builtins', such as `idle` or `loading` — stay as they are), then every string literal naming a
 * renamed part gets the part's new name, so the config still finds it, every string literal that is
 * one of the machines' event types gets a short one, and every state path a config or a `matches`
 * call gives has its renamed states' new names (`#session.tracking` → `#session.bn`). A string that
 * still names a renamed state anywhere else fails the build. The states: −84 B min+gzip
 * (29 190 → 29 106 B, `node bench/size.mjs`).
 */
export async function minifyCdn(code, parts = machinePartNames(), events = machineEventTypes(), states = renamableStates(code)) {
  const nameCache = {};
  const regex = new RegExp(`^(?:${[...INTERNAL_PROPERTIES, ...parts, ...states].join('|')})$`);
  const out = await minify(code, { ...TERSER_OPTIONS, nameCache, mangle: { properties: { regex } } });
  const renamed = new Map();
  const stateRenamed = new Map();
  for (const [key, name] of Object.entries(nameCache.props?.props ?? {})) {
    const property = key.slice(1);
    if (parts.includes(property)) renamed.set(property, name);
    // A state terser left alone (a DOM name it keeps) keeps its strings too.
    if (states.includes(property)) stateRenamed.set(property, name);
  }
  // `~` + a number: no other string of the script looks like that (checked below).
  events.forEach((type, i) => renamed.set(type, `~${i.toString(36)}`));
  const strings = [];
  const visit = (node) => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateLiteralToken(node)) strings.push(node);
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile('cdn.js', out.code, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS));
  const clash = strings.find((node) => /^~[0-9a-z]+$/.test(node.text));
  if (clash) throw new Error(`minifyCdn: the script already has the string ${JSON.stringify(clash.text)}; pick another prefix for event types`);
  const newText = (node) => {
    if (ts.isTemplateLiteralToken(node) && !ts.isNoSubstitutionTemplateLiteral(node)) return undefined;
    if (isStateString(node) && STATE_PATH.test(node.text)) {
      const [, prefix = '', path] = /^(#[^.]+\.|\.)?(.*)$/.exec(node.text);
      return prefix + path.split('.').map((name) => stateRenamed.get(name) ?? name).join('.');
    }
    return renamed.get(node.text);
  };
  const edits = [];
  for (const node of strings) {
    const text = newText(node);
    if (text !== undefined && text !== node.text) edits.push([node.getStart(), node.getEnd(), JSON.stringify(text)]);
    // renamableStates found every string naming a renamed state where a state is named; terser must not have moved one elsewhere.
    const stray = text === undefined && [...stateRenamed.keys()].find((name) => mentions(node, name));
    if (stray) throw new Error(`minifyCdn: the state name ${JSON.stringify(stray)} is renamed but the string ${JSON.stringify(node.text)} does not name a state`);
  }
  let result = out.code;
  for (const [start, end, text] of edits.reverse()) result = result.slice(0, start) + text + result.slice(end);
  return result;
}
