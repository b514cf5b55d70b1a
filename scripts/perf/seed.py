#!/usr/bin/env python3
"""Creates the Gatehouse table in DynamoDB Local and seeds one user and one API key for the
cold-start measurement (scripts/measure-cold-start). Optionally stores the pepper as a Secrets
Manager secret (moto). Needs boto3 (the tools venv has it, through moto).

For the Clerk webhook cases it also seeds (knobs):
  --warm-user-id ID        a plain user without keys that the warm webhook events update (seeded
                           always; default user_2yQcoldStartWarm00000001)
  --delete-users N         N fresh users (ids user_2yQcoldStartDel<run>_<random>), each with
  --delete-keys K          K active keys (default 25) the way create does it: the key record, its
                           KEYID pointer and its element in the user's active-key set, so that a
                           user.deleted event revokes all K (one user per run: a deletion is final)

The item layout is the one of shared/src/store/dynamo.rs:
  user     pk USER#<userId>     sk PROFILE     userId role organizationIds companyIds locationIds suspended
  key      pk APIKEY#<hmac hex> sk APIKEY      keyId userId name scopes active createdAt expiresAt tail
                                               gsi1pk=USER#<userId> gsi1sk=APIKEY#<createdAt:012>#<keyId>
  pointer  pk KEYID#<keyId>     sk KEYID       userId keyHash (hmac hex)
  key set  pk USER#<userId>     sk ACTIVEKEYS  keys: string set of <createdAt:012>#<keyId>#<expiresAt or ->#<scopes csv>
(the main user's key has neither pointer nor set element, like DynamoStore::put_api_key: it only
authenticates). The API key is generated like shared/src/apikey.rs: prefix + 32 random base62
characters + 6 base62 characters of zlib.crc32(random part), most significant first, zero padded.

Prints a JSON object: {"api_key": ..., "user_id": ..., "key_id": ..., "pepper_secret_arn": ...,
"warm_user_id": ..., "delete_user_ids": [...]}.
"""

import argparse
import hashlib
import hmac
import json
import secrets
import sys
import time
import zlib

import boto3

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def base62_fixed(value: int, width: int) -> str:
    digits = []
    for _ in range(width):
        digits.append(BASE62[value % 62])
        value //= 62
    return "".join(reversed(digits))


def generate_api_key(prefix: str) -> str:
    random_part = "".join(secrets.choice(BASE62) for _ in range(32))
    checksum = base62_fixed(zlib.crc32(random_part.encode()), 6)
    return f"{prefix}{random_part}{checksum}"


def create_table(ddb, table: str) -> None:
    try:
        ddb.describe_table(TableName=table)
        return
    except ddb.exceptions.ResourceNotFoundException:
        pass
    ddb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "gsi1pk", "gsi1sk")
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi1",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    ddb.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})


def user_item(user_id: str) -> dict:
    return {
        "pk": {"S": f"USER#{user_id}"},
        "sk": {"S": "PROFILE"},
        "userId": {"S": user_id},
        "role": {"S": "manager"},
        "organizationIds": {"L": [{"S": "org_2yQcoldStartOrg0000000001"}]},
        "companyIds": {"L": [{"S": "cmp_1"}, {"S": "cmp_2"}]},
        "locationIds": {"L": [{"S": "loc_1"}]},
        "suspended": {"BOOL": False},
    }


def new_key_id() -> str:
    return "k_" + "".join(secrets.choice(BASE62) for _ in range(22))


def key_item(key_hash: str, key_id: str, user_id: str, name: str, created_at: int, expires_at: int, tail: str) -> dict:
    return {
        "pk": {"S": f"APIKEY#{key_hash}"},
        "sk": {"S": "APIKEY"},
        "keyId": {"S": key_id},
        "userId": {"S": user_id},
        "name": {"S": name},
        "scopes": {"L": [{"S": "read"}, {"S": "write"}]},
        "active": {"BOOL": True},
        "createdAt": {"N": str(created_at)},
        "expiresAt": {"N": str(expires_at)},
        "tail": {"S": tail},
        "gsi1pk": {"S": f"USER#{user_id}"},
        "gsi1sk": {"S": f"APIKEY#{created_at:012d}#{key_id}"},
    }


def batch_put(ddb, table: str, items: list) -> None:
    """BatchWriteItem, 25 puts per call, unprocessed items resent."""
    for start in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        for attempt in range(20):
            left = ddb.batch_write_item(RequestItems={table: requests}).get("UnprocessedItems", {})
            requests = left.get(table, [])
            if not requests:
                break
            time.sleep(0.05 * (attempt + 1))
        else:
            raise RuntimeError(f"batch_write_item left {len(requests)} item(s) unprocessed")


def seed_user_with_keys(ddb, table: str, pepper: str, prefix: str, user_id: str, keys: int) -> None:
    """A user with `keys` active keys, as create leaves them: record, pointer, set element."""
    now = int(time.time())
    items = [user_item(user_id)]
    elements = []
    for i in range(keys):
        api_key = generate_api_key(prefix)
        key_hash = hmac.new(pepper.encode(), api_key.encode(), hashlib.sha256).hexdigest()
        key_id = new_key_id()
        created_at = now - keys + i  # distinct, oldest first
        expires_at = now + 86_400
        items.append(key_item(key_hash, key_id, user_id, f"doomed-{i}", created_at, expires_at, api_key[-4:]))
        items.append(
            {
                "pk": {"S": f"KEYID#{key_id}"},
                "sk": {"S": "KEYID"},
                "userId": {"S": user_id},
                "keyHash": {"S": key_hash},
            }
        )
        elements.append(f"{created_at:012d}#{key_id}#{expires_at}#read,write")
    if elements:
        items.append({"pk": {"S": f"USER#{user_id}"}, "sk": {"S": "ACTIVEKEYS"}, "keys": {"SS": elements}})
    batch_put(ddb, table, items)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ddb-endpoint", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--pepper", required=True)
    parser.add_argument("--prefix", default="sf_")
    parser.add_argument("--user-id", default="user_2yQcoldStartUser000000001")
    parser.add_argument("--secrets-endpoint", help="also store the pepper as a secret here (moto)")
    parser.add_argument("--secret-name", default="gatehouse/api-key-pepper")
    parser.add_argument("--warm-user-id", default="user_2yQcoldStartWarm00000001", help="user the warm webhook events update")
    parser.add_argument("--delete-users", type=int, default=0, help="fresh users with keys, for user.deleted (one per run)")
    parser.add_argument("--delete-keys", type=int, default=25, help="active keys of each of those users")
    args = parser.parse_args()

    ddb = boto3.client("dynamodb", endpoint_url=args.ddb_endpoint)
    create_table(ddb, args.table)

    user_id = args.user_id
    ddb.put_item(TableName=args.table, Item=user_item(user_id))

    api_key = generate_api_key(args.prefix)
    key_hash = hmac.new(args.pepper.encode(), api_key.encode(), hashlib.sha256).hexdigest()
    now = int(time.time())
    key_id = new_key_id()
    ddb.put_item(
        TableName=args.table,
        Item=key_item(key_hash, key_id, user_id, "cold-start", now, now + 86_400, api_key[-4:]),
    )

    ddb.put_item(TableName=args.table, Item=user_item(args.warm_user_id))
    delete_user_ids = []
    for run in range(args.delete_users):
        doomed = f"user_2yQcoldStartDel{run:03d}_" + "".join(secrets.choice(BASE62) for _ in range(8))
        seed_user_with_keys(ddb, args.table, args.pepper, args.prefix, doomed, args.delete_keys)
        delete_user_ids.append(doomed)

    secret_arn = None
    if args.secrets_endpoint:
        sm = boto3.client("secretsmanager", endpoint_url=args.secrets_endpoint)
        try:
            secret_arn = sm.create_secret(Name=args.secret_name, SecretString=args.pepper)["ARN"]
        except sm.exceptions.ResourceExistsException:
            secret_arn = sm.put_secret_value(SecretId=args.secret_name, SecretString=args.pepper)["ARN"]

    json.dump(
        {
            "api_key": api_key,
            "user_id": user_id,
            "key_id": key_id,
            "pepper_secret_arn": secret_arn,
            "warm_user_id": args.warm_user_id,
            "delete_user_ids": delete_user_ids,
        },
        sys.stdout,
    )
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
