// A replicated Kafka for the fault suite: N KRaft nodes, each a broker and a controller voter,
// each with its own ports, data dir and log, and topics kept on three replicas by default.
import { readFile, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { newClusterId, startKafkaNode, type KafkaNodeProcess } from "./kafka-node.ts";
import { freePort } from "./ports.ts";

export interface LocalKafkaCluster {
  /** Bootstrap servers for clients, comma-separated (as KAFKA_BROKERS takes them). */
  brokers: string;
  /** Node ids, 1..N. */
  nodeIds: number[];
  /** A node's process id while it runs. */
  pid(nodeId: number): number | undefined;
  /** SIGKILLs a node, as a crash or a lost machine; resolves once it has exited. */
  kill(nodeId: number): Promise<void>;
  /** Starts a killed or stopped node again on its ports and data; resolves once it serves. */
  restart(nodeId: number): Promise<void>;
  /** Stops every running node gracefully (SIGKILL if one hangs); removes an ephemeral data dir. */
  stop(): Promise<void>;
}

export interface LocalKafkaClusterOptions {
  dataDir: string;
  /** Nodes, each a broker and a controller voter; 3 when omitted. */
  nodes?: number;
  /** Removes dataDir on stop. */
  ephemeral?: boolean;
  onLog?: (nodeId: number, line: string) => void;
}

/**
 * What a production cluster of three sets: every topic on three replicas, and a write acknowledged
 * by all in-sync replicas only while at least two are in sync, so one lost node loses nothing.
 */
export function replicatedSettings(nodes: number): Record<string, number> {
  const replicas = Math.min(3, nodes);
  const minInSync = Math.max(1, replicas - 1);
  return {
    "default.replication.factor": replicas,
    "min.insync.replicas": minInSync,
    "offsets.topic.replication.factor": replicas,
    "transaction.state.log.replication.factor": replicas,
    "transaction.state.log.min.isr": minInSync,
  };
}

/** Starts N combined broker+controller nodes with a controller quorum of N; resolves once every node serves. */
export async function startLocalKafkaCluster(opts: LocalKafkaClusterOptions): Promise<LocalKafkaCluster> {
  const dataDir = resolve(opts.dataDir);
  const nodeIds = Array.from({ length: opts.nodes ?? 3 }, (_, i) => i + 1);
  // The ports stay the node's own across restarts: the others know it by them.
  const ports = new Map<number, { port: number; controllerPort: number }>();
  for (const id of nodeIds) ports.set(id, { port: await freePort(), controllerPort: await freePort() });
  const voters = nodeIds.map((id) => `${id}@127.0.0.1:${ports.get(id)!.controllerPort}`).join(",");
  const clusterId = (await existingClusterId(dataDir, nodeIds)) ?? newClusterId();
  const settings = replicatedSettings(nodeIds.length);
  const running = new Map<number, KafkaNodeProcess>();

  const start = async (id: number) => {
    if (running.has(id)) throw new Error(`Kafka node ${id} is already running`);
    const spec = { dataDir: nodeDir(dataDir, id), nodeId: id, ...ports.get(id)!, voters, settings, clusterId };
    running.set(id, await startKafkaNode({ ...spec, onLog: opts.onLog && ((line) => opts.onLog!(id, line)) }));
  };
  const nodeOf = (id: number) => {
    const node = running.get(id);
    if (!node) throw new Error(`Kafka node ${id} is not running`);
    running.delete(id);
    return node;
  };
  const stop = async () => {
    await Promise.all([...running.keys()].map((id) => nodeOf(id).stop()));
    if (opts.ephemeral) await rm(dataDir, { recursive: true, force: true });
  };

  // Together: a node is ready only once a majority of the quorum has elected a controller.
  const started = await Promise.allSettled(nodeIds.map(start));
  const failed = started.find((s) => s.status === "rejected");
  if (failed) {
    await stop();
    throw failed.reason;
  }
  return {
    brokers: nodeIds.map((id) => `127.0.0.1:${ports.get(id)!.port}`).join(","),
    nodeIds,
    pid: (id) => running.get(id)?.pid,
    kill: (id) => nodeOf(id).kill(),
    restart: start,
    stop,
  };
}

function nodeDir(dataDir: string, id: number): string {
  return join(dataDir, `node-${id}`);
}

/** The cluster id a node's storage was formatted with, so nodes formatted later join the same cluster. */
async function existingClusterId(dataDir: string, nodeIds: number[]): Promise<string | undefined> {
  for (const id of nodeIds) {
    const meta = await readFile(join(nodeDir(dataDir, id), "logs", "meta.properties"), "utf8").catch(() => "");
    const match = /^cluster\.id=(.+)$/m.exec(meta);
    if (match) return match[1]!.trim();
  }
  return undefined;
}
