/**
 * One emulator per test file: `useEmulator(options)` registers the hooks that start it (on
 * 127.0.0.1, a free port) before the file's tests and close it after them, and returns a stand-in
 * that forwards to it — so a file writes `const emulator = useEmulator({ apiKey: KEY })` and uses
 * `emulator.url`, `emulator.failWrites(…)` in its hooks and tests as if it held the real one.
 * Reading it outside a hook or test (before it started) throws, rather than handing out undefined.
 */
import { afterAll, beforeAll } from 'vitest';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/index';

export function useEmulator(options: Omit<EmulatorOptions, 'port'> = {}): Emulator {
  let running: Emulator | null = null;
  beforeAll(async () => {
    running = await startEmulator({ ...options, port: 0 });
  });
  afterAll(async () => {
    await running?.close();
    running = null;
  });
  return new Proxy({} as Emulator, {
    get(_, key) {
      if (running === null) throw new Error(`emulator.${String(key)} read while no emulator runs (outside a hook or test?)`);
      const value: unknown = Reflect.get(running, key);
      return typeof value === 'function' ? value.bind(running) : value;
    },
  });
}
