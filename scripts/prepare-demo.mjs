// Copy the browser scripts the demo page loads into demo/vendor/ (ignored by git): the built
// plugin, and the Appwrite SDK and Alpine from node_modules, since this machine is offline.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const vendor = join(root, 'demo', 'vendor');
mkdirSync(vendor, { recursive: true });
const files = {
  'manifest.appwrite.presences.js': join(root, 'dist', 'manifest.appwrite.presences.js'),
  'appwrite.js': join(dirname(require.resolve('appwrite/package.json')), 'dist', 'iife', 'sdk.js'),
  'alpine.js': join(dirname(require.resolve('alpinejs/package.json')), 'dist', 'cdn.js'),
};
for (const [name, from] of Object.entries(files)) copyFileSync(from, join(vendor, name));
