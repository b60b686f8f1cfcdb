/**
 * The VXLAN devices of a tunnelling backend: one per underlay family in use. The device of the
 * node's primary underlay family (IPv4 when it has one) always exists and holds the tunnel
 * addresses; the other exists only while some peer can be reached over that family alone.
 */
import type { Family } from '../common/ip.js';
import { vxlanOverhead } from './mtu.js';
import type { NodeView } from './node-view.js';
import { sortByIp } from './order.js';
import { type DesiredVxlan, VXLAN_DEVICE, VXLAN_DEVICE_V6 } from './types.js';

export const vxlanDeviceName = (underlay: Family): string => (underlay === 4 ? VXLAN_DEVICE : VXLAN_DEVICE_V6);

export const primaryUnderlay = (me: NodeView): Family | undefined => (me.underlay[4] ? 4 : me.underlay[6] ? 6 : undefined);

export interface DeviceInput {
  readonly me: NodeView;
  readonly underlayDev: string;
  /** Remote nodes reached through a tunnel, by the underlay family the tunnel uses. */
  readonly peers: ReadonlyMap<Family, ReadonlyMap<string, NodeView>>;
  readonly vni: number;
  readonly port: number;
  readonly minUplink: number;
}

export function vxlanDevices(input: DeviceInput): DesiredVxlan[] {
  const { me } = input;
  const primary = primaryUnderlay(me);
  if (!me.vtep || primary === undefined) return [];
  const families = [...new Set<Family>([primary, ...input.peers.keys()])].sort();
  const out: DesiredVxlan[] = [];
  for (const f of families) {
    const local = me.underlay[f];
    if (!local) continue; // a tunnel family is one both ends have: cannot happen
    const tunnel = me.vtep.tunnel;
    const addresses = f !== primary ? [] : [...(tunnel[4] ? [`${tunnel[4]}/32`] : []), ...(tunnel[6] ? [`${tunnel[6]}/128`] : [])];
    const peers = sortByIp(input.peers.get(f)?.values() ?? [], (n) => n.underlay[f]?.ip ?? '').flatMap((n) => {
      const u = n.underlay[f];
      if (!n.vtep || !u) return [];
      const t = n.vtep.tunnel;
      return [{ mac: n.vtep.mac, underlay: u.ip, tunnelIps: [...(t[4] ? [t[4]] : []), ...(t[6] ? [t[6]] : [])] }];
    });
    out.push({
      name: vxlanDeviceName(f),
      family: f,
      vni: input.vni,
      port: input.port,
      local: local.ip,
      underlayDev: input.underlayDev,
      mac: me.vtep.mac,
      mtu: input.minUplink - vxlanOverhead(f),
      addresses,
      peers,
    });
  }
  return out;
}
