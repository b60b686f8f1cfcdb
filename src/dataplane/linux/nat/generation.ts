/**
 * The nftables ruleset generation of a namespace (NFT_MSG_GETGEN over NETLINK_NETFILTER): it
 * changes with every committed nftables transaction, by anyone. When it is the one seen at the
 * end of our last read or write, the NAT table is still what we left, and a no-op apply need
 * not spawn nft to read it back.
 */
import { attrMap } from '../netlink/codec.js';
import { NetlinkSocket } from '../netlink/socket.js';

const NETLINK_NETFILTER = 12;
const NFNL_SUBSYS_NFTABLES = 10;
const NFT_MSG_GETGEN = 16;
const NFT_MSG_NEWGEN = 15;
const NFGENMSG_LEN = 4;
const NFTA_GEN_ID = 1;

export class NftGeneration {
  private sock: NetlinkSocket | undefined;

  constructor(private readonly opts: { readonly netnsPath?: string; readonly label: string; readonly timeoutMs: number }) {}

  /** The current generation id, or undefined when the kernel does not say. */
  read(): number | undefined {
    if (!this.sock || this.sock.closed) {
      this.sock = NetlinkSocket.open({
        ...(this.opts.netnsPath === undefined ? {} : { netnsPath: this.opts.netnsPath }),
        label: this.opts.label,
        timeoutMs: this.opts.timeoutMs,
        protocol: NETLINK_NETFILTER,
      });
    }
    const payload = Buffer.alloc(NFGENMSG_LEN); // nfgenmsg: family AF_UNSPEC, version 0, res_id 0
    const msgs = this.sock.request({ type: (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN, flags: 0, payload, what: 'get nftables generation' });
    for (const m of msgs) {
      if ((m.type & 0xff) !== NFT_MSG_NEWGEN || m.payload.length < NFGENMSG_LEN) continue;
      const id = attrMap(m.payload, NFGENMSG_LEN).get(NFTA_GEN_ID);
      if (id && id.length >= 4) return id.readUInt32BE(0);
    }
    return undefined;
  }

  close(): void {
    this.sock?.close();
    this.sock = undefined;
  }
}
