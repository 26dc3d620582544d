#!/usr/bin/env bash
# Static checks of the Helm chart in deploy/helm/invoicer, offline once its tools are installed:
#   helm lint (default and production values), helm template with several value sets, the chart's own
#   rules on the rendered manifests (deploy/chart-rules.py), each container's environment against its
#   service's config module (deploy/chart-env.ts, needs the project's node_modules), and validation of every rendered object
#   against the Kubernetes OpenAPI schemas of KUBE_VERSIONS (kubernetes-validate ships them; strict:
#   unknown fields fail).
# Tools go into .data/ when missing: helm built with `go install` (Go module proxy), kubernetes-validate
# in a Python venv (PyPI). Needs go and python3 (with venv) on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

HELM_VERSION=v3.22.0
KUBERNETES_VALIDATE_VERSION=1.37.0
# The chart's lowest supported version (Chart.yaml kubeVersion) and the newest the validator ships.
KUBE_VERSIONS=(1.27.0 1.37.0)

chart=deploy/helm/invoicer
bin=$root/.data/go/bin
helm=$bin/helm
venv=$root/.data/chart-venv
validate=$venv/bin/kubernetes-validate
out=$root/.data/chart-check
started=$SECONDS

die() { printf '\ncheck-chart: FAILED: %s\n' "$*" >&2; exit 1; }
step() { printf '\n== %s\n' "$*"; }

# --- tools --------------------------------------------------------------------------------------
install_started=$SECONDS
# A helm built by go install reports no patch version: a stamp file says which one was built.
if [[ ! -x $helm ]] || [[ $(cat "$helm.version" 2>/dev/null) != "$HELM_VERSION" ]]; then
  command -v go >/dev/null || die "go is not on PATH: it builds helm $HELM_VERSION into .data/go/bin (install Go 1.24+, e.g. apt-get install golang-go or from go.dev)"
  step "installing helm $HELM_VERSION into .data/go/bin (go install; a few minutes on a cold Go cache)"
  mkdir -p "$bin"
  GOBIN=$bin go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" || die "go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION failed"
  echo "$HELM_VERSION" >"$helm.version"
fi
if [[ ! -x $validate ]] || [[ $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("kubernetes-validate"))' 2>/dev/null) != "$KUBERNETES_VALIDATE_VERSION" ]]; then
  command -v python3 >/dev/null || die "python3 is not on PATH: it runs kubernetes-validate in a venv under .data/ (apt-get install python3 python3-venv)"
  python3 -c 'import venv, ensurepip' 2>/dev/null || die "python3 has no venv/ensurepip module (apt-get install python3-venv)"
  step "installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION into .data/chart-venv (pip)"
  rm -rf "$venv"
  python3 -m venv "$venv" || die "python3 -m venv $venv failed"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" || die "pip install kubernetes-validate==$KUBERNETES_VALIDATE_VERSION failed"
fi
install_seconds=$((SECONDS - install_started))
echo "helm $HELM_VERSION, kubernetes-validate $KUBERNETES_VALIDATE_VERSION (tools ready in ${install_seconds}s)"

# --- lint -----------------------------------------------------------------------------------------
check_started=$SECONDS
rm -rf "$out" && mkdir -p "$out"
step "helm lint"
"$helm" lint --strict --kube-version "${KUBE_VERSIONS[0]}" "$chart" || die "helm lint (default values)"
"$helm" lint --strict --kube-version "${KUBE_VERSIONS[0]}" "$chart" -f "$chart/values-production.yaml" || die "helm lint (values-production.yaml)"

# --- render ---------------------------------------------------------------------------------------
# name|helm template arguments
renders=(
  "default|"
  "production|-f $chart/values-production.yaml"
  "everything-on|--set serviceMonitor.enabled=true --set serviceMonitor.gateway=true --set networkPolicy.egress.enabled=true --set-json networkPolicy.metricsFrom=[{\"namespaceSelector\":{}}]"
  "fixed-replicas|--set gateway.autoscaling.enabled=false --set server.autoscaling.enabled=false --set consumer.autoscaling.enabled=false --set consumer.replicas=9 --set migrations.enabled=false --set networkPolicy.enabled=false --set gateway.pdb.enabled=false"
  "partitions-7|--set kafka.partitions=7"
  "created-secret|--set secrets.existingSecret= --set secrets.create.internalToken=0123456789abcdef0123 --set secrets.create.consumerToken=fedcba98765432100123 --set secrets.create.databaseUrl=postgres://u:p@db:5432/invoicer"
)
step "helm template (${#renders[@]} value sets)"
for r in "${renders[@]}"; do
  name=${r%%|*}
  # shellcheck disable=SC2086 # the arguments are split on purpose
  "$helm" template invoicer "$chart" --namespace invoicer --kube-version "${KUBE_VERSIONS[0]}" ${r#*|} >"$out/$name.yaml" \
    || die "helm template $name"
  grep -q '^kind: Deployment' "$out/$name.yaml" || die "helm template $name rendered no Deployment"
  printf '  %-15s %3d objects\n' "$name" "$(grep -c '^kind:' "$out/$name.yaml")"
done

# Renders that must be refused, with the chart's message.
must_fail() {
  local why=$1 expect=$2; shift 2
  local err
  if err=$("$helm" template invoicer "$chart" --kube-version "${KUBE_VERSIONS[0]}" "$@" 2>&1 >/dev/null); then die "helm template accepted $why"; fi
  grep -q -- "$expect" <<<"$err" || die "helm template refused $why, but not with '$expect': $err"
  echo "  refused: $why"
}
must_fail "no Secret at all" "secrets.existingSecret is empty" --set secrets.existingSecret=
must_fail "a short created token" "16+ characters" --set secrets.existingSecret= --set secrets.create.internalToken=short --set secrets.create.consumerToken=fedcba98765432100123 --set secrets.create.databaseUrl=postgres://db/x
must_fail "the consumer given the gateway's token" "must differ" --set secrets.existingSecret= --set secrets.create.internalToken=0123456789abcdef0123 --set secrets.create.consumerToken=0123456789abcdef0123 --set secrets.create.databaseUrl=postgres://db/x
must_fail "more consumers than partitions" "above kafka.partitions" --set kafka.partitions=2 --set consumer.autoscaling.minReplicas=3
must_fail "NODE_OPTIONS without the image's young generation" "keep a --max-semi-space-size" --set server.env.NODE_OPTIONS=--enable-source-maps
must_fail "an extraEnv NODE_OPTIONS without it" "keep a --max-semi-space-size" --set-json 'consumer.extraEnv=[{"name":"NODE_OPTIONS","value":"--enable-source-maps"}]'

# --- the chart's own rules ----------------------------------------------------------------------
step "chart rules (deploy/chart-rules.py)"
"$venv/bin/python" deploy/chart-rules.py "$out" || die "the rendered manifests break the chart's rules (above)"

step "chart environment against the services' config modules (deploy/chart-env.ts)"
command -v node >/dev/null && [[ -d node_modules/tsx ]] || die "node and the project's node_modules are needed for deploy/chart-env.ts (npm ci)"
node --import tsx deploy/chart-env.ts "$out" || die "the chart's environment does not match the services' config modules (above)"

# --- schemas --------------------------------------------------------------------------------------
for version in "${KUBE_VERSIONS[@]}"; do
  step "kubernetes-validate --strict against Kubernetes $version (schemas shipped with the package, offline)"
  for f in "$out"/*.yaml; do
    if ! report=$("$validate" --strict -k "$version" "$f" 2>&1); then
      echo "$report" | grep -v '^INFO' >&2
      die "$(basename "$f") does not validate against Kubernetes $version"
    fi
    # A kind without a schema is only a warning: allow the ServiceMonitor CRD and nothing else.
    unknown=$(grep "Couldn't find schema" <<<"$report" || true)
    if [[ -n $unknown ]] && grep -qv 'kind ServiceMonitor with api version monitoring.coreos.com/v1' <<<"$unknown"; then
      die "objects without a schema in $(basename "$f"): $unknown"
    fi
    skipped=$(grep -c "Couldn't find schema" <<<"$report" || true)
    printf '  %-20s %3d objects valid%s\n' "$(basename "$f")" "$(( $(grep -c '^kind:' "$f") - skipped ))" \
      "$([[ $skipped -gt 0 ]] && echo ", $skipped ServiceMonitor (CRD, no schema: skipped)")"
  done
done

printf '\ncheck-chart: OK (tools %ss, checks %ss, total %ss)\n' "$install_seconds" "$((SECONDS - check_started))" "$((SECONDS - started))"
