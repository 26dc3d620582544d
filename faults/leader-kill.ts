// A Kafka node that leads a partition of the events topic, SIGKILLed under load: how long the
// cluster took to elect other leaders and to take the node back, as a client sees the metadata.
import { Kafka, logLevel, type Admin, type PartitionMetadata } from "kafkajs";
import type { LocalKafkaCluster } from "@invoicer/devstack/local-kafka-cluster";
import type { Findings } from "./run.ts";

const boundMs = 60_000;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms)); // fault timeline: "at 5 s, kill"

/**
 * At `afterMs`, SIGKILLs a node leading a partition of `topic`: the one that is also the coordinator
 * of the consumers' group when it leads one, the worst case. Waits until each partition it led has
 * another leader; restarts it `downMs` after the kill and waits until it is back in every ISR.
 */
export async function killPartitionLeader(
  cluster: LocalKafkaCluster,
  topic: string,
  { groupId, afterMs, downMs }: { groupId: string; afterMs: number; downMs: number },
): Promise<Findings> {
  await pause(afterMs);
  const admin = new Kafka({ clientId: "faults-admin", brokers: cluster.brokers.split(","), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const before = (await partitionsOf(admin, topic))!;
    const coordinator = await groupCoordinator(admin, groupId);
    const victim = before.some((p) => p.leader === coordinator) ? coordinator! : before.find((p) => p.partitionId === 0)!.leader;
    const led = before.filter((p) => p.leader === victim).map((p) => p.partitionId);
    const killedAt = Date.now();
    await cluster.kill(victim);
    const elected = await until(admin, topic, (ps) =>
      led.every((id) => ps.some((p) => p.partitionId === id && p.leader >= 0 && p.leader !== victim)),
    );
    await pause(Math.max(0, killedAt + downMs - Date.now()));
    const restartedAt = Date.now();
    await cluster.restart(victim);
    const readyMs = Date.now() - restartedAt;
    const rejoined = await until(admin, topic, (ps) => ps.every((p) => p.isr.includes(victim)));
    const roles = `leader of partition ${led.join(", ")}${victim === coordinator ? " and the consumers' group coordinator" : ""}`;
    const leaders = elected && elected.partitions.map((p) => `${p.partitionId}→${p.leader}`).join(", ");
    const notes = [
      `node ${victim} (${roles}) SIGKILLed ${afterMs / 1000} s in`,
      elected ? `new leaders after ${elected.ms} ms (${leaders})` : `no new leader within ${boundMs / 1000} s`,
      `restarted ${downMs / 1000} s after the kill, serving after ${readyMs} ms`,
      rejoined ? `back in every ISR ${rejoined.ms} ms after that` : `not back in the ISR within ${boundMs / 1000} s`,
    ];
    const broken = [
      elected ? "" : `partitions of node ${victim} had no leader ${boundMs / 1000} s after it died`,
      rejoined ? "" : `node ${victim} did not rejoin the ISR within ${boundMs / 1000} s`,
    ].filter(Boolean);
    return { notes, broken };
  } finally {
    await admin.disconnect();
  }
}

async function partitionsOf(admin: Admin, topic: string): Promise<PartitionMetadata[] | undefined> {
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
  return metadata?.topics[0]?.partitions;
}

/** The broker coordinating a group: the leader of its `__consumer_offsets` partition, chosen by the group id's Java hash. */
async function groupCoordinator(admin: Admin, groupId: string): Promise<number | undefined> {
  const partitions = await partitionsOf(admin, "__consumer_offsets");
  if (!partitions?.length) return undefined;
  let hash = 0;
  for (let i = 0; i < groupId.length; i++) hash = (Math.imul(31, hash) + groupId.charCodeAt(i)) | 0;
  const partition = (hash === -(2 ** 31) ? 0 : Math.abs(hash)) % partitions.length; // Kafka's Utils.abs
  return partitions.find((p) => p.partitionId === partition)?.leader;
}

/** How long until the topic's partition metadata satisfies `done`, and that metadata; undefined after a minute. */
async function until(
  admin: Admin,
  topic: string,
  done: (partitions: PartitionMetadata[]) => boolean,
): Promise<{ ms: number; partitions: PartitionMetadata[] } | undefined> {
  const started = Date.now();
  while (Date.now() - started < boundMs) {
    const partitions = await partitionsOf(admin, topic);
    if (partitions && done(partitions)) return { ms: Date.now() - started, partitions };
    await pause(100); // leadership is only visible by asking
  }
  return undefined;
}
