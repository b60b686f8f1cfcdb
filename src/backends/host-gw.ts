/** host-gw: every remote block routed to its node's underlay address; needs L2 adjacency. */
import { directReach } from './parts/direct.js';
import type { Backend } from './types.js';

export const hostGw: Backend = { name: 'host-gw', tunnels: false, reach: directReach };
