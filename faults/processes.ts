// The services as real child processes, killable and restartable, with their logs in files.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";

export interface ServiceProcess {
  name: string;
  start(): Promise<void>;
  /** SIGKILL: no shutdown hook runs, as in a crash. */
  kill(): Promise<void>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
}

const readyTimeoutMs = 60_000;

export function serviceProcess(name: string, entry: string, env: Record<string, string>, isReady: () => Promise<boolean>, logFile: string): ServiceProcess {
  let child: ChildProcess | undefined;
  let log: WriteStream | undefined;
  const exited = () => !child || child.exitCode !== null || child.signalCode !== null;
  const signal = async (sig: NodeJS.Signals) => {
    if (exited()) return;
    const gone = new Promise((done) => child!.once("exit", done));
    child!.kill(sig);
    await gone;
  };
  return {
    name,
    async start() {
      log ??= createWriteStream(logFile, { flags: "a" });
      child = spawn(process.execPath, ["--import", "tsx", entry], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
      child.stdout!.pipe(log, { end: false });
      child.stderr!.pipe(log, { end: false });
      const deadline = Date.now() + readyTimeoutMs;
      while (!(await isReady().catch(() => false))) {
        if (exited()) throw new Error(`${name} exited while starting; see ${logFile}`);
        if (Date.now() > deadline) throw new Error(`${name} not ready within ${readyTimeoutMs} ms; see ${logFile}`);
        await new Promise((r) => setTimeout(r, 100)); // no readiness event crosses the process boundary
      }
    },
    kill: () => signal("SIGKILL"),
    stop: () => signal("SIGTERM"),
  };
}

/** The server's grpc.health.v1 check over Connect JSON. */
export const serverServing = (url: string) => async () => {
  const res = await fetch(`${url}/grpc.health.v1.Health/Check`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  return ((await res.json()) as { status?: string }).status === "SERVING";
};

export const httpOk = (url: string) => async () => (await fetch(url)).ok;
