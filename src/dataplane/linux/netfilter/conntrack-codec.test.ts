/** The ctnetlink event decoder against hand-built messages (no root). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIp, parseIp } from '../../../common/ip.js';
import { decodeConntrackDatagram, decodeConntrackEvent, statusFlags } from './conntrack-codec.js';
import { buildConntrackMessage } from './fixtures.js';
import { ipv4Text, ipv6Text } from './nfnl.js';
import type { ConntrackEvent } from './types.js';

const TCP = { src: '10.1.0.2', dst: '10.1.0.1', protocol: 6, sport: 41000, dport: 8080 };
const TCP_REPLY = { src: '10.1.0.1', dst: '10.1.0.2', protocol: 6, sport: 8080, dport: 41000 };

test('a NEW event (NLM_F_CREATE) decodes tuples, id, status, timeout and TCP state', () => {
  const ev = decodeConntrackEvent(buildConntrackMessage({ type: 'new', orig: TCP, reply: TCP_REPLY, id: 0xdeadbeef, status: 0x8, timeout: 120, tcpState: 1 }), 1000);
  assert.deepEqual(ev, {
    type: 'new',
    family: 4,
    protocol: 6,
    orig: TCP,
    reply: TCP_REPLY,
    id: 0xdeadbeef,
    status: 8,
    timeout: 120,
    tcpState: 'SYN_SENT',
    observedMs: 1000,
  });
});

test('the same message type without NLM_F_CREATE is an update; IPCTNL_MSG_CT_DELETE a destroy', () => {
  assert.equal(decodeConntrackEvent(buildConntrackMessage({ type: 'update', orig: TCP }))?.type, 'update');
  assert.equal(decodeConntrackEvent(buildConntrackMessage({ type: 'destroy', orig: TCP }))?.type, 'destroy');
});

test('DESTROY carries 64-bit counters per direction, ns timestamps, mark and zone', () => {
  const start = 1_700_000_000_123_456_789n;
  const stop = start + 2_500_000_000n;
  const ev = decodeConntrackEvent(
    buildConntrackMessage({ type: 'destroy', orig: TCP, reply: TCP_REPLY, counters: { orig: [5n, 5_000_000_000n], reply: [4n, 300n] }, timestampNs: [start, stop], mark: 0x42, zone: 7, status: 0x0e }),
  )!;
  assert.deepEqual(ev.counters, { orig: { packets: 5, bytes: 5_000_000_000 }, reply: { packets: 4, bytes: 300 } });
  assert.ok(Math.abs(ev.startMs! - 1_700_000_000_123.456789) < 0.001);
  assert.ok(Math.abs(ev.stopMs! - ev.startMs! - 2500) < 0.001);
  assert.equal(ev.mark, 0x42);
  assert.equal(ev.zone, 7);
  assert.deepEqual(statusFlags(ev.status!), ['SEEN_REPLY', 'ASSURED', 'CONFIRMED']);
});

test('ICMP and ICMPv6 tuples carry type, code and id; IPv6 addresses are canonical', () => {
  const icmp = decodeConntrackEvent(buildConntrackMessage({ type: 'new', orig: { src: '10.0.0.1', dst: '10.0.0.2', protocol: 1, icmpType: 8, icmpCode: 0, icmpId: 4242 }, reply: { src: '10.0.0.2', dst: '10.0.0.1', protocol: 1, icmpType: 0, icmpCode: 0, icmpId: 4242 } }))!;
  assert.deepEqual(icmp.orig, { src: '10.0.0.1', dst: '10.0.0.2', protocol: 1, icmpType: 8, icmpCode: 0, icmpId: 4242 });
  assert.equal(icmp.reply?.icmpType, 0);
  const v6 = decodeConntrackEvent(buildConntrackMessage({ type: 'new', orig: { src: 'fd00:0:0:0::1', dst: 'FD00::0002', protocol: 58, icmpType: 128, icmpCode: 0, icmpId: 7 } }))!;
  assert.equal(v6.family, 6);
  assert.deepEqual(v6.orig, { src: 'fd00::1', dst: 'fd00::2', protocol: 58, icmpType: 128, icmpCode: 0, icmpId: 7 });
  const udp6 = decodeConntrackEvent(buildConntrackMessage({ type: 'destroy', orig: { src: '2001:db8::10', dst: '2001:db8:0:1::20', protocol: 17, sport: 5353, dport: 53 } }))!;
  assert.deepEqual(udp6.orig, { src: '2001:db8::10', dst: '2001:db8:0:1::20', protocol: 17, sport: 5353, dport: 53 });
});

test('a datagram with several events decodes them all; a malformed one is counted and skipped', () => {
  const good = buildConntrackMessage({ type: 'new', orig: TCP });
  const bad = buildConntrackMessage({ type: 'new', orig: TCP });
  bad.writeUInt16LE(0xfff0, 16 + 4); // first attribute's nla_len now runs past the message
  const dgram = Buffer.concat([good, bad, good]);
  const out: ConntrackEvent[] = [];
  const errors: Error[] = [];
  decodeConntrackDatagram(dgram, dgram.length, { record: (r) => out.push(r), error: (e) => errors.push(e) }, 5);
  assert.equal(out.length, 2);
  assert.equal(errors.length, 1);
  assert.match(errors[0]!.message, /bad nla_len/);
  assert.equal((errors[0] as { code?: string }).code, 'NETFILTER_DECODE_FAILED');
  // A broken nlmsg_len loses the rest of the datagram, after what came before it.
  const cut = Buffer.concat([good, Buffer.from(good.subarray(0, 20))]);
  cut.writeUInt32LE(500, good.length);
  const out2: ConntrackEvent[] = [];
  const errs2: Error[] = [];
  decodeConntrackDatagram(cut, cut.length, { record: (r) => out2.push(r), error: (e) => errs2.push(e) });
  assert.equal(out2.length, 1);
  assert.match(errs2[0]!.message, /bad nlmsg_len/);
});

test('messages that are not conntrack events decode to undefined', () => {
  const m = buildConntrackMessage({ type: 'new', orig: TCP });
  m.writeUInt16LE((4 << 8) | 0, 4); // NFLOG packet type
  assert.equal(decodeConntrackEvent(m), undefined);
});

test('address text matches common/ip formatting for random addresses', () => {
  for (let i = 0; i < 2000; i++) {
    const b = Buffer.alloc(16);
    // Whole zero groups half of the time, so every shape of zero run (and ties) comes up.
    for (let j = 0; j < 16; j += 2) if (Math.random() < 0.5) b.writeUInt16BE(Math.floor(Math.random() * 0x10000), j);
    const v = (b.readBigUInt64BE(0) << 64n) | b.readBigUInt64BE(8);
    assert.equal(ipv6Text(b, 0), formatIp({ family: 6, value: v }));
    assert.equal(parseIp(ipv6Text(b, 0))?.value, v);
    const v4 = b.readUInt32BE(0);
    assert.equal(ipv4Text(b, 0), formatIp({ family: 4, value: BigInt(v4) }));
  }
});
