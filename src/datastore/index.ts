/** Public surface of the datastore port and its adapters. */
export type { Datastore, KvEntry, ListResult, Watch, WatchEvent, WatchHandlers, WriteOptions } from './types.js';
export { DatastoreErrors } from './errors.js';
export { MemoryDatastore, type MemoryDatastoreOptions } from './memory.js';
export { EmbeddedDatastore, type EmbeddedDatastoreOptions, type RecoveryReport } from './embedded.js';
export { Syncer, type SyncerHandlers, type SyncerOptions, type SyncStatus } from './syncer.js';
