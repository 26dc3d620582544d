// CPU time (from /proc) and resident memory (pidusage) of the processes under test (the bench and the fault suite).
import { readdirSync, readFileSync } from "node:fs";
import pidusage from "pidusage";

/** Named pids; an undefined pid (a process not running) is left out. */
export type Pids = Record<string, number | undefined>;

/** Linux reports CPU time in /proc in USER_HZ ticks: 100 a second on every architecture Node runs on. */
const msPerTick = 10;

/** Every process's parent and CPU ticks so far (user + system, all its threads), from /proc/<pid>/stat. */
function processTicks(): Map<number, { ppid: number; ticks: number }> {
  const out = new Map<number, { ppid: number; ticks: number }>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "latin1");
    } catch {
      continue; // exited meanwhile
    }
    // The command name is in parentheses and may hold spaces: the fields after it are fixed.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    out.set(Number(entry), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
  }
  return out;
}

/** `root` and every process below it (PostgreSQL's backends are its postmaster's children). */
function treeOf(snapshot: Map<number, { ppid: number }>, root: number): number[] {
  const tree = [root];
  for (let i = 0; i < tree.length; i++) for (const [pid, { ppid }] of snapshot) if (ppid === tree[i]) tree.push(pid);
  return tree;
}

/** The machine's busy CPU ticks so far (user, nice, system, irq, softirq: not idle, I/O wait or steal), from /proc/stat. */
function machineTicks(): number {
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = readFileSync("/proc/stat", "latin1")
    .split("\n")[0]!
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return user + nice + system + irq + softirq;
}

/**
 * Starts a CPU accounting window; the function returned ends it with the CPU ms each named process,
 * with its descendants, used meanwhile (a process gone by the end is left out), and `machine`, all
 * processes together.
 */
export async function cpuWindow(pids: Pids): Promise<() => Promise<Record<string, number> & { machine: number }>> {
  const [before, machineBefore] = [processTicks(), machineTicks()];
  return async () => {
    const [after, machineAfter] = [processTicks(), machineTicks()];
    const used: Record<string, number> = {};
    for (const [name, root] of Object.entries(pids)) {
      if (root === undefined || !after.has(root)) continue;
      const ticks = treeOf(after, root).reduce((sum, pid) => sum + after.get(pid)!.ticks - (before.get(pid)?.ticks ?? 0), 0);
      used[name] = ticks * msPerTick;
    }
    return { ...used, machine: (machineAfter - machineBefore) * msPerTick };
  };
}

/** A process to sample; several under one name (a cluster's nodes) share one peak, their largest. */
export interface NamedPid {
  name: string;
  pid: number | undefined;
}

/** Samples the resident memory of `processes()` every `everyMs` (a restarted one under the same name); `stop` returns each name's peak in MiB. */
export function peakRss(processes: () => NamedPid[], everyMs = 500) {
  const peaks: Record<string, number> = {};
  const sample = async () => {
    const named = processes();
    const read = await Promise.all(named.map(({ pid }) => (pid === undefined ? undefined : pidusage(pid).catch(() => undefined))));
    read.forEach((s, i) => {
      if (s) peaks[named[i]!.name] = Math.max(peaks[named[i]!.name] ?? 0, Math.round(s.memory / 1024 / 1024));
    });
  };
  void sample();
  const timer = setInterval(() => void sample(), everyMs);
  return {
    async stop(): Promise<Record<string, number>> {
      clearInterval(timer);
      await sample();
      return peaks;
    },
  };
}
