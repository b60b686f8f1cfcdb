/** Privileged: entering namespaces from the main thread, and per-namespace sysctls. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { isPodnetError } from '../../common/errors.js';
import { NetnsPool, privilegedSkip, sysctlIn } from './netns-fixture.js';
import { currentNetnsId, netnsIdOfFd, openNetns, readSysctl, withNetns, writeSysctl } from './netns.js';

const skip = privilegedSkip();
const pool = new NetnsPool();
after(() => pool.cleanup());

test('withNetns runs inside the target and always comes back, even when fn throws', { skip }, () => {
  const ns = pool.create('enter');
  const fd = openNetns(pool.path(ns));
  try {
    const home = currentNetnsId();
    const inside = withNetns(fd, ns, () => currentNetnsId());
    assert.equal(inside, netnsIdOfFd(fd));
    assert.notEqual(inside, home);
    assert.equal(currentNetnsId(), home);
    assert.throws(() => withNetns(fd, ns, () => {
      throw new Error('boom');
    }), /boom/);
    assert.equal(currentNetnsId(), home);
    assert.throws(() => withNetns(fd, ns, () => Promise.resolve(1)), (e) => isPodnetError(e, 'INTERNAL'));
    assert.equal(currentNetnsId(), home);
  } finally {
    closeSync(fd);
  }
});

test('/proc/sys/net written from the main thread lands in the entered namespace only', { skip }, () => {
  const a = pool.create('sysa');
  const b = pool.create('sysb');
  const rootBefore = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
  assert.equal(writeSysctl(pool.path(a), 'net/ipv4/ip_forward', '1'), true);
  assert.equal(sysctlIn(a, 'net/ipv4/ip_forward'), '1');
  assert.equal(readSysctl(pool.path(a), 'net/ipv4/ip_forward'), '1');
  assert.equal(sysctlIn(b, 'net/ipv4/ip_forward'), '0');
  assert.equal(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(), rootBefore, 'root namespace untouched');
  assert.equal(readSysctl(pool.path(a), 'net/ipv4/conf/nope0/forwarding'), undefined);
  assert.throws(() => writeSysctl(pool.path(a), 'net/../kernel/hostname', 'x'), (e) => isPodnetError(e, 'DATAPLANE_INVALID_SPEC'));
  assert.throws(() => writeSysctl(pool.path(a), 'kernel/hostname', 'x'), (e) => isPodnetError(e, 'DATAPLANE_INVALID_SPEC'));
});

test('namespace paths: missing -> NETNS_NOT_FOUND, not a namespace -> NETNS_FAILED', { skip }, () => {
  assert.throws(() => openNetns(`/run/netns/pnt-${pool.tag}-absent`), (e) => isPodnetError(e, 'DATAPLANE_NETNS_NOT_FOUND'));
  const fd = openSync('/proc/self/stat', 'r');
  try {
    const home = currentNetnsId();
    assert.throws(() => withNetns(fd, '/proc/self/stat', () => 1), (e) => isPodnetError(e, 'DATAPLANE_NETNS_FAILED') && /EINVAL/.test(e.message));
    assert.equal(currentNetnsId(), home);
  } finally {
    closeSync(fd);
  }
});
