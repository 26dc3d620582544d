import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { DocumentStatus, InvoiceEventSchema, type Invoice, type InvoiceEvent } from "@invoicer/sdk";
import type { EventMessage, ReceivedMessage } from "@invoicer/platform/kafka/messages";
import { createLogger } from "@invoicer/platform/logger";
import { startObservability } from "@invoicer/platform/observability";
import { documentWorker, StoppedError } from "../consumer/src/document-worker.ts";
import { consumerMetrics } from "../consumer/src/consumer-metrics.ts";
import { renderInvoiceDocuments } from "../consumer/src/render/index.ts";
import { RenderTimeoutError } from "../consumer/src/render/pool.ts";
import { redriveDocuments } from "../server/src/documents/redrive.ts";
import { committedOffset, eventually, readTopic, watchInvoices, type TopicMessage } from "./support/events.ts";
import { sampleInvoice } from "@invoicer/devstack/samples";
import { startStack, type Stack } from "./support/stack.ts";

const sessionTimeoutMs = 2_000;
// The server's MAX_MESSAGE_BYTES here: room for any invoice's documents (about 32 KiB), not for Oversized Ltd's.
const maxMessageBytes = 256 * 1024;
const renders = new Map<string, number>();
let gate: { started: () => void; release: Promise<void> } | undefined;
let brokenRendererFixed = false;

// A render that is slower than the session timeout for one buyer, held at a gate for another, and
// larger than the server takes for a third.
async function render(invoice: Invoice) {
  const buyer = invoice.buyer?.name ?? "";
  renders.set(invoice.id, (renders.get(invoice.id) ?? 0) + 1);
  if (buyer === "Slow Ltd") await new Promise((r) => setTimeout(r, sessionTimeoutMs * 2.5));
  if (buyer === "Broken Ltd" && !brokenRendererFixed) throw new Error("a renderer bug for this invoice");
  if (buyer === "Gated Ltd" && gate) {
    gate.started();
    await gate.release;
  }
  const documents = await renderInvoiceDocuments(invoice);
  if (buyer !== "Oversized Ltd") return documents;
  return documents.map((d) => ({ ...d, content: Buffer.concat([d.content, Buffer.alloc(maxMessageBytes)]) }));
}

let stack: Stack;
before(async () => {
  stack = await startStack({}, { render, sessionTimeoutMs }, { maxMessageBytes });
});
after(() => stack.close());

const buyer = (name: string) => ({ ...sampleInvoice().buyer!, name });

it("keeps its group membership through a render slower than the session timeout", async () => {
  const client = stack.client(stack.tenantA);
  const watch = await watchInvoices(client);
  const { invoice } = await client.createInvoice(sampleInvoice({ buyer: buyer("Slow Ltd") }));
  await watch.until((es) => es.some((e) => e.kind.case === "documentReady" && e.invoiceId === invoice!.id), 30_000);
  watch.close();
  assert.equal(stack.events!.consumer!.subscription.joins(), 1, "no rebalance took the partition away");
  assert.equal(renders.get(invoice!.id), 1, "rendered once, not again by a new owner of the partition");
});

it("re-drives invoices whose documents failed for good, once the cause is fixed, with one command", async () => {
  const client = stack.client(stack.tenantA);
  const { invoice: broken } = await client.createInvoice(sampleInvoice({ buyer: buyer("Broken Ltd") }));
  const { invoice: fine } = await client.createInvoice(sampleInvoice());
  const letters = await readTopic([process.env.TEST_KAFKA_BROKERS!], stack.events!.deadLetterTopic);
  const lettersOf = (id: string) => letters.items.filter((m) => m.key === id).length;
  try {
    await letters.until(() => lettersOf(broken!.id) === 1);
    await eventually(
      async () => (await client.getInvoice({ id: fine!.id })).invoice!.documentStatus === DocumentStatus.READY,
      "the other invoice's documents",
    );
    assert.deepEqual(
      (await redriveDocuments(stack.database.sql, { pendingForMs: 0 })).redriven,
      [broken!.id],
      "only the PENDING invoice is re-driven",
    );
    // Still broken: the event goes round once more and back to the dead-letter topic.
    await letters.until(() => lettersOf(broken!.id) === 2);
  } finally {
    await letters.close();
  }
  brokenRendererFixed = true; // what a fix and a redeploy of the consumer would do; then the command again
  assert.deepEqual((await redriveDocuments(stack.database.sql, { pendingForMs: 0 })).redriven, [broken!.id]);
  await eventually(
    async () => (await client.getInvoice({ id: broken!.id })).invoice!.documentStatus === DocumentStatus.READY,
    "the re-driven invoice's documents",
  );
  assert.deepEqual((await redriveDocuments(stack.database.sql, { pendingForMs: 0 })).redriven, [], "nothing left to re-drive");
});

it("sets aside an invoice whose documents the server refuses as too large, and its partition moves on", async () => {
  const brokers = [process.env.TEST_KAFKA_BROKERS!];
  const client = stack.client(stack.tenantA);
  const { invoice: oversized } = await client.createInvoice(sampleInvoice({ buyer: buyer("Oversized Ltd") }));
  const letters = await readTopic(brokers, stack.events!.deadLetterTopic);
  let letter: TopicMessage;
  try {
    await letters.until((ms) => ms.some((m) => m.key === oversized!.id), 30_000);
    letter = letters.items.find((m) => m.key === oversized!.id)!;
  } finally {
    await letters.close();
  }
  assert.match(letter.headers["dead-letter-error"]!, /^\[resource_exhausted\]/);
  assert.equal(renders.get(oversized!.id), 1, "rendered once: a refused upload is sent again, not rendered again");
  const [, partition, offset] = letter.headers["dead-letter-source"]!.split("/");
  await eventually(
    async () => (await committedOffset(brokers, stack.events!.groupId, stack.events!.topic, Number(partition))) > BigInt(offset!),
    "the partition's offset committed past the set-aside event",
  );
  const { invoice: next } = await client.createInvoice(sampleInvoice());
  await eventually(
    async () => (await client.getInvoice({ id: next!.id })).invoice!.documentStatus === DocumentStatus.READY,
    "the documents of an invoice issued after it",
  );
  const { invoice: still } = await client.getInvoice({ id: oversized!.id });
  assert.equal(still!.documentStatus, DocumentStatus.PENDING, "nothing was stored for the refused one");
});

it("finishes the message in hand when stopped, so no work is lost", async () => {
  const client = stack.client(stack.tenantA);
  let started!: () => void;
  let release!: () => void;
  const renderStarted = new Promise<void>((r) => (started = r));
  gate = { started, release: new Promise<void>((r) => (release = r)) };
  const { invoice } = await client.createInvoice(sampleInvoice({ buyer: buyer("Gated Ltd") }));
  await renderStarted;
  const stopping = stack.events!.consumer!.stop(); // what SIGTERM does in consumer/src/serve.ts
  release();
  await stopping;
  const { invoice: done } = await client.getInvoice({ id: invoice!.id });
  assert.equal(done!.documentStatus, DocumentStatus.READY);
  // And its offset is committed while leaving, so the next owner of the partition does not render it again.
  const events = await readTopic([process.env.TEST_KAFKA_BROKERS!], stack.events!.topic);
  try {
    const [issued] = await events.until((ms) => ms.some((m) => m.key === invoice!.id));
    const message = events.items.find((m) => m.key === invoice!.id)!;
    assert.ok(issued);
    const offset = await committedOffset([process.env.TEST_KAFKA_BROKERS!], stack.events!.groupId, stack.events!.topic, message.partition);
    assert.ok(offset > BigInt(message.offset), `committed ${offset}, past ${message.offset}`);
  } finally {
    await events.close();
  }
});

// After the test above stopped the consumer: new invoices keep their documents PENDING while the relay publishes their events.
describe("outbox redrive-documents", () => {
  const sql = () => stack.database.sql;
  const issue = async (n: number) =>
    Promise.all(Array.from({ length: n }, async () => (await stack.client(stack.tenantA).createInvoice(sampleInvoice())).invoice!.id));
  const published = (ids: string[]) =>
    eventually(async () => {
      const [row] = await sql()<{ n: number }[]>`
        select count(*)::int as n from outbox where invoice_id = any(${ids}::uuid[]) and published_at is null`;
      return row!.n === 0;
    }, "the relay to publish their events");

  it("re-drives no invoice paid or voided since: its issued event would follow the newer state on the topic", async () => {
    const client = stack.client(stack.tenantA);
    const [paid, voided, issued] = await issue(3);
    await client.payInvoice({ id: paid! });
    await client.voidInvoice({ id: voided!, reason: "entered twice" });
    await published([paid!, voided!, issued!]);
    const result = await redriveDocuments(sql(), { pendingForMs: 0, invoiceIds: [paid!, voided!, issued!] });
    assert.deepEqual(result, { redriven: [issued!], movedOn: [paid!, voided!].sort() });
    const [row] = await sql()<{ n: number }[]>`
      select count(*)::int as n from outbox where invoice_id = any(${[paid!, voided!]}::uuid[]) and published_at is null`;
    assert.equal(row!.n, 0, "nothing of theirs goes out again");
  });

  it("counts a document's wait from its event's publication, not the invoice's creation (an outbox backlog)", async () => {
    const [late] = await issue(1);
    await published([late!]);
    await sql()`update invoices set created_at = now() - interval '1 hour' where id = ${late!}`;
    const tenMinutes = 10 * 60_000;
    assert.deepEqual(await redriveDocuments(sql(), { pendingForMs: tenMinutes, invoiceIds: [late!] }), { redriven: [], movedOn: [] });
    await sql()`update outbox set published_at = now() - interval '11 minutes' where invoice_id = ${late!}`;
    assert.deepEqual(await redriveDocuments(sql(), { pendingForMs: tenMinutes, invoiceIds: [late!] }), { redriven: [late!], movedOn: [] });
  });

  it("refuses a --pending-minutes shorter than DOCUMENTS_STALE_AFTER_MS: those documents may still be in flight", async () => {
    const outbox = (args: string[], env: Record<string, string> = {}) =>
      promisify(execFile)(process.execPath, ["server/src/cli/outbox.ts", "redrive-documents", ...args], {
        env: { ...process.env, DATABASE_URL: stack.databaseUrl, ...env },
      });
    await assert.rejects(
      outbox(["--pending-minutes", "0"]),
      (err: { code: number; stderr: string }) => err.code === 2 && /--pending-minutes must be at least 10/.test(err.stderr),
    );
    await assert.rejects(
      outbox(["--pending-minutes", "2"], { DOCUMENTS_STALE_AFTER_MS: "180000" }),
      (err: { code: number; stderr: string }) => err.code === 2 && /at least 3 /.test(err.stderr),
    );
    assert.match((await outbox(["--pending-minutes", "10"])).stdout, /^0 invoices re-driven/);
  });
});

describe("retry policy", () => {
  const message = (event: InvoiceEvent): ReceivedMessage => ({
    topic: "t",
    partition: 0,
    offset: "7",
    key: event.invoiceId,
    headers: {},
    value: toBinary(InvoiceEventSchema, event),
  });
  const issued = create(InvoiceEventSchema, {
    eventId: "e1",
    tenantId: "t1",
    invoiceId: "i1",
    kind: { case: "issued", value: { invoice: { id: "i1" } } },
  });
  const observability = startObservability("consumer", { serviceName: "invoicer-consumer" });
  const metrics = consumerMetrics(observability.metrics);
  const policy = {
    log: createLogger("test", "silent"),
    tracer: observability.tracer,
    metrics,
    groupId: "documents",
    attempts: 2,
    retryBackoffMs: 1,
    stopSignal: new AbortController().signal,
  };
  const worker = (attach: () => Promise<{ attached: boolean }>, deadLetters: EventMessage[]) =>
    documentWorker({ ...policy, render: async () => [], attach, deadLetter: async (m) => void deadLetters.push(m) });

  it("waits out an unavailable server however many tries it takes, and dead-letters nothing", async () => {
    let calls = 0;
    const deadLetters: EventMessage[] = [];
    const attach = async () => {
      if (++calls < 6) throw new ConnectError("connect ECONNREFUSED", Code.Unavailable);
      return { attached: true };
    };
    await worker(attach, deadLetters)(message(issued));
    assert.equal(calls, 6);
    assert.equal(deadLetters.length, 0);
  });

  it("waits out a server that refuses its token (a rotation in progress), and dead-letters nothing", async () => {
    let calls = 0;
    const deadLetters: EventMessage[] = [];
    const attach = async () => {
      if (++calls < 5) throw new ConnectError("missing or invalid internal token", Code.Unauthenticated);
      return { attached: true };
    };
    await worker(attach, deadLetters)(message(issued));
    assert.equal(calls, 5);
    assert.equal(deadLetters.length, 0);
  });

  it("dead-letters documents the server refuses after its attempts, uploading them again but rendering them once", async () => {
    for (const code of [Code.ResourceExhausted, Code.InvalidArgument, Code.DeadlineExceeded]) {
      const deadLetters: EventMessage[] = [];
      let [renders, calls] = [0, 0];
      const stop = new AbortController(); // ends a worker that would retry for ever
      const handle = documentWorker({
        ...policy,
        stopSignal: stop.signal,
        render: async () => (renders++, []),
        attach: async () => {
          if (++calls === 5) stop.abort();
          throw new ConnectError("refused", code);
        },
        deadLetter: async (m) => void deadLetters.push(m),
      });
      await handle(message(issued)).catch((err: unknown) => assert.ok(err instanceof StoppedError, String(err)));
      assert.deepEqual([renders, calls, deadLetters.length], [1, 2, 1], Code[code]);
      assert.equal(deadLetters[0]!.headers["dead-letter-attempts"], "2");
    }
  });

  it("dead-letters a render past its time bound at once: it would take as long again", async () => {
    const deadLetters: EventMessage[] = [];
    let renders = 0;
    const handle = documentWorker({
      render: async () => {
        renders++;
        throw new RenderTimeoutError("rendering invoice i1 took longer than 30000 ms");
      },
      attach: async () => ({ attached: true }),
      deadLetter: async (m) => void deadLetters.push(m),
      log: createLogger("test", "silent"),
      tracer: observability.tracer,
      metrics,
      groupId: "documents",
      attempts: 5,
      retryBackoffMs: 1,
      stopSignal: new AbortController().signal,
    });
    await handle(message(issued));
    assert.equal(renders, 1);
    assert.match(deadLetters[0]!.headers["dead-letter-error"]!, /took longer than 30000 ms/);
  });

  it("dead-letters a permanent failure after its attempts, with the error", async () => {
    const deadLetters: EventMessage[] = [];
    let calls = 0;
    const attach = async () => {
      calls++;
      throw new ConnectError("invoice i1 not found", Code.NotFound);
    };
    const before = (await metrics.deadLettered.get()).values[0]?.value ?? 0;
    await worker(attach, deadLetters)(message(issued));
    assert.equal(calls, 2);
    assert.equal(deadLetters[0]!.headers["dead-letter-error"], "[not_found] invoice i1 not found");
    assert.equal((await metrics.deadLettered.get()).values[0]?.value, before + 1, "the dead-letter counter moved");
  });
});
