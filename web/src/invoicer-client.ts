import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { InvoiceService } from "@invoicer/sdk";
import { PreconditionFailureSchema } from "@invoicer/sdk/google/rpc/error_details_pb";

export type Protocol = "grpc-web" | "connect";
export type InvoicerClient = Client<typeof InvoiceService>;

/** A typed InvoiceService client on the gateway, sending the API key as a bearer token on every call. */
export function invoicerClient(gatewayUrl: string, apiKey: string, protocol: Protocol): InvoicerClient {
  const bearer: Interceptor = (next) => (req) => {
    req.header.set("Authorization", `Bearer ${apiKey}`);
    return next(req);
  };
  const options = { baseUrl: gatewayUrl, interceptors: [bearer] };
  const transport =
    protocol === "connect" ? createConnectTransport({ ...options, useBinaryFormat: true }) : createGrpcWebTransport(options);
  return createClient(InvoiceService, transport);
}

/** A sentence for a person, with the reason a browser call fails when it never reached the server. */
export function describeError(err: unknown, gatewayUrl: string): string {
  const error = ConnectError.from(err);
  // fetch() rejects with a TypeError when the network or the browser's CORS check refuses the call.
  if (error.code === Code.Unknown && error.cause instanceof TypeError) {
    return `Cannot reach the gateway at ${gatewayUrl}: the network refused the call, or this page's origin (${location.origin}) is not in the gateway's CORS_ORIGINS.`;
  }
  if (error.code === Code.Unauthenticated) return `The gateway refused the API key: ${error.rawMessage}`;
  // What a document's profile misses, each with its rule (google.rpc.PreconditionFailure).
  const missing = error
    .findDetails(PreconditionFailureSchema)
    .flatMap((d) => d.violations.map((v) => `${v.subject} (${v.type}): ${v.description}`));
  return `${Code[error.code]}: ${error.rawMessage}${missing.length > 0 ? `; ${missing.join("; ")}` : ""}`;
}
