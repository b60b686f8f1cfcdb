/**
 * Typed readers for decoded JSON. Every failure is a CNI_INVALID_CONFIG PodnetError whose message
 * names the field's path (e.g. "runtimeConfig.portMappings[0].hostPort") and shows the bad value.
 * JSON null counts as absent: Go runtimes marshal nil slices and maps as null.
 */
import { PodnetError } from '../common/errors.js';
import { canonicalIp, parseCidr, parseIp } from '../common/ip.js';
import { CniErrors } from './errors.js';

export type JsonObject = Record<string, unknown>;

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Short JSON rendering of a value for messages (escapes control and shell characters' quoting). */
export function showJson(v: unknown, max = 80): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

export function invalidField(path: string, expected: string, got: unknown): PodnetError {
  return new PodnetError(CniErrors.CNI_INVALID_CONFIG, `invalid network config: ${path} must be ${expected} (got ${showJson(got)})`);
}

export const joinPath = (base: string, key: string | number): string =>
  typeof key === 'number' ? `${base}[${key}]` : base === '' ? key : `${base}.${key}`;

export function optObject(v: unknown, path: string): JsonObject | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isJsonObject(v)) throw invalidField(path, 'an object', v);
  return v;
}

export function reqObject(v: unknown, path: string, what = 'an object'): JsonObject {
  if (!isJsonObject(v)) throw invalidField(path, what, v);
  return v;
}

export function optString(v: unknown, path: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalidField(path, 'a string', v);
  return v;
}

export function reqString(v: unknown, path: string): string {
  const s = optString(v, path);
  if (s === undefined || s === '') throw invalidField(path, 'a non-empty string', v);
  return s;
}

export function optBool(v: unknown, path: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw invalidField(path, 'true or false', v);
  return v;
}

export function optInt(v: unknown, path: string, min: number, max: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw invalidField(path, `an integer between ${min} and ${max}`, v);
  }
  return v;
}

export function optArray(v: unknown, path: string): unknown[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw invalidField(path, 'a list', v);
  return v;
}

export function optStringArray(v: unknown, path: string, check?: (s: string) => boolean, expected = 'a string'): string[] | undefined {
  const arr = optArray(v, path);
  if (arr === undefined) return undefined;
  return arr.map((item, i) => {
    if (typeof item !== 'string' || (check !== undefined && !check(item))) throw invalidField(joinPath(path, i), expected, item);
    return item;
  });
}

export const isIp = (s: string): boolean => parseIp(s) !== undefined;
export const isCidr = (s: string): boolean => parseCidr(s) !== undefined;
/** "<ip>[/<prefix>]", the form of CNI_ARGS IP and runtimeConfig ips. */
export const isIpOrCidr = (s: string): boolean => isIp(s) || isCidr(s);

export function optIp(v: unknown, path: string): string | undefined {
  const s = optString(v, path);
  if (s === undefined || s === '') return undefined;
  if (canonicalIp(s) === undefined) throw invalidField(path, 'an IP address', v);
  return s;
}

/**
 * Reads a key that runtimes spell two ways (containerd's go-cni marshals Go field names, e.g.
 * "HostPort"; the conventions use "hostPort"). Both present with different values is an error.
 */
export function eitherKey(obj: JsonObject, path: string, ...keys: string[]): { value: unknown; path: string } {
  let found: { value: unknown; key: string } | undefined;
  for (const key of keys) {
    const value = obj[key];
    if (value === undefined || value === null) continue;
    if (found && JSON.stringify(found.value) !== JSON.stringify(value)) {
      throw invalidField(joinPath(path, key), `equal to ${joinPath(path, found.key)} when both are given`, value);
    }
    found ??= { value, key };
  }
  return found ? { value: found.value, path: joinPath(path, found.key) } : { value: undefined, path: joinPath(path, keys[0] ?? '') };
}
