// What /proc says about a service process: resident memory and CPU time.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import type { ServiceProcess } from "../scripts/service-process.ts";

export const clockTicksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined; // the process is gone
  }
}

/** Fields of /proc/<pid>/stat after the command name: [0] is state, [1] ppid, [11] utime, [12] stime, [13] cutime, [14] cstime. */
function statFields(pid: number): string[] | undefined {
  const text = readOrUndefined(`/proc/${pid}/stat`);
  if (!text) return undefined;
  return text.slice(text.lastIndexOf(")") + 2).split(" ");
}

/** CPU time in ms (user + system); with `waitedChildren`, also that of children it has reaped. */
export function cpuMs(pid: number, waitedChildren = false): number | undefined {
  const f = statFields(pid);
  if (!f) return undefined;
  const ticks = Number(f[11]) + Number(f[12]) + (waitedChildren ? Number(f[13]) + Number(f[14]) : 0);
  return (ticks * 1000) / clockTicksPerSecond;
}

/** VmRSS in MiB. */
export function rssMb(pid: number): number | undefined {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readOrUndefined(`/proc/${pid}/status`) ?? "");
  return match ? Number(match[1]) / 1024 : undefined;
}

/** Proportional set size in MiB: shared pages divided among the processes sharing them. */
export function pssMb(pid: number): number | undefined {
  const match = /^Pss:\s+(\d+) kB/m.exec(readOrUndefined(`/proc/${pid}/smaps_rollup`) ?? "");
  return match ? Number(match[1]) / 1024 : rssMb(pid);
}

function allPids(): number[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
}

export function childrenOf(pid: number): number[] {
  return allPids().filter((p) => statFields(p)?.[1] === String(pid));
}

/** The first process whose command line contains every one of `parts` (NUL-separated arguments joined by spaces). */
export function findPid(...parts: string[]): number | undefined {
  for (const pid of allPids()) {
    const cmdline = readOrUndefined(`/proc/${pid}/cmdline`)?.replaceAll("\0", " ") ?? "";
    if (parts.every((p) => cmdline.includes(p))) return pid;
  }
  return undefined;
}

/** Something whose CPU time and memory the bench reads: a service, PostgreSQL's process tree, the broker, itself. */
export interface Measured {
  name: string;
  cpuMs(): number | undefined;
  memoryMb(): number | undefined;
}

export function measuredProcess(bench: ServiceProcess): Measured {
  return {
    name: bench.name,
    cpuMs: () => (bench.pid() === undefined ? undefined : cpuMs(bench.pid()!)),
    memoryMb: () => (bench.pid() === undefined ? undefined : rssMb(bench.pid()!)),
  };
}

export function measuredPid(name: string, pid: number): Measured {
  return { name, cpuMs: () => cpuMs(pid), memoryMb: () => rssMb(pid) };
}

/**
 * The postmaster and its backends. CPU: the postmaster's own and reaped children's plus the live
 * backends'. Memory: the sum of PSS, so shared buffers count once rather than once per backend.
 */
export function measuredPostgres(postmaster: number): Measured {
  return {
    name: "postgres",
    cpuMs: () => {
      const own = cpuMs(postmaster, true);
      if (own === undefined) return undefined;
      return childrenOf(postmaster).reduce((sum, pid) => sum + (cpuMs(pid) ?? 0), own);
    },
    memoryMb: () => {
      const own = pssMb(postmaster);
      if (own === undefined) return undefined;
      return childrenOf(postmaster).reduce((sum, pid) => sum + (pssMb(pid) ?? 0), own);
    },
  };
}

export const measuredSelf: Measured = {
  name: "bench (load generator)",
  cpuMs: () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  },
  memoryMb: () => process.memoryUsage.rss() / 1024 / 1024,
};

/**
 * Samples the memory of everything measured every `everyMs` and keeps the peak per load phase;
 * `recordIdle` notes a process's memory once, before load reaches it.
 */
export function memorySampler(measured: () => Measured[], everyMs = 500) {
  let phase: string | undefined;
  const peaks = new Map<string, Record<string, number>>();
  const idle = new Map<string, number>();
  const sample = () => {
    if (phase === undefined) return;
    for (const m of measured()) {
      const value = m.memoryMb();
      if (value === undefined) continue;
      const byPhase = peaks.get(m.name) ?? {};
      byPhase[phase] = Math.max(byPhase[phase] ?? 0, value);
      peaks.set(m.name, byPhase);
    }
  };
  const timer = setInterval(sample, everyMs);
  return {
    idle,
    peaks,
    /** Ends the current phase (with a last sample) and starts `name`; undefined records nothing. */
    phase(name: string | undefined) {
      sample();
      phase = name;
    },
    recordIdle(names?: string[]) {
      for (const m of measured()) {
        if ((names && !names.includes(m.name)) || idle.has(m.name)) continue;
        const value = m.memoryMb();
        if (value !== undefined) idle.set(m.name, value);
      }
    },
    stop: () => clearInterval(timer),
  };
}

/** CPU time the whole machine has spent busy (user, nice, system, irq, softirq, steal), in ms, from /proc/stat. */
export function machineBusyMs(): number {
  const fields = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return ((user + nice + system + irq + softirq + steal) * 1000) / clockTicksPerSecond;
}

export interface CpuWindow {
  /** CPU ms each measured process used in the window. */
  byProcess: Record<string, number>;
  /** Share of the machine's CPU (all cores) used by processes the bench does not measure: other people's work. */
  othersPercent: number;
  /** Share of the machine's CPU used in all. */
  machinePercent: number;
}

/** Starts a CPU accounting window over `measured`; the function returned ends it. */
export function cpuWindow(measured: Measured[], cores: number): () => CpuWindow {
  const startedAt = performance.now();
  const machineBefore = machineBusyMs();
  const before = new Map(measured.map((m) => [m.name, m.cpuMs()]));
  return () => {
    const elapsed = performance.now() - startedAt;
    const machine = machineBusyMs() - machineBefore;
    const byProcess: Record<string, number> = {};
    for (const m of measured) {
      const [b, a] = [before.get(m.name), m.cpuMs()];
      if (b !== undefined && a !== undefined) byProcess[m.name] = a - b;
    }
    const ours = Object.values(byProcess).reduce((x, y) => x + y, 0);
    const capacity = elapsed * cores;
    return { byProcess, othersPercent: (Math.max(0, machine - ours) / capacity) * 100, machinePercent: (machine / capacity) * 100 };
  };
}
