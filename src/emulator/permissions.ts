/**
 * Document permissions as utopia-php/database has them: `action("role")` strings, validated by
 * `Permissions(100, [read, update, delete, write])`, aggregated (`write` → update + delete, no
 * duplicates), sorted, and checked against a caller's roles. `any` matches everybody; a role
 * is otherwise matched as an exact string (`user:u1`, `team:t1/owner`, `users/unverified`).
 */
import { userUnauthorized } from './errors.js';
import { isKey, type Parsed, type Validator } from './validators.js';

export type Action = 'read' | 'update' | 'delete';

const PRESENCE_ACTIONS = ['read', 'update', 'delete', 'write'];
const MAX_PERMISSIONS = 100;

interface RoleShape {
  identifier: 'forbidden' | 'required';
  dimension: 'forbidden' | 'user' | 'any';
}

// utopia `Roles::CONFIG` (plus `label`, which Appwrite adds for user labels).
const ROLES: Record<string, RoleShape> = {
  any: { identifier: 'forbidden', dimension: 'forbidden' },
  guests: { identifier: 'forbidden', dimension: 'forbidden' },
  users: { identifier: 'forbidden', dimension: 'user' },
  user: { identifier: 'required', dimension: 'user' },
  team: { identifier: 'required', dimension: 'any' },
  member: { identifier: 'required', dimension: 'forbidden' },
  label: { identifier: 'required', dimension: 'forbidden' },
};
const ROLE_NAMES = Object.keys(ROLES).join(', ');
const KEY_DESCRIPTION =
  "Parameter must contain at most 36 chars. Valid chars are a-z, A-Z, 0-9, period, hyphen, and underscore. Can't start with a special char";

/** Why a permission string is invalid (utopia's messages), or null when it is valid. */
function permissionProblem(permission: unknown): string | null {
  if (typeof permission !== 'string') return 'Every permission must be of type string.';
  if (permission === '*') return 'Wildcard permission "*" has been replaced. Use "any" instead.';
  if (permission.includes('role:'))
    return 'Permissions using the "role:" prefix have been replaced. Use "users", "guests", or "any" instead.';
  if (!PRESENCE_ACTIONS.some((action) => permission.startsWith(action)))
    return `Permission "${permission}" is not allowed. Must be one of: ${PRESENCE_ACTIONS.join(', ')}.`;
  const match = /^([a-z]+)\("(.*)"\)$/.exec(permission);
  if (!match) return `Invalid permission string format: "${permission}".`;
  if (!PRESENCE_ACTIONS.includes(match[1]!)) return `Invalid permission type: "${match[1]}".`;
  return roleProblem(match[2]!);
}

function roleProblem(role: string): string | null {
  const [head, dimension = ''] = splitOnce(role, '/');
  const [name, identifier = ''] = splitOnce(head, ':');
  const shape = ROLES[name];
  if (!shape) return `Role "${name}" is not allowed. Must be one of: ${ROLE_NAMES}.`;
  if (shape.identifier === 'forbidden' && identifier) return `Role "${name}" can not have an ID value.`;
  if (shape.identifier === 'required' && !identifier) return `Role "${name}" must have an ID value.`;
  if (identifier && !isKey(identifier, 255)) return `Role "${name}" identifier value is invalid: ${KEY_DESCRIPTION}`;
  if (!dimension) return null;
  if (shape.dimension === 'forbidden') return `Role "${name}" can not have a dimension value.`;
  if (shape.dimension === 'user' && dimension !== 'verified' && dimension !== 'unverified')
    return `Role "${name}" dimension value is invalid. Must be one of: verified, unverified.`;
  if (!isKey(dimension, 255)) return `Role "${name}" dimension value is invalid: ${KEY_DESCRIPTION}`;
  return null;
}

function splitOnce(text: string, separator: string): [string, string?] {
  const at = text.indexOf(separator);
  return at < 0 ? [text] : [text.slice(0, at), text.slice(at + 1)];
}

/** The `permissions` parameter validator of the presence routes and the realtime `presence` message. */
export function permissionsParam(): Validator<string[]> {
  return {
    parse: (value): Parsed<string[]> => {
      if (!Array.isArray(value)) return { ok: false, description: 'Permissions must be an array of strings.' };
      if (value.length > MAX_PERMISSIONS)
        return { ok: false, description: `You can only provide up to ${MAX_PERMISSIONS} permissions.` };
      for (const permission of value) {
        const problem = permissionProblem(permission);
        if (problem) return { ok: false, description: problem };
      }
      return { ok: true, value: value as string[] };
    },
  };
}

/** Parse a valid permission string into its action and role. */
function parse(permission: string): { action: string; role: string } {
  const match = /^([a-z]+)\("(.*)"\)$/.exec(permission)!;
  return { action: match[1]!, role: match[2]! };
}

/** utopia `Permission::aggregate`: `write` becomes update + delete; duplicates go; the list is sorted. */
export function aggregate(permissions: string[]): string[] {
  const out = new Set<string>();
  for (const permission of permissions) {
    const { action, role } = parse(permission);
    if (action === 'write') {
      out.add(`update("${role}")`);
      out.add(`delete("${role}")`);
    } else {
      out.add(permission);
    }
  }
  return [...out].sort();
}

/** The owner-only default: read, update, delete and the literal write entry (spec §3.1, sorted). */
export function ownerPermissions(userId: string): string[] {
  return ['read', 'update', 'delete', 'write'].map((action) => `${action}("user:${userId}")`).sort();
}

/** Roles granted `action` by a permission list (`write` grants update and delete). */
export function rolesFor(permissions: readonly string[], action: Action): string[] {
  const roles: string[] = [];
  for (const permission of permissions) {
    const parsed = parse(permission);
    if (parsed.action === action || (parsed.action === 'write' && action !== 'read')) roles.push(parsed.role);
  }
  return roles;
}

/** Whether a caller holding `roles` may perform `action` on a document with these permissions. */
export function allows(permissions: readonly string[], action: Action, roles: readonly string[]): boolean {
  const granted = rolesFor(permissions, action);
  return granted.includes('any') || granted.some((role) => roles.includes(role));
}

/**
 * A session caller may only grant roles it holds itself (Appwrite's check in State::setPermissions);
 * API keys may grant anything and skip this.
 */
export function assertGrantable(permissions: readonly string[], callerRoles: readonly string[]): void {
  for (const permission of permissions) {
    if (!callerRoles.includes(parse(permission).role)) {
      throw userUnauthorized(`Permissions must be one of: (${callerRoles.join(', ')})`);
    }
  }
}
