/**
 * The shape every REST route shares. A route names its method, path pattern and scope; the server
 * resolves the project and the caller and checks the scope BEFORE the handler validates anything
 * (utopia runs the auth hooks before the action), so a guest hears 401 whatever it sent. Handlers
 * are synchronous: all state is in memory, so one request's effects never interleave with another's.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Caller, Scope } from './auth.js';
import type { Reply } from './http.js';
import type { Params } from './params.js';
import type { Project } from './state.js';

export interface RequestContext {
  project: Project;
  caller: Caller;
  /** Body parameters (JSON) for writes, query-string parameters for reads. */
  params: Params;
  /** Path parameters, percent-decoded. */
  path: Record<string, string>;
  headers: IncomingHttpHeaders;
  ip: string;
  now: number;
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** `/v1/presences/:presenceId` */
  path: string;
  scope: Scope;
  handle(context: RequestContext): Reply;
}

/** Match a path against a pattern; returns the decoded path parameters or null. */
export function matchPath(pattern: string, pathname: string): Record<string, string> | null {
  const expected = pattern.split('/');
  const actual = pathname.split('/');
  if (expected.length !== actual.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < expected.length; i++) {
    const part = expected[i]!;
    const value = actual[i]!;
    if (part.startsWith(':')) {
      if (value === '') return null;
      params[part.slice(1)] = decode(value);
    } else if (part !== value) {
      return null;
    }
  }
  return params;
}

/** A segment that is not valid percent-encoding stays raw; the parameter's validator then refuses it. */
function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
