import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  align4,
  attr,
  attrMap,
  attrNested,
  attrString,
  attrU16be,
  attrU32,
  decodeAttrs,
  decodeError,
  decodeMessages,
  encodeMessage,
  getString,
  getU16be,
  getU32,
  NetlinkDecodeError,
} from './codec.js';
import { NLA_F_NESTED, NLMSG_ERROR, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_ACK, NLM_F_REQUEST, RTM_GETLINK } from './constants.js';
import { ipBytes, ipText, macBytes, macText } from './values.js';

test('align4 rounds up to 4', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 8].map(align4), [0, 4, 4, 4, 4, 8, 8]);
});

test('nlmsghdr: exact bytes (little-endian host), padded to 4, round-trip', () => {
  const wire = encodeMessage({ type: RTM_GETLINK, flags: NLM_F_REQUEST | NLM_F_ACK, seq: 0x01020304, pid: 7 }, Buffer.from([0xaa, 0xbb, 0xcc]));
  // len 19 (16 + 3) padded to 20
  assert.equal(wire.toString('hex'), '13000000' + '1200' + '0500' + '04030201' + '07000000' + 'aabbcc00');
  const [m, ...rest] = decodeMessages(wire);
  assert.equal(rest.length, 0);
  assert.equal(m?.type, RTM_GETLINK);
  assert.equal(m?.flags, 5);
  assert.equal(m?.seq, 0x01020304);
  assert.equal(m?.pid, 7);
  assert.equal(m?.payload.toString('hex'), 'aabbcc'); // not the padding
});

test('several messages in one datagram are split at aligned boundaries', () => {
  const a = encodeMessage({ type: 16, flags: 2, seq: 1, pid: 0 }, Buffer.alloc(5, 1));
  const b = encodeMessage({ type: 3, flags: 2, seq: 1, pid: 0 }, Buffer.alloc(4));
  const msgs = decodeMessages(Buffer.concat([a, b]));
  assert.deepEqual(msgs.map((m) => [m.type, m.payload.length]), [[16, 5], [3, 4]]);
});

test('a truncated or lying nlmsg_len is refused', () => {
  const wire = encodeMessage({ type: 16, flags: 0, seq: 1, pid: 0 }, Buffer.alloc(8));
  assert.throws(() => decodeMessages(wire.subarray(0, 20)), NetlinkDecodeError);
  const bad = Buffer.from(wire);
  bad.writeUInt32LE(8, 0); // shorter than a header
  assert.throws(() => decodeMessages(bad), NetlinkDecodeError);
});

test('rtattr: header, value, padding; strings NUL-terminated', () => {
  assert.equal(attrString(3, 'eth0').toString('hex'), '0900' + '0300' + '6574683000' + '000000');
  assert.equal(attrU32(4, 1500).toString('hex'), '0800' + '0400' + 'dc050000');
  assert.equal(attrU16be(15, 4789).toString('hex'), '0600' + '0f00' + '12b5' + '0000');
  assert.equal(attr(1, Buffer.alloc(0)).toString('hex'), '04000100');
});

test('nested attributes decode back, with and without NLA_F_NESTED', () => {
  const inner = [attrString(1, 'veth'), attrU32(2, 42)];
  for (const flag of [false, true]) {
    const outer = attrNested(18, inner, flag);
    const [a] = decodeAttrs(outer);
    assert.equal(a?.type, 18);
    assert.equal(a?.nested, flag);
    assert.equal(outer.readUInt16LE(2) & NLA_F_NESTED ? true : false, flag);
    const m = attrMap(a!.value);
    assert.equal(getString(m, 1), 'veth');
    assert.equal(getU32(m, 2), 42);
  }
});

test('attribute runs: last one wins in attrMap; bad nla_len is refused', () => {
  const run = Buffer.concat([attrU32(4, 1), attrU32(4, 2), attrU16be(15, 8472)]);
  const m = attrMap(run);
  assert.equal(getU32(m, 4), 2);
  assert.equal(getU16be(m, 15), 8472);
  assert.equal(decodeAttrs(run).length, 3);
  const bad = Buffer.from(run);
  bad.writeUInt16LE(200, 0);
  assert.throws(() => decodeAttrs(bad), NetlinkDecodeError);
});

function errorMessage(error: number, flags: number, tlvs: Buffer[], echoedPayload = Buffer.alloc(0)): Buffer {
  const origHdr = Buffer.alloc(16);
  origHdr.writeUInt32LE(16 + echoedPayload.length, 0);
  origHdr.writeUInt16LE(16, 4);
  origHdr.writeUInt32LE(99, 8);
  const e = Buffer.alloc(4);
  e.writeInt32LE(error, 0);
  return encodeMessage({ type: NLMSG_ERROR, flags, seq: 99, pid: 1 }, Buffer.concat([e, origHdr, echoedPayload, ...tlvs]));
}

test('NLMSG_ERROR: ack, errno, extack message and offset (capped and uncapped)', () => {
  const ack = decodeError(decodeMessages(errorMessage(0, NLM_F_CAPPED, []))[0]!);
  assert.deepEqual(ack, { error: 0, seq: 99 });

  const tlvs = [attrString(1, 'Nexthop device is not up'), attrU32(2, 36)];
  const capped = decodeError(decodeMessages(errorMessage(-100, NLM_F_CAPPED | NLM_F_ACK_TLVS, tlvs))[0]!);
  assert.deepEqual(capped, { error: -100, seq: 99, extack: 'Nexthop device is not up', badAttrOffset: 36 });

  // Without NETLINK_CAP_ACK the whole request is echoed before the TLVs.
  const full = decodeError(decodeMessages(errorMessage(-17, NLM_F_ACK_TLVS, [attrString(1, 'File exists')], Buffer.alloc(8, 0xee)))[0]!);
  assert.equal(full.error, -17);
  assert.equal(full.extack, 'File exists');
});

test('address and MAC byte forms', () => {
  assert.equal(ipBytes('10.244.0.5').toString('hex'), '0af40005');
  assert.equal(ipBytes('fe80::ecee:eeff:feee:eeee').toString('hex'), 'fe80000000000000eceeeefffeeeeeee');
  assert.equal(ipText(Buffer.from('20010db8000000000000000000000001', 'hex')), '2001:db8::1');
  assert.equal(ipText(Buffer.from([192, 0, 2, 1])), '192.0.2.1');
  assert.throws(() => ipBytes('10.0.0.256'), RangeError);
  assert.equal(macBytes('EE:ee:EE:ee:ee:01').toString('hex'), 'eeeeeeeeee01');
  assert.equal(macText(Buffer.from('020000000a0b', 'hex')), '02:00:00:00:0a:0b');
  assert.throws(() => macBytes('ee:ee'), RangeError);
});
