/**
 * Error codes of the netfilter flow readers (conntrack events, NFLOG). Readers never fail the
 * datapath: these reach the agent's flow logic, not a container runtime, so the CNI mapping only
 * matters if one ever ends a CNI call.
 */
import { CniCode, PodnetError, defineErrors } from '../../../common/errors.js';

export const NetfilterErrors = defineErrors({
  NETFILTER_INVALID_OPTIONS: { cni: CniCode.InvalidArgument, doc: 'A flow reader option is out of range (NFLOG group, copy range, batch size, buffer size, event list).' },
  NETFILTER_OPEN_FAILED: { cni: CniCode.Dataplane, doc: 'A flow reader could not open, bind or subscribe its nfnetlink socket (needs CAP_NET_ADMIN in the namespace).' },
  NETFILTER_GROUP_IN_USE: { cni: CniCode.Conflict, doc: 'Another socket in the namespace is already bound to this NFLOG group (one reader per group and namespace).' },
  NETFILTER_READER_FAILED: { cni: CniCode.Dataplane, doc: 'A flow reader thread stopped unexpectedly (receive failure or crash); the message has the cause.' },
  NETFILTER_DECODE_FAILED: { cni: CniCode.Internal, doc: 'An nfnetlink message could not be decoded (malformed or truncated).' },
  NETFILTER_INJECTED: { cni: CniCode.Dataplane, doc: 'A failure injected by the in-memory fake flow sources (tests only).' },
});

export type NetfilterErrorCode = keyof typeof NetfilterErrors;

/** A reader failure. fatal: the reader has stopped and delivers nothing more. */
export class FlowReaderError extends PodnetError {
  readonly fatal: boolean;
  /** Symbolic errno when a system call failed ("ENOBUFS", "EPERM"). */
  readonly errno: string | undefined;

  constructor(code: string, message: string, opts: { fatal?: boolean; errno?: string; cause?: unknown } = {}) {
    super(code, message, opts.cause === undefined ? {} : { cause: opts.cause });
    this.name = 'FlowReaderError';
    this.fatal = opts.fatal ?? false;
    this.errno = opts.errno;
  }
}

/** Thrown by the pure codecs for a malformed message; readers count and skip these. */
export class NetfilterDecodeError extends PodnetError {
  constructor(message: string) {
    super(NetfilterErrors.NETFILTER_DECODE_FAILED, message);
    this.name = 'NetfilterDecodeError';
  }
}
