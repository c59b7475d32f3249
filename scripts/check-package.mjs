#!/usr/bin/env node
// `npm run check:package` (the last step of `npm test`): packs the package exactly as npm would
// publish it, checks the file list, then runs @arethetypeswrong/cli (types resolve in every module
// mode, per condition) and publint (package.json fields and exports) on the tarball. Any problem
// exits non-zero. It packs the current dist/ (`npm test` builds first); with no dist/ it builds.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);

/** What the tarball must hold, and nothing else (package.json, README and LICENSE come free). */
export const EXPECTED_FILES = [
  'LICENSE',
  'README.md',
  'package.json',
  'bin/appwrite-presence-emulator.js',
  'dist/index.js',
  'dist/index.cjs',
  'dist/index.d.ts',
  'dist/index.d.cts',
  'dist/manifest.appwrite.presences.js',
  'dist/emulator/cli.js',
  'dist/emulator/index.js',
  'dist/emulator/index.cjs',
  'dist/emulator/index.d.ts',
  'dist/emulator/index.d.cts',
].sort();

/** `npm pack` into `destination`; returns the tarball's path and its file list. */
export function pack(destination) {
  if (!existsSync(join(root, 'dist', 'index.js'))) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  // --ignore-scripts: pack the dist/ just built instead of running "prepack" (a second, clean build).
  const output = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', destination], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [result] = JSON.parse(output);
  return { tarball: join(destination, result.filename), files: result.files.map((file) => file.path).sort(), size: result.size, unpackedSize: result.unpackedSize };
}

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8' });
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}`.trim() };
}

function main() {
  const destination = mkdtempSync(join(tmpdir(), 'appwrite-presence-pack-'));
  let failed = false;
  try {
    const { tarball, files, size, unpackedSize } = pack(destination);
    console.log(`packed ${files.length} files, ${(size / 1024).toFixed(1)} kB (${(unpackedSize / 1024).toFixed(1)} kB unpacked)`);

    const missing = EXPECTED_FILES.filter((file) => !files.includes(file));
    const extra = files.filter((file) => !EXPECTED_FILES.includes(file));
    if (missing.length || extra.length) {
      failed = true;
      console.error(`file list: missing ${JSON.stringify(missing)}, unexpected ${JSON.stringify(extra)}`);
      if (extra.length) console.error('(stale build output? `npm run prepack` rebuilds dist/ from scratch)');
    } else {
      console.log('file list: as expected');
    }

    // attw: every entry point under node10, node16 (CJS and ESM) and bundler resolution.
    const attw = run(bin('attw'), [tarball, '--format', 'table-flipped', '--no-color', '--profile', 'strict']);
    console.log(attw.output);
    if (!attw.ok) failed = true;

    // publint --strict: warnings fail too; suggestions are printed only.
    const publint = run(bin('publint'), [tarball, '--strict']);
    console.log(publint.output);
    if (!publint.ok) failed = true;
  } finally {
    rmSync(destination, { recursive: true, force: true });
  }
  if (failed) {
    console.error('check:package: problems found (above)');
    process.exit(1);
  }
  console.log('check:package: attw and publint clean');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
