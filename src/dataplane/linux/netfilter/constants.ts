/**
 * Kernel ABI numbers for nfnetlink, ctnetlink events and NFLOG, from the uapi headers
 * (linux/netfilter/nfnetlink.h, nfnetlink_conntrack.h, nfnetlink_log.h,
 * nf_conntrack_common.h, nf_conntrack_tcp.h, linux/netlink.h). Only what podnet reads.
 * Every integer inside an nfnetlink attribute is big-endian ("be16/be32/be64" below); the
 * netlink and nfgenmsg headers are host order, except nfgenmsg.res_id (be16).
 */

// --- sockets --------------------------------------------------------------------------------
export const NETLINK_NETFILTER = 12;
export const NETLINK_ADD_MEMBERSHIP = 1;
export const NETLINK_DROP_MEMBERSHIP = 2;
export const NETLINK_BROADCAST_ERROR = 4;
export const NETLINK_NO_ENOBUFS = 5;
export const SO_RCVBUF = 8;
export const SO_RCVBUFFORCE = 33;
export const ENOBUFS = 105;
export const EPERM = 1;
export const EINTR = 4;
export const EBUSY = 16;

// --- nfnetlink ------------------------------------------------------------------------------
/** struct nfgenmsg: u8 family, u8 version, be16 res_id. */
export const NFGENMSG_LEN = 4;
export const NFNETLINK_V0 = 0;
export const NFNL_SUBSYS_CTNETLINK = 1;
export const NFNL_SUBSYS_ULOG = 4;
export const nfnlMsgType = (subsys: number, msg: number): number => ((subsys & 0xff) << 8) | (msg & 0xff);

export const NFNLGRP_CONNTRACK_NEW = 1;
export const NFNLGRP_CONNTRACK_UPDATE = 2;
export const NFNLGRP_CONNTRACK_DESTROY = 3;

export const NFPROTO_INET = 1;
export const NFPROTO_IPV4 = 2;
export const NFPROTO_ARP = 3;
export const NFPROTO_NETDEV = 5;
export const NFPROTO_BRIDGE = 7;
export const NFPROTO_IPV6 = 10;

// --- ctnetlink ------------------------------------------------------------------------------
export const IPCTNL_MSG_CT_NEW = 0;
export const IPCTNL_MSG_CT_DELETE = 2;

export const CTA_TUPLE_ORIG = 1;
export const CTA_TUPLE_REPLY = 2;
export const CTA_STATUS = 3; // be32
export const CTA_PROTOINFO = 4;
export const CTA_TIMEOUT = 7; // be32, seconds
export const CTA_MARK = 8; // be32
export const CTA_COUNTERS_ORIG = 9;
export const CTA_COUNTERS_REPLY = 10;
export const CTA_USE = 11; // be32
export const CTA_ID = 12; // be32
export const CTA_ZONE = 18; // be16
export const CTA_TIMESTAMP = 20;
export const CTA_MAX_KNOWN = 24;

export const CTA_TUPLE_IP = 1;
export const CTA_TUPLE_PROTO = 2;
export const CTA_TUPLE_ZONE = 3; // be16

export const CTA_IP_V4_SRC = 1;
export const CTA_IP_V4_DST = 2;
export const CTA_IP_V6_SRC = 3;
export const CTA_IP_V6_DST = 4;

export const CTA_PROTO_NUM = 1; // u8
export const CTA_PROTO_SRC_PORT = 2; // be16
export const CTA_PROTO_DST_PORT = 3; // be16
export const CTA_PROTO_ICMP_ID = 4; // be16
export const CTA_PROTO_ICMP_TYPE = 5; // u8
export const CTA_PROTO_ICMP_CODE = 6; // u8
export const CTA_PROTO_ICMPV6_ID = 7;
export const CTA_PROTO_ICMPV6_TYPE = 8;
export const CTA_PROTO_ICMPV6_CODE = 9;

export const CTA_PROTOINFO_TCP = 1;
export const CTA_PROTOINFO_SCTP = 3;
export const CTA_PROTOINFO_TCP_STATE = 1; // u8
export const CTA_PROTOINFO_SCTP_STATE = 1; // u8

export const CTA_COUNTERS_PACKETS = 1; // be64
export const CTA_COUNTERS_BYTES = 2; // be64
export const CTA_COUNTERS32_PACKETS = 3; // be32 (old kernels)
export const CTA_COUNTERS32_BYTES = 4;

export const CTA_TIMESTAMP_START = 1; // be64 ns since the epoch
export const CTA_TIMESTAMP_STOP = 2;

/** enum ip_conntrack_status, bit by bit (nf_conntrack_common.h). */
export const IPS_BITS = [
  'EXPECTED', 'SEEN_REPLY', 'ASSURED', 'CONFIRMED', 'SRC_NAT', 'DST_NAT', 'SEQ_ADJUST', 'SRC_NAT_DONE',
  'DST_NAT_DONE', 'DYING', 'FIXED_TIMEOUT', 'TEMPLATE', 'NAT_CLASH', 'HELPER', 'OFFLOAD', 'HW_OFFLOAD',
] as const;

/** enum tcp_conntrack (nf_conntrack_tcp.h). */
export const TCP_CONNTRACK_STATES = [
  'NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2',
] as const;

// --- nfnetlink_log ----------------------------------------------------------------------------
export const NFULNL_MSG_PACKET = 0;
export const NFULNL_MSG_CONFIG = 1;

export const NFULA_PACKET_HDR = 1; // {be16 hw_protocol, u8 hook, u8 pad}
export const NFULA_MARK = 2; // be32
export const NFULA_TIMESTAMP = 3; // {be64 sec, be64 usec}
export const NFULA_IFINDEX_INDEV = 4; // be32
export const NFULA_IFINDEX_OUTDEV = 5;
export const NFULA_IFINDEX_PHYSINDEV = 6;
export const NFULA_IFINDEX_PHYSOUTDEV = 7;
export const NFULA_HWADDR = 8; // {be16 len, u16 pad, u8[8]}
export const NFULA_PAYLOAD = 9; // the packet from its network header, cut to the copy range
export const NFULA_PREFIX = 10; // NUL-terminated string
export const NFULA_UID = 11; // be32
export const NFULA_SEQ = 12; // be32, per instance
export const NFULA_SEQ_GLOBAL = 13;
export const NFULA_GID = 14;
export const NFULA_HWTYPE = 15;
export const NFULA_MAX_KNOWN = 22;

export const NFULNL_CFG_CMD_BIND = 1;
export const NFULNL_CFG_CMD_UNBIND = 2;
export const NFULNL_CFG_CMD_PF_BIND = 3;
export const NFULNL_CFG_CMD_PF_UNBIND = 4;

export const NFULA_CFG_CMD = 1; // u8
export const NFULA_CFG_MODE = 2; // {be32 copy_range, u8 copy_mode, u8 pad}
export const NFULA_CFG_NLBUFSIZ = 3; // be32
export const NFULA_CFG_TIMEOUT = 4; // be32, 1/100 s
export const NFULA_CFG_QTHRESH = 5; // be32
export const NFULA_CFG_FLAGS = 6; // be16

export const NFULNL_COPY_META = 0x01;
export const NFULNL_COPY_PACKET = 0x02;
export const NFULNL_CFG_F_SEQ = 0x0001;
/** NFULNL_COPY_RANGE_MAX: 0xffff minus the attribute header. */
export const NFULNL_COPY_RANGE_MAX = 0xffff - 4;
/** nfulnl_set_nlbufsiz accepts at most this (larger values are silently ignored). */
export const NFULNL_NLBUFSIZ_MAX = 131072;

/** Netfilter hooks of the inet families (NF_INET_*), by number. */
export const INET_HOOKS = ['prerouting', 'input', 'forward', 'output', 'postrouting'] as const;

// --- IP -------------------------------------------------------------------------------------
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_SCTP = 132;
export const IPPROTO_UDPLITE = 136;
export const ETH_P_IP = 0x0800;
export const ETH_P_IPV6 = 0x86dd;
