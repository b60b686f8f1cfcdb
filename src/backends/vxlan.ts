/** vxlan: every remote block through the VXLAN device, whatever the underlay topology. */
import { tunnelReach } from './parts/tunnel.js';
import type { Backend } from './types.js';

export const vxlan: Backend = { name: 'vxlan', tunnels: true, reach: tunnelReach };
