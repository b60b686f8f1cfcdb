/**
 * Entry point of a reader thread (worker_threads). Enters the target namespace (setns moves only
 * this thread), opens the source, reports ready with its thread id, then runs the receive loop
 * until the main thread raises the stop flag. Any failure is posted as one fatal error message.
 */
import { closeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { PodnetError, errorMessage } from '../../../common/errors.js';
import { DataplaneErrors, KernelError, isKernelError } from '../../errors.js';
import { openNetns } from '../netns.js';
import { CLONE_NEWNET, setnsRaw } from '../sys.js';
import { openConntrackSource } from './conntrack-source.js';
import { FlowReaderError, NetfilterErrors } from './errors.js';
import { openNflogSource } from './nflog-source.js';
import { type KernelSource, runReaderLoop } from './reader-loop.js';
import { ReaderControl, type WorkerInit, type WorkerMessage } from './reader-protocol.js';
import { gettid, setIdlePriority } from './thread.js';

function post(m: WorkerMessage<unknown>): void {
  parentPort?.postMessage(m);
}

function report(e: unknown, phase: 'open' | 'read', label: string): void {
  let code: string = phase === 'open' ? NetfilterErrors.NETFILTER_OPEN_FAILED : NetfilterErrors.NETFILTER_READER_FAILED;
  if (e instanceof FlowReaderError || (e instanceof PodnetError && e.code.startsWith('DATAPLANE_NETNS'))) code = e.code;
  const errno = isKernelError(e) ? e.errno : e instanceof FlowReaderError ? e.errno : undefined;
  post({ t: 'error', code, message: `${label}: ${errorMessage(e)}`, ...(errno ? { errno } : {}), fatal: true });
}

function enterNetns(path: string): void {
  const fd = openNetns(path);
  try {
    const err = setnsRaw(fd, CLONE_NEWNET);
    if (err !== 0) throw new KernelError(DataplaneErrors.DATAPLANE_NETNS_FAILED, `enter network namespace ${path}`, err);
  } finally {
    closeSync(fd);
  }
}

function main(): void {
  const init = workerData as WorkerInit;
  const cfg = init.config;
  const ctl = new ReaderControl(init.control);
  const onFd = (fd: number): void => ctl.setFd(fd);
  let src: KernelSource<unknown>;
  try {
    // This thread never leaves the namespace: it ends with the reader.
    if (cfg.netns !== undefined) enterNetns(cfg.netns);
    src =
      cfg.source.kind === 'conntrack'
        ? openConntrackSource(cfg.source, cfg.rcvbufBytes, onFd)
        : openNflogSource(cfg.source, cfg.rcvbufBytes, onFd);
  } catch (e) {
    report(e, 'open', cfg.label);
    return;
  }
  try {
    post({ t: 'ready', tid: gettid() });
    if (cfg.idlePriority) {
      const errno = setIdlePriority();
      if (errno !== 0) post({ t: 'error', code: NetfilterErrors.NETFILTER_READER_FAILED, message: `${cfg.label}: cannot run the reader at idle priority (errno ${errno}); it runs at normal priority`, fatal: false });
    }
    runReaderLoop(src, cfg, ctl, {
      post: (records) => post({ t: 'batch', records }),
      warn: (code, message) => post({ t: 'error', code, message: `${cfg.label}: ${message}`, fatal: false }),
    });
  } catch (e) {
    report(e, 'read', cfg.label);
  } finally {
    src.close();
  }
}

main();
