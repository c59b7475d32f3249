// The real `appwrite` browser SDK in plain Node, for the end-to-end and network benchmarks: the
// same arrangement as test/support/sdk.ts (read its header), without the test helpers. The SDK
// wants a page: `window.localStorage` (it keeps the session in ONE process-wide cookieFallback) and
// `WebSocket`. So sessions are created one at a time; right after each, the token is pinned to its
// client with `client.setSession(token)` and localStorage is cleared, so clients stay independent.
// Also: the emulator as a child process (its own event loop, as a real server would be), and a
// project key client.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import * as Appwrite from 'appwrite';
import * as server from 'node-appwrite';
import WebSocket from 'ws';
import { root } from './lib.mjs';

class MemoryStorage {
  items = new Map();
  get length() {
    return this.items.size;
  }
  key(i) {
    return [...this.items.keys()][i] ?? null;
  }
  getItem(k) {
    return this.items.get(k) ?? null;
  }
  setItem(k, v) {
    this.items.set(k, String(v));
  }
  removeItem(k) {
    this.items.delete(k);
  }
  clear() {
    this.items.clear();
  }
}

const quiet = Object.assign(Object.create(console), {
  warn: (...args) => {
    if (typeof args[0] === 'string' && args[0].startsWith('Appwrite is using localStorage')) return;
    console.warn(...args);
  },
});
globalThis.window ??= {
  localStorage: new MemoryStorage(),
  setInterval: (h, ms) => setInterval(h, ms),
  clearInterval: (t) => clearInterval(t),
  setTimeout: (h, ms) => setTimeout(h, ms),
  clearTimeout: (t) => clearTimeout(t),
  console: quiet,
  location: { host: 'localhost' },
};
globalThis.WebSocket = WebSocket;
const storage = globalThis.window.localStorage;

let queue = Promise.resolve();
function exclusive(task) {
  const run = queue.then(task);
  queue = run.catch(() => undefined);
  return run;
}

/** A browser-SDK client with its own anonymous session: `{ client, userId }`. */
export async function guest(url, project) {
  const account = new Appwrite.Account(new Appwrite.Client().setEndpoint(url).setProject(project));
  const { userId, token } = await exclusive(async () => {
    try {
      const session = await account.createAnonymousSession();
      const fallback = JSON.parse(storage.getItem('cookieFallback') ?? '{}');
      const token = fallback[`a_session_${project}`];
      if (typeof token !== 'string') throw new Error('the emulator answered no X-Fallback-Cookies session');
      return { userId: session.userId, token };
    } finally {
      storage.clear();
    }
  });
  const client = new Appwrite.Client().setEndpoint(url).setProject(project).setSession(token);
  return { client, userId };
}

/** node-appwrite services authenticated by a project API key. */
export function keyClient(url, project, key) {
  const client = new server.Client().setEndpoint(url).setProject(project).setKey(key);
  return { client, presences: new server.Presences(client), users: new server.Users(client) };
}

/** The emulator CLI as a child process on a free loopback port; resolves to `{ url, close() }`. */
export function startEmulatorProcess(args = []) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'bin', 'appwrite-presence-emulator.js'), '--port', '0', '--host', '127.0.0.1', ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    // The emulator never outlives this process, however it ends.
    const kill = () => child.exitCode === null && child.kill('SIGTERM');
    process.once('exit', kill);
    let buffer = '';
    const onData = (chunk) => {
      buffer += chunk;
      const match = /listening on (http:\/\/\S+\/v1)/.exec(buffer);
      if (!match) return;
      child.stdout.off('data', onData);
      child.stdout.resume();
      resolve({
        url: match[1],
        origin: new URL(match[1]).origin,
        close: () =>
          new Promise((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', onData);
    child.once('exit', (code) => reject(new Error(`emulator exited with ${code} before listening`)));
    child.once('error', reject);
  });
}

/** Run `task(item)` over `items` with at most `limit` in flight. */
export async function pool(items, limit, task) {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await task(items[i], i);
    }
  });
  await Promise.all(workers);
}

/** Seed `count` present people with a key (users.create + presences.upsert), readable by all users. */
export async function seedRoster(admin, count, { prefix = 'seed', concurrency = 32, status = 'online' } = {}) {
  const expiresAt = new Date(Date.now() + 20 * 60_000).toISOString();
  const ids = Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(6, '0')}`);
  await pool(ids, concurrency, async (userId, i) => {
    await admin.users.create({ userId, name: `Person ${i}` });
    await admin.presences.upsert({
      presenceId: `p${userId}`,
      userId,
      status,
      permissions: ['read("users")'],
      expiresAt,
      metadata: { name: `Person ${i}` },
    });
  });
  return ids;
}

export { Appwrite };
