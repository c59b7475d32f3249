/**
 * People at browsers, for the chaos test: a person is one browser (one Appwrite session, one Web
 * Locks origin) with one or two tabs. Each tab is a `createPresence` controller with its own
 * `appwrite` Client carrying the browser's session (`client.setSession(token)` — a browser's
 * cookie, shared by its tabs), its own page and its own transport, and the tabs coordinate as a
 * browser's do: Node's BroadcastChannel (it delivers between instances in one process) and one
 * in-memory LockManager per browser. Identity changes follow what Manifest does with its auth
 * store: the tab where it happens calls `beforeSignOut()`, the session goes, the browser's cookie
 * changes for every tab, and every tab hears `setIdentity()`. A team switch is `setTeam()` in
 * every tab. Every identity is made a member of every team (with the project key) so any person
 * may scope to any team and every observer may read any row.
 */
import { Account, Client } from 'appwrite';
import { createPresence, type PresenceController } from '../../../src/presence';
import { createAppwriteTransport } from '../../../src/transport/appwrite';
import { MemoryLockManager } from '../../support/locks';
import { guest, keyClient, member } from '../../support/sdk';
import type { Ledger } from './ledger';
import { FakeDocument } from './people';

export type Phase = 'running' | 'stopped' | 'crashed';

export interface Tab {
  /** `p3/2`: person 3's second tab (for messages). */
  name: string;
  person: Person;
  client: Client;
  account: Account;
  controller: PresenceController;
  page: FakeDocument;
  phase: Phase;
  /** stop() was called and has not answered yet: the tab is leaving, its roster no one's view. */
  stopping: boolean;
}

export interface Person {
  name: string;
  /** The identity signed in now; null while signed out. */
  userId: string | null;
  kind: 'guest' | 'account' | null;
  tabs: Tab[];
  /** The team every tab is scoped to (null: readable by all users). */
  team: string | null;
  /**
   * What the person chose: a status, null after clear()/stop(), undefined when the test cannot
   * know (after an identity change, until their next command).
   */
  intended: string | null | undefined;
  /** A command or an identity action is running. */
  busy: boolean;
  /** An identity or team action is running: its own roster is rebuilt, not peers leaving. */
  switching: boolean;
  /** What happened to this person, for failure messages. */
  log: string[];
}

/** What one identity or team action did, for the ghost measurement. */
export interface ActionRecord {
  kind: 'sign-out' | 'switch' | 'team';
  person: Person;
  /** The identity whose row must go from others' rosters (sign-out, switch), or the person's (team). */
  userId: string;
  /** Team switch: the scope they left. */
  fromTeam: string | null;
  /** The acting tab held the writer lock when the action began. */
  inWriter: boolean;
  startedAt: number;
  endedAt: number;
  /** beforeSignOut()'s answer (undefined while it returns Promise<void>). */
  answer?: unknown;
}

export interface WorldOptions {
  url: string;
  project: string;
  key: string;
  ledger: Ledger;
  heartbeatMs: number;
  teams: readonly string[];
}

/** How long an identity action may wait for beforeSignOut(); past this the action goes on. */
const SIGN_OUT_WAIT_MS = 20_000;

export class World {
  readonly people: Person[] = [];
  private count = 0;

  constructor(private readonly options: WorldOptions) {}

  /** Create the teams (project key), once before the run. */
  async createTeams(): Promise<void> {
    const admin = keyClient(this.options.url, this.options.project, this.options.key);
    for (const teamId of this.options.teams) await admin.teams.create({ teamId, name: teamId });
  }

  /** A new person (a fresh guest) at a browser with `tabs` tabs, all started. */
  async open(tabs: 1 | 2): Promise<Person> {
    const { userId, token } = await this.newGuest();
    const person: Person = {
      name: `p${++this.count}`,
      userId,
      kind: 'guest',
      tabs: [],
      team: null,
      intended: 'online',
      busy: false,
      switching: false,
      log: [],
    };
    const locks = new MemoryLockManager();
    for (let i = 1; i <= tabs; i++) person.tabs.push(this.tab(person, i, token, tabs > 1 ? locks.forClient(`${person.name}/${i}`) : null));
    this.people.push(person);
    return person;
  }

  /**
   * Sign out in `tab`: beforeSignOut() there, delete the session, the browser forgets the cookie,
   * every tab hears `setIdentity(null)` (as Manifest's auth store tells them).
   */
  async signOut(tab: Tab): Promise<ActionRecord> {
    const { person } = tab;
    const startedAt = Date.now();
    const userId = person.userId!;
    const inWriter = isWriter(tab);
    const answer = await this.beforeSignOut(tab);
    await this.deleteSession(tab);
    for (const t of person.tabs) t.client.setSession('');
    person.userId = null;
    person.kind = null;
    for (const t of live(person)) t.controller.setIdentity(null);
    person.log.push(`sign-out in ${tab.name}@${startedAt % 100_000}-${Date.now() % 100_000}=${String(answer)}`);
    return { kind: 'sign-out', person, userId, fromTeam: person.team, inWriter, startedAt, endedAt: Date.now(), answer };
  }

  /**
   * A guest signs in to an account in `tab`: beforeSignOut() there, the guest session goes (Appwrite
   * creates no session while one is active), a new account signs in, every tab gets the new cookie
   * and `setIdentity(account)`, and running tabs left idle start again.
   */
  async switchToAccount(tab: Tab): Promise<ActionRecord> {
    const { person } = tab;
    const startedAt = Date.now();
    const userId = person.userId!;
    const inWriter = isWriter(tab);
    const answer = await this.beforeSignOut(tab);
    await this.deleteSession(tab);
    for (const t of person.tabs) t.client.setSession('');
    const next = await member(this.options.url, this.options.project, { name: `${person.name} account` });
    await next.close();
    await this.joinTeams(next.userId!);
    this.signIn(person, next.userId!, next.token!, 'account', `${person.name} account`);
    const endedAt = Date.now();
    person.log.push(`switch in ${tab.name} to ${next.userId}@${startedAt % 100_000}-${endedAt % 100_000}=${String(answer)}`);
    return { kind: 'switch', person, userId, fromTeam: person.team, inWriter, startedAt, endedAt, answer };
  }

  /** A signed-out person comes back as a new guest (a new identity: the old one never returns). */
  async signInAsGuest(person: Person): Promise<void> {
    const { userId, token } = await this.newGuest();
    this.signIn(person, userId, token, 'guest', null);
    person.log.push(`signed in as guest ${userId}@${Date.now() % 100_000}`);
  }

  /** `setTeam(team)` in every tab of the person (as Manifest's currentTeam does). */
  switchTeam(tab: Tab, team: string | null): ActionRecord {
    const { person } = tab;
    const startedAt = Date.now();
    const fromTeam = person.team;
    const inWriter = isWriter(tab);
    person.team = team;
    for (const t of live(person)) t.controller.setTeam(team);
    person.log.push(`team ${fromTeam} → ${team} from ${tab.name}@${startedAt % 100_000}`);
    return { kind: 'team', person, userId: person.userId ?? '', fromTeam, inWriter, startedAt, endedAt: Date.now() };
  }

  async close(): Promise<void> {
    for (const person of this.people) for (const tab of person.tabs) tab.controller.dispose();
  }

  private tab(person: Person, index: number, token: string, locks: MemoryLockManager | null): Tab {
    const { url, project, ledger, heartbeatMs } = this.options;
    const client = new Client().setEndpoint(url).setProject(project).setSession(token);
    const page = new FakeDocument();
    const controller = createPresence({
      transport: createAppwriteTransport({ client, sdk: ledger.sdkFor(() => person.userId ?? ''), warn: () => undefined }),
      tabs: locks ? { key: project, locks, BroadcastChannel } : false,
      document: page,
      window: null,
      heartbeatMs,
    });
    return { name: `${person.name}/${index}`, person, client, account: new Account(client), controller, page, phase: 'running', stopping: false };
  }

  private signIn(person: Person, userId: string, token: string, kind: 'guest' | 'account', name: string | null): void {
    for (const t of person.tabs) t.client.setSession(token);
    person.userId = userId;
    person.kind = kind;
    person.intended = undefined;
    for (const t of live(person)) t.controller.setIdentity({ userId, name });
    // A tab that was tracking resumes by itself; one left idle (signed out before it ever ran) starts.
    for (const t of live(person)) if (t.phase === 'running' && t.controller.actor.getSnapshot().matches('idle')) void t.controller.start();
  }

  private async newGuest(): Promise<{ userId: string; token: string }> {
    const user = await guest(this.options.url, this.options.project);
    await user.close();
    await this.joinTeams(user.userId!);
    return { userId: user.userId!, token: user.token! };
  }

  private async joinTeams(userId: string): Promise<void> {
    const admin = keyClient(this.options.url, this.options.project, this.options.key);
    for (const teamId of this.options.teams) await admin.teams.createMembership({ teamId, roles: [], userId });
  }

  private async beforeSignOut(tab: Tab): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`no answer within ${SIGN_OUT_WAIT_MS} ms`), SIGN_OUT_WAIT_MS)));
    try {
      return await Promise.race([(async () => (await tab.controller.beforeSignOut()) as unknown)(), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async deleteSession(tab: Tab): Promise<void> {
    try {
      await tab.account.deleteSession({ sessionId: 'current' });
    } catch (error) {
      tab.person.log.push(`deleteSession failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

/** The person's tabs that still run code (a crashed tab hears nothing). */
export function live(person: Person): Tab[] {
  return person.tabs.filter((tab) => tab.phase !== 'crashed');
}

/** Does this tab hold the writer lock now? (The actor is public; its context says.) */
export function isWriter(tab: Tab): boolean {
  return tab.controller.actor.getSnapshot().context.leader === true;
}
