/**
 * GC's list of still-valid attachments (SPEC.md "GC"): `cni.dev/valid-attachments`, an array of
 * {containerID, ifname}. libcni also sends the same list as `cni.dev/attachments` (the name an
 * earlier draft of the spec used, cni#1101); both are read and merged. A JSON null (Go's nil
 * slice) is an empty list. A config with neither key is refused (CNI_INVALID_CONFIG): the spec
 * makes the key mandatory, and reading its absence as "nothing is valid" would release every
 * address of the network.
 */
import { PodnetError } from '../common/errors.js';
import { CniErrors } from './errors.js';
import { joinPath, optArray, reqObject, reqString, type JsonObject } from './json.js';
import type { Attachment } from './types.js';

export const VALID_ATTACHMENTS_KEY = 'cni.dev/valid-attachments';
export const LEGACY_ATTACHMENTS_KEY = 'cni.dev/attachments';

function attachment(v: unknown, path: string): Attachment {
  const obj = reqObject(v, path, 'an object {containerID, ifname}');
  return {
    containerId: reqString(obj['containerID'], joinPath(path, 'containerID')),
    ifname: reqString(obj['ifname'], joinPath(path, 'ifname')),
  };
}

/** The union of both keys, without duplicates, in first-seen order. */
export function parseValidAttachments(conf: JsonObject): Attachment[] {
  if (!(VALID_ATTACHMENTS_KEY in conf) && !(LEGACY_ATTACHMENTS_KEY in conf)) {
    throw new PodnetError(CniErrors.CNI_INVALID_CONFIG, `invalid network config: GC requires "${VALID_ATTACHMENTS_KEY}"`);
  }
  const out: Attachment[] = [];
  const seen = new Set<string>();
  for (const key of [VALID_ATTACHMENTS_KEY, LEGACY_ATTACHMENTS_KEY]) {
    const arr = optArray(conf[key], key) ?? [];
    arr.forEach((item, i) => {
      const a = attachment(item, joinPath(key, i));
      const id = JSON.stringify([a.containerId, a.ifname]);
      if (seen.has(id)) return;
      seen.add(id);
      out.push(a);
    });
  }
  return out;
}
