/**
 * Privileged: every netlink operation against the real kernel, inside a throw-away namespace,
 * cross-checked with iproute2's own reading (ip -j / bridge -j).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { isKernelError } from '../../errors.js';
import { NetnsPool, ipIn, ipJson, privilegedSkip } from '../netns-fixture.js';
import { addAddress, listAddresses } from './addr.js';
import { IFA_F_NODAD, IN6_ADDR_GEN_MODE_NONE, NUD_PERMANENT, RTN_UNICAST, RT_SCOPE_LINK, RT_TABLE_MAIN } from './constants.js';
import { deleteLink, deleteLinkRequest, getLink, listLinks, setLink } from './link.js';
import { appendFdb, deleteFdb, listFdb, listNeighbours, replaceFdb, replaceNeigh } from './neigh.js';
import { addRouteRequest, deleteRoute, deleteRouteRequest, listRoutes, replaceRoute } from './route.js';
import { NetlinkSocket } from './socket.js';
import { createVethRequest } from './veth.js';
import { createVxlanRequest, decodeVxlanData } from './vxlan.js';

const skip = privilegedSkip();
const pool = new NetnsPool();
let ns = '';
let sock: NetlinkSocket | undefined;
const s = (): NetlinkSocket => sock!;

before(() => {
  if (skip) return;
  ns = pool.create('nl');
  sock = NetlinkSocket.open({ netnsPath: pool.path(ns), label: ns });
  s().request(createVethRequest({ name: 'ta', mtu: 1500, peer: { name: 'tb' } }));
  setLink(s(), { name: 'ta' }, { up: true });
  setLink(s(), { name: 'tb' }, { up: true });
});
after(() => {
  sock?.close();
  pool.cleanup();
});

test('the socket sees its own namespace only', { skip }, () => {
  const names = listLinks(s()).map((l) => l.name).sort();
  assert.deepEqual(names, ['lo', 'ta', 'tb']);
});

test('links: get by name/index, veth peer index, set mtu, EEXIST with operation text, absent is undefined/false', { skip }, () => {
  const ta = getLink(s(), { name: 'ta' })!;
  const tb = getLink(s(), { index: ta.link! })!;
  assert.equal(tb.name, 'tb');
  assert.equal(tb.link, ta.index);
  assert.equal(ta.kind, 'veth');
  assert.equal(ta.up, true);
  setLink(s(), { index: ta.index }, { mtu: 1400 });
  assert.equal(getLink(s(), { name: 'ta' })?.mtu, 1400);
  assert.equal(ipJson<{ mtu: number }[]>(ns, 'link', 'show', 'ta')[0]?.mtu, 1400);
  setLink(s(), { index: ta.index }, { mtu: 1500 });
  assert.throws(
    () => s().request(createVethRequest({ name: 'ta', peer: { name: 'tz' } })),
    (e) => isKernelError(e, 'EEXIST') && e.code === 'DATAPLANE_NETLINK_FAILED' && e.message.includes('create veth ta/tz') && e.message.includes(ns),
  );
  assert.equal(getLink(s(), { name: 'nope0' }), undefined);
  assert.equal(deleteLink(s(), { name: 'nope0' }), false);
});

test('link with addr_gen_mode none gets no kernel link-local; our NODAD one is usable at once', { skip }, () => {
  s().request(createVethRequest({ name: 'ga', peer: { name: 'gb' } }));
  try {
    setLink(s(), { name: 'ga' }, { addrGenMode: IN6_ADDR_GEN_MODE_NONE });
    const ga = getLink(s(), { name: 'ga' })!;
    addAddress(s(), { index: ga.index, address: 'fe80::ecee:eeff:feee:eeee', prefixlen: 64, flags: IFA_F_NODAD, scope: RT_SCOPE_LINK });
    setLink(s(), { name: 'ga' }, { up: true });
    setLink(s(), { name: 'gb' }, { up: true });
    const v6 = listAddresses(s(), { family: 6, index: ga.index });
    assert.deepEqual(v6.map((a) => `${a.address}/${a.prefixlen}`), ['fe80::ecee:eeff:feee:eeee/64']);
    assert.equal(v6[0]!.flags & 0x40, 0, 'not tentative');
  } finally {
    deleteLink(s(), { name: 'ga' });
  }
});

test('addresses: add, list per device and family, EEXIST without replace', { skip }, () => {
  const ta = getLink(s(), { name: 'ta' })!;
  addAddress(s(), { index: ta.index, address: '192.0.2.1', prefixlen: 24 });
  addAddress(s(), { index: ta.index, address: '2001:db8::1', prefixlen: 64, flags: IFA_F_NODAD });
  const got = listAddresses(s(), { index: ta.index }).map((a) => `${a.address}/${a.prefixlen}`);
  assert.ok(got.includes('192.0.2.1/24') && got.includes('2001:db8::1/64'), got.join(','));
  assert.deepEqual(listAddresses(s(), { family: 4 }).map((a) => a.address).sort(), ['127.0.0.1', '192.0.2.1']);
  assert.throws(() => addAddress(s(), { index: ta.index, address: '192.0.2.1', prefixlen: 24 }), (e) => isKernelError(e, 'EEXIST'));
  addAddress(s(), { index: ta.index, address: '192.0.2.1', prefixlen: 24 }, true);
});

test('routes: replace with table/protocol/metric/mtu/onlink, list by protocol, delete; iproute2 agrees', { skip }, () => {
  const ta = getLink(s(), { name: 'ta' })!;
  replaceRoute(s(), { family: 4, dst: '10.50.0.0/16', gateway: '192.0.2.254', oif: ta.index, table: 100, protocol: 147, priority: 7, mtu: 1380 });
  replaceRoute(s(), { family: 4, dst: '10.60.0.0/16', gateway: '198.51.100.1', oif: ta.index, onlink: true, protocol: 147 });
  replaceRoute(s(), { family: 6, dst: '2001:db8:5::/64', gateway: '2001:db8::2', oif: ta.index, protocol: 147, mtu: 1400 });
  replaceRoute(s(), { family: 4, dst: '10.70.0.1/32', oif: ta.index, protocol: 148 });

  const v4 = listRoutes(s(), { family: 4, protocol: 147 });
  assert.deepEqual(v4.map((r) => r.dst).sort(), ['10.50.0.0/16', '10.60.0.0/16']);
  const r50 = v4.find((r) => r.dst === '10.50.0.0/16')!;
  assert.deepEqual([r50.table, r50.gateway, r50.oif, r50.priority, r50.mtu, r50.type], [100, '192.0.2.254', ta.index, 7, 1380, RTN_UNICAST]);
  assert.equal(v4.find((r) => r.dst === '10.60.0.0/16')?.onlink, true);
  assert.deepEqual(listRoutes(s(), { family: 4, table: 100 }).map((r) => r.dst), ['10.50.0.0/16']);
  assert.deepEqual(listRoutes(s(), { family: 4, table: 4242 }), [], 'absent table is empty, not an error');
  const v6 = listRoutes(s(), { family: 6, protocol: 147 });
  assert.deepEqual(v6.map((r) => [r.dst, r.gateway, r.mtu]), [['2001:db8:5::/64', '2001:db8::2', 1400]]);
  const host = listRoutes(s(), { family: 4, protocol: 148, table: RT_TABLE_MAIN })[0]!;
  assert.equal(host.scope, RT_SCOPE_LINK);

  const ipView = ipJson<{ dst: string; gateway: string; metric: number; protocol: string; metrics?: { mtu: number }[] }[]>(ns, 'route', 'show', 'table', '100');
  assert.equal(ipView[0]?.dst, '10.50.0.0/16');
  assert.equal(ipView[0]?.gateway, '192.0.2.254');
  assert.equal(ipView[0]?.metric, 7);
  assert.match(ipIn(ns, 'route', 'show', 'table', '100'), /proto 147 .*mtu 1380/);

  assert.equal(deleteRoute(s(), { family: 4, dst: '10.50.0.0/16', table: 100 }), true);
  assert.equal(deleteRoute(s(), { family: 4, dst: '10.50.0.0/16', table: 100 }), false);
  assert.equal(deleteRoute(s(), { family: 4, dst: '10.60.0.0/16', protocol: 99 }), false, 'protocol must match');
  assert.equal(deleteRoute(s(), { family: 4, dst: '10.60.0.0/16', protocol: 147 }), true);
  assert.equal(deleteRoute(s(), { family: 6, dst: '2001:db8:5::/64', protocol: 147 }), true);
  assert.equal(deleteRoute(s(), { family: 4, dst: '10.70.0.1/32' }), true);
});

test('kernel extended-ack text reaches the error message', { skip }, () => {
  s().request(createVethRequest({ name: 'da', peer: { name: 'db' } }));
  try {
    const da = getLink(s(), { name: 'da' })!;
    assert.throws(
      () => replaceRoute(s(), { family: 4, dst: '10.80.0.0/16', oif: da.index }),
      (e) => isKernelError(e, 'ENETDOWN') && /ENETDOWN \(network is down\): .*not up/i.test(e.message),
    );
  } finally {
    deleteLink(s(), { name: 'da' });
  }
});

test('batches: thousands of requests in chunks, a failure in the middle is reported and the rest applied; big dumps', { skip }, () => {
  const ta = getLink(s(), { name: 'ta' })!;
  const n = 3000;
  const dst = (i: number): string => `10.90.${i >> 8}.${i & 255}/32`;
  const reqs = Array.from({ length: n }, (_, i) => addRouteRequest({ family: 4, dst: dst(i), oif: ta.index, protocol: 149 }));
  s().requestAll(reqs);
  const listed = listRoutes(s(), { family: 4, protocol: 149 });
  assert.equal(listed.length, n);
  assert.ok(s().stats.datagrams > 0);

  const again = [addRouteRequest({ family: 4, dst: '10.91.0.1/32', oif: ta.index, protocol: 149 }), reqs[5]!, addRouteRequest({ family: 4, dst: '10.91.0.2/32', oif: ta.index, protocol: 149 })];
  assert.throws(() => s().requestAll(again), (e) => isKernelError(e, 'EEXIST') && e.message.includes(dst(5)));
  assert.equal(listRoutes(s(), { family: 4, protocol: 149 }).length, n + 2, 'requests after the failure still ran');

  s().requestAll(listed.map((r) => deleteRouteRequest({ family: 4, dst: r.dst, protocol: 149 })));
  s().requestAll([deleteRouteRequest({ family: 4, dst: '10.91.0.1/32' }), deleteRouteRequest({ family: 4, dst: '10.91.0.2/32' })]);
  assert.equal(listRoutes(s(), { family: 4, protocol: 149 }).length, 0);
});

test('neighbours: permanent entries written and read back', { skip }, () => {
  const ta = getLink(s(), { name: 'ta' })!;
  replaceNeigh(s(), { index: ta.index, dst: '192.0.2.77', lladdr: 'ee:ee:ee:ee:ee:ee' });
  replaceNeigh(s(), { index: ta.index, dst: 'fe80::77', lladdr: '02:00:00:00:00:77' });
  const got = listNeighbours(s(), { index: ta.index });
  const v4 = got.find((n) => n.dst === '192.0.2.77');
  assert.equal(v4?.lladdr, 'ee:ee:ee:ee:ee:ee');
  assert.equal(v4?.state, NUD_PERMANENT);
  assert.equal(got.find((n) => n.dst === 'fe80::77')?.family, 6);
  assert.match(ipIn(ns, 'neigh', 'show', 'dev', 'ta'), /192\.0\.2\.77 lladdr ee:ee:ee:ee:ee:ee PERMANENT/);
});

test('vxlan with static FDB: link attributes and entries as iproute2 reads them', { skip }, () => {
  const ta = getLink(s(), { name: 'ta' })!;
  s().request(createVxlanRequest({ name: 'vx0', vni: 4242, local: '192.0.2.1', dev: ta.index, port: 4789, learning: false, mtu: 1450, ttl: 64 }));
  try {
    const vx = getLink(s(), { name: 'vx0' })!;
    assert.equal(vx.kind, 'vxlan');
    assert.deepEqual(decodeVxlanData(vx.infoData!), { vni: 4242, local: '192.0.2.1', group: undefined, dev: ta.index, port: 4789, learning: false, ttl: 64 });
    const d = ipJson<{ linkinfo: { info_data: { id: number; local: string; port: number; learning: boolean; ttl: number } } }[]>(ns, '-d', 'link', 'show', 'vx0')[0]!;
    assert.deepEqual([d.linkinfo.info_data.id, d.linkinfo.info_data.local, d.linkinfo.info_data.port, d.linkinfo.info_data.learning], [4242, '192.0.2.1', 4789, false]);

    appendFdb(s(), { index: vx.index, lladdr: '00:00:00:00:00:00', dst: '192.0.2.2' });
    appendFdb(s(), { index: vx.index, lladdr: '00:00:00:00:00:00', dst: '192.0.2.3' });
    replaceFdb(s(), { index: vx.index, lladdr: '0e:00:00:00:00:02', dst: '192.0.2.2' });
    replaceFdb(s(), { index: vx.index, lladdr: '0e:00:00:00:00:02', dst: '192.0.2.4' }); // moves
    const fdb = listFdb(s(), vx.index).filter((e) => e.dst !== undefined);
    const text = fdb.map((e) => `${e.lladdr} ${e.dst}`).sort();
    assert.deepEqual(text, ['00:00:00:00:00:00 192.0.2.2', '00:00:00:00:00:00 192.0.2.3', '0e:00:00:00:00:02 192.0.2.4']);
    assert.ok(fdb.every((e) => e.bridge && e.state & NUD_PERMANENT));
    const br = JSON.parse(execFileSync('bridge', ['-n', ns, '-j', 'fdb', 'show', 'dev', 'vx0'], { encoding: 'utf8' })) as { mac: string; dst?: string }[];
    assert.deepEqual(br.filter((e) => e.dst).map((e) => `${e.mac} ${e.dst}`).sort(), text);
    assert.equal(deleteFdb(s(), { index: vx.index, lladdr: '00:00:00:00:00:00', dst: '192.0.2.3' }), true);
    assert.equal(listFdb(s(), vx.index).filter((e) => e.dst === '192.0.2.3').length, 0);
  } finally {
    deleteLink(s(), { name: 'vx0' });
  }
});

test('requestAsync: the slow delete runs off the main thread and reports errors like request()', { skip }, async () => {
  const own = NetlinkSocket.open({ netnsPath: pool.path(ns), label: ns });
  try {
    own.request(createVethRequest({ name: 'aa', peer: { name: 'ab' } }));
    const sends = own.stats.sends;
    const p = own.requestAsync(deleteLinkRequest({ name: 'aa' }));
    // Once its microtask ran, the send is on a worker thread; no I/O callback can come earlier.
    await Promise.resolve();
    await Promise.resolve();
    assert.throws(() => own.request(deleteLinkRequest({ name: 'x' })), /in flight/);
    await p;
    assert.equal(own.stats.sends, sends + 1, 'the worker-thread send succeeded (no synchronous redo)');
    assert.equal(getLink(s(), { name: 'aa' }), undefined);
    await assert.rejects(own.requestAsync(deleteLinkRequest({ name: 'aa' })), (e) => isKernelError(e, 'ENODEV'));
  } finally {
    own.close();
  }
});
