import kafkajs, { type Admin } from "kafkajs";

// kafkajs is CommonJS, and Node sees only some of its exports as named ones.
const { ConfigResourceTypes } = kafkajs;

export interface TopicSpec {
  topic: string;
  partitions: number;
  /** Replicas of each partition; the cluster's default when omitted. */
  replicationFactor?: number;
  /** Topic-level settings for a topic created now, such as `max.message.bytes`. */
  config?: Record<string, string>;
}

/**
 * Creates the topics that do not exist yet and resolves once each of their partitions has a leader.
 * kafkajs's own `waitForLeaders` fails when it asks a broker that has not heard of the new topic yet
 * (any cluster of more than one broker), so the leaders are awaited here, by asking.
 */
export async function createMissingTopics(admin: Admin, topics: TopicSpec[], timeoutMs = 30_000): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.topic));
  if (missing.length === 0) return;
  await admin
    .createTopics({
      waitForLeaders: false,
      topics: missing.map((t) => ({
        topic: t.topic,
        numPartitions: t.partitions,
        replicationFactor: t.replicationFactor ?? -1,
        configEntries: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
      })),
    })
    .catch((err: { errors?: { type?: string }[] }) => {
      // Another service created it a moment ago: that is what we wanted.
      if (!err.errors?.length || err.errors.some((e) => e.type !== "TOPIC_ALREADY_EXISTS")) throw err;
    });
  const names = missing.map((t) => t.topic);
  const deadline = Date.now() + timeoutMs;
  while (!(await everyPartitionLed(admin, names))) {
    if (Date.now() > deadline) throw new Error(`topics ${names.join(", ")} have no leaders after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100)); // metadata is only visible by asking
  }
}

async function everyPartitionLed(admin: Admin, topics: string[]): Promise<boolean> {
  const metadata = await admin.fetchTopicMetadata({ topics }).catch(() => undefined);
  return metadata !== undefined && metadata.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
}

/** The largest record batch the topic accepts (its `max.message.bytes`). */
export async function maxMessageBytes(admin: Admin, topic: string): Promise<number> {
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ["max.message.bytes"] }],
  });
  const value = Number(resources[0]?.configEntries.find((e) => e.configName === "max.message.bytes")?.configValue);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`topic ${topic} has no max.message.bytes`);
  return value;
}
