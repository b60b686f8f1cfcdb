/** Pod identity of a CNI attachment: K8S_POD_*, args.cni.labels, and the fallback for non-Kubernetes runtimes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CniRequest } from '../cni/types.js';
import { isPodnetError } from '../common/errors.js';
import { nameForContainer, podIdentity } from './pod-identity.js';

function req(args: Record<string, string>, confArgs?: Record<string, unknown>, containerId = 'abc123'): CniRequest {
  return { containerId, args, conf: { ...(confArgs ? { args: confArgs } : {}) } } as unknown as CniRequest;
}

test('K8S_POD_NAMESPACE/NAME and args.cni.labels make the identity', () => {
  const id = podIdentity(req({ K8S_POD_NAMESPACE: 'x', K8S_POD_NAME: 'a' }, { cni: { labels: [{ key: 'pod', value: 'a' }, { key: 'app.kubernetes.io/name', value: 'web' }] } }));
  assert.deepEqual(id, { namespace: 'x', name: 'a', labels: { pod: 'a', 'app.kubernetes.io/name': 'web' } });
});

test('without Kubernetes names the pod is named after its container in "default"', () => {
  assert.deepEqual(podIdentity(req({})), { namespace: 'default', name: 'abc123', labels: {} });
  assert.deepEqual(podIdentity(req({ K8S_POD_NAME: 'web-1' })), { namespace: 'default', name: 'web-1', labels: {} }, 'podman: the container name');
  const id = podIdentity(req({ K8S_POD_NAMESPACE: 'podman', K8S_POD_NAME: 'My_App' }, undefined, 'My_Container'));
  assert.equal(id.namespace, 'default');
  assert.match(id.name, /^c-[0-9a-f]{16}$/);
  assert.equal(nameForContainer('ABC'), 'abc');
});

test('bad args.cni.labels fail with code 7 and say why', () => {
  const bad = (v: unknown, re: RegExp): void =>
    assert.throws(() => podIdentity(req({ K8S_POD_NAMESPACE: 'x', K8S_POD_NAME: 'a' }, { cni: { labels: v } })), (e: unknown) => isPodnetError(e, 'RESOURCE_INVALID_LABELS') && e.cni === 7 && re.test(e.message));
  bad({ app: 'web' }, /must be a list/);
  bad(['app=web'], /\[0\] is not an object/);
  bad([{ key: 'app' }], /needs string "key" and "value"/);
  bad([{ key: 'app', value: 'a', extra: 1 }], /unknown fields extra/);
  bad([{ key: 'app', value: 'a' }, { key: 'app', value: 'b' }], /second value/);
  bad([{ key: 'app', value: 'has space' }], /metadata\.labels/);
});
