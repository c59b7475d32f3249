/**
 * Teams (what presence scoping needs): create (the creating user becomes a member with the given
 * roles, `owner` by default), list mine, get, list memberships, and an API-key call that adds a
 * user directly (a confirmed membership; e-mail invitations are not emulated). Memberships give
 * the roles `team:<id>`, `team:<id>/<role>` and `member:<id>`; a change re-routes the user's open
 * realtime connections at once.
 */
import { AppwriteError, argumentInvalid, teamNotFound, userNotFound } from './errors.js';
import { uniqueId } from './format.js';
import { membershipModel, teamModel } from './models.js';
import { parseListQueries, runList, type Schema } from './queries.js';
import type { RequestContext, Route } from './routes.js';
import type { Membership, Project, Team, User } from './state.js';
import { customId, email, stringList, text, uid } from './validators.js';

const TEAM_SCHEMA: Schema<Team> = {
  $id: { type: 'string', read: (team) => team.id },
  name: { type: 'string', read: (team) => team.name },
  $createdAt: { type: 'datetime', read: (team) => team.createdAt },
  $updatedAt: { type: 'datetime', read: (team) => team.updatedAt },
};

export function teamRoutes(onRolesChanged: (project: Project, userId: string) => void): Route[] {
  return [
    {
      method: 'POST',
      path: '/v1/teams',
      scope: 'teams.write',
      handle: ({ project, caller, params, now }) => {
        const id = params.required('teamId', customId()) ?? uniqueId(now);
        const name = params.required('name', text(128));
        const roles = params.optional('roles', stringList(100, 32)) ?? ['owner'];
        if (project.teams.has(id)) throw new AppwriteError(409, 'team_already_exists', 'A team with the same ID already exists in your project.');
        const team: Team = { id, name, createdAt: now, updatedAt: now };
        project.teams.set(id, team);
        if (caller.kind === 'user') {
          addMember(project, team, caller.user, roles, now);
          onRolesChanged(project, caller.user.id);
        }
        return { status: 201, body: teamModel(project, team) };
      },
    },
    {
      method: 'GET',
      path: '/v1/teams',
      scope: 'teams.read',
      handle: ({ project, caller, params }) => {
        const search = params.optional('search', text(256, 0)) ?? '';
        const teams = [...project.teams.values()];
        const mine = teams.filter((team) => caller.kind === 'key' || (caller.kind === 'user' && isMember(project, team.id, caller.user.id)));
        // Teams have no sequence of their own; creation order (the map's order) stands in for it.
        const position = new Map(teams.map((team, index) => [team.id, index]));
        const plan = parseListQueries(params.raw('queries'), TEAM_SCHEMA, (team) => position.get(team.id)!);
        const cursorRow = plan.cursor ? mine.find((team) => team.id === plan.cursor!.id) : undefined;
        if (plan.cursor && !cursorRow)
          throw new AppwriteError(400, 'general_cursor_not_found', `Team '${plan.cursor.id}' for the 'cursor' value not found.`);
        const { page, total } = runList(mine.filter((team) => team.name.includes(search)), plan, cursorRow);
        return { status: 200, body: { total, teams: page.map((team) => teamModel(project, team)) } };
      },
    },
    {
      method: 'GET',
      path: '/v1/teams/:teamId',
      scope: 'teams.read',
      handle: (context) => ({ status: 200, body: teamModel(context.project, visibleTeam(context)) }),
    },
    {
      method: 'GET',
      path: '/v1/teams/:teamId/memberships',
      scope: 'teams.read',
      handle: (context) => {
        const team = visibleTeam(context);
        const memberships = context.project.membersOf(team.id).map((membership) => membershipModel(context.project, membership));
        return { status: 200, body: { total: memberships.length, memberships } };
      },
    },
    {
      method: 'POST',
      path: '/v1/teams/:teamId/memberships',
      scope: 'teams.write',
      handle: ({ project, caller, params, path, now }) => {
        if (caller.kind !== 'key')
          throw new AppwriteError(405, 'general_not_implemented', 'Invitations by e-mail are not emulated; add members with an API key.');
        const team = project.teams.get(path.teamId!);
        const roles = params.required('roles', stringList(100, 81));
        const userId = params.optional('userId', uid());
        const address = params.optional('email', email());
        const name = params.optional('name', text(128));
        if (!team) throw teamNotFound();
        const user = memberToAdd(project, userId, address, name, now);
        if (isMember(project, team.id, user.id))
          throw new AppwriteError(409, 'team_invite_already_exists', 'User has already been invited or is already a member of this team');
        const membership = addMember(project, team, user, roles, now);
        onRolesChanged(project, user.id);
        return { status: 201, body: membershipModel(project, membership) };
      },
    },
  ];
}

const isMember = (project: Project, teamId: string, userId: string): boolean =>
  project.membersOf(teamId).some((membership) => membership.userId === userId);

/** A team the caller may see: any team for a key, the caller's own teams for a user. */
function visibleTeam({ project, caller, path }: RequestContext): Team {
  const team = project.teams.get(path.teamId!);
  if (!team || (caller.kind !== 'key' && !(caller.kind === 'user' && isMember(project, team.id, caller.user.id)))) throw teamNotFound();
  return team;
}

/** The user a key adds: by id (must exist), or by e-mail, creating the account as Appwrite does. */
function memberToAdd(project: Project, userId: string | undefined, address: string | undefined, name: string | undefined, now: number): User {
  if (userId !== undefined) {
    const user = project.users.get(userId);
    if (!user) throw userNotFound();
    return user;
  }
  if (address === undefined) throw argumentInvalid('At least one of userId, email, or phone is required');
  const existing = project.userByEmail(address);
  if (existing) return existing;
  const user: User = { id: uniqueId(now), createdAt: now, updatedAt: now, name: name ?? '', email: address, password: null, accessedAt: now };
  project.users.set(user.id, user);
  return user;
}

function addMember(project: Project, team: Team, user: User, roles: string[], now: number): Membership {
  const membership: Membership = { id: uniqueId(now), teamId: team.id, userId: user.id, roles, createdAt: now, updatedAt: now, invited: now, joined: now };
  project.memberships.set(membership.id, membership);
  team.updatedAt = now;
  return membership;
}
