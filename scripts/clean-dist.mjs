// `npm pack` / `npm publish` build from scratch (package.json "prepack"): tsup's builds run side
// by side with `clean: false`, so a plain `npm run build` never deletes what another build wrote,
// and files from older layouts would otherwise ride along into the tarball.
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

rmSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'dist'), { recursive: true, force: true });
