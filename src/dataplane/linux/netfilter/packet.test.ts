/** The IP/transport header parser (no root). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPacket } from './fixtures.js';
import { parsePacket, tcpFlagNames } from './packet.js';

test('IPv4 TCP: addresses, ports, flags, length, ttl', () => {
  const p = parsePacket(buildPacket({ src: '192.168.1.2', dst: '10.0.0.9', protocol: 6, sport: 1234, dport: 443, tcpFlags: 0x12, ttl: 63, payloadBytes: 100 }));
  assert.deepEqual(p, { ipVersion: 4, src: '192.168.1.2', dst: '10.0.0.9', protocol: 6, length: 140, ttl: 63, sport: 1234, dport: 443, tcpFlags: 0x12 });
  assert.equal(tcpFlagNames(0x12), 'SYN,ACK');
});

test('IPv4 UDP, SCTP and ICMP echo', () => {
  assert.deepEqual(parsePacket(buildPacket({ src: '1.1.1.1', dst: '2.2.2.2', protocol: 17, sport: 53, dport: 5353 })), { ipVersion: 4, src: '1.1.1.1', dst: '2.2.2.2', protocol: 17, length: 28, ttl: 64, sport: 53, dport: 5353 });
  assert.equal(parsePacket(buildPacket({ src: '1.1.1.1', dst: '2.2.2.2', protocol: 132, sport: 9, dport: 10 }))?.dport, 10);
  assert.deepEqual(parsePacket(buildPacket({ src: '1.1.1.1', dst: '2.2.2.2', protocol: 1, icmpType: 8, icmpCode: 0, icmpId: 99 })), { ipVersion: 4, src: '1.1.1.1', dst: '2.2.2.2', protocol: 1, length: 28, ttl: 64, icmpType: 8, icmpCode: 0, icmpId: 99 });
  const unreach = parsePacket(buildPacket({ src: '1.1.1.1', dst: '2.2.2.2', protocol: 1, icmpType: 3, icmpCode: 13 }))!;
  assert.equal(unreach.icmpCode, 13);
  assert.equal(unreach.icmpId, undefined);
});

test('IPv6 through a hop-by-hop header to TCP; ICMPv6 echo; a non-first fragment has no ports', () => {
  const p = parsePacket(buildPacket({ src: 'fd00::1', dst: 'fd00::2', protocol: 6, sport: 5, dport: 6, tcpFlags: 0x02, hopByHop: true }))!;
  assert.deepEqual({ v: p.ipVersion, proto: p.protocol, s: p.sport, d: p.dport, f: p.tcpFlags, len: p.length }, { v: 6, proto: 6, s: 5, d: 6, f: 2, len: 68 });
  assert.equal(parsePacket(buildPacket({ src: 'fd00::1', dst: 'fd00::2', protocol: 58, icmpType: 128, icmpId: 3 }))?.icmpId, 3);
  const frag = parsePacket(buildPacket({ src: 'fd00::1', dst: 'fd00::2', protocol: 17, fragmentOffset: 100 }))!;
  assert.equal(frag.fragment, true);
  assert.equal(frag.sport, undefined);
  const frag4 = parsePacket(buildPacket({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 6, fragmentOffset: 185 }))!;
  assert.equal(frag4.fragment, true);
  assert.equal(frag4.protocol, 6);
});

test('a copy range that ends inside the headers gives what it can and says truncated', () => {
  const full = buildPacket({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 6, sport: 1, dport: 2, tcpFlags: 2 });
  const p = parsePacket(full, 0, 30)!;
  assert.equal(p.truncated, true);
  assert.equal(p.sport, undefined);
  assert.equal(p.src, '10.0.0.1');
  assert.equal(parsePacket(full, 0, 19), undefined);
  assert.equal(parsePacket(Buffer.from([0x20, 0, 0, 0])), undefined, 'not IP');
  const v6 = buildPacket({ src: 'fd00::1', dst: 'fd00::2', protocol: 6, hopByHop: true });
  assert.equal(parsePacket(v6, 0, 44)?.truncated, true);
});
