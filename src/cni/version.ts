/**
 * CNI spec versions: which podnet supports, how they compare, and which verbs each one has
 * (CHECK appeared in 0.4.0, STATUS and GC in 1.1.0; skel refuses them below that with code 1).
 */
import { SUPPORTED_VERSIONS, type CniCommand, type CniVersion } from './types.js';

const SEMVER_RE = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

export function isSupportedVersion(v: unknown): v is CniVersion {
  return typeof v === 'string' && (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

/** True for "x.y.z" strings (what VERSION may echo back). */
export function isSemver(v: unknown): v is string {
  return typeof v === 'string' && SEMVER_RE.test(v);
}

/** Compares two "x.y.z" versions: negative, zero or positive. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Results before 1.0.0 carry ips[].version and lack the 1.x interface/route extras. */
export const isLegacyVersion = (v: CniVersion): boolean => compareVersions(v, '1.0.0') < 0;

/** The first spec version that has each verb (absent: every supported version). */
export const VERB_SINCE: Readonly<Partial<Record<CniCommand, CniVersion>>> = {
  CHECK: '0.4.0',
  STATUS: '1.1.0',
  GC: '1.1.0',
};

export function verbAllowed(cmd: CniCommand, v: CniVersion): boolean {
  const since = VERB_SINCE[cmd];
  return since === undefined || compareVersions(v, since) >= 0;
}

export const supportedVersionsText = (): string => SUPPORTED_VERSIONS.join(', ');
