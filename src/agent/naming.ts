import { createHash } from 'node:crypto';
import { HOST_IF_PREFIX } from '../dataplane/types.js';

/** The IPAM handle of a CNI attachment. Container IDs and ifnames cannot contain '/'. */
export function handleOf(containerId: string, ifname: string): string {
  return `${containerId}/${ifname}`;
}

/** Host-side veth name: stable for an attachment, so a retried or restarted ADD finds its own. */
export function hostIfnameOf(containerId: string, ifname: string): string {
  const h = createHash('sha256').update(handleOf(containerId, ifname)).digest('hex');
  return HOST_IF_PREFIX + h.slice(0, 15 - HOST_IF_PREFIX.length - 1);
}
