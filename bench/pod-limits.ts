// --pod-limits: each service runs in a memory cgroup of its Helm chart limit, as in a pod, so Node
// sizes V8's heap as it would there and an OOM kill shows. Needs the cgroup v1 memory controller
// writable at /sys/fs/cgroup/memory (root on this machine); cgroup v2 machines are refused.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

const root = "/sys/fs/cgroup/memory";
const chartValues = "deploy/helm/invoicer/values.yaml";

export interface PodMemory {
  limitMb: number;
  peakMb: number;
  oomKills: number;
}

export interface PodLimits {
  /** The command prefix that starts a service inside its cgroup. */
  launcher(service: string): string[];
  /** Each started service's cgroup: its limit, its peak usage and the OOM kills in it. */
  usage(): Record<string, PodMemory>;
  remove(): Promise<void>;
}

/** The chart's memory limit of a service, in MiB ("consumer-2" is the chart's consumer). */
function chartLimitMb(service: string): number {
  const values = parse(readFileSync(chartValues, "utf8")) as Record<string, { resources: { limits: { memory: string } } }>;
  const limit = values[service.replace(/-\d+$/, "")]?.resources.limits.memory ?? "";
  const mi = /^(\d+)Mi$/.exec(limit);
  if (!mi) throw new Error(`--pod-limits: ${chartValues} has no memory limit in Mi for ${service} (${limit || "none"})`);
  return Number(mi[1]);
}

export function podLimits(stamp: string): PodLimits {
  if (!existsSync(join(root, "memory.limit_in_bytes")))
    throw new Error(`--pod-limits needs the cgroup v1 memory controller at ${root} (this machine's is not there)`);
  const groups = new Map<string, string>();
  const read = (dir: string, file: string) => readFileSync(join(dir, file), "utf8");
  return {
    launcher(service) {
      const dir = join(root, `invoicer-bench-${stamp}-${service}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "memory.limit_in_bytes"), String(chartLimitMb(service) * 2 ** 20));
      groups.set(service, dir);
      // sh enters the cgroup, then becomes the service: Node reads its memory limit at start.
      return ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', dir];
    },
    usage() {
      const mb = (bytes: string) => Math.round(Number(bytes) / 2 ** 20);
      return Object.fromEntries(
        [...groups].map(([service, dir]) => [
          service,
          {
            limitMb: mb(read(dir, "memory.limit_in_bytes")),
            peakMb: mb(read(dir, "memory.max_usage_in_bytes")),
            oomKills: Number(/^oom_kill (\d+)$/m.exec(read(dir, "memory.oom_control"))?.[1] ?? 0),
          },
        ]),
      );
    },
    async remove() {
      // A cgroup can be removed once its processes have exited (the stack stops them first).
      for (const dir of groups.values()) rmdirSync(dir);
      groups.clear();
    },
  };
}
