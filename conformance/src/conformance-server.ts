// The ConformanceService on the project's own server plumbing: createRpcRouter (the real server's
// options and interceptors, minus the internal-token check, which the suite's client cannot pass),
// connectRoutes (every route wrapped by undecodable-requests.ts) and createDualServer (HTTP/1.1 and
// h2c on one port), listening on 127.0.0.1 at an ephemeral port.
import type http from "node:http";
import { createRegistry } from "@bufbuild/protobuf";
import type { ConnectRouterOptions } from "@connectrpc/connect";
import { connectRoutes } from "@invoicer/platform/connect-routes";
import { createDualServer } from "@invoicer/platform/http-server/dual-server";
import { listen } from "@invoicer/platform/http-server/listen";
import type { Logger } from "@invoicer/platform/logger";
import type { Observability } from "@invoicer/platform/observability";
import { createRpcRouter } from "../../server/src/rpc/router.ts";
import { ConformanceService, file_connectrpc_conformance_v1_service } from "../gen/connectrpc/conformance/v1/service_pb.js";
import { conformanceService } from "./conformance-service.ts";

/** The server's own default (MAX_MESSAGE_BYTES) when the runner asks for no receive limit. */
const defaultMaxMessageBytes = 1024 * 1024;

/**
 * The one deviation from the router's options. The service echoes requests as google.protobuf.Any,
 * which JSON can only write with the types at hand, so this service gets JSON options with a
 * registry. connect-es replaces (does not merge) a router's jsonOptions for a service, so the
 * router's strict reading (router.ts: unknown fields refused, fatal UTF-8 decoder) is repeated here.
 */
const jsonOptions = {
  ignoreUnknownFields: false,
  textDecoder: new TextDecoder("utf-8", { fatal: true }),
  registry: createRegistry(file_connectrpc_conformance_v1_service),
} as ConnectRouterOptions["jsonOptions"];

export const host = "127.0.0.1";

/** Serves the ConformanceService; `messageReceiveLimit` 0 means the server's default. */
export async function serveConformance(
  messageReceiveLimit: number,
  log: Logger,
  observability: Observability,
): Promise<{ server: http.Server; port: number }> {
  const router = createRpcRouter({
    log,
    observability,
    maxMessageBytes: messageReceiveLimit > 0 ? messageReceiveLimit : defaultMaxMessageBytes,
  });
  router.service(ConformanceService, conformanceService(), { jsonOptions });
  const serve = connectRoutes(router, log);
  const server = createDualServer((req, res) => {
    if (!serve(req, res)) res.writeHead(404).end();
  });
  return { server, port: await listen(server, 0, host, "(ephemeral)") };
}
