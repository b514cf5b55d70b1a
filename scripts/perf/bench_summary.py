#!/usr/bin/env python3
"""Summarises criterion's estimates for the `decisions` group (scripts/bench).

Reads <group>/<case>/new/estimates.json (median.point_estimate, ns) and prints the medians, the
JWT / raw-RS256 ratio and the API key time against the goals. Never fails on a missed goal or a
missing case: it reports them.
"""

import json
import sys
from pathlib import Path

JWT_RATIO_GOAL = 1.2
API_KEY_GOAL_US = 3.0
CASES = ("rs256_verify_raw", "jwt_decision", "jwt_decision_jwks", "api_key_decision", "jwks_key_lookup", "oauth_decision")


def median_ns(group: Path, case: str):
    path = group / case / "new" / "estimates.json"
    try:
        data = json.loads(path.read_text())
        median = data["median"]
        return (
            float(median["point_estimate"]),
            float(median["confidence_interval"]["lower_bound"]),
            float(median["confidence_interval"]["upper_bound"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"  {case}: no estimate ({path}: {error})")
        return None


def fmt(ns: float) -> str:
    return f"{ns / 1000:9.3f} us"


def main() -> int:
    group = Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion/decisions")
    print()
    print(f"== decisions (criterion medians, {group})")
    found = {case: median_ns(group, case) for case in CASES}
    print(f"  {'case':<20} {'median':>12}   95% CI of the median")
    for case, est in found.items():
        if est:
            print(f"  {case:<20} {fmt(est[0])}   [{fmt(est[1]).strip()} .. {fmt(est[2]).strip()}]")
    print()
    raw, jwt, jwks, key, lookup, oauth = (found[c] for c in CASES)
    if raw and oauth:
        line = f"  oauth_decision / rs256_verify_raw = {oauth[0] / raw[0]:.3f}x"
        if jwt:
            line += f"   (oauth_decision / jwt_decision = {oauth[0] / jwt[0]:.3f}x)"
        print(line)
    if raw and jwt:
        ratio = jwt[0] / raw[0]
        overhead = jwt[0] - raw[0]
        verdict = "MET" if ratio <= JWT_RATIO_GOAL else "MISSED"
        print(
            f"  jwt_decision / rs256_verify_raw = {ratio:.3f}x (goal <= {JWT_RATIO_GOAL}x): {verdict}"
            f"   [overhead over the floor {overhead / 1000:.2f} us]"
        )
    else:
        print("  jwt_decision / rs256_verify_raw: not available")
    if raw and jwks:
        print(f"  jwt_decision_jwks / rs256_verify_raw = {jwks[0] / raw[0]:.3f}x")
    if jwt and jwks:
        print(
            f"  the JWKS key cache (lookup and age check) per decision: {(jwks[0] - jwt[0]) / 1000:+.2f} us"
            " (jwt_decision_jwks - jwt_decision)"
        )
    if lookup:
        print(f"  jwks_key_lookup (warm key cache lookup alone) = {lookup[0]:.1f} ns")
    if key:
        us = key[0] / 1000
        verdict = "MET" if us < API_KEY_GOAL_US else "MISSED"
        print(f"  api_key_decision = {us:.3f} us (goal < {API_KEY_GOAL_US} us): {verdict}")
    else:
        print("  api_key_decision: not available")
    return 0


if __name__ == "__main__":
    sys.exit(main())
