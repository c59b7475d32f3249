import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index';
import { call } from './wire';

const PROJECT = 'static-tests';
let emulator: Emulator;
let root: string;
let origin: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'emulator-static-'));
  await mkdir(join(root, 'app'));
  await writeFile(join(root, 'index.html'), '<!doctype html><title>demo</title>');
  await writeFile(join(root, 'app', 'index.html'), '<p>app</p>');
  await writeFile(join(root, 'app.js'), 'export {};');
  await writeFile(join(root, 'style.css'), 'body{}');
  await writeFile(join(root, 'manifest.json'), '{}');
  await writeFile(join(root, 'logo.svg'), '<svg/>');
  await writeFile(join(root, 'data.bin'), 'x');
  emulator = await startEmulator({ port: 0, staticDir: root });
  origin = emulator.url.replace(/\/v1$/, '');
});
afterAll(async () => {
  await emulator.close();
  await rm(root, { recursive: true, force: true });
});

describe('--static', () => {
  it('serves files with their content types and directories by index.html', async () => {
    const expected: [string, string, string][] = [
      ['/', 'text/html; charset=utf-8', '<!doctype html><title>demo</title>'],
      ['/app/', 'text/html; charset=utf-8', '<p>app</p>'],
      ['/app.js', 'text/javascript; charset=utf-8', 'export {};'],
      ['/style.css', 'text/css; charset=utf-8', 'body{}'],
      ['/manifest.json', 'application/json; charset=utf-8', '{}'],
      ['/logo.svg', 'image/svg+xml', '<svg/>'],
      ['/data.bin', 'application/octet-stream', 'x'],
    ];
    for (const [path, type, body] of expected) {
      const response = await fetch(`${origin}${path}`);
      expect([response.status, response.headers.get('content-type'), await response.text()]).toEqual([200, type, body]);
    }
  });

  it('answers 404 for missing files and never leaves the directory', async () => {
    for (const path of ['/missing.html', '/../package.json', '/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2fetc%2fpasswd', '/%E0%A4%A']) {
      expect((await fetch(`${origin}${path}`)).status).toBe(404);
    }
  });

  it('keeps the API under /v1 on the same origin, so the session cookie works there', async () => {
    const created = await call(`${emulator.url}/account/sessions/anonymous`, 'POST', { project: PROJECT, body: {} });
    const cookie = created.headers.getSetCookie()[0]!.split(';')[0]!;
    const account = await call(`${emulator.url}/account`, 'GET', { project: PROJECT, headers: { cookie } });
    expect(account.body.$id).toBe(created.body.userId);
  });
});

describe('CORS', () => {
  it('answers preflights for any origin with credentials and the requested headers', async () => {
    const response = await fetch(`${emulator.url}/account`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://elsewhere.test', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'x-appwrite-project, x-fallback-cookies' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('http://elsewhere.test');
    expect(response.headers.get('access-control-allow-credentials')).toBe('true');
    expect(response.headers.get('access-control-allow-headers')).toBe('x-appwrite-project, x-fallback-cookies');
    expect(response.headers.get('access-control-allow-methods')).toContain('PATCH');
  });

  it('exposes X-Fallback-Cookies to other origins, on successes and errors alike', async () => {
    const headers = { Origin: 'http://elsewhere.test' };
    const created = await call(`${emulator.url}/account/sessions/anonymous`, 'POST', { project: PROJECT, headers, body: {} });
    expect(created.headers.get('access-control-allow-origin')).toBe('http://elsewhere.test');
    expect(created.headers.get('access-control-expose-headers')).toContain('X-Fallback-Cookies');
    const refused = await call(`${emulator.url}/account`, 'GET', { project: PROJECT, headers });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-credentials')).toBe('true');
  });
});
