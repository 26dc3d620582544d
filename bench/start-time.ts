// Target 5: `npm start` until its ready line, on a scratch data dir and free ports: a first start
// (fresh data dir), Ctrl-C, a second start right after it (data kept), Ctrl-C.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { freePort } from "@invoicer/devstack/ports";
import { ensureWebBuilt } from "../scripts/web-build.ts";
import { table, target } from "./results.ts";

const readyLine = "invoicer ready";
const timeoutMs = 120_000;

/** Spawns `npm start` in a process group of its own; resolves with the ms until it printed its ready line. */
function startOnce(env: Record<string, string>, logFile: string): Promise<{ child: ChildProcess; ms: number; steps: string[] }> {
  const started = performance.now();
  const child = spawn("npm", ["start"], { env: { ...process.env, ...env }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const tail: string[] = [];
  const log = createWriteStream(logFile);
  const steps: string[] = []; // start.ts's own timings: "[start] Kafka ready (5230 ms)"
  return new Promise((done, fail) => {
    const timer = setTimeout(() => {
      process.kill(-child.pid!, "SIGKILL");
      fail(new Error(`npm start printed no ready line in ${timeoutMs / 1000} s:\n${tail.join("\n")}`));
    }, timeoutMs);
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on("line", (line) => {
        tail.push(line);
        log.write(`${line}\n`);
        tail.splice(0, tail.length - 20);
        const step = /^\[start\] (.+ ready) \((\d+) ms\)$/.exec(line);
        if (step) steps.push(`${step[1]} ${(Number(step[2]) / 1000).toFixed(1)} s`);
        if (!line.startsWith(readyLine)) return;
        clearTimeout(timer);
        done({ child, ms: performance.now() - started, steps });
      });
    }
    child.once(
      "exit",
      (code) => (clearTimeout(timer), fail(new Error(`npm start exited (${code}) before it was ready:\n${tail.join("\n")}`))),
    );
  });
}

/** Ctrl-C: SIGINT to the whole process group, as a terminal sends it; resolves with the ms until npm has exited. */
function interrupt(child: ChildProcess): Promise<number> {
  const started = performance.now();
  const exited = new Promise<number>((done) => child.once("exit", () => done(performance.now() - started)));
  if (child.exitCode === null) process.kill(-child.pid!, "SIGINT");
  return exited;
}

/** Processes of the group still alive (one left behind holds a port or a lock the next start needs). */
function groupAlive(child: ChildProcess): boolean {
  try {
    process.kill(-child.pid!, 0);
    return true;
  } catch {
    return false;
  }
}

export async function startSection(workDir: string, say: (line: string) => void) {
  const built = await ensureWebBuilt(); // a one-time build, like the Kafka jars: not part of a start
  if (built !== undefined) say(`built web/dist first (${built} ms)`);
  const dataDir = join(workDir, "start-data");
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  const env: Record<string, string> = { INVOICER_DATA_DIR: dataDir };
  for (const name of ["GATEWAY_PORT", "SERVER_PORT", "SERVER_METRICS_PORT", "CONSUMER_HEALTH_PORT", "PGPORT", "KAFKA_PORT"])
    env[name] = String(await freePort());
  const figures: { run: string; startMs: number; steps: string[]; stopMs: number; leftBehind: boolean }[] = [];
  try {
    for (const [i, run] of ["first start (fresh data dir)", "second start, right after Ctrl-C (data kept)"].entries()) {
      say(`npm start: ${run} ...`);
      const { child, ms, steps } = await startOnce(env, join(workDir, `npm-start-${i + 1}.log`));
      const stopMs = await interrupt(child);
      figures.push({ run, startMs: ms, steps, stopMs, leftBehind: groupAlive(child) });
      if (groupAlive(child)) process.kill(-child.pid!, "SIGKILL");
      say(`  ready in ${(ms / 1000).toFixed(1)} s (${steps.join(", ")}); Ctrl-C -> exited in ${(stopMs / 1000).toFixed(1)} s`);
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  const [first, second] = figures as [(typeof figures)[0], (typeof figures)[0]];
  const targets = [
    target("5. npm start -> ready line, first start (fresh data dir)", first.startMs / 1000, "<=", 20, "s"),
    target("5. npm start -> ready line, right after Ctrl-C (data kept)", second.startMs / 1000, "<=", 10, "s"),
  ];
  const md = table(
    ["npm start", "ready line after s", "its steps (since start.ts began)", "Ctrl-C -> exit s", "processes left after exit"],
    figures.map((f) => [f.run, f.startMs / 1000, f.steps.join(", "), f.stopMs / 1000, f.leftBehind ? "yes (killed)" : "none"]),
  );
  return { figures, targets, md: `## npm start (target 5)\n\n${md}` };
}
