// No Docker engine here, so compose.yaml is checked statically against the services' own config modules.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { loadConsumerConfig } from "../../consumer/src/config.ts";
import { loadGatewayConfig } from "../../gateway/src/config.ts";
import { loadServerConfig } from "../../server/src/config.ts";
import { serviceNodeOptions } from "@invoicer/devstack/service-process";

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  profiles?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
  deploy?: { replicas?: number };
}

const compose = parse(readFileSync("compose.yaml", "utf8"), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const { services } = compose;
/** What a user must set on the host (compose refuses to start without it: `${VAR:?message}`). */
const required: Record<string, string> = {
  INTERNAL_TOKEN: "a-secret-the-user-set-0123456789",
  CONSUMER_TOKEN: "another-secret-the-user-set-0123",
};
/** A service's environment as compose gives it when only the required variables are set: `${VAR:-default}` is the default. */
const env = (name: string) =>
  Object.fromEntries(
    Object.entries(services[name]!.environment!).map(([k, v]) => [
      k,
      v.replace(/\$\{\w+:-([^}]*)\}/g, "$1").replace(/\$\{(\w+):\?[^}]*\}/g, (_, variable: string) => required[variable] ?? ""),
    ]),
  );

/** Loads a config from the service's compose environment, recording every variable the module reads. */
function variablesRead(load: (e: Record<string, string | undefined>) => unknown, environment: Record<string, string>) {
  const read = new Set<string>();
  const recorder = new Proxy(environment, {
    get: (target, name: string) => (read.add(name), target[name]),
  });
  return { config: load(recorder), read };
}

const apps: Record<string, (e: Record<string, string | undefined>) => unknown> = {
  server: loadServerConfig,
  consumer: loadConsumerConfig,
  gateway: loadGatewayConfig,
};

describe("compose.yaml", () => {
  for (const [name, load] of Object.entries(apps)) {
    it(`gives ${name} exactly the variables its config module reads, with valid values`, () => {
      const { read } = variablesRead(load, env(name));
      assert.deepEqual(Object.keys(env(name)).sort(), [...read].sort());
    });
  }

  it("runs every service from the Dockerfile's image with its own main, and two consumers", () => {
    for (const name of Object.keys(apps)) {
      assert.equal(services[name]!.build, ".");
      assert.deepEqual(services[name]!.command, ["node", `${name}/src/main.ts`], "Node strips the types itself: no loader");
    }
    assert.equal(services.consumer!.deploy?.replicas, 2);
    const dockerfile = readFileSync("Dockerfile", "utf8");
    assert.match(dockerfile, /^FROM .* AS build$/m);
    assert.match(dockerfile, /RUN npm ci /);
    assert.match(dockerfile, /^USER node$/m, "services run as a non-root user");
    assert.match(dockerfile, /^CMD \["node", "server\/src\/main\.ts"\]$/m, "the image's default is the server, run by Node itself");
    assert.match(dockerfile, /^ENV .*NODE_COMPILE_CACHE=\S+/m, "the services start from a compile cache");
    assert.match(dockerfile, /^RUN bash scripts\/fill-compile-cache\.sh$/m, "filled when the image is built");
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { dependencies?: Record<string, string> };
    assert.ok(!("tsx" in (pkg.dependencies ?? {})), "tsx is tooling: a dev dependency, pruned from the image");
    const nodeOptions = /^ENV .*NODE_OPTIONS="([^"]*)"/m.exec(dockerfile)?.[1];
    assert.equal(nodeOptions, serviceNodeOptions, "the image's services run with the V8 flags npm start gives them");
    for (const name of Object.keys(apps)) {
      const own = services[name]!.environment?.NODE_OPTIONS;
      assert.ok(own === undefined || own.includes(serviceNodeOptions), `${name}: NODE_OPTIONS replaces the image's ${serviceNodeOptions}`);
    }
  });

  it("builds on the Node major that package.json supports, and pins current Redpanda, Console and Jaeger v2 images", () => {
    const engines = (JSON.parse(readFileSync("package.json", "utf8")) as { engines: { node: string } }).engines.node;
    const baseline = Number(/^>=(\d+)/.exec(engines)?.[1]);
    const bases = [...readFileSync("Dockerfile", "utf8").matchAll(/^FROM (\S+)/gm)].map((m) => m[1]!);
    assert.equal(bases.length, 2);
    for (const base of bases) {
      // A full patch version: a rebuild gets the same Node until the Dockerfile changes.
      const version = /^node:(\d+)\.\d+\.\d+-bookworm-slim$/.exec(base);
      assert.ok(version, `${base} is a pinned node slim image`);
      assert.equal(Number(version[1]), baseline, `${base} is the baseline in engines (${engines})`);
    }
    const tag = (name: string, image: RegExp) => {
      const found = image.exec(services[name]!.image ?? "");
      assert.ok(found, `${name}: ${services[name]!.image} matches ${image}`);
      return found.slice(1).map(Number);
    };
    assert.ok(tag("redpanda", /^docker\.redpanda\.com\/redpandadata\/redpanda:v(\d+)\.\d+\.\d+$/)[0]! >= 26);
    assert.ok(tag("console", /^docker\.redpanda\.com\/redpandadata\/console:v(\d+)\.\d+\.\d+$/)[0]! >= 3);
    // Jaeger v2: one image whose default configuration receives OTLP on 4317/4318 and serves the UI
    // on 16686; v1's all-in-one image and its COLLECTOR_* variables are gone.
    assert.deepEqual(tag("jaeger", /^jaegertracing\/jaeger:(\d+)\.\d+\.\d+$/), [2]);
    assert.equal(services.jaeger!.environment, undefined);
    assert.deepEqual(services.jaeger!.ports, ["16686:16686"]);
    // The tracing profile's instructions send OTLP over HTTP to Jaeger's 4318 on the compose network.
    assert.match(
      readFileSync("compose.yaml", "utf8"),
      /OTEL_EXPORTER_OTLP_ENDPOINT=http:\/\/jaeger:4318 docker compose --profile tracing up/,
    );
  });

  it("publishes only the gateway, and the console and Jaeger under their profiles", () => {
    const published = Object.entries(services)
      .filter(([, s]) => s.ports?.length)
      .map(([n]) => n)
      .sort();
    assert.deepEqual(published, ["console", "gateway", "jaeger"]);
    assert.deepEqual(services.console!.profiles, ["console"]);
    assert.deepEqual(services.jaeger!.profiles, ["tracing"]);
    const gateway = loadGatewayConfig(env("gateway"));
    // By default the one published port; a range when scaled (GATEWAY_PUBLISHED_PORTS=8080-8081).
    assert.deepEqual(services.gateway!.ports, [`\${GATEWAY_PUBLISHED_PORTS:-${gateway.port}}:${gateway.port}`]);
    assert.equal(gateway.host, "0.0.0.0");
  });

  it("sends no traces unless asked, each service under its own name, and keeps the gateway's /metrics off by default", () => {
    for (const name of Object.keys(apps)) {
      const { tracing } = apps[name]!(env(name)) as { tracing: { serviceName: string; otlpTracesUrl?: string } };
      assert.deepEqual(tracing, { serviceName: `invoicer-${name}`, otlpTracesUrl: undefined });
      const withJaeger = apps[name]!({ ...env(name), OTEL_EXPORTER_OTLP_ENDPOINT: "http://jaeger:4318" }) as {
        tracing: { otlpTracesUrl?: string };
      };
      assert.equal(withJaeger.tracing.otlpTracesUrl, "http://jaeger:4318/v1/traces");
    }
    assert.equal(loadGatewayConfig(env("gateway")).metricsToken, undefined);
  });

  it("has no default internal or consumer token: compose stops with a message until both are set", () => {
    assert.match(readFileSync("compose.yaml", "utf8"), /\$\{INTERNAL_TOKEN:\?set INTERNAL_TOKEN/);
    assert.match(readFileSync("compose.yaml", "utf8"), /\$\{CONSUMER_TOKEN:\?set CONSUMER_TOKEN/);
    for (const name of ["server", "gateway"]) {
      assert.equal((apps[name]!(env(name)) as { internalToken: string }).internalToken, required.INTERNAL_TOKEN);
    }
    assert.equal(env("consumer").INTERNAL_TOKEN, undefined, "the consumer does not hold the gateway's token");
  });

  it("agrees on hosts and ports between services", () => {
    const server = loadServerConfig(env("server"));
    const consumer = loadConsumerConfig(env("consumer"));
    const gateway = loadGatewayConfig(env("gateway"));
    assert.equal(server.host, "0.0.0.0");
    for (const url of [...gateway.serverUrls, ...consumer.serverUrls]) assert.equal(url, `http://server:${server.port}`);
    assert.equal(new URL(server.databaseUrl).host, "postgres:5432");
    const pg = env("postgres");
    assert.equal(server.databaseUrl, `postgres://${pg.POSTGRES_USER}:${pg.POSTGRES_PASSWORD}@postgres:5432/${pg.POSTGRES_DB}`);
    assert.equal(server.internalToken, gateway.internalToken);
    assert.equal(consumer.consumerToken, server.consumerToken);
    assert.equal(consumer.kafkaTopic, server.kafkaTopic);
    assert.equal(consumer.kafkaTopicPartitions, server.kafkaTopicPartitions);
    // Health checks probe the ports the services listen on.
    assert.match(
      services.server!.healthcheck!.test.join(" "),
      new RegExp(`127\\.0\\.0\\.1:${server.port}/grpc\\.health\\.v1\\.Health/Check`),
    );
    assert.match(services.consumer!.healthcheck!.test.join(" "), new RegExp(`127\\.0\\.0\\.1:${consumer.healthPort}/readyz`));
    assert.match(services.gateway!.healthcheck!.test.join(" "), new RegExp(`127\\.0\\.0\\.1:${gateway.port}/readyz`));
  });

  it("points every Kafka client at the Redpanda service's advertised address", () => {
    const advertised = services.redpanda!.command!.find((a) => a.startsWith("--advertise-kafka-addr="))!;
    const address = advertised.split("=")[1]!.replace(/^internal:\/\//, "");
    assert.equal(address, "redpanda:9092");
    assert.ok(services.redpanda!.command!.includes("--mode=dev-container"));
    assert.deepEqual(loadServerConfig(env("server")).kafkaBrokers, [address]);
    assert.deepEqual(loadConsumerConfig(env("consumer")).kafkaBrokers, [address]);
    assert.equal(env("console").KAFKA_BROKERS, address);
  });

  it("starts services only after what they need is healthy, and keeps data in named volumes", () => {
    const needs: Record<string, string[]> = {
      server: ["postgres", "redpanda"],
      consumer: ["redpanda", "server"],
      gateway: ["server"],
      console: ["redpanda"],
    };
    for (const [name, deps] of Object.entries(needs)) {
      assert.deepEqual(Object.keys(services[name]!.depends_on ?? {}).sort(), deps);
      for (const dep of deps) assert.equal(services[name]!.depends_on![dep]!.condition, "service_healthy");
    }
    for (const name of ["postgres", "redpanda", "server", "consumer", "gateway"])
      assert.ok(services[name]!.healthcheck, `${name} has a healthcheck`);
    assert.deepEqual(Object.keys(compose.volumes).sort(), ["postgres-data", "redpanda-data"]);
    assert.ok(services.postgres!.volumes!.includes("postgres-data:/var/lib/postgresql/data"));
  });
});
