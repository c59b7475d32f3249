/**
 * Worker thread for the load test: the writers. Each writer is a real `appwrite` SDK client with
 * its own session, upserting its presence with a sequence number and the time it was sent, on a
 * fixed schedule (write k goes out at k / rate, not on a drifting interval). Kept off the
 * emulator's thread so that the schedule measures the server, not a load generator starved by it.
 *
 * in `{ type: 'write', url, project, writers: [{ token, userId }], rate, count }` →
 * out `{ type: 'written', confirmed: [seq, …], failed: [message, …], late, ms }`.
 */
import { parentPort } from 'node:worker_threads';

// The browser SDK keeps its cookie fallback in window.localStorage; give it an inert one.
const memory = new Map();
globalThis.window ??= {
  localStorage: { getItem: (k) => memory.get(k) ?? null, setItem: (k, v) => memory.set(k, String(v)), removeItem: (k) => memory.delete(k) },
  console: { ...console, warn: () => undefined },
};
const { Client, ID, Permission, Presences, Role } = await import('appwrite');

parentPort.on('message', async (message) => {
  if (message.type !== 'write') return;
  const { url, project, rate, count } = message;
  const writers = message.writers.map(({ token, userId }) => ({
    userId,
    presences: new Presences(new Client().setEndpoint(url).setProject(project).setSession(token)),
  }));
  const confirmed = [];
  const failed = [];
  let late = 0;
  const inflight = new Set();
  const started = performance.now();
  for (let seq = 0; seq < count; seq++) {
    const wait = started + (seq * 1000) / rate - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    else if (wait < -50) late++;
    const writer = writers[seq % writers.length];
    const write = writer.presences
      .upsert({
        presenceId: ID.unique(),
        status: `write ${seq}`,
        permissions: [Permission.read(Role.users()), Permission.update(Role.user(writer.userId)), Permission.delete(Role.user(writer.userId))],
        metadata: { writer: writer.userId, seq, sentAt: performance.timeOrigin + performance.now() },
      })
      .then(
        () => void confirmed.push(seq),
        (error) => void failed.push(String(error)),
      );
    inflight.add(write);
    void write.finally(() => inflight.delete(write));
  }
  await Promise.all(inflight);
  parentPort.postMessage({ type: 'written', confirmed, failed, late, ms: performance.now() - started });
});
