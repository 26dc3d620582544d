import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { InvoiceEventSchema, type DocumentFormat, type Invoice, type InvoiceEvent } from "@invoicer/sdk";
import { readCloudEventHeaders } from "@invoicer/platform/cloudevents";
import type { EventMessage, ReceivedMessage } from "@invoicer/platform/kafka/messages";
import type { Logger } from "@invoicer/platform/logger";
import { inSpan, remoteContext, SpanKind, type Tracer } from "@invoicer/platform/telemetry";
import type { WorkerMetrics } from "./consumer-metrics.ts";
import { RenderTimeoutError } from "./render/pool.ts";

export interface AttachRequest {
  eventId: string;
  tenantId: string;
  invoiceId: string;
  documents: { format: DocumentFormat; content: Uint8Array }[];
}

export interface DocumentWorkerDeps {
  render: (invoice: Invoice) => Promise<{ format: DocumentFormat; content: Uint8Array }[]>;
  /** The server's AttachDocuments; idempotent by (invoice, format): a repeat attaches nothing. */
  attach: (request: AttachRequest) => Promise<{ attached: boolean }>;
  /** Publishes a message that could not be handled, so the group can move on. */
  deadLetter: (message: EventMessage) => Promise<void>;
  log: Logger;
  tracer: Tracer;
  metrics: WorkerMetrics;
  /** The consumer group, named on the processing span. */
  groupId: string;
  attempts: number;
  retryBackoffMs: number;
  /** Aborted at shutdown: a message waiting for its next attempt is left uncommitted for redelivery. */
  stopSignal: AbortSignal;
}

/** Thrown when the worker stops before a message is done; the offset stays uncommitted. */
export class StoppedError extends Error {}

/**
 * The server cannot answer anyone now: it is down or draining, its database is down (the error
 * boundary's Unavailable), or it refuses our token during a rotation. Nothing is wrong with the
 * event, and no other partition could do better: wait however long it takes. Every other failure,
 * a refusal of the documents (ResourceExhausted for a message over the server's limit,
 * InvalidArgument) or a failure of this one call (DeadlineExceeded, Aborted), counts toward
 * `attempts`: kafkajs fetches nothing more from a broker while one of its batches is in hand.
 */
const outageCodes = new Set([Code.Unavailable, Code.Unauthenticated]);
const maxBackoffMs = 30_000;

/**
 * Handles one event: an issued invoice is rendered (once) and attached; other kinds need no document.
 * While the server is out of service the attach is retried until it answers; other failures are
 * retried with exponential backoff `attempts` times, then the message goes to the dead-letter topic.
 */
export function documentWorker(deps: DocumentWorkerDeps) {
  const { tracer, metrics } = deps;
  const render = (invoice: Invoice) =>
    inSpan(tracer, "render documents", {}, async () => {
      const stopTimer = metrics.renderSeconds.startTimer();
      const documents = await deps.render(invoice);
      stopTimer();
      return documents;
    });
  // A processing span continuing the trace the relay sent in the message's traceparent. The CloudEvents
  // headers (or, on events published before them, `event-id`/`event-type`) name the event on the span;
  // the payload stays what the worker acts on.
  return (message: ReceivedMessage): Promise<void> =>
    inSpan(tracer, `process ${message.topic}`, processingSpan(message, deps.groupId), () => handle(message));

  async function handle(message: ReceivedMessage): Promise<void> {
    let event: InvoiceEvent;
    try {
      event = fromBinary(InvoiceEventSchema, message.value);
    } catch (err) {
      return deadLetter(deps, message, err, 0); // no retry turns bytes into an event
    }
    if (event.kind.case !== "issued" || !event.kind.value.invoice) return void metrics.processed.inc({ outcome: "skipped" });
    const invoice = event.kind.value.invoice;
    let documents: Awaited<ReturnType<DocumentWorkerDeps["render"]>> | undefined; // kept: a retried upload is not rendered again
    for (let attempt = 1, waits = 0; ; waits++) {
      try {
        documents ??= await render(invoice);
        const { attached } = await deps.attach({ eventId: event.eventId, tenantId: event.tenantId, invoiceId: event.invoiceId, documents });
        metrics.processed.inc({ outcome: attached ? "attached" : "already_attached" });
        deps.log.info(
          { eventId: event.eventId, invoiceId: event.invoiceId, attached, attempt },
          attached ? "documents attached" : "documents were already attached",
        );
        return;
      } catch (err) {
        const outage = err instanceof ConnectError && outageCodes.has(err.code);
        metrics.failed.inc({ transient: String(outage) });
        // A render past its time bound would take as long again: set the event aside at once.
        if (err instanceof RenderTimeoutError) return deadLetter(deps, message, err, attempt);
        if (!outage && attempt >= deps.attempts) return deadLetter(deps, message, err, attempt);
        if (!outage) attempt++;
        const waitMs = Math.min(maxBackoffMs, deps.retryBackoffMs * 2 ** Math.min(waits, 16));
        deps.log.warn({ err, eventId: event.eventId, attempt, outage, retryInMs: waitMs }, "rendering or attaching failed; retrying");
        await pause(waitMs, deps.stopSignal);
      }
    }
  }
}

/** The processing span's kind, parent and attributes: the message's place and its CloudEvents context. */
function processingSpan(message: ReceivedMessage, groupId: string) {
  const ce = readCloudEventHeaders(message.headers);
  return {
    kind: SpanKind.CONSUMER,
    parent: remoteContext(message.headers),
    attributes: {
      "messaging.system": "kafka",
      "messaging.operation.name": "process",
      "messaging.destination.name": message.topic,
      "messaging.destination.partition.id": String(message.partition),
      "messaging.kafka.offset": Number(message.offset),
      "messaging.message.id": ce.id ?? "",
      "messaging.consumer.group.name": groupId,
      ...(ce.id ? { "cloudevents.event_id": ce.id } : {}),
      ...(ce.type ? { "cloudevents.event_type": ce.type } : {}),
      ...(ce.source ? { "cloudevents.event_source": ce.source } : {}),
      ...(ce.subject ? { "cloudevents.event_subject": ce.subject } : {}),
      ...(ce.specversion ? { "cloudevents.event_spec_version": ce.specversion } : {}),
    },
  };
}

async function deadLetter(deps: DocumentWorkerDeps, message: ReceivedMessage, err: unknown, attempts: number) {
  const error = err instanceof Error ? err.message : String(err);
  deps.metrics.deadLettered.inc();
  deps.log.error(
    { error, topic: message.topic, partition: message.partition, offset: message.offset, attempts },
    "event sent to the dead-letter topic",
  );
  await deps.deadLetter({
    key: message.key,
    value: message.value,
    headers: {
      ...message.headers,
      "dead-letter-error": error,
      "dead-letter-attempts": String(attempts),
      "dead-letter-source": `${message.topic}/${message.partition}/${message.offset}`,
    },
  });
}

function pause(ms: number, signal: AbortSignal) {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(new StoppedError("stopping"));
    const timer = setTimeout(() => (signal.removeEventListener("abort", onAbort), resolve()), ms);
    const onAbort = () => (clearTimeout(timer), reject(new StoppedError("stopping")));
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
