/** Flow observability from the kernel: conntrack events and NFLOG packets (see README.md). */
export * from './types.js';
export { FlowReaderError, NetfilterErrors, NetfilterDecodeError } from './errors.js';
export { openConntrackEvents } from './conntrack-events.js';
export { openNflog } from './nflog.js';
export { enableConntrackAccounting, readConntrackAccounting } from './sysctl.js';
export { LinuxFlowSources } from './linux.js';
export { FakeFlowSources, makeConntrackEvent, makeNflogPacket } from './fake.js';
export { decodeConntrackEvent, decodeConntrackDatagram, statusFlags, type DecodeSink } from './conntrack-codec.js';
export { decodeNflogPacket, decodeNflogDatagram } from './nflog-codec.js';
export { parsePacket, tcpFlagNames } from './packet.js';
export { threadCpuMs } from './thread.js';
