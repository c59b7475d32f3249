/**
 * The emulator process: one HTTP server carrying the REST API under `/v1`, the realtime upgrade at
 * `/v1/realtime`, the fault hooks under `/v1/emulator/`, and optionally static files at `/`.
 * Every API failure leaves as Appwrite's error body; an unexpected exception is logged and answered
 * with a bare 500 body, never a stack, and never takes the process down.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { accountRoutes } from './account.js';
import { callerFromHeaders, requireScope } from './auth.js';
import { AppwriteError, APPWRITE_VERSION, errorBody, projectUnknown, routeNotFound, serverError } from './errors.js';
import { EventBus } from './events.js';
import { ExpirySweeper } from './expiry.js';
import { Faults } from './faults.js';
import { systemClock, type Clock } from './format.js';
import { checked, fraction, handleHook, MAX_PAUSE_MS, type FaultControls } from './hooks.js';
import { clientIp, preflightHeaders, queryParams, readJsonBody, send, type Reply } from './http.js';
import { Params } from './params.js';
import { presenceRoutes } from './presences-http.js';
import { PresenceService } from './presences.js';
import { Realtime } from './realtime.js';
import { matchPath, type Route } from './routes.js';
import { Projects } from './state.js';
import { serveStatic } from './static.js';
import { teamRoutes } from './teams.js';
import { userRoutes } from './users.js';
import { boolean, range } from './validators.js';

export interface EmulatorOptions {
  /** Default 8787; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Serve this directory at `/` (same origin as the API, so cookies work). */
  staticDir?: string | null;
  /** A project API key holding every scope. Without one, no key is accepted. */
  apiKey?: string | null;
  /** Accept only this project id. Default: any id, each with its own data. */
  project?: string | null;
  /** Emit `presences.<id>.delete` when a row expires (Appwrite Cloud); default silent (open source). */
  expiryEvents?: boolean;
  /** Enforce Appwrite's realtime abuse limits. */
  abuse?: boolean;
  /** The server's clock (tests move or skew it). Default: the system clock. */
  clock?: Clock;
  /** Silent mode: how often expired rows are purged (Appwrite: daily maintenance). Default 60 000. */
  sweepEveryMs?: number;
}

export interface Emulator extends FaultControls {
  /** The API endpoint, e.g. `http://127.0.0.1:8787/v1`: give it to `client.setEndpoint()`. */
  url: string;
  host: string;
  port: number;
  /** Open realtime sockets. */
  connections(): number;
  close(): Promise<void>;
}

/**
 * Start an emulator; resolves once it listens. Close it when done: it holds a port and timers.
 *
 * @example
 * ```ts
 * const emulator = await startEmulator({ port: 0, apiKey: 'dev-key' });
 * const client = new Client().setEndpoint(emulator.url).setProject('demo');
 * ```
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const host = options.host ?? '127.0.0.1';
  const clock = options.clock ?? systemClock;
  const apiKey = options.apiKey ?? null;
  const projects = new Projects(options.project ?? null);
  const bus = new EventBus(clock);
  const faults = new Faults();
  const sweeper = new ExpirySweeper({
    clock,
    projects,
    presences: () => presences,
    announce: options.expiryEvents ?? false,
    sweepEveryMs: options.sweepEveryMs ?? 60_000,
  });
  const presences = new PresenceService(clock, bus, (expiresAt) => sweeper.noteExpiry(expiresAt));
  const realtime = new Realtime({ projects, clock, presences, abuse: options.abuse ?? false });
  const routes: Route[] = [
    ...accountRoutes(),
    ...teamRoutes((project, userId) => realtime.refreshRoles(project, userId)),
    ...presenceRoutes(presences, faults),
    ...userRoutes(),
  ];
  const controls: FaultControls = {
    dropSockets: () => realtime.dropAll(),
    blockRealtime: (blocked, { drop } = {}) =>
      realtime.block(checked('blocked', blocked, boolean()), { drop: checked('drop', drop ?? false, boolean()) }),
    pauseEvents: (ms) => bus.pause(checked('ms', ms, range(0, MAX_PAUSE_MS))),
    reset: () => {
      realtime.forgetAll();
      realtime.block(false);
      projects.clear();
      bus.clear();
      faults.clear();
      sweeper.stop();
      sweeper.start();
    },
    failWrites: (rate) => faults.failWrites(checked('rate', rate, fraction())),
  };

  async function api(req: IncomingMessage, url: URL): Promise<Reply> {
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
    const body = method === 'GET' ? {} : await readJsonBody(req);
    const pathname = url.pathname.replace(/\/+$/, '');
    if (pathname.startsWith('/v1/emulator/')) return handleHook(method, pathname, body, controls);
    const open = publicRoute(method, pathname);
    if (open) return open;
    const route = routes.find((candidate) => candidate.method === method && matchPath(candidate.path, pathname));
    if (!route) throw routeNotFound();
    const projectHeader = req.headers['x-appwrite-project'];
    const project = projects.get(typeof projectHeader === 'string' ? projectHeader : url.searchParams.get('project'));
    if (!project) throw projectUnknown();
    const now = clock.now();
    const caller = callerFromHeaders(project, req.headers, apiKey, now);
    requireScope(caller, route.scope, project.id);
    const input = method === 'GET' ? queryParams(url.searchParams) : body;
    return route.handle({
      project,
      caller,
      params: Params.rest(input),
      path: matchPath(route.path, pathname)!,
      headers: req.headers,
      ip: clientIp(req),
      now,
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = requestUrl(req);
    if (!url) return send(req, res, failure(routeNotFound()));
    if (req.method === 'OPTIONS') {
      res.writeHead(204, preflightHeaders(req)).end();
      return;
    }
    if (url.pathname !== '/v1' && !url.pathname.startsWith('/v1/') && options.staticDir) {
      await serveStatic(options.staticDir, url.pathname, req, res);
      return;
    }
    let reply: Reply;
    try {
      reply = await api(req, url);
    } catch (error) {
      reply = failure(error);
    }
    send(req, res, reply);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      console.error('appwrite-presence-emulator: request failed', error);
      if (!res.headersSent) send(req, res, { status: 500, body: errorBody(serverError()) });
      else res.destroy();
    });
  });
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => undefined);
    const pathname = requestUrl(req)?.pathname ?? '';
    if (pathname.replace(/\/+$/, '') === '/v1/realtime') realtime.handleUpgrade(req, socket, head);
    else socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
  });
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });

  await listen(server, options.port ?? 8787, host);
  sweeper.start();
  const port = (server.address() as AddressInfo).port;
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${hostInUrl}:${port}/v1`,
    host,
    port,
    connections: () => realtime.count(),
    ...controls,
    close: async () => {
      sweeper.stop();
      bus.clear();
      await realtime.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Routes that need neither project nor caller: health and ping, as monitors call them. */
function publicRoute(method: string, pathname: string): Reply | null {
  if (method !== 'GET') return null;
  if (pathname === '/v1/health') return { status: 200, body: { name: 'http', ping: 0, status: 'pass' } };
  if (pathname === '/v1/health/version') return { status: 200, body: { version: APPWRITE_VERSION } };
  if (pathname === '/v1/ping') return { status: 200, body: 'Pong!', headers: { 'Content-Type': 'text/plain; charset=UTF-8' } };
  return null;
}

/** The request target as a URL; null when it cannot be parsed (a garbage absolute-form target). */
function requestUrl(req: IncomingMessage): URL | null {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return null;
  }
}

function failure(error: unknown): Reply {
  if (error instanceof AppwriteError) return { status: error.code, body: errorBody(error) };
  console.error('appwrite-presence-emulator: request failed', error);
  return { status: 500, body: errorBody(serverError()) };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
