"""deploy/s3_setup.py create|check ENDPOINT BUCKET KEYFILE: prepares the moto S3 server
that deploy/servers.sh runs (with var/venv/bin/python, which has boto3 through moto).

moto checks signatures only for access keys its IAM knows, and only after the number of
unauthenticated calls set by INITIAL_NO_AUTH_ACTION_COUNT. servers.sh starts it with 3:
`create` spends exactly those on an IAM user, its S3 policy and its access key, writes
the key to KEYFILE (shell syntax, mode 600), and from then on every request must be
signed with that key. Both commands then make sure BUCKET exists (signed with the key)
and that a request signed with a wrong secret is refused; exit status 1 otherwise.
"""

import os
import shlex
import sys

import boto3
import botocore.config
import botocore.exceptions

USER = "expd"
POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'
REGION = "us-east-1"
CONFIG = botocore.config.Config(s3={"addressing_style": "path"},
                                retries={"max_attempts": 1, "mode": "standard"})


def client(service, endpoint, key_id, secret):
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, config=CONFIG,
                        aws_access_key_id=key_id, aws_secret_access_key=secret)


def create_key(endpoint, keyfile):
    # The three calls moto lets through unsigned; the credentials are placeholders.
    iam = client("iam", endpoint, "unused", "unused")
    iam.create_user(UserName=USER)
    iam.put_user_policy(UserName=USER, PolicyName="s3-all", PolicyDocument=POLICY)
    key = iam.create_access_key(UserName=USER)["AccessKey"]
    fd = os.open(keyfile + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(f"AWS_ACCESS_KEY_ID={shlex.quote(key['AccessKeyId'])}\n")
        out.write(f"AWS_SECRET_ACCESS_KEY={shlex.quote(key['SecretAccessKey'])}\n")
    os.replace(keyfile + ".tmp", keyfile)


def read_key(keyfile):
    values = {}
    with open(keyfile) as lines:
        for line in lines:
            name, _, value = line.strip().partition("=")
            values[name] = shlex.split(value)[0]
    return values["AWS_ACCESS_KEY_ID"], values["AWS_SECRET_ACCESS_KEY"]


def check(endpoint, bucket, keyfile):
    key_id, secret = read_key(keyfile)
    s3 = client("s3", endpoint, key_id, secret)
    try:
        s3.head_bucket(Bucket=bucket)
    except botocore.exceptions.ClientError as e:
        if e.response["Error"]["Code"] not in ("404", "NoSuchBucket"):
            raise
        s3.create_bucket(Bucket=bucket)
    forged = client("s3", endpoint, key_id, secret + "x")
    try:
        forged.list_objects_v2(Bucket=bucket, MaxKeys=1)
    except botocore.exceptions.ClientError as e:
        if e.response["Error"]["Code"] == "SignatureDoesNotMatch":
            return
        raise
    sys.exit(f"{endpoint} accepted a request signed with a wrong secret: moto is not checking signatures")


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("create", "check"):
        sys.exit("usage: s3_setup.py create|check ENDPOINT BUCKET KEYFILE")
    command, endpoint, bucket, keyfile = sys.argv[1:]
    try:
        if command == "create":
            create_key(endpoint, keyfile)
        check(endpoint, bucket, keyfile)
    except (OSError, KeyError, IndexError, botocore.exceptions.BotoCoreError,
            botocore.exceptions.ClientError) as e:
        sys.exit(f"{command} {endpoint}: {type(e).__name__}: {e}")


if __name__ == "__main__":
    main()
