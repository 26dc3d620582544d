// One Apache Kafka node in KRaft mode (combined broker and controller) as a child process, from
// jars Maven puts in ~/.m2: its config, its storage, its start and its stop. The single broker
// (local-kafka.ts) and the replicated cluster (local-kafka-cluster.ts) are both made of these.
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";

/** What makes one node: its id, where it keeps its data, its ports and the controller quorum it belongs to. */
export interface KafkaNodeSpec {
  /** An absolute path; the node's config and `logs/` (its partitions) live here. */
  dataDir: string;
  nodeId: number;
  /** The client (PLAINTEXT) port. */
  port: number;
  controllerPort: number;
  /** The static controller quorum, `id@host:port,...`; this node alone when omitted. */
  voters?: string;
  /** Broker settings over the single-node defaults (a cluster's replication factors). */
  settings?: Record<string, string | number | boolean>;
  /** The cluster id its storage is formatted with when it has none yet; a random one when omitted. */
  clusterId?: string;
  /**
   * Run in a process group of its own, so a terminal's Ctrl-C reaches only its starter, which stops
   * it after the services (npm start); it still stops on its starter's exit. Otherwise Ctrl-C stops it too.
   */
  ownProcessGroup?: boolean;
  onLog?: (line: string) => void;
}

export interface KafkaNodeProcess {
  pid: number;
  /** SIGSTOP: the node holds its connections but answers nothing, as a long GC pause or a frozen VM does. */
  pause(): void;
  /** SIGCONT after `pause`. */
  resume(): void;
  /** Graceful shutdown (SIGKILL if it hangs); resolves once the node has exited. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash or a lost machine: no shutdown hook runs. Resolves once the node has exited. */
  kill(): Promise<void>;
}

const pom = fileURLToPath(new URL("../../infra/kafka/pom.xml", import.meta.url));
const classpathDir = fileURLToPath(new URL("../../.data/maven", import.meta.url));
const readyTimeoutMs = 60_000;
const stopTimeoutMs = 10_000;
const readyLine = "Kafka Server started";

/** Writes the node's config, formats its storage the first time, starts it and resolves once it serves. */
export async function startKafkaNode(spec: KafkaNodeSpec): Promise<KafkaNodeProcess> {
  const classpath = await resolveClasspath();
  await writeConfig(spec);
  if (!existsSync(join(spec.dataDir, "logs", "meta.properties")))
    await formatStorage(classpath, spec.dataDir, spec.clusterId ?? newClusterId());

  const args = [...jvmFlags(spec.dataDir), "-cp", classpath, "kafka.Kafka", join(spec.dataDir, "server.properties")];
  const child = spawn("java", args, { stdio: ["ignore", "pipe", "pipe"], detached: spec.ownProcessGroup });
  const killOrphan = () => child.kill("SIGTERM"); // a clean stop: the broker may hold npm start's kept data
  process.on("exit", killOrphan);
  const ended = (signal: NodeJS.Signals) => async () => {
    process.off("exit", killOrphan);
    await endProcess(child, signal);
  };
  const node: KafkaNodeProcess = {
    pid: child.pid!,
    pause: () => child.kill("SIGSTOP"),
    resume: () => child.kill("SIGCONT"),
    stop: ended("SIGTERM"),
    kill: ended("SIGKILL"),
  };
  try {
    await untilReady(child, spec.onLog);
  } catch (err) {
    await node.stop();
    throw err;
  }
  return node;
}

/** A cluster id is 16 random bytes in base64url; one starting with "-" would parse as a flag. */
export function newClusterId(): string {
  return randomBytes(16).toString("base64url").replace(/^-/, "A");
}

/** The jars' paths, resolved by Maven once per pom content and cached; resolved again when a jar is gone. */
async function resolveClasspath(): Promise<string> {
  const hash = createHash("sha256")
    .update(await readFile(pom))
    .digest("hex")
    .slice(0, 16);
  const file = join(classpathDir, `kafka-${hash}.classpath`);
  const cached = (await readFile(file, "utf8").catch(() => "")).trim();
  if (cached && cached.split(delimiter).every((jar) => existsSync(jar))) return cached;

  await mkdir(classpathDir, { recursive: true });
  const scratch = `${file}.${randomBytes(4).toString("hex")}`;
  const mvnArgs = ["-q", "-B", "-Dstyle.color=never", "-f", pom, "dependency:build-classpath", `-Dmdep.outputFile=${scratch}`];
  await runTool("mvn", mvnArgs, "resolving the Kafka jars");
  await rename(scratch, file); // atomic, so concurrent starts never read a half-written file
  return (await readFile(file, "utf8")).trim();
}

async function writeConfig({ dataDir, nodeId, port, controllerPort, voters, settings }: KafkaNodeSpec): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  const server = {
    "process.roles": "broker,controller",
    "node.id": nodeId,
    // Static voters: the controller port may change between runs without reformatting.
    "controller.quorum.voters": voters ?? `${nodeId}@127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    "advertised.listeners": `PLAINTEXT://127.0.0.1:${port}`,
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    "log.dirs": join(dataDir, "logs"),
    "num.partitions": 3,
    "auto.create.topics.enable": false,
    "offsets.topic.replication.factor": 1,
    "transaction.state.log.replication.factor": 1,
    "transaction.state.log.min.isr": 1,
    "group.initial.rebalance.delay.ms": 0,
    // Lets tests use short session timeouts (the default floor is 6 s).
    "group.min.session.timeout.ms": 1000,
    ...settings,
  };
  await writeFile(join(dataDir, "server.properties"), properties(server));
  // WARN and up, plus the broker's start and stop lines: INFO alone is ~150 lines per start.
  const log4j = {
    "log4j.rootLogger": "WARN, stdout",
    "log4j.logger.kafka.server.KafkaRaftServer": "INFO",
    "log4j.appender.stdout": "org.apache.log4j.ConsoleAppender",
    "log4j.appender.stdout.layout": "org.apache.log4j.PatternLayout",
    "log4j.appender.stdout.layout.ConversionPattern": "%p %m (%c)%n",
  };
  await writeFile(join(dataDir, "log4j.properties"), properties(log4j));
}

function properties(values: Record<string, string | number | boolean>): string {
  return Object.entries(values)
    .map(([key, value]) => `${key}=${value}\n`)
    .join("");
}

/** Small heap; C1 only and the serial collector start ~20% faster and are plenty for local traffic. */
function jvmFlags(dataDir: string): string[] {
  const log4j = pathToFileURL(join(dataDir, "log4j.properties")).href;
  const vm = ["-Xms256m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true"];
  return [...vm, `-Dlog4j.configuration=${log4j}`];
}

async function formatStorage(classpath: string, dataDir: string, clusterId: string): Promise<void> {
  const config = join(dataDir, "server.properties");
  const args = [...jvmFlags(dataDir), "-cp", classpath, "kafka.tools.StorageTool", "format", "-t", clusterId, "-c", config];
  await runTool("java", args, "formatting Kafka storage");
}

/** Runs a command to completion, failing with its output when it exits non-zero. */
async function runTool(command: string, args: string[], what: string): Promise<void> {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  for (const stream of [child.stdout!, child.stderr!]) stream.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((done, fail) => {
    child.once("error", (err) => fail(new Error(`cannot run ${command} (${what}): ${err.message}`)));
    child.once("close", done);
  });
  if (code !== 0) throw new Error(`${what} failed (${command} exit ${code}): ${output.trim()}`);
}

function untilReady(child: ChildProcess, onLog?: (line: string) => void): Promise<void> {
  const recent: string[] = [];
  const failure = (why: string) => new Error(`Kafka ${why}; last output:\n${recent.join("\n")}`);
  return new Promise((ready, fail) => {
    const timer = setTimeout(() => fail(failure(`was not ready within ${readyTimeoutMs / 1000} s`)), readyTimeoutMs);
    // The listeners stay for the broker's lifetime: an unread pipe would block its logging.
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on("line", (line) => {
        onLog?.(line);
        // Stack frames would crowd the exception message out of the error.
        if (!/^\s+(at |\.\.\.)/.test(line)) recent.push(line);
        if (recent.length > 20) recent.shift();
        if (line.includes(readyLine)) {
          clearTimeout(timer);
          ready();
        }
      });
    }
    child.once("error", (err) => {
      clearTimeout(timer);
      fail(new Error(`cannot run java for Kafka: ${err.message}`));
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      fail(failure(`exited during start (${signal ?? `code ${code}`})`));
    });
  });
}

/** Sends `signal` and resolves once the process has exited; a SIGTERM it ignores for 10 s becomes a SIGKILL. */
function endProcess(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const kill = setTimeout(() => child.kill("SIGKILL"), stopTimeoutMs);
    child.once("exit", () => {
      clearTimeout(kill);
      done();
    });
    child.kill(signal);
  });
}
