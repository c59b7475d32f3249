/**
 * Account routes (spec §9): create a user, email-password and anonymous sessions, get, update
 * name, list / get / delete sessions. Creating a session sets the `a_session_<project>` cookie
 * (SameSite=None) and its `_legacy` twin (no SameSite: browsers drop SameSite=None cookies on plain
 * http, so the twin is the one that works on 127.0.0.1), and always answers `X-Fallback-Cookies`
 * (spec §9.1: always true for localhost). No session may be created while one is active.
 */
import { cookieName, encodeToken, hashPassword, newSecret, passwordMatches, type Caller } from './auth.js';
import { AppwriteError } from './errors.js';
import { uniqueId } from './format.js';
import type { Reply } from './http.js';
import { accountModel, sessionModel } from './models.js';
import type { RequestContext, Route } from './routes.js';
import type { Project, Session, User } from './state.js';
import { customId, email, password, text } from './validators.js';

const SESSION_LIFETIME_MS = 365 * 24 * 60 * 60_000;

export function accountRoutes(): Route[] {
  return [
    {
      method: 'POST',
      path: '/v1/account',
      scope: 'sessions.write',
      handle: ({ project, params, now }) => {
        const requestedId = params.required('userId', customId());
        const address = params.required('email', email());
        const secret = params.required('password', password());
        const name = params.optional('name', text(128)) ?? '';
        const id = requestedId ?? uniqueId(now);
        if (project.users.has(id) || project.userByEmail(address))
          throw new AppwriteError(409, 'user_already_exists', 'A user with the same id, email, or phone already exists in this project.');
        const user: User = { id, createdAt: now, updatedAt: now, name, email: address, password: hashPassword(secret), accessedAt: now };
        project.users.set(id, user);
        return { status: 201, body: accountModel(user) };
      },
    },
    {
      method: 'POST',
      path: '/v1/account/sessions/email',
      scope: 'sessions.write',
      handle: (context) => {
        refuseActiveSession(context.caller);
        const address = context.params.required('email', email());
        const secret = context.params.required('password', password());
        const user = context.project.userByEmail(address);
        if (!user || !passwordMatches(user, secret))
          throw new AppwriteError(401, 'user_invalid_credentials', 'Invalid credentials. Please check the email and password.');
        return startSession(context, user, 'email');
      },
    },
    {
      method: 'POST',
      path: '/v1/account/sessions/anonymous',
      scope: 'sessions.write',
      handle: (context) => {
        refuseActiveSession(context.caller);
        const { project, now } = context;
        const user: User = { id: uniqueId(now), createdAt: now, updatedAt: now, name: null, email: '', password: null, accessedAt: now };
        project.users.set(user.id, user);
        return startSession(context, user, 'anonymous');
      },
    },
    {
      method: 'GET',
      path: '/v1/account',
      scope: 'account',
      handle: ({ caller }) => ({ status: 200, body: accountModel(signedIn(caller).user) }),
    },
    {
      method: 'PATCH',
      path: '/v1/account/name',
      scope: 'account',
      handle: ({ caller, params, now }) => {
        const { user } = signedIn(caller);
        user.name = params.required('name', text(128));
        user.updatedAt = now;
        return { status: 200, body: accountModel(user) };
      },
    },
    {
      method: 'GET',
      path: '/v1/account/sessions',
      scope: 'account',
      handle: ({ project, caller }) => {
        const { user, session: current } = signedIn(caller);
        const sessions = sessionsOf(project, user).map((session) => sessionModel(session, session.id === current.id, false));
        return { status: 200, body: { total: sessions.length, sessions } };
      },
    },
    {
      method: 'GET',
      path: '/v1/account/sessions/:sessionId',
      scope: 'account',
      handle: ({ project, caller, path }) => {
        const session = ownSession(project, caller, path.sessionId!);
        return { status: 200, body: sessionModel(session, session.id === signedIn(caller).session.id, false) };
      },
    },
    {
      method: 'DELETE',
      path: '/v1/account/sessions/:sessionId',
      scope: 'account',
      handle: ({ project, caller, path }) => {
        const session = ownSession(project, caller, path.sessionId!);
        project.sessions.delete(session.id);
        return session.id === signedIn(caller).session.id ? signedOut(project) : { status: 204 };
      },
    },
    {
      method: 'DELETE',
      path: '/v1/account/sessions',
      scope: 'account',
      handle: ({ project, caller }) => {
        for (const session of sessionsOf(project, signedIn(caller).user)) project.sessions.delete(session.id);
        return signedOut(project);
      },
    },
  ];
}

function signedIn(caller: Caller): { user: User; session: Session } {
  // The `account` scope is only held by session callers, so this holds after the scope check.
  if (caller.kind !== 'user') throw new AppwriteError(401, 'general_unauthorized_scope', 'User (role: guests) missing scopes (["account"])');
  return caller;
}

function refuseActiveSession(caller: Caller): void {
  if (caller.kind === 'user')
    throw new AppwriteError(401, 'user_session_already_exists', 'Creation of a session is prohibited when a session is active.');
}

const sessionsOf = (project: Project, user: User): Session[] =>
  [...project.sessions.values()].filter((session) => session.userId === user.id);

function ownSession(project: Project, caller: Caller, sessionId: string): Session {
  const { user, session: current } = signedIn(caller);
  const session = sessionId === 'current' ? current : project.sessions.get(sessionId);
  if (!session || session.userId !== user.id)
    throw new AppwriteError(404, 'user_session_not_found', 'The current user session could not be found.');
  return session;
}

function startSession({ project, caller, ip, now }: RequestContext, user: User, provider: Session['provider']): Reply {
  const session: Session = {
    id: uniqueId(now),
    userId: user.id,
    secret: newSecret(),
    provider,
    providerUid: provider === 'email' ? user.email : '',
    createdAt: now,
    expire: now + SESSION_LIFETIME_MS,
    ip,
  };
  project.sessions.set(session.id, session);
  user.accessedAt = now;
  const token = encodeToken(user.id, session.secret);
  const name = cookieName(project.id);
  const expires = new Date(session.expire).toUTCString();
  return {
    status: 201,
    body: sessionModel(session, true, caller.kind === 'key'),
    headers: {
      'Set-Cookie': [
        `${name}_legacy=${token}; Expires=${expires}; Path=/; HttpOnly`,
        `${name}=${token}; Expires=${expires}; Path=/; HttpOnly; SameSite=None`,
      ],
      'X-Fallback-Cookies': JSON.stringify({ [name]: token }),
    },
  };
}

function signedOut(project: Project): Reply {
  const name = cookieName(project.id);
  const past = new Date(0).toUTCString();
  return {
    status: 204,
    headers: {
      'Set-Cookie': [`${name}_legacy=; Expires=${past}; Path=/; HttpOnly`, `${name}=; Expires=${past}; Path=/; HttpOnly; SameSite=None`],
      'X-Fallback-Cookies': '[]',
    },
  };
}
