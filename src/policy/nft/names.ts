/**
 * Names in the podnet-policy table. Every identifier the renderer writes is generated here from
 * validated data (profile ids, hashes) and checked against a strict pattern before use; nothing
 * from a resource reaches the script as free text.
 */
import { createHash } from 'node:crypto';
import { PodnetError } from '../../common/errors.js';
import { POD_IF_GROUP } from '../../dataplane/types.js';
import { IFNAME_RE } from '../compile/compile-node.js';
import { PolicyErrors } from '../errors.js';

export const POLICY_TABLE = 'podnet-policy';
export const POLICY_FAMILY = 'inet';
export const TABLE_REF = `${POLICY_FAMILY} ${POLICY_TABLE}`;

/** Verdict maps: host-side interface name -> what to do with the pod's traffic. */
export const INGRESS_MAP = 'ingress_if';
export const EGRESS_MAP = 'egress_if';
/** Base chains. */
export const FWD_EGRESS = 'fwd_egress';
export const FWD_INGRESS = 'fwd_ingress';
export const INPUT_EGRESS = 'in_egress';
/** Wildcard for every pod interface, for the drop of interfaces without a map entry. */
/** Host-side pod interfaces, as the base chains match them: by interface group (see POD_IF_GROUP). */
export const POD_IIF = `iifgroup ${POD_IF_GROUP}`;
export const POD_OIF = `oifgroup ${POD_IF_GROUP}`;

const IDENT_RE = /^[a-z][a-z0-9_]{0,63}$/;
const PROFILE_RE = /^[ie][0-9a-f]{16}$/;
const PREFIX_RE = /^[A-Za-z0-9 .:/#_-]{1,127}$/;

function bad(what: string, v: string): never {
  throw new PodnetError(PolicyErrors.POLICY_RENDER_INVALID, `refusing to render ${what} ${JSON.stringify(v)}`);
}

export function ident(s: string): string {
  return IDENT_RE.test(s) ? s : bad('identifier', s);
}

export function ifnameLiteral(s: string): string {
  return IFNAME_RE.test(s) ? `"${s}"` : bad('interface name', s);
}

export function logPrefix(s: string): string {
  return PREFIX_RE.test(s) ? `"${s}"` : bad('log prefix', s);
}

export const hash16 = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 16);

/** Chain of a profile (ids are "i"/"e" + 16 hex digits). */
export function profileChain(id: string): string {
  return PROFILE_RE.test(id) ? `p_${id}` : bad('profile id', id);
}
/** Sets of a profile's Kubernetes half: address-only (a) and address.proto.port (p) allow sets. */
export type AllowSetRole = 'a4' | 'a6' | 'p4' | 'p6';
/** Maps of a profile's cluster half: address-only (k) and address.proto.port (c) verdict maps. */
export type ClusterSetRole = 'k4' | 'k6' | 'c4' | 'c6';
export const allowSet = (halfId: string, role: AllowSetRole): string => (PROFILE_RE.test(halfId) ? `a_${halfId}_${role}` : bad('half id', halfId));
export const clusterSet = (halfId: string, role: ClusterSetRole): string => (PROFILE_RE.test(halfId) ? `c_${halfId}_${role}` : bad('half id', halfId));
export const outcomeChain = (rulesText: string): string => `o_${hash16(rulesText)}`;
