/** Where the built pieces are, relative to this file's place in dist/. */
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(__dirname, '..', '..', '..');
/** The podnet CLI/agent entry point. */
export const PODNET_JS = join(REPO_ROOT, 'dist', 'src', 'bin', 'podnet.js');
/** Directory holding podnet-cni and podnet-ipam (the C shim). */
export const PODNET_CNI_DIR = join(REPO_ROOT, 'build', 'cni');
/** Debian's containernetworking-plugins: the reference plugins (baseline, portmap, bandwidth). */
export const REFERENCE_CNI_DIR = '/usr/lib/cni';
