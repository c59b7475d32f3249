/**
 * Chaos convergence, end to end: 20 people (real `appwrite` SDK, real transport, real session
 * machines) on one emulator, while a seeded random schedule drops every socket, pauses event
 * delivery for 0–3 s, fails 5% of REST writes with a 5xx, crashes tabs without cleanup, hides and
 * shows pages and has people set, clear, stop and start again. Each round of faults is followed by
 * a quiet window, and we measure:
 *   - convergence: how long after the last fault every live person's roster (peers) equals the
 *     server's truth (the last mismatch seen in a window of 2 heartbeats + 1 s);
 *   - own status: every live person who did not clear or stop is present with the status they see;
 *   - ghosts: a peer still shown after its row expired or was deleted (crashed tabs included);
 *   - wrongful disappearances: a peer dropped while its row was live and had been for a while.
 * Truth is the ledger of every row the server confirmed (support/ledger.ts), cross-checked against
 * the server's own list at the end. Real time is unavoidable here (sockets, HTTP); the heartbeat is
 * 4 s so that faults keep the proportions they have at the default 25 s, and every bound is generous.
 * `npm test` runs 2 rounds of 12 s of faults, alone after the other files; `npm run soak` runs 10
 * rounds of 30 s.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { useEmulator } from '../support/emulator';
import { createPresence, type PresenceController } from '../../src/presence';
import { createAppwriteTransport } from '../../src/transport/appwrite';
import { guest, keyClient } from '../support/sdk';
import { Ledger } from './support/ledger';
import { CHAOS, figure, SOAK } from './support/mode';
import { FakeDocument } from './support/people';
import { pollUntil } from '../support/wait';

const KEY = 'chaos-key';
const H = 4_000;
const PEOPLE = 20;
const ROUNDS = SOAK ? 10 : 2;
const ROUND_FAULT_MS = SOAK ? 30_000 : 12_000;
const FAULT_MS = ROUNDS * ROUND_FAULT_MS;
const SEED = SOAK ? Date.now() % 2 ** 31 : 424_242;
/** Delivery allowance: an event published this long ago should have reached a connected socket. */
const DELIVERY_MS = 500;

const emulator = useEmulator({ apiKey: KEY });
const restoreConsole = quietSdkConsole();

afterAll(async () => {
  restoreConsole();
});

/** Seeded PRNG (mulberry32): the same seed replays the same schedule of actions and faults. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]! };
}

type Phase = 'running' | 'stopped' | 'crashed';

interface Person {
  userId: string;
  controller: PresenceController;
  page: FakeDocument;
  phase: Phase;
  /** What the person chose: a status, or null after clear()/stop(). */
  intended: string | null;
  busy: boolean;
  close: () => Promise<void>;
  /** What happened to this person, for failure messages. */
  log: string[];
}

const STATUSES = ['online', 'busy', 'editing', 'in a call', 'reviewing'] as const;

/**
 * A command whose write failed for a passing reason (here the injected 5xx) answers false, yet the
 * choice is kept and written again with backoff (README, "Writing"), and `error` says so: the
 * person still intends it. Only a refusal (4xx) reverts it.
 */
function keptForRetry(person: Person): boolean {
  return /\(kept; trying again in \d+ s\)/.test(person.controller.view().error ?? '');
}

// Real sockets and real time for a minute: under the rest of the suite's load on 2 cores its timing
// checks were not reliable, so `npm test` runs it alone after everything else (see support/mode.ts).
describe.runIf(CHAOS)('chaos convergence', () => {
  it(
    `${PEOPLE} people, ${FAULT_MS / 1000} s of random faults: rosters converge, no ghosts, nobody vanishes wrongly`,
    async () => {
      const project = 'chaos';
      const ledger = new Ledger();
      const rand = prng(SEED);
      const people: Person[] = [];
      const stats = { drops: 0, pauses: 0, pausedMs: 0, crashes: 0, joins: 0, commands: 0, hides: 0, shows: 0, failedCommands: 0 };
      let pausedUntil = 0;
      const crashTimes = new Map<string, number>();
      let lastDrop = -Infinity;
      /** Every peer an observer dropped, judged against the ledger at the end (when it is complete). */
      const drops: { observer: string; peer: string; at: number; lagging: boolean; debug?: string }[] = [];

      async function join(): Promise<Person> {
        const user = await guest(emulator.url, project);
        const page = new FakeDocument();
        const controller = createPresence({
          transport: createAppwriteTransport({ client: user.client, sdk: ledger.sdkFor(user.userId!), warn: () => undefined }),
          tabs: false,
          document: page,
          window: null,
          heartbeatMs: H,
        });
        const person: Person = { userId: user.userId!, controller, page, phase: 'running', intended: 'online', busy: false, close: () => user.close(), log: [] };
        watchDisappearances(person);
        people.push(person);
        stats.joins++;
        person.busy = true;
        void controller.start().finally(() => (person.busy = false));
        return person;
      }

      function watchDisappearances(observer: Person): void {
        let shown = new Set<string>();
        observer.controller.subscribe(() => {
          const now = new Set(observer.controller.all().map((p) => p.userId));
          const at = Date.now();
          // Its own stop, crash or (re)start empties or rebuilds the roster: not a peer leaving.
          if (observer.phase === 'running' && observer.controller.view().ready) {
            for (const peer of shown) {
              if (now.has(peer) || peer === observer.userId) continue;
              const roster = (observer.controller.actor.getSnapshot().value as { tracking?: { roster?: unknown } }).tracking?.roster;
              drops.push({
                observer: observer.userId,
                peer,
                at,
                lagging: at < pausedUntil + DELIVERY_MS || at < lastDrop + 3_000,
                debug: `at ${at % 100_000}, roster ${JSON.stringify(roster)}, paused until ${pausedUntil % 100_000}, last drop ${lastDrop % 100_000}, clock offset ${observer.controller.actor.getSnapshot().context.clock.offset} ms`,
              });
            }
          }
          shown = now;
        });
      }

      async function act(person: Person): Promise<void> {
        if (person.busy) return;
        const roll = rand.next();
        const run = async (name: string, call: () => Promise<boolean>, onTrue: () => void) => {
          person.busy = true;
          stats.commands++;
          try {
            const sentAt = Date.now() % 100_000;
            const ok = await call();
            person.log.push(`${name}@${sentAt}-${Date.now() % 100_000}=${ok}`);
            if (ok || keptForRetry(person)) onTrue();
            if (!ok) stats.failedCommands++;
          } finally {
            person.busy = false;
          }
        };
        if (person.phase === 'stopped') {
          if (roll < 0.3) await run('start', () => person.controller.start(), () => ((person.phase = 'running'), (person.intended = person.intended ?? 'online')));
          return;
        }
        if (person.phase !== 'running') return;
        if (roll < 0.4) {
          const status = rand.pick(STATUSES);
          await run('set', () => person.controller.set(status, { n: stats.commands }), () => (person.intended = status));
        } else if (roll < 0.5) {
          await run('clear', () => person.controller.clear(), () => (person.intended = null));
        } else if (roll < 0.56) {
          await run('stop', () => person.controller.stop(), () => ((person.phase = 'stopped'), (person.intended = null)));
        } else if (roll < 0.78) {
          person.log.push(`${person.page.hidden ? 'show' : 'hide'}@${Date.now() % 100_000}`);
          if (person.page.hidden) {
            person.page.show();
            stats.shows++;
          } else {
            person.page.hide();
            stats.hides++;
          }
        }
      }

      // ---- the run: rounds of faults, each followed by a quiet window where convergence is timed ----
      for (let i = 0; i < PEOPLE; i++) await join();
      await Promise.all(people.map((p) => pollUntil(() => p.controller.view().ready, 10_000, 20)));
      const live = () => people.filter((p) => p.phase === 'running');
      const convergence: number[] = [];
      let lastMismatch = '';
      for (let round = 0; round < ROUNDS; round++) {
        emulator.failWrites(0.05);
        const faultsEnd = Date.now() + ROUND_FAULT_MS;
        let nextDrop = Date.now() + 1_000 + rand.int(4_000);
        let nextPause = Date.now() + 500 + rand.int(3_000);
        let nextCrash = Date.now() + 2_000 + rand.int(6_000);
        while (Date.now() < faultsEnd) {
          const now = Date.now();
          if (now >= nextDrop) {
            emulator.dropSockets();
            stats.drops++;
            lastDrop = now;
            nextDrop = now + 4_000 + rand.int(6_000);
          }
          if (now >= nextPause) {
            const ms = rand.int(3_001);
            emulator.pauseEvents(ms);
            pausedUntil = Math.max(pausedUntil, now + ms);
            stats.pauses++;
            stats.pausedMs += ms;
            nextPause = now + 2_000 + rand.int(4_000);
          }
          // No crash in the last round: the crashed rows expire meanwhile and the run needs no tail.
          if (now >= nextCrash && round < ROUNDS - 1) {
            // A tab holding a row: one that cleared first leaves nothing behind to expire.
            const victim = rand.pick(people.filter((p) => p.phase === 'running' && Number.isFinite(ledger.lastExpiry(p.userId))));
            if (victim) {
              victim.controller.actor.stop(); // a crash: no DELETE, no more heartbeats, the socket just goes
              victim.phase = 'crashed';
              crashTimes.set(victim.userId, now);
              stats.crashes++;
              void join();
            }
            nextCrash = now + 4_000 + rand.int(8_000);
          }
          for (const person of people) if (rand.next() < 0.08) void act(person);
          await sleep(150 + rand.int(150));
        }

        // The round ends with a last blow — every socket dropped and deliveries paused 0–3 s —
        // then no new fault and no new command. From the drop on, every poll compares each live
        // roster with the truth; convergence is when the last mismatch was seen (the reconnect,
        // the re-list and commands still in flight included).
        emulator.failWrites(0);
        const faultsOver = Date.now();
        emulator.dropSockets();
        stats.drops++;
        lastDrop = faultsOver;
        const lastPause = rand.int(3_001);
        emulator.pauseEvents(lastPause);
        pausedUntil = faultsOver + lastPause;
        stats.pauses++;
        stats.pausedMs += lastPause;
        // ...while a few people change their status: everyone must learn it through the reconnect.
        for (const person of live().filter((p) => !p.busy).slice(0, 4)) {
          const status = rand.pick(STATUSES);
          person.busy = true;
          stats.commands++;
          const sentAt = Date.now() % 100_000;
          void person.controller
            .set(status, { n: stats.commands })
            .then((ok) => {
              person.log.push(`final set ${status}@${sentAt}-${Date.now() % 100_000}=${ok}`);
              if (ok || keptForRetry(person)) person.intended = status;
              if (!ok) stats.failedCommands++;
            })
            .finally(() => (person.busy = false));
        }
        let lastMismatchAt = -Infinity;
        while (Date.now() < Math.max(faultsOver, pausedUntil) + 2 * H + 1_000) {
          const at = Date.now();
          const mismatch = live().map((p) => mismatchOf(p, at)).find((m) => m !== null);
          if (mismatch !== undefined) {
            lastMismatchAt = at;
            lastMismatch = mismatch!;
          }
          await sleep(25);
        }
        convergence.push(lastMismatchAt === -Infinity ? 0 : lastMismatchAt + 25 - faultsOver);
        await pollUntil(() => people.every((p) => !p.busy), 30_000, 20);
      }
      const convergedAfter = Math.max(...convergence);

      function mismatchOf(person: Person, at: number): string | null {
        if (!person.controller.view().ready) return `${person.userId} not ready`;
        const shown = new Map(person.controller.all().filter((r) => r.userId !== person.userId).map((r) => [r.userId, r.status]));
        for (const userId of ledger.users()) {
          if (userId === person.userId) continue;
          const row = ledger.stateAt(userId, at - DELIVERY_MS, 300);
          const now = ledger.stateAt(userId, at, 300);
          if (row.state === 'ambiguous' || now.state === 'ambiguous') continue;
          if (row.state === 'live' && now.state === 'live' && row.status === now.status && shown.get(userId) !== row.status) {
            return `${person.userId} shows ${userId} as ${shown.get(userId) ?? 'absent'}, server ${row.status}`;
          }
          if (row.state === 'gone' && now.state === 'gone' && shown.has(userId)) return `${person.userId} still shows ${userId} (gone)`;
        }
        return null;
      }

      // Crashed tabs: every live person drops them by their expiresAt (wait for the last one); then
      // nobody may show anyone whose row is gone. (A write in flight at the crash may still have
      // landed: the ledger has the last one.)
      const crashed = people.filter((p) => p.phase === 'crashed');
      const expiryWaitLimit = SOAK ? 6 * 60_000 : 3 * H + 2_000;
      const lastExpiry = Math.max(0, ...crashed.map((p) => ledger.lastExpiry(p.userId)).filter(Number.isFinite));
      await sleep(Math.min(lastExpiry + 1_000, Date.now() + expiryWaitLimit) - Date.now());
      const checkedCrashes = crashed.filter((p) => Number.isFinite(ledger.lastExpiry(p.userId)) && ledger.lastExpiry(p.userId) + 1_000 <= Date.now());
      const crashLateness: number[] = [];
      const ghostList: string[] = [];
      for (const observer of live()) {
        for (const c of checkedCrashes) {
          if (observer.controller.of(c.userId) !== null) {
            ghostList.push(`${observer.userId} still shows crashed ${c.userId}: ${ledger.history(c.userId)}`);
            continue;
          }
          const crashedAt = crashTimes.get(c.userId)!;
          const dropped = drops.find((d) => d.observer === observer.userId && d.peer === c.userId && d.at >= crashedAt);
          if (dropped) crashLateness.push(dropped.at - ledger.lastExpiry(c.userId));
        }
        for (const record of observer.controller.all()) {
          if (record.userId !== observer.userId && ledger.stateAt(record.userId, Date.now() - DELIVERY_MS, 300).state === 'gone') {
            ghostList.push(`${observer.userId} shows ${record.userId} (${record.status}, expires ${record.expiresAt}): ${ledger.history(record.userId)}`);
          }
        }
      }

      // Own status: every live person who did not clear is present, and shows what the server holds.
      const ownProblems: string[] = [];
      const staleOwn: string[] = [];
      for (const person of live()) {
        const { me } = person.controller.view();
        const expected = person.intended === null ? null : person.page.hidden ? 'away' : person.intended;
        const row = ledger.stateAt(person.userId, Date.now(), 0);
        if (expected !== null && me === null) ownProblems.push(`${person.userId} intended ${expected} but is gone (me = null): ${ledger.history(person.userId)} | ${person.log.join(' ')} | error ${person.controller.view().error}`);
        else if (me !== null && row.state !== 'live') ownProblems.push(`${person.userId} shows ${me} but has no row: ${ledger.history(person.userId)}`);
        else if (me !== null && row.state === 'live' && row.status !== me) staleOwn.push(`${person.userId} shows ${me}, server ${row.status}: ${ledger.history(person.userId)}`);
      }

      // The ledger is the server: cross-check with the server's own list.
      const listed = (await keyClient(emulator.url, project, KEY).presences.list({ queries: ['{"method":"limit","values":[100]}'] })).presences;
      const ledgerLive = ledger.users().filter((u) => ledger.stateAt(u, Date.now(), 300).state === 'live').sort();
      const serverLive = listed.map((r) => r.userId).filter((u) => ledger.stateAt(u, Date.now(), 300).state !== 'ambiguous').sort();

      // A drop is wrongful when the peer's row was live DELIVERY_MS before and still is, with an
      // expiry comfortably ahead; during a delivery pause or a reconnect it counts as lag instead.
      const judged = drops.map((d) => {
        const before = ledger.stateAt(d.peer, d.at - DELIVERY_MS, 50);
        const after = ledger.stateAt(d.peer, d.at, 50);
        const live = before.state === 'live' && after.state === 'live' && before.expiresAt > d.at + DELIVERY_MS;
        return { ...d, kind: !live ? 'fine' : d.lagging ? 'lag' : 'wrongful', history: ledger.history(d.peer) };
      });
      const wrongful = judged.filter((d) => d.kind === 'wrongful');
      const lag = judged.filter((d) => d.kind === 'lag');
      const worstLate = crashLateness.length ? Math.max(...crashLateness) : null;
      const earliest = crashLateness.length ? Math.min(...crashLateness) : null;
      figure(
        `chaos (seed ${SEED}, ${PEOPLE} people, heartbeat ${H} ms, ${ROUNDS} × ${ROUND_FAULT_MS / 1000} s of faults): ` +
          `faults injected: ${stats.drops} socket drops, ${stats.pauses} delivery pauses (${(stats.pausedMs / 1000).toFixed(1)} s in all), ` +
          `${ledger.failedWrites} REST writes failed with 5xx (rate 5%), ${stats.crashes} tabs crashed, ${stats.hides} hides / ${stats.shows} shows, ` +
          `${stats.commands} set/clear/stop/start commands (${stats.failedCommands} answered false); ` +
          `${ROUNDS} rounds each ended by dropping every socket and pausing deliveries, convergence after that last fault: ${convergence.join(', ')} ms (worst ${convergedAfter}, bound 2 heartbeats = ${2 * H} ms); ` +
          `${checkedCrashes.length} crashed tabs dropped by ${live().length} observers between ${earliest} and ${worstLate} ms after their expiresAt; ghosts ${ghostList.length}; ` +
          `wrongful disappearances ${wrongful.length}; drops while deliveries lagged ${lag.length}; ` +
          `own status lost ${ownProblems.length}; own status not yet written ${staleOwn.length}`,
      );

      for (const d of lag.slice(0, 5)) {
        const failures = ledger.failuresBetween(d.peer, d.at - 3 * H, d.at);
        figure(`chaos: drop while deliveries lagged — ${d.observer} dropped ${d.peer} (${d.debug}); the peer's writes failed ${failures}× in the 3 H before; its rows: ${d.history}`);
      }
      try {
        expect(serverLive, 'the ledger agrees with the server').toEqual(ledgerLive);
        expect(convergedAfter, `last mismatch: ${lastMismatch}`).toBeLessThanOrEqual(2 * H);
        expect(ghostList).toEqual([]);
        // Alone (soak), within a second; inside a busy `npm test` on 2 cores timers run late, so
        // within a heartbeat (ghosts and wrongful drops stay strict either way).
        if (worstLate !== null) expect(worstLate).toBeLessThan(SOAK ? 1_000 : H);
        expect(checkedCrashes.length).toBeGreaterThan(0);
        expect(wrongful.map((d) => `${d.observer} dropped ${d.peer} (${d.debug}): ${d.history}`)).toEqual([]);
        expect(ownProblems).toEqual([]);
        expect(staleOwn).toEqual([]);
      } finally {
        for (const person of people) person.controller.dispose();
        await Promise.all(people.map((p) => p.close()));
      }
    },
    SOAK ? 30 * 60_000 : 180_000,
  );
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** The SDK logs every reconnect; twenty people and a dozen drops would bury the figures. */
function quietSdkConsole(): () => void {
  const { log, error } = console;
  const noisy = (args: unknown[]) =>
    typeof args[0] === 'string' && /^(Realtime disconnected|Realtime got disconnected|WebSocket error|Failed to reconnect)/.test(args[0]);
  console.log = (...args: unknown[]) => (noisy(args) ? undefined : log(...args));
  console.error = (...args: unknown[]) => (noisy(args) ? undefined : error(...args));
  return () => {
    console.log = log;
    console.error = error;
  };
}
