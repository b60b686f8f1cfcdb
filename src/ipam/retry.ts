/** Bounded compare-and-swap retries and the per-instance write lock of IPAM. */
import { CommonErrors, PodnetError } from '../common/errors.js';
import { IpamErrors as E } from './errors.js';

export const RETRY = Symbol('retry');
export type Step<T> = T | typeof RETRY;

export interface RetryLimits {
  readonly maxAttempts: number;
  /** Absolute time (ms since the epoch) after which no new attempt starts. */
  readonly deadline: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Runs step until it returns something other than RETRY. Between attempts it waits a short,
 * growing, jittered delay (writers on other nodes then interleave instead of colliding again).
 * Throws IPAM_CONFLICT_RETRIES_EXHAUSTED after maxAttempts or past the deadline.
 */
export async function retryCas<T>(what: string, limits: RetryLimits, step: (attempt: number) => Promise<Step<T>>): Promise<T> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    const r = await step(attempt);
    if (r !== RETRY) return r;
    if (attempt >= limits.maxAttempts || Date.now() >= limits.deadline) {
      throw new PodnetError(
        E.IPAM_CONFLICT_RETRIES_EXHAUSTED,
        `${what}: gave up after ${attempt} attempts in ${Date.now() - started} ms of concurrent modification`,
      );
    }
    await sleep(Math.random() * Math.min(50, 2 ** attempt));
  }
}

/** A FIFO async lock whose waiters give up after a timeout (CommonErrors.TIMEOUT). */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  async run<T>(what: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
    const prev = this.tail;
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    this.tail = prev.then(() => mine);
    let timer: NodeJS.Timeout | undefined;
    const got = await Promise.race([
      prev.then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (!got) {
      void prev.then(release);
      throw new PodnetError(CommonErrors.TIMEOUT, `${what}: waited ${timeoutMs} ms for earlier IPAM operations of this node`);
    }
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
