// The one place that spells the Kafka headers of an invoice event: CloudEvents v1.0.2, Kafka protocol
// binding, binary mode (https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/kafka-protocol-binding.md).
// The value stays the protobuf `invoicer.v1.InvoiceEvent`; the context attributes travel as `ce_` headers,
// the data's media type as `content-type`, and the message key stays the invoice id (per-invoice ordering).

export const ceHeaders = {
  specversion: "ce_specversion",
  id: "ce_id",
  source: "ce_source",
  type: "ce_type",
  time: "ce_time",
  subject: "ce_subject",
  contentType: "content-type",
} as const;

/**
 * The headers written before CloudEvents (`event-id`, `event-type`). Still written for one release so consumers
 * of the previous version keep working during a rolling deploy; read as a fallback for as long as the topic
 * retains events published before it. TODO(issue 17): stop writing them in the release after the one that
 * introduced the `ce_` headers, once every consumer reads `ce_id`/`ce_type`; keep the fallback read until
 * the topic's retention has passed since then.
 */
export const legacyHeaders = { id: "event-id", type: "event-type" } as const;

export const specVersion = "1.0";

/** Who produced the event: the server's outbox relay, named without a tenant (the tenant is in the payload, not the routing). */
export const eventSource = "/invoicer/server";

/**
 * The payload's media type. `application/x-protobuf` rather than `application/protobuf`: the latter is only
 * an IETF draft, while `x-protobuf` is what protobuf tooling (OTLP/HTTP, Spring, Kafka UIs) recognises, and
 * it is what earlier events carried, so the header is unchanged across the deploy. `messageType` names the
 * message so a reader can decode without knowing the topic.
 */
export const eventContentType = "application/x-protobuf; messageType=invoicer.v1.InvoiceEvent";

export interface CloudEventFields {
  /** The event id (the outbox row's id, also the payload's event_id). */
  id: string;
  /**
   * The event type, as the outbox stores it (`invoice.issued`, `invoice.paid`, ...). Not prefixed with a
   * reverse-DNS name (a SHOULD in the spec): we own no domain to prefix with, `ce_source` already scopes
   * the type, and the names stay the ones consumers and the outbox already use.
   */
  type: string;
  /** When the event happened (the outbox row's time), written as RFC 3339 in UTC. */
  time: Date;
  /** The invoice the event is about. */
  subject: string;
}

/** The headers of an invoice event's Kafka message (without `traceparent`, which the caller adds). */
export function cloudEventHeaders(event: CloudEventFields): Record<string, string> {
  return {
    [ceHeaders.specversion]: specVersion,
    [ceHeaders.id]: event.id,
    [ceHeaders.source]: eventSource,
    [ceHeaders.type]: event.type,
    [ceHeaders.time]: event.time.toISOString(),
    [ceHeaders.subject]: event.subject,
    [ceHeaders.contentType]: eventContentType,
    // Legacy, for one release (see legacyHeaders).
    [legacyHeaders.id]: event.id,
    [legacyHeaders.type]: event.type,
  };
}

type HeaderValue = string | Buffer | (string | Buffer)[] | undefined;

export interface ReadCloudEvent {
  /** `ce_id`, or `event-id` on a message published before the `ce_` headers; undefined if neither. */
  id: string | undefined;
  /** `ce_type`, or `event-type` on an older message; undefined if neither. */
  type: string | undefined;
  source: string | undefined;
  subject: string | undefined;
  time: string | undefined;
  specversion: string | undefined;
  /** True when the message carries the CloudEvents headers (not only the legacy ones). */
  cloudEvent: boolean;
}

/** Reads an invoice event's headers, from a decoded (string) or raw kafkajs (Buffer) header map. */
export function readCloudEventHeaders(headers: Record<string, HeaderValue> | undefined): ReadCloudEvent {
  const get = (name: string) => {
    const value = headers?.[name];
    const first = Array.isArray(value) ? value[0] : value;
    return first === undefined ? undefined : first.toString();
  };
  const specversion = get(ceHeaders.specversion);
  return {
    id: get(ceHeaders.id) ?? get(legacyHeaders.id),
    type: get(ceHeaders.type) ?? get(legacyHeaders.type),
    source: get(ceHeaders.source),
    subject: get(ceHeaders.subject),
    time: get(ceHeaders.time),
    specversion,
    cloudEvent: specversion !== undefined,
  };
}
