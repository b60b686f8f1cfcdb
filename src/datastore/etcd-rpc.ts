/**
 * The etcd adapter's connection to a cluster: one `etcd3` client over all endpoints, and `call()`,
 * which bounds every request and fails over between endpoints.
 *
 * etcd3's own global retry is switched off: `call()` retries itself so that it knows whether an
 * earlier attempt may have been applied (a timeout or a dropped connection after sending). The
 * adapter uses that to recognise its own write when a retried compare-and-swap then "fails".
 * Each endpoint sits behind a circuit breaker (etcd3's per-host policy), so after a member dies the
 * next attempts go to the others. Each attempt is bounded by `attemptMs` (connecting included),
 * the whole call by `requestMs`; then it is DATASTORE_UNAVAILABLE.
 */
import { ConsecutiveBreaker, circuitBreaker, handleWhen, isBrokenCircuitError, noop } from 'cockatiel';
import {
  ClientClosedError,
  Etcd3,
  EtcdLeaseInvalidError,
  GRPCInvalidArgumentError,
  isRecoverableError,
  type IDuplexStream,
  type KVClient,
  type IWatchRequest,
  type IWatchResponse,
} from 'etcd3';
import { PodnetError, errorMessage } from '../common/errors.js';
import { DatastoreErrors as E } from './errors.js';

export interface Attempt {
  /** 1 for the first attempt. */
  readonly n: number;
  /** An earlier attempt failed in a way that may have applied it on the server. */
  readonly ambiguous: boolean;
}

export type WatchStream = IDuplexStream<IWatchRequest, IWatchResponse>;
/** gRPC call options (a deadline) as the etcd3 clients take them. */
export type CallOptions = NonNullable<Parameters<KVClient['range']>[1]>;

export interface RpcOptions {
  readonly endpoints: readonly string[];
  readonly attemptMs: number;
  readonly requestMs: number;
}

const ENDPOINT_RE = /^(?:http:\/\/)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$/;

const GRPC_OPTIONS = {
  // Own connections per client, so that a reset after a failure really reconnects.
  'grpc.use_local_subchannel_pool': 1,
  // Find a dead peer on an idle-looking stream (etcd allows pings every 5 s by default).
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  // A restarted member is used again within a second, not after gRPC's 2-minute backoff.
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1_000,
  'grpc.max_receive_message_length': 64 << 20,
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class EtcdRpc {
  readonly client: Etcd3;
  private readonly watchClients: (Etcd3 | undefined)[];
  private closed = false;

  constructor(readonly opts: RpcOptions) {
    if (!Array.isArray(opts.endpoints) || opts.endpoints.length === 0) {
      throw new PodnetError(E.DATASTORE_INVALID_ARGUMENT, 'etcd datastore needs at least one endpoint');
    }
    for (const ep of opts.endpoints) {
      if (typeof ep !== 'string' || !ENDPOINT_RE.test(ep)) {
        throw new PodnetError(E.DATASTORE_INVALID_ARGUMENT, `invalid etcd endpoint ${JSON.stringify(ep)}: want http://host:port`);
      }
    }
    for (const [what, v] of [['attempt', opts.attemptMs], ['request', opts.requestMs]] as const) {
      if (!Number.isInteger(v) || v < 10 || v > 600_000) {
        throw new PodnetError(E.DATASTORE_INVALID_ARGUMENT, `invalid etcd ${what} timeout ${String(v)} ms`);
      }
    }
    this.client = new Etcd3({
      hosts: [...opts.endpoints],
      faultHandling: {
        global: noop,
        host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 1000, breaker: new ConsecutiveBreaker(2) }),
      },
      grpcOptions: GRPC_OPTIONS,
    });
    this.watchClients = opts.endpoints.map(() => undefined);
  }

  get endpointCount(): number {
    return this.opts.endpoints.length;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
    for (const c of this.watchClients) c?.close();
  }

  /**
   * Runs fn until it succeeds, throws a PodnetError, fails with a non-transient error, or the
   * request deadline passes. fn gets call options carrying the attempt's gRPC deadline.
   */
  async call<T>(what: string, fn: (opts: CallOptions, at: Attempt) => Promise<T>): Promise<T> {
    const start = Date.now();
    const deadline = start + this.opts.requestMs;
    let ambiguous = false;
    let last: unknown;
    for (let n = 1; ; n++) {
      if (this.closed) throw closedError();
      const now = Date.now();
      const left = deadline - now;
      if (left <= 0) break;
      const attemptDeadline = now + Math.min(left, this.opts.attemptMs);
      try {
        // The gRPC deadline ends the attempt; the timer is a second bound in case it does not.
        return await bounded(fn({ deadline: attemptDeadline }, { n, ambiguous }), attemptDeadline - now + 250);
      } catch (e) {
        if (e instanceof PodnetError) throw e;
        if (this.closed || e instanceof ClientClosedError) throw closedError(e);
        const fatal = fatalError(what, e);
        if (fatal) throw fatal;
        last = e;
        if (!surelyNotSent(e)) ambiguous = true;
        const pause = Math.min(500, 20 * 2 ** Math.min(n - 1, 5)) * (0.5 + Math.random() / 2);
        await sleep(Math.max(0, Math.min(pause, deadline - Date.now())));
      }
    }
    throw new PodnetError(
      E.DATASTORE_UNAVAILABLE,
      `etcd ${what}: no endpoint of ${this.opts.endpoints.join(',')} succeeded within ${this.opts.requestMs} ms` +
        (last === undefined ? '' : `: ${errorMessage(last)}`),
      { cause: last },
    );
  }

  /**
   * Opens a watch stream on endpoint i (modulo their number). Watches have a client per endpoint
   * without circuit breakers, so a watch that rotates through the endpoints after each failure
   * reaches a live member even while calls that time out keep that member's breaker open.
   */
  openWatch(i: number): Promise<WatchStream> {
    if (this.closed) return Promise.reject(closedError());
    const n = i % this.opts.endpoints.length;
    let c = this.watchClients[n];
    if (!c) {
      c = new Etcd3({ hosts: [this.opts.endpoints[n] as string], faultHandling: { global: noop, host: () => noop }, grpcOptions: GRPC_OPTIONS });
      this.watchClients[n] = c;
    }
    return c.watchClient.watch();
  }
}

export function closedError(cause?: unknown): PodnetError {
  return new PodnetError(E.DATASTORE_CLOSED, 'etcd datastore is closed', cause === undefined ? {} : { cause });
}

/** A PodnetError for failures that retrying cannot fix; undefined for transient ones. */
function fatalError(what: string, e: unknown): PodnetError | undefined {
  const msg = errorMessage(e);
  if (e instanceof EtcdLeaseInvalidError) return new PodnetError(E.DATASTORE_LEASE_NOT_FOUND, `etcd ${what}: lease not found or expired`);
  if (/request is too large|too many operations in txn/.test(msg) || e instanceof GRPCInvalidArgumentError) {
    return new PodnetError(E.DATASTORE_INVALID_ARGUMENT, `etcd ${what}: ${msg}`, { cause: e });
  }
  if (/required revision has been compacted/.test(msg)) {
    return new PodnetError(E.DATASTORE_COMPACTED, `etcd ${what}: ${msg}`, { cause: e });
  }
  if (/database space exceeded/.test(msg)) {
    return new PodnetError(E.DATASTORE_UNAVAILABLE, `etcd ${what}: the cluster is out of space (NOSPACE alarm): ${msg}`, { cause: e });
  }
  if (e instanceof AttemptTimeout) return undefined;
  if (e instanceof Error && (isRecoverableError(e) || isBrokenCircuitError(e))) return undefined;
  // Streaming calls (lease keep-alive) report raw gRPC errors, not etcd3's cast classes: an
  // unreachable or restarting member is as transient there as anywhere (try another endpoint).
  if (/\b14 UNAVAILABLE\b|No connection established|ECONNREFUSED|ECONNRESET|Failed to connect|Connection dropped/i.test(msg)) return undefined;
  return new PodnetError(E.DATASTORE_UNAVAILABLE, `etcd ${what}: ${msg}`, { cause: e });
}

/** True when the request cannot have reached a server (so it cannot have been applied). */
function surelyNotSent(e: unknown): boolean {
  return isBrokenCircuitError(e) || /ECONNREFUSED|No connection established|Failed to connect/i.test(errorMessage(e));
}

class AttemptTimeout extends Error {}

function bounded<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AttemptTimeout(`attempt did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
