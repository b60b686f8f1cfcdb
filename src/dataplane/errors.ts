/**
 * The dataplane's error codes. CNI mapping:
 * - a pod namespace path that does not exist → 3 (unknown container): the container is gone, so
 *   the runtime has nothing to clean up for it;
 * - a namespace that exists but cannot be opened or entered → 5 (I/O failure);
 * - a malformed PodNetSpec → 107 (invalid argument); CNI_IFNAME taken inside the pod → 105;
 * - a netlink reply that never came → 108 (timeout);
 * - everything the kernel refuses or that differs on CHECK → 103 (dataplane).
 */
import { getSystemErrorMap, getSystemErrorName } from 'node:util';
import { CniCode, PodnetError, defineErrors } from '../common/errors.js';

export const DataplaneErrors = defineErrors({
  DATAPLANE_INVALID_SPEC: { cni: CniCode.InvalidArgument, doc: 'The pod network request is malformed (interface name, MTU, address or MAC).' },
  DATAPLANE_NETNS_NOT_FOUND: { cni: CniCode.UnknownContainer, doc: "The pod's network namespace path does not exist (the container is gone)." },
  DATAPLANE_NETNS_FAILED: { cni: CniCode.IoFailure, doc: 'A network namespace exists but could not be opened or entered.' },
  DATAPLANE_IFNAME_IN_USE: { cni: CniCode.Conflict, doc: "The requested interface name already exists inside the pod's namespace." },
  DATAPLANE_NETLINK_FAILED: { cni: CniCode.Dataplane, doc: 'The kernel refused a netlink request; the message names the operation and the errno.' },
  DATAPLANE_SYSCALL_FAILED: { cni: CniCode.Dataplane, doc: 'A system call the dataplane needs (socket, bind, send, recv, setns) failed.' },
  DATAPLANE_SYSCTL_FAILED: { cni: CniCode.Dataplane, doc: 'A /proc/sys/net setting could not be read or written.' },
  DATAPLANE_TIMEOUT: { cni: CniCode.Timeout, doc: 'The kernel did not answer a netlink request within the time limit.' },
  DATAPLANE_CHECK_FAILED: { cni: CniCode.Dataplane, doc: "The pod's interfaces, addresses, routes or neighbours differ from what was set up." },
  DATAPLANE_INJECTED: { cni: CniCode.Dataplane, doc: 'A failure injected by the in-memory fake dataplane (tests only).' },
  DATAPLANE_POLICY_FAILED: { cni: CniCode.Dataplane, doc: 'nft refused or failed a network policy transaction; the message has nft\'s words.' },
});

export type DataplaneErrorCode = keyof typeof DataplaneErrors;

/** Symbolic name of a positive errno value ("ENODEV"); "E<n>" when unknown. */
export function errnoName(errno: number): string {
  if (errno === 95) return 'EOPNOTSUPP'; // libuv calls it ENOTSUP; the kernel's name is clearer
  try {
    const name = getSystemErrorName(-errno);
    return /^E[A-Z0-9]+$/.test(name) ? name : `E${errno}`; // unknown ones come back as prose
  } catch {
    return `E${errno}`;
  }
}

export function errnoText(errno: number): string {
  return getSystemErrorMap().get(-errno)?.[1] ?? `errno ${errno}`;
}

/** A failure the kernel reported with an errno (netlink NLMSG_ERROR or a system call). */
export class KernelError extends PodnetError {
  /** Symbolic errno, e.g. "EEXIST". */
  readonly errno: string;
  readonly errnoValue: number;
  /** What was being done, e.g. "create veth pn0123456789ab/eth0". */
  readonly op: string;

  constructor(code: DataplaneErrorCode, op: string, errno: number, opts: { extack?: string; cause?: unknown } = {}) {
    const name = errnoName(errno);
    const tail = opts.extack ? `: ${opts.extack}` : '';
    super(code, `${op}: ${name} (${errnoText(errno)})${tail}`, opts.cause === undefined ? {} : { cause: opts.cause });
    this.errno = name;
    this.errnoValue = errno;
    this.op = op;
  }
}

export function isKernelError(e: unknown, errno?: string): e is KernelError {
  return e instanceof KernelError && (errno === undefined || e.errno === errno);
}
