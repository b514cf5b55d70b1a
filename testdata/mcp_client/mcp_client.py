"""The official MCP Python SDK (PyPI `mcp`) against `gatehouse serve --demo`.

Starting from nothing but the MCP endpoint's URL, for each demo user (a signer, a manager, an admin)
the SDK's Streamable HTTP client, authenticated three ways:

  oauth    the SDK's own OAuthClientProvider (in-memory token storage): it gets the 401 of /mcp,
           reads the protected-resource metadata the challenge names, discovers the authorization
           server (serve's dev one), registers a client, runs the authorization code flow with
           PKCE (the redirect handler fetches the authorization URL with `login_hint=<user>` and
           hands the code and state of the redirect to the callback handler), and retries;
  api-key  a static `Authorization: Bearer <key>` from `gatehouse keys create`;
  session  a static `Authorization: Bearer <jwt>` from `gatehouse token mint`.

Each connection (in each of the SDK's connect modes: `auto`, which probes server/discover and speaks
2026-07-28 to a server that does, and `legacy`, the initialize handshake) lists the tools (exactly
the seven of the contract) and calls every one, comparing the tool's result with the REST route's
answer fetched with the same credential: a 2xx body must equal the tool's structured content; an
error answer must come back as a tool error carrying the same body (the report says when only the
error code matched). Then it times each tool (median of a few calls) and its REST route.

Usage: mcp_client.py --url http://127.0.0.1:<port> --gatehouse <bin> [--calls N] [--mode auto,legacy]
(GATEHOUSE_HOME and the working directory must be serve's, for `keys create` and `token mint`).
Prints one line per check and a timing table; exits 1 on any mismatch. Never prints a credential.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx2
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)

USERS = ("user_demo_signer", "user_demo_manager", "user_demo_admin")
TOOLS = (
    "whoami",
    "list_api_keys",
    "list_organizations",
    "list_locations",
    "list_location_packages",
    "list_signing_packages",
    "get_package",
)
REDIRECT_URI = "http://127.0.0.1:9/callback"
TIMEOUT = httpx2.Timeout(30.0, read=60.0)


class InMemoryTokenStorage:
    """The SDK's TokenStorage protocol, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


@dataclass
class Report:
    failures: list[str] = field(default_factory=list)
    timings: list[tuple[str, str, str, str, str, float, float]] = field(default_factory=list)

    def ok(self, label: str) -> None:
        print(f"  ok    {label}", flush=True)

    def fail(self, label: str, detail: str) -> None:
        print(f"  FAIL  {label}: {detail}", flush=True)
        self.failures.append(f"{label}: {detail}")


def path_of(url: httpx2.URL | str) -> str:
    """The path of a URL, never its query (codes and verifiers travel there)."""
    return urlparse(str(url)).path


class Recorder:
    """httpx2 event hooks: method, path and status of every request the client sends."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, int, str]] = []

    async def response(self, response: httpx2.Response) -> None:
        challenge = response.headers.get("www-authenticate", "")
        self.seen.append((response.request.method, path_of(response.request.url), response.status_code, challenge))

    def hooks(self) -> dict[str, list[Any]]:
        return {"response": [self.response]}


def oauth_provider(mcp_url: str, user: str, storage: InMemoryTokenStorage, recorder: Recorder) -> OAuthClientProvider:
    """The SDK's OAuth provider; the 'browser' is an httpx2 GET with login_hint, redirects not followed."""
    redirect: asyncio.Future[AuthorizationCodeResult] | None = None

    async def redirect_handler(authorization_url: str) -> None:
        nonlocal redirect
        redirect = asyncio.get_running_loop().create_future()
        separator = "&" if urlparse(authorization_url).query else "?"
        url = f"{authorization_url}{separator}{urlencode({'login_hint': user})}"
        async with httpx2.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as browser:
            response = await browser.get(url)
        recorder.seen.append(("GET", path_of(url), response.status_code, ""))
        location = response.headers.get("location", "")
        if response.status_code != 302 or not location.startswith(REDIRECT_URI):
            raise RuntimeError(
                f"the authorization endpoint answered {response.status_code}, not a redirect to the client"
            )
        params = parse_qs(urlparse(location).query)
        if "error" in params:
            description = params.get("error_description", [""])[0]
            raise RuntimeError(f"authorization refused: {params['error'][0]}: {description}")
        redirect.set_result(
            AuthorizationCodeResult(
                code=params["code"][0],
                state=params.get("state", [None])[0],
                iss=params.get("iss", [None])[0],
            )
        )

    async def callback_handler() -> AuthorizationCodeResult:
        if redirect is None:
            raise RuntimeError("the callback came before the redirect")
        return await redirect

    return OAuthClientProvider(
        server_url=mcp_url,
        client_metadata=OAuthClientMetadata(
            client_name="gatehouse mcp_client.py",
            redirect_uris=[REDIRECT_URI],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
    )


def check_oauth_sequence(report: Report, label: str, recorder: Recorder) -> None:
    """The SDK went 401 -> resource metadata -> AS metadata -> register -> authorize -> token -> /mcp."""
    seen = recorder.seen
    steps = [(m, p, s) for m, p, s, _ in seen]
    first = seen[0] if seen else None
    if not first or first[1] != "/mcp" or first[2] != 401:
        report.fail(f"{label}: 401 first", f"the first request was {first[:3] if first else None}")
        return
    challenge = first[3]
    if "resource_metadata=" not in challenge:
        report.fail(f"{label}: 401 challenge", f"WWW-Authenticate has no resource_metadata: {challenge!r}")
    wanted = [
        ("GET", "/.well-known/oauth-protected-resource", 200),
        ("GET", "/.well-known/oauth-authorization-server", 200),
        ("POST", "/oauth/register", 201),
        ("GET", "/oauth/authorize", 302),
        ("POST", "/oauth/token", 200),
        ("POST", "/mcp", 200),
    ]
    position = 1
    for method, prefix, status in wanted:
        while position < len(steps) and not (
            steps[position][0] == method and steps[position][1].startswith(prefix) and steps[position][2] == status
        ):
            position += 1
        if position >= len(steps):
            report.fail(f"{label}: OAuth flow", f"no {method} {prefix}* -> {status} in order; saw {steps}")
            return
        position += 1
    flow = " -> ".join(f"{m} {p} {s}" for m, p, s in steps[: position])
    report.ok(f"{label}: OAuth flow {flow}")


def check_access_token(report: Report, label: str, token: str, user: str, client_id: str, mcp_url: str) -> None:
    """The token the SDK got is Clerk's shape, for this user, client and resource (read, not verified:
    the API verifies it on every call that follows)."""
    try:
        header, payload = (
            json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))) for part in token.split(".")[:2]
        )
    except ValueError:
        report.fail(f"{label}: access token", "not a JWT")
        return
    problems = []
    if header.get("typ") != "at+jwt" or header.get("alg") != "RS256" or not header.get("kid"):
        problems.append(f"header {header}")
    if payload.get("sub") != user or payload.get("client_id") != client_id:
        problems.append(f"sub {payload.get('sub')!r}, client_id {payload.get('client_id')!r}")
    if payload.get("aud") not in (mcp_url, mcp_url.removesuffix("/mcp")):
        problems.append(f"aud {payload.get('aud')!r}")
    if not all(isinstance(payload.get(c), int) for c in ("iat", "nbf", "exp")) or not payload.get("jti"):
        problems.append("iat, nbf, exp or jti missing")
    if problems:
        report.fail(f"{label}: access token", "; ".join(problems))
    else:
        report.ok(
            f"{label}: at+jwt for {user}, client {client_id}, aud {payload['aud']}, scope {payload.get('scope')!r}"
        )


def tool_payload(result: Any) -> tuple[bool, Any]:
    """(is_error, the JSON the tool answered: structured content, else its text parsed as JSON)."""
    if result.structured_content is not None:
        return result.is_error, result.structured_content
    for block in result.content:
        text = getattr(block, "text", None)
        if text is not None:
            try:
                return result.is_error, json.loads(text)
            except ValueError:
                return result.is_error, text
    return result.is_error, None


async def rest(http: httpx2.AsyncClient, base: str, headers: dict[str, str], path: str) -> tuple[int, Any]:
    response = await http.get(f"{base}{path}", headers=headers)
    try:
        body = response.json()
    except ValueError:
        body = response.text
    return response.status_code, body


def rest_path(tool: str, args: dict[str, str]) -> str:
    return {
        "whoami": "/v1/me",
        "list_api_keys": "/v1/me/keys",
        "list_organizations": "/v1/organizations",
        "list_locations": f"/v1/organizations/{args.get('organizationId', '')}/locations",
        "list_location_packages": f"/v1/locations/{args.get('locationId', '')}/packages",
        "list_signing_packages": "/v1/signing/session",
        "get_package": f"/v1/signing/packages/{args.get('packageId', '')}",
    }[tool]


def first_id(status: int, body: Any, fallback: str) -> str:
    if status == 200 and isinstance(body, dict):
        items = body.get("items")
        if isinstance(items, list) and items and isinstance(items[0], dict) and "id" in items[0]:
            return str(items[0]["id"])
    return fallback


def same_answer(rest_status: int, rest_body: Any, is_error: bool, payload: Any) -> str | None:
    """How the tool's answer matches the route's: "same body", "same error body", "same error code",
    or None when it does not."""
    if 200 <= rest_status < 300:
        return "same body" if not is_error and payload == rest_body else None
    if not is_error:
        return None
    if payload == rest_body:
        return "same error body"
    # An error the tool rendered differently: it must at least carry the route's code.
    code = rest_body.get("code") if isinstance(rest_body, dict) else None
    return "same error code" if isinstance(code, str) and code in json.dumps(payload) else None


async def exercise(
    report: Report,
    client: Client,
    http: httpx2.AsyncClient,
    base: str,
    headers: dict[str, str],
    mode: str,
    user: str,
    calls: int,
    connect: str,
) -> None:
    label = f"{connect}/{mode}/{user}"
    listed = await client.list_tools()
    names = sorted(tool.name for tool in listed.tools)
    if names == sorted(TOOLS):
        report.ok(f"{label}: tools/list has the seven tools")
    else:
        report.fail(f"{label}: tools/list", f"expected {sorted(TOOLS)}, got {names}")

    args: dict[str, str] = {}
    status, body = await rest(http, base, headers, "/v1/organizations")
    args["organizationId"] = first_id(status, body, "org_demo")
    status, body = await rest(http, base, headers, rest_path("list_locations", args))
    args["locationId"] = first_id(status, body, "loc_demo_1")
    status, body = await rest(http, base, headers, "/v1/signing/session")
    package = first_id(status, body, "")
    if not package:
        status, body = await rest(http, base, headers, rest_path("list_location_packages", args))
        package = first_id(status, body, "pkg_demo_lease")
    args["packageId"] = package

    for tool in TOOLS:
        arguments = {
            "list_locations": {"organizationId": args["organizationId"]},
            "list_location_packages": {"locationId": args["locationId"]},
            "get_package": {"packageId": args["packageId"]},
        }.get(tool, {})
        path = rest_path(tool, arguments)
        matched = False
        detail = ""
        for attempt in range(2):  # one retry: lastUsedAt may move between the two reads
            try:
                result = await client.call_tool(tool, arguments)
            except Exception as error:  # noqa: BLE001 - reported, not raised
                detail = f"tools/call raised {type(error).__name__}: {error}"
                break
            is_error, payload = tool_payload(result)
            rest_status, rest_body = await rest(http, base, headers, path)
            how = same_answer(rest_status, rest_body, is_error, payload)
            if how:
                matched = True
                shown = f"{rest_status}, {how}" + (", on retry" if attempt else "")
                report.ok(f"{label}: {tool}{json.dumps(arguments) if arguments else ''} == GET {path} ({shown})")
                break
            detail = (
                f"tool {'error' if is_error else 'result'} {json.dumps(payload)[:400]} "
                f"!= GET {path} {rest_status} {json.dumps(rest_body)[:400]}"
            )
        if not matched:
            report.fail(f"{label}: {tool}", detail)
            continue
        mcp_ms = []
        rest_ms = []
        for _ in range(calls):
            started = time.perf_counter()
            await client.call_tool(tool, arguments)
            mcp_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            await rest(http, base, headers, path)
            rest_ms.append((time.perf_counter() - started) * 1000)
        report.timings.append(
            (connect, mode, user, tool, path, statistics.median(mcp_ms), statistics.median(rest_ms))
        )


def gatehouse(binary: str, *args: str) -> str:
    done = subprocess.run([binary, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        # stderr is a one-line message that never holds a secret; stdout might.
        raise RuntimeError(f"gatehouse {' '.join(args[:2])} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def describe(error: BaseException) -> str:
    """An exception in one line, task-group wrappers unwrapped."""
    if isinstance(error, BaseExceptionGroup):
        return "; ".join(describe(inner) for inner in error.exceptions)
    return f"{type(error).__name__}: {error}"


async def run_user(report: Report, base: str, binary: str, mode: str, user: str, calls: int, connect: str) -> None:
    """One connection: one credential, one user, one connect mode. A failure is reported, never raised,
    so it cannot hide the others."""
    mcp_url = f"{base}/mcp"
    recorder = Recorder()
    label = f"{connect}/{mode}/{user}"
    storage = InMemoryTokenStorage()
    try:
        auth: httpx2.Auth | None = None
        static: dict[str, str] = {}
        if mode == "oauth":
            auth = oauth_provider(mcp_url, user, storage, recorder)
        elif mode == "api-key":
            created = gatehouse(
                binary, "keys", "create", "--user", user, "--name", "mcp-client", "--scopes", "read,write"
            )
            static = {"Authorization": f"Bearer {json.loads(created)['key']}"}
        elif mode == "session":
            static = {"Authorization": f"Bearer {gatehouse(binary, 'token', 'mint', '--sub', user)}"}
        else:
            raise ValueError(f"unknown credential {mode!r}: oauth, api-key or session")
        async with (
            httpx2.AsyncClient(timeout=TIMEOUT, headers=static, auth=auth, event_hooks=recorder.hooks()) as http,
            httpx2.AsyncClient(timeout=TIMEOUT) as plain,
            Client(streamable_http_client(mcp_url, http_client=http), mode=connect, cache=None) as client,
        ):
            headers = static
            if mode == "oauth":
                check_oauth_sequence(report, label, recorder)
                if storage.tokens is None or storage.client_info is None:
                    report.fail(label, "the SDK holds no token after connecting")
                    return
                token = storage.tokens.access_token
                headers = {"Authorization": f"Bearer {token}"}
                check_access_token(report, label, token, user, storage.client_info.client_id, mcp_url)
            server = client.server_info
            report.ok(
                f"{label}: connected ({connect} mode), protocol {client.protocol_version}, server "
                f"{server.name if server else '?'} {server.version if server else ''}".rstrip()
            )
            await exercise(report, client, plain, base, headers, mode, user, calls, connect)
    except Exception as error:  # noqa: BLE001 - reported, and the run goes on
        report.fail(label, describe(error))
        for method, path, status, _ in recorder.seen[-8:]:
            print(f"        {method} {path} -> {status}", flush=True)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="serve's base URL, http://127.0.0.1:<port>")
    parser.add_argument("--gatehouse", required=True, help="the gatehouse binary")
    parser.add_argument("--calls", type=int, default=5, help="calls per tool for the timing median")
    parser.add_argument(
        "--mode",
        default="auto,legacy",
        help="the SDK's connect modes, comma-separated: auto (server/discover, 2026-07-28 when the server "
        "speaks it, else initialize) and legacy (the initialize handshake, 2025-11-25)",
    )
    parser.add_argument("--api", default="rest", help="only for the report: the API type serve emulates")
    parser.add_argument("--modes", default="oauth,api-key,session", help="which credentials to try")
    parser.add_argument("--users", default=",".join(USERS), help="which demo users")
    parser.add_argument("--timings-json", help="also write the timings here, as JSON")
    options = parser.parse_args()
    base = options.url.rstrip("/")
    report = Report()
    for connect in options.mode.split(","):
        for mode in options.modes.split(","):
            for user in options.users.split(","):
                print(f"{mode} as {user}, {connect} connect mode:", flush=True)
                await run_user(report, base, options.gatehouse, mode, user, options.calls, connect)

    print(f"\nround trips, median of {options.calls} calls ({options.api} API), ms:")
    print(f"  {'connect':7} {'credential':10} {'user':8} {'tool':23} {'MCP tool':>8} {'REST':>6}  route")
    for connect, mode, user, tool, path, mcp_ms, rest_ms in report.timings:
        user = user.removeprefix("user_demo_")
        print(f"  {connect:7} {mode:10} {user:8} {tool:23} {mcp_ms:8.1f} {rest_ms:6.1f}  GET {path}")
    if options.timings_json:
        with open(options.timings_json, "w", encoding="utf-8") as out:
            json.dump(
                [
                    {
                        "api": options.api,
                        "connect": c,
                        "credential": m,
                        "user": u,
                        "tool": t,
                        "route": p,
                        "mcp_ms": round(a, 2),
                        "rest_ms": round(b, 2),
                    }
                    for c, m, u, t, p, a, b in report.timings
                ],
                out,
                indent=1,
            )
    if report.failures:
        print(f"\n{len(report.failures)} failure(s):")
        for failure in report.failures:
            print(f"  {failure}")
        return 1
    count = len(report.timings)
    print(f"\nevery tool answered as its REST route, {count} times (connect mode, credential, user, tool)")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
