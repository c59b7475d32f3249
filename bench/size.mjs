/**
 * Where the CDN script's bytes go: the classic-script entry (src/cdn.ts) bundled as the build does
 * (IIFE, Appwrite from the page), each module's minified bytes from esbuild's metafile, then the
 * whole minified as the build does (esbuild, then terser and the machine parts' renaming: scripts/cdn-minify.mjs) and gzipped at level 9 — once with xstate
 * inside (the shipped size) and once with xstate left out (our own code). Sizes are exact, not
 * timings: they do not swing between runs.
 *
 *   node bench/size.mjs            the table
 *   node bench/size.mjs --json     the same as JSON
 */
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';

import { minifyCdn } from '../scripts/cdn-minify.mjs';
const base = { entryPoints: ['src/cdn.ts'], bundle: true, format: 'iife', write: false, target: 'es2022', platform: 'browser', logLevel: 'silent' };

const measured = await build({ ...base, minify: true, metafile: true, external: ['appwrite'] });
const inputs = Object.values(measured.metafile.outputs)[0].inputs;
const groups = new Map();
for (const [path, { bytesInOutput }] of Object.entries(inputs)) {
  const name = path.includes('node_modules/xstate/') ? 'xstate' : path.replace(/^src\//, '');
  groups.set(name, (groups.get(name) ?? 0) + bytesInOutput);
}
const rows = [...groups].sort((a, b) => b[1] - a[1]);

async function gzipOf(external) {
  const plain = await build({ ...base, minify: true, external });
  const code = await minifyCdn(plain.outputFiles[0].text);
  return { min: code.length, gzip: gzipSync(code, { level: 9 }).length };
}
const shipped = await gzipOf(['appwrite']);
const ours = await gzipOf(['appwrite', 'xstate']);

if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ modules: Object.fromEntries(rows), shipped, ours }, null, 2));
} else {
  console.log('module (esbuild-minified bytes in the CDN script)');
  for (const [name, bytes] of rows) console.log(`${String(bytes).padStart(8)}  ${name}`);
  console.log(`\nshipped (terser, gzip -9): ${shipped.min} B min, ${shipped.gzip} B min+gzip`);
  console.log(`our code alone (xstate left out): ${ours.min} B min, ${ours.gzip} B min+gzip`);
}
