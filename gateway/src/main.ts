import { runMain } from "@invoicer/platform/config";
import { createLogger } from "@invoicer/platform/logger";
import { startObservability } from "@invoicer/platform/observability";
import { buildGateway } from "./app.ts";
import { loadGatewayConfig } from "./config.ts";

/** Connections the kernel may hold for the gateway to accept (it caps this at net.core.somaxconn). */
const acceptQueue = 4_096;

await runMain(async () => {
  const config = loadGatewayConfig(process.env);
  const log = createLogger("gateway", config.logLevel);
  const started = Date.now();
  const observability = startObservability("gateway", config.tracing);
  const app = await buildGateway(config, log, observability);
  try {
    // A burst of connections waits in the kernel's accept queue (Node's default 511): past it, handshakes
    // are dropped and a client may believe itself connected to a socket the gateway never had.
    await app.listen({ port: config.port, host: config.host, backlog: acceptQueue });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EADDRINUSE") {
      process.stderr.write(`port ${config.port} is already in use; set GATEWAY_PORT to another port\n`);
      process.exit(2);
    }
    throw err;
  }
  log.info({ port: config.port, startupMs: Date.now() - started }, "gateway listening");
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "gateway stopping");
    const force = setTimeout(() => process.exit(1), config.shutdownGraceMs);
    force.unref();
    await app.close();
    await observability.shutdown();
    log.info("gateway stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
});
