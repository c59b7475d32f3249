/**
 * Worker thread for the load test: N realtime connections to the emulator, each doing what the
 * appwrite@28 SDK does (open `/v1/realtime?project=…`, wait for `connected`, send `authentication`
 * with the session, subscribe to `presences`), then counting every presence event it receives.
 * It runs on its own thread so that the emulator (main thread) and the clients share the two cores
 * the way a server and its users would, instead of taking turns on one event loop.
 *
 * Protocol with the parent: in `{ type: 'connect', url, project, tokens, writes }` → out `{ type: 'ready', ms }`;
 * in `{ type: 'report', expected: [seq, …] }` → out `{ type: 'report', … }`; in `{ type: 'close' }` →
 * out `{ type: 'closed' }`. Writes are numbered 0 … writes − 1 (`metadata.seq`); each connection
 * checks them off in a byte array (a set of strings would make the garbage collector the bottleneck).
 */
import { parentPort } from 'node:worker_threads';
import WebSocket from 'ws';

/** Latency histogram: 0.1 ms buckets up to 60 s. */
const BUCKET_MS = 0.1;
const buckets = new Uint32Array(600_000);
let overflow = 0;
let maxLatency = 0;
const commitBuckets = new Uint32Array(60_000); // 1 ms buckets: $updatedAt has ms resolution
let maxCommit = 0;

const sockets = [];
/** Per connection: how many times each write arrived. */
const seen = [];
let writes = 0;
let frames = 0;
let duplicates = 0;
let strays = 0;

const now = () => performance.timeOrigin + performance.now();

function open(url, project, token, index) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/realtime?project=${encodeURIComponent(project)}`);
    const mine = new Uint8Array(writes);
    seen[index] = mine;
    sockets[index] = ws;
    const timer = setTimeout(() => reject(new Error(`connection ${index} not subscribed within 30 s`)), 30_000);
    ws.on('error', (error) => reject(error));
    ws.on('message', (data) => {
      const message = JSON.parse(String(data));
      if (message.type === 'connected') {
        ws.send(JSON.stringify({ type: 'authentication', data: { session: token } }));
        ws.send(JSON.stringify({ type: 'subscribe', data: [{ subscriptionId: `load${index}`, channels: ['presences'] }] }));
      } else if (message.type === 'response' && message.data?.to === 'subscribe') {
        clearTimeout(timer);
        resolve();
      } else if (message.type === 'event') {
        frames++;
        const metadata = message.data?.payload?.metadata;
        if (!metadata || typeof metadata.seq !== 'number') {
          strays++;
          return;
        }
        if (!(metadata.seq >= 0 && metadata.seq < writes)) {
          strays++;
          return;
        }
        if (mine[metadata.seq]++ > 0) duplicates++;
        const received = now();
        const latency = received - metadata.sentAt;
        const bucket = Math.max(0, Math.floor(latency / BUCKET_MS));
        if (bucket < buckets.length) buckets[bucket]++;
        else overflow++;
        if (latency > maxLatency) maxLatency = latency;
        const commit = Math.max(0, Date.now() - Date.parse(message.data.payload.$updatedAt));
        commitBuckets[Math.min(commitBuckets.length - 1, commit)]++;
        if (commit > maxCommit) maxCommit = commit;
      } else if (message.type === 'error') {
        reject(new Error(`connection ${index}: ${JSON.stringify(message.data)}`));
      }
    });
  });
}

function percentile(hist, width, p, total) {
  const target = Math.ceil(total * p);
  let count = 0;
  for (let i = 0; i < hist.length; i++) {
    count += hist[i];
    if (count >= target) return (i + 1) * width;
  }
  return Infinity;
}

parentPort.on('message', async (message) => {
  if (message.type === 'connect') {
    const started = now();
    const { url, project, tokens } = message;
    writes = message.writes;
    try {
      for (let i = 0; i < tokens.length; i += 100) {
        await Promise.all(tokens.slice(i, i + 100).map((token, j) => open(url, project, token, i + j)));
      }
      parentPort.postMessage({ type: 'ready', ms: now() - started, connections: sockets.length });
    } catch (error) {
      parentPort.postMessage({ type: 'failed', error: String(error) });
    }
  } else if (message.type === 'count') {
    parentPort.postMessage({ type: 'count', frames });
  } else if (message.type === 'report') {
    let lost = 0;
    for (const mine of seen) for (const seq of message.expected) if (mine[seq] === 0) lost++;
    let delivered = 0;
    for (const count of buckets) delivered += count;
    delivered += overflow;
    parentPort.postMessage({
      type: 'report',
      connections: sockets.length,
      frames,
      delivered,
      lost,
      duplicates,
      strays,
      latency: {
        p50: percentile(buckets, BUCKET_MS, 0.5, delivered),
        p90: percentile(buckets, BUCKET_MS, 0.9, delivered),
        p99: percentile(buckets, BUCKET_MS, 0.99, delivered),
        max: maxLatency,
      },
      sinceCommit: {
        p50: percentile(commitBuckets, 1, 0.5, delivered),
        p90: percentile(commitBuckets, 1, 0.9, delivered),
        p99: percentile(commitBuckets, 1, 0.99, delivered),
        max: maxCommit,
      },
    });
  } else if (message.type === 'close') {
    await Promise.all(
      sockets.map(
        (ws) =>
          new Promise((resolve) => {
            if (ws.readyState === WebSocket.CLOSED) return resolve();
            ws.once('close', resolve);
            ws.close(1000);
          }),
      ),
    );
    parentPort.postMessage({ type: 'closed' });
  }
});
