import { defineConfig } from 'tsup';

// Three builds: the npm library (ESM + CJS + types), the Node-only emulator (ESM + types),
// and the classic CDN script Manifest's loader asks for (IIFE, xstate bundled in, Appwrite
// and Alpine taken from the page at run time).
export default defineConfig([
  {
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: false,
    target: 'es2020',
    platform: 'browser',
    external: ['appwrite', 'xstate'],
  },
  {
    entry: { 'emulator/index': 'src/emulator/index.ts', 'emulator/cli': 'src/emulator/cli.ts' },
    format: ['esm'],
    dts: { entry: { 'emulator/index': 'src/emulator/index.ts' } },
    sourcemap: true,
    clean: false,
    target: 'node20',
    platform: 'node',
    external: ['ws'],
  },
  {
    entry: { 'manifest.appwrite.presences': 'src/cdn.ts' },
    format: ['iife'],
    outExtension: () => ({ js: '.js' }),
    // terser with three compress passes: ~1.3 KB less than esbuild's minifier after gzip, the
    // third pass 100 B of it (measured on this bundle; see bench/README.md, "Bundle").
    minify: 'terser',
    terserOptions: { ecma: 2020, compress: { passes: 3 }, format: { comments: false } },
    sourcemap: true,
    clean: false,
    // Class fields stay native (every browser Alpine 3 supports has them): 130 B less than es2020's helpers.
    target: 'es2022',
    platform: 'browser',
    noExternal: ['xstate'],
    // The page provides Appwrite (window.Appwrite); the bundle must never carry a copy.
    esbuildOptions(options) {
      options.external = ['appwrite'];
    },
  },
]);
