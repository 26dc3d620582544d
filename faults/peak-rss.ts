// Peak resident memory of each process during a scenario, sampled from /proc (Linux): what a
// client could make a process hold, and whether it came back down is the next scrape's business.
import { readFileSync } from "node:fs";

/** Samples every `everyMs` the processes `targets()` names (a restarted one under the same name); `stop` returns the peaks in MiB. */
export function peakRss(targets: () => { name: string; pid: number | undefined }[], everyMs = 250) {
  const peaks: Record<string, number> = {};
  const sample = () => {
    for (const { name, pid } of targets()) {
      const kib = pid === undefined ? undefined : residentKiB(pid);
      if (kib !== undefined) peaks[name] = Math.max(peaks[name] ?? 0, Math.round(kib / 1024));
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop(): Record<string, number> {
      clearInterval(timer);
      sample();
      return peaks;
    },
  };
}

function residentKiB(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined; // the process has exited (or is being restarted)
  }
}
