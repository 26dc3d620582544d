// The server the conformance runner (connectconformance --mode server) starts for the "server" run,
// once per server configuration: the project's own server plumbing (conformance-server.ts) with the
// ConformanceService, on 127.0.0.1 at an ephemeral port, serving until SIGTERM.
// Logs are JSON lines on stderr; silent unless CONFORMANCE_LOG_LEVEL is set (info, debug, ...).
import { closeGracefully } from "@invoicer/platform/http-server/graceful-close";
import { createLogger } from "@invoicer/platform/logger";
import { startObservability } from "@invoicer/platform/observability";
import { readServerCompatRequest, writeServerCompatResponse } from "./compat.ts";
import { host, serveConformance } from "./conformance-server.ts";

const log = createLogger("conformance-server", process.env.CONFORMANCE_LOG_LEVEL ?? "silent", process.stderr);
const request = await readServerCompatRequest();
log.info(
  { request: { protocol: request.protocol, httpVersion: request.httpVersion, messageReceiveLimit: request.messageReceiveLimit } },
  "server compat request",
);

const observability = startObservability("conformance", { serviceName: "invoicer-conformance" });
const { server, port } = await serveConformance(request.messageReceiveLimit, log, observability);
writeServerCompatResponse(host, port);
log.info({ host, port }, "listening");

process.once("SIGTERM", () => {
  void closeGracefully(server, 1_000)
    .then(() => observability.shutdown())
    .finally(() => process.exit(0));
});
