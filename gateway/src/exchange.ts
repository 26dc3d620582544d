// What the gateway notes about one request while Fastify and the forwarders handle it, from the
// moment it arrives (before Fastify sees it) until its log line is written.
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Code } from "@connectrpc/connect";
import { spanHeaders, type Span } from "@invoicer/platform/telemetry";

/** What the gateway notes about one request while Fastify and the forwarders handle it. */
export interface Exchange {
  span: Span;
  requestId: string;
  /** Set by whoever learns the RPC outcome first: an error the gateway sent, or the server's trailers. */
  code?: Code | "ok";
  /** The Fastify route pattern, for requests that are not RPCs. */
  route?: string;
}

// Beside the raw request, not on Fastify's: the span and request id exist before Fastify sees it, and the log line is written after.
const exchanges = new WeakMap<IncomingMessage, Exchange>();

/** The exchange observeRequests opened for a raw request. */
export const exchangeOf = (raw: IncomingMessage): Exchange | undefined => exchanges.get(raw);

/** A caller's request id is kept when it is a sane token, so logs join up across systems. */
const sane = /^[\w.:-]{1,128}$/;

/** Opens the exchange of a request in its span: the caller's request id, or a new one. */
export function openExchange(req: IncomingMessage, span: Span): Exchange {
  const incoming = req.headers["x-request-id"];
  const exchange: Exchange = { span, requestId: typeof incoming === "string" && sane.test(incoming) ? incoming : randomUUID() };
  exchanges.set(req, exchange);
  return exchange;
}

/** `traceparent` continuing this request's span, and its request id, for the call to the server. */
export function upstreamHeaders(exchange: Exchange | undefined): Record<string, string> {
  if (!exchange) return {};
  return { ...spanHeaders(exchange.span), "x-request-id": exchange.requestId };
}
