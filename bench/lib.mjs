// Shared helpers of the benchmark scripts: a seeded random source, medians, percentiles, heap
// readings and the throwaway build of internal modules (the Roster is not part of the public API,
// so it is built from the same source with the same target as dist/, under node_modules so its
// own imports resolve to the project's copies).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Where the internal modules are built; BENCH_INTERNALS points elsewhere to compare another build. */
export const internals = process.env.BENCH_INTERNALS ?? join(root, 'node_modules', '.cache', 'presence-bench');

/** Builds src/machines/{roster,clock}.ts to node_modules/.cache/presence-bench (ESM, es2020, like dist/). */
export function buildInternals() {
  execFileSync(
    process.execPath,
    [
      join(root, 'node_modules', 'tsup', 'dist', 'cli-default.js'),
      'src/machines/roster.ts',
      'src/machines/clock.ts',
      '--no-config',
      '--format',
      'esm',
      '--target',
      'es2020',
      '--platform',
      'browser',
      '--out-dir',
      internals,
      '--silent',
    ],
    { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
  );
}

export async function importInternal(name) {
  const file = join(internals, `${name}.js`);
  if (!existsSync(file)) buildInternals();
  return import(pathToFileURL(file).href);
}

/** mulberry32: a fast seeded PRNG, so every run replays the same stream. */
export function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Nearest-rank percentile (p in 0..100). */
export function percentile(xs, p) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export function heap() {
  if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
}

export const nowNs = () => process.hrtime.bigint();

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
