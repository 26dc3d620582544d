// The relay against the broker's size limit (issue 13, item 2): batches are bounded in bytes, an
// event the broker refuses for good is set aside where an operator can see and retry it, and only
// the later events of its own invoice wait behind it.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import { InvoiceEventSchema } from "@invoicer/sdk";
import kafkajs, { Kafka, logLevel } from "kafkajs";
import { createLogger } from "@invoicer/platform/logger";
import { watchStaleDocuments } from "../server/src/documents/stale-documents.ts";
import { listParked, retryParked } from "../server/src/outbox/parked.ts";
import { eventually, readTopic } from "./support/events.ts";
import { scrape } from "./support/metrics.ts";
import { sampleInvoice } from "@invoicer/devstack/samples";
import { startStack, type Stack } from "./support/stack.ts";

const topicLimit = 64 * 1024;
const brokers = () => process.env.TEST_KAFKA_BROKERS!.split(",");

/** An invoice whose events are about 100 KB: 100 lines of 500 two-byte characters. */
const largeInvoice = () =>
  sampleInvoice({
    lines: Array.from({ length: 100 }, (_, i) => ({
      description: `${i} ${"é".repeat(495)}`,
      quantity: 1n,
      unitPriceMinor: 100n,
      vatRateBp: 1900,
    })),
  });

async function setTopicLimit(topic: string, bytes: number) {
  const admin = new Kafka({ clientId: "test-admin", brokers: brokers(), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        { type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: "max.message.bytes", value: String(bytes) }] },
      ],
    });
  } finally {
    await admin.disconnect();
  }
}

let stack: Stack;
before(async () => {
  stack = await startStack({}, { consumer: false, topicConfig: { "max.message.bytes": String(topicLimit) } });
});
after(() => stack.close());

describe("an event larger than the topic takes", () => {
  it("is set aside, others' events flow past it, and its invoice's later events wait behind it", async () => {
    const a = stack.client(stack.tenantA);
    const b = stack.client(stack.tenantB);
    const { invoice: large } = await a.createInvoice(largeInvoice());
    await a.payInvoice({ id: large!.id }); // a later event of the same invoice
    const small = await Promise.all([b.createInvoice(sampleInvoice()), a.createInvoice(sampleInvoice()), b.createInvoice(sampleInvoice())]);
    const smallIds = new Set(small.map((r) => r.invoice!.id));

    const topic = await readTopic(brokers(), stack.events!.topic);
    try {
      await topic.until((ms) => new Set(ms.map((m) => m.key).filter((k) => smallIds.has(k))).size === 3, 30_000);
      const [parked] = await eventually(async () => {
        const rows = await listParked(stack.database.sql);
        return rows.length > 0 && rows;
      }, "the large event to be set aside");
      assert.equal(parked!.invoiceId, large!.id);
      assert.equal(parked!.eventType, "invoice.issued");
      assert.ok(parked!.bytes > topicLimit);
      assert.match(parked!.reason, /MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE/);
      const metrics = await scrape(`${stack.serverMetricsUrl}/metrics`);
      assert.equal(metrics.value("invoicer_outbox_parked"), 1);
      const [paid] = await stack.database
        .sql`select published_at, parked_at from outbox where invoice_id = ${large!.id} and event_type = 'invoice.paid'`;
      assert.deepEqual(paid, { published_at: null, parked_at: null }, "the paid event waits, unparked");
      assert.ok(
        topic.items.every((m) => m.key !== large!.id),
        "nothing of the large invoice is on the topic",
      );

      // An operator raises the topic's limit and retries: both events go out, in their order.
      await setTopicLimit(stack.events!.topic, 1024 * 1024);
      assert.equal(await retryParked(stack.database.sql), 1);
      const messages = await topic.until((ms) => ms.filter((m) => m.key === large!.id).length === 2, 30_000);
      const kinds = messages.filter((m) => m.key === large!.id).map((m) => fromBinary(InvoiceEventSchema, m.value).kind.case);
      assert.deepEqual(kinds, ["issued", "paid"]);
      assert.equal((await listParked(stack.database.sql)).length, 0);
    } finally {
      await topic.close();
    }
  });
});

describe("invoices waiting for their documents", () => {
  it("are noticed: a gauge of the oldest one's age, and a warning while one waits past the bound", async () => {
    const { invoice } = await stack.client(stack.tenantA).createInvoice(sampleInvoice()); // no consumer runs in this stack
    const lines: string[] = [];
    const log = createLogger("test", "warn", { write: (line: string) => void lines.push(line) });
    const stop = watchStaleDocuments(stack.database.sql, log, 1, 20);
    try {
      await eventually(async () => lines.some((l) => l.includes("waited too long for their documents")), "the stale-documents warning");
    } finally {
      stop();
    }
    assert.match(
      lines.find((l) => l.includes("waited too long"))!,
      /npm run outbox -- redrive-documents/,
    );
    const metrics = await scrape(`${stack.serverMetricsUrl}/metrics`);
    assert.ok(metrics.value("invoicer_documents_pending") >= 1);
    assert.ok(metrics.value("invoicer_documents_pending_oldest_age_seconds") > 0, `invoice ${invoice!.id} has been waiting`);
  });
});
