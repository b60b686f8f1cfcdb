/** The one table of backends, by configuration value. Importing it registers nothing anywhere. */
import type { BackendName } from '../model/node.js';
import { crossSubnet } from './cross-subnet.js';
import { hostGw } from './host-gw.js';
import type { Backend } from './types.js';
import { vxlan } from './vxlan.js';

export type { Backend, LocalView, Reach, RemoteBlock } from './types.js';

export const BACKENDS: Readonly<Record<BackendName, Backend>> = Object.freeze({
  'host-gw': hostGw,
  vxlan,
  'cross-subnet': crossSubnet,
});

export function backendFor(name: string): Backend | undefined {
  return Object.prototype.hasOwnProperty.call(BACKENDS, name) ? BACKENDS[name as BackendName] : undefined;
}
