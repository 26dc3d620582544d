import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { DescService } from "@bufbuild/protobuf";
import { InvoiceService } from "@invoicer/sdk";
import proxyAddr from "@fastify/proxy-addr";
import { ConfigError, envReader } from "@invoicer/platform/config";
import type { ConnectionLimits } from "@invoicer/platform/http-server/connection-limits";
import { tracingConfig, type TracingConfig } from "@invoicer/platform/telemetry";
import type { ForwardingLimits } from "./http2-forwarder.ts";
import type { Http1Carrier } from "./rpc-routes.ts";
import type { TenantCapacityLimits } from "./tenant-capacity.ts";

/** Where `npm run build -w web` puts the browser client. */
const builtWebApp = fileURLToPath(new URL("../../web/dist", import.meta.url));

/** A service the gateway forwards to the server (its methods, from the SDK), and whether its calls need an API key. */
export interface ForwardedService {
  service: DescService;
  authenticate: boolean;
}

export interface GatewayConfig {
  logLevel: string;
  tracing: TracingConfig;
  host: string;
  port: number;
  /** The server: each URL's host is resolved to every address it has, and calls are balanced over them. */
  serverUrls: string[];
  /** How often the server's names are resolved again and each endpoint's health is checked. */
  serverRefreshMs: number;
  /** Who carries Connect and gRPC-web calls over HTTP/1.1: reply-from over undici (proxy), or the HTTP/2 forwarder as gRPC's. */
  http1Calls: Http1Carrier;
  /** What one call and one tenant may take of the gateway and its sessions to the server. */
  forwarding: Omit<ForwardingLimits, "maxBodyBytes"> & TenantCapacityLimits;
  internalToken: string;
  corsOrigins: string[];
  /** The per-key limit, for the whole fleet of gateways: sustained calls per second and the most at once. */
  rateLimitPerSecond: number;
  rateLimitBurst: number;
  /** One lease from the fleet's bucket takes at most this many milliseconds' worth of the rate (at least 1 token). */
  rateLimitLeaseMs: number;
  /** Leased tokens unspent after this are dropped; a revoked key stops working on every gateway within it. */
  rateLimitLeaseTtlMs: number;
  maxBodyBytes: number;
  apiKeyCacheMs: number;
  /** Requests one remote address may make per second, counted before anything else. */
  rateLimitPerAddress: number;
  /** API-key checks the server makes for one address per minute (keys not yet cached: new, unknown or revoked). */
  keyChecksPerAddress: number;
  /** What bounds a connection before authentication. */
  connections: ConnectionLimits;
  /** Fastify's trustProxy: which proxies' X-Forwarded-For names the client address. */
  trustProxy: boolean | string;
  shutdownGraceMs: number;
  /** How long a REST call waits for the server before answering 504 (RPC callers set their own deadlines). */
  restTimeoutMs: number;
  /** When set, GET /metrics answers Prometheus scrapes that send it as a bearer token; otherwise there is no /metrics. */
  metricsToken?: string;
  /** The built browser client served at `/`; nothing is served when it has no index.html. */
  webDir: string;
  /** What is forwarded: the public API, with keys (tools such as the conformance suite forward others). */
  services: ForwardedService[];
}

/** Every variable the gateway reads; docs/operations.md's configuration table lists the same. */
export function loadGatewayConfig(env: Record<string, string | undefined>): GatewayConfig {
  const e = envReader(env);
  const trustProxy = e.optional("TRUST_PROXY");
  return {
    logLevel: e.logLevel(),
    tracing: tracingConfig(e, "gateway"),
    host: e.string("GATEWAY_HOST", "127.0.0.1"),
    port: e.port("GATEWAY_PORT", 8080),
    serverUrls: e.urls("SERVER_URL", "http://127.0.0.1:8081"),
    serverRefreshMs: e.int("SERVER_REFRESH_MS", 2_000, 100, 60_000),
    http1Calls: http1Carrier(e.string("HTTP1_RPC_PATH", "proxy")),
    forwarding: {
      perEndpoint: e.int("SERVER_SESSIONS_PER_ENDPOINT", 2, 1, 64),
      maxStreamsPerSession: 2 ** 29, // a quarter of the ids a client session has
      maxCallMs: e.int("MAX_CALL_MS", 60_000, 100, 3_600_000),
      maxStreamMs: e.int("MAX_STREAM_MS", 3_600_000, 1_000, 86_400_000),
      stalledReaderMs: e.int("STALLED_READER_MS", 10_000, 100, 600_000),
      maxOpenCalls: e.int("MAX_OPEN_CALLS_PER_TENANT", 200, 1, 1_000_000),
      maxWaitingBytes: e.int("MAX_WAITING_BYTES_PER_TENANT", 8 * 1024 * 1024, 64 * 1024, 1024 * 1024 * 1024),
      // Well inside the chart's 320 MiB memory limit for the gateway.
      maxWaitingBytesTotal: e.int("MAX_WAITING_BYTES", 64 * 1024 * 1024, 1024 * 1024, 16 * 1024 * 1024 * 1024),
      // Opening a stream costs the servers a key check and a registration: hundreds at once were a tail for everyone.
      streamOpensPerSecond: e.int("STREAM_OPENS_PER_SECOND", 20, 1, 1_000_000),
      streamOpensBurst: e.int("STREAM_OPENS_BURST", 40, 1, 1_000_000),
    },
    internalToken: e.secret("INTERNAL_TOKEN"),
    corsOrigins: e.list("CORS_ORIGINS"),
    rateLimitPerSecond: e.int("RATE_LIMIT_PER_SECOND", 100, 1, 1_000_000),
    rateLimitBurst: e.int("RATE_LIMIT_BURST", 200, 1, 1_000_000),
    rateLimitLeaseMs: e.int("RATE_LIMIT_LEASE_MS", 100, 1, 1_000),
    rateLimitLeaseTtlMs: e.int("RATE_LIMIT_LEASE_TTL_MS", 1_000, 10, 60_000),
    maxBodyBytes: e.int("MAX_BODY_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024),
    apiKeyCacheMs: e.int("API_KEY_CACHE_MS", 5_000, 0, 3_600_000),
    rateLimitPerAddress: e.int("RATE_LIMIT_PER_ADDRESS", 500, 1, 1_000_000),
    keyChecksPerAddress: e.int("KEY_CHECKS_PER_ADDRESS", 120, 1, 1_000_000),
    connections: {
      headersTimeoutMs: e.int("HEADERS_TIMEOUT_MS", 10_000, 100, 600_000),
      idleTimeoutMs: e.int("IDLE_TIMEOUT_MS", 120_000, 0, 3_600_000),
      maxConnectionsPerAddress: e.int("MAX_CONNECTIONS_PER_ADDRESS", 256, 0, 1_000_000),
      maxStreamsPerConnection: e.int("MAX_STREAMS_PER_CONNECTION", 100, 1, 10_000),
      ...(trustProxy && { trustedProxy: proxyTrust(trustProxy) }),
    },
    trustProxy: trustProxy ?? false,
    shutdownGraceMs: e.int("SHUTDOWN_GRACE_MS", 10_000, 0, 600_000),
    restTimeoutMs: e.int("REST_TIMEOUT_MS", 30_000, 100, 600_000),
    webDir: resolve(e.string("WEB_DIR", builtWebApp)),
    metricsToken: e.optional("METRICS_TOKEN") && e.secret("METRICS_TOKEN"),
    services: [{ service: InvoiceService, authenticate: true }],
  };
}

function http1Carrier(name: string): Http1Carrier {
  if (name === "proxy" || name === "forwarder") return name;
  throw new ConfigError(`HTTP1_RPC_PATH must be proxy or forwarder, got "${name}"`);
}

/** TRUST_PROXY's addresses, CIDRs and names (loopback, uniquelocal, ...) as Fastify reads them, for the connection cap. */
function proxyTrust(list: string): (address: string) => boolean {
  try {
    const trusts = proxyAddr.compile(list.split(",").map((a) => a.trim()));
    return (address) => trusts(address, 0);
  } catch {
    throw new ConfigError(`TRUST_PROXY must list addresses, CIDRs, loopback, linklocal or uniquelocal, got "${list}"`);
  }
}
