/** Error codes of the datastore port and its adapters. */
import { CniCode, defineErrors } from '../common/errors.js';

export const DatastoreErrors = defineErrors({
  DATASTORE_ALREADY_EXISTS: { cni: CniCode.Conflict, doc: 'A create found the key already present.' },
  DATASTORE_CONFLICT: {
    cni: CniCode.Conflict,
    doc: 'A compare-and-swap failed because the key was modified since it was read; re-read and retry.',
  },
  DATASTORE_NOT_FOUND: { cni: CniCode.NotFound, doc: 'The key to update does not exist (any more).' },
  DATASTORE_LEASE_NOT_FOUND: { cni: CniCode.NotFound, doc: 'The lease does not exist or has already expired.' },
  DATASTORE_UNAVAILABLE: {
    cni: CniCode.TryAgainLater,
    doc: 'The datastore cannot be reached or has failed a write; retry later (an embedded store must be reopened).',
  },
  DATASTORE_CORRUPT: {
    cni: CniCode.Datastore,
    doc: 'The on-disk state (snapshot or write-ahead log) is damaged beyond a torn final write; restore it from a backup.',
  },
  DATASTORE_LOCKED: {
    cni: CniCode.Datastore,
    doc: 'Another live process holds the lock of the embedded state directory.',
  },
  DATASTORE_CLOSED: { cni: CniCode.TryAgainLater, doc: 'The datastore was closed (the agent is shutting down).' },
  DATASTORE_COMPACTED: {
    cni: CniCode.Datastore,
    doc: 'A watch asked for events older than the retained history; the watcher must re-list.',
  },
  DATASTORE_INVALID_ARGUMENT: {
    cni: CniCode.InvalidArgument,
    doc: 'A key, value, revision or lease TTL given to the datastore is malformed.',
  },
});
