/**
 * Device offload features through the ethtool generic netlink family (Linux 5.6+), the API the
 * `ethtool -k/-K` command uses, so no ethtool binary is needed. Only what the VXLAN device needs:
 * read whether a feature is active, and switch it.
 *
 * Why: with TX checksum offload on the VXLAN device, some kernels send encapsulated packets whose
 * inner checksum is never filled in once the packet was NATed on the way (service traffic), and
 * the receiver drops them ("UDP: bad checksum", flannel-io/flannel#1279). Flannel, kops and others
 * turn `tx-checksum-ip-generic` off on the device.
 */
import { PodnetError } from '../../../common/errors.js';
import { type EncodedAttr, attrFlag, attrMap, attrNested, attrString, attrU32, decodeAttrs, getString } from '../netlink/codec.js';
import { NetlinkSocket } from '../netlink/socket.js';
import { LinuxClusterErrors } from './errors.js';
import { GENL_HDRLEN, NETLINK_GENERIC, genlRequest, resolveFamily } from './genl.js';

export const TX_CHECKSUM_FEATURE = 'tx-checksum-ip-generic';

const ETHTOOL_GENL_VERSION = 1;
const ETHTOOL_MSG_FEATURES_GET = 11;
const ETHTOOL_MSG_FEATURES_SET = 12;
const ETHTOOL_A_HEADER_DEV_INDEX = 1;
const ETHTOOL_A_HEADER_FLAGS = 3;
const ETHTOOL_FLAG_OMIT_REPLY = 1 << 1;
const ETHTOOL_A_FEATURES_HEADER = 1;
const ETHTOOL_A_FEATURES_WANTED = 3;
const ETHTOOL_A_FEATURES_ACTIVE = 4;
const ETHTOOL_A_BITSET_BITS = 3;
const ETHTOOL_A_BITSET_BITS_BIT = 1;
const ETHTOOL_A_BITSET_BIT_NAME = 2;
const ETHTOOL_A_BITSET_BIT_VALUE = 3;

/** Nested attributes with NLA_F_NESTED, which genetlink's strict validation requires. */
const nest = (type: number, children: readonly EncodedAttr[]): EncodedAttr => attrNested(type, children, true);

const header = (index: number, flags = 0): EncodedAttr =>
  nest(ETHTOOL_A_FEATURES_HEADER, [attrU32(ETHTOOL_A_HEADER_DEV_INDEX, index), ...(flags ? [attrU32(ETHTOOL_A_HEADER_FLAGS, flags)] : [])]);

/** Names of the bits listed in a verbose bitset (ACTIVE is sent as a list of the set bits). */
export function bitsetNames(bitset: Buffer): string[] {
  const bits = attrMap(bitset).get(ETHTOOL_A_BITSET_BITS);
  if (!bits) return [];
  const out: string[] = [];
  for (const b of decodeAttrs(bits)) {
    if (b.type !== ETHTOOL_A_BITSET_BITS_BIT) continue;
    const name = getString(attrMap(b.value), ETHTOOL_A_BITSET_BIT_NAME);
    if (name !== undefined) out.push(name);
  }
  return out;
}

/** One generic netlink socket in a namespace, with the ethtool family resolved lazily. */
export class Ethtool {
  private sock: NetlinkSocket | undefined;
  private family: number | undefined;

  constructor(private readonly opts: { readonly netnsPath?: string; readonly label: string; readonly timeoutMs: number }) {}

  close(): void {
    this.sock?.close();
    this.sock = undefined;
    this.family = undefined;
  }

  /** The active offload features of a device, by name. */
  activeFeatures(index: number, dev: string): Set<string> {
    const msgs = this.call(genlRequest(this.familyId(), ETHTOOL_MSG_FEATURES_GET, ETHTOOL_GENL_VERSION, [header(index)], `ethtool get features of ${dev}`));
    for (const m of msgs) {
      if (m.payload.length < GENL_HDRLEN) continue;
      const active = attrMap(m.payload, GENL_HDRLEN).get(ETHTOOL_A_FEATURES_ACTIVE);
      if (active) return new Set(bitsetNames(active));
    }
    throw new PodnetError(LinuxClusterErrors.CLUSTER_ETHTOOL_FAILED, `ethtool get features of ${dev}: no active feature set in the answer`);
  }

  /** Switches one feature (the kernel also switches the features that depend on it). */
  setFeature(index: number, dev: string, feature: string, on: boolean): void {
    const bit = nest(ETHTOOL_A_BITSET_BITS_BIT, [attrString(ETHTOOL_A_BITSET_BIT_NAME, feature), ...(on ? [attrFlag(ETHTOOL_A_BITSET_BIT_VALUE)] : [])]);
    const wanted = nest(ETHTOOL_A_FEATURES_WANTED, [nest(ETHTOOL_A_BITSET_BITS, [bit])]);
    this.call(genlRequest(this.familyId(), ETHTOOL_MSG_FEATURES_SET, ETHTOOL_GENL_VERSION, [header(index, ETHTOOL_FLAG_OMIT_REPLY), wanted], `ethtool -K ${dev} ${feature} ${on ? 'on' : 'off'}`));
  }

  private socket(): NetlinkSocket {
    if (!this.sock || this.sock.closed) {
      this.sock = NetlinkSocket.open({
        ...(this.opts.netnsPath === undefined ? {} : { netnsPath: this.opts.netnsPath }),
        label: this.opts.label,
        timeoutMs: this.opts.timeoutMs,
        protocol: NETLINK_GENERIC,
      });
      this.family = undefined;
    }
    return this.sock;
  }

  private familyId(): number {
    const sock = this.socket();
    if (this.family === undefined) this.family = resolveFamily(sock, 'ethtool');
    return this.family;
  }

  private call(req: Parameters<NetlinkSocket['request']>[0]): ReturnType<NetlinkSocket['request']> {
    try {
      return this.socket().request(req);
    } catch (e) {
      if (e instanceof PodnetError && e.code === LinuxClusterErrors.CLUSTER_ETHTOOL_FAILED) throw e;
      throw new PodnetError(LinuxClusterErrors.CLUSTER_ETHTOOL_FAILED, (e as Error).message, { cause: e });
    }
  }
}
