/**
 * The Appwrite SDK as the public API names it: structural types only, so the published `.d.ts`
 * never imports `appwrite` and type-checks in a project that does not install it
 * (`skipLibCheck: false`). They are supertypes of the real SDK's: `import * as Appwrite from
 * 'appwrite'`, `window.Appwrite` and a `new Client()` fit them (test/package/types.test-d.ts).
 * Inside the library the transport keeps the SDK's own, precise types.
 */

/** A configured Appwrite client: `new Client().setEndpoint(endpoint).setProject(projectId)`. */
export interface AppwriteClient {
  config: { endpoint: string; project: string };
}

/** A constructor taking the client, e.g. the SDK's `Account` or `Presences`. */
type Service = new (client: never) => object;
/** Anything callable with any arguments: the SDK helpers' exact signatures are not ours to pin. */
type Helper = (...args: never[]) => unknown;

/**
 * The parts of the `appwrite` namespace presence uses. Pass the module itself:
 * `import * as Appwrite from 'appwrite'`, or `window.Appwrite` on a page.
 */
export interface AppwriteSdk {
  /** Needed only to build a client from manifest.json (the CDN script's way). */
  Client?: new () => AppwriteClient;
  Account: Service;
  Presences: Service;
  Realtime: Service;
  /** Absent in SDKs older than the channel builders; the plain name is used then. */
  Channel?: { presences(): unknown };
  Query: { limit: Helper; cursorAfter: Helper };
  Permission: { read: Helper; update: Helper; delete: Helper };
  Role: { users: Helper; team: Helper; user: Helper };
}

/** A `new Realtime(client)` the app already has, to share its socket. */
export interface AppwriteRealtime {
  subscribe(...args: any[]): unknown;
  disconnect(...args: any[]): unknown;
}
