import { readFile, writeFile } from 'node:fs/promises';
import { defineConfig } from 'tsup';
import { minifyCdn } from './scripts/cdn-minify.mjs';

const CDN_SCRIPT = 'dist/manifest.appwrite.presences.js';

// Four builds: the npm library (ESM + CJS, types for each), the Node-only emulator (ESM with its
// CLI, plus CJS so `require('appwrite-presence/emulator')` works), and the classic CDN script
// Manifest's loader asks for (IIFE, xstate bundled in, Appwrite and Alpine taken from the page at
// run time). No source maps: the tarball ships dist/ without src/, and a map whose sources are
// missing only makes bundlers warn (scripts/check-package.mjs refuses *.map in the tarball).
export default defineConfig([
  {
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    // index.d.ts for `import`, index.d.cts for `require` (package.json "exports").
    dts: true,
    sourcemap: false,
    clean: false,
    target: 'es2020',
    platform: 'browser',
    // src/index.ts never imports appwrite; kept external so a stray import fails the consumer test
    // (test/package) instead of bundling a second SDK.
    external: ['appwrite', 'xstate'],
  },
  {
    entry: { 'emulator/index': 'src/emulator/index.ts' },
    // ESM for `import`, CJS for `require` (the server has no ESM-only code), a .d.ts / .d.cts each.
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: false,
    clean: false,
    target: 'node20',
    platform: 'node',
    external: ['ws'],
  },
  {
    // The CLI imports the emulator from ./index.js at run time instead of bundling a second copy
    // (and no shared chunk is left behind in dist/ by each rebuild).
    entry: { 'emulator/cli': 'src/emulator/cli.ts' },
    format: ['esm'],
    dts: false,
    sourcemap: false,
    clean: false,
    target: 'node20',
    platform: 'node',
    external: ['ws', './index.js'],
  },
  {
    entry: { 'manifest.appwrite.presences': 'src/cdn.ts' },
    format: ['iife'],
    outExtension: () => ({ js: '.js' }),
    // esbuild's minifier here, then terser and the machine parts' renaming once written
    // (onSuccess): scripts/cdn-minify.mjs says how and why.
    minify: true,
    sourcemap: false,
    clean: false,
    // Class fields stay native (every browser Alpine 3 supports has them): 130 B less than es2020's helpers.
    target: 'es2022',
    platform: 'browser',
    noExternal: ['xstate'],
    // The page provides Appwrite (window.Appwrite); the bundle must never carry a copy.
    esbuildOptions(options) {
      options.external = ['appwrite'];
      options.minify = true;
    },
    async onSuccess() {
      await writeFile(CDN_SCRIPT, await minifyCdn(await readFile(CDN_SCRIPT, 'utf8')));
    },
  },
]);
