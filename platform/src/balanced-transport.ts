// A Connect transport that spreads its calls over the server's endpoints, one pick per call: the
// consumer's AttachDocuments and the gateway's own calls (key checks, leases, REST, readiness).
import { MethodOptions_IdempotencyLevel as Idempotency } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { InvoiceService } from "@invoicer/sdk";
import { Health, HealthCheckResponse_ServingStatus as Status } from "@invoicer/sdk/grpc/health/v1/health_pb";
import { serverEndpoints, type Endpoint, type ServerEndpoints } from "./server-endpoints.ts";

export interface BalancedTransportOptions {
  /** How often names are resolved again and each endpoint's health is checked. */
  refreshMs: number;
  /** The transport for one endpoint (its own HTTP/2 session). */
  transportFor: (url: string) => Transport;
  /** Host name -> addresses; dns.lookup by default. */
  resolve?: (host: string) => Promise<string[]>;
}

/** The server's endpoints behind `urls`, and a transport whose every call goes to the less busy of two serving ones. */
export function balancedTransport(urls: string[], { refreshMs, transportFor, resolve }: BalancedTransportOptions) {
  const transports = new Map<string, Transport>();
  const endpointTransport = (url: string) => transports.get(url) ?? transports.set(url, transportFor(url)).get(url)!;
  const endpoints = serverEndpoints(urls, { refreshMs, resolve, checkHealth: (url) => isServing(endpointTransport(url)) });
  endpoints.onRemoved((gone) => gone.forEach((e) => transports.delete(e.url)));

  /** One call on a picked endpoint; a connection the endpoint refused is tried once more on another. */
  async function onEndpoint<R>(retryable: boolean, call: (t: Transport, e: Endpoint) => Promise<R>, tried?: Endpoint): Promise<R> {
    await endpoints.ready;
    const endpoint = endpoints.pick(tried);
    if (!endpoint) throw new ConnectError("no server endpoint is known", Code.Unavailable);
    endpoint.outstanding++;
    try {
      return await call(endpointTransport(endpoint.url), endpoint);
    } catch (err) {
      if (!unreachable(err)) throw err;
      endpoints.unreachable(endpoint);
      if (tried || !(retryable || neverConnected(err))) throw err;
      return onEndpoint(retryable, call, endpoint);
    } finally {
      endpoint.outstanding--;
    }
  }

  const transport: Transport = {
    unary: (method, signal, timeoutMs, header, input, contextValues) =>
      onEndpoint(method.idempotency === Idempotency.NO_SIDE_EFFECTS, (t) =>
        t.unary(method, signal, timeoutMs, header, input, contextValues),
      ),
    // A stream counts as in flight until its last message is read (counted takes outstanding again for that span).
    stream: (method, signal, timeoutMs, header, input, contextValues) =>
      onEndpoint(false, async (t, endpoint) => {
        const response = await t.stream(method, signal, timeoutMs, header, input, contextValues);
        return { ...response, message: counted(response.message, endpoint) };
      }),
  };
  return { transport, endpoints: endpoints as ServerEndpoints };
}

/** The stream's messages, counted in flight on `endpoint` from the first read to the last. */
async function* counted<T>(messages: AsyncIterable<T>, endpoint: Endpoint): AsyncIterable<T> {
  endpoint.outstanding++;
  try {
    yield* messages;
  } finally {
    endpoint.outstanding--;
  }
}

/** The server's gRPC health for the public service. */
const isServing = (transport: Transport) =>
  createClient(Health, transport)
    .check({ service: InvoiceService.typeName }, { timeoutMs: 2_000 })
    .then((r) => r.status === Status.SERVING);

const unreachable = (err: unknown) => err instanceof ConnectError && err.code === Code.Unavailable;

/** No connection was made at all: nothing reached the server, so any call may go elsewhere. */
const neverConnected = (err: unknown) =>
  ["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND"].includes(((err as ConnectError).cause as NodeJS.ErrnoException)?.code ?? "");
