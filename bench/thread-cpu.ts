// CPU time per thread of a process, read from Linux /proc: the API benchmarks use it to say
// where the CPU went (main thread, PGlite thread) even when other work shares the machine.
import { readFileSync, readdirSync } from 'node:fs';

/** Clock ticks per second of /proc's utime and stime (USER_HZ, 100 on Linux). */
const procTicksPerSecond = 100;

/** CPU seconds used so far by each thread of `pid` ('self': this process), by thread id (empty off Linux). */
export function threadCpuSeconds(pid: number | 'self'): Map<number, number> {
  const seconds = new Map<number, number>();
  let threadIds: string[];
  try {
    threadIds = readdirSync(`/proc/${pid}/task`);
  } catch {
    return seconds;
  }
  for (const threadId of threadIds) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${threadId}/stat`, 'utf8');
      // Fields after the parenthesized name: state is field 3, utime 14, stime 15.
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      seconds.set(Number(threadId), (Number(fields[11]) + Number(fields[12])) / procTicksPerSecond);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return seconds;
}

/** The sum over all threads of a threadCpuSeconds reading. */
export function totalOf(seconds: Map<number, number>): number {
  let total = 0;
  for (const value of seconds.values()) total += value;
  return total;
}
