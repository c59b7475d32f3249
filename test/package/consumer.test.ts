/**
 * The package as a new user gets it: the tarball `npm pack` makes (scripts/check-package.mjs),
 * installed into a fresh project OUTSIDE this repository and WITHOUT `appwrite` (an optional
 * peer), then loaded by Node 20 as ESM and as CJS, and type-checked with `skipLibCheck: false`
 * under moduleResolution bundler, node16 and nodenext — the README's ```ts examples included.
 * One pack, one install (offline: xstate and ws are linked from this repo's node_modules, so
 * npm fetches nothing), reused by every test. `npm test` builds dist/ before it runs.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const repoModules = join(root, 'node_modules');
const tsc = join(repoModules, 'typescript', 'bin', 'tsc');

let project = '';
let installLog = '';

beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), 'appwrite-presence-consumer-'));
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  // The same pack step `npm run check:package` runs (a plain .mjs script, hence the typed import).
  const script = join(root, 'scripts', 'check-package.mjs');
  const { pack } = (await import(script)) as { pack(destination: string): { tarball: string } };
  const { tarball } = pack(project);
  // A directory dependency is linked, not fetched: with the package's own dependencies already
  // satisfied npm needs neither the registry nor its cache, so --offline holds.
  const installed = await run(
    'npm',
    ['install', '--offline', '--no-audit', '--no-fund', tarball, join(repoModules, 'xstate'), join(repoModules, 'ws')],
    { cwd: project },
  );
  installLog = installed.stdout + installed.stderr;
}, 120_000);

afterAll(async () => {
  if (project) await rm(project, { recursive: true, force: true });
});

/** Run a file of the consumer project with Node; its stdout is JSON. */
async function node(file: string, source: string): Promise<any> {
  await writeFile(join(project, file), source);
  const { stdout } = await run(process.execPath, [file], { cwd: project });
  return JSON.parse(stdout);
}

const NAMES = ['colorOf', 'createAppwriteTransport', 'createPresence', 'default', 'peerMachine', 'presence', 'sessionMachine', 'tabsMachine'];

describe('the packed package, installed without appwrite', () => {
  it('installs with no install script and without pulling in the optional appwrite peer', () => {
    expect(installLog).not.toMatch(/prepare|install script/i);
    expect(existsSync(join(project, 'node_modules', 'appwrite-presence', 'dist', 'index.js'))).toBe(true);
    expect(existsSync(join(project, 'node_modules', 'appwrite'))).toBe(false);
  });

  it('loads the npm entry under Node as ESM (import) and as CJS (require), appwrite absent', async () => {
    const esm = await node(
      'esm.mjs',
      `const missing = await import('appwrite').then(() => false, () => true);
       const m = await import('appwrite-presence');
       const p = m.presence({ sdk: {} });
       console.log(JSON.stringify({ missing, names: Object.keys(m).sort(), color: m.colorOf('abc'), plugin: typeof p }));`,
    );
    expect(esm).toEqual({ missing: true, names: NAMES, color: 'hsl(234, 70%, 50%)', plugin: 'function' });

    const cjs = await node(
      'cjs.cjs',
      `let missing = false; try { require.resolve('appwrite'); } catch { missing = true; }
       const m = require('appwrite-presence');
       console.log(JSON.stringify({ missing, names: Object.keys(m).filter((k) => k !== '__esModule').sort(), color: m.colorOf('abc'), core: typeof m.createPresence }));`,
    );
    expect(cjs).toEqual({ missing: true, names: NAMES, color: 'hsl(234, 70%, 50%)', core: 'function' });
  });

  it('runs the emulator from import, require and the bin', async () => {
    const health = (how: string) =>
      `const e = await startEmulator({ port: 0 });
       const body = await (await fetch(e.url + '/health')).json();
       await e.close();
       console.log(JSON.stringify({ how: '${how}', status: body.status }));`;
    expect(await node('emu.mjs', `import { startEmulator } from 'appwrite-presence/emulator';\n${health('import')}`)).toEqual({ how: 'import', status: 'pass' });
    expect(await node('emu.cjs', `const { startEmulator } = require('appwrite-presence/emulator');\n(async () => { ${health('require')} })();`)).toEqual({
      how: 'require',
      status: 'pass',
    });
    const { stdout } = await run(join(project, 'node_modules', '.bin', 'appwrite-presence-emulator'), ['--help'], { cwd: project });
    expect(stdout).toContain('Usage: appwrite-presence-emulator');
  });
});

/** The README's ```ts blocks, each its own module. */
async function readmeExamples(): Promise<string[]> {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  return [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => `${match[1]}\nexport {};\n`);
}

const ALPINE_SHIM = `// Alpine ships no types: the slice the README uses.
declare module 'alpinejs' {
  const Alpine: { plugin(callback: (Alpine: any) => unknown): void; start(): void };
  export default Alpine;
}
`;

/** Uses only appwrite-presence: proves its .d.ts and .d.cts need no appwrite types. */
const NO_APPWRITE = `import { createPresence, presence, type PresenceRecord, type Transport } from 'appwrite-presence';
declare const transport: Transport;
const controller = createPresence({ transport, tabs: false });
const people: PresenceRecord[] = controller.all();
const plugin = presence({ sdk: {} as never });
export { people, plugin };
`;
const NO_APPWRITE_CJS = `import presenceModule = require('appwrite-presence');
import emulator = require('appwrite-presence/emulator');
const color: string = presenceModule.colorOf('abc');
const started: Promise<{ url: string; close(): Promise<void> }> = emulator.startEmulator({ port: 0 });
export = { color, started };
`;

function tsconfig(module: string, moduleResolution: string, files: string[]) {
  return JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module,
      moduleResolution,
      lib: ['ES2022', 'DOM', 'DOM.Iterable'],
      types: [],
      strict: true,
      skipLibCheck: false,
      noEmit: true,
    },
    files,
  });
}

async function typecheck(config: string): Promise<string> {
  try {
    await run(process.execPath, [tsc, '-p', config], { cwd: project });
    return '';
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    return `${failed.stdout ?? ''}${failed.stderr ?? ''}` || failed.message;
  }
}

describe('types, checked as a consumer would (skipLibCheck: false)', () => {
  it("type-check the README's examples and a no-appwrite consumer under bundler, node16 and nodenext", async () => {
    const examples = await readmeExamples();
    expect(examples.length).toBeGreaterThanOrEqual(2);
    // The examples import appwrite, which this project lacks on purpose: they alone get this repo's
    // copy, through examples/node_modules. The package's own .d.ts, resolving from the project's
    // node_modules, still cannot see it.
    await mkdir(join(project, 'examples', 'node_modules'), { recursive: true });
    await symlink(join(repoModules, 'appwrite'), join(project, 'examples', 'node_modules', 'appwrite'), 'dir');
    const files = examples.map((_, index) => `examples/readme-${index + 1}.ts`);
    await Promise.all(examples.map((source, index) => writeFile(join(project, files[index]!), source)));
    await writeFile(join(project, 'alpinejs.d.ts'), ALPINE_SHIM);
    await writeFile(join(project, 'no-appwrite.ts'), NO_APPWRITE);
    await writeFile(join(project, 'no-appwrite.cts'), NO_APPWRITE_CJS);

    // Outside examples/ appwrite cannot be found: the no-appwrite files prove the entry's .d.ts
    // (ESM) and .d.cts (CJS) do not need it, in every mode.
    const checked = ['alpinejs.d.ts', ...files, 'no-appwrite.ts', 'no-appwrite.cts'];
    const configs: Record<string, string> = {
      'tsconfig.bundler.json': tsconfig('preserve', 'bundler', checked),
      'tsconfig.node16.json': tsconfig('node16', 'node16', checked),
      'tsconfig.nodenext.json': tsconfig('nodenext', 'nodenext', checked),
    };
    await Promise.all(Object.entries(configs).map(([name, source]) => writeFile(join(project, name), source)));
    const results = await Promise.all(Object.keys(configs).map(async (name) => [name, await typecheck(name)] as const));
    expect(Object.fromEntries(results)).toEqual(Object.fromEntries(Object.keys(configs).map((name) => [name, ''])));
  }, 120_000);
});
