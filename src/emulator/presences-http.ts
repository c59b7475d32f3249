/**
 * The five REST presence routes (spec §3): parameter validation in Appwrite's order and wording,
 * the caller rules on `userId` (refused from sessions, required from keys, must name a user), and
 * the fault hook that fails writes. The rules themselves live in presences.ts.
 */
import { authorizationRoles, type Caller } from './auth.js';
import { AppwriteError, userNotFound } from './errors.js';
import type { Faults } from './faults.js';
import type { Reply } from './http.js';
import { presenceModel } from './models.js';
import { Params } from './params.js';
import { permissionsParam } from './permissions.js';
import type { Actor, PresenceService } from './presences.js';
import type { Route } from './routes.js';
import type { PresenceSource, Project, User } from './state.js';
import { boolean, futureDate, jsonObject, range, text, uid } from './validators.js';

const DEFAULT_REST_EXPIRY_MS = 15 * 60_000;
const MAX_EXPIRY_AHEAD_MS = 30 * 24 * 60 * 60_000;

export function presenceRoutes(presences: PresenceService, faults: Faults): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/presences',
      scope: 'presences.read',
      handle: ({ project, caller, params }) => {
        const total = params.optional('total', boolean()) ?? true;
        // `ttl` asks Appwrite to cache the list; it is validated, but the emulator never caches.
        params.optional('ttl', range(0, 86_400));
        const result = presences.list(project, actorOf(project, caller), params.raw('queries'));
        return ok({ total: total ? result.total : 0, presences: result.rows.map(presenceModel) });
      },
    },
    {
      method: 'GET',
      path: '/v1/presences/:presenceId',
      scope: 'presences.read',
      handle: ({ project, caller, path }) => ok(presenceModel(presences.get(project, actorOf(project, caller), presenceId(path)))),
    },
    {
      method: 'PUT',
      path: '/v1/presences/:presenceId',
      scope: 'presences.write',
      handle: (context) => {
        faults.maybeFailWrite();
        const { project, caller, params, path, now, headers } = context;
        const id = presenceId(path);
        const userId = params.optional('userId', uid());
        const status = params.required('status', text(255));
        const permissions = params.optional('permissions', permissionsParam());
        const expiresAt = params.optional('expiresAt', futureDate(now, MAX_EXPIRY_AHEAD_MS)) ?? now + DEFAULT_REST_EXPIRY_MS;
        const metadata = params.optional('metadata', jsonObject());
        const owner = ownerOf(project, caller, userId);
        // The GraphQL resolver marks its calls with this header; the row then records `graphql`.
        const source: PresenceSource = headers['x-appwrite-source'] === 'graphql' ? 'graphql' : 'rest';
        const row = presences.upsert(project, actorOf(project, caller), owner, { presenceId: id, status, permissions, expiresAt, metadata, source });
        return ok(presenceModel(row));
      },
    },
    {
      method: 'PATCH',
      path: '/v1/presences/:presenceId',
      scope: 'presences.write',
      handle: ({ project, caller, params, path, now }) => {
        faults.maybeFailWrite();
        const id = presenceId(path);
        const userId = params.optional('userId', uid());
        const patch = {
          status: params.optional('status', text(255)),
          expiresAt: params.optional('expiresAt', futureDate(now, MAX_EXPIRY_AHEAD_MS)),
          metadata: params.optional('metadata', jsonObject()),
          permissions: params.optional('permissions', permissionsParam()),
        };
        // `purge` only empties the list cache, which the emulator does not keep (lists are always fresh).
        params.optional('purge', boolean());
        if (userId !== undefined) refuseSessionUserId(caller);
        return ok(presenceModel(presences.update(project, actorOf(project, caller), id, { ...patch, userId })));
      },
    },
    {
      method: 'DELETE',
      path: '/v1/presences/:presenceId',
      scope: 'presences.write',
      handle: ({ project, caller, path }) => {
        faults.maybeFailWrite();
        presences.remove(project, actorOf(project, caller), presenceId(path));
        return { status: 204 };
      },
    },
  ];
}

const ok = (body: unknown): Reply => ({ status: 200, body });

function presenceId(path: Record<string, string>): string {
  return Params.rest(path).required('presenceId', uid());
}

function actorOf(project: Project, caller: Caller): Actor {
  if (caller.kind === 'key') return { kind: 'key' };
  if (caller.kind === 'user') return { kind: 'user', user: caller.user, roles: authorizationRoles(project, caller.user) };
  // Unreachable: the presence scopes keep guests out before any handler runs.
  throw new AppwriteError(401, 'general_unauthorized_scope', 'User (role: guests) missing scopes (["presences.read"])');
}

function refuseSessionUserId(caller: Caller): void {
  if (caller.kind !== 'key')
    throw new AppwriteError(401, 'general_unauthorized_scope', 'userId is not allowed for non-API key and non-privileged users');
}

/** The row's owner: the session user, or for a key the (existing) user it names. */
function ownerOf(project: Project, caller: Caller, userId: string | undefined): User {
  if (caller.kind === 'user') {
    if (userId !== undefined) refuseSessionUserId(caller);
    return caller.user;
  }
  if (userId === undefined) throw new AppwriteError(400, 'general_bad_request', 'userId is required for API key authentication');
  const user = project.users.get(userId);
  if (!user) throw userNotFound();
  return user;
}
