/**
 * Node HTTP plumbing: bodies (JSON, capped), query strings in the SDK's flattened form
 * (`queries[0]=…&total=true`), CORS with credentials for any origin, and writing replies. Nothing
 * here knows Appwrite's resources; a body that is not a JSON object reads as no parameters, as
 * utopia reads it, so the missing-parameter errors explain what is wrong.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { argumentInvalid } from './errors.js';
import { parseJson } from './json.js';
import { isPlainObject } from './validators.js';

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string | string[]>;
}

const MAX_BODY_BYTES = 2 * 1024 * 1024;

export async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw argumentInvalid(`Request body exceeds ${MAX_BODY_BYTES} bytes.`);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  try {
    const parsed = parseJson(Buffer.concat(chunks).toString('utf8'));
    return isPlainObject(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

/**
 * `a=1&list[0]=x&list[1]=y&other[]=z` → `{ a: '1', list: ['x', 'y'], other: ['z'] }`. Indexes only
 * order the entries (a huge index must not allocate a huge array); keys become own properties.
 */
export function queryParams(search: URLSearchParams): Record<string, unknown> {
  const scalars = new Map<string, string>();
  const lists = new Map<string, { index: number; value: string }[]>();
  for (const [rawKey, value] of search) {
    const match = /^([^[\]]+)\[(\d*)\]$/.exec(rawKey);
    if (!match) {
      scalars.set(rawKey, value);
      continue;
    }
    const entries = lists.get(match[1]!) ?? [];
    // `[]` entries keep their order after indexed ones (the sort below is stable).
    entries.push({ index: match[2] === '' ? Number.MAX_SAFE_INTEGER : Number(match[2]), value });
    lists.set(match[1]!, entries);
  }
  const ordered = [...lists].map(([key, entries]) => [key, entries.sort((a, b) => a.index - b.index).map((entry) => entry.value)] as const);
  return Object.fromEntries([...scalars, ...ordered]);
}

const EXPOSED_HEADERS = 'X-Appwrite-Session, X-Fallback-Cookies';

/** CORS headers for a request from another origin (credentials allowed, our session headers exposed). */
function corsHeaders(req: IncomingMessage): Record<string, string> {
  const origin = req.headers.origin;
  if (!origin) return {};
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Credentials': 'true',
    'Access-Control-Expose-Headers': EXPOSED_HEADERS,
    Vary: 'Origin',
  };
}

export function preflightHeaders(req: IncomingMessage): Record<string, string> {
  const requested = req.headers['access-control-request-headers'];
  return {
    ...corsHeaders(req),
    'Access-Control-Allow-Methods': 'GET, POST, PUT, PATCH, DELETE, OPTIONS',
    'Access-Control-Allow-Headers':
      typeof requested === 'string' && requested !== ''
        ? requested
        : 'Content-Type, X-Appwrite-Project, X-Appwrite-Key, X-Appwrite-Session, X-Fallback-Cookies, X-Appwrite-Response-Format, X-SDK-Name, X-SDK-Platform, X-SDK-Language, X-SDK-Version',
    'Access-Control-Max-Age': '600',
  };
}

export function send(req: IncomingMessage, res: ServerResponse, reply: Reply): void {
  const headers: Record<string, string | string[]> = { ...corsHeaders(req), ...reply.headers };
  if (reply.body === undefined) {
    res.writeHead(reply.status, headers).end();
    return;
  }
  const body = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
  headers['Content-Type'] ??= 'application/json; charset=UTF-8';
  res.writeHead(reply.status, headers).end(req.method === 'HEAD' ? undefined : body);
}

/** The client address, for sessions and the connect rate limit. */
export const clientIp = (req: IncomingMessage): string => req.socket.remoteAddress ?? 'unknown';
