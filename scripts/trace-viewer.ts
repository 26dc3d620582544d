// A tiny OTLP/HTTP (JSON) receiver that prints each trace as a tree: a way to look at traces
// without Docker or Jaeger. Run `npm run traces`, then start the system with
// OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 npm start, and call it.
import { createServer } from "node:http";

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
}
interface Span extends OtlpSpan {
  service: string;
}

const port = Number(process.env.TRACE_VIEWER_PORT ?? 4318);
const quietMs = Number(process.env.TRACE_VIEWER_QUIET_MS ?? 7000); // spans arrive in batches, every 5 s by default
const kinds = ["", "internal", "server", "client", "producer", "consumer"];
const traces = new Map<string, { spans: Span[]; timer?: NodeJS.Timeout }>();

function print(traceId: string) {
  const { spans } = traces.get(traceId)!;
  traces.delete(traceId);
  const start = Math.min(...spans.map((s) => Number(BigInt(s.startTimeUnixNano) / 1000n)));
  const ids = new Set(spans.map((s) => s.spanId));
  const lines: string[] = [`trace ${traceId} (${spans.length} spans)`];
  const walk = (parent: string | undefined, depth: number) => {
    const children = spans.filter((s) => (parent === undefined ? !s.parentSpanId || !ids.has(s.parentSpanId) : s.parentSpanId === parent));
    children.sort((a, b) => Number(BigInt(a.startTimeUnixNano) - BigInt(b.startTimeUnixNano)));
    for (const s of children) {
      const at = (Number(BigInt(s.startTimeUnixNano) / 1000n) - start) / 1000;
      const ms = Number(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano)) / 1e6;
      lines.push(`${"  ".repeat(depth + 1)}+${at.toFixed(1)} ms  ${s.service}: ${s.name} [${kinds[s.kind] ?? s.kind}] ${ms.toFixed(1)} ms`);
      walk(s.spanId, depth + 1);
    }
  };
  walk(undefined, 0);
  process.stdout.write(`${lines.join("\n")}\n\n`);
}

createServer((req, res) => {
  if (req.method !== "POST" || req.url !== "/v1/traces" || !/json/.test(req.headers["content-type"] ?? "")) {
    return void res.writeHead(415, { "content-type": "text/plain" }).end("send OTLP/HTTP JSON to /v1/traces\n");
  }
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = JSON.parse(Buffer.concat(chunks).toString()) as {
      resourceSpans?: {
        resource?: { attributes?: { key: string; value: { stringValue?: string } }[] };
        scopeSpans?: { spans?: OtlpSpan[] }[];
      }[];
    };
    for (const rs of body.resourceSpans ?? []) {
      const service = rs.resource?.attributes?.find((a) => a.key === "service.name")?.value.stringValue ?? "?";
      for (const span of (rs.scopeSpans ?? []).flatMap((s) => s.spans ?? [])) {
        const entry = traces.get(span.traceId) ?? { spans: [] };
        entry.spans.push({ ...span, service });
        clearTimeout(entry.timer);
        entry.timer = setTimeout(() => print(span.traceId), quietMs);
        traces.set(span.traceId, entry);
      }
    }
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
}).listen(port, "127.0.0.1", () => process.stdout.write(`trace viewer: OTLP/HTTP JSON on http://127.0.0.1:${port}/v1/traces\n`));
