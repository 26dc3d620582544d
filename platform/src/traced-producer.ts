import { readCloudEventHeaders } from "./cloudevents.ts";
import type { EventProducer } from "./kafka/messages.ts";
import { failSpan, remoteContext, spanHeaders, SpanKind, type Tracer } from "./telemetry.ts";

/**
 * A producer span per message, named `send <topic>`, child of the trace in the message's own
 * `traceparent` (the one stored with the outbox row); the message leaves carrying the span's context.
 */
export function tracedProducer(producer: EventProducer, tracer: Tracer): EventProducer {
  return {
    async send(topic, messages) {
      const spans = messages.map((m) => {
        const event = readCloudEventHeaders(m.headers);
        return tracer.startSpan(
          `send ${topic}`,
          {
            kind: SpanKind.PRODUCER,
            attributes: {
              "messaging.system": "kafka",
              "messaging.operation.name": "send",
              "messaging.destination.name": topic,
              "messaging.kafka.message.key": m.key,
              ...(event.id ? { "messaging.message.id": event.id, "cloudevents.event_id": event.id } : {}),
              ...(event.type ? { "cloudevents.event_type": event.type } : {}),
            },
          },
          remoteContext(m.headers),
        );
      });
      try {
        await producer.send(
          topic,
          messages.map((m, i) => ({ ...m, headers: { ...m.headers, ...spanHeaders(spans[i]!) } })),
        );
      } catch (err) {
        for (const span of spans) failSpan(span, err);
        throw err;
      } finally {
        for (const span of spans) span.end();
      }
    },
    disconnect: () => producer.disconnect(),
  };
}
