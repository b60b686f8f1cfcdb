/**
 * Watch fan-out with a bounded event history, shared by the memory and embedded adapters.
 * Events are delivered asynchronously (one microtask batch per watcher), in revision order,
 * so that a handler never runs inside the write that caused it.
 */
import { PodnetError } from '../common/errors.js';
import { DatastoreErrors as E } from './errors.js';
import type { Watch, WatchEvent, WatchHandlers } from './types.js';

const revisionOf = (ev: WatchEvent): number => (ev.type === 'put' ? ev.entry.revision : ev.revision);
const keyOf = (ev: WatchEvent): string => (ev.type === 'put' ? ev.entry.key : ev.key);

class Watcher implements Watch {
  private queue: WatchEvent[] = [];
  private scheduled = false;
  closed = false;

  constructor(
    readonly prefix: string,
    private readonly handlers: WatchHandlers,
    private readonly onClose: (w: Watcher) => void,
  ) {}

  push(events: readonly WatchEvent[]): void {
    if (this.closed) return;
    for (const ev of events) if (keyOf(ev).startsWith(this.prefix)) this.queue.push(ev);
    if (this.queue.length > 0 && !this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    if (this.closed || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    try {
      this.handlers.onEvents(batch);
    } catch (e) {
      this.fail(e instanceof Error ? e : new Error(String(e)));
    }
  }

  /** Closes the watch and reports err to its owner (asynchronously). */
  fail(err: Error): void {
    if (this.closed) return;
    this.close();
    queueMicrotask(() => this.handlers.onError(err));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.onClose(this);
  }
}

export class WatchHub {
  private history: WatchEvent[] = [];
  private head = 0;
  /** Events at or below this revision may have been dropped from the history. */
  private compacted: number;
  private readonly watchers = new Set<Watcher>();
  private terminal: Error | undefined;

  constructor(
    private readonly historyLimit: number,
    startRevision: number,
  ) {
    if (!Number.isInteger(historyLimit) || historyLimit < 1) throw new RangeError(`history limit ${historyLimit}`);
    this.compacted = startRevision;
  }

  get compactedRevision(): number {
    return this.compacted;
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  publish(events: readonly WatchEvent[]): void {
    if (events.length === 0) return;
    for (const ev of events) this.history.push(ev);
    this.trim();
    for (const w of this.watchers) w.push(events);
  }

  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Watch {
    const w = new Watcher(prefix, handlers, (x) => this.watchers.delete(x));
    if (this.terminal) {
      w.fail(this.terminal);
      return w;
    }
    if (!Number.isSafeInteger(fromRevision) || fromRevision < 0) {
      w.fail(new PodnetError(E.DATASTORE_INVALID_ARGUMENT, `invalid watch revision ${String(fromRevision)}`));
      return w;
    }
    if (fromRevision < this.compacted) {
      w.fail(
        new PodnetError(
          E.DATASTORE_COMPACTED,
          `watch of ${prefix} from revision ${fromRevision}: history before revision ${this.compacted + 1} is compacted`,
        ),
      );
      return w;
    }
    this.watchers.add(w);
    const backlog: WatchEvent[] = [];
    for (let i = this.head; i < this.history.length; i++) {
      const ev = this.history[i] as WatchEvent;
      if (revisionOf(ev) > fromRevision) backlog.push(ev);
    }
    w.push(backlog);
    return w;
  }

  /** Breaks every watch with err, and every watch opened later (store closed or failed). */
  shutdown(err: Error): void {
    this.terminal ??= err;
    for (const w of [...this.watchers]) w.fail(err);
  }

  private trim(): void {
    let live = this.history.length - this.head;
    while (live > this.historyLimit) {
      // Drop whole revisions so that a revision is never half in the history.
      const rev = revisionOf(this.history[this.head] as WatchEvent);
      while (this.head < this.history.length && revisionOf(this.history[this.head] as WatchEvent) === rev) {
        this.head++;
        live--;
      }
      this.compacted = rev;
    }
    if (this.head > 1024 && this.head * 2 > this.history.length) {
      this.history = this.history.slice(this.head);
      this.head = 0;
    }
  }
}
