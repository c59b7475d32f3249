// Roster apply cost (ns/event) and memory per peer, ours beside the anchors, in one process.
//
//   node --expose-gc bench/roster.mjs apply  --n 1000,10000,100000 [--rounds 5] [--rounds-large 3] [--out file.json]
//   node --expose-gc bench/roster.mjs memory --n 10000,100000 [--out file.json]
//
// One synthetic stream per N (seeded, so every run replays it): N joins, 100 000 status updates of
// peers drawn at random, then N leaves in random order. Each implementation gets the stream in its
// own wire shape, built before the clock starts:
//   ours      Roster.upsert(doc) / Roster.remove(doc), the roster as shipped: a ServerClock, the
//             expiry timer armed on every upsert (refreshes never rearm it), tombstones on leave.
//   phoenix   Presence.syncDiff(state, diff): a join diff, an update = join of the new meta plus
//             leave of the old one (what Phoenix's `Presence.update` broadcasts), a leave diff.
//   awareness applyAwarenessUpdate(awareness, bytes): updates encoded beforehand by y-protocols'
//             own encodeAwarenessUpdate (clock + 1 per change, state null on leave); apply timed.
//   Map       map.set(userId, doc) / map.delete(userId): the floor.
// Timing: CPU time of this process (user + system) over the whole stream, after a full GC whose
// sweeping is finished inside the GC (below), implementations rotated every round; an untimed round
// 0 warms up and checks that all four end in the same state; the figure is the median of the timed
// rounds (5, or 3 at N = 100 000 where phoenix alone takes ~8 s a round). Wall time is kept beside it
// (`wallNsPerEvent`). Work done inside the loop (GC of garbage it makes, timers it arms) counts: that
// is the cost a page pays.
//
// Three things keep one sample from paying for another or for the neighbours (measured, 2 shared vCPUs):
// - V8 sweeps the old generation on a helper thread after a full GC. The heap holds all four streams
//   (hundreds of MB at N = 100 000), so after `gc()` that sweep ran on into the next timed window and
//   took CPU from it: at N = 1 000 it doubled ours (0.33 → 0.75 µs) and quadrupled the Map floor
//   (0.08 → 0.31 µs), whose run lasts ~10 ms and overlapped it entirely. That inflated the N = 1 000
//   figures unevenly, the Map's most, so its flatness ratio came out low and swung between runs.
//   Sweeping is done inside the GC pause instead (after it, < 1.5 ms of CPU in 150 ms idle).
// - Wall time on a shared machine mostly measures the neighbours (load 6–9 on 2 vCPUs while other
//   work runs); CPU time counts only this process, helper threads included (an implementation's own
//   parallel GC work still counts), as peer-actors.mjs does.
// - A sample covers at least SAMPLE_EVENTS events (the stream is replayed on a fresh instance, 3
//   passes at N = 1 000 and 10 000, 1 at 100 000). A single pass of the Map floor at N = 1 000 lasts
//   ~10 ms, where one stall of the machine decides the figure; the flatness ratios divide by exactly
//   those short samples, so every N now gets samples of about the same length.
import { writeFileSync } from 'node:fs';
import v8 from 'node:v8';
import { createRequire } from 'node:module';
import * as Y from 'yjs';
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from 'y-protocols/awareness';
import { heap, importInternal, median, nowNs, random } from './lib.mjs';

// Before anything is allocated: the sweep after each full GC belongs to that GC, not to the next timed run.
v8.setFlagsFromString('--no-concurrent-sweeping');

const require = createRequire(import.meta.url);
const { Presence } = require('phoenix');
const { Roster } = await importInternal('roster');
const { ServerClock } = await importInternal('clock');

const args = process.argv.slice(2);
const mode = args[0] ?? 'apply';
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args[i + 1];
};
const SIZES = opt('n', mode === 'apply' ? '1000,10000,100000' : '10000,100000').split(',').map(Number);
const UPDATES = Number(opt('updates', 100_000));
const ROUNDS = Number(opt('rounds', 5));
const ROUNDS_LARGE = Number(opt('rounds-large', 3));
const OUT = opt('out', null);
const TTL = 75_000;
/** Events per timed sample: the stream at N = 100 000 (100 000 joins + 100 000 updates + 100 000 leaves). */
const SAMPLE_EVENTS = 300_000;
const STATUSES = ['online', 'busy', 'editing', 'reviewing', 'away'];

/** Appwrite-like ids: 20 characters of [0-9a-f]. */
function ids(n, rnd) {
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    let s = '';
    while (s.length < 20) s += Math.floor(rnd() * 0x100000000).toString(16).padStart(8, '0');
    out[i] = s.slice(0, 20);
  }
  return out;
}

/** The stream as abstract steps: { kind: 'join'|'update'|'leave', i, status, v } with v strictly increasing. */
function stream(n, updates, seed) {
  const rnd = random(seed);
  const users = ids(n, rnd);
  const steps = [];
  let v = 0;
  for (let i = 0; i < n; i++) steps.push({ kind: 'join', i, status: 'online', v: ++v });
  for (let k = 0; k < updates; k++) {
    const i = Math.floor(rnd() * n);
    steps.push({ kind: 'update', i, status: STATUSES[Math.floor(rnd() * STATUSES.length)], v: ++v });
  }
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (const i of order) steps.push({ kind: 'leave', i, status: null, v: ++v });
  return { users, steps };
}

const nameOf = (i) => `Person ${i}`;

// ---- each implementation's wire shape, built before timing ----------------------------------

function oursEvents({ users, steps }, base) {
  return steps.map((s) => {
    const updatedAt = base + s.v;
    return {
      leave: s.kind === 'leave',
      doc: {
        id: `row-${users[s.i]}`,
        userId: users[s.i],
        status: s.status ?? 'online',
        metadata: { name: nameOf(s.i) },
        updatedAt,
        expiresAt: updatedAt + TTL,
      },
    };
  });
}

function phoenixEvents({ users, steps }) {
  const current = new Array(users.length);
  const empty = () => Object.create(null);
  return steps.map((s) => {
    const key = users[s.i];
    const joins = empty();
    const leaves = empty();
    if (s.kind !== 'join') leaves[key] = { metas: [current[s.i]] };
    if (s.kind !== 'leave') {
      const meta = { phx_ref: `F${s.v.toString(36)}`, status: s.status, name: nameOf(s.i) };
      joins[key] = { metas: [meta] };
      current[s.i] = meta;
    }
    return { joins, leaves };
  });
}

function awarenessEvents({ users, steps }) {
  const sender = new Awareness(new Y.Doc());
  clearInterval(sender._checkInterval);
  const clocks = new Array(users.length).fill(0);
  const out = steps.map((s) => {
    const id = s.i + 1; // client ids 1..N; the receiver's own id is set outside that range
    clocks[s.i]++;
    sender.meta.set(id, { clock: clocks[s.i], lastUpdated: 0 });
    if (s.kind === 'leave') sender.states.delete(id);
    else sender.states.set(id, { user: users[s.i], status: s.status, name: nameOf(s.i) });
    return encodeAwarenessUpdate(sender, [id]);
  });
  sender.destroy();
  return out;
}

// ---- the four appliers: make() → { run(events), size(), dispose() } ---------------------------

const impls = {
  ours: {
    label: 'ours (Roster)',
    events: (st, base) => oursEvents(st, base),
    make() {
      const clock = new ServerClock();
      let changes = 0;
      const roster = new Roster({ clock, onChange: () => changes++ });
      return {
        run(events) {
          for (let k = 0; k < events.length; k++) {
            const e = events[k];
            if (e.leave) roster.remove(e.doc);
            else roster.upsert(e.doc);
          }
        },
        size: () => roster.size,
        statusOf: (userId) => roster.get(userId)?.status ?? null,
        dispose: () => roster.clear(),
        keep: () => roster,
      };
    },
  },
  phoenix: {
    label: 'phoenix Presence.syncDiff',
    events: (st) => phoenixEvents(st),
    make() {
      let state = Object.create(null);
      return {
        run(events) {
          for (let k = 0; k < events.length; k++) state = Presence.syncDiff(state, events[k]);
        },
        size: () => Object.keys(state).length,
        statusOf: (userId) => state[userId]?.metas.at(-1).status ?? null,
        dispose: () => (state = null),
        keep: () => state,
      };
    },
  },
  awareness: {
    label: 'y-protocols applyAwarenessUpdate',
    events: (st) => awarenessEvents(st),
    make() {
      const doc = new Y.Doc();
      doc.clientID = 0xfffffff0; // outside the peers' ids 1..N
      const awareness = new Awareness(doc);
      return {
        run(events) {
          for (let k = 0; k < events.length; k++) applyAwarenessUpdate(awareness, events[k], 'remote');
        },
        size: () => awareness.states.size - 1, // minus our own local state
        statusOf: (userId) => {
          for (const state of awareness.states.values()) if (state.user === userId) return state.status;
          return null;
        },
        dispose: () => {
          awareness.destroy();
          doc.destroy();
        },
        keep: () => awareness,
      };
    },
  },
  map: {
    label: 'Map (floor)',
    events: (st, base) => oursEvents(st, base),
    make() {
      const map = new Map();
      return {
        run(events) {
          for (let k = 0; k < events.length; k++) {
            const e = events[k];
            if (e.leave) map.delete(e.doc.userId);
            else map.set(e.doc.userId, e.doc);
          }
        },
        size: () => map.size,
        statusOf: (userId) => map.get(userId)?.status ?? null,
        dispose: () => map.clear(),
        keep: () => map,
      };
    },
  },
};
const NAMES = opt('only', Object.keys(impls).join(',')).split(',');

// ---- apply cost ------------------------------------------------------------------------------

function applyCost(n) {
  const st = stream(n, UPDATES, 0xc0ffee + n);
  const base = Date.now() + 1_000;
  const events = Object.fromEntries(NAMES.map((name) => [name, impls[name].events(st, base)]));
  const total = st.steps.length;
  const joinsAndUpdates = n + UPDATES;

  // Round 0 warms up and checks: after joins and updates every implementation holds the same
  // statuses, and after the leaves nobody. Rounds 1..R are timed.
  const expected = new Map();
  for (const s of st.steps.slice(0, joinsAndUpdates)) expected.set(st.users[s.i], s.status);
  const probe = st.users.slice(0, 50);
  for (const name of NAMES) {
    const x = impls[name].make();
    x.run(events[name].slice(0, joinsAndUpdates));
    if (x.size() !== n) throw new Error(`${name}: ${x.size()} present after joins, expected ${n}`);
    for (const u of probe) if (x.statusOf(u) !== expected.get(u)) throw new Error(`${name}: wrong status for ${u}`);
    x.run(events[name].slice(joinsAndUpdates));
    if (x.size() !== 0) throw new Error(`${name}: ${x.size()} left after the leaves`);
    x.dispose();
  }

  const rounds = n >= 100_000 ? ROUNDS_LARGE : ROUNDS;
  // A sample replays the stream (fresh instance, full GC before each pass) until it has covered
  // SAMPLE_EVENTS, so a sample at N = 1 000 lasts about as long as one at N = 100 000.
  const reps = Math.max(1, Math.ceil(SAMPLE_EVENTS / total));
  const samples = Object.fromEntries(NAMES.map((name) => [name, []]));
  const wallSamples = Object.fromEntries(NAMES.map((name) => [name, []]));
  for (let r = 1; r <= rounds; r++) {
    for (let j = 0; j < NAMES.length; j++) {
      const name = NAMES[(j + r) % NAMES.length];
      let cpu = 0;
      let wall = 0n;
      for (let k = 0; k < reps; k++) {
        const x = impls[name].make();
        heap();
        const c0 = process.cpuUsage();
        const t0 = nowNs();
        x.run(events[name]);
        wall += nowNs() - t0;
        const { user, system } = process.cpuUsage(c0);
        cpu += user + system;
        if (x.size() !== 0) throw new Error(`${name}: not empty at the end`);
        x.dispose();
      }
      samples[name].push((cpu * 1000) / (total * reps));
      wallSamples[name].push(Number(wall) / (total * reps));
    }
  }
  const out = { n, events: total, rounds, passesPerSample: reps };
  for (const name of NAMES) {
    out[name] = {
      nsPerEvent: median(samples[name]),
      samples: samples[name].map((x) => Math.round(x)),
      wallNsPerEvent: median(wallSamples[name]),
      wallSamples: wallSamples[name].map((x) => Math.round(x)),
    };
  }
  return out;
}

// ---- memory --------------------------------------------------------------------------------

function memory(n) {
  const full = stream(n, 0, 0xbeef + n);
  const st = { users: full.users, steps: full.steps.slice(0, n) }; // the N joins only
  const base = Date.now() + 1_000;
  const out = { n };
  for (const name of NAMES) {
    const h0 = heap();
    let events = impls[name].events(st, base);
    const h1 = heap();
    const x = impls[name].make();
    x.run(events);
    const h2 = heap();
    out[name] = { inputBytesPerPeer: (h1 - h0) / n, bytesPerPeer: (h2 - h1) / n };
    if (name === 'ours') {
      const roster = x.keep();
      roster.list();
      out[name].withListBytesPerPeer = (heap() - h1) / n;
    }
    if (x.size() !== n) throw new Error(`${name}: ${x.size()} present`);
    x.dispose();
    events = null;
  }
  return out;
}

const results = [];
for (const n of SIZES) {
  const t = Date.now();
  const r = mode === 'memory' ? memory(n) : applyCost(n);
  results.push(r);
  process.stderr.write(`  ${mode} N=${n} done in ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
}
const json = JSON.stringify({ mode, node: process.version, results }, null, 2);
if (OUT) writeFileSync(OUT, json);
else console.log(json);
