/**
 * Main-thread side of a reader: starts the worker, resolves once its socket is open (or rejects
 * with the reason), hands batches to the callback, and stops it on close(). The event loop never
 * blocks: every recv(2) happens on the worker's own thread.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { CommonErrors, errorCatalogue, errorMessage } from '../../../common/errors.js';
import '../../errors.js'; // DATAPLANE_* codes the worker may report
import * as sys from '../sys.js';
import { FlowReaderError, NetfilterErrors } from './errors.js';
import { IDLE_WAIT_MS } from './reader-loop.js';
import { ReaderControl, type WorkerConfig, type WorkerInit, type WorkerMessage } from './reader-protocol.js';
import type { FlowReaderHandle, FlowReaderStats } from './types.js';

/** How long open() waits for the worker to enter the namespace and bind. */
const OPEN_TIMEOUT_MS = 10_000;
/** How long close() waits for the worker to notice the stop flag before terminating it. */
const CLOSE_GRACE_MS = IDLE_WAIT_MS * 5 + 1000;
/** V8 heap limits of a reader thread: a batch is small, anything larger is a bug. */
const RESOURCE_LIMITS = { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16, stackSizeMb: 4 };

const WORKER_FILE = join(__dirname, 'worker.js');

function toError(m: { code: string; message: string; errno?: string; fatal: boolean }): FlowReaderError {
  const code = errorCatalogue().has(m.code) ? m.code : NetfilterErrors.NETFILTER_READER_FAILED;
  return new FlowReaderError(code, m.message, { fatal: m.fatal, ...(m.errno ? { errno: m.errno } : {}) });
}

export function startReader<T>(config: WorkerConfig, deliver: (records: readonly T[]) => void, onError: (e: FlowReaderError) => void): Promise<FlowReaderHandle> {
  const ctl = new ReaderControl();
  const init: WorkerInit = { config, control: ctl.sab };
  const worker = new Worker(WORKER_FILE, { workerData: init, resourceLimits: RESOURCE_LIMITS });
  let ready = false;
  let closing = false;
  let closed: Promise<void> | undefined;
  let exited = false;
  let batches = 0;
  let tid = 0;
  let fatalSeen = false;
  const exitedP = new Promise<void>((resolve) => worker.once('exit', () => resolve()));

  const releaseFd = (): void => {
    // The worker clears the slot before closing its socket; anything left is ours to close.
    const fd = ctl.fd();
    if (fd >= 0) {
      ctl.setFd(-1);
      sys.close(fd);
    }
  };

  const fatal = (e: FlowReaderError): void => {
    if (fatalSeen || closing) return;
    fatalSeen = true;
    onError(e);
  };

  const handle: FlowReaderHandle = {
    get tid() {
      return tid;
    },
    stats(): FlowReaderStats {
      return { ...ctl.read(), batches };
    },
    close(): Promise<void> {
      closed ??= (async () => {
        closing = true;
        ctl.requestStop();
        if (!exited) {
          let timer: NodeJS.Timeout | undefined;
          const late = new Promise<'late'>((resolve) => {
            timer = setTimeout(() => resolve('late'), CLOSE_GRACE_MS);
          });
          const r = await Promise.race([exitedP.then(() => 'exited' as const), late]);
          clearTimeout(timer);
          if (r === 'late') await worker.terminate();
          await exitedP;
        }
        releaseFd();
      })();
      return closed;
    },
  };

  return new Promise<FlowReaderHandle>((resolve, reject) => {
    const openTimer = setTimeout(() => {
      if (ready) return;
      ctl.requestStop();
      void worker.terminate();
      reject(new FlowReaderError(NetfilterErrors.NETFILTER_OPEN_FAILED, `${config.label}: reader did not start within ${OPEN_TIMEOUT_MS} ms`, { fatal: true }));
    }, OPEN_TIMEOUT_MS);

    worker.on('message', (m: WorkerMessage<T>) => {
      switch (m.t) {
        case 'ready':
          ready = true;
          tid = m.tid;
          clearTimeout(openTimer);
          resolve(handle);
          return;
        case 'batch':
          ctl.consumed();
          if (closing) return;
          batches++;
          try {
            deliver(m.records);
          } catch (e) {
            onError(new FlowReaderError(CommonErrors.INTERNAL, `${config.label}: the records callback threw: ${errorMessage(e)}`, { cause: e }));
          }
          return;
        case 'error': {
          const err = toError(m);
          if (!ready) {
            clearTimeout(openTimer);
            reject(err);
          } else if (m.fatal) fatal(err);
          else if (!closing) onError(err);
          return;
        }
      }
    });
    worker.on('error', (e) => {
      // An uncaught exception or ERR_WORKER_OUT_OF_MEMORY in the reader thread.
      const err = new FlowReaderError(NetfilterErrors.NETFILTER_READER_FAILED, `${config.label}: reader thread failed: ${errorMessage(e)}`, { fatal: true, cause: e });
      if (!ready) {
        clearTimeout(openTimer);
        reject(err);
      } else fatal(err);
    });
    worker.on('exit', (code) => {
      exited = true;
      clearTimeout(openTimer);
      releaseFd();
      if (!ready) reject(new FlowReaderError(NetfilterErrors.NETFILTER_OPEN_FAILED, `${config.label}: reader thread exited (code ${code}) before it was ready`, { fatal: true }));
      else if (!closing) fatal(new FlowReaderError(NetfilterErrors.NETFILTER_READER_FAILED, `${config.label}: reader thread exited unexpectedly (code ${code})`, { fatal: true }));
    });
  });
}
