/**
 * Datastore key layout of IPAM (version 1):
 *   /podnet/ipam/v1/pools/<pool>                      IpPool JSON
 *   /podnet/ipam/v1/blocks/<pool>/<network>-<prefix>  block JSON: owner node + allocations
 * e.g. /podnet/ipam/v1/blocks/default-ipv4/10.244.0.64-26, /podnet/ipam/v1/blocks/default-ipv6/fd00:10:244::40-122
 */
import { canonicalNetwork } from '../common/ip.js';

export const IPAM_PREFIX = '/podnet/ipam/v1/';
export const POOLS_PREFIX = `${IPAM_PREFIX}pools/`;
export const BLOCKS_PREFIX = `${IPAM_PREFIX}blocks/`;

export const poolKey = (name: string): string => `${POOLS_PREFIX}${name}`;
export const poolBlocksPrefix = (pool: string): string => `${BLOCKS_PREFIX}${pool}/`;
export const blockKey = (pool: string, cidr: string): string => `${poolBlocksPrefix(pool)}${cidr.replace('/', '-')}`;

/** The pool and canonical CIDR named by a block key, or undefined when it is not one. */
export function parseBlockKey(key: string): { pool: string; cidr: string } | undefined {
  if (!key.startsWith(BLOCKS_PREFIX)) return undefined;
  const rest = key.slice(BLOCKS_PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return undefined;
  const pool = rest.slice(0, slash);
  const net = rest.slice(slash + 1);
  const dash = net.lastIndexOf('-');
  if (dash <= 0) return undefined;
  const cidr = `${net.slice(0, dash)}/${net.slice(dash + 1)}`;
  return canonicalNetwork(cidr) === cidr ? { pool, cidr } : undefined;
}
