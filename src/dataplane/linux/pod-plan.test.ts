/** The pod plumbing plan as data: which requests, in which order, with which fields. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validatePodNetSpec } from '../spec.js';
import { decodeAddr } from './netlink/addr.js';
import { attrMap, decodeMessages, encodeMessage, getString, getU32 } from './netlink/codec.js';
import * as C from './netlink/constants.js';
import { decodeIfinfomsg } from './netlink/link.js';
import { decodeNeigh } from './netlink/neigh.js';
import { decodeRoute } from './netlink/route.js';
import type { NlRequest } from './netlink/socket.js';
import { hostRequests, podRequests, vethRequest } from './pod-plan.js';
import { randomPodMac } from './pod-dataplane.js';

const spec = validatePodNetSpec({
  netnsPath: '/run/netns/p',
  ifname: 'eth0',
  hostIfname: 'pn0123456789ab',
  addresses: [
    { family: 4, address: '10.244.0.5' },
    { family: 6, address: 'fd00::5' },
  ],
  mtu: 1450,
});
const msg = (r: NlRequest) => decodeMessages(encodeMessage({ type: r.type, flags: 0, seq: 1, pid: 0 }, r.payload))[0]!;

function describe(r: NlRequest): string {
  switch (r.type) {
    case C.RTM_SETLINK: {
      const h = decodeIfinfomsg(r.payload);
      const m = attrMap(r.payload, 16);
      return `setlink #${h.index}${h.change & C.IFF_UP ? (h.flags & C.IFF_UP ? ' up' : ' down') : ''}${m.has(C.IFLA_AF_SPEC) ? ' afspec' : ''}`;
    }
    case C.RTM_NEWADDR: {
      const a = decodeAddr(msg(r))!;
      return `addr ${a.address}/${a.prefixlen} #${a.index}${a.flags & C.IFA_F_NODAD ? ' nodad' : ''}`;
    }
    case C.RTM_NEWNEIGH: {
      const n = decodeNeigh(msg(r));
      return `neigh ${n.dst} ${n.lladdr} #${n.index}${n.state === C.NUD_PERMANENT ? ' permanent' : ''}`;
    }
    case C.RTM_NEWROUTE: {
      const x = decodeRoute(msg(r))!;
      return `route ${x.dst}${x.gateway ? ` via ${x.gateway}` : ''} #${x.oif} proto ${x.protocol}${x.scope === C.RT_SCOPE_LINK ? ' scope link' : ''}`;
    }
    default:
      return `type ${r.type}`;
  }
}

test('veth request: host end named, MAC ee:.., not up; peer named ifname inside the pod netns fd', () => {
  const r = vethRequest(spec, 42, '02:00:00:00:00:05');
  assert.equal(r.flags & (C.NLM_F_CREATE | C.NLM_F_EXCL | C.NLM_F_ECHO), C.NLM_F_CREATE | C.NLM_F_EXCL | C.NLM_F_ECHO);
  assert.equal(decodeIfinfomsg(r.payload).flags & C.IFF_UP, 0);
  const top = attrMap(r.payload, 16);
  assert.equal(getString(top, C.IFLA_IFNAME), 'pn0123456789ab');
  assert.equal(top.get(C.IFLA_ADDRESS)?.toString('hex'), 'eeeeeeeeeeee');
  const peer = attrMap(attrMap(attrMap(top.get(C.IFLA_LINKINFO)!).get(C.IFLA_INFO_DATA)!).get(C.VETH_INFO_PEER)!, 16);
  assert.equal(getString(peer, C.IFLA_IFNAME), 'eth0');
  assert.equal(getU32(peer, C.IFLA_NET_NS_FD), 42);
  assert.equal(getU32(peer, C.IFLA_MTU), 1450);
});

test('pod side: link and lo up, /32 and /128 NODAD, permanent gateway neighbours, link route then defaults', () => {
  assert.deepEqual(podRequests(spec, 7).map(describe), [
    'setlink #7 up',
    'setlink #1 up',
    'addr 10.244.0.5/32 #7',
    'addr fd00::5/128 #7 nodad',
    'neigh 169.254.1.1 ee:ee:ee:ee:ee:ee #7 permanent',
    'route 169.254.1.1/32 #7 proto 147 scope link',
    'route 0.0.0.0/0 via 169.254.1.1 #7 proto 147',
    'neigh fe80::ecee:eeff:feee:eeee ee:ee:ee:ee:ee:ee #7 permanent',
    'route ::/0 via fe80::ecee:eeff:feee:eeee #7 proto 147',
  ]);
});

test('host side: addr_gen_mode none and our NODAD link-local before up, then proto 147 host routes', () => {
  assert.deepEqual(hostRequests(spec, 9).map(describe), [
    'setlink #9 afspec',
    'addr fe80::ecee:eeff:feee:eeee/64 #9 nodad',
    'setlink #9 up',
    'route 10.244.0.5/32 #9 proto 147 scope link',
    'route fd00::5/128 #9 proto 147 scope link',
  ]);
  const v4only = validatePodNetSpec({ ...spec, addresses: [{ family: 4, address: '10.0.0.9' }] });
  assert.deepEqual(hostRequests(v4only, 9).map(describe), ['setlink #9 up', 'route 10.0.0.9/32 #9 proto 147 scope link']);
  assert.ok(!podRequests(v4only, 3).map(describe).some((d) => d.includes('fe80')));
});

test('random pod MACs are locally administered unicast', () => {
  for (let i = 0; i < 50; i++) {
    const first = parseInt(randomPodMac().slice(0, 2), 16);
    assert.equal(first & 0x03, 0x02);
  }
});
