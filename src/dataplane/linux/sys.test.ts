/** libc through koffi: errno is read and named; netlink receive waits are bounded. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errnoName, isKernelError } from '../errors.js';
import { NetnsPool, privilegedSkip } from './netns-fixture.js';
import { NetlinkSocket } from './netlink/socket.js';
import * as sys from './sys.js';

test('errno values map to their kernel names', () => {
  assert.deepEqual([2, 3, 16, 17, 19, 22, 95, 105].map(errnoName), ['ENOENT', 'ESRCH', 'EBUSY', 'EEXIST', 'ENODEV', 'EINVAL', 'EOPNOTSUPP', 'ENOBUFS']);
  assert.equal(errnoName(4000), 'E4000');
});

test('a failing call throws KernelError with the errno koffi read right after it', () => {
  assert.throws(() => sys.bind(-1, Buffer.alloc(12)), (e) => isKernelError(e, 'EBADF') && e.code === 'DATAPLANE_SYSCALL_FAILED' && e.op === 'bind');
  assert.throws(() => sys.socket(12345, sys.SOCK_RAW, 0), (e) => isKernelError(e, 'EAFNOSUPPORT'));
  assert.equal(sys.setnsRaw(-1, sys.CLONE_NEWNET), 9 /* EBADF */);
});

test('a netlink wait with nothing to receive ends with DATAPLANE_TIMEOUT (SO_RCVTIMEO works)', { skip: privilegedSkip() }, () => {
  const pool = new NetnsPool();
  try {
    const ns = pool.create('timeout');
    const sock = NetlinkSocket.open({ netnsPath: pool.path(ns), timeoutMs: 150 });
    try {
      // White box: wait for an answer to a request that was never sent.
      const receive = (sock as unknown as { receive(what: string, on: () => boolean): void }).receive.bind(sock);
      const t0 = Date.now();
      assert.throws(() => receive('nothing', () => true), (e) => e instanceof Error && (e as { code?: string }).code === 'DATAPLANE_TIMEOUT');
      const waited = Date.now() - t0;
      assert.ok(waited >= 100 && waited < 2000, `waited ${waited} ms`);
    } finally {
      sock.close();
    }
    assert.equal(sock.closed, true);
  } finally {
    pool.cleanup();
  }
});
