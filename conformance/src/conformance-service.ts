// connectrpc.conformance.v1.ConformanceService as the suite's documentation describes it
// (docs/testing_servers.md and the comments in service.proto of connectrpc.com/conformance@v1.0.7).
// Every call answers what its first request defines and echoes what it received: headers,
// timeout, the request messages (as Any) and, for a Connect GET, the query parameters.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { anyPack, type Any } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  BidiStreamRequestSchema,
  ClientStreamRequestSchema,
  ConformancePayload_RequestInfoSchema,
  ConformanceService,
  IdempotentUnaryRequestSchema,
  ServerStreamRequestSchema,
  UnaryRequestSchema,
  type ConformancePayload_RequestInfo,
  type ConformancePayloadSchema,
  type Error as ErrorDefinition,
  type Header,
  type StreamResponseDefinition,
  type UnaryResponseDefinition,
} from "../gen/connectrpc/conformance/v1/service_pb.js";

type Payload = MessageInitShape<typeof ConformancePayloadSchema>;

/** The implementation; Unimplemented is left out on purpose, so the router answers it Unimplemented. */
export function conformanceService(): Partial<ServiceImpl<typeof ConformanceService>> {
  return {
    async unary(request, context) {
      const info = requestInfo(context, [anyPack(UnaryRequestSchema, request)]);
      return { payload: await answerUnary(request.responseDefinition, info, context) };
    },

    async idempotentUnary(request, context) {
      const info = requestInfo(context, [anyPack(IdempotentUnaryRequestSchema, request)]);
      return { payload: await answerUnary(request.responseDefinition, info, context) };
    },

    async clientStream(requests, context) {
      const received: Any[] = [];
      let definition: UnaryResponseDefinition | undefined;
      for await (const request of requests) {
        // Only the first message's definition counts.
        if (received.length === 0) definition = request.responseDefinition;
        received.push(anyPack(ClientStreamRequestSchema, request));
      }
      return { payload: await answerUnary(definition, requestInfo(context, received), context) };
    },

    async *serverStream(request, context) {
      const definition = request.responseDefinition;
      const info = requestInfo(context, [anyPack(ServerStreamRequestSchema, request)]);
      if (!definition) return;
      setMetadata(context, definition);
      let sent = 0;
      for (const data of definition.responseData) {
        await sleep(definition.responseDelayMs, context.signal);
        yield { payload: { data, requestInfo: sent === 0 ? info : undefined } };
        sent++;
      }
      if (definition.error) throw connectError(definition.error, sent === 0 ? info : undefined);
    },

    async *bidiStream(requests, context) {
      let definition: StreamResponseDefinition | undefined;
      let fullDuplex = false;
      // Full duplex: the requests since the last response; half duplex: all of them.
      let received: Any[] = [];
      let count = 0;
      let sent = 0;
      for await (const request of requests) {
        received.push(anyPack(BidiStreamRequestSchema, request));
        if (count++ === 0) {
          definition = request.responseDefinition;
          fullDuplex = request.fullDuplex;
          if (definition) setMetadata(context, definition);
        }
        if (!fullDuplex || !definition) continue;
        // Full duplex: one response per request, echoing the requests received since the last response.
        const data = definition.responseData[sent];
        if (data === undefined) {
          // More requests than responses to send: the defined error ends the call now.
          if (definition.error) throw connectError(definition.error, sent === 0 ? requestInfo(context, received) : undefined);
          continue;
        }
        const info =
          sent === 0 ? requestInfo(context, received) : create(ConformancePayload_RequestInfoSchema, { requests: [...received] });
        await sleep(definition.responseDelayMs, context.signal);
        yield { payload: { data, requestInfo: info } };
        received = [];
        sent++;
      }
      if (!definition) return;
      if (!fullDuplex) {
        // Half duplex: every request first, then the responses; the first one echoes all requests.
        const info = requestInfo(context, received);
        for (const data of definition.responseData) {
          await sleep(definition.responseDelayMs, context.signal);
          yield { payload: { data, requestInfo: sent === 0 ? info : undefined } };
          sent++;
        }
      }
      if (definition.error) throw connectError(definition.error, sent === 0 ? requestInfo(context, received) : undefined);
    },
  };
}

/** Unary and client-stream calls: the defined data or error, after the defined delay; with no definition, only what was received. */
async function answerUnary(
  definition: UnaryResponseDefinition | undefined,
  info: ConformancePayload_RequestInfo,
  context: HandlerContext,
): Promise<Payload> {
  if (!definition) return { requestInfo: info };
  setMetadata(context, definition);
  await sleep(definition.responseDelayMs, context.signal);
  if (definition.response.case === "error") throw connectError(definition.response.value, info);
  return { requestInfo: info, data: definition.response.case === "responseData" ? definition.response.value : undefined };
}

/** What the server saw of the call: its headers, its timeout (if it had one), the requests and a GET's query. */
function requestInfo(context: HandlerContext, requests: Any[]): ConformancePayload_RequestInfo {
  const timeoutMs = context.timeoutMs();
  return create(ConformancePayload_RequestInfoSchema, {
    requestHeaders: headerList(context.requestHeader),
    timeoutMs: timeoutMs === undefined ? undefined : BigInt(Math.round(timeoutMs)),
    requests: [...requests],
    connectGetInfo: context.requestMethod === "GET" ? { queryParams: queryParams(context.url) } : undefined,
  });
}

function headerList(headers: Headers): MessageInitShape<typeof ConformancePayload_RequestInfoSchema>["requestHeaders"] {
  const byName = new Map<string, string[]>();
  headers.forEach((value, name) => byName.set(name, [...(byName.get(name) ?? []), value]));
  return [...byName].map(([name, value]) => ({ name, value }));
}

function queryParams(url: string): { name: string; value: string[] }[] {
  const params = new URL(url, "http://localhost").searchParams;
  return [...new Set(params.keys())].map((name) => ({ name, value: params.getAll(name) }));
}

/** The defined response headers and trailers (trailers go with the error, if there is one). */
function setMetadata(context: HandlerContext, definition: { responseHeaders: Header[]; responseTrailers: Header[] }) {
  for (const { name, value } of definition.responseHeaders) for (const v of value) context.responseHeader.append(name, v);
  for (const { name, value } of definition.responseTrailers) for (const v of value) context.responseTrailer.append(name, v);
}

/** The defined error, with its details as given and the request info appended when asked for. */
function connectError(definition: ErrorDefinition, info: ConformancePayload_RequestInfo | undefined): ConnectError {
  const error = new ConnectError(definition.message ?? "", definition.code as number as Code);
  for (const detail of definition.details)
    error.details.push({ type: detail.typeUrl.slice(detail.typeUrl.lastIndexOf("/") + 1), value: detail.value });
  if (info) error.details.push({ desc: ConformancePayload_RequestInfoSchema, value: info });
  return error;
}

/** Waits, unless the call ends first (its deadline passed or the client went away). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(ConnectError.from(signal.reason));
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", abort);
      resolve();
    }, ms);
    const abort = () => {
      clearTimeout(timer);
      reject(ConnectError.from(signal.reason));
    };
    signal.addEventListener("abort", abort, { once: true });
  });
}
