/**
 * In-memory datastore for tests and single-process demos: the shared engine without a journal.
 * Same semantics as the other adapters (revisions, CAS, watch history, leases).
 */
import { EngineStore, type EngineOptions } from './engine.js';
import { KvState } from './kv-state.js';

export type MemoryDatastoreOptions = EngineOptions;

export class MemoryDatastore extends EngineStore {
  constructor(opts: MemoryDatastoreOptions = {}) {
    super('memory', new KvState(), undefined, opts);
  }
}
