// End to end on the emulator (a child process on 127.0.0.1): K real SDK clients, each a full
// createPresence (session machine, Appwrite transport, realtime socket) in this process.
//
//   node bench/e2e.mjs [--k 10,50,200] [--samples 30] [--roster 10000] [--out file.json]
//
// Latency: one client calls set(status) (the sender rotates), and the sample is the time until the
// LAST of the other K − 1 clients' rosters shows it (each checked on its controller's change
// notification); p50 and p99 over the samples (nearest rank: with 30 samples p99 is the maximum).
// The clock starts when set() is called, every receiver's probe already armed, as the anchor's
// starts when the upsert is called with every callback already subscribed.
// The per-receiver latencies are reported too. Samples start 300 ms apart after the previous one
// completed (beyond the sender's 250 ms write gap), so each measures one write, not a queue.
// Ready: a fresh guest start()s against a roster of ROSTER people seeded with a key; the figure is
// start() → ready (publish, realtime connect, every page of the list, as the library does it).
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Appwrite, guest, keyClient, pool, seedRoster, startEmulatorProcess } from './sdk.mjs';
import { percentile, median, sleep } from './lib.mjs';

const { createPresence, createAppwriteTransport } = await import('../dist/index.js');

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args[i + 1];
};
const KS = opt('k', '10,50,200').split(',').map(Number);
const SAMPLES = Number(opt('samples', 30));
const ROSTER = Number(opt('roster', 10_000));
const OUT = opt('out', null);
const KEY = 'bench-key';
const log = (line) => process.stderr.write(`  ${line}\n`);

const emulator = await startEmulatorProcess(['--api-key', KEY]);
const results = { latency: [], ready: null };

function person(user) {
  const controller = createPresence({
    transport: createAppwriteTransport({ client: user.client, sdk: Appwrite, warn: () => {} }),
    tabs: false,
    document: null,
    window: null,
  });
  return { ...user, controller };
}

/** Resolves with the time (performance.now()) when `probe()` holds, re-checked on every change `controller` reports. */
function when(controller, probe, timeoutMs) {
  return new Promise((resolve, reject) => {
    let unsubscribe = () => {};
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`not within ${timeoutMs} ms`));
    }, timeoutMs);
    const check = () => {
      if (!probe()) return;
      const at = performance.now();
      clearTimeout(timer);
      unsubscribe();
      resolve(at);
    };
    unsubscribe = controller.subscribe(check);
    check();
  });
}

/**
 * The anchor in the same harness: the same K clients with the bare SDK (a Realtime subscription to
 * `presences` each, no presence library), one of them upserting its row; time until the last of the
 * others' callbacks saw the new status. What any library on this SDK, in this process, pays anyway.
 */
async function bareSdk(users, count, k) {
  let expect = null;
  let t0 = 0;
  let seen = [];
  const realtimes = users.map((u) => new Appwrite.Realtime(u.client));
  await Promise.all(
    realtimes.map((rt, i) =>
      rt.subscribe('presences', (event) => {
        if (event.payload?.status === expect && event.payload?.userId !== users[i].userId) seen.push(performance.now() - t0);
      }),
    ),
  );
  await sleep(1500); // subscribe frames acknowledged (the SDK does not wait for the ack)
  const samples = [];
  const perReceiver = [];
  for (let s = 0; s < count; s++) {
    const sender = users[s % users.length];
    seen = [];
    expect = `bare${s}-k${k}`;
    t0 = performance.now();
    // Right after the controllers stopped, their rows may still be going away (REST delete and
    // socket close race): a refused write is retried once the dust settled, and timed from there.
    for (let attempt = 1; ; attempt++) {
      try {
        await new Appwrite.Presences(sender.client).upsert({
          presenceId: `b${sender.userId}`.slice(0, 36),
          status: expect,
          permissions: ['read("users")', `update("user:${sender.userId}")`, `delete("user:${sender.userId}")`],
          expiresAt: new Date(Date.now() + 60_000).toISOString(),
        });
        break;
      } catch (error) {
        if (attempt >= 3) throw error;
        await sleep(500);
        t0 = performance.now();
      }
    }
    const deadline = performance.now() + 10_000;
    while (seen.length < users.length - 1 && performance.now() < deadline) await sleep(1);
    if (seen.length < users.length - 1) throw new Error(`bare SDK: ${seen.length} of ${users.length - 1} saw it`);
    samples.push(Math.max(...seen));
    perReceiver.push(...seen);
    await sleep(300);
  }
  await Promise.all(realtimes.map((rt) => rt.disconnect().catch(() => undefined)));
  return { samples: samples.length, p50: percentile(samples, 50), p99: percentile(samples, 99), receiverP50: percentile(perReceiver, 50), receiverP99: percentile(perReceiver, 99) };
}

try {
  for (const k of KS) {
    const project = `bench-k${k}`;
    const t = performance.now();
    const people = [];
    await pool(Array.from({ length: k }), 16, async () => people.push(person(await guest(emulator.url, project))));
    await pool(people, 16, async (p) => {
      if (!(await p.controller.start())) throw new Error(`start failed: ${p.controller.view().error}`);
    });
    await Promise.all(people.map((p) => when(p.controller, () => p.controller.all().length === k, 60_000)));
    log(`K=${k}: ${k} clients started and see each other in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    const samples = [];
    const perReceiver = [];
    const count = k >= 200 ? Math.min(SAMPLES, 20) : SAMPLES;
    for (let s = 0; s < count; s++) {
      const sender = people[s % k];
      const status = `s${s}-k${k}`;
      const others = people.filter((p) => p !== sender);
      // Every probe is armed before the clock starts, as the bare SDK's callbacks are.
      const seen = others.map((p) => when(p.controller, () => p.controller.of(sender.userId)?.status === status, 10_000));
      const t0 = performance.now();
      const wrote = sender.controller.set(status);
      const times = (await Promise.all(seen)).map((at) => at - t0);
      if (!(await wrote)) throw new Error('set() failed');
      samples.push(Math.max(...times));
      perReceiver.push(...times);
      await sleep(300);
    }
    for (const p of people) p.controller.dispose();
    await sleep(1000);
    const sdk = await bareSdk(people.map((p) => ({ client: p.client, userId: p.userId })), Math.min(count, 20), k);
    const row = {
      k,
      samples: samples.length,
      p50: percentile(samples, 50),
      p99: percentile(samples, 99),
      receiverP50: percentile(perReceiver, 50),
      receiverP99: percentile(perReceiver, 99),
      raw: samples.map((x) => Math.round(x * 10) / 10),
      sdk,
    };
    results.latency.push(row);
    log(`K=${k}: all-others latency p50 ${row.p50.toFixed(1)} ms, p99 ${row.p99.toFixed(1)} ms (bare SDK p50 ${sdk.p50.toFixed(1)} ms)`);
  }

  // Time to ready for a big roster.
  {
    const project = 'bench-ready';
    const admin = keyClient(emulator.url, project, KEY);
    const t = performance.now();
    await seedRoster(admin, ROSTER, { concurrency: 32 });
    log(`seeded ${ROSTER} people in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const runs = [];
    let listOnly = [];
    for (let r = 0; r < 3; r++) {
      const p = person(await guest(emulator.url, project));
      const t0 = performance.now();
      const ok = await p.controller.start();
      const ms = performance.now() - t0;
      if (!ok) throw new Error(`start failed: ${p.controller.view().error}`);
      const size = p.controller.all().length;
      if (size < ROSTER) throw new Error(`ready with ${size} people, expected ≥ ${ROSTER}`);
      runs.push(ms);
      p.controller.dispose();
      // The list alone, as the transport pages it (ROSTER_PAGE_SIZE = 1000 rows a page), for the breakdown.
      const sdkPresences = new Appwrite.Presences(p.client);
      const l0 = performance.now();
      let cursor = null;
      let rows = 0;
      for (;;) {
        const queries = [Appwrite.Query.limit(1000)];
        if (cursor) queries.push(Appwrite.Query.cursorAfter(cursor));
        const page = await sdkPresences.list({ queries, total: false });
        rows += page.presences.length;
        if (page.presences.length < 1000) break;
        cursor = page.presences.at(-1).$id;
      }
      listOnly.push(performance.now() - l0);
      await sleep(200);
    }
    results.ready = { n: ROSTER, ms: median(runs), runs: runs.map(Math.round), listAllPagesMs: median(listOnly) };
    log(`ready with ${ROSTER} people: median ${results.ready.ms.toFixed(0)} ms (runs ${results.ready.runs.join(', ')}), listing alone ${results.ready.listAllPagesMs.toFixed(0)} ms`);
  }
} finally {
  await emulator.close();
}

const json = JSON.stringify(results, null, 2);
if (OUT) writeFileSync(OUT, json);
else console.log(json);
process.exit(0);
