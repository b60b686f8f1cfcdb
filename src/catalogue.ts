/**
 * Loads every module that declares error codes, so the registry is complete (for
 * `podnet errors` and docs/ERRORS.md). A test fails when a module with defineErrors() is missing.
 */
import './agent/errors.js';
import './calc/errors.js';
import './cni/errors.js';
import './dataplane/errors.js';
import './dataplane/linux/cluster/errors.js';
import './dataplane/linux/netfilter/errors.js';
import './datastore/errors.js';
import './ipam/errors.js';
import './policy/errors.js';
import './resources/errors.js';
import './lab/errors.js';
export { errorCatalogue } from './common/errors.js';
