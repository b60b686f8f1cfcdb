/**
 * Resources in the datastore: what `podnet apply`, `podnet delete` and `podnet get` do, and the
 * Pod records the CNI writes on ADD and removes on DEL.
 *
 * apply is all or nothing at validation (a file with one bad object changes nothing); each
 * object is then one compare-and-swap write. A Pod has two writers (see stored.ts): applying a
 * Pod keeps the addresses and node the CNI set, and an ADD keeps the labels and ports applied.
 */
import { PodnetError } from '../common/errors.js';
import type { Datastore } from '../datastore/types.js';
import { RESOURCE_KINDS, type Labels, type Pod, type Resource, type ResourceKind } from '../model/k8s.js';
import { PolicyValidationError } from '../policy/errors.js';
import { parseResourceObjects, parseResourcesText } from '../policy/parse/resources.js';
import { casUpdate } from './cas.js';
import { ResourceErrors } from './errors.js';
import { keyOf, kindPrefix, RESOURCES_PREFIX, refOf, resourceKey, type ResourceRef } from './keys.js';
import { decodeStored, encodeStored, type PodAttachment, type StoredResource, withoutStatus } from './stored.js';

export interface ResourceChange {
  readonly kind: ResourceKind;
  /** "ns/name" or "name". */
  readonly name: string;
  readonly action: 'created' | 'configured' | 'unchanged' | 'deleted' | 'not found';
}

export interface ChangeReport {
  /** Datastore revision after the last write (wait for agents to have programmed this). */
  readonly revision: number;
  readonly results: readonly ResourceChange[];
}

export interface Listing {
  readonly revision: number;
  readonly items: readonly StoredResource[];
}

const nameOf = (r: ResourceRef): string => (r.namespace !== undefined ? `${r.namespace}/${r.name}` : r.name);

function parseOrThrow(text: string): readonly Resource[] {
  const parsed = parseResourcesText(text);
  if (!parsed.ok) throw new PolicyValidationError(parsed.issues);
  return parsed.resources;
}

/** The stored form of an applied resource, given what is stored under its key now. */
function applied(r: Resource, cur: StoredResource | undefined): StoredResource {
  if (r.kind !== 'Pod' || !cur || cur.resource.kind !== 'Pod' || !cur.attachment) return r.kind === 'Pod' ? { resource: r, applied: true } : { resource: r };
  const was = cur.resource;
  const pod: Pod = {
    ...r,
    ...(r.nodeName === undefined && was.nodeName !== undefined ? { nodeName: was.nodeName } : {}),
    ips: r.ips.length > 0 ? r.ips : was.ips,
  };
  return { resource: pod, attachment: cur.attachment, applied: true };
}

export interface PodIdentity {
  readonly namespace: string;
  readonly name: string;
  /** From args.cni.labels; applied labels win over these. */
  readonly labels: Labels;
}

export class ResourceStore {
  constructor(private readonly store: Datastore) {}

  /** Validates the whole text, then writes each object. Throws PolicyValidationError (nothing written) on any issue. */
  async apply(text: string): Promise<ChangeReport> {
    return this.applyResources(parseOrThrow(text));
  }

  async applyResources(resources: readonly Resource[]): Promise<ChangeReport> {
    const results: ResourceChange[] = [];
    let revision = 0;
    for (const r of resources) {
      const out = await casUpdate(this.store, resourceKey(r), (cur) => ({ put: encodeStored(applied(r, cur ? decodeStored(cur.value) : undefined)) }));
      revision = Math.max(revision, out.revision);
      results.push({ kind: r.kind, name: nameOf(refOf(r)), action: out.action === 'created' ? 'created' : out.action === 'unchanged' ? 'unchanged' : 'configured' });
    }
    return { revision: revision || (await this.revision()), results };
  }

  /** Deletes the objects a file names (validated like apply; only kind and name matter). */
  async delete(text: string): Promise<ChangeReport> {
    return this.deleteRefs(parseOrThrow(text).map(refOf));
  }

  async deleteRefs(refs: readonly ResourceRef[]): Promise<ChangeReport> {
    const results: ResourceChange[] = [];
    for (const ref of refs) {
      const key = keyOf(ref);
      const out = await casUpdate(this.store, key, (cur) => {
        if (!cur) return { keep: true };
        const s = decodeStored(cur.value);
        // A pod the CNI still runs keeps its record (its addresses are real); only the applied part goes.
        if (s.resource.kind === 'Pod' && s.attachment) return { put: encodeStored({ resource: { ...s.resource, labels: {}, ports: [] }, attachment: s.attachment }) };
        return { delete: true };
      });
      results.push({ kind: ref.kind, name: nameOf(ref), action: out.action === 'absent' ? 'not found' : 'deleted' });
    }
    return { revision: await this.revision(), results };
  }

  async list(kind?: string, namespace?: string): Promise<Listing> {
    if (kind !== undefined && !(RESOURCE_KINDS as readonly string[]).includes(kind)) {
      throw new PodnetError(ResourceErrors.RESOURCE_UNKNOWN_KIND, `unknown kind ${JSON.stringify(kind)} (${RESOURCE_KINDS.join(', ')})`);
    }
    const prefix = kind === undefined ? RESOURCES_PREFIX : kindPrefix(kind as ResourceKind, namespace);
    const got = await this.store.list(prefix);
    const items: StoredResource[] = [];
    for (const e of got.entries) {
      try {
        const s = decodeStored(e.value);
        if (namespace !== undefined && 'namespace' in s.resource && s.resource.namespace !== namespace) continue;
        items.push(s);
      } catch {
        // A malformed record is skipped here; the agent logs it when it syncs.
      }
    }
    return { revision: got.revision, items };
  }

  /**
   * CNI ADD: records the pod with its addresses and node. Labels applied earlier are kept (and win
   * over the runtime's), as are its ports. Returns the pod as stored.
   */
  async attachPod(id: PodIdentity, attachment: PodAttachment, ips: readonly string[]): Promise<Pod> {
    const base = podFromIdentity(id);
    let pod = base;
    await casUpdate(this.store, keyOf({ kind: 'Pod', namespace: id.namespace, name: id.name }), (cur) => {
      const s = cur ? decodeStored(cur.value) : undefined;
      const was = s?.resource.kind === 'Pod' && s.applied ? s.resource : undefined;
      pod = { ...base, labels: { ...base.labels, ...was?.labels }, ports: was?.ports ?? [], nodeName: attachment.node, ips: [...ips] };
      return { put: encodeStored({ resource: pod, attachment, ...(was ? { applied: true } : {}) }) };
    });
    return pod;
  }

  /** CNI DEL: forgets the attachment's addresses; the record goes unless it was also applied. */
  async detachPod(namespace: string, name: string, attachment: Pick<PodAttachment, 'node' | 'containerId' | 'ifname'>): Promise<void> {
    await casUpdate(this.store, keyOf({ kind: 'Pod', namespace, name }), (cur) => {
      if (!cur) return { keep: true };
      const s = decodeStored(cur.value);
      const a = s.attachment;
      if (s.resource.kind !== 'Pod' || !a || a.containerId !== attachment.containerId || a.ifname !== attachment.ifname || a.node !== attachment.node) return { keep: true };
      return s.applied ? { put: encodeStored({ resource: withoutStatus(s.resource), applied: true }) } : { delete: true };
    });
  }

  private async revision(): Promise<number> {
    return (await this.store.list(`${RESOURCES_PREFIX}\u0000`)).revision;
  }
}

/** Validates a pod identity from CNI_ARGS and args.cni.labels through the same parser as `podnet apply`. */
export function podFromIdentity(id: PodIdentity): Pod {
  const parsed = parseResourceObjects([{ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: id.namespace, name: id.name, labels: { ...id.labels } } }]);
  if (parsed.ok) return parsed.resources[0] as Pod;
  const issues = parsed.issues.map((i) => `${i.path}: ${i.reason}`).join('; ');
  const labelsBad = parsed.issues.some((i) => i.path.startsWith('metadata.labels'));
  throw new PodnetError(labelsBad ? ResourceErrors.RESOURCE_INVALID_LABELS : ResourceErrors.RESOURCE_INVALID_POD_ARGS, `pod ${id.namespace}/${id.name}: ${issues}`);
}

export { keyOf, refOf, resourceKey, RESOURCES_PREFIX, type ResourceRef } from './keys.js';
export type { StoredResource, PodAttachment } from './stored.js';
