// CPU time of the workerd processes this benchmark starts, read from Linux's /proc: a measure of the work
// a request costs that noise on a shared 2-core machine affects far less than latency does.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

const TICKS_PER_SECOND = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

/** Process ids of the workerd processes that are children of this process. */
export function workerdChildren(): Set<number> {
  const children = new Set<number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat && stat.ppid === process.pid && stat.comm === "workerd") children.add(Number(entry));
  }
  return children;
}

/** User plus system CPU time of a process (all its threads) so far, in milliseconds; 0 once it is gone. */
export function cpuMs(pid: number): number {
  const stat = readStat(pid);
  return stat ? ((stat.utime + stat.stime) * 1000) / TICKS_PER_SECOND : 0;
}

function readStat(pid: number): { comm: string; ppid: number; utime: number; stime: number } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so split after the last ')'.
  const close = text.lastIndexOf(")");
  const comm = text.slice(text.indexOf("(") + 1, close);
  const fields = text.slice(close + 2).split(" ");
  // fields[0] is state (field 3 of the file); utime and stime are fields 14 and 15.
  return { comm, ppid: Number(fields[1]), utime: Number(fields[11]), stime: Number(fields[12]) };
}
