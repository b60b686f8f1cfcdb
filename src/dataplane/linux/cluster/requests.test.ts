/** The cluster dataplane's netlink requests and ethtool/genetlink encoding, without a kernel. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type NlMessage, attrMap, attrNested, attrString, attrU32, decodeAttrs, decodeMessages, encodeMessage, getString, getU32, getU8 } from '../netlink/codec.js';
import * as C from '../netlink/constants.js';
import { decodeRtmsg } from '../netlink/route.js';
import { decodeNdmsg, decodeNeigh } from '../netlink/neigh.js';
import type { NlRequest } from '../netlink/socket.js';
import { decodeVxlanData } from '../netlink/vxlan.js';
import { bitsetNames } from './ethtool.js';
import { disablesTxChecksum } from './offload.js';
import { genlRequest } from './genl.js';
import { createDeviceRequest, putRouteRequest, removeRouteRequest, setFdbRequest, setNeighRequest } from './requests.js';

const asMessage = (r: NlRequest): NlMessage => decodeMessages(encodeMessage({ type: r.type, flags: 0, seq: 1, pid: 0 }, r.payload))[0]!;
const index = (dev: string): number => ({ eth0: 2, 'podnet.vxlan': 7 })[dev] ?? 99;

test('routes carry protocol 148 in the main table; blackholes are RTN_BLACKHOLE scope universe; onlink is a flag', () => {
  const bh = putRouteRequest({ kind: 'blackhole', family: 4, dst: '10.244.0.64/26' }, index);
  assert.equal(bh.type, C.RTM_NEWROUTE);
  assert.equal(bh.flags, C.NLM_F_CREATE | C.NLM_F_REPLACE);
  const h = decodeRtmsg(bh.payload);
  assert.deepEqual([h.protocol, h.table, h.type, h.scope, h.dstLen], [148, C.RT_TABLE_MAIN, C.RTN_BLACKHOLE, C.RT_SCOPE_UNIVERSE, 26]);
  assert.equal(attrMap(bh.payload, C.RTMSG_LEN).get(C.RTA_OIF), undefined);

  const via = putRouteRequest({ kind: 'via', family: 6, dst: 'fd10:244::80/122', via: 'fd10:244::81', dev: 'podnet.vxlan', onlink: true }, index);
  const vh = decodeRtmsg(via.payload);
  assert.deepEqual([vh.protocol, vh.type, vh.flags & C.RTNH_F_ONLINK], [148, C.RTN_UNICAST, C.RTNH_F_ONLINK]);
  const m = attrMap(via.payload, C.RTMSG_LEN);
  assert.equal(getU32(m, C.RTA_OIF), 7);
  assert.equal(m.get(C.RTA_GATEWAY)?.length, 16);

  // IPv4 block via an IPv6 next hop: RTA_VIA (family + address), not RTA_GATEWAY.
  const rfc5549 = putRouteRequest({ kind: 'via', family: 4, dst: '10.244.0.128/26', via: 'fd00:a::c', dev: 'eth0', onlink: false }, index);
  const rm = attrMap(rfc5549.payload, C.RTMSG_LEN);
  assert.equal(rm.get(C.RTA_GATEWAY), undefined);
  assert.equal(rm.get(C.RTA_VIA)?.length, 18);

  const del = removeRouteRequest({ kind: 'other', family: 6, dst: 'fd10:244::80/122', priority: 1024 });
  assert.equal(del.type, C.RTM_DELROUTE);
  assert.equal(decodeRtmsg(del.payload).protocol, 148);
  assert.equal(getU32(attrMap(del.payload, C.RTMSG_LEN), C.RTA_PRIORITY), 1024);
  assert.throws(() => putRouteRequest({ kind: 'via', family: 4, dst: '10.0.0.0/8', via: '10.0.0.1', dev: 'nope', onlink: false }, () => {
    throw new Error('missing');
  }));
});

test('FDB entries are AF_BRIDGE, NTF_SELF, permanent, MAC -> underlay; neighbours permanent tunnel IP -> MAC', () => {
  const fdb = setFdbRequest({ dev: 'podnet.vxlan', mac: '02:00:00:00:01:02', dst: '172.30.1.12' }, index);
  const n = decodeNeigh(asMessage(fdb));
  assert.equal(fdb.flags, C.NLM_F_CREATE | C.NLM_F_REPLACE);
  assert.deepEqual([n.bridge, n.index, n.state, n.flags, n.lladdr, n.dst], [true, 7, C.NUD_PERMANENT, C.NTF_SELF, '02:00:00:00:01:02', '172.30.1.12']);
  const ne = setNeighRequest({ dev: 'podnet.vxlan', ip: 'fd10:244::81', mac: '02:00:00:00:01:02' }, index);
  const h = decodeNdmsg(ne.payload);
  assert.deepEqual([h.family, h.index, h.state], [C.AF_INET6, 7, C.NUD_PERMANENT]);
});

test('the VXLAN device: no learning, no group, VNI, port, local, lower device, MAC and MTU', () => {
  const r = createDeviceRequest(
    { name: 'podnet.vxlan', family: 4, vni: 4096, port: 4789, local: '172.30.1.11', underlayDev: 'eth0', mac: '02:00:00:00:01:01', mtu: 1450, addresses: [], peers: [] },
    index,
  );
  assert.equal(r.flags & C.NLM_F_EXCL, C.NLM_F_EXCL);
  const top = attrMap(r.payload, C.IFINFOMSG_LEN);
  assert.equal(getString(top, C.IFLA_IFNAME), 'podnet.vxlan');
  assert.equal(getU32(top, C.IFLA_MTU), 1450);
  const info = attrMap(top.get(C.IFLA_LINKINFO)!);
  assert.equal(getString(info, C.IFLA_INFO_KIND), 'vxlan');
  const data = info.get(C.IFLA_INFO_DATA)!;
  assert.deepEqual(decodeVxlanData(data), { vni: 4096, local: '172.30.1.11', group: undefined, dev: 2, port: 4789, learning: false, ttl: undefined });
  assert.equal(getU8(attrMap(data), C.IFLA_VXLAN_LEARNING), 0);
});

test('genetlink header and ethtool bitsets', () => {
  const g = genlRequest(0x15, 12, 1, [attrU32(1, 5)], 'x');
  assert.equal(g.type, 0x15);
  assert.deepEqual([...g.payload.subarray(0, 4)], [12, 1, 0, 0]);
  const bit = (name: string): Buffer => attrNested(1, [attrU32(1, 3), attrString(2, name)], true);
  const bitset = Buffer.concat([attrNested(3, [bit('tx-checksum-ip-generic'), bit('tx-scatter-gather')], true)]);
  assert.deepEqual(bitsetNames(bitset), ['tx-checksum-ip-generic', 'tx-scatter-gather']);
  assert.equal(decodeAttrs(bitset)[0]?.nested, true);
  assert.deepEqual(bitsetNames(Buffer.alloc(0)), []);
});

test('TX checksum offload policy: disable always, auto only before 5.7, keep never', () => {
  assert.equal(disablesTxChecksum('disable', '6.18.44'), true);
  assert.equal(disablesTxChecksum('keep', '3.10.0-1160.el7'), false);
  assert.deepEqual(['3.10.0-1160.el7', '5.4.0-42', '5.6.19', '5.7.0', '5.15.0-37-generic', '6.18.44-fc'].map((r) => disablesTxChecksum('auto', r)), [true, true, true, false, false, false]);
  assert.equal(disablesTxChecksum('auto', 'weird'), true);
});
