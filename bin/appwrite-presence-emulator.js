#!/usr/bin/env node
// Thin launcher so `npx appwrite-presence-emulator` works from the built package.
import('../dist/emulator/cli.js').catch((error) => {
  console.error(
    error && error.code === 'ERR_MODULE_NOT_FOUND'
      ? 'appwrite-presence-emulator: dist/ is missing; run `npm run build` first.'
      : error,
  );
  process.exit(1);
});
