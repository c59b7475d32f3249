import { defineConfig } from 'vitest/config';

// `npm run test:appwrite`: the protocol contract (test/contract) against APPWRITE_ENDPOINT,
// APPWRITE_PROJECT_ID and APPWRITE_API_KEY when all are set, else a fresh emulator
// (test/contract/target.ts). A real server is slower and farther away: longer timeouts.
export default defineConfig({
  test: {
    include: ['test/contract/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
