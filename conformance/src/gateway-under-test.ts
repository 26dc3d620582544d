// The server the conformance runner starts for the "gateway" run: the project's gateway (buildGateway,
// as gateway/src/main.ts builds it) forwarding the ConformanceService, without API keys, to the
// project's server plumbing (conformance-server.ts) in the same process. So every case crosses the gateway's
// HTTP/1.1-or-HTTP/2 front, its Connect/gRPC-web proxy or gRPC forwarder, and the server behind it.
// Logs are JSON lines on stderr; silent unless CONFORMANCE_LOG_LEVEL is set (info, debug, ...).
import { closeGracefully } from "@invoicer/platform/http-server/graceful-close";
import { createLogger } from "@invoicer/platform/logger";
import { startObservability } from "@invoicer/platform/observability";
import { buildGateway } from "../../gateway/src/app.ts";
import { loadGatewayConfig } from "../../gateway/src/config.ts";
import { ConformanceService } from "../gen/connectrpc/conformance/v1/service_pb.js";
import { readServerCompatRequest, writeServerCompatResponse } from "./compat.ts";
import { host, serveConformance } from "./conformance-server.ts";

const level = process.env.CONFORMANCE_LOG_LEVEL ?? "silent";
const request = await readServerCompatRequest();
// Each its own, as in production (one metrics registry each).
const observability = startObservability("conformance-gateway", { serviceName: "invoicer-conformance-gateway" });
const backendObservability = startObservability("conformance", { serviceName: "invoicer-conformance" });
const backend = await serveConformance(
  request.messageReceiveLimit,
  createLogger("conformance-server", level, process.stderr),
  backendObservability,
);

const config = {
  ...loadGatewayConfig({ INTERNAL_TOKEN: "conformance-internal-token", SERVER_URL: `http://${host}:${backend.port}` }),
  // The gateway's own body limit stays above the server's receive limit, so the server's answers it.
  maxBodyBytes: 64 * 1024 * 1024,
  // Every case comes from one address, thousands in seconds, over many connections.
  rateLimitPerAddress: 1_000_000,
  services: [{ service: ConformanceService, authenticate: false }],
};
config.connections.maxConnectionsPerAddress = 0;
const gateway = await buildGateway(config, createLogger("conformance-gateway", level, process.stderr), observability);
await gateway.listen({ host, port: 0 });
const { port } = gateway.server.address() as { port: number };
writeServerCompatResponse(host, port);

process.once("SIGTERM", () => {
  void gateway
    .close()
    .then(() => closeGracefully(backend.server, 1_000))
    .then(() => Promise.all([observability.shutdown(), backendObservability.shutdown()]))
    .finally(() => process.exit(0));
});
