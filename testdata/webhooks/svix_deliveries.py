#!/usr/bin/env python3
"""The official svix library (PyPI `svix`, pinned in scripts/servers.sh) as the third party of the
Clerk webhook tests (cli/tests/clerk_webhooks.rs): it signs deliveries for Gatehouse to verify, and
verifies what `gatehouse webhooks send` signs. Nothing here re-implements the scheme: every signature
comes from svix.webhooks.Webhook.sign and every check from svix.webhooks.Webhook.verify.

Reads one JSON object on stdin (so the secret is never on a command line) and writes one on stdout.

  svix_deliveries.py sign     {"secret": "whsec_...",
                               "deliveries": [{"id": "msg_...", "timestamp": <Unix s>, "payload": "<body>"}]}
                           -> {"svix": "<version>",
                               "headers": [{"svix-id": ..., "svix-timestamp": ..., "svix-signature": ...}]}
  svix_deliveries.py verify   {"secret": "whsec_...", "headers": {...}, "body": "<body>"}
                           -> {"svix": "<version>", "verified": true, "payload": <parsed body>}
                              or {"verified": false, "error": "..."} and exit status 1

`payload`/`body` is the exact request body text: it is signed and verified byte for byte (as UTF-8),
never re-serialized. `verify` checks the timestamp against the current time, as Svix's receivers do.
"""

import datetime
import importlib.metadata
import json
import sys

from svix.webhooks import Webhook, WebhookVerificationError


def sign(request):
    webhook = Webhook(request["secret"])
    headers = []
    for delivery in request["deliveries"]:
        payload = delivery["payload"]
        if not isinstance(payload, str):
            raise SystemExit("payload must be the body text, not parsed JSON")
        sent_at = datetime.datetime.fromtimestamp(int(delivery["timestamp"]), tz=datetime.timezone.utc)
        headers.append(
            {
                "svix-id": delivery["id"],
                "svix-timestamp": str(int(delivery["timestamp"])),
                "svix-signature": webhook.sign(delivery["id"], sent_at, payload),
            }
        )
    return {"headers": headers}


def verify(request):
    webhook = Webhook(request["secret"])
    try:
        webhook.verify(request["body"], request["headers"])
    except WebhookVerificationError as error:
        return {"verified": False, "error": str(error)}
    return {"verified": True, "payload": json.loads(request["body"])}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in ("sign", "verify"):
        raise SystemExit(__doc__)
    request = json.load(sys.stdin)
    answer = sign(request) if sys.argv[1] == "sign" else verify(request)
    answer["svix"] = importlib.metadata.version("svix")
    json.dump(answer, sys.stdout)
    sys.stdout.write("\n")
    return 0 if answer.get("verified", True) else 1


if __name__ == "__main__":
    sys.exit(main())
