import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { after, before, describe, it } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import { DocumentFormat, DocumentStatus, InvoiceEventSchema, type InvoiceEvent } from "@invoicer/sdk";
import { unzipSync } from "fflate";
import { extractText, getDocumentProxy } from "unpdf";
import { renderInvoiceDocuments } from "../consumer/src/render/index.ts";
import { ceHeaders, eventContentType, eventSource, legacyHeaders, readCloudEventHeaders } from "@invoicer/platform/cloudevents";
import type { Subscription } from "@invoicer/platform/kafka/group-member";
import { createLogger } from "@invoicer/platform/logger";
import { startOutboxRelay } from "../server/src/outbox/relay.ts";
import {
  caughtUp,
  committedOffset,
  eventually,
  groupState,
  produceRaw,
  readTopic,
  watchInvoices,
  type TopicMessage,
  type TopicReader,
} from "./support/events.ts";
import { sampleInvoice } from "@invoicer/devstack/samples";
import { startStack, type Stack } from "./support/stack.ts";

const brokers = () => process.env.TEST_KAFKA_BROKERS!.split(",");
const decode = (value: Uint8Array) => fromBinary(InvoiceEventSchema, value);
const idOf = (m: TopicMessage) => readCloudEventHeaders(m.headers).id;
const typeOf = (m: TopicMessage) => readCloudEventHeaders(m.headers).type;
const isDocumentReady = (invoiceId: string) => (e: InvoiceEvent) => e.kind.case === "documentReady" && e.invoiceId === invoiceId;

let stack: Stack;
let topic: TopicReader;
// Node warns once per signal or emitter that grows past its listener limit; none may here.
const listenerWarnings: string[] = [];
process.on("warning", (w) => void (w.name === "MaxListenersExceededWarning" && listenerWarnings.push(w.message)));
before(async () => {
  // A render that fails for one buyer, to have a poison event that is valid protobuf.
  stack = await startStack(
    {},
    {
      render: async (invoice) => {
        if (invoice.buyer?.name === "Poison Ltd") throw new Error("this buyer cannot be rendered");
        return renderInvoiceDocuments(invoice);
      },
    },
  );
  topic = await readTopic(brokers(), stack.events!.topic);
});
after(async () => {
  await topic.close();
  await stack.close();
});

describe("outbox to Kafka", () => {
  it("publishes each change as an InvoiceEvent keyed by invoice, with CloudEvents binary-mode headers", async () => {
    const client = stack.client(stack.tenantA);
    const { invoice } = await client.createInvoice(sampleInvoice());
    const committedAt = Date.now();
    const [issued] = (await topic.until((ms) => ms.some((m) => m.key === invoice!.id))).filter((m) => m.key === invoice!.id);
    process.stdout.write(`# event latency (commit -> topic reader): ${Date.now() - committedAt} ms\n`);
    const event = decode(issued!.value);
    assert.equal(event.kind.case, "issued");
    assert.equal(event.tenantId, stack.tenantA.id);
    assert.equal(event.kind.value?.invoice?.number, invoice!.number);
    const h = issued!.headers;
    assert.equal(h.ce_specversion, "1.0");
    assert.equal(h.ce_id, event.eventId);
    assert.equal(h.ce_source, "/invoicer/server");
    assert.ok(!h.ce_source!.includes(stack.tenantA.id), "the source names no tenant");
    assert.equal(h.ce_type, "invoice.issued");
    assert.equal(h.ce_subject, invoice!.id);
    assert.match(h.ce_time ?? "", /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/, "ce_time is RFC 3339 in UTC");
    assert.ok(Math.abs(Date.parse(h.ce_time!) - committedAt) < 60_000, "ce_time is the event's time");
    assert.equal(h["content-type"], "application/x-protobuf; messageType=invoicer.v1.InvoiceEvent");
    assert.match(h.traceparent ?? "", /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    // The module's names are the ones on the wire.
    assert.equal(h[ceHeaders.id], event.eventId);
    assert.equal(h[ceHeaders.source], eventSource);
    assert.equal(h[ceHeaders.contentType], eventContentType);
    // Kept for one release, for consumers of the previous version during a rolling deploy.
    assert.equal(h[legacyHeaders.id], event.eventId);
    assert.equal(h[legacyHeaders.type], "invoice.issued");
    assert.deepEqual(Object.keys(h).sort(), [
      "ce_id",
      "ce_source",
      "ce_specversion",
      "ce_subject",
      "ce_time",
      "ce_type",
      "content-type",
      "event-id",
      "event-type",
      "traceparent",
    ]);

    await client.payInvoice({ id: invoice!.id });
    const { invoice: voided } = await client.createInvoice(sampleInvoice());
    await client.voidInvoice({ id: voided!.id, reason: "issued by mistake" });
    const types = (id: string) => topic.items.filter((m) => m.key === id).map(typeOf);
    await topic.until(() => types(invoice!.id).includes("invoice.paid") && types(voided!.id).includes("invoice.voided"));
    const paidEvents = topic.items.filter((m) => m.key === invoice!.id).map((m) => decode(m.value).kind.case);
    assert.deepEqual(
      paidEvents.filter((k) => k !== "documentReady"),
      ["issued", "paid"],
    );
    // The reader can see a batch a moment before the relay's transaction marks it published.
    await eventually(async () => {
      const [left] = await stack.database.sql`select count(*)::int as n from outbox where published_at is null`;
      return left!.n === 0;
    }, "the outbox to be marked published");
  });
});

describe("outbox relay replicas", () => {
  it("never publishes a row twice when two relays drain the same outbox", async () => {
    const producer = stack.events!.bus.producer();
    const second = startOutboxRelay({
      sql: stack.database.sql,
      producer,
      topic: stack.events!.topic,
      ensureTopic: async () => {},
      maxMessageBytes: () => stack.events!.bus.maxMessageBytes(stack.events!.topic),
      notifications: stack.notifications,
      log: createLogger("test", "silent"),
      batchSize: 5,
    });
    try {
      const client = stack.client(stack.tenantB);
      const created = await Promise.all(Array.from({ length: 100 }, () => client.createInvoice(sampleInvoice())));
      const ids = new Set(created.map((r) => r.invoice!.id));
      const issued = (ms: TopicMessage[]) => ms.filter((m) => ids.has(m.key) && typeOf(m) === "invoice.issued");
      await topic.until((ms) => new Set(issued(ms).map((m) => m.key)).size === 100);
      // Once every issued row is marked published no relay sends it again; read to the end of the topic.
      await eventually(async () => {
        const [left] = await stack.database
          .sql`select count(*)::int as n from outbox where published_at is null and event_type = 'invoice.issued'`;
        return left!.n === 0;
      }, "the issued events to be marked published");
      await caughtUp(brokers(), stack.events!.topic, topic);
      const eventIds = issued(topic.items).map(idOf);
      assert.equal(new Set(eventIds).size, eventIds.length, "no event id was published twice");
    } finally {
      await second.stop();
      await producer.disconnect();
    }
  });
});

describe("documents", () => {
  it("renders an issued invoice to a PDF and a DOCX that clients can download", async () => {
    const client = stack.client(stack.tenantA);
    const watch = await watchInvoices(client);
    const { invoice } = await client.createInvoice(sampleInvoice());
    const committedAt = Date.now();
    const events = await watch.until((es) => es.some(isDocumentReady(invoice!.id)));
    process.stdout.write(`# document latency (commit -> READY seen by a watcher): ${Date.now() - committedAt} ms\n`);
    watch.close();
    const ready = await client.getInvoice({ id: invoice!.id });
    assert.equal(ready.invoice!.documentStatus, DocumentStatus.READY);
    const event = events.find(isDocumentReady(invoice!.id))!;
    assert.deepEqual(
      event.kind.case === "documentReady" && event.kind.value.invoice,
      ready.invoice,
      "the event carries the invoice as stored",
    );
    const total = "€562.25"; // 3 x 150.00 + 19% VAT and 2 x 12.50 + 7% VAT, as the renderer formats it

    const pdf = await client.getInvoiceDocument({ id: invoice!.id, format: DocumentFormat.PDF });
    assert.equal(pdf.contentType, "application/pdf");
    assert.equal(pdf.filename, `invoice-${invoice!.number}.pdf`);
    assert.equal(Buffer.from(pdf.content.subarray(0, 5)).toString(), "%PDF-");
    const { text } = await extractText(await getDocumentProxy(new Uint8Array(pdf.content)), { mergePages: true });
    assert.ok(text.includes(`No. ${invoice!.number}`), "the PDF names the invoice number");
    assert.ok(text.includes(total), "the PDF shows the total");

    const docx = await client.getInvoiceDocument({ id: invoice!.id, format: DocumentFormat.DOCX });
    const xml = Buffer.from(unzipSync(docx.content)["word/document.xml"]!).toString("utf8");
    assert.ok(xml.includes(`No. ${invoice!.number}`), "the DOCX names the invoice number");
    assert.ok(xml.includes(total), "the DOCX shows the total");

    const rest = await fetch(`${stack.gatewayUrl}/v1/invoices/${invoice!.id}/pdf`, {
      headers: { authorization: `Bearer ${stack.tenantA.apiKey}` },
    });
    assert.equal(rest.status, 200);
    assert.equal(rest.headers.get("content-type"), "application/pdf");
    assert.match(rest.headers.get("content-disposition") ?? "", new RegExp(`filename="invoice-${invoice!.number}.pdf"`));
    assert.deepEqual(Buffer.from(await rest.arrayBuffer()), Buffer.from(pdf.content));
    const restDocx = await fetch(`${stack.gatewayUrl}/v1/invoices/${invoice!.id}/docx`, {
      headers: { authorization: `Bearer ${stack.tenantA.apiKey}` },
    });
    assert.equal(restDocx.headers.get("content-type"), "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
  });

  it("keeps documents to their tenant and says when they are not ready", async () => {
    const { invoice } = await stack.client(stack.tenantA).createInvoice(sampleInvoice());
    const otherTenant = await stack
      .client(stack.tenantB)
      .getInvoiceDocument({ id: invoice!.id, format: DocumentFormat.PDF })
      .catch((e) => e);
    assert.equal(otherTenant.code, 5); // NotFound: tenant B cannot tell the invoice exists
    const noFormat = await stack
      .client(stack.tenantA)
      .getInvoiceDocument({ id: invoice!.id })
      .catch((e) => e);
    assert.equal(noFormat.code, 3);
    assert.match(noFormat.rawMessage, /^format:/);
  });

  it("attaches a redelivered event once", async () => {
    const client = stack.client(stack.tenantA);
    const watch = await watchInvoices(client);
    const { invoice } = await client.createInvoice(sampleInvoice());
    await watch.until((es) => es.some(isDocumentReady(invoice!.id)));
    watch.close();
    await topic.until((ms) => ms.some((m) => m.key === invoice!.id));
    const issued = topic.items.find((m) => m.key === invoice!.id && typeOf(m) === "invoice.issued")!;
    await produceRaw(brokers(), stack.events!.topic, [{ key: issued.key, value: issued.value, headers: issued.headers }]);
    const redelivered = await topic.until((ms) => ms.filter((m) => idOf(m) === idOf(issued)).length === 2);
    const copy = redelivered.filter((m) => idOf(m) === idOf(issued))[1]!;
    // The consumer commits only after the server answered, so a committed offset past the copy means it was handled.
    const groupId = stack.events!.groupId;
    await eventually(
      async () => (await committedOffset(brokers(), groupId, stack.events!.topic, copy.partition)) > BigInt(copy.offset),
      "the copy's offset to be committed",
    );
    const [documents] = await stack.database.sql`select count(*)::int as n from invoice_documents where invoice_id = ${invoice!.id}`;
    const [readyEvents] = await stack.database
      .sql`select count(*)::int as n from outbox where invoice_id = ${invoice!.id} and event_type = 'invoice.document_ready'`;
    assert.equal(documents!.n, 2);
    assert.equal(readyEvents!.n, 1);
  });

  it("handles an event published before the CloudEvents headers (only event-id and event-type), as the topic retains them", async () => {
    const client = stack.client(stack.tenantA);
    const watch = await watchInvoices(client);
    const { invoice } = await client.createInvoice(sampleInvoice());
    await watch.until((es) => es.some(isDocumentReady(invoice!.id)));
    watch.close();
    const issued = (await topic.until((ms) => ms.some((m) => m.key === invoice!.id && typeOf(m) === "invoice.issued"))).find(
      (m) => m.key === invoice!.id && typeOf(m) === "invoice.issued",
    )!;
    // Forget the documents, so only the old-style message can bring them back.
    await stack.database.sql`delete from invoice_documents where invoice_id = ${invoice!.id}`;
    await stack.database.sql`update invoices set document_status = 'PENDING' where id = ${invoice!.id}`;
    const old = {
      [legacyHeaders.id]: idOf(issued)!,
      [legacyHeaders.type]: "invoice.issued",
      "content-type": issued.headers["content-type"]!,
      traceparent: issued.headers.traceparent!,
    };
    assert.equal(readCloudEventHeaders(old).cloudEvent, false);
    await produceRaw(brokers(), stack.events!.topic, [{ key: issued.key, value: issued.value, headers: old }]);
    await eventually(async () => {
      const [ready] = await stack.database
        .sql`select count(*)::int as n from outbox where invoice_id = ${invoice!.id} and event_type = 'invoice.document_ready'`;
      return ready!.n === 2;
    }, "the old-style event to be rendered and attached again");
    const [documents] = await stack.database.sql`select count(*)::int as n from invoice_documents where invoice_id = ${invoice!.id}`;
    assert.equal(documents!.n, 2);
    assert.equal((await client.getInvoice({ id: invoice!.id })).invoice!.documentStatus, DocumentStatus.READY);
  });

  it("sends poison events to the dead-letter topic and goes on", async () => {
    const deadLetters = await readTopic(brokers(), stack.events!.deadLetterTopic);
    try {
      const client = stack.client(stack.tenantA);
      const watch = await watchInvoices(client);
      await produceRaw(brokers(), stack.events!.topic, [{ key: "not-an-invoice", value: Buffer.from("definitely not protobuf \xff\xff") }]);
      const { invoice: poison } = await client.createInvoice(sampleInvoice({ buyer: { ...sampleInvoice().buyer!, name: "Poison Ltd" } }));
      const { invoice: healthy } = await client.createInvoice(sampleInvoice());
      await watch.until((es) => es.some(isDocumentReady(healthy!.id)));
      watch.close();
      const letters = await deadLetters.until((ms) => ms.some((m) => m.key === "not-an-invoice") && ms.some((m) => m.key === poison!.id));
      const undecodable = letters.find((m) => m.key === "not-an-invoice")!;
      assert.match(undecodable.headers["dead-letter-error"] ?? "", /premature EOF|invalid|wire type/i);
      assert.equal(undecodable.headers["dead-letter-attempts"], "0");
      const failing = letters.find((m) => m.key === poison!.id)!;
      assert.equal(failing.headers["dead-letter-error"], "this buyer cannot be rendered");
      assert.equal(failing.headers["dead-letter-attempts"], "3");
      assert.equal(decode(failing.value).invoiceId, poison!.id);
      assert.equal((await client.getInvoice({ id: poison!.id })).invoice!.documentStatus, DocumentStatus.PENDING);
    } finally {
      await deadLetters.close();
    }
  });
});

describe("WatchInvoices", () => {
  it("streams a tenant's changes to each of its watchers and nothing of other tenants", async () => {
    const a = stack.client(stack.tenantA, "connect-json");
    const aWeb = stack.client(stack.tenantA, "grpc-web");
    const watchers = [await watchInvoices(a), await watchInvoices(aWeb)];
    const other = await watchInvoices(stack.client(stack.tenantB));
    const { invoice: theirs } = await stack.client(stack.tenantB).createInvoice(sampleInvoice());
    const { invoice: ours } = await a.createInvoice(sampleInvoice());
    await a.payInvoice({ id: ours!.id });
    for (const w of watchers) {
      const seen = await w.until(
        (es) => es.some(isDocumentReady(ours!.id)) && es.some((e) => e.kind.case === "paid" && e.invoiceId === ours!.id),
      );
      assert.ok(seen.some((e) => e.kind.case === "issued" && e.invoiceId === ours!.id));
      assert.ok(
        seen.every((e) => e.tenantId === stack.tenantA.id),
        "a watcher sees only its tenant",
      );
    }
    const theirsSeen = await other.until((es) => es.some((e) => e.invoiceId === theirs!.id && e.kind.case === "issued"));
    assert.ok(theirsSeen.every((e) => e.tenantId === stack.tenantB.id));
    assert.equal(stack.watch.watching(), 3);
    for (const w of [...watchers, other]) {
      w.close();
      await w.ended;
    }
    // The server notices the clients went away and drops their subscriptions.
    await eventually(async () => stack.watch.watching() === 0, "the server to drop closed watches");
  });

  it("holds a dozen watchers at once, each call listening on the server's shutdown, without a listener warning", async () => {
    const shutdown = stack.lifecycle.cut.signal;
    // Only calls in flight listen; the consumer may have an AttachDocuments of an earlier invoice among them.
    const listening = () => getEventListeners(shutdown, "abort").length;
    const watchers = await Promise.all(Array.from({ length: 12 }, () => watchInvoices(stack.client(stack.tenantA))));
    assert.equal(stack.watch.watching(), 12);
    assert.ok(listening() >= 12, "each open call listens on the server's shutdown");
    const { invoice } = await stack.client(stack.tenantA).createInvoice(sampleInvoice());
    for (const w of watchers) await w.until((es) => es.some((e) => e.kind.case === "issued" && e.invoiceId === invoice!.id));
    for (const w of watchers) w.close();
    await Promise.all(watchers.map((w) => w.ended));
    await eventually(async () => listening() === 0, "each ended call to stop listening on the shutdown");
    await new Promise((r) => setImmediate(r)); // a process warning is emitted on the next tick
    assert.deepEqual(listenerWarnings, [], "no listener warning (Node 20 warns past 10 on a signal)");
  });
});

describe("consumer group membership", () => {
  it("comes back when kafkajs gives up on its member after an error it will not retry, and consumes on", async () => {
    const bus = stack.events!.bus;
    const topic = `${stack.events!.topic}-membership`;
    await bus.ensureTopics([{ topic, partitions: 1 }]);
    const seen: string[] = [];
    let failedOnce = false;
    const member = await bus.consume({
      groupId: `${stack.events!.groupId}-membership`,
      topic,
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 500,
      handle: async (message) => {
        seen.push(message.key);
        // A failure kafkajs calls non-retriable (as a commit refused after a frozen broker dropped the member):
        // kafkajs stops the member for good and leaves the process looking healthy.
        if (message.key === "first" && !failedOnce) {
          failedOnce = true;
          throw Object.assign(new Error("refused for good"), { retriable: false });
        }
      },
    });
    try {
      await produceRaw([process.env.TEST_KAFKA_BROKERS!], topic, [
        { key: "first", value: Buffer.from("1") },
        { key: "second", value: Buffer.from("2") },
      ]);
      await eventually(async () => seen.includes("second"), "the member to come back and consume on");
      assert.deepEqual(seen, ["first", "first", "second"], "the failed message was delivered again, then the next");
      assert.equal(member.joins(), 2);
    } finally {
      await member.stop();
    }
  });
});

describe("a partition's messages in flight", () => {
  // Each test consumes a one-partition topic of its own, produced before the member joins, so the first fetch holds every message.
  const consumeOwnTopic = async (name: string, keys: string[], handle: (key: string) => Promise<void>) => {
    const bus = stack.events!.bus;
    const [topic, groupId] = [`${stack.events!.topic}-${name}`, `${stack.events!.groupId}-${name}`];
    await bus.ensureTopics([{ topic, partitions: 1 }]);
    await produceRaw(
      brokers(),
      topic,
      keys.map((key) => ({ key, value: Buffer.from(key) })),
    );
    const member = await bus.consume({ groupId, topic, inFlightPerPartition: 4, heartbeatIntervalMs: 100, handle: (m) => handle(m.key) });
    return { member, groupId, topic, committed: () => committedOffset(brokers(), groupId, topic, 0) };
  };

  it("handles up to four at once behind a slow one, and commits up to the oldest in hand", async () => {
    const handled: string[] = [];
    let [inHand, mostInHand] = [0, 0];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let allFour!: () => void;
    const fourInHand = new Promise<void>((r) => (allFour = r));
    const { member, committed } = await consumeOwnTopic("held", ["a", "slow", "c", "d", "e", "f", "g"], async (key) => {
      mostInHand = Math.max(mostInHand, ++inHand);
      if (inHand === 4) allFour();
      if (key === "slow") await held;
      else if (["c", "d", "e"].includes(key)) await fourInHand; // in hand with the slow one: four at once
      handled.push(key);
      inHand--;
    });
    try {
      await eventually(async () => handled.length === 6, "the six around the slow one");
      assert.deepEqual(handled.slice().sort(), ["a", "c", "d", "e", "f", "g"]);
      assert.equal(mostInHand, 4, "four in hand at most, and four reached");
      await eventually(async () => (await committed()) === 1n, "the offset past the one before the slow one");
      release();
      await eventually(async () => (await committed()) === 7n, "the offset past all seven");
      assert.equal(handled.length, 7, "each once");
    } finally {
      release();
      await member.stop();
    }
  });

  it("delivers a failed message again with those after it, and commits nothing past it until it is done", async () => {
    const handled: string[] = [];
    let failures = 0;
    const { member, committed } = await consumeOwnTopic("failed", ["a", "bad", "c", "d"], async (key) => {
      if (key === "bad" && failures++ === 0) throw new Error("a transient failure");
      handled.push(key);
    });
    try {
      await eventually(async () => (await committed()) === 4n, "the offset past all four");
      const times = (k: string) => handled.filter((h) => h === k).length;
      assert.deepEqual(
        ["a", "bad", "c", "d"].map(times),
        [1, 1, 2, 2],
        "the one before it once; it once it succeeded; those after it (in hand with it) again",
      );
    } finally {
      await member.stop();
    }
  });

  it("lets the group rebalance once the message in hand is done, committing what was handled and losing none", async () => {
    const keys = ["a", "slow", "c", "d", "e", "f", "g", "h"];
    const handled: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const { member, groupId, topic, committed } = await consumeOwnTopic("rebalance", keys, async (key) => {
      if (key === "slow") await held;
      handled.push(key);
    });
    let second: Subscription | undefined;
    try {
      await eventually(async () => handled.length === keys.length - 1, "all but the slow one");
      // A second member asks to join: the coordinator waits for the first, whose batch holds the slow one.
      const joining = stack.events!.bus.consume({ groupId, topic, handle: async (m) => void handled.push(m.key) });
      await eventually(async () => (await groupState(brokers(), groupId)) === "PreparingRebalance", "the rebalance to begin");
      assert.equal(await committed(), 1n, "nothing committed past the message in hand");
      release();
      second = await joining;
      await eventually(async () => (await committed()) === BigInt(keys.length), "the offset past all eight");
      assert.deepEqual(
        handled.slice().sort(),
        keys.slice().sort(),
        "each handled once: the first member committed them all before it rejoined",
      );
      await eventually(async () => member.joins() === 2, "the first member to join again");
    } finally {
      release();
      await second?.stop();
      await member.stop();
    }
  });
});
