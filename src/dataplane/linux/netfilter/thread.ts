/**
 * The kernel's view of a reader thread: its thread id (gettid, through koffi), the CPU time it
 * used (/proc/self/task/TID/stat), for the agent's metrics and the benchmarks, and its
 * scheduling class (SCHED_IDLE for readers that must not compete with the node's pods).
 */
import * as koffi from 'koffi';
import { readFileSync } from 'node:fs';

interface ThreadLibc {
  gettid(): number;
  /** sched_setscheduler(0, SCHED_IDLE): 0, or the errno. */
  idle(): number;
  clockTicks: number;
}

const SCHED_IDLE = 5;
let lib: ThreadLibc | undefined;

function load(): ThreadLibc {
  if (lib) return lib;
  const libc = koffi.load('libc.so.6');
  const gettid = libc.func('int gettid(void)');
  const sysconf = libc.func('long sysconf(int)');
  const setScheduler = libc.func('int sched_setscheduler(int pid, int policy, const void *param)');
  const errnoLocation = libc.func('int *__errno_location(void)');
  const ticks = Number(sysconf(2 /* _SC_CLK_TCK */));
  const idle = (): number => {
    const param = Buffer.alloc(4); // struct sched_param { int sched_priority = 0 }
    if (Number(setScheduler(0, SCHED_IDLE, param)) === 0) return 0;
    return Number(koffi.decode(errnoLocation(), 'int'));
  };
  lib = { gettid: () => Number(gettid()), idle, clockTicks: ticks > 0 ? ticks : 100 };
  return lib;
}

/** The calling thread's kernel thread id. */
export function gettid(): number {
  return load().gettid();
}

/**
 * Puts the calling thread in the SCHED_IDLE class (pid 0 is the calling thread for the Linux
 * scheduler calls): it runs only on CPU time nothing else wants. Returns 0 or the errno.
 */
export function setIdlePriority(): number {
  return load().idle();
}

/** The calling thread's scheduling policy as /proc shows it (field 41 of stat); undefined if unknown. */
export function threadPolicy(tid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const v = Number(rest[38]);
    return Number.isInteger(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** User + system CPU time of one thread of this process, in ms; undefined once it is gone. */
export function threadCpuMs(tid: number): number | undefined {
  if (!Number.isInteger(tid) || tid <= 0) return undefined;
  let stat: string;
  try {
    stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the ")" that closes the command name: state is field 3; utime 14, stime 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return ((utime + stime) * 1000) / load().clockTicks;
}

/** Number of threads in this process now. */
export function threadCount(): number {
  const m = /^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : 0;
}
