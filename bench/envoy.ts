// Envoy in front of the same server, the proxy the gateway is compared with: one worker
// (--concurrency 1, as the gateway is one Node process), gRPC and gRPC-web (its grpc_web filter)
// in, HTTP/2 to the server, adding the internal token and the bench tenant as the gateway does.
import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "@invoicer/devstack/ports";
import { internalTokenHeader, tenantHeader } from "@invoicer/platform/internal-auth";

const address = (port: number) => ({ socket_address: { address: "127.0.0.1", port_value: port } });
const typed = (type: string, rest: object = {}) => ({ "@type": `type.googleapis.com/envoy.extensions.${type}`, ...rest });

function envoyConfig(port: number, adminPort: number, serverPort: number, headers: Record<string, string>) {
  const connectionManager = typed("filters.network.http_connection_manager.v3.HttpConnectionManager", {
    stat_prefix: "ingress",
    codec_type: "AUTO",
    route_config: {
      virtual_hosts: [
        {
          name: "server",
          domains: ["*"],
          routes: [{ match: { prefix: "/" }, route: { cluster: "server", timeout: "0s" } }],
          request_headers_to_add: Object.entries(headers).map(([key, value]) => ({
            header: { key, value },
            append_action: "OVERWRITE_IF_EXISTS_OR_ADD",
          })),
        },
      ],
    },
    http_filters: [
      { name: "envoy.filters.http.grpc_web", typed_config: typed("filters.http.grpc_web.v3.GrpcWeb") },
      { name: "envoy.filters.http.router", typed_config: typed("filters.http.router.v3.Router") },
    ],
  });
  const http2 = typed("upstreams.http.v3.HttpProtocolOptions", { explicit_http_config: { http2_protocol_options: {} } });
  return {
    admin: { address: address(adminPort) },
    static_resources: {
      listeners: [
        {
          name: "ingress",
          address: address(port),
          filter_chains: [{ filters: [{ name: "envoy.filters.network.http_connection_manager", typed_config: connectionManager }] }],
        },
      ],
      clusters: [
        {
          name: "server",
          type: "STATIC",
          connect_timeout: "1s",
          load_assignment: { cluster_name: "server", endpoints: [{ lb_endpoints: [{ endpoint: { address: address(serverPort) } }] }] },
          typed_extension_protocol_options: { "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": http2 },
        },
      ],
    },
  };
}

/** Starts Envoy and resolves once its admin /ready answers LIVE. */
export async function startEnvoy(
  envoy: string,
  serverUrl: string,
  internal: { token: string; tenantId: string },
  workDir: string,
): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const [port, adminPort] = [await freePort(), await freePort()];
  const config = envoyConfig(port, adminPort, Number(new URL(serverUrl).port), {
    [internalTokenHeader]: internal.token,
    [tenantHeader]: internal.tenantId,
  });
  mkdirSync(workDir, { recursive: true });
  writeFileSync(join(workDir, "envoy.json"), JSON.stringify(config, null, 2));
  const log = openSync(join(workDir, "envoy.log"), "a");
  const args = ["-c", join(workDir, "envoy.json"), "--concurrency", "1", "--log-level", "warn", "--disable-hot-restart"];
  const child = spawn(envoy, args, { stdio: ["ignore", log, log] });
  closeSync(log);
  const exited = new Promise((done) => child.once("exit", done));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  const ready = () =>
    fetch(`http://127.0.0.1:${adminPort}/ready`)
      .then((r) => r.ok)
      .catch(() => false);
  for (const deadline = performance.now() + 30_000; !(await ready());) {
    if (child.exitCode !== null || performance.now() > deadline) {
      await stop();
      throw new Error(`envoy did not become ready; see ${join(workDir, "envoy.log")}`);
    }
    await new Promise((r) => setTimeout(r, 50)); // readiness is only visible by asking
  }
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, stop };
}
