/**
 * Raw protocol access for the emulator's conformance tests, where the SDK would hide what is under
 * test (handshake headers, malformed frames, error frames, close codes): a `ws` socket that records
 * every frame, and `fetch` that returns status, headers and parsed body.
 */
import WebSocket from 'ws';

export type Frame = { type: string; data?: any };

export interface RawSocket {
  ws: WebSocket;
  frames: Frame[];
  /** The first recorded frame (from index `from` on) that matches, waiting for it if needed. */
  frame(match: (frame: Frame) => boolean, options?: { from?: number; timeoutMs?: number }): Promise<Frame>;
  send(message: unknown): void;
  /** Send and wait for the next frame that is not an event (the answer to this message). */
  ask(message: unknown): Promise<Frame>;
  closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

export function realtimeUrl(apiUrl: string, project?: string): string {
  const url = `${apiUrl.replace(/^http/, 'ws')}/realtime`;
  return project === undefined ? url : `${url}?project=${encodeURIComponent(project)}`;
}

/** Open a socket and wait for its first frame (`connected`, or the handshake's error). */
export async function openSocket(url: string, headers: Record<string, string> = {}): Promise<RawSocket> {
  const ws = new WebSocket(url, { headers });
  const frames: Frame[] = [];
  const listeners = new Set<() => void>();
  ws.on('message', (data) => {
    frames.push(JSON.parse(String(data)) as Frame);
    for (const listener of [...listeners]) listener();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  ws.on('error', () => undefined);

  // Each waiter looks at every frame once, in order, so a match function may count frames.
  const frame = (match: (frame: Frame) => boolean, { from = 0, timeoutMs = 5_000 } = {}) =>
    new Promise<Frame>((resolve, reject) => {
      let next = from;
      const check = () => {
        for (; next < frames.length; next++) {
          if (!match(frames[next]!)) continue;
          listeners.delete(check);
          clearTimeout(timer);
          resolve(frames[next]!);
          return;
        }
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(frames.slice(from)).slice(0, 500)}`));
      }, timeoutMs);
      listeners.add(check);
      check();
    });

  const send = (message: unknown) => ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  const socket: RawSocket = {
    ws,
    frames,
    frame,
    send,
    ask: (message) => {
      const from = frames.length;
      send(message);
      return frame((candidate) => candidate.type !== 'event', { from });
    },
    closed,
    close: async () => {
      if (ws.readyState !== WebSocket.CLOSED) ws.close();
      await closed;
    },
  };
  await frame(() => true);
  return socket;
}

export interface HttpResult {
  status: number;
  headers: Headers;
  body: any;
}

/** One REST call; `body` is JSON-encoded unless it is already a string. */
export async function call(
  url: string,
  method: string,
  options: { project?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<HttpResult> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.project !== undefined) headers['X-Appwrite-Project'] = options.project;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  }
  const response = await fetch(url, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  if (response.headers.get('content-type')?.includes('application/json')) parsed = JSON.parse(text);
  return { status: response.status, headers: response.headers, body: parsed };
}

/** Appwrite's REST error body, with exactly these keys. */
export function expectErrorShape(result: HttpResult): { message: string; code: number; type: string; version: string } {
  const body = result.body as Record<string, unknown>;
  if (
    typeof body !== 'object' ||
    body === null ||
    Object.keys(body).sort().join(',') !== 'code,message,type,version' ||
    typeof body.message !== 'string' ||
    body.code !== result.status ||
    typeof body.type !== 'string' ||
    body.version !== '1.9.6'
  ) {
    throw new Error(`not an Appwrite error body (status ${result.status}): ${JSON.stringify(body)}`);
  }
  return body as { message: string; code: number; type: string; version: string };
}
