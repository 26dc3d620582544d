// The services as real child processes (every stack devstack/src/stack.ts assembles): started,
// timed until healthy, stopped or killed and restarted, their output appended to a log file or
// printed with the service's name before each line (npm start).
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { resolve } from "node:path";
import { createInterface } from "node:readline";

export interface ServiceProcess {
  name: string;
  pid(): number | undefined;
  /** Spawns the service and resolves with the milliseconds from spawn until it answers healthy. */
  start(): Promise<number>;
  /** SIGTERM, SIGKILL after 15 s; resolves once the process has exited. */
  stop(): Promise<void>;
  /** SIGKILL: no shutdown hook runs, as in a crash. */
  kill(): Promise<void>;
  /** How the process ended each time it exited without being asked to (a crash): "exit code 1", "SIGSEGV". */
  crashes(): string[];
}

/**
 * V8's young generation for every service; the image sets the same NODE_OPTIONS (test/unit/compose.test.ts
 * holds them equal): 32 MiB. Unset, Node 24 sizes it from the memory it sees: 2-6 MiB in a 384 MiB pod
 * (a third more CPU per call), 128 MiB on a 24 GiB machine (RSS up by half). docs/architecture.md.
 */
export const serviceNodeOptions = "--max-semi-space-size=16";

/**
 * Node's compile cache, as the image has one (Dockerfile, scripts/fill-compile-cache.sh): from the second
 * start on, a service loads neither Node's TypeScript stripper (about 20 MB of RSS) nor compiles its
 * modules again. Filled as the services exit. docs/decisions/0038.
 */
export const serviceCompileCache = resolve(import.meta.dirname, "..", "..", ".data", "compile-cache");

/** A service's environment: serviceNodeOptions first, so NODE_OPTIONS already in `env` win; the compile cache unless `env` names one. */
export function serviceEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    NODE_COMPILE_CACHE: serviceCompileCache,
    ...env,
    NODE_OPTIONS: [serviceNodeOptions, env.NODE_OPTIONS].filter(Boolean).join(" "),
  };
}

const readyTimeoutMs = 60_000;
const stopTimeoutMs = 15_000;

export interface ProcessOptions {
  /** Node flags before the entry (--cpu-prof). */
  nodeFlags?: string[];
  /** A launcher command the node command is appended to (bench --pod-limits). */
  launcher?: string[];
  /** Called when the process exits without being asked to. */
  onCrash?: (how: string) => void;
  /** Between two readiness checks: 20 ms unless said (npm start asks less often, as each check is a log line). */
  readyPollMs?: number;
}

/**
 * A Node service run by Node's own type stripping (`node <entry>.ts`, as in the image), its output
 * appended to `logFile` by the child itself, or to this process's stdout as "name    | line" when
 * `logFile` is "console". A variable set to undefined in `env` is removed from the inherited environment.
 */
export function serviceProcess(
  name: string,
  entry: string,
  env: Record<string, string | undefined>,
  isReady: () => Promise<boolean>,
  logFile: string,
  { nodeFlags = [], launcher = [], onCrash, readyPollMs = 20 }: ProcessOptions = {},
): ServiceProcess {
  let child: ChildProcess | undefined;
  const crashes: string[] = [];
  let stopping = false;
  const exited = () => !child || child.exitCode !== null || child.signalCode !== null;
  return {
    name,
    crashes: () => crashes,
    pid: () => (exited() ? undefined : child?.pid),
    async start() {
      if (!process.features.typescript)
        throw new Error(`Node ${process.version} cannot run ${entry}: the services need Node 24.12+ (bash scripts/with-node.sh 24 ...)`);
      const spawnedAt = performance.now();
      child = spawnLogged(name, [...launcher, process.execPath, ...nodeFlags, entry], serviceEnv({ ...process.env, ...env }), logFile);
      stopping = false;
      child.once("exit", (code, signal) => {
        if (stopping) return;
        crashes.push(signal ?? `exit code ${code}`);
        onCrash?.(signal ?? `exit code ${code}`);
      });
      const deadline = spawnedAt + readyTimeoutMs;
      while (!(await isReady().catch(() => false))) {
        const see = logFile === "console" ? "its output above" : logFile;
        if (exited()) throw new Error(`${name} exited while starting; see ${see}`);
        if (performance.now() > deadline) throw new Error(`${name} not ready within ${readyTimeoutMs} ms; see ${see}`);
        await new Promise((r) => setTimeout(r, readyPollMs)); // readiness is only visible by asking
      }
      return performance.now() - spawnedAt;
    },
    async stop() {
      if (exited()) return;
      stopping = true;
      await stopProcess(child!);
    },
    async kill() {
      if (exited()) return;
      stopping = true;
      const gone = new Promise((done) => child!.once("exit", done));
      child!.kill("SIGKILL");
      await gone;
    },
  };
}

function spawnLogged(name: string, [command, ...args]: string[], env: NodeJS.ProcessEnv, logFile: string): ChildProcess {
  if (logFile === "console") {
    const child = spawn(command!, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    for (const stream of [child.stdout!, child.stderr!])
      createInterface({ input: stream }).on("line", (line) => console.log(`${name.padEnd(8)}| ${line}`));
    return child;
  }
  const log = openSync(logFile, "a");
  try {
    return spawn(command!, args, { env, stdio: ["ignore", log, log] });
  } finally {
    closeSync(log); // the child holds its own descriptor
  }
}

/** SIGTERM, then SIGKILL if it has not exited after `graceMs` (past the services' own SHUTDOWN_GRACE_MS); resolves on exit. */
export async function stopProcess(child: ChildProcess, graceMs = stopTimeoutMs): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((done) => child.once("exit", done));
  child.kill("SIGTERM");
  const kill = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await gone;
  clearTimeout(kill);
}

/** The server's grpc.health.v1 check over Connect JSON. */
export const serverServing = (url: string) => async () => {
  const res = await fetch(`${url}/grpc.health.v1.Health/Check`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
  });
  return ((await res.json()) as { status?: string }).status === "SERVING";
};

export const httpOk = (url: string) => async () => (await fetch(url)).ok;
