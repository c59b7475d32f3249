// Writes per person: idle and visible, idle and hidden (virtual time), and a burst of 100 set()
// calls in one second (real time, real SDK, the emulator).
//
//   node bench/network.mjs [--minutes 30] [--out file.json]
//
// Idle: the shipped createPresence (dist/index.js) with an in-memory transport whose publish
// answers after 40 ms, on a virtual clock: setTimeout/clearTimeout/setInterval/Date.now/
// performance.now are replaced in this process before anything runs, so half an hour of
// heartbeats takes a fraction of a second and the timers the session arms are exactly the real
// ones. Writes are counted from 1 minute after start (visible) or after the switch to hidden,
// over MINUTES minutes.
// Burst: a guest on the emulator (child process) calls set() 100 times, 10 ms apart, each with a
// new status; writes are counted at the SDK boundary (Presences.upsert calls), and the last value
// must be the one the server holds and an observer's roster shows.
import { writeFileSync } from 'node:fs';
import { fromCallback, fromPromise } from 'xstate';
import { sleep } from './lib.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args[i + 1];
};
const MINUTES = Number(opt('minutes', 30));
const OUT = opt('out', null);
const log = (line) => process.stderr.write(`  ${line}\n`);

// ---- a virtual clock -------------------------------------------------------------------------

const real = { setTimeout, clearTimeout, setInterval, clearInterval, dateNow: Date.now, perfNow: performance.now.bind(performance) };
const virtual = {
  now: real.dateNow(),
  seq: 0,
  timers: new Map(),
  on: false,
  install() {
    this.on = true;
    const self = this;
    globalThis.setTimeout = (fn, ms = 0, ...rest) => self.add(fn, ms, rest, null);
    globalThis.setInterval = (fn, ms = 0, ...rest) => self.add(fn, ms, rest, Math.max(1, ms));
    globalThis.clearTimeout = globalThis.clearInterval = (id) => {
      if (id !== undefined && id !== null) self.timers.delete(typeof id === 'object' ? id.id : id);
    };
    Date.now = () => self.now;
    performance.now = () => self.now - self.origin;
    this.origin = this.now;
  },
  uninstall() {
    this.on = false;
    Object.assign(globalThis, { setTimeout: real.setTimeout, clearTimeout: real.clearTimeout, setInterval: real.setInterval, clearInterval: real.clearInterval });
    Date.now = real.dateNow;
    performance.now = real.perfNow;
    this.timers.clear();
  },
  add(fn, ms, rest, every) {
    const id = ++this.seq;
    this.timers.set(id, { at: this.now + Math.max(0, Number(ms) || 0), fn, rest, every });
    // Node timers are objects with ref/unref; some callers (SDKs) use them.
    return { id, ref() { return this; }, unref() { return this; }, hasRef: () => true, [Symbol.toPrimitive]: () => id };
  },
  /** Run every timer due up to now + ms, in time order, letting promise jobs settle in between. */
  async advance(ms) {
    const end = this.now + ms;
    for (;;) {
      await drain();
      let next = null;
      for (const [id, t] of this.timers) if (t.at <= end && (next === null || t.at < next[1].at || (t.at === next[1].at && id < next[0]))) next = [id, t];
      if (next === null) break;
      const [id, t] = next;
      this.now = Math.max(this.now, t.at);
      if (t.every === null) this.timers.delete(id);
      else t.at += t.every;
      t.fn(...t.rest);
    }
    this.now = end;
    await drain();
  },
};
/** Let queued promise jobs run (several rounds: actors chain promises). */
async function drain() {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

// ---- idle, virtual time ----------------------------------------------------------------------

async function idle() {
  virtual.install();
  const { createPresence } = await import('../dist/index.js');
  const writes = [];
  const transport = {
    actors: {
      identify: fromPromise(async () => ({ userId: 'ada', name: 'Ada' })),
      loadRoster: fromPromise(async () => ({ peers: [], receivedAtLocal: Date.now() })),
      watchPeers: fromCallback(({ sendBack }) => {
        const t = setTimeout(() => sendBack({ type: 'transport.connected' }), 20);
        return () => clearTimeout(t);
      }),
      publish: fromPromise(async ({ input }) => {
        const sentAtLocal = Date.now();
        writes.push({ at: sentAtLocal, status: input.status, ttl: input.expiresAt - sentAtLocal });
        await new Promise((resolve) => setTimeout(resolve, 40));
        const doc = { id: input.presenceId, userId: input.userId, status: input.status, metadata: input.metadata, updatedAt: sentAtLocal + 20, expiresAt: input.expiresAt };
        return { doc, sentAtLocal, receivedAtLocal: Date.now() };
      }),
      remove: fromPromise(async () => {}),
    },
    removeOnUnload: () => true,
    dispose() {},
  };
  // Only `visibilitychange` is ever fired here (the library also listens for freeze/resume).
  const listeners = new Set();
  const doc = {
    visibilityState: 'visible',
    addEventListener: (type, fn) => type === 'visibilitychange' && listeners.add(fn),
    removeEventListener: (type, fn) => listeners.delete(fn),
  };
  // The visible row measures a person at work: this page has no input, so idleness is off here
  // (with it, the person would turn away after idleMs and beat as hidden).
  const controller = createPresence({ transport, tabs: false, document: doc, window: null, idleMs: false });
  const started = controller.start();
  await virtual.advance(1_000);
  if (!(await started)) throw new Error(`start failed: ${controller.view().error}`);

  const count = (from, to) => writes.filter((w) => w.at >= from && w.at < to);
  await virtual.advance(60_000);
  let from = Date.now();
  await virtual.advance(MINUTES * 60_000);
  const visible = count(from, Date.now());

  doc.visibilityState = 'hidden';
  for (const fn of listeners) fn();
  const hiddenAt = Date.now();
  await virtual.advance(60_000);
  const switchWrites = count(hiddenAt, Date.now()).length;
  from = Date.now();
  await virtual.advance(MINUTES * 60_000);
  const hidden = count(from, Date.now());
  controller.dispose();
  virtual.uninstall();
  return {
    minutes: MINUTES,
    visiblePerMin: visible.length / MINUTES,
    hiddenPerMin: hidden.length / MINUTES,
    hiddenSwitchWrites: switchWrites,
    visibleTtlS: visible.length ? visible[0].ttl / 1000 : null,
    hiddenTtlS: hidden.length ? hidden[0].ttl / 1000 : null,
    hiddenStatus: hidden.length ? hidden[0].status : null,
  };
}

// ---- burst, real time on the emulator --------------------------------------------------------

async function burst() {
  const { Appwrite, guest, keyClient, startEmulatorProcess } = await import('./sdk.mjs');
  const { createPresence, createAppwriteTransport } = await import('../dist/index.js');
  const emulator = await startEmulatorProcess(['--api-key', 'bench-key']);
  try {
    const project = 'bench-burst';
    let upserts = 0;
    class CountingPresences extends Appwrite.Presences {
      upsert(...a) {
        upserts++;
        return super.upsert(...a);
      }
    }
    const sdk = { ...Appwrite, Presences: CountingPresences };
    const make = async () => {
      const user = await guest(emulator.url, project);
      const controller = createPresence({ transport: createAppwriteTransport({ client: user.client, sdk, warn: () => {} }), tabs: false, document: null, window: null });
      return { ...user, controller };
    };
    const writer = await make();
    const observer = await make();
    await writer.controller.start();
    await observer.controller.start();
    const before = upserts;
    const t0 = Date.now();
    const calls = [];
    for (let i = 1; i <= 100; i++) {
      // Call i at t0 + 10 (i − 1) ms: the hundred calls fall within 990 ms.
      await sleep(Math.max(0, t0 + 10 * (i - 1) - Date.now()));
      calls.push(writer.controller.set(`burst-${i}`, { step: i }));
    }
    const spanMs = Date.now() - t0;
    const results = await Promise.all(calls);
    const settledMs = Date.now() - t0;
    const last = 'burst-100';
    const deadline = Date.now() + 5_000;
    while (observer.controller.of(writer.userId)?.status !== last && Date.now() < deadline) await sleep(10);
    const writes = upserts - before;
    const admin = keyClient(emulator.url, project, 'bench-key');
    const rows = await admin.presences.list();
    const row = rows.presences.find((r) => r.userId === writer.userId);
    const out = {
      calls: 100,
      spanMs,
      settledMs,
      writes,
      allResolvedTrue: results.every(Boolean),
      serverHolds: row?.status ?? null,
      observerSees: observer.controller.of(writer.userId)?.status ?? null,
      lastDelivered: row?.status === last && observer.controller.of(writer.userId)?.status === last,
    };
    writer.controller.dispose();
    observer.controller.dispose();
    return out;
  } finally {
    await emulator.close();
  }
}

const results = { idle: await idle() };
log(`idle: ${results.idle.visiblePerMin.toFixed(2)} writes/min visible, ${results.idle.hiddenPerMin.toFixed(2)} hidden (over ${MINUTES} virtual minutes each)`);
results.burst = await burst();
log(`burst: ${results.burst.writes} writes for 100 set() calls in ${results.burst.spanMs} ms; last value delivered: ${results.burst.lastDelivered}`);
const json = JSON.stringify(results, null, 2);
if (OUT) writeFileSync(OUT, json);
else console.log(json);
process.exit(0);
