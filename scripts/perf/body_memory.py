#!/usr/bin/env python3
"""Peak memory of the create-key function for a small and a 6 MB request body, through the fake
Lambda Runtime API of cold_start.py (driven by scripts/measure-body-memory; standard library only).

Each run starts a fresh process, hands it one API Gateway proxy event (events/create-key.json with
the body replaced), waits for its answer and reads VmHWM (peak RSS) from /proc. Neither body reaches
the store: the small one is refused by validation (400), the large one by its size (413), so no
DynamoDB is needed. The 6 MB event itself costs the runtime about 12 MB (the event bytes and the
parsed request); everything above that is the function's handling of the body.
"""

import argparse
import copy
import json
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cold_start import measure  # noqa: E402

SIX_MB = 6 * 1024 * 1024


def case(name, binary, base_event, body, statuses):
    event = copy.deepcopy(base_event)
    event["body"] = body

    def check(answer):
        try:
            got = json.loads(answer).get("statusCode")
        except ValueError:
            return f"not JSON: {answer[:200]!r}"
        return None if got in statuses else f"status {got}, expected {statuses}: {answer[:300]!r}"

    return {
        "name": name,
        "binary": binary,
        "function_name": "create-key",
        "event": event,
        "check": check,
        "env": {
            "PATH": os.environ.get("PATH", ""),
            "AWS_LAMBDA_FUNCTION_NAME": "create-key",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_LEVEL": "warn",
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_EC2_METADATA_DISABLED": "true",
            # Never reached (both bodies are refused before any store call); a closed port if it were.
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
            "TABLE_NAME": "gatehouse-body-memory",
            "API_KEY_PEPPER": "body-memory-dev-pepper-0123456789",
        },
    }


def main():
    parser = argparse.ArgumentParser(description="peak RSS of create-key for a small and a 6 MB body")
    parser.add_argument("--binary", required=True, help="the create-key release binary")
    parser.add_argument("--event", required=True, help="events/create-key.json")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    base = json.load(open(args.event))
    # Ends with an unknown scope, so a build that parses it refuses it (400) without a store call.
    big_body = json.dumps({"name": "x", "scopes": ["read"] * (SIX_MB // 8) + ["admin"]})
    small = case("small body (400)", args.binary, base, json.dumps({"name": ""}), (400,))
    # 413 since the body limit; a build without it parses the body and refuses it as 400 (too many
    # scopes). Either way the figure is the memory the answer took.
    big = case("6 MB body", args.binary, base, big_body, (413, 400))
    results = {small["name"]: [], big["name"]: []}
    with tempfile.TemporaryDirectory() as logdir:
        for _ in range(args.runs):
            for c in (small, big):
                result = measure(c, logdir)
                if not result["ok"]:
                    print(f"{c['name']}: {result['error']}", file=sys.stderr)
                    return 1
                results[c["name"]].append(result["hwm_kb"])
    print(f"body of the 6 MB case: {len(big_body)} bytes; runs per case: {args.runs}")
    print(f"{'case':<22} {'peak RSS (median)':>18} {'min':>10} {'max':>10}")
    for name, values in results.items():
        print(
            f"{name:<22} {statistics.median(values) / 1024:15.1f} MiB {min(values) / 1024:7.1f} MiB"
            f" {max(values) / 1024:7.1f} MiB"
        )
    small_median = statistics.median(results[small["name"]])
    big_median = statistics.median(results[big["name"]])
    print(f"6 MB body costs {(big_median - small_median) / 1024:.1f} MiB more than a small one")
    return 0


if __name__ == "__main__":
    sys.exit(main())
