/**
 * CNI_ARGS: "K=V;K=V" (SPEC.md "Parameters"; CONVENTIONS.md "CNI_ARGS"). Like skel's LoadArgs,
 * every pair must have exactly one '=', keys are case-sensitive, unknown keys are an error
 * unless IgnoreUnknown is 1/true (wherever it appears), and the last of a repeated key wins —
 * except IP, whose values accumulate (podman passes one IP per pair). An empty value
 * ("K8S_POD_UID=") counts as absent. Every failure is CNI_INVALID_ENV (code 4) with a message naming CNI_ARGS and the key.
 */
import { PodnetError } from '../common/errors.js';
import { isUnicastMac } from '../common/ip.js';
import { CniErrors } from './errors.js';
import { isIpOrCidr, showJson } from './json.js';
import { nameProblem } from './names.js';
import type { CniArgs } from './types.js';

export const KNOWN_ARGS = ['K8S_POD_NAMESPACE', 'K8S_POD_NAME', 'K8S_POD_UID', 'K8S_POD_INFRA_CONTAINER_ID', 'IP', 'MAC', 'IgnoreUnknown'] as const;
type KnownArg = (typeof KNOWN_ARGS)[number];

const isKnown = (k: string): k is KnownArg => (KNOWN_ARGS as readonly string[]).includes(k);

const bad = (msg: string): PodnetError => new PodnetError(CniErrors.CNI_INVALID_ENV, `invalid CNI_ARGS: ${msg}`, { details: 'CNI_ARGS' });

function parseBool(key: string, value: string): boolean {
  switch (value.toLowerCase()) {
    case '1':
    case 'true':
      return true;
    case '0':
    case 'false':
      return false;
    default:
      throw bad(`${key} must be 1, true, 0 or false (got ${showJson(value)})`);
  }
}

/** K8S_* values are Kubernetes object names / UIDs or container IDs: the CNI name rule. */
function k8sValue(key: string, value: string): string {
  const problem = nameProblem(value);
  if (problem) throw bad(`${key} ${showJson(value)} ${problem}`);
  return value;
}

export function parseCniArgs(s: string): CniArgs {
  const out: CniArgs = { extra: {} };
  if (s === '') return out;
  const unknown: string[] = [];
  for (const pair of s.split(';')) {
    const kv = pair.split('=');
    if (kv.length !== 2 || kv[0] === '') throw bad(`malformed pair ${showJson(pair)}: expected KEY=VALUE pairs separated by ';'`);
    const key = kv[0] as string;
    const value = kv[1] as string;
    if (!isKnown(key)) {
      unknown.push(key);
      out.extra[key] = value;
      continue;
    }
    if (value === '' && key !== 'IgnoreUnknown') {
      if (key !== 'IP') delete out[key]; // an empty value is an absent one
      continue;
    }
    switch (key) {
      case 'IgnoreUnknown':
        out.IgnoreUnknown = parseBool(key, value);
        break;
      case 'IP': {
        const ips = value.split(',').map((ip) => ip.trim());
        for (const ip of ips) if (!isIpOrCidr(ip)) throw bad(`IP ${showJson(ip)} is not an address or address/prefix`);
        out.IP = [...(out.IP ?? []), ...ips];
        break;
      }
      case 'MAC':
        if (!isUnicastMac(value)) throw bad(`MAC ${showJson(value)} is not a unicast MAC address`);
        out.MAC = value.toLowerCase();
        break;
      default:
        out[key] = k8sValue(key, value);
    }
  }
  if (unknown.length > 0 && out.IgnoreUnknown !== true) {
    throw bad(`unknown keys ${unknown.map((k) => showJson(k)).join(', ')} (known: ${KNOWN_ARGS.join(', ')}; set IgnoreUnknown=1 to ignore others)`);
  }
  return out;
}
