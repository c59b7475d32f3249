/**
 * Appwrite's error vocabulary. REST errors leave as `{message, code, type, version}` (the body
 * of app/controllers/general.php outside development mode: never a stack); realtime errors leave
 * as `{type: "error", data: {code, message}}`. Every failure the emulator reports is one of these.
 */

/** The server version Appwrite reports in error bodies (spec §2.3: APP_VERSION_STABLE). */
export const APPWRITE_VERSION = '1.9.6';

/** An error with Appwrite's HTTP status, error type and message. */
export class AppwriteError extends Error {
  constructor(
    readonly code: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
    this.name = 'AppwriteError';
  }
}

/** A realtime message error (codes 1003/1008/1013 or an HTTP-style code); `close` only for policy violations. */
export class RealtimeError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly close = code === 1008,
  ) {
    super(message);
    this.name = 'RealtimeError';
  }
}

export interface ErrorBody {
  message: string;
  code: number;
  type: string;
  version: string;
}

export function errorBody(error: AppwriteError): ErrorBody {
  return { message: error.message, code: error.code, type: error.type, version: APPWRITE_VERSION };
}

/** What an unexpected exception becomes on the wire: Appwrite hides 5xx details outside development. */
export const serverError = (): AppwriteError =>
  new AppwriteError(500, 'general_server_error', 'Server Error');

export const routeNotFound = (): AppwriteError =>
  new AppwriteError(404, 'general_route_not_found', 'The requested route was not found. Please refer to the API docs and try again.');

export const argumentInvalid = (message: string): AppwriteError =>
  new AppwriteError(400, 'general_argument_invalid', message);

export const queryInvalid = (reason: string): AppwriteError =>
  new AppwriteError(400, 'general_query_invalid', `Invalid query: ${reason}`);

export const projectUnknown = (): AppwriteError =>
  new AppwriteError(
    404,
    'project_not_found',
    'Project with the requested ID could not be found. Please check the value of the X-Appwrite-Project header to ensure the correct project ID is being used.',
  );

export const userUnauthorized = (message = 'The current user is not authorized to perform the requested action.'): AppwriteError =>
  new AppwriteError(401, 'user_unauthorized', message);

export const userNotFound = (): AppwriteError =>
  new AppwriteError(404, 'user_not_found', 'User with the requested ID could not be found.');

export const presenceNotFound = (): AppwriteError =>
  new AppwriteError(404, 'presence_not_found', 'Presence with the requested ID could not be found.');

export const presenceAlreadyExists = (id: string): AppwriteError =>
  new AppwriteError(
    409,
    'presence_already_exists',
    `Presence with the requested ID '${id}' already exists. Try again with a different ID or use ID.unique() to generate a unique ID.`,
  );

export const teamNotFound = (): AppwriteError =>
  new AppwriteError(404, 'team_not_found', 'Team with the requested ID could not be found.');

export const documentInvalidStructure = (detail: string): AppwriteError =>
  new AppwriteError(400, 'document_invalid_structure', `Invalid document structure: ${detail}`);
