/** The NFLOG decoder and config encoder against hand-built messages (no root). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessages } from '../netlink/codec.js';
import { NFULA_CFG_CMD, NFULA_CFG_FLAGS, NFULA_CFG_MODE, NFULA_CFG_QTHRESH, NFULA_CFG_TIMEOUT } from './constants.js';
import { buildDone, buildNflogMessage, buildPacket } from './fixtures.js';
import { SeqGapCounter, decodeNflogDatagram, decodeNflogPacket, nflogConfigRequest } from './nflog-codec.js';
import { AttrTable } from './nfnl.js';
import type { NflogPacket } from './types.js';

const SYN = buildPacket({ src: '10.9.0.1', dst: '10.9.0.2', protocol: 6, sport: 40000, dport: 9, tcpFlags: 0x02 });

test('a packet message: group, prefix, hook, devices (with names), mark, timestamp, uid, seq, parsed headers', () => {
  const names = new Map([[3, 'veth0']]);
  const r = decodeNflogPacket(
    buildNflogMessage({ group: 100, prefix: 'pn drop np/default/deny ', hook: 1, indev: 3, mark: 0x10, timestamp: [1_700_000_000, 250_000], uid: 0, gid: 0, seq: 41, payload: SYN }),
    77,
    (i) => names.get(i),
  );
  assert.deepEqual(r, {
    group: 100,
    prefix: 'pn drop np/default/deny ',
    family: 2,
    capturedLength: SYN.length,
    observedMs: 77,
    hwProtocol: 0x0800,
    hook: 1,
    hookName: 'input',
    indev: 3,
    indevName: 'veth0',
    mark: 0x10,
    timestampMs: 1_700_000_000_250,
    uid: 0,
    gid: 0,
    seq: 41,
    packet: { ipVersion: 4, src: '10.9.0.1', dst: '10.9.0.2', protocol: 6, length: 40, ttl: 64, sport: 40000, dport: 9, tcpFlags: 2 },
  } satisfies NflogPacket);
});

test('metadata-only messages (copy range 0) have no packet; no prefix is ""', () => {
  const r = decodeNflogPacket(buildNflogMessage({ group: 7, hook: 3, outdev: 2 }))!;
  assert.equal(r.prefix, '');
  assert.equal(r.packet, undefined);
  assert.equal(r.capturedLength, 0);
  assert.equal(r.hookName, 'output');
  assert.equal(r.outdev, 2);
  assert.equal(r.outdevName, undefined);
});

test('a kernel batch (several messages then NLMSG_DONE) decodes every packet', () => {
  const six = buildPacket({ src: 'fd00::a', dst: 'fd00::b', protocol: 17, sport: 1, dport: 2 });
  const dgram = Buffer.concat([
    buildNflogMessage({ group: 100, prefix: 'a', payload: SYN, seq: 1 }),
    buildNflogMessage({ group: 100, prefix: 'b', family: 10, hwProtocol: 0x86dd, payload: six, seq: 2 }),
    buildDone(100),
  ]);
  const out: NflogPacket[] = [];
  const errors: Error[] = [];
  decodeNflogDatagram(dgram, dgram.length, { record: (r) => out.push(r), error: (e) => errors.push(e) });
  assert.deepEqual(errors, []);
  assert.deepEqual(out.map((r) => [r.prefix, r.family, r.packet?.src, r.packet?.dport]), [['a', 2, '10.9.0.1', 9], ['b', 10, 'fd00::a', 2]]);
});

test('non-IP ethertypes (bridge/netdev families) are not parsed as IP', () => {
  const r = decodeNflogPacket(buildNflogMessage({ group: 1, family: 7, hwProtocol: 0x0806, payload: SYN }))!;
  assert.equal(r.hwProtocol, 0x0806);
  assert.equal(r.packet, undefined);
});

test('config request: BIND with copy mode, timeout, qthresh and flags, group in res_id', () => {
  const wire = nflogConfigRequest({ group: 100, command: 1, copyMode: 2, copyRange: 128, timeoutCs: 2, qthresh: 64, flags: 1 }, 9);
  const [m] = decodeMessages(wire);
  assert.equal(m!.type, (4 << 8) | 1);
  assert.equal(m!.flags, 0x05); // REQUEST | ACK
  assert.equal(m!.seq, 9);
  assert.equal(m!.payload.readUInt16BE(2), 100);
  const t = new AttrTable(6).parse(m!.payload, 4, m!.payload.length);
  assert.equal(t.u8(NFULA_CFG_CMD), 1);
  assert.equal(t.be32(NFULA_CFG_MODE), 128);
  assert.equal(m!.payload[t.start(NFULA_CFG_MODE) + 4], 2);
  assert.equal(t.length(NFULA_CFG_MODE), 6);
  assert.equal(t.be32(NFULA_CFG_TIMEOUT), 2);
  assert.equal(t.be32(NFULA_CFG_QTHRESH), 64);
  assert.equal(t.be16(NFULA_CFG_FLAGS), 1);
});

test('sequence gaps count lost messages, across the 2^32 wrap, ignoring reorders', () => {
  const g = new SeqGapCounter();
  for (const s of [1, 2, 5, 6, 0xfffffffe, 0xffffffff, 1, 3]) g.see(s);
  // 2->5: 2 lost; 6->0xfffffffe looks like a jump of > 2^31: ignored; 0xffffffff->1 skips 0: 1 lost; 1->3: 1 lost
  assert.equal(g.lost, 2 + 1 + 1);
  g.see(undefined);
  assert.equal(g.lost, 4);
});
