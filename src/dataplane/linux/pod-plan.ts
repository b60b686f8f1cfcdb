/**
 * The netlink requests that plumb one pod, as pure data (unit-tested without root).
 *
 * Routed design, no bridge: the pod gets /32 and /128 addresses, a link-scope route to
 * 169.254.1.1 and default routes via 169.254.1.1 and fe80::ecee:eeff:feee:eeee, both answered by
 * PERMANENT neighbour entries pointing at the host veth's fixed MAC: the pod never ARPs or
 * solicits for its gateway, so the host needs no proxy_arp and no gateway address.
 *
 * IPv6 on the host side: the host veth gets addr_gen_mode "none" while still down, then
 * fe80::ecee:eeff:feee:eeee/64 added by us with IFA_F_NODAD, then goes up. We chose this over
 * accept_dad=0 because it does not depend on the node's defaults (stable-privacy or random
 * addr_gen_mode would give the veth a different link-local address than the one the pod's
 * gateway route names) and needs no sysctl write (two namespace switches) per pod. The host must
 * have a usable (non-tentative) link-local address on the veth at once: neighbour solicitations
 * for the pod's address are sent from it, and the kernel sends none while it is tentative.
 *
 * The pod's own addresses are added with IFA_F_NODAD too; its kernel-made link-local address
 * still does DAD, which nothing depends on (the pod talks to the gateway from its global address
 * and the gateway's neighbour entry is static).
 */
import { RTPROT_PODNET, HOST_VETH_MAC, POD_GATEWAY_V4, POD_GATEWAY_V6, POD_IF_GROUP } from '../types.js';
import { type ValidPodNetSpec, hostPrefixLen } from '../spec.js';
import { addAddressRequest } from './netlink/addr.js';
import { IFA_F_NODAD, IN6_ADDR_GEN_MODE_NONE, LOOPBACK_IFINDEX, NUD_PERMANENT, RT_SCOPE_LINK, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN } from './netlink/constants.js';
import { setLinkRequest } from './netlink/link.js';
import { replaceNeighRequest } from './netlink/neigh.js';
import { replaceRouteRequest } from './netlink/route.js';
import type { NlRequest } from './netlink/socket.js';
import { createVethRequest } from './netlink/veth.js';

/** The host veth's IPv6 link-local address and prefix, equal to the pod's IPv6 gateway. */
export const HOST_LINK_LOCAL_PREFIX = 64;

/**
 * One RTM_NEWLINK for the pair: host end down (it is brought up after its IPv6 setup), peer
 * created inside the pod's namespace under its final name. The peer cannot be brought up in the
 * same message: veth_open() answers ENOTCONN until both ends are registered.
 */
export function vethRequest(s: ValidPodNetSpec, podNetnsFd: number, podMac: string): NlRequest {
  return createVethRequest(
    {
      name: s.hostIfname,
      mac: HOST_VETH_MAC,
      mtu: s.mtu,
      ifGroup: POD_IF_GROUP,
      peer: { name: s.ifname, mac: podMac, mtu: s.mtu, netnsFd: podNetnsFd },
    },
    true,
  );
}

/** Everything inside the pod, in dependency order (one batch on the pod's socket). */
export function podRequests(s: ValidPodNetSpec, podIndex: number): NlRequest[] {
  const dev = s.ifname;
  const reqs: NlRequest[] = [setLinkRequest({ index: podIndex }, { up: true }), setLinkRequest({ index: LOOPBACK_IFINDEX }, { up: true })];
  for (const a of s.addresses) {
    reqs.push(
      addAddressRequest(
        { index: podIndex, dev, address: a.address, prefixlen: hostPrefixLen(a.family), flags: a.family === 6 ? IFA_F_NODAD : 0, scope: RT_SCOPE_UNIVERSE },
        true,
      ),
    );
  }
  const common = { oif: podIndex, table: RT_TABLE_MAIN, protocol: RTPROT_PODNET };
  if (s.hasV4) {
    reqs.push(
      replaceNeighRequest({ index: podIndex, dev, dst: POD_GATEWAY_V4, lladdr: HOST_VETH_MAC, state: NUD_PERMANENT }),
      replaceRouteRequest({ ...common, family: 4, dst: `${POD_GATEWAY_V4}/32`, scope: RT_SCOPE_LINK }),
      replaceRouteRequest({ ...common, family: 4, dst: '0.0.0.0/0', gateway: POD_GATEWAY_V4, scope: RT_SCOPE_UNIVERSE }),
    );
  }
  if (s.hasV6) {
    reqs.push(
      replaceNeighRequest({ index: podIndex, dev, dst: POD_GATEWAY_V6, lladdr: HOST_VETH_MAC, state: NUD_PERMANENT }),
      replaceRouteRequest({ ...common, family: 6, dst: '::/0', gateway: POD_GATEWAY_V6, scope: RT_SCOPE_UNIVERSE }),
    );
  }
  return reqs;
}

/** The host end: IPv6 link-local (see above), up, then the routes to the pod (one batch). */
export function hostRequests(s: ValidPodNetSpec, hostIndex: number): NlRequest[] {
  const dev = s.hostIfname;
  const reqs: NlRequest[] = [];
  if (s.hasV6) {
    reqs.push(
      setLinkRequest({ index: hostIndex }, { addrGenMode: IN6_ADDR_GEN_MODE_NONE }),
      addAddressRequest({ index: hostIndex, dev, address: POD_GATEWAY_V6, prefixlen: HOST_LINK_LOCAL_PREFIX, flags: IFA_F_NODAD, scope: RT_SCOPE_LINK }, true),
    );
  }
  reqs.push(setLinkRequest({ index: hostIndex }, { up: true }));
  for (const a of s.addresses) {
    reqs.push(
      replaceRouteRequest({
        family: a.family,
        dst: `${a.address}/${hostPrefixLen(a.family)}`,
        oif: hostIndex,
        scope: RT_SCOPE_LINK,
        protocol: RTPROT_PODNET,
        table: RT_TABLE_MAIN,
      }),
    );
  }
  return reqs;
}
