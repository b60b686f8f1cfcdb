/**
 * Test harness that drives real container runtimes (podman 4.3 with its CNI backend, and
 * containerd 1.6 through `ctr run --cni`) against any CNI configuration, each fully contained
 * in the test's host network namespace plus private PID and mount namespaces. See
 * docs/RUNTIMES.md.
 */
export type { RuntimeEnvOptions } from './common.js';
export { parseIpv4 } from './common.js';
export { withPodmanEnv, type PodmanEnv, type PodmanContainer, type PodmanRunOptions, type PodmanRef } from './podman.js';
export { withContainerd, BUSYBOX_IMAGE, type ContainerdEnv, type CtrContainer, type CtrExit, type CtrRunOptions, type CtrRef } from './containerd.js';
export { createNetns, deleteNetns, withNetns, netnsExec, netnsExecOk, netnsPath } from './netns.js';
export { Sandbox, removeCgroup, type BindMount, type SandboxOptions } from './sandbox.js';
export { buildBusyboxRootfs, buildBusyboxOciImage } from './rootfs.js';
export { run, runOk, HarnessError, WaitAbort, LongProcess, waitFor, type ExecResult, type ExecOptions, type ExitStatus } from './proc.js';
