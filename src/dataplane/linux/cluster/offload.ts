/**
 * Whether to turn TX checksum offload off on the VXLAN devices (flannel-io/flannel#1279: bad
 * inner checksums after NAT, with MASQUERADE --random-fully, on kernels before 5.7).
 *
 * - "disable" (the default): always off. Safe everywhere, but it also turns TSO off on the device;
 *   measured here (kernel 6.18, veth underlay), pod-to-pod TCP over VXLAN ran at roughly half the
 *   throughput.
 * - "auto": off only on kernels older than 5.7, as Calico does since 2024 (projectcalico/calico#8746).
 * - "keep": leave the kernel's default.
 */
import { release } from 'node:os';

export type TxChecksumMode = 'disable' | 'keep' | 'auto';

/** The first kernel version where the NAT + VXLAN checksum offload bug is no longer seen. */
export const FIXED_KERNEL: readonly [number, number] = [5, 7];

export function disablesTxChecksum(mode: TxChecksumMode, kernelRelease: string = release()): boolean {
  if (mode === 'keep') return false;
  if (mode === 'disable') return true;
  const m = /^(\d+)\.(\d+)/.exec(kernelRelease);
  if (!m) return true; // unknown kernel: the safe choice
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major < FIXED_KERNEL[0] || (major === FIXED_KERNEL[0] && minor < FIXED_KERNEL[1]);
}
