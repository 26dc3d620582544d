// PostgreSQL going away while the consumer has events to process (issue 13, item 3): the server
// answers Unavailable, the consumer waits it out, nothing is dead-lettered, every invoice gets READY.
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { createLogger } from "@invoicer/platform/logger";
import { startDocumentConsumer } from "../consumer/src/app.ts";
import { eventually } from "./support/events.ts";
import { parseMetrics } from "./support/metrics.ts";
import { sampleInvoice } from "@invoicer/devstack/samples";
import { startStack, type Stack } from "./support/stack.ts";

let stack: Stack;
before(async () => {
  stack = await startStack({}, { consumer: false }, { cuttableDatabase: true });
});
after(() => stack.close());

const consumerMetric = async (name: string, labels?: Record<string, string>) =>
  parseMetrics(await stack.observability.consumer.metrics.metrics()).value(name, labels);

it(
  "answers Unavailable while the database is gone, and the consumer waits it out without dead-lettering",
  { timeout: 120_000 },
  async () => {
    const client = stack.client(stack.tenantA);
    const created = await Promise.all(Array.from({ length: 5 }, () => client.createInvoice(sampleInvoice())));
    await eventually(
      async () => (await stack.database.sql`select count(*)::int as n from outbox where published_at is null`)[0]!.n === 0,
      "the events to be published",
    );

    stack.databaseLink!.cut();
    const refused = await client.getInvoice({ id: created[0]!.invoice!.id }).then(
      () => undefined,
      (err: unknown) => ConnectError.from(err),
    );
    assert.equal(refused?.code, Code.Unavailable, "a call during the outage is Unavailable: worth a retry");
    assert.doesNotMatch(refused.rawMessage, /ECONN|CONNECTION|postgres|select/i);

    const events = stack.events!;
    const consumer = await startDocumentConsumer(
      {
        kafkaTopic: events.topic,
        kafkaTopicPartitions: 3,
        deadLetterTopic: events.deadLetterTopic,
        groupId: events.groupId,
        serverUrls: [stack.serverUrl],
        serverRefreshMs: 2_000,
        consumerToken: stack.consumerToken,
        attempts: 2,
        retryBackoffMs: 20,
        sessionTimeoutMs: 10_000,
        renderWorkers: 1,
        eventsInFlight: 4,
        renderTimeoutMs: 30_000,
      },
      events.bus,
      createLogger("test", "silent"),
      stack.observability.consumer,
    );
    try {
      // Far more failed attempts than RENDER_ATTEMPTS allows for a permanent failure.
      await eventually(
        async () => (await consumerMetric("invoicer_consumer_attempts_failed_total", { transient: "true" })) >= 6,
        "the consumer to retry past its attempts",
        60_000,
      );
      stack.databaseLink!.restore();
      const ids = created.map((r) => r.invoice!.id);
      await eventually(
        async () => {
          const [row] = await stack.database
            .sql`select count(*)::int as n from invoices where id = any(${ids}::uuid[]) and document_status = 'READY'`;
          return row!.n === 5;
        },
        "every invoice to get its documents",
        60_000,
      );
      assert.equal(await consumerMetric("invoicer_consumer_dead_lettered_total"), 0);
    } finally {
      await consumer.stop();
    }
  },
);
