import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import { InvoiceEventSchema } from "@invoicer/sdk";
import { startLocalKafka, type LocalKafka } from "@invoicer/devstack/local-kafka";
import { freePort } from "@invoicer/devstack/ports";
import { eventually, readTopic } from "./support/events.ts";
import { scrape } from "./support/metrics.ts";
import { sampleInvoice } from "@invoicer/devstack/samples";
import { startStack, type Stack } from "./support/stack.ts";

// This file stops and restarts a broker of its own, so the shared one stays up for the others.
const dataDir = join(".data", `test-kafka-outage-${process.pid}`);
let port: number;
let broker: LocalKafka;
let stack: Stack;

before(async () => {
  port = await freePort();
  broker = await startLocalKafka({ dataDir, port });
  stack = await startStack({}, { brokers: [broker.brokers], consumer: false });
});
after(async () => {
  await stack.close();
  await broker.stop();
  await rm(dataDir, { recursive: true, force: true });
});

it("keeps accepting invoices while the broker is down and publishes all of them when it returns", async () => {
  const client = stack.client(stack.tenantA);
  await client.createInvoice(sampleInvoice());
  const unpublished = async () =>
    (await stack.database.sql`select count(*)::int as n from outbox where published_at is null`)[0]!.n as number;
  await eventually(async () => (await unpublished()) === 0, "the first event to be published");

  await broker.stop();
  const created = await Promise.all(Array.from({ length: 50 }, () => client.createInvoice(sampleInvoice())));
  const ids = new Set(created.map((r) => r.invoice!.id));
  assert.equal(ids.size, 50, "all 50 requests succeeded");
  assert.equal(await unpublished(), 50, "the events wait in the outbox");
  const outage = await scrape(`${stack.serverMetricsUrl}/metrics`);
  assert.equal(outage.value("invoicer_outbox_backlog"), 50, "/metrics shows the backlog");
  assert.ok(outage.value("invoicer_outbox_oldest_age_seconds") > 0, "and the age of its oldest row");

  const downFor = Date.now();
  broker = await startLocalKafka({ dataDir, port });
  const after = await readTopic([broker.brokers], stack.events!.topic);
  try {
    const messages = await after.until((ms) => new Set(ms.map((m) => m.key).filter((k) => ids.has(k))).size === 50, 120_000);
    process.stdout.write(`# outbox drained 50 events ${Date.now() - downFor} ms after the broker restart began\n`);
    const issued = messages.filter((m) => ids.has(m.key)).map((m) => fromBinary(InvoiceEventSchema, m.value));
    assert.ok(issued.every((e) => e.kind.case === "issued"));
    assert.equal(new Set(issued.map((e) => e.eventId)).size, 50);
  } finally {
    await after.close();
  }
  await eventually(async () => (await unpublished()) === 0, "the outbox to be marked published");
  const drained = await scrape(`${stack.serverMetricsUrl}/metrics`);
  assert.equal(drained.value("invoicer_outbox_backlog"), 0);
  assert.equal(drained.value("invoicer_outbox_oldest_age_seconds"), 0);
});

it("publishes large events written during an outage in batches the broker takes", async () => {
  const client = stack.client(stack.tenantB);
  // 90 invoices of 100 lines of 500 characters: about 55 KB each, 5 MB together, some 1.6 MB per partition, over the broker's 1 MiB.
  const large = () =>
    sampleInvoice({
      lines: Array.from({ length: 100 }, (_, i) => ({
        description: `${i} ${"x".repeat(495)}`,
        quantity: 1n,
        unitPriceMinor: 100n,
        vatRateBp: 1900,
      })),
    });
  await broker.stop();
  const created = await Promise.all(Array.from({ length: 90 }, () => client.createInvoice(large())));
  const ids = new Set(created.map((r) => r.invoice!.id));
  broker = await startLocalKafka({ dataDir, port });
  // Run on its own, this test may stop the broker before the relay created the topic: the reader needs it.
  await stack.events!.bus.ensureTopics([{ topic: stack.events!.topic, partitions: 3 }]);
  const topic = await readTopic([broker.brokers], stack.events!.topic);
  try {
    await topic.until((ms) => new Set(ms.map((m) => m.key).filter((k) => ids.has(k))).size === 90, 120_000);
  } finally {
    await topic.close();
  }
  const [parked] = await stack.database.sql`select count(*)::int as n from outbox where parked_at is not null`;
  assert.equal(parked!.n, 0, "nothing was set aside: each event fits on its own");
});
