#!/usr/bin/env python3
"""Creates the Gatehouse table in DynamoDB Local and seeds one user and one API key for the
cold-start measurement (scripts/measure-cold-start). Optionally stores the pepper as a Secrets
Manager secret (moto). Needs boto3 (the tools venv has it, through moto).

The item layout is the one of shared/src/store/dynamo.rs:
  user  pk USER#<userId>          sk PROFILE  userId role organizationIds companyIds locationIds suspended
  key   pk APIKEY#<hmac hex>      sk APIKEY   keyId userId name scopes active createdAt expiresAt tail
                                              gsi1pk=USER#<userId> gsi1sk=APIKEY#<createdAt:012>#<keyId>
The API key is generated like shared/src/apikey.rs: prefix + 32 random base62 characters + 6 base62
characters of zlib.crc32(random part), most significant first, zero padded.

Prints a JSON object: {"api_key": ..., "user_id": ..., "key_id": ..., "pepper_secret_arn": ...}.
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ddb-endpoint", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--pepper", required=True)
    parser.add_argument("--prefix", default="sf_")
    parser.add_argument("--user-id", default="user_2yQcoldStartUser000000001")
    parser.add_argument("--secrets-endpoint", help="also store the pepper as a secret here (moto)")
    parser.add_argument("--secret-name", default="gatehouse/api-key-pepper")
    args = parser.parse_args()

    ddb = boto3.client("dynamodb", endpoint_url=args.ddb_endpoint)
    create_table(ddb, args.table)

    user_id = args.user_id
    ddb.put_item(
        TableName=args.table,
        Item={
            "pk": {"S": f"USER#{user_id}"},
            "sk": {"S": "PROFILE"},
            "userId": {"S": user_id},
            "role": {"S": "manager"},
            "organizationIds": {"L": [{"S": "org_2yQcoldStartOrg0000000001"}]},
            "companyIds": {"L": [{"S": "cmp_1"}, {"S": "cmp_2"}]},
            "locationIds": {"L": [{"S": "loc_1"}]},
            "suspended": {"BOOL": False},
        },
    )

    api_key = generate_api_key(args.prefix)
    key_hash = hmac.new(args.pepper.encode(), api_key.encode(), hashlib.sha256).hexdigest()
    now = int(time.time())
    key_id = "k_" + "".join(secrets.choice(BASE62) for _ in range(22))
    ddb.put_item(
        TableName=args.table,
        Item={
            "pk": {"S": f"APIKEY#{key_hash}"},
            "sk": {"S": "APIKEY"},
            "keyId": {"S": key_id},
            "userId": {"S": user_id},
            "name": {"S": "cold-start"},
            "scopes": {"L": [{"S": "read"}, {"S": "write"}]},
            "active": {"BOOL": True},
            "createdAt": {"N": str(now)},
            "expiresAt": {"N": str(now + 86_400)},
            "tail": {"S": api_key[-4:]},
            "gsi1pk": {"S": f"USER#{user_id}"},
            "gsi1sk": {"S": f"APIKEY#{now:012d}#{key_id}"},
        },
    )

    secret_arn = None
    if args.secrets_endpoint:
        sm = boto3.client("secretsmanager", endpoint_url=args.secrets_endpoint)
        try:
            secret_arn = sm.create_secret(Name=args.secret_name, SecretString=args.pepper)["ARN"]
        except sm.exceptions.ResourceExistsException:
            secret_arn = sm.put_secret_value(SecretId=args.secret_name, SecretString=args.pepper)["ARN"]

    json.dump({"api_key": api_key, "user_id": user_id, "key_id": key_id, "pepper_secret_arn": secret_arn}, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
