/**
 * Name rules of the CNI spec and libcni (pkg/utils): container IDs and network names start with
 * an alphanumeric and go on with alphanumerics, '_', '.' and '-'; interface names follow the
 * kernel's dev_valid_name (non-empty, at most 15 bytes, not "." or "..", no '/', ':' or
 * whitespace). podnet further limits interface names to letters, digits, '_', '.' and '-' so
 * that no shell or printf metacharacter (';', '$', '`', quotes, '%', …) ever reaches a netlink
 * or command line; the spec lets a plugin refuse a name it cannot use.
 */

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const IFNAME_CHARS_RE = /^[a-zA-Z0-9_.-]+$/;
// Go's unicode.IsSpace plus what JavaScript's \s covers.
const SPACE_RE = /[\s\u0085]/u;

export const MAX_IFNAME_BYTES = 15;

export const NAME_RULE = "must start with a letter or digit followed by letters, digits, '_', '.' or '-'";

/** Undefined when valid, else why not (for CNI_CONTAINERID, network names, pool names). */
export function nameProblem(s: string): string | undefined {
  if (s === '') return 'must not be empty';
  return NAME_RE.test(s) ? undefined : NAME_RULE;
}

export const isValidContainerId = (s: string): boolean => nameProblem(s) === undefined;
export const isValidNetworkName = (s: string): boolean => nameProblem(s) === undefined;

/** Undefined when valid, else why not. */
export function ifnameProblem(s: string): string | undefined {
  if (s === '') return 'must not be empty';
  if (Buffer.byteLength(s, 'utf8') > MAX_IFNAME_BYTES) return `must be at most ${MAX_IFNAME_BYTES} bytes long`;
  if (s === '.' || s === '..') return 'must not be "." or ".."';
  if (s.includes('/') || s.includes(':') || SPACE_RE.test(s)) return "must not contain '/', ':' or whitespace";
  if (!IFNAME_CHARS_RE.test(s)) return "may contain only letters, digits, '_', '.' and '-'";
  return undefined;
}

export const isValidIfname = (s: string): boolean => ifnameProblem(s) === undefined;
