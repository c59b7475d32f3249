/**
 * Response models: the exact keys, in order, that Appwrite's response models emit for the
 * resources we emulate. Internal fields (password hashes, secrets, sequences, internal ids) never
 * leave except where a model shows them (`$sequence` in realtime-originated presence payloads).
 */
import { formatTime } from './format.js';
import type { Membership, PresenceRow, Project, Session, Team, User } from './state.js';

export function accountModel(user: User): Record<string, unknown> {
  return {
    $id: user.id,
    $createdAt: formatTime(user.createdAt),
    $updatedAt: formatTime(user.updatedAt),
    name: user.name ?? '',
    registration: formatTime(user.createdAt),
    status: true,
    labels: [],
    passwordUpdate: user.password ? formatTime(user.createdAt) : '',
    email: user.email,
    phone: '',
    emailVerification: false,
    phoneVerification: false,
    mfa: false,
    prefs: {},
    targets: [],
    accessedAt: formatTime(user.accessedAt),
  };
}

export function sessionModel(session: Session, current: boolean, revealSecret: boolean): Record<string, unknown> {
  return {
    $id: session.id,
    $createdAt: formatTime(session.createdAt),
    $updatedAt: formatTime(session.createdAt),
    userId: session.userId,
    expire: formatTime(session.expire),
    provider: session.provider,
    providerUid: session.providerUid,
    providerAccessToken: '',
    providerAccessTokenExpiry: '',
    providerRefreshToken: '',
    ip: session.ip,
    osCode: '',
    osName: '',
    osVersion: '',
    clientType: '',
    clientCode: '',
    clientName: '',
    clientVersion: '',
    clientEngine: '',
    clientEngineVersion: '',
    deviceName: '',
    deviceBrand: '',
    deviceModel: '',
    countryCode: '--',
    countryName: 'Unknown',
    current,
    factors: [session.provider === 'anonymous' ? 'anonymous' : 'password'],
    secret: revealSecret ? session.secret : '',
    mfaUpdatedAt: '',
  };
}

export function teamModel(project: Project, team: Team): Record<string, unknown> {
  return {
    $id: team.id,
    $createdAt: formatTime(team.createdAt),
    $updatedAt: formatTime(team.updatedAt),
    name: team.name,
    total: project.membersOf(team.id).length,
    prefs: {},
  };
}

export function membershipModel(project: Project, membership: Membership): Record<string, unknown> {
  const user = project.users.get(membership.userId);
  return {
    $id: membership.id,
    $createdAt: formatTime(membership.createdAt),
    $updatedAt: formatTime(membership.updatedAt),
    userId: membership.userId,
    userName: user?.name ?? '',
    userEmail: user?.email ?? '',
    userPhone: '',
    teamId: membership.teamId,
    teamName: project.teams.get(membership.teamId)?.name ?? '',
    invited: formatTime(membership.invited),
    joined: formatTime(membership.joined),
    confirm: true,
    mfa: false,
    userAccessedAt: user ? formatTime(user.accessedAt) : '',
    roles: membership.roles,
  };
}

/**
 * Appwrite decodes stored JSON into PHP arrays, so an empty top-level metadata object comes back
 * as `[]` (spec §1.2, inferred; open question 9). We reproduce it so clients learn to accept both.
 */
function metadataOut(metadata: unknown): unknown {
  return typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata) && Object.keys(metadata).length === 0
    ? []
    : metadata;
}

/** The REST `Presence` model (spec §1.2): REST responses and REST-originated event payloads. */
export function presenceModel(row: PresenceRow): Record<string, unknown> {
  return {
    $id: row.id,
    $createdAt: formatTime(row.createdAt),
    $updatedAt: formatTime(row.updatedAt),
    $permissions: row.permissions,
    userId: row.userId,
    status: row.status,
    source: row.source,
    expiresAt: row.expiresAt === null ? null : formatTime(row.expiresAt),
    metadata: metadataOut(row.metadata),
  };
}

/**
 * The raw stripped document that realtime-originated payloads carry (spec §1.4): the model's keys
 * plus `$sequence`, which utopia documents include (open question 2; the SDK's type lists it).
 */
export function realtimePresencePayload(row: PresenceRow): Record<string, unknown> {
  const { $id, ...rest } = presenceModel(row);
  return { $id, $sequence: String(row.sequence), ...rest };
}
