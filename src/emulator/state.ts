/**
 * The in-memory data of one project: users, sessions, teams, memberships and presence rows, plus
 * the realtime connections attached to it. Presences keep Appwrite's unique index on `userId`
 * (`presenceByUser`): at most one row per user, and the two maps always agree. No database: a
 * reset or a restart forgets everything, which suits data as short-lived as presence.
 */
import type { Connection } from './connection.js';
import { isKey } from './validators.js';

export interface User {
  id: string;
  createdAt: number;
  updatedAt: number;
  /** null for anonymous users, who are output with name "". */
  name: string | null;
  email: string;
  /** Salted sha256 (a dev server, not a password vault); null for anonymous users. */
  password: { salt: string; hash: string } | null;
  accessedAt: number;
}

export interface Session {
  id: string;
  userId: string;
  secret: string;
  provider: 'anonymous' | 'email';
  providerUid: string;
  createdAt: number;
  expire: number;
  ip: string;
}

export interface Team {
  id: string;
  name: string;
  createdAt: number;
  updatedAt: number;
}

export interface Membership {
  id: string;
  teamId: string;
  userId: string;
  roles: string[];
  createdAt: number;
  updatedAt: number;
  invited: number;
  joined: number;
}

export type PresenceSource = 'rest' | 'graphql' | 'realtime';

export interface PresenceRow {
  id: string;
  /** Internal sequence: default list order, and `$sequence` in realtime payloads. */
  sequence: number;
  createdAt: number;
  updatedAt: number;
  permissions: string[];
  userId: string;
  status: string | null;
  source: PresenceSource;
  expiresAt: number | null;
  /** Any JSON value: REST only accepts objects, but the realtime message skips validation. */
  metadata: unknown;
}

export class Project {
  readonly users = new Map<string, User>();
  readonly sessions = new Map<string, Session>();
  readonly teams = new Map<string, Team>();
  readonly memberships = new Map<string, Membership>();
  readonly presences = new Map<string, PresenceRow>();
  readonly presenceByUser = new Map<string, string>();
  readonly connections = new Set<Connection>();
  private lastSequence = 0;

  constructor(readonly id: string) {}

  nextSequence(): number {
    return ++this.lastSequence;
  }

  userByEmail(email: string): User | undefined {
    for (const user of this.users.values()) if (user.email === email) return user;
    return undefined;
  }

  membershipsOf(userId: string): Membership[] {
    return [...this.memberships.values()].filter((membership) => membership.userId === userId);
  }

  membersOf(teamId: string): Membership[] {
    return [...this.memberships.values()].filter((membership) => membership.teamId === teamId);
  }

  presenceOf(userId: string): PresenceRow | undefined {
    const id = this.presenceByUser.get(userId);
    return id === undefined ? undefined : this.presences.get(id);
  }

  /** Insert or replace a row, keeping the unique userId index in step. */
  putPresence(row: PresenceRow): void {
    const previous = this.presences.get(row.id);
    if (previous && previous.userId !== row.userId) this.presenceByUser.delete(previous.userId);
    this.presences.set(row.id, row);
    this.presenceByUser.set(row.userId, row.id);
  }

  /**
   * Remove a row and untrack it from every socket (Appwrite's realtime workers strip a deleted id
   * from all connections when they see its delete event), so no socket can delete it twice.
   */
  deletePresence(id: string): PresenceRow | undefined {
    const row = this.presences.get(id);
    if (!row) return undefined;
    this.presences.delete(id);
    if (this.presenceByUser.get(row.userId) === id) this.presenceByUser.delete(row.userId);
    for (const connection of this.connections) connection.presences.delete(id);
    return row;
  }
}

/** Every project the emulator has seen; with a fixed project id configured, only that one exists. */
export class Projects {
  private readonly byId = new Map<string, Project>();

  constructor(private readonly only: string | null) {}

  /** The project for an id, created on first use; undefined when the id is not accepted. */
  get(id: string | null | undefined): Project | undefined {
    if (!isKey(id) || (this.only !== null && id !== this.only)) return undefined;
    let project = this.byId.get(id);
    if (!project) {
      project = new Project(id);
      this.byId.set(id, project);
    }
    return project;
  }

  all(): Project[] {
    return [...this.byId.values()];
  }

  clear(): void {
    this.byId.clear();
  }
}
