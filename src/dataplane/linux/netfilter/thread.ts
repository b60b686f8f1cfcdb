/**
 * The kernel's view of a reader thread: its thread id (gettid, through koffi) and the CPU time
 * it used (/proc/self/task/TID/stat), for the agent's metrics and the benchmarks.
 */
import * as koffi from 'koffi';
import { readFileSync } from 'node:fs';

interface ThreadLibc {
  gettid(): number;
  clockTicks: number;
}
let lib: ThreadLibc | undefined;

function load(): ThreadLibc {
  if (lib) return lib;
  const libc = koffi.load('libc.so.6');
  const gettid = libc.func('int gettid(void)');
  const sysconf = libc.func('long sysconf(int)');
  const ticks = Number(sysconf(2 /* _SC_CLK_TCK */));
  lib = { gettid: () => Number(gettid()), clockTicks: ticks > 0 ? ticks : 100 };
  return lib;
}

/** The calling thread's kernel thread id. */
export function gettid(): number {
  return load().gettid();
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
