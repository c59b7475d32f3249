/**
 * Errors as this library reads them, whatever threw them: an `Error`, Appwrite's
 * `AppwriteException` (`code`, `type`, `message`), a string, or anything else. Read in one place so
 * every message and every retry decision agrees.
 */

/** The human-readable message of anything thrown. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  if (typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string') {
    return (error as { message: string }).message;
  }
  return String(error);
}

/** The HTTP status an Appwrite error carries, if any. */
export function codeOf(error: unknown): number | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'number' ? code : undefined;
}

/** Appwrite's error `type` (e.g. `general_unauthorized_scope`), if any. */
export function typeOf(error: unknown): string | undefined {
  const type = typeof error === 'object' && error !== null ? (error as { type?: unknown }).type : undefined;
  return typeof type === 'string' ? type : undefined;
}
