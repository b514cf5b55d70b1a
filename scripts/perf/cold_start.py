#!/usr/bin/env python3
"""Whole-process cold start of the Lambda binaries through a fake Lambda Runtime API
(driven by scripts/measure-cold-start; standard library only).

For every run of every case it starts a fresh process of the binary with Lambda's environment and
AWS_LAMBDA_RUNTIME_API pointing at an in-process HTTP server that implements the parts of the
Runtime API a custom runtime uses:

  GET  /2018-06-01/runtime/invocation/next             serves the case's event once, with
                                                       Lambda-Runtime-Aws-Request-Id, -Deadline-Ms,
                                                       -Invoked-Function-Arn, -Trace-Id; a second
                                                       /next blocks until the run is over
  POST /2018-06-01/runtime/invocation/{id}/response    the measured moment
  POST /2018-06-01/runtime/invocation/{id}/error       a failed run
  POST /2018-06-01/runtime/init/error                  a failed run

and records, from just before the process is spawned:
  init   spawn -> first GET /next          (runtime + configuration + SDK clients, before any event)
  total  spawn -> first response POST      (what a cold invocation costs, minus Lambda's own sandbox)
then reads VmHWM (peak RSS) from /proc/<pid>/status and kills the process.

Cases run round-robin (run i of every case, then run i+1) so load drift hits them alike; warm-up
runs (not counted) come first so the page cache and DynamoDB Local's JIT are warm. Every run gets
its own server on a fresh port (a request a killed process left in flight cannot be taken for the
next process's /next) and starts after a 100 ms pause, so each spawn meets an idle CPU, as a cold
sandbox does; on a small VM that costs about 1 ms against back-to-back spawns, for every case alike.
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/v1/packages/pkg_123"
RUN_TIMEOUT_S = 30.0
SETTLE_S = 0.1


# ---------------------------------------------------------------------------------------------------
# events


def authorizer_event(authorization):
    headers = {
        "Accept": "application/json",
        "Host": "abcdef1234.execute-api.us-east-1.amazonaws.com",
        "User-Agent": "curl/8.5.0",
        "X-Amzn-Trace-Id": "Root=1-5e66d96f-7491f09xmpl79d18acf3d050",
        "X-Forwarded-For": "198.51.100.7",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    if authorization is not None:
        headers["Authorization"] = authorization
    return {
        "type": "REQUEST",
        "methodArn": METHOD_ARN,
        "resource": "/v1/packages/{id}",
        "path": "/v1/packages/pkg_123",
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {},
        "multiValueQueryStringParameters": {},
        "pathParameters": {"id": "pkg_123"},
        "stageVariables": {},
        "requestContext": {
            "path": "/prod/v1/packages/pkg_123",
            "accountId": "123456789012",
            "resourceId": "a1b2c3",
            "stage": "prod",
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "198.51.100.7", "userAgent": "curl/8.5.0"},
            "resourcePath": "/v1/packages/{id}",
            "httpMethod": "GET",
            "apiId": "abcdef1234",
        },
    }


def health_event():
    headers = {"Accept": "application/json", "Host": "abcdef1234.execute-api.us-east-1.amazonaws.com"}
    return {
        "resource": "/health",
        "path": "/health",
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "resourceId": "h1",
            "stage": "prod",
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": "198.51.100.7", "userAgent": "curl/8.5.0"},
            "path": "/prod/health",
            "resourcePath": "/health",
            "httpMethod": "GET",
            "apiId": "abcdef1234",
            "protocol": "HTTP/1.1",
        },
        "body": None,
        "isBase64Encoded": False,
    }


# ---------------------------------------------------------------------------------------------------
# the fake Runtime API


class Run:
    """One process lifetime: the event it gets and what it did with it."""

    def __init__(self, event, function_name):
        self.event = json.dumps(event).encode()
        self.function_name = function_name
        self.request_id = str(uuid.uuid4())
        self.served = False
        self.t_next = None
        self.t_response = None
        self.response = None
        self.error = None
        self.finished = threading.Event()  # response or error arrived
        self.over = threading.Event()  # the harness is done with the process
        self.trail = []  # (ms since start, what the server saw), for failure reports


class RuntimeApi(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.run = None

    def handle_error(self, request, client_address):
        # A killed process resets its connections; that is how every run ends, not an error.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: RuntimeApi

    def log_message(self, *_):  # quiet
        pass

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reply(self, status, body=b"", headers=None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self):
        now = time.perf_counter()
        if self.path != "/2018-06-01/runtime/invocation/next":
            self._reply(404)
            return
        with self.server.lock:
            run = self.server.run
            if run is not None:
                run.trail.append((now, f"GET {self.path} from {self.client_address[1]}"))
            first = run is not None and not run.served
            if first:
                run.served = True
                run.t_next = now
        if run is None:
            self.close_connection = True
            return
        if not first:
            # The runtime loops for its next event: keep it waiting until the harness kills it.
            run.over.wait(RUN_TIMEOUT_S)
            self.close_connection = True
            return
        deadline = int(time.time() * 1000) + 10_000
        self._reply(
            200,
            run.event,
            {
                "Content-Type": "application/json",
                "Lambda-Runtime-Aws-Request-Id": run.request_id,
                "Lambda-Runtime-Deadline-Ms": str(deadline),
                "Lambda-Runtime-Invoked-Function-Arn": (
                    f"arn:aws:lambda:us-east-1:123456789012:function:{run.function_name}"
                ),
                "Lambda-Runtime-Trace-Id": "Root=1-5e66d96f-7491f09xmpl79d18acf3d050;Parent=1;Sampled=0",
            },
        )

    def do_POST(self):
        body = self._body()
        now = time.perf_counter()
        run = self.server.run
        path = self.path
        if run is not None:
            run.trail.append((now, f"POST {path} from {self.client_address[1]} ({len(body)} bytes)"))
        m = re.fullmatch(r"/2018-06-01/runtime/invocation/([^/]+)/(response|error)", path)
        if run is not None and m and m.group(1) == run.request_id:
            if m.group(2) == "response":
                run.t_response = now
                run.response = body
            else:
                run.error = f"invocation error: {body[:500]!r}"
            self._reply(202, b'{"status":"OK"}', {"Content-Type": "application/json"})
            run.finished.set()
            return
        if path == "/2018-06-01/runtime/init/error" and run is not None:
            run.error = f"init error: {body[:500]!r}"
            self._reply(202, b'{"status":"OK"}', {"Content-Type": "application/json"})
            run.finished.set()
            return
        self._reply(404)


# ---------------------------------------------------------------------------------------------------
# measuring


def read_status(pid):
    fields = {}
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("VmHWM", "VmRSS"):
                    fields[key] = int(value.split()[0])  # kB
    except OSError:
        pass
    return fields


def decision_micros(log_path):
    """duration_us of the authorizer's decision log line, if any."""
    try:
        with open(log_path, errors="replace") as log:
            for line in log:
                if '"duration_us"' in line:
                    try:
                        return json.loads(line).get("duration_us")
                    except ValueError:
                        pass
    except OSError:
        pass
    return None


def measure(case, logdir, stop_signal=signal.SIGKILL):
    # A server (and port) per run: a request the previous process sent just before it was killed can
    # never be mistaken for this process's first /next.
    server = RuntimeApi()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.5}, daemon=True)
    thread.start()
    # Let the server thread reach its accept loop (and the previous process's teardown finish) so
    # neither is inside the measured window.
    time.sleep(SETTLE_S)
    try:
        return measure_with(server, case, logdir, stop_signal)
    finally:
        server.shutdown()
        server.server_close()


def measure_with(server, case, logdir, stop_signal):
    run = Run(case["event"], case["function_name"])
    env = dict(case["env"])
    env["AWS_LAMBDA_RUNTIME_API"] = f"127.0.0.1:{server.server_address[1]}"
    log_path = os.path.join(logdir, f"{case['name']}.log")
    with server.lock:
        server.run = run
    with open(log_path, "wb") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen([case["binary"]], env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = t0 + RUN_TIMEOUT_S
        while not run.finished.wait(0.005):
            if proc.poll() is not None:
                # Exited: let an in-flight POST land, then give up.
                run.finished.wait(0.2)
                break
            if time.perf_counter() > deadline:
                break
        status = read_status(proc.pid) if proc.poll() is None else {}
        if proc.poll() is None:
            proc.send_signal(stop_signal)
        proc.wait()
    run.over.set()
    with server.lock:
        server.run = None

    result = {"case": case["name"], "ok": False}
    if run.t_response is None:
        tail = open(log_path, errors="replace").read()[-2000:]
        trail = "; ".join(f"{(t - t0) * 1000:.1f}ms {what}" for t, what in run.trail)
        result["error"] = run.error or f"no response (exit code {proc.returncode}); seen: {trail}; output:\n{tail}"
        return result
    check = case["check"](run.response)
    if check is not None:
        result["error"] = f"unexpected response: {check}"
        return result
    result.update(
        ok=True,
        init_ms=(run.t_next - t0) * 1000,
        total_ms=(run.t_response - t0) * 1000,
        invoke_ms=(run.t_response - run.t_next) * 1000,
        hwm_kb=status.get("VmHWM"),
        decision_us=decision_micros(log_path),
    )
    return result


def expect_effect(effect, code=None):
    def check(body):
        try:
            doc = json.loads(body)
            got = doc["policyDocument"]["Statement"][0]["Effect"]
        except (ValueError, KeyError, IndexError, TypeError):
            return f"not an authorizer response: {body[:300]!r}"
        if got != effect:
            return f"effect {got}, expected {effect}: {body[:300]!r}"
        if code is not None and doc.get("context", {}).get("code") != code:
            return f"code {doc.get('context', {}).get('code')}, expected {code}"
        return None

    return check


def expect_status(status):
    def check(body):
        try:
            got = json.loads(body).get("statusCode")
        except (ValueError, AttributeError):
            return f"not a proxy response: {body[:300]!r}"
        return None if got == status else f"statusCode {got}, expected {status}"

    return check


# ---------------------------------------------------------------------------------------------------
# cases


def lambda_env(function_name, memory):
    return {
        "PATH": "/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
        "AWS_LAMBDA_FUNCTION_VERSION": "1",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2025/01/01/[1]0123456789abcdef",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_SESSION_TOKEN": "test",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def build_cases(args):
    with open(args.clerk_pem) as pem:
        clerk_pem = pem.read()
    base = lambda_env("gatehouse-authorizer", 256)
    base.update(
        TABLE_NAME=args.table,
        CLERK_ISSUER=args.issuer,
        CLERK_JWT_KEY=clerk_pem,
        AWS_ENDPOINT_URL_DYNAMODB=args.ddb_endpoint,
    )
    inline = dict(base, API_KEY_PEPPER=args.pepper)
    cases = [
        {
            "name": "health (baseline)",
            "binary": args.health,
            "function_name": "gatehouse-health",
            "env": lambda_env("gatehouse-health", 128),
            "event": health_event(),
            "check": expect_status(200),
        },
        {
            "name": "authorizer session JWT",
            "binary": args.authorizer,
            "function_name": "gatehouse-authorizer",
            "env": inline,
            "event": authorizer_event(f"Bearer {args.token}"),
            "check": expect_effect("Allow"),
        },
        {
            "name": "authorizer API key",
            "binary": args.authorizer,
            "function_name": "gatehouse-authorizer",
            "env": inline,
            "event": authorizer_event(f"Bearer {args.api_key}"),
            "check": expect_effect("Allow"),
        },
        {
            "name": "authorizer no header",
            "binary": args.authorizer,
            "function_name": "gatehouse-authorizer",
            "env": inline,
            "event": authorizer_event(None),
            "check": expect_effect("Deny"),
        },
    ]
    if args.pepper_secret and args.secrets_endpoint:
        cases.append(
            {
                "name": "authorizer JWT, SM pepper",
                "binary": args.authorizer,
                "function_name": "gatehouse-authorizer",
                "env": dict(
                    base, API_KEY_PEPPER_SECRET_ID=args.pepper_secret, AWS_ENDPOINT_URL_SECRETS_MANAGER=args.secrets_endpoint
                ),
                "event": authorizer_event(f"Bearer {args.token}"),
                "check": expect_effect("Allow"),
            }
        )
    return cases


# ---------------------------------------------------------------------------------------------------
# report


def trio(values, fmt="{:7.1f}"):
    return " / ".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


def main():
    parser = argparse.ArgumentParser(description="cold start through a fake Lambda Runtime API")
    parser.add_argument("--authorizer", required=True)
    parser.add_argument("--health", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--pepper", required=True)
    parser.add_argument("--pepper-secret", help="secret id/ARN of the pepper (extra case, needs --secrets-endpoint)")
    parser.add_argument("--secrets-endpoint")
    parser.add_argument("--table", required=True)
    parser.add_argument("--ddb-endpoint", required=True)
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--clerk-pem", required=True, help="file with the Clerk PEM public key")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--json", help="write every run here")
    parser.add_argument("--only", help="run only the cases whose name contains this (and the health baseline)")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the authorizer cases (experiments: RUST_LOG, SSL_CERT_DIR, ...)",
    )
    parser.add_argument(
        "--stop-signal",
        default="KILL",
        help="signal that ends a process after its response (TERM lets a wrapper such as perf record finish)",
    )
    args = parser.parse_args()

    cases = build_cases(args)
    extra = dict(item.split("=", 1) for item in args.env)
    for case in cases:
        if case["binary"] == args.authorizer:
            case["env"] = dict(case["env"], **extra)
    if args.only:
        cases = [case for case in cases if args.only in case["name"] or case["name"].startswith("health")]
    stop_signal = getattr(signal, f"SIG{args.stop_signal.upper().removeprefix('SIG')}")
    logdir = tempfile.mkdtemp(prefix="gatehouse-cold-start-")
    print(
        f"fake Runtime API on a fresh loopback port per run; {args.warmup} warm-up + {args.runs} measured runs"
        " per case, round-robin"
    )

    failures = 0
    results = {case["name"]: [] for case in cases}
    for i in range(args.warmup + args.runs):
        for case in cases:
            result = measure(case, logdir, stop_signal)
            if not result["ok"]:
                failures += 1
                print(f"  FAILED {case['name']} (run {i}): {result['error']}", file=sys.stderr)
                continue
            if i >= args.warmup:
                results[case["name"]].append(result)
    print()
    print("times in ms as min / median / max over the measured runs; peak RSS = VmHWM at the response")
    header = (
        f"{'case':<28} {'n':>2}  {'spawn -> response (total)':>25}  {'spawn -> /next (init)':>23}"
        f"  {'1st invoke':>10}  {'handler':>8}  {'peak RSS MiB':>14}  {'x health':>8}"
    )
    print(header)
    print("-" * len(header))
    health = [r["total_ms"] for r in results.get("health (baseline)", [])]
    baseline = statistics.median(health) if health else None
    summary = {}
    for case in cases:
        rs = results[case["name"]]
        if not rs:
            print(f"{case['name']:<28}  no successful run")
            continue
        totals = [r["total_ms"] for r in rs]
        inits = [r["init_ms"] for r in rs]
        invokes = [r["invoke_ms"] for r in rs]
        hwm = [r["hwm_kb"] / 1024 for r in rs if r["hwm_kb"]]
        decisions = [r["decision_us"] for r in rs if r["decision_us"] is not None]
        med = statistics.median(totals)
        summary[case["name"]] = {
            "total_ms": [min(totals), med, max(totals)],
            "init_ms": [min(inits), statistics.median(inits), max(inits)],
            "invoke_ms_median": statistics.median(invokes),
            "handler_us_median": statistics.median(decisions) if decisions else None,
            "peak_rss_mib": [min(hwm), statistics.median(hwm), max(hwm)] if hwm else None,
            "ratio_to_health": med / baseline if baseline else None,
        }
        handler = f"{statistics.median(decisions) / 1000:6.2f}ms" if decisions else "     n/a"
        ratio = f"{med / baseline:7.2f}x" if baseline else "n/a"
        rss = trio(hwm, "{:4.1f}") if hwm else "n/a"
        print(
            f"{case['name']:<28} {len(rs):>2}  {trio(totals):>25}  {trio(inits, '{:6.1f}'):>23}"
            f"  {statistics.median(invokes):8.2f}ms  {handler:>8}  {rss:>14}  {ratio:>8}"
        )
    print()
    print("init = process start to first GET /next (runtime, config, SDK clients, secrets);")
    print("1st invoke = /next to response POST (median); handler = the decision log line's duration_us (median)")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"summary": summary, "runs": results}, out, indent=2)
        print(f"all runs: {args.json}")
    if failures:
        print(f"{failures} run(s) failed; process output under {logdir}", file=sys.stderr)
        return 1
    shutil.rmtree(logdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
