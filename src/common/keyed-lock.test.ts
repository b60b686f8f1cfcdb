import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedLock } from './keyed-lock.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('same key runs one at a time in order; other keys overlap; failures do not block', async () => {
  const lock = new KeyedLock();
  const log: string[] = [];
  const job = (k: string, name: string, ms: number, fail = false) =>
    lock.run(k, async () => {
      log.push(`start ${name}`);
      await tick(ms);
      log.push(`end ${name}`);
      if (fail) throw new Error(name);
      return name;
    });
  const results = await Promise.allSettled([job('a', 'a1', 20, true), job('a', 'a2', 1), job('b', 'b1', 5)]);
  assert.equal(results[0].status, 'rejected');
  assert.deepEqual(results.slice(1).map((r) => (r.status === 'fulfilled' ? r.value : 'x')), ['a2', 'b1']);
  assert.ok(log.indexOf('end a1') < log.indexOf('start a2'));
  assert.ok(log.indexOf('start b1') < log.indexOf('end a1'));
  assert.equal(lock.busyKeys, 0);
});
