import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LabelSelector } from '../model/k8s.js';
import { compileSelector, isSelectAll, matchesSelector, SELECT_ALL, selectorKey } from './selectors.js';

const sel = (matchLabels: Record<string, string>, matchExpressions: LabelSelector['matchExpressions'] = []): LabelSelector => ({ matchLabels, matchExpressions });

test('{} selects everything, including objects without labels', () => {
  assert.ok(matchesSelector(SELECT_ALL, {}));
  assert.ok(matchesSelector(sel({}), { a: 'b' }));
  assert.ok(isSelectAll(sel({})));
  assert.ok(!isSelectAll(sel({ a: 'b' })));
});

test('matchLabels: every pair present and equal', () => {
  const s = sel({ app: 'web', tier: 'fe' });
  assert.ok(matchesSelector(s, { app: 'web', tier: 'fe', extra: 'x' }));
  assert.ok(!matchesSelector(s, { app: 'web' }));
  assert.ok(!matchesSelector(s, { app: 'web', tier: 'be' }));
  assert.ok(matchesSelector(sel({ e: '' }), { e: '' }));
  assert.ok(!matchesSelector(sel({ e: '' }), {}));
});

test('In / NotIn / Exists / DoesNotExist', () => {
  const In = sel({}, [{ key: 'env', operator: 'In', values: ['prod', 'stage'] }]);
  assert.ok(matchesSelector(In, { env: 'prod' }));
  assert.ok(!matchesSelector(In, { env: 'dev' }));
  assert.ok(!matchesSelector(In, {}));
  const NotIn = sel({}, [{ key: 'env', operator: 'NotIn', values: ['prod'] }]);
  assert.ok(matchesSelector(NotIn, { env: 'dev' }));
  assert.ok(matchesSelector(NotIn, {}), 'NotIn matches objects without the key');
  assert.ok(!matchesSelector(NotIn, { env: 'prod' }));
  const Exists = sel({}, [{ key: 'env', operator: 'Exists', values: [] }]);
  assert.ok(matchesSelector(Exists, { env: '' }));
  assert.ok(!matchesSelector(Exists, { other: 'x' }));
  const DoesNotExist = sel({}, [{ key: 'env', operator: 'DoesNotExist', values: [] }]);
  assert.ok(matchesSelector(DoesNotExist, {}));
  assert.ok(!matchesSelector(DoesNotExist, { env: 'x' }));
});

test('labels and expressions are ANDed', () => {
  const s = sel({ app: 'web' }, [
    { key: 'env', operator: 'In', values: ['prod'] },
    { key: 'canary', operator: 'DoesNotExist', values: [] },
  ]);
  assert.ok(matchesSelector(s, { app: 'web', env: 'prod' }));
  assert.ok(!matchesSelector(s, { app: 'web', env: 'prod', canary: 'true' }));
  assert.ok(!matchesSelector(s, { app: 'db', env: 'prod' }));
});

test('label keys that are Object.prototype names are never inherited', () => {
  assert.ok(!matchesSelector(sel({}, [{ key: 'constructor', operator: 'Exists', values: [] }]), {}));
  assert.ok(matchesSelector(sel({}, [{ key: 'toString', operator: 'DoesNotExist', values: [] }]), {}));
  assert.ok(!matchesSelector(sel({ hasOwnProperty: 'x' }), {}));
});

test('selectorKey is canonical; compileSelector caches per object', () => {
  const a = sel({ b: '1', a: '2' }, [{ key: 'k', operator: 'In', values: ['y', 'x'] }, { key: 'j', operator: 'Exists', values: [] }]);
  const b = sel({ a: '2', b: '1' }, [{ key: 'j', operator: 'Exists', values: [] }, { key: 'k', operator: 'In', values: ['x', 'y'] }]);
  assert.equal(selectorKey(a), selectorKey(b));
  assert.notEqual(selectorKey(a), selectorKey(sel({ a: '2' })));
  assert.equal(compileSelector(a), compileSelector(a));
});
