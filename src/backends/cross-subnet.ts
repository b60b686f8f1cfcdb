/**
 * cross-subnet (Calico's CrossSubnet): routed directly where the remote node is L2-adjacent in
 * the block's family, through VXLAN everywhere else.
 */
import { directReach } from './parts/direct.js';
import { tunnelReach } from './parts/tunnel.js';
import type { Backend } from './types.js';

export const crossSubnet: Backend = {
  name: 'cross-subnet',
  tunnels: true,
  reach(local, block) {
    const direct = directReach(local, block);
    return direct.kind === 'direct' ? direct : tunnelReach(local, block);
  },
};
