// `npm start`, Ctrl-C (SIGINT to its whole process group, as a terminal sends it), and `npm start`
// again: the second consumer joins its group at once. Before, Ctrl-C stopped the broker together
// with the consumer, which could not leave the group, so the restart waited out the old member's
// session (32 s of a 37 s restart). The session is 60 s here, so a wait for it cannot pass.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, describe, it } from "node:test";
import { freePort } from "@invoicer/devstack/ports";

const sessionTimeoutMs = 60_000;

/** Runs `npm start` in its own process group until its ready line; its own "[start] ... ready (ms)" timings by step. */
function npmStart(env: NodeJS.ProcessEnv) {
  const child = spawn("npm", ["start"], { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const steps = new Map<string, number>();
  const lines: string[] = [];
  const ready = new Promise<Map<string, number>>((done, fail) => {
    child.once("exit", (code) => fail(new Error(`npm start exited (${code}) before it was ready:\n${lines.slice(-20).join("\n")}`)));
    for (const stream of [child.stdout, child.stderr])
      createInterface({ input: stream }).on("line", (line) => {
        lines.push(line);
        const step = /^\[start\] (.+ ready) \((\d+) ms\)$/.exec(line);
        if (step) steps.set(step[1]!, Number(step[2]));
        if (line.startsWith("invoicer ready")) done(steps);
      });
  });
  // npm ends by the signal it was sent once its script has stopped; any other end is a failure.
  const exited = new Promise<boolean>((done) => child.once("exit", (code, signal) => done(code === 0 || signal === "SIGINT")));
  const interrupt = () => (process.kill(-child.pid!, "SIGINT"), exited);
  return { ready, interrupt, stop: () => (child.exitCode === null && child.signalCode === null ? interrupt() : exited) };
}

describe("npm start after Ctrl-C", () => {
  // Not mkdtemp's 0700: the embedded PostgreSQL runs as another user when started by root.
  const dataDir = join(".data", `start-test-${randomUUID()}`);
  mkdirSync(dataDir, { recursive: true });
  const running: ReturnType<typeof npmStart>[] = [];
  // SIGINT, not SIGKILL: npm start then stops PostgreSQL and Kafka too, which run in their own process groups.
  after(async () => {
    for (const run of running) await run.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("joins the consumer group at once: the old member left it before the broker stopped", { timeout: 180_000 }, async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, INVOICER_DATA_DIR: dataDir, KAFKA_SESSION_TIMEOUT_MS: String(sessionTimeoutMs) };
    for (const shared of ["DATABASE_URL", "KAFKA_BROKERS", "INTERNAL_TOKEN", "CONSUMER_TOKEN", "SERVER_URL"]) delete env[shared];
    for (const port of ["GATEWAY_PORT", "SERVER_PORT", "SERVER_METRICS_PORT", "CONSUMER_HEALTH_PORT", "PGPORT", "KAFKA_PORT"])
      env[port] = String(await freePort());

    const first = npmStart(env);
    running.push(first);
    await first.ready;
    assert.ok(await first.interrupt(), "Ctrl-C stops npm start cleanly");

    const second = npmStart(env);
    running.push(second);
    const steps = await second.ready;
    const joinedAfterGateway = steps.get("consumer ready")! - steps.get("server and gateway ready")!;
    assert.ok(
      joinedAfterGateway < sessionTimeoutMs / 2,
      `the consumer joined ${joinedAfterGateway} ms after the gateway was ready: it waited for the old member's session`,
    );
    assert.ok(await second.interrupt());
  });
});
