#!/usr/bin/env python3
"""Whole-process cold start of the Lambda binaries through a fake Lambda Runtime API
(driven by scripts/measure-cold-start; standard library only).

For every run of every case it starts a fresh process of the binary with Lambda's environment and
AWS_LAMBDA_RUNTIME_API pointing at an in-process HTTP server that implements the parts of the
Runtime API a custom runtime uses:

  GET  /2018-06-01/runtime/invocation/next             serves the case's event once (in warm mode:
                                                       its events one per /next, in order), with
                                                       Lambda-Runtime-Aws-Request-Id, -Deadline-Ms,
                                                       -Invoked-Function-Arn, -Trace-Id; a /next
                                                       after the last event blocks until the run is
                                                       over
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

Clerk webhook cases (with --webhook BIN --webhook-secret whsec_... --webhook-user ID): every event is
an API Gateway REST proxy event of POST /v1/webhooks/clerk, built and Svix-signed just before its
process is spawned (unique svix-id, svix-timestamp = now, Clerk `timestamp` in ms strictly
increasing), and a run counts only if the answer is 200 with outcome "applied":
  webhook user.updated           the seeded user, banned false (the authorizer cases still use it)
  webhook user.deleted K keys    with --delete-users a,b,...: the next fresh user per run (a deletion
                                 is final; warm-up + runs of them), each with --delete-keys K active
                                 keys (default 25, seed.py --delete-users/--delete-keys), and the
                                 answer must say revokedKeys = K

Warm mode (--warm N, default 200; 0 turns it off): after the cold runs, one more process per case
that has warm events (health, webhook user.updated) gets its cold event and then N more, back to
back; for webhook user.updated each is a distinct signed event for --warm-user, banned alternating
true/false, so each applies. Prints min / median / p90 / max / mean of the N per-invocation times
(GET /next that delivers the event -> its response POST), their median's ratio to health's, and
VmHWM after the last event. The cold table is printed first, as without warm mode; --json gets the
warm figures under "warm".
"""

import argparse
import base64
import hashlib
import hmac
import json
import math
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
WARM_EVENT_TIMEOUT_S = 1.0  # added to a warm process's deadline per warm event
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


def webhook_event(body, svix_id, svix_timestamp, svix_signature):
    """An API Gateway REST proxy event of a Svix delivery (the shape of events/clerk-webhook.json)."""
    agent = "Svix-Webhooks/1.0 (sender-XXXXX; +https://www.svix.com/http-sender/)"
    headers = {
        "Content-Type": "application/json",
        "Host": "abcdef1234.execute-api.us-east-1.amazonaws.com",
        "User-Agent": agent,
        "svix-id": svix_id,
        "svix-timestamp": str(svix_timestamp),
        "svix-signature": svix_signature,
    }
    return {
        "resource": "/v1/webhooks/clerk",
        "path": "/v1/webhooks/clerk",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "wh1",
            "resourcePath": "/v1/webhooks/clerk",
            "httpMethod": "POST",
            "path": "/prod/v1/webhooks/clerk",
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": "prod",
            "domainPrefix": "abcdef1234",
            "requestTimeEpoch": int(time.time() * 1000),
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "203.0.113.7", "userAgent": agent},
            "domainName": "abcdef1234.execute-api.us-east-1.amazonaws.com",
            "apiId": "abcdef1234",
        },
        "body": body.decode(),
        "isBase64Encoded": False,
    }


class WebhookSigner:
    """Signed Clerk deliveries as Svix sends them: a unique svix-id each, svix-timestamp = now (Unix
    seconds), svix-signature = v1,base64(HMAC-SHA256(secret, "{id}.{timestamp}.{body}")), the secret
    being the base64 after whsec_. Clerk's own `timestamp` (ms) strictly increases from one event to
    the next, so every event is newer than the last one applied and applies."""

    def __init__(self, secret):
        encoded = secret.strip().removeprefix("whsec_")
        self.key = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
        self.last_ms = 0

    def _at_ms(self):
        self.last_ms = max(int(time.time() * 1000), self.last_ms + 1)
        return self.last_ms

    def event(self, event_type, user_id, banned=False):
        at_ms = self._at_ms()
        if event_type == "user.deleted":
            data = {"id": user_id, "object": "user", "deleted": True}
        else:
            data = {
                "id": user_id,
                "object": "user",
                "banned": banned,
                "locked": False,
                "first_name": "Cold",
                "last_name": "Start",
                "email_addresses": [],
                "created_at": 1_700_000_000_000,
                "updated_at": at_ms,
            }
        body = json.dumps(
            {
                "data": data,
                "event_attributes": {"http_request": {"client_ip": "203.0.113.7", "user_agent": "Svix-Webhooks/1.0"}},
                "instance_id": "ins_coldstart",
                "object": "event",
                "timestamp": at_ms,
                "type": event_type,
            },
            separators=(",", ":"),
        ).encode()
        svix_id = "msg_" + uuid.uuid4().hex
        svix_timestamp = int(time.time())
        signed = f"{svix_id}.{svix_timestamp}.".encode() + body
        tag = base64.b64encode(hmac.new(self.key, signed, hashlib.sha256).digest()).decode()
        return webhook_event(body, svix_id, svix_timestamp, f"v1,{tag}")


# ---------------------------------------------------------------------------------------------------
# the fake Runtime API


class Run:
    """One process lifetime: the events it gets, in order (one for a cold run; 1 + N in warm mode),
    and what it did with them."""

    def __init__(self, events, function_name):
        self.events = [json.dumps(event).encode() for event in events]
        self.function_name = function_name
        self.request_ids = [str(uuid.uuid4()) for _ in self.events]
        self.index = {request_id: i for i, request_id in enumerate(self.request_ids)}
        self.served = 0  # events handed out so far
        self.t_next = [None] * len(self.events)  # per event: its GET /next arrived
        self.t_response = [None] * len(self.events)  # per event: its response POST arrived
        self.responses = [None] * len(self.events)
        self.error = None
        self.finished = threading.Event()  # the last response, or an error, arrived
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
            index = None
            if run is not None and run.error is None and run.served < len(run.events):
                index = run.served
                run.served += 1
                run.t_next[index] = now
        if run is None:
            self.close_connection = True
            return
        if index is None:
            # The runtime loops for its next event: keep it waiting until the harness kills it.
            run.over.wait(RUN_TIMEOUT_S)
            self.close_connection = True
            return
        deadline = int(time.time() * 1000) + 10_000
        self._reply(
            200,
            run.events[index],
            {
                "Content-Type": "application/json",
                "Lambda-Runtime-Aws-Request-Id": run.request_ids[index],
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
        index = run.index.get(m.group(1)) if run is not None and m else None
        if index is not None:
            if m.group(2) == "response":
                run.t_response[index] = now
                run.responses[index] = body
            else:
                run.error = f"invocation error (event {index}): {body[:500]!r}"
            self._reply(202, b'{"status":"OK"}', {"Content-Type": "application/json"})
            if run.error is not None or index == len(run.events) - 1:
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


def measure(case, logdir, stop_signal=signal.SIGKILL, warm=0):
    # A server (and port) per run: a request the previous process sent just before it was killed can
    # never be mistaken for this process's first /next.
    server = RuntimeApi()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.5}, daemon=True)
    thread.start()
    # Let the server thread reach its accept loop (and the previous process's teardown finish) so
    # neither is inside the measured window.
    time.sleep(SETTLE_S)
    try:
        return measure_with(server, case, logdir, stop_signal, warm)
    finally:
        server.shutdown()
        server.server_close()


def measure_with(server, case, logdir, stop_signal, warm):
    """One process: its cold invocation (the case's event) and, with `warm` > 0, `warm` more events
    (the case's warm_event(i)), all built (and signed) before the spawn."""
    result = {"case": case["name"], "ok": False}
    try:
        events = [case["event"]() if callable(case["event"]) else case["event"]]
        events += [case["warm_event"](i) for i in range(warm)]
    except Exception as error:  # noqa: BLE001 (reported as a failed run)
        result["error"] = f"cannot build the event: {error}"
        return result
    run = Run(events, case["function_name"])
    env = dict(case["env"])
    env["AWS_LAMBDA_RUNTIME_API"] = f"127.0.0.1:{server.server_address[1]}"
    log_path = os.path.join(logdir, f"{case['name']}{' warm' if warm else ''}.log")
    with server.lock:
        server.run = run
    with open(log_path, "wb") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen([case["binary"]], env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = t0 + RUN_TIMEOUT_S + warm * WARM_EVENT_TIMEOUT_S
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

    if run.error is not None or None in run.t_response:
        tail = open(log_path, errors="replace").read()[-2000:]
        trail = "; ".join(f"{(t - t0) * 1000:.1f}ms {what}" for t, what in run.trail[-12:])
        answered = sum(t is not None for t in run.t_response)
        result["error"] = run.error or (
            f"no response to event {answered} of {len(events)} (exit code {proc.returncode});"
            f" seen (last 12): {trail}; output:\n{tail}"
        )
        return result
    for index, response in enumerate(run.responses):
        check = case["check"](response) if index == 0 else case.get("warm_check", case["check"])(response)
        if check is not None:
            result["error"] = f"unexpected response to event {index}: {check}"
            return result
    result.update(
        ok=True,
        init_ms=(run.t_next[0] - t0) * 1000,
        total_ms=(run.t_response[0] - t0) * 1000,
        invoke_ms=(run.t_response[0] - run.t_next[0]) * 1000,
        hwm_kb=status.get("VmHWM"),
        decision_us=decision_micros(log_path),
    )
    if warm:
        result["warm_ms"] = [(r - n) * 1000 for n, r in zip(run.t_next[1:], run.t_response[1:])]
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


def expect_webhook(outcome, revoked_keys=None):
    """statusCode 200 and a delivery view with this outcome (and revokedKeys, when given)."""

    def check(body):
        try:
            doc = json.loads(body)
            got = doc.get("statusCode")
            inner = doc.get("body") or ""
            if doc.get("isBase64Encoded"):
                inner = base64.b64decode(inner).decode()
        except (ValueError, AttributeError):
            return f"not a proxy response: {body[:300]!r}"
        if got != 200:
            return f"statusCode {got}, expected 200: {inner[:300]!r}"
        try:
            view = json.loads(inner)
        except ValueError:
            return f"body is not JSON: {inner[:300]!r}"
        if not isinstance(view, dict) or view.get("outcome") != outcome:
            return f"outcome {view.get('outcome') if isinstance(view, dict) else None}, expected {outcome}: {inner[:300]!r}"
        if revoked_keys is not None and view.get("revokedKeys") != revoked_keys:
            return f"revokedKeys {view.get('revokedKeys')}, expected {revoked_keys}: {inner[:300]!r}"
        return None

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
            "warm_event": lambda _i: health_event(),
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
    if args.webhook:
        cases.extend(webhook_cases(args))
    return cases


def webhook_cases(args):
    """The Clerk webhook function: user.updated of the seeded user (banned false, so the authorizer
    cases still find it usable), with warm events for --warm-user alternating banned true/false; and,
    with --delete-users, user.deleted of a fresh user per run (a deletion is final) with its keys."""
    signer = WebhookSigner(args.webhook_secret)
    env = lambda_env("gatehouse-clerk-webhook", 256)
    env.update(
        TABLE_NAME=args.table,
        AWS_ENDPOINT_URL_DYNAMODB=args.ddb_endpoint,
        CLERK_WEBHOOK_SECRET=args.webhook_secret,
        DEFAULT_ROLE="none",
    )
    warm_user = args.warm_user or args.webhook_user
    cases = [
        {
            "name": "webhook user.updated",
            "binary": args.webhook,
            "function_name": "gatehouse-clerk-webhook",
            "env": env,
            "event": lambda: signer.event("user.updated", args.webhook_user, banned=False),
            "check": expect_webhook("applied", 0),
            "warm_event": lambda i: signer.event("user.updated", warm_user, banned=i % 2 == 0),
        }
    ]
    doomed = [user for user in (args.delete_users or "").split(",") if user]
    if doomed:

        def deletion():
            if not doomed:
                raise RuntimeError("no fresh user left to delete (seed more with seed.py --delete-users)")
            return signer.event("user.deleted", doomed.pop(0))

        cases.append(
            {
                "name": f"webhook user.deleted {args.delete_keys} keys",
                "binary": args.webhook,
                "function_name": "gatehouse-clerk-webhook",
                "env": env,
                "event": deletion,
                "check": expect_webhook("applied", args.delete_keys),
            }
        )
    return cases


# ---------------------------------------------------------------------------------------------------
# report


def trio(values, fmt="{:7.1f}"):
    return " / ".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


def p90(values):
    """Nearest-rank 90th percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def warm_report(cases, logdir, stop_signal, warm):
    """One process per case with warm events: its cold invocation, then `warm` more; prints the
    per-invocation times. Returns (summary, failures)."""
    warm_cases = [case for case in cases if "warm_event" in case]
    results = {}
    failures = 0
    for case in warm_cases:
        result = measure(case, logdir, stop_signal, warm)
        if not result["ok"]:
            failures += 1
            print(f"  FAILED {case['name']} (warm): {result['error']}", file=sys.stderr)
            continue
        results[case["name"]] = result
    print()
    print(
        f"warm: one process per case; after its cold invocation it gets {warm} more events back to back;"
        " /next -> response POST per event, ms"
    )
    header = (
        f"{'case':<28} {'n':>4}  {'min':>7}  {'median':>7}  {'p90':>7}  {'max':>7}  {'mean':>7}"
        f"  {'x health':>8}  {'cold total':>10}  {'peak RSS MiB':>12}"
    )
    print(header)
    print("-" * len(header))
    health = results.get("health (baseline)")
    baseline = statistics.median(health["warm_ms"]) if health else None
    summary = {}
    for case in warm_cases:
        result = results.get(case["name"])
        if result is None:
            print(f"{case['name']:<28}  no successful run")
            continue
        times = result["warm_ms"]
        med = statistics.median(times)
        rss = result["hwm_kb"] / 1024 if result["hwm_kb"] else None
        summary[case["name"]] = {
            "n": len(times),
            "min_ms": min(times),
            "median_ms": med,
            "p90_ms": p90(times),
            "max_ms": max(times),
            "mean_ms": statistics.fmean(times),
            "ratio_to_health": med / baseline if baseline else None,
            "cold_total_ms": result["total_ms"],
            "peak_rss_mib": rss,
            "warm_ms": times,
        }
        ratio = f"{med / baseline:7.2f}x" if baseline else "n/a"
        print(
            f"{case['name']:<28} {len(times):>4}  {min(times):7.3f}  {med:7.3f}  {p90(times):7.3f}  {max(times):7.3f}"
            f"  {statistics.fmean(times):7.3f}  {ratio:>8}  {result['total_ms']:8.1f}ms"
            f"  {(f'{rss:.1f}' if rss else 'n/a'):>12}"
        )
    print()
    print("peak RSS = VmHWM after the last warm event; cold total = that process's spawn -> first response")
    return summary, failures


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
    parser.add_argument("--webhook", help="the clerk-webhook binary (adds the webhook cases)")
    parser.add_argument("--webhook-secret", help="the endpoint's whsec_... secret (CLERK_WEBHOOK_SECRET)")
    parser.add_argument("--webhook-user", help="seeded user the cold user.updated events update (banned false)")
    parser.add_argument("--warm-user", help="seeded user the warm user.updated events update (default: --webhook-user)")
    parser.add_argument(
        "--delete-users",
        help="comma-separated fresh users with keys, one per run of the user.deleted case (warm-up + runs of them)",
    )
    parser.add_argument("--delete-keys", type=int, default=25, help="active keys each of those users has")
    parser.add_argument(
        "--warm",
        type=int,
        default=200,
        metavar="N",
        help="after the cold runs, one more process per case with warm events (health, webhook user.updated)"
        " gets N events after its cold one; prints per-invocation min/median/p90/max (0: off)",
    )
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--json", help="write every run here")
    parser.add_argument("--only", help="run only the cases whose name contains this (and the health baseline)")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the authorizer and webhook cases (experiments: RUST_LOG, SSL_CERT_DIR, ...)",
    )
    parser.add_argument(
        "--stop-signal",
        default="KILL",
        help="signal that ends a process after its response (TERM lets a wrapper such as perf record finish)",
    )
    args = parser.parse_args()
    if args.webhook and not (args.webhook_secret and args.webhook_user):
        parser.error("--webhook needs --webhook-secret and --webhook-user")

    cases = build_cases(args)
    extra = dict(item.split("=", 1) for item in args.env)
    for case in cases:
        if case["binary"] in (args.authorizer, args.webhook):
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
    warm_summary = None
    if args.warm > 0:
        warm_summary, warm_failures = warm_report(cases, logdir, stop_signal, args.warm)
        failures += warm_failures
    if args.json:
        with open(args.json, "w") as out:
            document = {"summary": summary, "runs": results}
            if warm_summary is not None:
                document["warm"] = warm_summary
            json.dump(document, out, indent=2)
        print(f"all runs: {args.json}")
    if failures:
        print(f"{failures} run(s) failed; process output under {logdir}", file=sys.stderr)
        return 1
    shutil.rmtree(logdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
