/** Validation and normalisation of IPAM requests. Pure. */
import { PodnetError } from '../common/errors.js';
import { formatIp, parseIp, type Family, type Ip } from '../common/ip.js';
import { IpamErrors as E } from './errors.js';
import { validateAttrs } from './block.js';
import type { AllocationAttrs, AssignRequest } from './types.js';

export const MAX_HANDLE_LENGTH = 512;

export interface StaticAddress {
  readonly ip: Ip;
  readonly text: string;
}

export interface NormalizedAssign {
  readonly handle: string;
  /** Families to allocate dynamically (those not covered by `requested`), without duplicates. */
  readonly dynamic: readonly Family[];
  readonly requested: readonly StaticAddress[];
  readonly pools: readonly string[] | undefined;
  readonly attrs: AllocationAttrs;
}

function invalid(msg: string): PodnetError {
  return new PodnetError(E.IPAM_INVALID_REQUEST, msg);
}

export function validateHandle(handle: unknown): asserts handle is string {
  // eslint-disable-next-line no-control-regex
  if (typeof handle !== 'string' || handle.length === 0 || handle.length > MAX_HANDLE_LENGTH || /[\u0000-\u001f\u007f]/.test(handle)) {
    throw invalid(`invalid handle ${JSON.stringify(handle)}: want 1-${MAX_HANDLE_LENGTH} printable characters`);
  }
}

export function validateAssign(req: AssignRequest, node: string): NormalizedAssign {
  validateHandle(req.handle);
  if (req.node !== node) throw invalid(`request for node ${JSON.stringify(req.node)} sent to the IPAM of node ${node}`);
  const attrs = validateAttrs(req.attrs);
  if (typeof attrs === 'string') throw invalid(`handle ${req.handle}: ${attrs}`);
  if (attrs.node !== node) throw invalid(`handle ${req.handle}: attrs.node ${JSON.stringify(attrs.node)} is not ${node}`);
  if (!Array.isArray(req.families) || req.families.some((f) => f !== 4 && f !== 6)) {
    throw invalid(`handle ${req.handle}: families must be a list of 4 and 6`);
  }
  const requested: StaticAddress[] = [];
  for (const s of req.requested ?? []) {
    const ip = typeof s === 'string' ? parseIp(s) : undefined;
    if (!ip) throw invalid(`handle ${req.handle}: requested address ${JSON.stringify(s)} is not an IP address`);
    const text = formatIp(ip);
    if (requested.some((r) => r.text === text)) throw invalid(`handle ${req.handle}: address ${text} requested twice`);
    requested.push({ ip, text });
  }
  const covered = new Set(requested.map((r) => r.ip.family));
  const dynamic = [...new Set(req.families)].filter((f) => !covered.has(f));
  if (dynamic.length === 0 && requested.length === 0) throw invalid(`handle ${req.handle}: no family and no address requested`);
  if (req.pools !== undefined && (!Array.isArray(req.pools) || req.pools.some((p) => typeof p !== 'string'))) {
    throw invalid(`handle ${req.handle}: pools must be a list of names`);
  }
  return { handle: req.handle, dynamic, requested, pools: req.pools, attrs };
}
