// --pod-limits: each service runs in a memory cgroup of its Helm chart limit, as in a pod, so Node
// sizes V8's heap as it would there and an OOM kill shows. Needs the cgroup v1 memory controller
// writable at /sys/fs/cgroup/memory (root on this machine); cgroup v2 machines are refused.
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
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
  /** Each started service's cgroup: its limit, its peak usage since it started, and the OOM kills in it. */
  usage(): Record<string, PodMemory>;
  remove(): Promise<void>;
}

/** The chart's memory limits in MiB, by component (gateway, server, consumer). */
function chartLimitsMb(): Record<string, number> {
  const values = parse(readFileSync(chartValues, "utf8")) as Record<string, { resources?: { limits?: { memory?: string } } }>;
  return Object.fromEntries(
    ["gateway", "server", "consumer"].map((component) => {
      const limit = values[component]?.resources?.limits?.memory ?? "";
      const mi = /^(\d+)Mi$/.exec(limit);
      if (!mi) throw new Error(`--pod-limits: ${chartValues} has no memory limit in Mi for ${component} (${limit || "none"})`);
      return [component, Number(mi[1])];
    }),
  );
}

/** Why --pod-limits cannot run here, or undefined when it can. */
export function podLimitsRefusal(): string | undefined {
  if (!existsSync(join(root, "memory.limit_in_bytes")))
    return `--pod-limits needs the cgroup v1 memory controller at ${root} (this machine's is not there)`;
  try {
    accessSync(root, constants.W_OK);
  } catch {
    return `--pod-limits needs to create cgroups under ${root}: run as root`;
  }
  return undefined;
}

export function podLimits(stamp: string): PodLimits {
  const refusal = podLimitsRefusal();
  if (refusal) throw new Error(refusal);
  const limitsMb = chartLimitsMb();
  const groups = new Map<string, string>();
  const read = (dir: string, file: string) => readFileSync(join(dir, file), "utf8");
  return {
    launcher(service) {
      const limitMb = limitsMb[service.replace(/-\d+$/, "")]; // consumer-2 runs as the chart's consumer
      if (limitMb === undefined) throw new Error(`--pod-limits: the chart has no ${service}`);
      const dir = join(root, `invoicer-bench-${stamp}-${service}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "memory.limit_in_bytes"), String(limitMb * 2 ** 20));
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
      const left = [...groups.values()].filter((dir) => {
        try {
          rmdirSync(dir);
          return false;
        } catch {
          return existsSync(dir);
        }
      });
      groups.clear();
      if (left.length > 0) throw new Error(`cgroups left behind (a service still in them?): ${left.join(", ")}`);
    },
  };
}
