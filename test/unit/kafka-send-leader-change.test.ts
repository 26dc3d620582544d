// kafkajs's send() when a partition's leader dies mid-send and the partition moves to a broker that has
// already answered for its own partitions (patches/kafkajs+2.2.4.patch), on fakes of its cluster and brokers.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { it } from "node:test";

const require = createRequire(import.meta.url);
const createSendMessages = require("kafkajs/src/producer/sendMessages.js");
const createRetry = require("kafkajs/src/retry/index.js");
const { KafkaJSConnectionClosedError } = require("kafkajs/src/errors.js");

interface Produced {
  nodeId: number;
  partitions: { partition: number; keys: string[] }[];
}

type TopicData = { topic: string; partitions: { partition: number; messages: { key: string }[] }[] }[];

/** Two partitions, led by nodes 1 and 2, until node 1 dies: its first produce fails and the next metadata has node 2 leading both. */
function clusterLosingNode1() {
  const produced: Produced[] = [];
  let leaders: Record<number, number> = { 0: 1, 1: 2 };
  let node1Calls = 0;
  const broker = (nodeId: number) => ({
    nodeId,
    async produce({ topicData }: { topicData: TopicData }) {
      produced.push({
        nodeId,
        partitions: topicData[0]!.partitions.map((p) => ({ partition: p.partition, keys: p.messages.map((m) => m.key) })),
      });
      if (nodeId === 1 && node1Calls++ === 0) throw new KafkaJSConnectionClosedError("Closed connection", { host: "node-1", port: 9092 });
      return {
        topics: topicData.map((t) => ({
          topicName: t.topic,
          partitions: t.partitions.map((p) => ({ partition: p.partition, errorCode: 0, baseOffset: "0" })),
        })),
      };
    },
  });
  const brokers = new Map([1, 2].map((id) => [id, broker(id)]));
  const cluster = {
    targetTopics: new Set<string>(),
    addMultipleTargetTopics: async () => {},
    refreshMetadataIfNecessary: async () => {},
    refreshMetadata: async () => void (leaders = { 0: 2, 1: 2 }),
    isConnected: () => true,
    connect: async () => {},
    removeBroker: () => {},
    findTopicPartitionMetadata: () => Object.entries(leaders).map(([id, leader]) => ({ partitionId: Number(id), leader })),
    findLeaderForPartitions: (_topic: string, partitions: string[]) =>
      partitions.reduce<Record<number, number[]>>((byLeader, id) => {
        const leader = leaders[Number(id)]!;
        return { ...byLeader, [leader]: [...(byLeader[leader] ?? []), Number(id)] };
      }, {}),
    findBroker: async ({ nodeId }: { nodeId: string }) => brokers.get(Number(nodeId)),
  };
  return { cluster, produced };
}

const eosManager = {
  isTransactional: () => false,
  getSequence: () => 0,
  updateSequence: () => {},
  acquireBrokerLock: async () => {},
  releaseBrokerLock: async () => {},
  getProducerId: () => -1,
  getProducerEpoch: () => 0,
};
const logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

it("sends the dead leader's partition to its new leader, even when that broker has already answered for its own", async () => {
  const { cluster, produced } = clusterLosingNode1();
  const send = createSendMessages({
    logger,
    cluster,
    partitioner: ({ message }: { message: { key: string } }) => Number(message.key.split("-")[0]),
    eosManager,
    retrier: createRetry({ retries: 3, initialRetryTime: 1, maxRetryTime: 5 }),
  });
  const messages = ["0-a", "1-b", "0-c"].map((key) => ({ key, value: key }));

  const answers: { partition: number }[] = await send({ acks: -1, timeout: 1000, topicMessages: [{ topic: "events", messages }] });

  assert.deepEqual(answers.map((a) => a.partition).sort(), [0, 1], "an answer for every partition written to");
  const retried = produced.slice(2);
  assert.deepEqual(
    retried,
    [{ nodeId: 2, partitions: [{ partition: 0, keys: ["0-a", "0-c"] }] }],
    "partition 0 alone, to node 2, as first sent",
  );
});
