// One XState actor per peer against the Roster (one map, one timer) at N = 10 000 peers:
// retained heap per peer and time per event. Plain Node over a throwaway build of the two modules:
//
//   npx tsup src/machines/peer.ts src/machines/roster.ts --no-config --format esm \
//     --out-dir node_modules/.cache/presence-bench && node --expose-gc bench/peer-actors.mjs
//
// The build goes under node_modules so its `import 'xstate'` resolves to the project's copy.
// Every timing is the median of ROUNDS runs, each after a full GC, over events built beforehand,
// in CPU time of this process (user + system): on a shared machine wall time mostly measures the
// neighbours.
import { createActor } from 'xstate';

const build = new URL(process.env.BENCH_BUILD ?? '../node_modules/.cache/presence-bench/', import.meta.url);
const { peerMachine } = await import(new URL('peer.js', build).href);
const { Roster } = await import(new URL('roster.js', build).href);

if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
const N = 10_000;
const EVENTS = 100_000;
const ROUNDS = 5;
const TTL = 75_000;

function heap() {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
}

function doc(i, updatedAt, now) {
  const userId = `user-${String(i).padStart(6, '0')}`;
  return { id: `row-${i}`, userId, status: 'online', metadata: { name: `Person ${i}` }, updatedAt, expiresAt: now + TTL };
}

/** `count` refreshes of the N peers in turn, each newer than anything before `from`. */
let version = Date.now() + 1_000_000;
function refreshes(count, now) {
  const out = new Array(count);
  for (let k = 0; k < count; k++) {
    if (k % N === 0) version++;
    out[k] = doc(k % N, version, now);
  }
  return out;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** CPU milliseconds used by this process so far. */
const performance = {
  now() {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  },
};

/** Median ns per call of `run(item)`; `make()` builds a fresh batch of items per round. */
function timePer(make, run) {
  const rounds = [];
  for (let r = 0; r <= ROUNDS; r++) {
    const items = make();
    heap();
    const t0 = performance.now();
    for (let k = 0; k < items.length; k++) run(items[k]);
    const ns = ((performance.now() - t0) * 1e6) / items.length;
    if (r > 0) rounds.push(ns); // round 0 warms the JIT up
  }
  return median(rounds);
}

const rows = [];
const row = (what, value) => rows.push(`${what.padEnd(44)} ${value}`);
const ns = (x) => `${x.toFixed(0)} ns`;
const us = (x) => `${(x / 1000).toFixed(1)} µs`;

// --- one actor per peer -------------------------------------------------------------------
{
  const clock = { now: () => Date.now() };
  const before = heap();
  const actors = new Map();
  for (let i = 0; i < N; i++) {
    const d = doc(i, Date.now(), Date.now());
    const actor = createActor(peerMachine, { input: { userId: d.userId, clock } }).start();
    actor.send({ type: 'peer.upserted', peer: d });
    actors.set(d.userId, actor);
  }
  row('actors: retained heap per peer', `${((heap() - before) / N).toFixed(0)} B`);
  const upsert = timePer(
    () => refreshes(EVENTS, Date.now()),
    (peer) => actors.get(peer.userId).send({ type: 'peer.upserted', peer }),
  );
  row('actors: refresh upsert', ns(upsert));
  const present = [...actors.values()].filter((a) => a.getSnapshot().matches('present')).length;
  actors.forEach((a) => a.stop());
  row('actors: present at the end', String(present));
}

// --- the Roster -----------------------------------------------------------------------------
{
  let now = Date.now();
  const clock = { now: () => now };
  let changes = 0;
  const before = heap();
  const roster = new Roster({ clock, onChange: () => changes++ });
  for (let i = 0; i < N; i++) roster.upsert(doc(i, now, now));
  roster.list();
  row('Roster: retained heap per peer (records built)', `${((heap() - before) / N).toFixed(0)} B`);

  row('Roster: refresh upsert', ns(timePer(() => refreshes(EVENTS, now), (p) => roster.upsert(p))));
  row('Roster: stale upsert (ignored)', ns(timePer(() => refreshes(EVENTS, now).map((p) => ({ ...p, updatedAt: 0 })), (p) => roster.upsert(p))));

  // What a binding pays per animation frame: one change, then one read.
  roster.list();
  row('Roster: refresh upsert + list() (patched)', us(timePer(() => refreshes(1_000, now), (p) => (roster.upsert(p), roster.list()))));
  row('Roster: refresh upsert + records()', us(timePer(() => refreshes(200, now), (p) => (roster.upsert(p), roster.records()))));
  let joiner = N;
  row(
    'Roster: join + list() (full rebuild)',
    us(timePer(() => Array.from({ length: 200 }, () => doc(joiner++, version, now)), (p) => (roster.upsert(p), roster.list()))),
  );

  // Delete events (each leaves a tombstone), then re-joins over the tombstones, on a roster of its
  // own so the reads above leave no garbage behind to collect during these loops.
  {
    const churn = new Roster({ clock, onChange: () => changes++ });
    const removeNs = [];
    const joinNs = [];
    for (let r = 0; r <= ROUNDS; r++) {
      const back = refreshes(N, now);
      heap();
      let t0 = performance.now();
      for (const p of back) churn.upsert(p);
      const join = ((performance.now() - t0) * 1e6) / N;
      const gone = back.map((p) => ({ userId: p.userId, updatedAt: ++version }));
      heap();
      t0 = performance.now();
      for (const g of gone) churn.remove(g);
      if (r === 0) continue; // round 0 warms up (and its joins found no tombstones)
      joinNs.push(join);
      removeNs.push(((performance.now() - t0) * 1e6) / N);
    }
    churn.clear();
    row('Roster: remove (leaves a tombstone)', ns(median(removeNs)));
    row('Roster: join over a tombstone', ns(median(joinNs)));
  }

  // Expiry: every peer expires at its own ms. A late timer lets the next event sweep first, so one
  // upsert here = one full scan of ~N entries that drops the one peer due.
  const sweepUs = [];
  for (let r = 0; r < ROUNDS; r++) {
    now += 10_000_000;
    for (let i = 0; i < N; i++) roster.upsert({ ...doc(i, ++version, now), expiresAt: now + TTL + i });
    const poke = { ...doc(N - 1, ++version, now), expiresAt: now + 10 * TTL };
    heap();
    now += TTL;
    const t0 = performance.now();
    for (let k = 0; k < 200; k++) {
      now += 1;
      poke.updatedAt = ++version;
      roster.upsert(poke);
    }
    sweepUs.push(((performance.now() - t0) * 1e6) / 200);
  }
  row('Roster: expiry sweep over N (timer fire)', us(median(sweepUs)));

  const resetMs = [];
  for (let r = 0; r < ROUNDS; r++) {
    const list = refreshes(N, now);
    heap();
    const t0 = performance.now();
    roster.reset(list);
    resetMs.push((performance.now() - t0) * 1e6);
  }
  row('Roster: reset(N docs)', us(median(resetMs)));
  roster.clear();
  void changes;
}

console.log(`node ${process.version}, N = ${N}, median of ${ROUNDS} rounds, CPU time`);
for (const line of rows) console.log(line);
