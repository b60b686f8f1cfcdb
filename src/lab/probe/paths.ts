/** Where the probe pieces are once built. */
import { join } from 'node:path';
import { REPO_ROOT } from '../paths.js';

/** The daemon's entry point (compiled from src/lab/probe/main.ts). */
export const PROBE_MAIN_JS = join(REPO_ROOT, 'dist', 'src', 'lab', 'probe', 'main.js');
/** The SCTP crafting tool (shim/podnet-sctp-probe.c, built by scripts/build-probe). */
export const SCTP_PROBE_BIN = join(REPO_ROOT, 'build', 'lab', 'podnet-sctp-probe');
