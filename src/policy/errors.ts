/**
 * Error codes of the policy layer: resource parsing and validation (each issue names the field
 * path and the reason), the compiler, explain and the nftables renderer.
 */
import { CniCode, defineErrors, PodnetError } from '../common/errors.js';

export const PolicyErrors = defineErrors({
  POLICY_BAD_DOCUMENT: {
    cni: CniCode.DecodeFailure,
    doc: 'A policy file is not valid YAML or JSON, or one of its documents is not an object.',
  },
  POLICY_UNKNOWN_KIND: {
    cni: CniCode.InvalidArgument,
    doc: 'A resource has an apiVersion/kind podnet does not accept (v1 Namespace, v1 Pod, networking.k8s.io/v1 NetworkPolicy, podnet.io/v1 ClusterNetworkPolicy).',
  },
  POLICY_MISSING_FIELD: { cni: CniCode.InvalidArgument, doc: 'A required field of a resource is missing; the message names its path.' },
  POLICY_INVALID_FIELD: {
    cni: CniCode.InvalidArgument,
    doc: 'A field of a resource has the wrong type or an invalid value; the message names its path and the reason.',
  },
  POLICY_UNKNOWN_FIELD: {
    cni: CniCode.InvalidArgument,
    doc: 'A policy resource has a field its schema does not define (often a misspelling that would silently widen the policy).',
  },
  POLICY_DUPLICATE: { cni: CniCode.InvalidArgument, doc: 'The same object (kind, namespace and name) appears twice in one file.' },
  POLICY_INVALID_ENDPOINT: {
    cni: CniCode.InvalidArgument,
    doc: 'A local endpoint given to the policy compiler has an invalid interface name, address or duplicate interface.',
  },
  POLICY_UNKNOWN_POD: { cni: CniCode.NotFound, doc: 'policy explain named a pod that is not in the datastore.' },
  POLICY_RENDER_INVALID: {
    cni: CniCode.Internal,
    doc: 'The nftables renderer was given an identifier, address or log prefix that is not safe to render (a podnet bug).',
  },
});

export type PolicyIssueCode =
  | typeof PolicyErrors.POLICY_BAD_DOCUMENT
  | typeof PolicyErrors.POLICY_UNKNOWN_KIND
  | typeof PolicyErrors.POLICY_MISSING_FIELD
  | typeof PolicyErrors.POLICY_INVALID_FIELD
  | typeof PolicyErrors.POLICY_UNKNOWN_FIELD
  | typeof PolicyErrors.POLICY_DUPLICATE;

/** One validation problem: which document, which field, why. */
export interface PolicyIssue {
  readonly code: PolicyIssueCode;
  /** 0-based index of the document in the file (the object inside a List counts as its List's). */
  readonly document: number;
  /** Field path inside the document, e.g. "spec.ingress[0].from[1].ipBlock.except[0]" ("" for the whole document). */
  readonly path: string;
  readonly reason: string;
}

export function formatIssue(i: PolicyIssue): string {
  return `document ${i.document + 1}: ${i.path === '' ? '' : `${i.path}: `}${i.reason}`;
}

/** A rejected file: every issue found, in document order. Its code is the first issue's. */
export class PolicyValidationError extends PodnetError {
  readonly issues: readonly PolicyIssue[];
  constructor(issues: readonly PolicyIssue[]) {
    const first = issues[0];
    if (!first) throw new Error('PolicyValidationError needs at least one issue');
    const shown = issues.slice(0, 20).map(formatIssue);
    if (issues.length > 20) shown.push(`... and ${issues.length - 20} more`);
    const head = issues.length === 1 ? 'invalid resource' : `${issues.length} problems`;
    super(first.code, `${head}, nothing applied: ${shown.join('; ')}`, { details: JSON.stringify(issues) });
    this.issues = issues;
  }
}
