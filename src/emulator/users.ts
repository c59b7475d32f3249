/**
 * The two Users routes an API key needs to prepare data (node-appwrite `users.create` / `users.get`):
 * presence upserts by key must name an existing user, and tests create many users this way.
 */
import { hashPassword } from './auth.js';
import { AppwriteError, userNotFound } from './errors.js';
import { uniqueId } from './format.js';
import { accountModel } from './models.js';
import type { Route } from './routes.js';
import type { User } from './state.js';
import { customId, email, password, text } from './validators.js';

export function userRoutes(): Route[] {
  return [
    {
      method: 'POST',
      path: '/v1/users',
      scope: 'users.write',
      handle: ({ project, params, now }) => {
        const id = params.required('userId', customId()) ?? uniqueId(now);
        const address = params.optional('email', email()) ?? '';
        const secret = params.optional('password', password());
        const name = params.optional('name', text(128)) ?? '';
        if (project.users.has(id) || (address !== '' && project.userByEmail(address)))
          throw new AppwriteError(409, 'user_already_exists', 'A user with the same id, email, or phone already exists in this project.');
        const user: User = {
          id,
          createdAt: now,
          updatedAt: now,
          name,
          email: address,
          password: secret === undefined ? null : hashPassword(secret),
          accessedAt: now,
        };
        project.users.set(id, user);
        return { status: 201, body: accountModel(user) };
      },
    },
    {
      method: 'GET',
      path: '/v1/users/:userId',
      scope: 'users.read',
      handle: ({ project, path }) => {
        const user = project.users.get(path.userId!);
        if (!user) throw userNotFound();
        return { status: 200, body: accountModel(user) };
      },
    },
  ];
}
