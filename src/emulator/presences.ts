/**
 * The presence rules shared by REST and realtime (spec §3, §5.7, §5.11, §7): one row per user where
 * an existing row's id wins over the requested one and a foreign id is refused (409, the row left
 * untouched); document permissions (owner-only by default; session callers need `update`/`delete`
 * on the row and may only grant roles they hold; keys bypass both); expired rows hidden from get,
 * patch and list but still deletable and still overwritten by their owner's upsert. Every write
 * publishes its event synchronously after the change.
 */
import {
  AppwriteError,
  documentInvalidStructure,
  presenceAlreadyExists,
  presenceNotFound,
  userNotFound,
  userUnauthorized,
} from './errors.js';
import type { EventBus, PresenceAction } from './events.js';
import type { Clock } from './format.js';
import { presenceModel, realtimePresencePayload } from './models.js';
import { aggregate, allows, assertGrantable, ownerPermissions } from './permissions.js';
import { parseListQueries, runList, type Schema } from './queries.js';
import type { PresenceRow, PresenceSource, Project, User } from './state.js';
import { codePoints } from './validators.js';

/** Who acts: the project key (no document security) or a signed-in user with their roles. */
export type Actor = { kind: 'key' } | { kind: 'user'; user: User; roles: string[] };

export interface UpsertInput {
  presenceId: string;
  status: string;
  /** undefined = the owner-only default. */
  permissions: string[] | undefined;
  expiresAt: number;
  /** undefined = keep the row's metadata (realtime) or `{}` for a new row. */
  metadata: unknown;
  source: PresenceSource;
}

export interface PatchInput {
  userId?: string;
  status?: string;
  expiresAt?: number;
  metadata?: Record<string, unknown>;
  permissions?: string[];
}

/** The storage column limits: status is a 255-char string, metadata a 65 535-char TEXT of JSON. */
const STATUS_COLUMN = 255;
const METADATA_COLUMN = 65_535;

const SCHEMA: Schema<PresenceRow> = {
  $id: { type: 'string', read: (row) => row.id },
  userId: { type: 'string', read: (row) => row.userId },
  status: { type: 'string', read: (row) => row.status },
  source: { type: 'string', read: (row) => row.source },
  expiresAt: { type: 'datetime', read: (row) => row.expiresAt },
  $createdAt: { type: 'datetime', read: (row) => row.createdAt },
  $updatedAt: { type: 'datetime', read: (row) => row.updatedAt },
  $sequence: { type: 'integer', read: (row) => row.sequence },
};

export class PresenceService {
  constructor(
    private readonly clock: Clock,
    private readonly bus: EventBus,
    private readonly onExpiry: (expiresAt: number | null) => void,
  ) {}

  /**
   * A foreign id answers 409 for API keys too: on MariaDB a key's upsert would silently take the
   * other user's row over (spec §3.1, inferred); the spec recommends refusing, and so do we.
   */
  upsert(project: Project, actor: Actor, owner: User, input: UpsertInput): PresenceRow {
    checkColumns(input.status, input.metadata);
    const permissions = this.grant(actor, owner.id, input.permissions);
    const now = this.clock.now();
    const existing = project.presenceOf(owner.id);
    if (existing && actor.kind === 'user' && !allows(existing.permissions, 'update', actor.roles)) throw userUnauthorized();
    if (!existing && project.presences.has(input.presenceId)) throw presenceAlreadyExists(input.presenceId);
    const row: PresenceRow = {
      id: existing?.id ?? input.presenceId,
      sequence: existing?.sequence ?? project.nextSequence(),
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
      permissions,
      userId: owner.id,
      status: input.status,
      source: input.source,
      expiresAt: input.expiresAt,
      metadata: input.metadata ?? (input.source === 'realtime' && existing ? existing.metadata : {}),
    };
    project.putPresence(row);
    this.onExpiry(row.expiresAt);
    this.publish(project, 'upsert', row, row.source === 'realtime' ? realtimePresencePayload(row) : presenceModel(row));
    return row;
  }

  /** PATCH: a sparse update; returns the row unchanged (and publishes nothing) when nothing was asked. */
  update(project: Project, actor: Actor, id: string, patch: PatchInput): PresenceRow {
    const row = this.visible(project, actor, id);
    let owner = row.userId;
    if (patch.userId !== undefined && patch.userId !== row.userId) {
      if (!project.users.has(patch.userId)) throw userNotFound();
      if (project.presenceByUser.has(patch.userId)) throw presenceAlreadyExists(row.id);
      owner = patch.userId;
    }
    if (Object.values(patch).every((value) => value === undefined)) return row;
    if (actor.kind === 'user' && !allows(row.permissions, 'update', actor.roles)) throw userUnauthorized();
    checkColumns(patch.status ?? row.status, patch.metadata ?? row.metadata);
    const permissions =
      patch.permissions !== undefined
        ? this.grant(actor, owner, patch.permissions)
        : owner !== row.userId
          ? ownerPermissions(owner)
          : row.permissions;
    const next: PresenceRow = {
      ...row,
      userId: owner,
      status: patch.status ?? row.status,
      expiresAt: patch.expiresAt ?? row.expiresAt,
      metadata: patch.metadata ?? row.metadata,
      permissions,
      updatedAt: this.clock.now(),
    };
    project.putPresence(next);
    this.onExpiry(next.expiresAt);
    this.publish(project, 'update', next, presenceModel(next));
    return next;
  }

  /** DELETE ignores expiry: an expired row that is not purged yet can still be deleted. */
  remove(project: Project, actor: Actor, id: string): void {
    const row = project.presences.get(id);
    if (!row || !readable(actor, row)) throw presenceNotFound();
    if (actor.kind === 'user' && !allows(row.permissions, 'delete', actor.roles)) throw userUnauthorized();
    project.deletePresence(id);
    this.publish(project, 'delete', row, presenceModel(row));
  }

  get(project: Project, actor: Actor, id: string): PresenceRow {
    return this.visible(project, actor, id);
  }

  list(project: Project, actor: Actor, queries: unknown): { rows: PresenceRow[]; total: number } {
    const plan = parseListQueries(queries, SCHEMA, (row) => row.sequence);
    const now = this.clock.now();
    const readableRows = [...project.presences.values()].filter((row) => readable(actor, row));
    let cursorRow: PresenceRow | undefined;
    if (plan.cursor) {
      cursorRow = readableRows.find((row) => row.id === plan.cursor!.id);
      if (!cursorRow)
        throw new AppwriteError(400, 'general_cursor_not_found', `Presence '${plan.cursor.id}' for the 'cursor' value not found.`);
    }
    const live = readableRows.filter((row) => row.expiresAt === null || row.expiresAt > now);
    const { page, total } = runList(live, plan, cursorRow);
    return { rows: page, total };
  }

  /**
   * A socket closed: delete every row it still tracks, whoever owns it now and whatever its
   * permissions (authorization is skipped), and announce each with the socket's own snapshot,
   * routed by the snapshot's read permissions. Rows already gone produce nothing.
   */
  releaseTracked(project: Project, tracked: ReadonlyMap<string, Record<string, unknown>>): void {
    for (const [id, snapshot] of [...tracked]) {
      if (!project.deletePresence(id)) continue;
      const permissions = Array.isArray(snapshot.$permissions) ? (snapshot.$permissions as string[]) : [];
      this.bus.publishPresence(project, 'delete', id, snapshot, permissions);
    }
  }

  /** Remove rows expired at `now`; announce them only when expiry events are on (Appwrite Cloud). */
  expire(project: Project, now: number, announce: boolean): void {
    for (const row of [...project.presences.values()]) {
      if (row.expiresAt === null || row.expiresAt > now) continue;
      project.deletePresence(row.id);
      if (announce) this.publish(project, 'delete', row, presenceModel(row));
    }
  }

  /** The effective permissions of a write: the owner default, or the requested list aggregated. */
  private grant(actor: Actor, ownerId: string, requested: string[] | undefined): string[] {
    if (requested === undefined) return ownerPermissions(ownerId);
    const permissions = aggregate(requested);
    if (actor.kind === 'user') assertGrantable(permissions, actor.roles);
    return permissions;
  }

  private visible(project: Project, actor: Actor, id: string): PresenceRow {
    const row = project.presences.get(id);
    if (!row || !readable(actor, row) || (row.expiresAt !== null && row.expiresAt < this.clock.now())) throw presenceNotFound();
    return row;
  }

  private publish(project: Project, action: PresenceAction, row: PresenceRow, payload: Record<string, unknown>): void {
    this.bus.publishPresence(project, action, row.id, payload, row.permissions);
  }
}

function readable(actor: Actor, row: PresenceRow): boolean {
  return actor.kind === 'key' || allows(row.permissions, 'read', actor.roles);
}

/** What the database's structure validator would refuse (status column width, metadata TEXT size). */
function checkColumns(status: string | null, metadata: unknown): void {
  if (status !== null && codePoints(status) > STATUS_COLUMN)
    throw documentInvalidStructure(`Attribute "status" has invalid type. Value must be a valid string and no longer than ${STATUS_COLUMN} chars`);
  if (metadata !== undefined && storedJsonLength(metadata) > METADATA_COLUMN)
    throw documentInvalidStructure(`Attribute "metadata" has invalid type. Value must be a valid string and no longer than ${METADATA_COLUMN} chars`);
}

/**
 * Length of the stored JSON as PHP's `json_encode` writes it (the `json` filter): every non-ASCII
 * UTF-16 unit becomes a 6-char `\uXXXX` escape and `/` becomes `\/`. So the 64 KB limit is
 * measured as the real server measures it, which is stricter than UTF-8 bytes for non-ASCII text.
 */
function storedJsonLength(value: unknown): number {
  const json = JSON.stringify(value) ?? 'null';
  let length = 0;
  for (let i = 0; i < json.length; i++) {
    const unit = json.charCodeAt(i);
    length += unit > 0x7f ? 6 : unit === 0x2f ? 2 : 1;
  }
  return length;
}
