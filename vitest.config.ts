import { defineConfig } from 'vitest/config';

// `npm test`: everything that needs no browser. Browser tests live in test/browser and run
// with vitest.browser.config.ts (`npm run test:browser`).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/browser/**', 'node_modules/**'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    // test/contract runs here against a fresh emulator only; `npm run test:appwrite` may target a
    // real Appwrite (test/contract/target.ts).
    env: { APPWRITE_CONTRACT_TARGET: 'emulator' },
    // Type tests (`*.test-d.ts`): the public names, checked by tsc in every `npm test`.
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
  },
});
