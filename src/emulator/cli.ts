/**
 * `appwrite-presence-emulator`: parses the flags, starts the emulator and prints exactly one line,
 * `Appwrite presence emulator listening on http://HOST:PORT/v1`, before anything else. SIGINT and
 * SIGTERM close it cleanly (sockets dropped, port released) and exit 0; bad flags (a `--static`
 * directory that does not exist among them) exit 2 with the reason on stderr.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startEmulator, type EmulatorOptions } from './index.js';

const USAGE = `Usage: appwrite-presence-emulator [options]

  --port N           port to listen on (default 8787; 0 picks a free port)
  --host HOST        interface to bind (default 127.0.0.1)
  --static DIR       serve DIR at / from the API's origin
  --api-key KEY      accept KEY as a project API key with every scope
  --project ID       accept only this project id (default: any)
  --expiry-events    emit presences.<id>.delete when a row expires (Appwrite Cloud)
  --abuse            enforce realtime limits (32 messages/min/socket, 128 connects/min/IP)
  --help             show this help

Dev-only fault hooks: POST /v1/emulator/drop-sockets, /v1/emulator/pause-events {"ms":N},
/v1/emulator/reset, /v1/emulator/fail-writes {"rate":0.05},
/v1/emulator/block-realtime {"blocked":true,"drop":true} (refuse realtime upgrades, as a blocking proxy does).`;

function options(argv: string[]): EmulatorOptions | null {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      static: { type: 'string' },
      'api-key': { type: 'string' },
      project: { type: 'string' },
      'expiry-events': { type: 'boolean' },
      abuse: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return null;
  const port = values.port === undefined ? 8787 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`--port must be an integer from 0 to 65535, got "${values.port}"`);
  // A typo here would otherwise start a server that answers 404 for every page.
  if (values.static !== undefined && !isDirectory(values.static)) {
    throw new Error(`--static ${values.static}: no such directory (${resolve(values.static)})`);
  }
  return {
    port,
    host: values.host ?? '127.0.0.1',
    staticDir: values.static ?? null,
    apiKey: values['api-key'] ?? null,
    project: values.project ?? null,
    expiryEvents: values['expiry-events'] ?? false,
    abuse: values.abuse ?? false,
  };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  let parsed: EmulatorOptions | null;
  try {
    parsed = options(process.argv.slice(2));
  } catch (error) {
    console.error(`appwrite-presence-emulator: ${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (!parsed) {
    console.log(USAGE);
    return;
  }
  const emulator = await startEmulator(parsed);
  console.log(`Appwrite presence emulator listening on ${emulator.url}`);
  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    emulator.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('appwrite-presence-emulator: close failed', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(`appwrite-presence-emulator: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
