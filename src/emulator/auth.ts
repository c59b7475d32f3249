/**
 * Who is calling. One session token format everywhere — `base64(JSON {id, secret})`, utopia
 * `Store::encode` — read from the `a_session_<project>` cookie (or its `_legacy` twin), then
 * `X-Appwrite-Session`, then the `X-Fallback-Cookies` JSON, in that order (spec §2.1); the first
 * source that decodes wins even if its session is invalid, which makes the caller a guest. A
 * matching `X-Appwrite-Key` makes the caller the project key, which holds every scope but `account`.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { AppwriteError } from './errors.js';
import type { Project, Session, User } from './state.js';

export type Caller =
  | { kind: 'guest' }
  | { kind: 'user'; user: User; session: Session }
  | { kind: 'key' };

export type Scope =
  | 'account'
  | 'sessions.write'
  | 'teams.read'
  | 'teams.write'
  | 'presences.read'
  | 'presences.write'
  | 'users.read'
  | 'users.write';

const GUEST_SCOPES: readonly Scope[] = ['sessions.write'];
const USER_SCOPES: readonly Scope[] = ['account', 'sessions.write', 'teams.read', 'teams.write', 'presences.read', 'presences.write'];
const KEY_SCOPES: readonly Scope[] = ['sessions.write', 'teams.read', 'teams.write', 'presences.read', 'presences.write', 'users.read', 'users.write'];

export const cookieName = (projectId: string): string => `a_session_${projectId}`;

export function encodeToken(userId: string, secret: string): string {
  return Buffer.from(JSON.stringify({ id: userId, secret })).toString('base64');
}

function decodeToken(token: unknown): { id: string; secret: string } | null {
  if (typeof token !== 'string' || token === '') return null;
  try {
    const decoded: unknown = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
    if (typeof decoded !== 'object' || decoded === null) return null;
    const { id, secret } = decoded as Record<string, unknown>;
    return typeof id === 'string' && typeof secret === 'string' && id !== '' && secret !== '' ? { id, secret } : null;
  } catch {
    return null;
  }
}

export const newSecret = (): string => randomBytes(32).toString('hex');

/** The session a token names, when it exists, matches and has not expired. */
export function sessionForToken(project: Project, token: unknown, now: number): { user: User; session: Session } | null {
  const decoded = decodeToken(token);
  if (!decoded) return null;
  for (const session of project.sessions.values()) {
    if (session.userId !== decoded.id || session.expire <= now || !sameSecret(session.secret, decoded.secret)) continue;
    const user = project.users.get(session.userId);
    return user ? { user, session } : null;
  }
  return null;
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0) cookies.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  return cookies;
}

function fallbackCookie(header: string | string[] | undefined, name: string): unknown {
  if (typeof header !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(header);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>)[name] : undefined;
  } catch {
    return undefined;
  }
}

/** The first session token source that decodes, in Appwrite's precedence. */
export function tokenFromHeaders(headers: IncomingHttpHeaders, projectId: string): string | null {
  const name = cookieName(projectId);
  const cookies = parseCookies(headers.cookie);
  const candidates = [
    cookies.get(name) ?? cookies.get(`${name}_legacy`),
    headers['x-appwrite-session'],
    fallbackCookie(headers['x-fallback-cookies'], name),
  ];
  for (const candidate of candidates) if (decodeToken(candidate)) return candidate as string;
  return null;
}

export function callerFromHeaders(
  project: Project,
  headers: IncomingHttpHeaders,
  apiKey: string | null,
  now: number,
): Caller {
  const key = headers['x-appwrite-key'];
  if (apiKey !== null && typeof key === 'string' && sameSecret(key, apiKey)) return { kind: 'key' };
  const found = sessionForToken(project, tokenFromHeaders(headers, project.id), now);
  return found ? { kind: 'user', ...found } : { kind: 'guest' };
}

/**
 * A user's document roles (Appwrite `User::getRoles`): users and user:<id>, the verification
 * dimension (never verified here: no emails are sent), then team:<t>, team:<t>/<role>, member:<m>.
 */
export function userRoles(project: Project, user: User): string[] {
  const roles = ['users', `user:${user.id}`, `user:${user.id}/unverified`, 'users/unverified'];
  for (const membership of project.membershipsOf(user.id)) {
    roles.push(`team:${membership.teamId}`);
    for (const role of membership.roles) roles.push(`team:${membership.teamId}/${role}`);
    roles.push(`member:${membership.id}`);
  }
  return roles;
}

/** Roles a user holds for permission checks: the authorization object always adds `any`. */
export function authorizationRoles(project: Project, user: User): string[] {
  return ['any', ...userRoles(project, user)];
}

export function requireScope(caller: Caller, scope: Scope, projectId: string): void {
  const scopes = caller.kind === 'key' ? KEY_SCOPES : caller.kind === 'user' ? USER_SCOPES : GUEST_SCOPES;
  if (scopes.includes(scope)) return;
  const who =
    caller.kind === 'key'
      ? `app.${projectId}@service.localhost (role: applications)`
      : caller.kind === 'user'
        ? `${caller.user.email || 'User'} (role: users)`
        : 'User (role: guests)';
  throw new AppwriteError(401, 'general_unauthorized_scope', `${who} missing scopes (${JSON.stringify([scope])})`);
}

export function hashPassword(password: string, salt = randomBytes(16).toString('hex')): { salt: string; hash: string } {
  return { salt, hash: createHash('sha256').update(salt).update(password).digest('hex') };
}

export function passwordMatches(user: User, password: string): boolean {
  return user.password !== null && sameSecret(hashPassword(password, user.password.salt).hash, user.password.hash);
}
