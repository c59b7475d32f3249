/**
 * Chaos convergence, end to end: 20 people (real `appwrite` SDK, real transport, real session
 * machines) on one emulator, half of them with two tabs of one browser (one session, tabs
 * coordinated by BroadcastChannel and an in-memory Web Locks), while a seeded random schedule drops
 * every socket, pauses event delivery for 0–3 s, fails 5% of REST writes with a 5xx, crashes tabs
 * without cleanup, hides and shows pages, has people set, clear, stop and start again, and — in
 * any of their tabs — sign out (and come back as a new guest), sign in to an account from a guest
 * session, and switch teams. Each round of faults is followed by a quiet window, and we measure:
 *   - convergence: how long after the last fault every live tab's roster (peers in its team scope)
 *     equals the server's truth (the last mismatch seen in a window of 2 heartbeats + 1 s);
 *   - own status: every live tab of a person who did not clear or stop shows the status they chose;
 *   - ghosts: a peer still shown after its row expired or was deleted (crashed tabs included);
 *   - ghost time after sign-outs, identity switches and team switches: how long another person's
 *     tab still lists the identity that left, or the old team still lists the one who moved
 *     (support/ghosts.ts; goal: nothing beyond 2 s);
 *   - wrongful disappearances: a peer dropped while its row was live and had been for a while.
 * Truth is the ledger of every row the server confirmed (support/ledger.ts), cross-checked against
 * the server's own list at the end. Real time is unavoidable here (sockets, HTTP); the heartbeat is
 * 4 s so that faults keep the proportions they have at the default 25 s, and every bound is generous.
 * `npm test` runs 2 rounds of 12 s of faults, alone after the other files; `npm run soak` runs 10
 * rounds of 30 s.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { useEmulator } from '../support/emulator';
import { keyClient } from '../support/sdk';
import { isWriter, live as liveTabs, World, type ActionRecord, type Person, type Tab } from './support/browsers';
import { GhostWatch, GOAL_MS, type GhostWatchResult, type Lag, type Observer } from './support/ghosts';
import { Ledger } from './support/ledger';
import { CHAOS, figure, SOAK } from './support/mode';
import { pollUntil } from '../support/wait';

const KEY = 'chaos-key';
const H = 4_000;
const PEOPLE = 20;
const ROUNDS = SOAK ? 10 : 2;
const ROUND_FAULT_MS = SOAK ? 30_000 : 12_000;
const FAULT_MS = ROUNDS * ROUND_FAULT_MS;
const SEED = SOAK ? Date.now() % 2 ** 31 : 424_242;
/** Every other person opens two tabs of one browser. */
const TWO_TABS = (index: number) => index % 2 === 0;
const TEAMS = ['red', 'blue'] as const;
/** A drop's deliveries count as lagging this long (the SDK reconnects after 1 s, then we re-list). */
const DROP_LAG_MS = 3_000;
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

const STATUSES = ['online', 'busy', 'editing', 'in a call', 'reviewing'] as const;

/**
 * A command whose write failed for a passing reason (here the injected 5xx) answers false, yet the
 * choice is kept and written again with backoff (README, "Writing"), and `error` says so: the
 * person still intends it. Only a refusal (4xx) reverts it.
 */
function keptForRetry(tab: Tab): boolean {
  return /\(kept; trying again in \d+ s\)/.test(tab.controller.view().error ?? '');
}

// Real sockets and real time for a minute: under the rest of the suite's load on 2 cores its timing
// checks were not reliable, so `npm test` runs it alone after everything else (see support/mode.ts).
describe.runIf(CHAOS)('chaos convergence', () => {
  it(
    `${PEOPLE} people (half with two tabs), ${FAULT_MS / 1000} s of random faults, sign-outs and switches: rosters converge, no ghosts, nobody vanishes wrongly`,
    async () => {
      const project = 'chaos';
      const ledger = new Ledger();
      const rand = prng(SEED);
      const world = new World({ url: emulator.url, project, key: KEY, ledger, heartbeatMs: H, teams: TEAMS });
      const people = world.people;
      const stats = { drops: 0, pauses: 0, pausedMs: 0, crashes: 0, joins: 0, commands: 0, hides: 0, shows: 0, failedCommands: 0, signIns: 0 };
      let pausedUntil = 0;
      const crashTimes = new Map<string, number>();
      let lastDrop = -Infinity;
      /** Spans in which injected faults held deliveries back (for the ghost deadlines). */
      const lags: Lag[] = [];
      /** Every peer an observer dropped, judged against the ledger at the end (when it is complete). */
      const drops: { observer: string; peer: string; scope: string | null; at: number; lagging: boolean; debug?: string }[] = [];
      const actions: ActionRecord[] = [];
      const actionFailures: string[] = [];
      const ghosts = new GhostWatch<ActionRecord>(() => allTabs().map(observerOf));
      const observers = new Map<Tab, Observer>();

      const allTabs = () => people.flatMap((p) => p.tabs);
      /** Tabs whose roster is someone's view: running, of a signed-in person. */
      const live = () => allTabs().filter((t) => t.phase === 'running' && t.person.userId !== null);

      function observerOf(tab: Tab): Observer {
        let observer = observers.get(tab);
        if (!observer) {
          observer = {
            key: tab.name,
            owner: tab.person,
            active: () => tab.phase === 'running' && !tab.stopping,
            scope: () => tab.person.team,
            lists: (userId) => tab.controller.of(userId) !== null,
          };
          observers.set(tab, observer);
        }
        return observer;
      }

      async function join(tabs: 1 | 2): Promise<Person> {
        const person = await world.open(tabs);
        stats.joins++;
        for (const tab of person.tabs) watch(tab);
        person.busy = true;
        void Promise.all(person.tabs.map((t) => t.controller.start())).finally(() => (person.busy = false));
        return person;
      }

      /** Every roster change of a tab: disappearances (judged later) and ghost watches. */
      function watch(tab: Tab): void {
        let shown = new Set<string>();
        tab.controller.subscribe(() => {
          const now = new Set(tab.controller.all().map((p) => p.userId));
          const at = Date.now();
          ghosts.observe(observerOf(tab), at);
          // Its own stop, crash, (re)start or switch empties or rebuilds the roster: not a peer leaving.
          const { person } = tab;
          if (tab.phase === 'running' && !person.switching && person.userId !== null && tab.controller.view().ready) {
            for (const peer of shown) {
              if (now.has(peer) || peer === person.userId) continue;
              drops.push({
                observer: tab.name,
                peer,
                scope: person.team,
                at,
                lagging: at < pausedUntil + DELIVERY_MS || at < lastDrop + DROP_LAG_MS,
                debug: `at ${at % 100_000}, scope ${person.team}, paused until ${pausedUntil % 100_000}, last drop ${lastDrop % 100_000}, clock offset ${tab.controller.actor.getSnapshot().context.clock.offset} ms`,
              });
            }
          }
          shown = now;
        });
      }

      /** One identity or team action of `person`, in `tab`; its end starts a ghost watch. */
      async function identityAction(person: Person, kind: 'sign-out' | 'switch' | 'team' | 'sign-in', tab: Tab): Promise<void> {
        person.busy = true;
        person.switching = true;
        ghosts.endTeamWatches(person);
        try {
          if (kind === 'sign-in') {
            await world.signInAsGuest(person);
            stats.signIns++;
            return;
          }
          let record: ActionRecord;
          if (kind === 'team') {
            const choices = [null, ...TEAMS].filter((team) => team !== person.team);
            record = world.switchTeam(tab, rand.pick(choices));
          } else {
            record = kind === 'sign-out' ? await world.signOut(tab) : await world.switchToAccount(tab);
          }
          actions.push(record);
          // A sign-out or switch retires the identity everywhere; a team switch, for the old team.
          ghosts.begin(record, person, record.userId, kind === 'team' ? record.fromTeam : undefined, record.endedAt);
        } catch (error) {
          actionFailures.push(`${kind} of ${person.name} in ${tab.name}: ${error instanceof Error ? error.stack : String(error)}`);
        } finally {
          // The tabs rebuild their rosters under the new identity or scope: until they are ready
          // again (or 5 s), what leaves their rosters is not peers leaving.
          await pollUntil(() => liveTabs(person).every((t) => t.phase !== 'running' || person.userId === null || t.controller.view().ready), 5_000, 20).catch(() => undefined);
          person.switching = false;
          person.busy = false;
        }
      }

      async function act(person: Person): Promise<void> {
        if (person.busy) return;
        const tabs = liveTabs(person);
        if (tabs.length === 0) return; // crashed (replaced by a newcomer)
        const tab = rand.pick(tabs);
        const roll = rand.next();
        if (person.userId === null) {
          if (roll < 0.3) await identityAction(person, 'sign-in', tab);
          return;
        }
        if (roll >= 0.78) {
          if (roll < 0.84) await identityAction(person, 'sign-out', tab);
          else if (roll < 0.9) {
            if (person.kind === 'guest') await identityAction(person, 'switch', tab);
          } else if (roll < 0.96) await identityAction(person, 'team', tab);
          return;
        }
        const run = async (name: string, call: () => Promise<boolean>, onTrue: () => void) => {
          person.busy = true;
          stats.commands++;
          try {
            const sentAt = Date.now() % 100_000;
            const ok = await call();
            person.log.push(`${name} in ${tab.name}@${sentAt}-${Date.now() % 100_000}=${ok}`);
            if (ok || keptForRetry(tab)) onTrue();
            if (!ok) stats.failedCommands++;
          } finally {
            person.busy = false;
          }
        };
        // Stop and start are for one-tab people: a tab of two closing is not "stop" for the person.
        const oneTab = person.tabs.length === 1;
        if (tab.phase === 'stopped') {
          if (roll < 0.3) await run('start', () => tab.controller.start(), () => ((tab.phase = 'running'), (person.intended = person.intended ?? 'online')));
          return;
        }
        if (tab.phase !== 'running') return;
        if (roll < 0.4) {
          const status = rand.pick(STATUSES);
          await run('set', () => tab.controller.set(status, { n: stats.commands }), () => (person.intended = status));
        } else if (roll < 0.5) {
          await run('clear', () => tab.controller.clear(), () => (person.intended = null));
        } else if (roll < 0.56) {
          if (!oneTab) return;
          tab.stopping = true;
          await run('stop', () => tab.controller.stop().finally(() => (tab.stopping = false)), () => ((tab.phase = 'stopped'), (person.intended = null)));
        } else {
          person.log.push(`${tab.page.hidden ? 'show' : 'hide'} ${tab.name}@${Date.now() % 100_000}`);
          if (tab.page.hidden) {
            tab.page.show();
            stats.shows++;
          } else {
            tab.page.hide();
            stats.hides++;
          }
        }
      }

      // ---- the run: rounds of faults, each followed by a quiet window where convergence is timed ----
      await world.createTeams();
      for (let i = 0; i < PEOPLE; i++) await join(TWO_TABS(i) ? 2 : 1);
      await Promise.all(allTabs().map((t) => pollUntil(() => t.controller.view().ready, 10_000, 20)));
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
            lags.push({ from: now, to: now + DROP_LAG_MS });
            nextDrop = now + 4_000 + rand.int(6_000);
          }
          if (now >= nextPause) {
            const ms = rand.int(3_001);
            emulator.pauseEvents(ms);
            pausedUntil = Math.max(pausedUntil, now + ms);
            lags.push({ from: now, to: now + ms });
            stats.pauses++;
            stats.pausedMs += ms;
            nextPause = now + 2_000 + rand.int(4_000);
          }
          // No crash in the last round: the crashed rows expire meanwhile and the run needs no tail.
          if (now >= nextCrash && round < ROUNDS - 1) {
            // A one-tab person's tab holding a row: one that cleared first leaves nothing behind to
            // expire. Visible if possible: a hidden tab's row outlives the bounded run's wait.
            const holding = people.filter(
              (p) => p.tabs.length === 1 && !p.busy && p.userId !== null && p.tabs[0]!.phase === 'running' && Number.isFinite(ledger.lastExpiry(p.userId)),
            );
            const shown = holding.filter((p) => !p.tabs[0]!.page.hidden);
            const victim = rand.pick(shown.length > 0 ? shown : holding);
            if (victim) {
              const tab = victim.tabs[0]!;
              tab.controller.actor.stop(); // a crash: no DELETE, no more heartbeats, the socket just goes
              tab.phase = 'crashed';
              ghosts.observe(observerOf(tab));
              crashTimes.set(victim.userId!, now);
              stats.crashes++;
              void join(1);
            }
            nextCrash = now + 4_000 + rand.int(8_000);
          }
          for (const person of [...people]) if (rand.next() < 0.08) void act(person);
          await sleep(150 + rand.int(150));
        }

        // The round ends with a last blow — every socket dropped and deliveries paused 0–3 s —
        // then no new fault and no new command. From the drop on, every poll compares each live
        // roster with the truth; convergence is when the last mismatch was seen (the reconnect,
        // the re-list and commands or switches still in flight included).
        emulator.failWrites(0);
        const faultsOver = Date.now();
        emulator.dropSockets();
        stats.drops++;
        lastDrop = faultsOver;
        lags.push({ from: faultsOver, to: faultsOver + DROP_LAG_MS });
        const lastPause = rand.int(3_001);
        emulator.pauseEvents(lastPause);
        pausedUntil = faultsOver + lastPause;
        lags.push({ from: faultsOver, to: pausedUntil });
        stats.pauses++;
        stats.pausedMs += lastPause;
        // ...while a few people change their status: everyone must learn it through the reconnect.
        for (const person of people.filter((p) => !p.busy && p.userId !== null).slice(0, 4)) {
          const tab = person.tabs.find((t) => t.phase === 'running');
          if (!tab) continue;
          const status = rand.pick(STATUSES);
          person.busy = true;
          stats.commands++;
          const sentAt = Date.now() % 100_000;
          void tab.controller
            .set(status, { n: stats.commands })
            .then((ok) => {
              person.log.push(`final set ${status} in ${tab.name}@${sentAt}-${Date.now() % 100_000}=${ok}`);
              if (ok || keptForRetry(tab)) person.intended = status;
              if (!ok) stats.failedCommands++;
            })
            .finally(() => (person.busy = false));
        }
        let lastMismatchAt = -Infinity;
        while (Date.now() < Math.max(faultsOver, pausedUntil) + 2 * H + 1_000) {
          const at = Date.now();
          const mismatch = live().map((t) => mismatchOf(t, at)).find((m) => m !== null);
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

      /** A live tab's roster against the truth: the rows of its own team scope, nobody else's. */
      function mismatchOf(tab: Tab, at: number): string | null {
        if (!tab.controller.view().ready) return `${tab.name} not ready`;
        const self = tab.person.userId;
        const scope = tab.person.team;
        const shown = new Map(tab.controller.all().filter((r) => r.userId !== self).map((r) => [r.userId, r.status]));
        for (const userId of ledger.users()) {
          if (userId === self) continue;
          const row = ledger.stateAt(userId, at - DELIVERY_MS, 300);
          const now = ledger.stateAt(userId, at, 300);
          if (row.state === 'ambiguous' || now.state === 'ambiguous') continue;
          const inScope = (state: typeof row) => state.state === 'live' && state.team === scope;
          if (inScope(row) && inScope(now) && row.state === 'live' && now.state === 'live' && row.status === now.status && shown.get(userId) !== row.status) {
            return `${tab.name} (${self}, team ${scope}) shows ${userId} as ${shown.get(userId) ?? 'absent'}, server ${row.status}`;
          }
          if (!inScope(row) && !inScope(now) && shown.has(userId)) {
            return `${tab.name} (${self}, team ${scope}) still shows ${userId} (${row.state === 'live' ? `team ${row.team}` : 'gone'}): ${ledger.history(userId)}`;
          }
        }
        return null;
      }

      // Crashed tabs: every live tab drops them by their expiresAt (wait for the last one); then
      // nobody may show anyone whose row is gone. (A write in flight at the crash may still have
      // landed: the ledger has the last one.)
      const crashed = people.filter((p) => p.tabs.every((t) => t.phase === 'crashed'));
      const crashedIds = crashed.map((p) => p.userId!).filter((id) => crashTimes.has(id));
      const expiryWaitLimit = SOAK ? 6 * 60_000 : 3 * H + 2_000;
      const lastExpiry = Math.max(0, ...crashedIds.map((id) => ledger.lastExpiry(id)).filter(Number.isFinite));
      await sleep(Math.min(lastExpiry + 1_000, Date.now() + expiryWaitLimit) - Date.now());
      const checkedCrashes = crashedIds.filter((id) => Number.isFinite(ledger.lastExpiry(id)) && ledger.lastExpiry(id) + 1_000 <= Date.now());
      const crashLateness: number[] = [];
      const ghostList: string[] = [];
      for (const observer of live()) {
        for (const id of checkedCrashes) {
          if (observer.controller.of(id) !== null) {
            ghostList.push(`${observer.name} still shows crashed ${id}: ${ledger.history(id)}`);
            continue;
          }
          const crashedAt = crashTimes.get(id)!;
          const dropped = drops.find((d) => d.observer === observer.name && d.peer === id && d.at >= crashedAt);
          if (dropped) crashLateness.push(dropped.at - ledger.lastExpiry(id));
        }
        for (const record of observer.controller.all()) {
          if (record.userId !== observer.person.userId && ledger.stateAt(record.userId, Date.now() - DELIVERY_MS, 300).state === 'gone') {
            ghostList.push(`${observer.name} shows ${record.userId} (${record.status}, expires ${record.expiresAt}): ${ledger.history(record.userId)}`);
          }
        }
      }

      // Own status: every live tab of a person who did not clear shows them present, as the server
      // holds them (away while none of their tabs is visible). After an identity change the test
      // does not know what they resume with until their next command.
      const ownProblems: string[] = [];
      const staleOwn: string[] = [];
      for (const tab of live()) {
        const { person } = tab;
        if (person.intended === undefined) continue;
        const { me } = tab.controller.view();
        const hidden = liveTabs(person).every((t) => t.phase !== 'running' || t.page.hidden);
        const expected = person.intended === null ? null : hidden ? 'away' : person.intended;
        const row = ledger.stateAt(person.userId!, Date.now(), 0);
        const about = `${tab.name} (${person.userId})`;
        if (expected !== null && me === null) ownProblems.push(`${about} intended ${expected} but is gone (me = null): ${ledger.history(person.userId!)} | ${person.log.join(' ')} | error ${tab.controller.view().error}`);
        else if (me !== null && row.state !== 'live') ownProblems.push(`${about} shows ${me} but has no row: ${ledger.history(person.userId!)} | ${person.log.join(' ')}`);
        else if (me !== null && row.state === 'live' && row.status !== me) staleOwn.push(`${about} shows ${me}, server ${row.status}: ${ledger.history(person.userId!)} | ${person.log.join(' ')}`);
      }

      // Ghost time after identity and team actions (watches end now; the crash wait above gave the
      // last ones time to show).
      const ghostResults = ghosts.finish(lags);

      // The ledger is the server: cross-check with the server's own list.
      const listed = (await keyClient(emulator.url, project, KEY).presences.list({ queries: ['{"method":"limit","values":[100]}'] })).presences;
      const ledgerLive = ledger.users().filter((u) => ledger.stateAt(u, Date.now(), 300).state === 'live').sort();
      const serverLive = listed.map((r) => r.userId).filter((u) => ledger.stateAt(u, Date.now(), 300).state !== 'ambiguous').sort();

      // A drop is wrongful when the peer's row was live in the observer's scope DELIVERY_MS before
      // and still is, with an expiry comfortably ahead; during a delivery pause or a reconnect it
      // counts as lag instead.
      const judged = drops.map((d) => {
        const before = ledger.stateAt(d.peer, d.at - DELIVERY_MS, 50);
        const after = ledger.stateAt(d.peer, d.at, 50);
        const live =
          before.state === 'live' && after.state === 'live' && before.team === d.scope && after.team === d.scope && before.expiresAt > d.at + DELIVERY_MS;
        return { ...d, kind: !live ? 'fine' : d.lagging ? 'lag' : 'wrongful', history: ledger.history(d.peer) };
      });
      const wrongful = judged.filter((d) => d.kind === 'wrongful');
      const lag = judged.filter((d) => d.kind === 'lag');
      const worstLate = crashLateness.length ? Math.max(...crashLateness) : null;
      const earliest = crashLateness.length ? Math.min(...crashLateness) : null;
      figure(
        `chaos (seed ${SEED}, ${PEOPLE} people, ${people.filter((p) => p.tabs.length === 2).length} of them with two tabs, heartbeat ${H} ms, ${ROUNDS} × ${ROUND_FAULT_MS / 1000} s of faults): ` +
          `faults injected: ${stats.drops} socket drops, ${stats.pauses} delivery pauses (${(stats.pausedMs / 1000).toFixed(1)} s in all), ` +
          `${ledger.failedWrites} REST writes failed with 5xx (rate 5%), ${stats.crashes} tabs crashed, ${stats.hides} hides / ${stats.shows} shows, ` +
          `${stats.commands} set/clear/stop/start commands (${stats.failedCommands} answered false); ` +
          `${ROUNDS} rounds each ended by dropping every socket and pausing deliveries, convergence after that last fault: ${convergence.join(', ')} ms (worst ${convergedAfter}, bound 2 heartbeats = ${2 * H} ms); ` +
          `${checkedCrashes.length} crashed tabs dropped by ${live().length} observing tabs between ${earliest} and ${worstLate} ms after their expiresAt; ghosts ${ghostList.length}; ` +
          `wrongful disappearances ${wrongful.length}; drops while deliveries lagged ${lag.length}; ` +
          `own status lost ${ownProblems.length}; own status not yet written ${staleOwn.length}`,
      );
      figure(`chaos: ${ghostFigures(ghostResults)}; ${stats.signIns} signed-out people came back as new guests`);

      for (const d of lag.slice(0, 5)) {
        const failures = ledger.failuresBetween(d.peer, d.at - 3 * H, d.at);
        figure(`chaos: drop while deliveries lagged — ${d.observer} dropped ${d.peer} (${d.debug}); the peer's writes failed ${failures}× in the 3 H before; its rows: ${d.history}`);
      }
      const lateGhosts = ghostResults.filter((r) => r.beyondMs > 0);
      for (const r of lateGhosts.slice(0, 8)) {
        const by = allTabs().find((t) => t.name === r.lastObserver);
        const state = by ? `${by.phase}, ${JSON.stringify(by.controller.actor.getSnapshot().value)}` : '?';
        figure(`chaos: ghost after ${describeGhost(r, ledger)}; observer ${r.lastObserver} (${state}); the person's last steps: ${r.action.person.log.slice(-6).join(' ')}`);
      }
      try {
        expect(actionFailures).toEqual([]);
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
        // Issue 10's goal: after a sign-out, an identity switch or a team switch in any tab, nobody
        // lists the old identity (or the old team the person) beyond 2 s — beyond the end of any
        // injected delivery lag, which holds every event back whatever the library does.
        expect(actions.filter((a) => a.kind === 'sign-out').length, 'sign-outs happened').toBeGreaterThan(0);
        expect(actions.filter((a) => a.kind === 'switch').length, 'identity switches happened').toBeGreaterThan(0);
        expect(actions.filter((a) => a.kind === 'team').length, 'team switches happened').toBeGreaterThan(0);
        expect(ghostResults.filter((r) => r.beyondLagMs > 0).map((r) => describeGhost(r, ledger))).toEqual([]);
      } finally {
        await world.close();
      }
    },
    SOAK ? 30 * 60_000 : 180_000,
  );
});

/** Ghost time by kind of action: count, worst, total beyond the goal (and beyond injected lag). */
function ghostFigures(results: GhostWatchResult<ActionRecord>[]): string {
  const parts = (['sign-out', 'switch', 'team'] as const).map((kind) => {
    const of = results.filter((r) => r.action.kind === kind);
    const inFollower = of.filter((r) => !r.action.inWriter).length;
    const worst = Math.max(0, ...of.map((r) => r.ghostMs));
    const beyond = of.reduce((sum, r) => sum + r.beyondMs, 0);
    const beyondLag = of.reduce((sum, r) => sum + r.beyondLagMs, 0);
    const late = of.filter((r) => r.beyondMs > 0).length;
    const name = kind === 'sign-out' ? 'sign-outs' : kind === 'switch' ? 'guest → account switches' : 'team switches';
    return (
      `${of.length} ${name} (${inFollower} in a non-writer tab): worst ghost ${worst} ms, ` +
      `${late} beyond ${GOAL_MS / 1000} s for ${(beyond / 1000).toFixed(1)} ghost-seconds beyond ${GOAL_MS / 1000} s ` +
      `(${(beyondLag / 1000).toFixed(1)} s beyond the end of injected delivery lag + ${GOAL_MS / 1000} s)`
    );
  });
  return `ghost time after identity actions, from each action's end — ${parts.join('; ')}`;
}

function describeGhost(r: GhostWatchResult<ActionRecord>, ledger: Ledger): string {
  const a = r.action;
  const what = a.kind === 'team' ? `team switch of ${a.userId} from ${a.fromTeam}` : `${a.kind} of ${a.userId}`;
  return (
    `${what} in ${a.inWriter ? 'the writer' : 'a non-writer'} tab (${a.person.name}, ${a.startedAt % 100_000}-${a.endedAt % 100_000}` +
    `${a.kind === 'team' ? '' : `, beforeSignOut → ${String(a.answer)}`}): listed for ${r.ghostMs} ms after, last by ${r.lastObserver}${r.open ? ' (still listed at the end)' : ''}, ` +
    `lag deadline ${r.deadline % 100_000}; rows: ${ledger.history(a.userId)}`
  );
}

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
