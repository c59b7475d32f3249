/**
 * An in-memory Web Locks `LockManager` (`navigator.locks`) for Node tests, where there is none:
 * one instance stands for one browser's origin, shared by the tabs a test creates. Exclusive locks
 * only, modelled on the Web Locks spec: a lock is held until the promise its callback returned
 * settles; requests for a name are granted in FIFO order; `ifAvailable` calls back with null
 * instead of queueing when the lock is held or others wait; an AbortSignal removes a request still
 * queued and rejects it with the signal's reason (an `AbortError`); callbacks run in a later
 * microtask, never inside `request()`; `query()` is a snapshot of held and queued requests.
 */

/** What a granted callback receives (the spec's `Lock`). */
export interface MemoryLock {
  readonly name: string;
  readonly mode: 'exclusive';
}

export interface LockInfo {
  name: string;
  mode: 'exclusive';
  clientId: string;
}

export interface LockRequestOptions {
  mode?: 'exclusive';
  ifAvailable?: boolean;
  signal?: AbortSignal;
}

type Callback = (lock: MemoryLock | null) => unknown;

interface Request {
  name: string;
  clientId: string;
  callback: Callback;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
  /** Detaches the abort listener once the request leaves the queue. */
  detach: () => void;
}

interface Locks {
  held: Map<string, Request>;
  queues: Map<string, Request[]>;
}

export class MemoryLockManager {
  private readonly held: Map<string, Request>;
  private readonly queues: Map<string, Request[]>;

  /** `clientId` names the tab in `query()` answers (the spec's client id). */
  constructor(
    private readonly clientId = 'memory',
    locks: Locks = { held: new Map(), queues: new Map() },
  ) {
    this.held = locks.held;
    this.queues = locks.queues;
  }

  request(name: string, callback: Callback): Promise<unknown>;
  request(name: string, options: LockRequestOptions, callback: Callback): Promise<unknown>;
  request(name: string, optionsOrCallback: LockRequestOptions | Callback, maybeCallback?: Callback): Promise<unknown> {
    const options = typeof optionsOrCallback === 'function' ? {} : optionsOrCallback;
    const callback = typeof optionsOrCallback === 'function' ? optionsOrCallback : maybeCallback;
    if (typeof callback !== 'function') return Promise.reject(new TypeError('LockManager.request: a callback is required'));
    if (options.mode !== undefined && options.mode !== 'exclusive') {
      return Promise.reject(new DOMException('only exclusive locks are modelled', 'NotSupportedError'));
    }
    if (name.startsWith('-')) return Promise.reject(new DOMException('lock names starting with "-" are reserved', 'NotSupportedError'));
    if (options.ifAvailable && options.signal) {
      return Promise.reject(new DOMException('ifAvailable and signal cannot be combined', 'NotSupportedError'));
    }
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortReason(signal));

    return new Promise((resolve, reject) => {
      const request: Request = { name, clientId: this.clientId, callback, resolve, reject, detach: () => undefined };
      const queue = this.queueOf(name);
      if (options.ifAvailable && (this.held.has(name) || queue.length > 0)) {
        queueMicrotask(() => settleWith(request, null));
        return;
      }
      if (signal) {
        const onAbort = () => {
          const at = queue.indexOf(request);
          if (at === -1) return; // granted already: aborting no longer matters
          queue.splice(at, 1);
          if (queue.length === 0) this.queues.delete(name);
          reject(abortReason(signal));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        request.detach = () => signal.removeEventListener('abort', onAbort);
      }
      queue.push(request);
      this.grant(name);
    });
  }

  /** Held and queued requests, in grant order per name. */
  async query(): Promise<{ held: LockInfo[]; pending: LockInfo[] }> {
    const info = (request: Request): LockInfo => ({ name: request.name, mode: 'exclusive', clientId: request.clientId });
    return {
      held: [...this.held.values()].map(info),
      pending: [...this.queues.values()].flat().map(info),
    };
  }

  /** A handle on the same locks that names another tab in `query()` (one per tab, as in a browser). */
  forClient(clientId: string): MemoryLockManager {
    return new MemoryLockManager(clientId, { held: this.held, queues: this.queues });
  }

  private queueOf(name: string): Request[] {
    let queue = this.queues.get(name);
    if (!queue) this.queues.set(name, (queue = []));
    return queue;
  }

  /** Grant the head of `name`'s queue when nobody holds it; release when its callback's promise settles. */
  private grant(name: string): void {
    if (this.held.has(name)) return;
    const queue = this.queues.get(name);
    const next = queue?.shift();
    if (!next) return;
    if (queue!.length === 0) this.queues.delete(name);
    next.detach();
    this.held.set(name, next);
    queueMicrotask(() => {
      const released = settleWith(next, { name, mode: 'exclusive' });
      released.finally(() => {
        this.held.delete(name);
        this.grant(name);
      });
    });
  }
}

/** Run the callback; the request's promise follows the callback's result. Resolves when that settles. */
function settleWith(request: Request, lock: MemoryLock | null): Promise<void> {
  let result: Promise<unknown>;
  try {
    result = Promise.resolve(request.callback(lock));
  } catch (error) {
    result = Promise.reject(error);
  }
  result.then(request.resolve, request.reject);
  return result.then(
    () => undefined,
    () => undefined,
  );
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The request was aborted.', 'AbortError');
}
