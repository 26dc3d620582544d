"""The chart's own rules, checked on the manifests deploy/check-chart.sh rendered (one file per value set).

Schemas say a manifest is well-formed; these say it is the deployment the project means: probes on the
paths the services really serve, memory above what was measured, secrets only by reference, one HPA and
PDB per component with the consumer's ceiling at the topic's partitions, and the NetworkPolicies.
"""
import sys
from pathlib import Path

import yaml

# RSS measured on a 2-core machine (MiB), each service in a memory cgroup of its limit: idle, and
# peak under the bench's documents load (npm run bench -- --only documents --pod-limits).
# Requests cover idle, limits the peak.
MEASURED = {"gateway": (124, 152), "server": (153, 166), "consumer": (161, 251)}
COMPONENTS = ("gateway", "server", "consumer")
SECRET_VARS = {"INTERNAL_TOKEN", "CONSUMER_TOKEN", "DATABASE_URL", "METRICS_TOKEN"}
# Who holds which credential: the consumer only its own, which may attach documents and nothing else.
TOKENS = {"gateway": {"INTERNAL_TOKEN"}, "server": {"INTERNAL_TOKEN", "CONSUMER_TOKEN"}, "consumer": {"CONSUMER_TOKEN"}}
errors: list[str] = []


def check(ok: bool, message: str) -> None:
    if not ok:
        errors.append(message)


def mebibytes(q: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "K": 1e3 / 2**20, "M": 1e6 / 2**20, "G": 1e9 / 2**20}
    for unit, factor in units.items():
        if q.endswith(unit):
            return float(q[: -len(unit)]) * factor
    return float(q) / 2**20


def load(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def find(docs, kind, name_suffix=None):
    return [d for d in docs if d["kind"] == kind and (name_suffix is None or d["metadata"]["name"].endswith(name_suffix))]


def env_of(container) -> dict:
    return {e["name"]: e for e in container.get("env", [])}


def rules(render: str, docs: list[dict]) -> None:
    where = f"[{render}]"
    deployments = {c: find(docs, "Deployment", f"-{c}") for c in COMPONENTS}
    for component, found in deployments.items():
        check(len(found) == 1, f"{where} one Deployment for {component}, found {len(found)}")
    if any(len(f) != 1 for f in deployments.values()):
        return
    partitions = None
    for component, (deployment,) in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        cwhere = f"{where} {component}:"
        check(container["command"] == ["node", f"{component}/src/main.ts"], f"{cwhere} starts {component}/src/main.ts as the Dockerfile/compose do")
        # Probes on what the service really serves.
        live, ready = container.get("livenessProbe", {}), container.get("readinessProbe", {})
        if component == "server":
            check(ready.get("grpc", {}).get("port") == 8081, f"{cwhere} readiness is the gRPC health check on 8081 (grpc.health.v1: SERVING while PostgreSQL answers)")
            check(live.get("httpGet", {}).get("path") == "/healthz" and live["httpGet"]["port"] == "metrics", f"{cwhere} liveness GET /healthz on the metrics port: answered by the event loop, not the database")
        else:
            port = "http" if component == "gateway" else "health"
            check(live.get("httpGet", {}).get("path") == "/healthz" and live["httpGet"]["port"] == port, f"{cwhere} liveness GET /healthz on {port}")
            check(ready.get("httpGet", {}).get("path") == "/readyz" and ready["httpGet"]["port"] == port, f"{cwhere} readiness GET /readyz on {port}")
        # Resources against the measured figures.
        res = container.get("resources", {})
        for kind in ("requests", "limits"):
            check({"cpu", "memory"} <= set(res.get(kind, {})), f"{cwhere} {kind} for cpu and memory")
        if "memory" in res.get("requests", {}) and "memory" in res.get("limits", {}):
            idle, peak = MEASURED[component]
            request, limit = mebibytes(res["requests"]["memory"]), mebibytes(res["limits"]["memory"])
            check(request >= idle, f"{cwhere} memory request {request:.0f}Mi below the measured idle {idle} MiB")
            check(limit >= peak * 1.15, f"{cwhere} memory limit {limit:.0f}Mi leaves under 15% above the measured peak {peak} MiB")
        # Secrets by reference only.
        env = env_of(container)
        for name in SECRET_VARS & set(env):
            check("valueFrom" in env[name] and "secretKeyRef" in env[name]["valueFrom"], f"{cwhere} {name} must come from a Secret")
        held = {"INTERNAL_TOKEN", "CONSUMER_TOKEN"} & set(env)
        check(held == TOKENS[component], f"{cwhere} holds {sorted(held)}, expected {sorted(TOKENS[component])}")
        if component == "server":
            check("DATABASE_URL" in env, f"{cwhere} needs DATABASE_URL")
        if "KAFKA_TOPIC_PARTITIONS" in env:
            value = int(env["KAFKA_TOPIC_PARTITIONS"]["value"])
            check(partitions in (None, value), f"{cwhere} KAFKA_TOPIC_PARTITIONS differs between server and consumer")
            partitions = value
        check(pod["securityContext"].get("runAsNonRoot") is True, f"{cwhere} runAsNonRoot")
        check(container["securityContext"].get("readOnlyRootFilesystem") is True, f"{cwhere} read-only root filesystem")
        check(any(m["mountPath"] == "/tmp" for m in container.get("volumeMounts", [])), f"{cwhere} a writable /tmp (the root filesystem is read-only)")
    check(partitions is not None, f"{where} KAFKA_TOPIC_PARTITIONS is set")

    # Autoscaling: one HPA per component unless disabled; the consumer's ceiling is the partitions.
    hpas = {h["spec"]["scaleTargetRef"]["name"].rsplit("-", 1)[1]: h for h in find(docs, "HorizontalPodAutoscaler")}
    for component, (deployment,) in deployments.items():
        if component in hpas:
            check("replicas" not in deployment["spec"], f"{where} {component}: no fixed replicas beside its HPA")
    if "consumer" in hpas:
        check(hpas["consumer"]["spec"]["maxReplicas"] == partitions, f"{where} consumer HPA maxReplicas {hpas['consumer']['spec']['maxReplicas']} != kafka.partitions {partitions}")
    else:
        replicas = deployments["consumer"][0]["spec"].get("replicas")
        check(replicas is not None and replicas <= partitions, f"{where} consumer replicas {replicas} above the partitions {partitions}")

    # Secret: none rendered unless the throwaway mode is on, and then as a hook before the migration Job.
    for secret in find(docs, "Secret"):
        check(render == "created-secret", f"{where} renders a Secret although secrets.existingSecret is set")
        check("pre-install" in secret["metadata"].get("annotations", {}).get("helm.sh/hook", ""), f"{where} a created Secret must be a pre-install hook (the migration Job reads it)")

    # The migration Job: a hook before the Deployments, running the migrate CLI.
    for job in find(docs, "Job"):
        annotations = job["metadata"].get("annotations", {})
        check(set(annotations.get("helm.sh/hook", "").split(",")) == {"pre-install", "pre-upgrade"}, f"{where} migration Job is a pre-install,pre-upgrade hook")
        (container,) = job["spec"]["template"]["spec"]["containers"]
        check(container["command"][-1] == "server/src/cli/migrate.ts", f"{where} migration Job runs server/src/cli/migrate.ts")

    # NetworkPolicies: only the gateway open; the server from the gateway and the consumer only.
    policies = {p["metadata"]["name"].rsplit("-", 1)[1]: p for p in find(docs, "NetworkPolicy")}
    if policies:
        for component in COMPONENTS:
            check(component in policies, f"{where} a NetworkPolicy for {component}")
        server_from = [peer for rule in policies["server"]["spec"]["ingress"] for peer in rule.get("from", [])]
        pod_peers = {p["podSelector"]["matchLabels"].get("app.kubernetes.io/component") for p in server_from if "podSelector" in p}
        check(pod_peers == {"gateway", "consumer"}, f"{where} server reachable from pods {pod_peers}, expected gateway and consumer")
        check(all(rule.get("from") for rule in policies["server"]["spec"]["ingress"]), f"{where} server ingress rule without 'from' opens it to all")
        check(all(rule.get("from") for rule in policies["consumer"]["spec"].get("ingress", [])), f"{where} consumer ingress rule without 'from' opens it to all")
        # Scrapers (metricsFrom) reach the server's metrics port only, never its RPC port.
        (server,) = deployments["server"]
        server_ports = {p["name"]: p["containerPort"] for p in server["spec"]["template"]["spec"]["containers"][0]["ports"]}
        for rule in policies["server"]["spec"]["ingress"]:
            others = [p for p in rule.get("from", []) if p.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component") not in ("gateway", "consumer")]
            ports = {p["port"] for p in rule.get("ports", [])}
            if others:
                check(ports == {server_ports.get("metrics")}, f"{where} the server's metrics rule opens ports {ports}, expected only its metrics port {server_ports.get('metrics')}")
    # ServiceMonitor is a CRD the schema validator skips: check that each one finds a Service and its port.
    services = find(docs, "Service")
    for monitor in find(docs, "ServiceMonitor"):
        selector = monitor["spec"]["selector"]["matchLabels"]
        matched = [svc for svc in services if selector.items() <= svc["metadata"].get("labels", {}).items()]
        name = monitor["metadata"]["name"]
        check(len(matched) == 1, f"{where} ServiceMonitor {name} selects {len(matched)} Services, expected 1")
        for endpoint in monitor["spec"]["endpoints"]:
            check(endpoint.get("path") == "/metrics", f"{where} ServiceMonitor {name} scrapes {endpoint.get('path')}")
            if len(matched) == 1:
                ports = {p.get("name") for p in matched[0]["spec"]["ports"]}
                check(endpoint["port"] in ports, f"{where} ServiceMonitor {name} port {endpoint['port']} not on Service {matched[0]['metadata']['name']} ({ports})")
            if name.endswith("-gateway"):
                check("authorization" in endpoint, f"{where} the gateway's /metrics needs METRICS_TOKEN as a bearer token")
    for component in ("gateway", "consumer"):
        for deployment in [d for d in find(docs, "Deployment") if d["metadata"]["name"].endswith(f"-{component}")]:
            url = env_of(deployment["spec"]["template"]["spec"]["containers"][0]).get("SERVER_URL", {}).get("value", "")
            host = url.split("//")[-1].split(":")[0]
            target = [svc for svc in services if svc["metadata"]["name"] == host]
            check(len(target) == 1 and target[0]["spec"].get("clusterIP") == "None", f"{where} {component}'s SERVER_URL {url} is not a headless Service: calls would stick to one server pod per connection")
            if target:
                check(target[0]["spec"]["selector"].get("app.kubernetes.io/component") == "server", f"{where} {host} does not select the server pods")
    for service in find(docs, "Service"):
        if not service["metadata"]["name"].endswith("-gateway"):
            check(service["spec"].get("type", "ClusterIP") == "ClusterIP", f"{where} {service['metadata']['name']} is exposed beyond the cluster")


def main() -> None:
    out = Path(sys.argv[1])
    for path in sorted(out.glob("*.yaml")):
        docs = load(path)
        rules(path.stem, docs)
        kinds = {d["kind"] for d in docs}
        print(f"  {path.stem:15s} {len(docs):3d} objects: {', '.join(sorted(kinds))}")
    renders = {p.stem: load(p) for p in out.glob("*.yaml")}
    # Value-set specific expectations.
    default, everything, fixed, seven = (renders.get(n, []) for n in ("default", "everything-on", "fixed-replicas", "partitions-7"))
    for component in COMPONENTS:
        check(any(h["metadata"]["name"].endswith(f"-{component}") for h in find(default, "HorizontalPodAutoscaler")), f"[default] an HPA for {component}")
        check(any(p["metadata"]["name"].endswith(f"-{component}") for p in find(default, "PodDisruptionBudget")), f"[default] a PDB for {component}")
    check(len(find(default, "Job")) == 1, "[default] one migration Job")
    gateway_env = [env_of(d["spec"]["template"]["spec"]["containers"][0]) for d in find(default, "Deployment", "-gateway")]
    check(bool(gateway_env and gateway_env[0].get("TRUST_PROXY", {}).get("value")), "[default] the gateway trusts an ingress on the pod network (TRUST_PROXY): behind it every client would be one address")
    check(not find(default, "ServiceMonitor"), "[default] ServiceMonitor is off by default")
    check(len(find(everything, "ServiceMonitor")) == 3, "[everything-on] a ServiceMonitor each for gateway, server and consumer")
    check(not find(fixed, "HorizontalPodAutoscaler") and not find(fixed, "Job"), "[fixed-replicas] no HPA and no Job when disabled")
    seven_hpa = [h for h in find(seven, "HorizontalPodAutoscaler") if h["metadata"]["name"].endswith("-consumer")]
    check(bool(seven_hpa) and seven_hpa[0]["spec"]["maxReplicas"] == 7, "[partitions-7] consumer HPA maxReplicas follows kafka.partitions")
    if errors:
        print("\n".join(f"RULE BROKEN {e}" for e in errors), file=sys.stderr)
        sys.exit(1)
    print(f"  all rules hold in {len(renders)} renders")


main()
