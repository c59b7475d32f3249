import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { build } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, expectErrorShape } from './wire';

// The CLI is built from source here, the way tsup.config.ts builds it, so the test does not depend on
// a stale dist/. It lands under node_modules so that `ws` resolves as it does in a real install.
const outDir = join(process.cwd(), 'node_modules', '.cache', `emulator-cli-test-${process.pid}`);
const cli = join(outDir, 'cli.js');
const LINE = /^Appwrite presence emulator listening on (http:\/\/127\.0\.0\.1:(\d+)\/v1)$/;

beforeAll(async () => {
  await build({
    entry: { cli: 'src/emulator/cli.ts' },
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    outDir,
    external: ['ws'],
    config: false,
    silent: true,
  });
}, 60_000);
afterAll(async () => {
  await rm(outDir, { recursive: true, force: true });
});

interface Running {
  child: ChildProcessWithoutNullStreams;
  url: string;
  port: number;
  firstLine: string;
}

async function run(...args: string[]): Promise<Running> {
  const child = spawn(process.execPath, [cli, ...args]);
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  const firstLine = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
      if (stdout.includes('\n')) resolve(stdout.split('\n')[0]!);
    });
    child.on('exit', (code) => reject(new Error(`exited with ${code}: ${stderr}`)));
  });
  const match = LINE.exec(firstLine);
  if (!match) throw new Error(`unexpected first line: ${firstLine}`);
  return { child, url: match[1]!, port: Number(match[2]), firstLine };
}

async function exitOf(child: ChildProcessWithoutNullStreams): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

describe('appwrite-presence-emulator', () => {
  it('prints exactly the listening line first, on a free port with --port 0, and exits 0 on SIGTERM', async () => {
    const running = await run('--port', '0');
    const exited = exitOf(running.child);
    try {
      expect(running.port).toBeGreaterThan(0);
      expect((await call(`${running.url}/health`, 'GET')).body).toEqual({ name: 'http', ping: 0, status: 'pass' });
    } finally {
      running.child.kill('SIGTERM');
    }
    expect((await exited).code).toBe(0);
    await expect(fetch(`${running.url}/health`)).rejects.toThrow();
  });

  it('takes every flag and closes cleanly on SIGINT', async () => {
    const site = await mkdtemp(join(tmpdir(), 'emulator-cli-static-'));
    try {
      await writeFile(join(site, 'index.html'), '<p>hi</p>');
      const running = await run('--port', '0', '--host', '127.0.0.1', '--api-key', 'cli-key', '--project', 'cli-project', '--expiry-events', '--abuse', '--static', site);
      const exited = exitOf(running.child);
      try {
        const user = await call(`${running.url}/users`, 'POST', { project: 'cli-project', headers: { 'X-Appwrite-Key': 'cli-key' }, body: { userId: 'u1' } });
        expect(user.status).toBe(201);
        expect(expectErrorShape(await call(`${running.url}/account`, 'GET', { project: 'other' })).type).toBe('project_not_found');
        expect(await (await fetch(`${running.url.replace(/\/v1$/, '')}/`)).text()).toBe('<p>hi</p>');
      } finally {
        running.child.kill('SIGINT');
      }
      expect((await exited).code).toBe(0);
    } finally {
      await rm(site, { recursive: true, force: true });
    }
  });

  it('explains bad flags on stderr and exits 2', async () => {
    for (const args of [['--nope'], ['--port', 'eighty']]) {
      const { code, stderr, stdout } = await exitOf(spawn(process.execPath, [cli, ...args]));
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toContain('Usage: appwrite-presence-emulator');
    }
  });

  it('refuses a --static directory that does not exist: exit 2, the path on stderr, nothing served', async () => {
    const missing = join(tmpdir(), `emulator-cli-missing-${process.pid}`);
    const { code, stdout, stderr } = await exitOf(spawn(process.execPath, [cli, '--port', '0', '--static', missing]));
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(`--static ${missing}: no such directory`);
  });

  it('refuses a --static path that is a file, not a directory', async () => {
    const site = await mkdtemp(join(tmpdir(), 'emulator-cli-static-'));
    try {
      const file = join(site, 'index.html');
      await writeFile(file, '<p>hi</p>');
      const { code, stderr } = await exitOf(spawn(process.execPath, [cli, '--port', '0', '--static', file]));
      expect(code).toBe(2);
      expect(stderr).toContain('no such directory');
    } finally {
      await rm(site, { recursive: true, force: true });
    }
  });

  it('prints usage for --help', async () => {
    const { code, stdout } = await exitOf(spawn(process.execPath, [cli, '--help']));
    expect(code).toBe(0);
    expect(stdout).toContain('--expiry-events');
  });

  it('exits 1 with a message when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as { port: number };
    try {
      const { code, stderr } = await exitOf(spawn(process.execPath, [cli, '--port', String(port)]));
      expect(code).toBe(1);
      expect(stderr).toContain('EADDRINUSE');
    } finally {
      blocker.close();
    }
  });
});
