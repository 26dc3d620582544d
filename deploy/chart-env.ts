// The chart's environment against the services' own config modules, as test/unit/compose.test.ts does for
// compose.yaml: each rendered Deployment (and the migration Job) must give its service exactly the
// variables its config module reads, and values the module accepts.
//   node --import tsx deploy/chart-env.ts <folder of rendered manifests>   (run by deploy/check-chart.sh)
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { loadConsumerConfig } from "../consumer/src/config.ts";
import { loadGatewayConfig } from "../gateway/src/config.ts";
import { loadServerConfig } from "../server/src/config.ts";

type Env = Record<string, string | undefined>;
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { key: string; optional?: boolean } };
}
interface Manifest {
  kind: string;
  metadata: { name: string };
  spec: { template: { spec: { containers: { command: string[]; env?: EnvVar[] }[] } } };
}

/** What the Secret holds in a real install (METRICS_TOKEN is optional and left out). */
const secretValues: Record<string, string> = {
  INTERNAL_TOKEN: "a-secret-from-the-secret-0123456789",
  CONSUMER_TOKEN: "another-secret-from-the-secret-0123",
  DATABASE_URL: "postgres://invoicer:pw@postgres.databases:5432/invoicer",
};

const loaders: Record<string, (e: Env) => unknown> = {
  "server/src/main.ts": loadServerConfig,
  "gateway/src/main.ts": loadGatewayConfig,
  "consumer/src/main.ts": loadConsumerConfig,
  // The migration CLI reads DATABASE_URL and nothing else.
  "server/src/cli/migrate.ts": (e) => new URL(e.DATABASE_URL!),
};

const folder = process.argv[2];
if (!folder) throw new Error("usage: node --import tsx deploy/chart-env.ts <folder of rendered manifests>");
const failures: string[] = [];
let checked = 0;
for (const file of readdirSync(folder)
  .filter((f) => f.endsWith(".yaml"))
  .sort()) {
  const manifests = parseAllDocuments(readFileSync(join(folder, file), "utf8"))
    .map((d) => d.toJS() as Manifest)
    .filter((m) => m && (m.kind === "Deployment" || m.kind === "Job"));
  for (const manifest of manifests) {
    for (const container of manifest.spec.template.spec.containers) {
      const where = `[${file.replace(/\.yaml$/, "")}] ${manifest.metadata.name}`;
      const entry = container.command.at(-1)!;
      const load = loaders[entry];
      if (!load) {
        failures.push(`${where}: no config module known for ${entry}`);
        continue;
      }
      const environment: Record<string, string> = {};
      for (const v of container.env ?? []) {
        const ref = v.valueFrom?.secretKeyRef;
        if (ref?.optional) continue;
        environment[v.name] = ref ? (secretValues[v.name] ?? `secret ${ref.key}`) : (v.value ?? "");
      }
      const read = new Set<string>();
      const recorder = new Proxy(environment, { get: (target, name: string) => (read.add(name), target[name]) });
      try {
        load(recorder);
      } catch (err) {
        failures.push(`${where}: ${entry} refuses the chart's environment: ${(err as Error).message}`);
        continue;
      }
      const unread = Object.keys(environment).filter((k) => !read.has(k));
      if (unread.length) failures.push(`${where}: sets variables ${entry} never reads: ${unread.join(", ")}`);
      checked++;
    }
  }
}
if (failures.length) {
  process.stderr.write(failures.map((f) => `ENV ${f}\n`).join(""));
  process.exit(1);
}
process.stdout.write(`  ${checked} containers: every variable the chart sets is read by its service's config module, and accepted\n`);
