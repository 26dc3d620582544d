import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { DocumentStatus } from "@invoicer/sdk";
import { createLogger } from "@invoicer/platform/logger";
import { SpanKind } from "@invoicer/platform/telemetry";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import { eventually } from "./support/events.ts";
import { parseMetrics, scrape, type Scrape } from "./support/metrics.ts";
import { sampleInvoice } from "@invoicer/devstack/samples";
import { startStack, type Stack } from "./support/stack.ts";

const logLines: Record<string, unknown>[] = [];
let stack: Stack;
before(async () => {
  const log = createLogger("test", "info", { write: (line: string) => void logLines.push(JSON.parse(line)) });
  stack = await startStack({}, {}, { log });
});
after(() => stack.close());

const service = (span: ReadableSpan) => String(span.resource.attributes["service.name"]).replace("invoicer-", "");
const label = (span: ReadableSpan) => `${service(span)}: ${span.name} (${SpanKind[span.kind]})`;
const startNs = (span: ReadableSpan) => span.startTime[0] * 1e9 + span.startTime[1];

describe("tracing", () => {
  it("follows one invoice from the gateway through the server, SQL, the outbox, Kafka and the consumer back to the server", async () => {
    const client = stack.client(stack.tenantA);
    const { invoice } = await client.createInvoice(sampleInvoice());
    await eventually(
      async () => (await client.getInvoice({ id: invoice!.id })).invoice!.documentStatus === DocumentStatus.READY,
      "documents READY",
    );

    const spans = () => stack.observability.spans();
    const root = spans().find((s) => service(s) === "gateway" && s.name === "invoicer.v1.InvoiceService/CreateInvoice")!;
    assert.ok(root, "the gateway made a span for the call");
    const traceId = root.spanContext().traceId;
    const inTrace = () => spans().filter((s) => s.spanContext().traceId === traceId);
    // The last hop: the server storing the documents the consumer sent back.
    await eventually(async () => inTrace().some((s) => s.name === "INSERT invoice_documents"), "the callback's spans");

    const trace = inTrace().sort((a, b) => startNs(a) - startNs(b));
    process.stdout.write(`# one trace (${traceId}):\n${trace.map((s) => `#   ${label(s)}`).join("\n")}\n`);
    const topic = stack.events!.topic;
    for (const expected of [
      "gateway: invoicer.v1.InvoiceService/CreateInvoice (SERVER)",
      "server: invoicer.v1.InvoiceService/CreateInvoice (SERVER)",
      "server: INSERT invoices (CLIENT)",
      `server: send ${topic} (PRODUCER)`,
      `consumer: process ${topic} (CONSUMER)`,
      "consumer: render documents (INTERNAL)",
      "consumer: invoicer.v1.InvoiceDocumentService/AttachDocuments (CLIENT)",
      "server: invoicer.v1.InvoiceDocumentService/AttachDocuments (SERVER)",
      "server: INSERT invoice_documents (CLIENT)",
    ]) {
      assert.ok(
        trace.some((s) => label(s) === expected),
        `the trace has ${expected}`,
      );
    }
    // Every span but the root has its parent in the same trace: nothing was cut off on the way.
    const ids = new Set(trace.map((s) => s.spanContext().spanId));
    for (const span of trace) {
      if (span === root) assert.equal(span.parentSpanContext, undefined);
      else assert.ok(ids.has(span.parentSpanContext?.spanId ?? ""), `${label(span)} has its parent in the trace`);
    }
    const event = trace.find((s) => s.kind === SpanKind.CONSUMER)!;
    assert.equal(event.attributes["messaging.system"], "kafka");
    assert.equal(event.attributes["messaging.destination.name"], topic);
  });

  it("continues a trace the caller started, and passes on the caller's request id", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const requestId = "req-observability-1";
    const res = await fetch(`${stack.gatewayUrl}/v1/invoices?page_size=1`, {
      headers: {
        authorization: `Bearer ${stack.tenantA.apiKey}`,
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
        "x-request-id": requestId,
      },
    });
    assert.equal(res.status, 200);
    const spans = () => stack.observability.spans().filter((s) => s.spanContext().traceId === traceId);
    await eventually(async () => spans().length === 3, "the gateway's span, ended when the response has closed");
    assert.deepEqual(spans().map(label).sort(), [
      "gateway: GET /v1/invoices (SERVER)",
      "server: SELECT invoices (CLIENT)",
      "server: invoicer.v1.InvoiceService/ListInvoices (SERVER)",
    ]);
    const lines = () => logLines.filter((l) => l.request_id === requestId);
    await eventually(async () => lines().length === 2, "the gateway's line, written when the response has closed");
    assert.deepEqual(
      lines()
        .map((l) => l.msg)
        .sort(),
      ["request", "rpc"],
      "one line per request from each service",
    );
    assert.ok(lines().every((l) => l.trace_id === traceId && l.level === 30));
  });
});

describe("metrics", () => {
  it("counts RPCs by method and code on the gateway and the server", async () => {
    const gatewayMetrics = () => scrape(`${stack.gatewayUrl}/metrics`, stack.metricsToken);
    const serverMetrics = () => scrape(`${stack.serverMetricsUrl}/metrics`);
    const calls = (code: string) => ({ rpc_service: "invoicer.v1.InvoiceService", rpc_method: "CreateInvoice", rpc_code: code });
    const [gatewayBefore, serverBefore] = await Promise.all([gatewayMetrics(), serverMetrics()]);

    const client = stack.client(stack.tenantA);
    await client.createInvoice(sampleInvoice());
    await assert.rejects(
      client.createInvoice(sampleInvoice({ currencyCode: "XXX" })),
      (err: ConnectError) => err.code === Code.InvalidArgument,
    );

    // The gateway counts a request when its response has closed, a moment after the client has it.
    const counted = (before: Scrape, after: Scrape, code: string) =>
      after.value("rpc_server_duration_seconds_count", calls(code)) - before.value("rpc_server_duration_seconds_count", calls(code));
    let gatewayAfter = await gatewayMetrics();
    await eventually(
      async () => counted(gatewayBefore, (gatewayAfter = await gatewayMetrics()), "invalid_argument") === 1,
      "the gateway to count the calls",
    );
    const serverAfter = await serverMetrics();
    for (const [before, after] of [
      [gatewayBefore, gatewayAfter],
      [serverBefore, serverAfter],
    ] as const) {
      assert.equal(counted(before, after, "ok"), 1);
      assert.equal(counted(before, after, "invalid_argument"), 1);
      assert.ok(after.value("process_resident_memory_bytes") > 0, "process metrics are there");
    }
    assert.ok(serverAfter.text.includes("invoicer_outbox_backlog"), "the server reports its outbox");
  });

  it("shows the consumer's work: processed events, render time and lag per partition", async () => {
    const consumerMetrics = async () => parseMetrics(await stack.observability.consumer.metrics.metrics());
    const before = await consumerMetrics();
    const client = stack.client(stack.tenantB);
    const { invoice } = await client.createInvoice(sampleInvoice());
    await eventually(
      async () => (await client.getInvoice({ id: invoice!.id })).invoice!.documentStatus === DocumentStatus.READY,
      "documents READY",
    );
    await eventually(
      async () =>
        (await consumerMetrics()).value("invoicer_consumer_events_processed_total", { outcome: "attached" }) >
        before.value("invoicer_consumer_events_processed_total", { outcome: "attached" }),
      "the processed counter to move",
    );
    const after = await consumerMetrics();
    assert.ok(after.value("invoicer_render_duration_seconds_count") > before.value("invoicer_render_duration_seconds_count"));
    assert.ok(after.text.includes(`invoicer_consumer_lag{topic="${stack.events!.topic}",partition=`), "lag is reported per partition");
  });

  it("serves the server's metrics on a port of their own: the RPC port has no /metrics, the metrics port no RPCs", async () => {
    assert.equal((await fetch(`${stack.serverUrl}/metrics`)).status, 404, "the RPC port answers /metrics");
    assert.equal((await fetch(`${stack.serverMetricsUrl}/metrics`)).status, 200);
    const health = await fetch(`${stack.serverMetricsUrl}/grpc.health.v1.Health/Check`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(health.status, 404, "the metrics port answers RPCs");
  });

  it("keeps the gateway's metrics private: a wrong token is refused", async () => {
    const res = await fetch(`${stack.gatewayUrl}/metrics`, { headers: { authorization: "Bearer not-the-token" } });
    assert.equal(res.status, 401);
    const anonymous = await fetch(`${stack.gatewayUrl}/metrics`);
    assert.equal(anonymous.status, 401);
  });
});
