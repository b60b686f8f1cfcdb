/** Read-modify-write of one key by compare-and-swap, retried a bounded number of times. */
import { isPodnetError, PodnetError } from '../common/errors.js';
import type { Datastore, KvEntry } from '../datastore/types.js';
import { ResourceErrors } from './errors.js';

/** What to do with the key given its current entry: write this value, delete it, or leave it. */
export type CasDecision = { readonly put: string } | { readonly delete: true } | { readonly keep: true };

export interface CasOutcome {
  readonly action: 'created' | 'updated' | 'deleted' | 'unchanged' | 'absent';
  /** Revision of the write (or of the entry read, when nothing was written). */
  readonly revision: number;
}

const RETRIES = 16;
const lost = (e: unknown): boolean => isPodnetError(e, 'DATASTORE_CONFLICT') || isPodnetError(e, 'DATASTORE_ALREADY_EXISTS') || isPodnetError(e, 'DATASTORE_NOT_FOUND');

export async function casUpdate(store: Datastore, key: string, decide: (cur: KvEntry | undefined) => CasDecision): Promise<CasOutcome> {
  for (let i = 0; i < RETRIES; i++) {
    const cur = await store.get(key);
    const d = decide(cur);
    try {
      if ('keep' in d) return { action: cur ? 'unchanged' : 'absent', revision: cur?.revision ?? 0 };
      if ('delete' in d) {
        if (!cur) return { action: 'absent', revision: 0 };
        if (await store.delete(key, cur.revision)) return { action: 'deleted', revision: (await store.list(key)).revision };
        continue;
      }
      if (cur && cur.value === d.put) return { action: 'unchanged', revision: cur.revision };
      const e = cur ? await store.update(key, d.put, cur.revision) : await store.create(key, d.put);
      return { action: cur ? 'updated' : 'created', revision: e.revision };
    } catch (e) {
      if (!lost(e)) throw e;
    }
  }
  throw new PodnetError(ResourceErrors.RESOURCE_CONFLICT, `${key} changed under ${RETRIES} consecutive writes; retry`);
}
