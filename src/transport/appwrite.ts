/**
 * The Appwrite transport: the actors that talk to the injected SDK — REST presences, the Realtime
 * `presences` channel — and the keepalive DELETE, for the session machine (`./types`).
 * Invariants: every wire shape is translated by the pure codec (`./codec`), never here; a
 * malformed row or frame becomes a warning, never a throw; the SDK is injected
 * (`import * as Appwrite from 'appwrite'` or `window.Appwrite`) and only its types are imported,
 * so the CDN bundle never carries a second copy of it. Peer events go to the session's direct
 * feed while it is open (`FeedCommand`), otherwise to the machine.
 */
import type {
  Account,
  Client,
  Models,
  Permission,
  Presences,
  Query,
  Realtime,
  RealtimeResponseEvent,
  RealtimeSubscription,
  Role,
} from 'appwrite';
import { fromCallback, fromPromise, type EventObject } from 'xstate';
import { describe, isId, metadataProblem, permissionsFor, toPeerDoc, toTransportEvent, warning } from './codec';
import type {
  FeedCommand,
  Identity,
  LoadRosterInput,
  LoadRosterOutput,
  PeerDoc,
  PeerEvent,
  PublishInput,
  PublishOutput,
  RemoveInput,
  Transport,
  TransportEvent,
  WatchPeersInput,
} from './types';
import { codeOf, messageOf, typeOf } from '../errors';
import { isRecord } from '../records';

const LOG_PREFIX = '[Manifest Presence]';

/**
 * Page size of `presences.list` while loading the roster. Appwrite accepts up to 5000; 1000 rows
 * (~300 KB) keep a 10,000-person roster to ten round trips without one huge response.
 */
export const ROSTER_PAGE_SIZE = 1000;

// ---------------------------------------------------------------------------------------------
// The SDK, injected
// ---------------------------------------------------------------------------------------------

type RealtimeLike = Pick<Realtime, 'subscribe' | 'onOpen' | 'onClose' | 'onError' | 'disconnect'>;

/**
 * The parts of the `appwrite` namespace this transport uses, typed structurally so both
 * `import * as Appwrite from 'appwrite'` and the CDN's `window.Appwrite` fit.
 */
export interface AppwriteSdk {
  Account: new (client: Client) => Pick<Account, 'get'>;
  Presences: new (client: Client) => Pick<Presences, 'list' | 'upsert' | 'delete'>;
  Realtime: new (client: Client) => RealtimeLike;
  /** Absent in SDKs older than the channel builders; the plain name is used then. */
  Channel?: { presences(): string };
  Query: Pick<typeof Query, 'limit' | 'cursorAfter'>;
  Permission: Pick<typeof Permission, 'read' | 'update' | 'delete'>;
  Role: Pick<typeof Role, 'users' | 'team' | 'user'>;
}

export interface AppwriteTransportOptions {
  client: Client;
  sdk: AppwriteSdk;
  /** A Realtime instance to share with the app; otherwise one is created lazily and owned. */
  realtime?: RealtimeLike;
  /**
   * Minimum wait between the socket opening and `transport.connected` (see `watchPeers`).
   * The wait grows to twice the fastest REST round trip seen, when that is longer.
   */
  connectedSettleMs?: number;
  /** Rows per `presences.list` page while loading the roster, 1 … 5000 (default ROSTER_PAGE_SIZE). */
  rosterPageSize?: number;
  /** Where warnings go; `console.warn` by default (read at call time). */
  warn?: (message: string) => void;
}

/** Appwrite's 400 for an `expiresAt` that is not in the future (by the server's clock). */
function refusedExpiry(error: unknown): boolean {
  return codeOf(error) === 400 && typeOf(error) === 'general_argument_invalid' && /`expiresAt`/.test(messageOf(error));
}

// ---------------------------------------------------------------------------------------------
// The transport
// ---------------------------------------------------------------------------------------------

/** One `watchPeers` actor; it is open while it is in the transport's `watchers`. */
interface Watcher {
  sendBack: (event: TransportEvent) => void;
  /** The session's direct feed while its roster is live (see `FeedCommand`), else null. */
  feed: ((event: PeerEvent) => boolean) | null;
  subscription?: RealtimeSubscription;
  /** Pending `transport.connected`, armed when the socket (re)opens. */
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * Builds the Appwrite transport for the session machine.
 *
 * @example
 * import * as Appwrite from 'appwrite';
 * const client = new Appwrite.Client().setEndpoint('https://cloud.appwrite.io/v1').setProject('p');
 * const transport = createAppwriteTransport({ client, sdk: Appwrite });
 * const machine = sessionMachine.provide({ actors: transport.actors });
 */
export function createAppwriteTransport(options: AppwriteTransportOptions): Transport {
  const { client, sdk } = options;
  const warn = (message: string) => (options.warn ?? console.warn)(`${LOG_PREFIX} ${message}`);

  let account: Pick<Account, 'get'> | undefined;
  let presences: Pick<Presences, 'list' | 'upsert' | 'delete'> | undefined;
  const accountApi = () => (account ??= new sdk.Account(client));
  const presencesApi = () => (presences ??= new sdk.Presences(client));

  // --- round trips, for the connected settle time ---
  let fastestRoundTrip = Infinity;
  const noteRoundTrip = (sentAt: number) => {
    fastestRoundTrip = Math.min(fastestRoundTrip, Date.now() - sentAt);
  };
  const settleMs = () => {
    const floor = options.connectedSettleMs ?? 250;
    return Number.isFinite(fastestRoundTrip) ? Math.max(floor, Math.min(2 * fastestRoundTrip, 5_000)) : floor;
  };

  // --- realtime: one instance, hooked once (the SDK cannot unregister callbacks) ---
  let realtime = options.realtime;
  const ownsRealtime = !options.realtime;
  let hooked = false;
  // A shared instance may already be open: its link counts as up until it reports a close.
  let linkUp = !ownsRealtime;
  let warnedOutage = false;
  const watchers = new Set<Watcher>();

  const disarm = (w: Watcher) => {
    clearTimeout(w.timer);
    w.timer = undefined;
  };
  const connectedNow = (w: Watcher) => {
    disarm(w);
    if (watchers.has(w)) w.sendBack({ type: 'transport.connected' });
  };
  const arm = (w: Watcher) => {
    clearTimeout(w.timer);
    w.timer = setTimeout(() => connectedNow(w), settleMs());
  };

  const realtimeApi = (): RealtimeLike => {
    realtime ??= new sdk.Realtime(client);
    if (!hooked) {
      hooked = true;
      realtime.onOpen(() => {
        linkUp = true;
        warnedOutage = false;
        for (const w of watchers) arm(w);
      });
      realtime.onClose(() => {
        // The SDK reports a close for every retry that never opened too: only a link that was up went down.
        const wasUp = linkUp;
        linkUp = false;
        if (!wasUp) return;
        for (const w of watchers) {
          disarm(w);
          w.sendBack({ type: 'transport.disconnected' });
        }
      });
      realtime.onError((error, statusCode) => {
        if (watchers.size === 0) return;
        const reason = `realtime error${statusCode ? ` ${statusCode}` : ''}: ${error ? error.message : 'unknown'}`;
        // Behind a blocking proxy the SDK retries for ever: say it once per outage, not per retry.
        if (!warnedOutage) warn(reason);
        warnedOutage = true;
        for (const w of watchers) w.sendBack(warning(reason));
      });
    }
    return realtime;
  };

  const stopWatcher = (w: Watcher) => {
    if (!watchers.delete(w)) return;
    disarm(w);
    w.subscription?.unsubscribe().catch(() => undefined);
    if (ownsRealtime && watchers.size === 0 && realtime) realtime.disconnect().catch(() => undefined);
  };

  // --- REST helpers ---
  const requestHeaders = (): Record<string, string> => {
    const headers: Record<string, string> = {
      'X-Appwrite-Project': client.config.project,
      'X-Appwrite-Response-Format': client.headers['X-Appwrite-Response-Format'] ?? '2.3.0',
    };
    if (client.config.session) headers['X-Appwrite-Session'] = client.config.session;
    if (client.config.jwt) headers['X-Appwrite-JWT'] = client.config.jwt;
    const fallback = readCookieFallback();
    if (fallback) headers['X-Fallback-Cookies'] = fallback;
    return headers;
  };

  /**
   * One page of the list. When the SDK cannot parse the answer (a peer's metadata key contains
   * `constructor` or `__proto__`, see SDK_UNPARSABLE_KEY), the page is fetched again with the
   * platform's JSON parser, so one such peer cannot stop everyone's roster from loading.
   */
  const listPage = async (queries: string[]): Promise<unknown[]> => {
    let answer: unknown;
    try {
      answer = await presencesApi().list({ queries, total: false });
    } catch (error) {
      if (!(isRecord(error) && error.name === 'SyntaxError')) throw error;
      warn(`the Appwrite SDK could not parse a roster page (${messageOf(error)}); reading it directly`);
      answer = await listPageDirect(queries);
    }
    if (!isRecord(answer) || !Array.isArray(answer.presences)) {
      throw new Error(`Appwrite answered the presence list without a presences array (${describe(answer)})`);
    }
    return answer.presences;
  };

  const listPageDirect = async (queries: string[]): Promise<unknown> => {
    const url = new URL(`${client.config.endpoint}/presences`);
    queries.forEach((query, i) => url.searchParams.append(`queries[${i}]`, query));
    url.searchParams.append('total', 'false');
    const response = await fetch(url, { method: 'GET', credentials: 'include', headers: requestHeaders() });
    const body: unknown = JSON.parse(await response.text());
    if (!response.ok) {
      throw new Error(isRecord(body) && typeof body.message === 'string' ? body.message : `HTTP ${response.status}`);
    }
    return body;
  };

  // --- the actors ---
  const identify = fromPromise<Identity | null, void>(async () => {
    const sentAt = Date.now();
    let user: Models.User<Models.DefaultPreferences>;
    try {
      user = await accountApi().get();
    } catch (error) {
      if (codeOf(error) === 401) return null;
      throw new Error(`Could not find out who is signed in: ${messageOf(error)}`, { cause: error });
    }
    noteRoundTrip(sentAt);
    const userId: unknown = user.$id;
    if (!isId(userId)) throw new Error(`Appwrite answered account.get() without a user id (${describe(userId)})`);
    const name: unknown = user.name;
    return { userId, name: (typeof name === 'string' && name) || null };
  });

  const pageSize = Number.isInteger(options.rosterPageSize) ? Math.min(Math.max(options.rosterPageSize!, 1), 5000) : ROSTER_PAGE_SIZE;
  const loadRoster = fromPromise<LoadRosterOutput, LoadRosterInput>(async () => {
    // `input.teamId` needs no query: the server only lists rows we may read, and metadata is
    // not queryable; the roster's scope filter does the rest.
    const { Query } = sdk;
    const peers: PeerDoc[] = [];
    const seen = new Set<string>();
    let cursor: string | null = null;
    for (;;) {
      const queries = [Query.limit(pageSize)];
      if (cursor !== null) queries.push(Query.cursorAfter(cursor));
      const sentAt = Date.now();
      const rows = await listPage(queries);
      noteRoundTrip(sentAt);
      let fresh = 0;
      for (const row of rows) {
        const decoded = toPeerDoc(row);
        if (!decoded.ok) {
          warn(`skipped a roster row: ${decoded.reason}`);
          continue;
        }
        if (seen.has(decoded.doc.id)) continue;
        seen.add(decoded.doc.id);
        peers.push(decoded.doc);
        fresh++;
      }
      if (rows.length < pageSize) break;
      const last = rows.at(-1);
      const lastId = isRecord(last) ? last.$id : undefined;
      if (typeof lastId !== 'string' || lastId === '') {
        throw new Error('Could not page through the roster: the last row of a page has no $id');
      }
      if (fresh === 0 && lastId === cursor) break; // a server that ignores the cursor would loop forever
      cursor = lastId;
    }
    return { peers, receivedAtLocal: Date.now() };
  });

  /**
   * When is the subscription live? The SDK (appwrite@28 `Realtime`) does not say:
   * - `onOpen` fires on the WebSocket `open` event, BEFORE the server's `connected` frame;
   *   only on that frame does the SDK send `authentication` (if needed) and the `subscribe`
   *   frame for every active subscription, and it ignores the server's `response` ack.
   * - `subscribe()` resolves when the socket it had to open is open (same moment as `onOpen`),
   *   at once when a socket was already open, or even before `open` when one was connecting.
   * - After a drop the SDK reconnects by itself (1 s, then 5 s, 10 s, 60 s) and re-subscribes on
   *   the new `connected`; `onOpen` fires again, and `onClose` fires on every close.
   * So `transport.connected` is sent `settleMs` (≥ 250 ms, ≥ 2 fastest REST round trips) after
   * the open, or at once when a frame arrives for our subscription (which proves it is live).
   * Residual race: if the server takes longer than that to process the `subscribe` frame, a
   * change committed after the re-list's snapshot but before the subscription is active is
   * missed until the peer's next heartbeat (an upsert) or its `expiresAt` (a delete).
   * The first `transport.connected` after start also closes this window for the initial list.
   */
  const watchPeers = fromCallback<EventObject, WatchPeersInput>(({ sendBack, receive }) => {
    const w: Watcher = { sendBack, feed: null };
    watchers.add(w);
    receive((command) => {
      if (command.type === 'feed') w.feed = (command as FeedCommand).apply;
    });
    const channel = sdk.Channel?.presences() ?? 'presences';
    const onFrame = (frame: RealtimeResponseEvent<unknown>) => {
      if (!watchers.has(w)) return;
      // First: a `connected` that takes the roster out of live closes the feed before the event.
      if (w.timer !== undefined) connectedNow(w);
      const event = toTransportEvent(frame);
      if (event.type === 'transport.warning') warn(event.reason);
      else if (w.feed?.(event)) return;
      sendBack(event);
    };
    let subscribing: Promise<RealtimeSubscription>;
    try {
      subscribing = realtimeApi().subscribe(channel, onFrame);
    } catch (error) {
      subscribing = Promise.reject(error);
    }
    subscribing.then(
      (subscription) => {
        if (!watchers.has(w)) {
          subscription.unsubscribe().catch(() => undefined);
          return;
        }
        w.subscription = subscription;
        if (linkUp) arm(w);
      },
      (error: unknown) => {
        if (!watchers.has(w)) return;
        // The subscription stays registered in the SDK, which keeps reconnecting; `onOpen`
        // will report the link when it comes up.
        const reason = `realtime connection failed (${messageOf(error)}); retrying`;
        warn(reason);
        sendBack(warning(reason));
      },
    );
    return () => stopWatcher(w);
  });

  const publish = fromPromise<PublishOutput, PublishInput>(async ({ input }) => {
    const upsert = (expiresAt: number | null) =>
      presencesApi().upsert({
        presenceId: input.presenceId,
        status: input.status,
        permissions: permissionsFor(input, sdk),
        ...(expiresAt === null ? {} : { expiresAt: new Date(expiresAt).toISOString() }),
        metadata: input.metadata,
      });
    let sentAtLocal = Date.now();
    let row: unknown;
    try {
      row = await upsert(input.expiresAt);
    } catch (error) {
      if (!refusedExpiry(error)) throw error;
      // Appwrite found our expiresAt in the past: the server-clock estimate is behind by more than
      // the row's lifetime (no round trip sampled yet and a local clock that is slow). Without a
      // write nothing would ever sample the clock, so the person would never appear. Write once
      // with Appwrite's default expiry (server now + 15 min): the answer's $updatedAt corrects the
      // estimate, and the next heartbeat writes the intended expiresAt.
      warn(`Appwrite refused expiresAt ${new Date(input.expiresAt).toISOString()} as past (this clock is behind); publishing once with its default expiry`);
      sentAtLocal = Date.now();
      row = await upsert(null);
    }
    const receivedAtLocal = Date.now();
    noteRoundTrip(sentAtLocal);
    const decoded = toPeerDoc(row);
    if (!decoded.ok) throw new Error(`Appwrite answered the publish with an unusable row: ${decoded.reason}`);
    return { doc: decoded.doc, sentAtLocal, receivedAtLocal };
  });

  const remove = fromPromise<void, RemoveInput>(async ({ input }) => {
    try {
      await presencesApi().delete({ presenceId: input.presenceId });
    } catch (error) {
      if (codeOf(error) === 404) return; // already gone: expired, deleted by another tab or a socket close
      throw error;
    }
  });

  return {
    actors: { identify, loadRoster, watchPeers, publish, remove },
    scope: client.config.project,

    checkMetadata: metadataProblem,
    removeOnUnload(presenceId: string): boolean {
      try {
        const url = `${client.config.endpoint}/presences/${encodeURIComponent(presenceId)}`;
        fetch(url, { method: 'DELETE', keepalive: true, credentials: 'include', headers: requestHeaders() }).catch(
          () => undefined,
        );
        return true;
      } catch {
        return false; // no fetch at all, or one that throws at once
      }
    },

    dispose(): void {
      // Stopping the last watcher also disconnects the Realtime instance when we own it.
      for (const w of [...watchers]) stopWatcher(w);
    },
  };
}

/**
 * `localStorage.cookieFallback`, which the SDK keeps when the API is on another domain. Read from
 * `window.localStorage` exactly as the SDK does (`Client.prepareRequest`).
 */
function readCookieFallback(): string | null {
  try {
    return window.localStorage?.getItem('cookieFallback') ?? null;
  } catch {
    return null; // no window (Node), storage disabled (Safari private mode, sandboxed iframes)
  }
}
