/** The address plan of bench/controlplane's simulated nodes (shared by run.ts and writer.ts). */

/** Block i of the simulated nodes: 10.244.16.0/26 onwards (the real agents take the first blocks). */
export function simBlock(i: number): { cidr: string; tunnel: string } {
  const off = 16 * 256 + i * 64;
  const a = Math.floor(off / 256);
  const b = off % 256;
  if (a > 255) throw new Error(`simulated node ${i}: out of the /16`);
  return { cidr: `10.244.${a}.${b}/26`, tunnel: `10.244.${a}.${b}` };
}
