/** CPU time of a process (user + system, ms) from /proc/<pid>/stat: how benchmarks report a server's CPU. */
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** The process's CPU time so far, in ms (Linux). */
export function processCpuMs(pid: number): number {
  // Fields after the command name (which may hold spaces), per proc(5): utime is 14th, stime 15th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / TICKS_PER_SECOND;
}
