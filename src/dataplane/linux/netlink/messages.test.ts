/** Per-object codecs (link, veth, vxlan, addr, route, neigh, fdb) without a kernel. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type NlMessage, attrMap, decodeAttrs, encodeMessage, decodeMessages, getString, getU32, getU16be, getU8, readS32 } from './codec.js';
import * as C from './constants.js';
import { decodeIfinfomsg, decodeLink, deleteLinkRequest, encodeIfinfomsg, getLinkRequest, setLinkRequest } from './link.js';
import { createVethRequest } from './veth.js';
import { createVxlanRequest, decodeVxlanData, encodeVxlanData } from './vxlan.js';
import { addAddressRequest, decodeAddr, listAddressesRequest } from './addr.js';
import { decodeRoute, deleteRouteRequest, listRoutesRequest, replaceRouteRequest } from './route.js';
import { appendFdbRequest, decodeNeigh, listNeighRequest, replaceNeighRequest } from './neigh.js';
import type { NlRequest } from './socket.js';

/** A request turned into the message the kernel would echo back (same layout). */
const asMessage = (r: NlRequest): NlMessage => decodeMessages(encodeMessage({ type: r.type, flags: 0, seq: 1, pid: 0 }, r.payload))[0]!;

test('ifinfomsg is 16 bytes and round-trips, negative-safe index', () => {
  const b = encodeIfinfomsg({ family: 0, type: 1, index: 42, flags: C.IFF_UP, change: C.IFF_UP });
  assert.equal(b.length, 16);
  assert.deepEqual(decodeIfinfomsg(b), { family: 0, type: 1, index: 42, flags: 1, change: 1 });
});

test('link get/delete by name use index 0 + IFLA_IFNAME; by index carry no name', () => {
  const byName = getLinkRequest({ name: 'pn0123456789ab' });
  assert.equal(byName.type, C.RTM_GETLINK);
  assert.equal(decodeIfinfomsg(byName.payload).index, 0);
  assert.equal(getString(attrMap(byName.payload, 16), C.IFLA_IFNAME), 'pn0123456789ab');
  const byIndex = deleteLinkRequest({ index: 7 });
  assert.equal(byIndex.type, C.RTM_DELLINK);
  assert.equal(decodeIfinfomsg(byIndex.payload).index, 7);
  assert.equal(attrMap(byIndex.payload, 16).has(C.IFLA_IFNAME), false);
});

test('set link: up sets flag and change mask; addrgenmode nests AF_SPEC > AF_INET6 > ADDR_GEN_MODE', () => {
  const up = setLinkRequest({ index: 3 }, { up: true, mtu: 1400 });
  assert.deepEqual(decodeIfinfomsg(up.payload), { family: 0, type: 0, index: 3, flags: C.IFF_UP, change: C.IFF_UP });
  assert.equal(getU32(attrMap(up.payload, 16), C.IFLA_MTU), 1400);
  const down = setLinkRequest({ index: 3 }, { up: false });
  assert.deepEqual([decodeIfinfomsg(down.payload).flags, decodeIfinfomsg(down.payload).change], [0, C.IFF_UP]);
  const gen = setLinkRequest({ index: 3 }, { addrGenMode: C.IN6_ADDR_GEN_MODE_NONE });
  assert.equal(decodeIfinfomsg(gen.payload).change, 0, 'no flag change asked');
  const af = attrMap(attrMap(gen.payload, 16).get(C.IFLA_AF_SPEC)!);
  assert.equal(getU8(attrMap(af.get(C.AF_INET6)!), C.IFLA_INET6_ADDR_GEN_MODE), 1);
});

test('veth: one NEWLINK, CREATE|EXCL, peer ifinfomsg + name + netns fd inside VETH_INFO_PEER', () => {
  const r = createVethRequest({ name: 'pnaaaaaaaaaaaa', mac: 'ee:ee:ee:ee:ee:ee', mtu: 1450, peer: { name: 'eth0', mac: '02:00:00:00:00:01', mtu: 1450, netnsFd: 23 } }, true);
  assert.equal(r.type, C.RTM_NEWLINK);
  assert.equal(r.flags, C.NLM_F_CREATE | C.NLM_F_EXCL | C.NLM_F_ECHO);
  const top = attrMap(r.payload, 16);
  assert.equal(getString(top, C.IFLA_IFNAME), 'pnaaaaaaaaaaaa');
  assert.equal(top.get(C.IFLA_ADDRESS)?.toString('hex'), 'eeeeeeeeeeee');
  assert.equal(getU32(top, C.IFLA_MTU), 1450);
  assert.equal(top.has(C.IFLA_NET_NS_FD), false, 'the host end stays');
  const info = attrMap(top.get(C.IFLA_LINKINFO)!);
  assert.equal(getString(info, C.IFLA_INFO_KIND), 'veth');
  const peer = attrMap(info.get(C.IFLA_INFO_DATA)!).get(C.VETH_INFO_PEER)!;
  assert.equal(decodeIfinfomsg(peer).flags, 0, 'peer cannot be brought up at creation');
  const pm = attrMap(peer, 16);
  assert.equal(getString(pm, C.IFLA_IFNAME), 'eth0');
  assert.equal(getU32(pm, C.IFLA_NET_NS_FD), 23);
  assert.equal(pm.get(C.IFLA_ADDRESS)?.toString('hex'), '020000000001');
});

test('decodeLink reads name, flags, mtu, mac, kind, peer index and netnsid', () => {
  const r = createVethRequest({ name: 'pnbbbbbbbbbbbb', mac: 'ee:ee:ee:ee:ee:ee', mtu: 9000, up: true, peer: { name: 'eth0' } });
  const l = decodeLink(asMessage(r));
  assert.equal(l.name, 'pnbbbbbbbbbbbb');
  assert.equal(l.up, true);
  assert.equal(l.mtu, 9000);
  assert.equal(l.mac, 'ee:ee:ee:ee:ee:ee');
  assert.equal(l.kind, 'veth');
  assert.equal(l.link, undefined);
});

test('vxlan: VNI, local, port big-endian, learning off; decode round-trip', () => {
  const data = encodeVxlanData({ vni: 4096, local: '192.0.2.10', port: 4789, learning: false, dev: 2, ttl: 64 });
  const m = attrMap(Buffer.concat(data));
  assert.equal(getU32(m, C.IFLA_VXLAN_ID), 4096);
  assert.equal(m.get(C.IFLA_VXLAN_LOCAL)?.toString('hex'), 'c000020a');
  assert.equal(m.get(C.IFLA_VXLAN_PORT)?.toString('hex'), '12b5');
  assert.equal(getU8(m, C.IFLA_VXLAN_LEARNING), 0);
  assert.deepEqual(decodeVxlanData(Buffer.concat(data)), { vni: 4096, local: '192.0.2.10', group: undefined, dev: 2, port: 4789, learning: false, ttl: 64 });
  const v6 = attrMap(Buffer.concat(encodeVxlanData({ vni: 1, local: 'fd00::1' })));
  assert.equal(v6.get(C.IFLA_VXLAN_LOCAL6)?.length, 16);
  assert.equal(getU16be(v6, C.IFLA_VXLAN_PORT), 4789, 'the IANA port, not the kernel default 8472');
  assert.throws(() => encodeVxlanData({ vni: 1 << 24 }), RangeError);
  const req = createVxlanRequest({ name: 'vx0', vni: 7, mtu: 1450 });
  assert.equal(getString(attrMap(attrMap(req.payload, 16).get(C.IFLA_LINKINFO)!), C.IFLA_INFO_KIND), 'vxlan');
});

test('address: ifaddrmsg fields, IFA_LOCAL = IFA_ADDRESS, full flags in IFA_FLAGS; decode', () => {
  const r = addAddressRequest({ index: 5, address: 'fd00::5', prefixlen: 128, flags: C.IFA_F_NODAD | C.IFA_F_NOPREFIXROUTE }, false);
  assert.equal(r.flags, C.NLM_F_CREATE | C.NLM_F_EXCL);
  assert.deepEqual([...r.payload.subarray(0, 4)], [C.AF_INET6, 128, C.IFA_F_NODAD, 0], 'low 8 flag bits in the header');
  const m = attrMap(r.payload, 8);
  assert.deepEqual(m.get(C.IFA_LOCAL), m.get(C.IFA_ADDRESS));
  assert.equal(getU32(m, C.IFA_FLAGS), C.IFA_F_NODAD | C.IFA_F_NOPREFIXROUTE);
  const a = decodeAddr(asMessage(r));
  assert.deepEqual(a, { family: 6, index: 5, address: 'fd00::5', local: undefined, prefixlen: 128, flags: 0x202, scope: 0, label: undefined });
  assert.equal(addAddressRequest({ index: 5, address: '10.0.0.1', prefixlen: 32 }, true).flags, C.NLM_F_CREATE | C.NLM_F_REPLACE);
  const dump = listAddressesRequest({ family: 4, index: 9 });
  assert.deepEqual([...dump.payload], [C.AF_INET, 0, 0, 0, 9, 0, 0, 0], 'strict dumps want zero prefix/flags/scope');
});

test('route: default via gateway, host route scope link, metrics MTU, onlink, table > 255', () => {
  const r = replaceRouteRequest({ family: 4, dst: '10.1.0.0/24', gateway: '192.0.2.1', oif: 3, priority: 20, mtu: 1400, onlink: true, protocol: 147, table: 1000 });
  assert.equal(r.flags, C.NLM_F_CREATE | C.NLM_F_REPLACE);
  const h = r.payload;
  assert.deepEqual([...h.subarray(0, 8)], [C.AF_INET, 24, 0, 0, C.RT_TABLE_UNSPEC, 147, C.RT_SCOPE_UNIVERSE, C.RTN_UNICAST]);
  const d = decodeRoute(asMessage(r))!;
  assert.equal(d.dst, '10.1.0.0/24');
  assert.equal(d.gateway, '192.0.2.1');
  assert.equal(d.oif, 3);
  assert.equal(d.priority, 20);
  assert.equal(d.mtu, 1400);
  assert.equal(d.onlink, true);
  assert.equal(d.table, 1000);
  const host = replaceRouteRequest({ family: 6, dst: 'fd00::5/128', oif: 4 });
  assert.equal(host.payload.readUInt8(6), C.RT_SCOPE_LINK, 'device-only routes default to scope link');
  assert.equal(decodeRoute(asMessage(replaceRouteRequest({ family: 4, dst: '0.0.0.0/0', gateway: '169.254.1.1', oif: 2 })))?.dst, '0.0.0.0/0');
});

test('route: IPv4 via an IPv6 next hop uses RTA_VIA; delete leaves scope/protocol/type as wildcards', () => {
  const r = replaceRouteRequest({ family: 4, dst: '10.2.0.0/16', gateway: 'fe80::1', oif: 2 });
  const via = attrMap(r.payload, 12).get(C.RTA_VIA)!;
  assert.equal(via.readUInt16LE(0), C.AF_INET6);
  assert.equal(decodeRoute(asMessage(r))?.gateway, 'fe80::1');
  const del = deleteRouteRequest({ family: 4, dst: '10.2.0.0/16' });
  assert.deepEqual([del.payload.readUInt8(5), del.payload.readUInt8(6), del.payload.readUInt8(7)], [0, C.RT_SCOPE_NOWHERE, C.RTN_UNSPEC]);
  assert.throws(() => replaceRouteRequest({ family: 6, dst: '10.0.0.0/8' }), RangeError);
});

test('route dump request carries table/oif as attributes and protocol in the header', () => {
  const r = listRoutesRequest({ family: 6, table: 254, protocol: 147, oif: 9 });
  assert.deepEqual([...r.payload.subarray(0, 8)], [C.AF_INET6, 0, 0, 0, 0, 147, 0, 0]);
  const m = attrMap(r.payload, 12);
  assert.equal(getU32(m, C.RTA_TABLE), 254);
  assert.equal(getU32(m, C.RTA_OIF), 9);
});

test('route: RTA_MULTIPATH next hops decode', () => {
  const base = replaceRouteRequest({ family: 4, dst: '0.0.0.0/0' });
  const nh = (ifindex: number, gw: number[]): Buffer => {
    const gwAttr = Buffer.from([8, 0, C.RTA_GATEWAY, 0, ...gw]);
    const b = Buffer.alloc(8);
    b.writeUInt16LE(8 + gwAttr.length, 0);
    b.writeInt32LE(ifindex, 4);
    return Buffer.concat([b, gwAttr]);
  };
  const mp = Buffer.concat([nh(2, [192, 0, 2, 1]), nh(3, [198, 51, 100, 1])]);
  const hdr = Buffer.alloc(4);
  hdr.writeUInt16LE(4 + mp.length, 0);
  hdr.writeUInt16LE(C.RTA_MULTIPATH, 2);
  const msg = asMessage({ ...base, payload: Buffer.concat([base.payload, hdr, mp]) });
  assert.deepEqual(decodeRoute(msg)?.nexthops, [
    { gateway: '192.0.2.1', oif: 2, flags: 0 },
    { gateway: '198.51.100.1', oif: 3, flags: 0 },
  ]);
});

test('neighbour: PERMANENT by default, family from the address; dump filters with NDA_IFINDEX', () => {
  const r = replaceNeighRequest({ index: 6, dst: 'fe80::ecee:eeff:feee:eeee', lladdr: 'ee:ee:ee:ee:ee:ee' });
  assert.equal(r.payload.readUInt8(0), C.AF_INET6);
  assert.equal(readS32(r.payload, 4), 6);
  const n = decodeNeigh(asMessage(r));
  assert.deepEqual([n.family, n.state, n.dst, n.lladdr, n.bridge], [6, C.NUD_PERMANENT, 'fe80::ecee:eeff:feee:eeee', 'ee:ee:ee:ee:ee:ee', false]);
  const dump = listNeighRequest({ family: 4, index: 6 });
  assert.equal(readS32(dump.payload, 4), 0, 'strict dumps want ndm_ifindex 0');
  assert.equal(getU32(attrMap(dump.payload, 12), C.NDA_IFINDEX), 6);
});

test('FDB: AF_BRIDGE, NTF_SELF, NUD_PERMANENT, NDA_DST, port big-endian, VNI', () => {
  const r = appendFdbRequest({ index: 8, lladdr: '00:00:00:00:00:00', dst: '192.0.2.20', port: 4789, vni: 42 });
  assert.equal(r.flags, C.NLM_F_CREATE | C.NLM_F_APPEND);
  assert.deepEqual([r.payload.readUInt8(0), r.payload.readUInt16LE(8), r.payload.readUInt8(10)], [C.AF_BRIDGE, C.NUD_PERMANENT, C.NTF_SELF]);
  const m = attrMap(r.payload, 12);
  assert.equal(m.get(C.NDA_PORT)?.toString('hex'), '12b5');
  const n = decodeNeigh(asMessage(r));
  assert.deepEqual([n.bridge, n.family, n.dst, n.lladdr, n.vni, n.port], [true, undefined, '192.0.2.20', '00:00:00:00:00:00', 42, 4789]);
  assert.equal(decodeAttrs(r.payload, 12).length, 4);
});
