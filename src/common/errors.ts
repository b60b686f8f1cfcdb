/**
 * One error type for the whole project. Every failure carries a stable string code
 * (documented in docs/ERRORS.md, checked by a test) and the CNI error code it maps to
 * when it reaches a container runtime.
 *
 * CNI spec codes (SPEC.md "Error"): 1 incompatible version, 2 unsupported field,
 * 3 unknown container, 4 invalid env, 5 I/O failure, 6 decode failure, 7 invalid config,
 * 11 try again later, 50/51 STATUS. podnet's own codes start at 100.
 */

export const CniCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnv: 4,
  IoFailure: 5,
  DecodeFailure: 6,
  InvalidConfig: 7,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  PluginNotAvailableLimitedConnectivity: 51,
  // podnet's own (100+), see docs/ERRORS.md
  Internal: 100,
  IpamExhausted: 101,
  IpamAddressUnavailable: 102,
  Dataplane: 103,
  Datastore: 104,
  Conflict: 105,
  NotFound: 106,
  InvalidArgument: 107,
  Timeout: 108,
} as const;
export type CniCodeValue = (typeof CniCode)[keyof typeof CniCode];

export interface ErrorSpec {
  /** CNI code sent to runtimes when this error ends a CNI call. */
  readonly cni: CniCodeValue;
  /** One sentence for docs/ERRORS.md. */
  readonly doc: string;
}

/** Registry of every error code; modules add theirs with defineErrors(). */
const registry = new Map<string, ErrorSpec>();

/**
 * Declares a module's error codes. Returns the same table typed by its keys so that
 * `new PodnetError(IpamErrors.POOL_EXHAUSTED, ...)` is checked at compile time.
 */
export function defineErrors<const T extends Record<string, ErrorSpec>>(table: T): { [K in keyof T]: K } {
  const out = {} as { [K in keyof T]: K };
  for (const [code, spec] of Object.entries(table)) {
    const prev = registry.get(code);
    if (prev && prev !== spec) throw new Error(`error code ${code} defined twice`);
    registry.set(code, spec);
    (out as Record<string, string>)[code] = code;
  }
  return out;
}

export function errorCatalogue(): ReadonlyMap<string, ErrorSpec> {
  return registry;
}

export const CommonErrors = defineErrors({
  INTERNAL: { cni: CniCode.Internal, doc: 'An unexpected internal failure; the message has the detail.' },
  INVALID_ARGUMENT: { cni: CniCode.InvalidArgument, doc: 'A command-line or API argument is malformed.' },
  NOT_FOUND: { cni: CniCode.NotFound, doc: 'The named object does not exist.' },
  TIMEOUT: { cni: CniCode.Timeout, doc: 'An operation did not finish within its time limit.' },
});

export class PodnetError extends Error {
  readonly code: string;
  readonly cni: CniCodeValue;
  readonly details: string | undefined;

  constructor(code: string, message: string, opts: { details?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    const spec = registry.get(code);
    if (!spec) throw new Error(`undeclared error code ${code}: ${message}`);
    this.name = 'PodnetError';
    this.code = code;
    this.cni = spec.cni;
    this.details = opts.details;
  }
}

export function isPodnetError(e: unknown, code?: string): e is PodnetError {
  return e instanceof PodnetError && (code === undefined || e.code === code);
}

/** Turns anything thrown into a PodnetError, keeping PodnetErrors as they are. */
export function asPodnetError(e: unknown): PodnetError {
  if (e instanceof PodnetError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new PodnetError(CommonErrors.INTERNAL, msg, { cause: e });
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
