// CPU time and resident memory of the processes under test, per pid, from pidusage (the bench and the fault suite).
import pidusage from "pidusage";

/** Named pids; an undefined pid (a process not running) is left out. */
export type Pids = Record<string, number | undefined>;

/** Each running process's stats; one that has exited is left out. */
async function stats(pids: Pids): Promise<Map<string, pidusage.Status>> {
  const named = Object.entries(pids).filter((e): e is [string, number] => e[1] !== undefined);
  const read = await Promise.all(
    named.map(([name, pid]) =>
      pidusage(pid).then(
        (s) => [name, s] as const,
        () => undefined,
      ),
    ),
  );
  return new Map(read.filter((r) => r !== undefined));
}

/** Starts a CPU accounting window; the function returned ends it with the CPU ms each process used meanwhile. */
export async function cpuWindow(pids: Pids): Promise<() => Promise<Record<string, number>>> {
  const before = await stats(pids);
  return async () => {
    const used: Record<string, number> = {};
    for (const [name, after] of await stats(pids)) {
      const start = before.get(name);
      if (start) used[name] = after.ctime - start.ctime;
    }
    return used;
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
