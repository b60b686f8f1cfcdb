/** Public surface of IPAM. */
export type { AllocationAttrs, AllocationRecord, AssignRequest, Assignment, BlockInfo, Ipam, IpPool, PoolUsage } from './types.js';
export { IpamErrors } from './errors.js';
export { DatastoreIpam, type DatastoreIpamOptions } from './ipam.js';
export { createPool, deletePool, getPool, listPools, releaseEmptyBlocks, updatePool } from './pools.js';
export { validatePool, DEFAULT_BLOCK_SIZE, type PoolInput } from './pool.js';
export { BLOCKS_PREFIX, IPAM_PREFIX, POOLS_PREFIX, blockKey, poolKey } from './keys.js';
