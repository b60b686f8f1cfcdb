/**
 * Kubernetes name and label syntax (apimachinery validation): each function returns the reason a
 * string is invalid, or undefined when it is valid.
 */

const LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_RE = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** RFC 1123 label (namespace names): at most 63 characters of a-z, 0-9 and '-', alphanumeric at both ends. */
export function dnsLabelProblem(s: string): string | undefined {
  if (s.length === 0) return 'must not be empty';
  if (s.length > 63) return 'must be no more than 63 characters';
  if (!LABEL_RE.test(s)) return "must consist of lower case alphanumeric characters or '-', and start and end with an alphanumeric character";
  return undefined;
}

/** RFC 1123 subdomain (object names): at most 253 characters, dot-separated labels. */
export function dnsSubdomainProblem(s: string): string | undefined {
  if (s.length === 0) return 'must not be empty';
  if (s.length > 253) return 'must be no more than 253 characters';
  if (!SUBDOMAIN_RE.test(s)) return "must consist of lower case alphanumeric characters, '-' or '.', and start and end with an alphanumeric character";
  return undefined;
}

/** A label key: an optional DNS-subdomain prefix and '/', then a name of at most 63 characters. */
export function labelKeyProblem(s: string): string | undefined {
  const parts = s.split('/');
  let name = s;
  if (parts.length > 2) return "a qualified name may contain at most one '/'";
  if (parts.length === 2) {
    const prefix = parts[0] as string;
    name = parts[1] as string;
    if (prefix.length === 0) return 'the prefix part must not be empty';
    const p = dnsSubdomainProblem(prefix);
    if (p) return `the prefix part ${p}`;
  }
  if (name.length === 0) return 'the name part must not be empty';
  if (name.length > 63) return 'the name part must be no more than 63 characters';
  if (!QUALIFIED_RE.test(name)) return "the name part must consist of alphanumeric characters, '-', '_' or '.', and start and end with an alphanumeric character";
  return undefined;
}

/** A label value: empty, or at most 63 characters as a label key's name part. */
export function labelValueProblem(s: string): string | undefined {
  if (s.length === 0) return undefined;
  if (s.length > 63) return 'must be no more than 63 characters';
  if (!QUALIFIED_RE.test(s)) return "must consist of alphanumeric characters, '-', '_' or '.', and start and end with an alphanumeric character";
  return undefined;
}

/** IANA_SVC_NAME (named container ports): 1-15 of a-z, 0-9, '-', at least one letter, no '--', no '-' at the ends. */
export function portNameProblem(s: string): string | undefined {
  if (s.length === 0) return 'must not be empty';
  if (s.length > 15) return 'must be no more than 15 characters';
  if (!/^[-a-z0-9]+$/.test(s)) return "must contain only lower case alphanumeric characters or '-'";
  if (!/[a-z]/.test(s)) return 'must contain at least one letter';
  if (s.includes('--')) return "must not contain consecutive hyphens ('--')";
  if (s.startsWith('-') || s.endsWith('-')) return "must not begin or end with a hyphen";
  return undefined;
}
