/** The bounded ring: capacity, overwrite counting, cursors, last-N with a filter. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ring } from './ring.js';

const fill = (r: Ring<{ seq: number; v: number }>, n: number): void => {
  for (let i = 0; i < n; i++) r.push((seq) => ({ seq, v: seq % 3 }));
};

test('keeps the newest records, counts the overwritten, pages by cursor', () => {
  const r = new Ring<{ seq: number; v: number }>(5);
  fill(r, 3);
  assert.deepEqual(r.after(0, 10).records.map((x) => x.seq), [1, 2, 3]);
  fill(r, 4);
  assert.equal(r.length, 5);
  assert.equal(r.dropped, 2);
  const p = r.after(0, 10);
  assert.deepEqual(p.records.map((x) => x.seq), [3, 4, 5, 6, 7]);
  assert.equal(p.missed, 2, 'records 1 and 2 were overwritten unread');
  assert.equal(p.next, 7);
  const q = r.after(4, 2);
  assert.deepEqual(q.records.map((x) => x.seq), [5, 6]);
  assert.equal(q.next, 6);
  assert.deepEqual(r.after(7, 10), { records: [], next: 7, missed: 0 });
  // A filter skips records but the cursor still advances past them.
  const f = r.after(2, 10, (x) => x.v === 0);
  assert.deepEqual(f.records.map((x) => x.seq), [3, 6]);
  assert.equal(f.next, 7);
});

test('last-N with a filter, oldest first; capacity is validated', () => {
  const r = new Ring<{ seq: number; v: number }>(100);
  fill(r, 250);
  assert.deepEqual(r.last(3).records.map((x) => x.seq), [248, 249, 250]);
  assert.deepEqual(r.last(2, (x) => x.v === 1).records.map((x) => x.seq), [247, 250]);
  assert.equal(r.last(5).next, 250);
  assert.throws(() => new Ring(0), RangeError);
});
