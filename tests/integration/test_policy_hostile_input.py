"""The endpoint's policy evaluation under hostile input: what AWS refuses when a policy is stored is refused
there too, credentials that no longer exist are refused, the request's data never steers a decision, and the
endpoint's own API answers a 4xx for any bad parameter, never a 500 (local_aws/policy/validate.py,
strict/policy_store.py, control.py)."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.exceptions import ClientError

ACCOUNT = "123456789012"
TRUST_ACCOUNT = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]})


def document(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def session_of(aws, clients, role: str, policy: dict, session_policy: str | None = None):
    iam = clients("iam")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST_ACCOUNT)
    iam.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument=json.dumps(policy))
    extra = {"Policy": session_policy} if session_policy else {}
    given = clients("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{role}", RoleSessionName="s1",
                                       **extra)["Credentials"]
    return lambda service: boto3.client(service, endpoint_url=aws.url, region_name=aws.region,
                                        aws_access_key_id=given["AccessKeyId"],
                                        aws_secret_access_key=given["SecretAccessKey"],
                                        aws_session_token=given["SessionToken"])


ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
BROKEN = [
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": 5, "Resource": "*"}]},
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sqs:*",
                                             "Resource": "*", "Condition": {"StringEqualsSomething": {"a": "b"}}}]},
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sqs:*",
                                             "Resource": "*", "Condition": ["not", "an", "object"]}]},
    {"Version": "2012-10-17", "Statement": []},
    ["not", "an", "object"],
]


@pytest.mark.parametrize("broken", range(len(BROKEN)))
def test_malformed_policies_are_refused_where_they_are_stored(aws, clients, broken):
    bad = json.dumps(BROKEN[broken])
    sqs, sns, s3, kms, iam = (clients(s) for s in ("sqs", "sns", "s3", "kms", "iam"))
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    with pytest.raises(ClientError, match="InvalidAttributeValue"):
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": bad})
    topic = sns.create_topic(Name="t")["TopicArn"]
    with pytest.raises(ClientError, match="InvalidParameter"):
        sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=bad)
    s3.create_bucket(Bucket="hostile-bucket")
    with pytest.raises(ClientError, match="MalformedPolicy"):
        s3.put_bucket_policy(Bucket="hostile-bucket", Policy=bad)
    with pytest.raises(ClientError, match="MalformedPolicyDocument"):
        kms.create_key(Policy=bad)
    with pytest.raises(ClientError, match="MalformedPolicyDocument"):
        iam.create_role(RoleName="r", AssumeRolePolicyDocument=bad)
    # The queue, topic and bucket still answer their owner: nothing was stored.
    sqs.send_message(QueueUrl=url, MessageBody="x")
    sns.publish(TopicArn=topic, Message="x")
    s3.put_object(Bucket="hostile-bucket", Key="k", Body=b"x")


def test_policies_over_their_quota_are_refused(aws, clients):
    iam = clients("iam")
    iam.create_role(RoleName="big", AssumeRolePolicyDocument=TRUST_ACCOUNT)
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/" + "k" * 100}
    six_k = json.dumps({"Version": "2012-10-17", "Statement": [statement] * 40})      # 6,700 characters
    with pytest.raises(ClientError, match="LimitExceeded"):
        iam.create_policy(PolicyName="too-big", PolicyDocument=six_k)
    iam.put_role_policy(RoleName="big", PolicyName="one", PolicyDocument=six_k)     # 10,240 for all inline ones
    with pytest.raises(ClientError, match="LimitExceeded"):
        iam.put_role_policy(RoleName="big", PolicyName="two", PolicyDocument=six_k)


def test_deleted_and_inactive_access_keys_are_refused(aws, clients):
    iam = clients("iam")
    iam.create_user(UserName="limited")
    iam.put_user_policy(UserName="limited", PolicyName="all", PolicyDocument=json.dumps(ALLOW_ALL))
    key = iam.create_access_key(UserName="limited")["AccessKey"]
    user_iam = boto3.client("iam", endpoint_url=aws.url, region_name=aws.region,
                            aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    user_iam.list_roles()
    iam.update_access_key(UserName="limited", AccessKeyId=key["AccessKeyId"], Status="Inactive")
    with pytest.raises(ClientError, match="InvalidClientTokenId"):
        user_iam.create_role(RoleName="escape", AssumeRolePolicyDocument=TRUST_ACCOUNT)
    iam.delete_access_key(UserName="limited", AccessKeyId=key["AccessKeyId"])
    with pytest.raises(ClientError, match="InvalidClientTokenId"):      # not the root user
        user_iam.create_role(RoleName="escape", AssumeRolePolicyDocument=TRUST_ACCOUNT)


def test_a_session_does_not_outlive_its_role_into_a_new_one_of_the_same_name(aws, clients):
    as_old = session_of(aws, clients, "reborn", ALLOW_ALL)
    as_old("sqs").list_queues()
    iam = clients("iam")
    iam.delete_role_policy(RoleName="reborn", PolicyName="p")
    iam.delete_role(RoleName="reborn")
    iam.create_role(RoleName="reborn", AssumeRolePolicyDocument=TRUST_ACCOUNT)
    iam.put_role_policy(RoleName="reborn", PolicyName="p", PolicyDocument=json.dumps(ALLOW_ALL))
    with pytest.raises(ClientError, match="not authorized"):
        as_old("sqs").list_queues()


def test_a_session_policy_limits_role_chaining(aws, clients):
    only_list = document({"Effect": "Allow", "Action": "sqs:ListQueues", "Resource": "*"})
    chained = session_of(aws, clients, "first", ALLOW_ALL, session_policy=only_list)
    clients("iam").create_role(RoleName="second", AssumeRolePolicyDocument=TRUST_ACCOUNT)
    with pytest.raises(ClientError, match="sts:AssumeRole"):
        chained("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/second", RoleSessionName="s2")


def test_a_request_is_judged_on_the_queue_it_reaches(aws, clients):
    """moto serves a queue by its name in the caller's account, whatever account the URL names: the decision is
    about that queue."""
    sqs = clients("sqs")
    url = sqs.create_queue(QueueName="victim")["QueueUrl"]
    session = session_of(aws, clients, "deny-me", ALLOW_ALL)
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": document({
        "Effect": "Deny", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/deny-me"}, "Action": "sqs:*",
        "Resource": "*"})})
    foreign = url.replace(f"/{ACCOUNT}/", "/999999999999/")
    with pytest.raises(ClientError, match="explicit deny"):
        session("sqs").send_message(QueueUrl=foreign, MessageBody="x")


def test_an_objects_content_never_steers_a_decision(aws, clients):
    # A PutObject that tags the object (x-amz-tagging) also needs s3:PutObjectTagging (S3 API reference,
    # PutObject, "Permissions": a request that carries tags also needs s3:PutObjectTagging).
    clients("s3").create_bucket(Bucket="tagged-writes")
    put_if_blue = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["s3:PutObject", "s3:PutObjectTagging"], "Resource": "arn:aws:s3:::tagged-writes/*",
        "Condition": {"StringEquals": {"aws:RequestTag/team": "blue"}}}]}
    s3 = session_of(aws, clients, "tagged", put_if_blue)("s3")
    with pytest.raises(ClientError, match="not authorized"):
        s3.put_object(Bucket="tagged-writes", Key="a.json", Body=json.dumps({"Tags": {"team": "blue"}}).encode())
    s3.put_object(Bucket="tagged-writes", Key="b.json", Body=b"{}", Tagging="team=blue")


def test_the_bucket_owner_can_always_fix_its_bucket_policy(aws, clients):
    s3 = clients("s3")
    s3.create_bucket(Bucket="locked-out")
    s3.put_bucket_policy(Bucket="locked-out", Policy=document(
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::locked-out",
                                                                            "arn:aws:s3:::locked-out/*"]}))
    with pytest.raises(ClientError, match="explicit deny"):
        s3.put_object(Bucket="locked-out", Key="k", Body=b"x")
    s3.get_bucket_policy(Bucket="locked-out")
    s3.delete_bucket_policy(Bucket="locked-out")
    s3.put_object(Bucket="locked-out", Key="k", Body=b"x")


def web_token(claims: dict) -> str:
    part = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"e30.{part}.signature"


def test_web_identity_needs_a_provider_the_audience_and_a_live_token(aws, clients):
    iam = clients("iam")
    issuer = "https://token.actions.githubusercontent.com"
    role = iam.create_role(RoleName="ci", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
            "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"}}]})
    )["Role"]["Arn"]
    sts = boto3.client("sts", endpoint_url=aws.url, region_name=aws.region, aws_access_key_id="x",
                       aws_secret_access_key="x")
    sts.meta.events.register("choose-signer.sts.AssumeRoleWithWebIdentity", lambda **_: False)

    def assume(claims) -> str:
        try:
            sts.assume_role_with_web_identity(RoleArn=role, RoleSessionName="s1", WebIdentityToken=
                                              claims if isinstance(claims, str) else web_token(claims))
        except ClientError as error:
            return error.response["Error"]["Code"]
        return "ok"

    good = {"iss": issuer, "aud": "sts.amazonaws.com", "sub": "repo:o/r:ref:refs/heads/main"}
    assert assume(good) == "InvalidIdentityToken"          # no provider in the account yet
    iam.create_open_id_connect_provider(Url=issuer, ClientIDList=["sts.amazonaws.com"], ThumbprintList=["a" * 40])
    assert assume(good) == "ok"
    assert assume({**good, "aud": "someone-else"}) == "InvalidIdentityToken"
    assert assume({**good, "exp": int(time.time()) - 60}) == "ExpiredTokenException"
    assert assume("not-a-jwt") == "InvalidIdentityToken"
    assert assume(web_token(["a", "list"])) == "InvalidIdentityToken"


@pytest.mark.parametrize("path, method, status", [
    ("/_automl/credentials", "POST", 400),                                   # no role
    ("/_automl/credentials?role=x&service=s", "POST", 400),
    ("/_automl/credentials?role=arn:aws:iam::123456789012:role/r&service=ecs-tasks.amazonaws.com", "GET", 405),
    ("/_automl/accounts/admin-role", "POST", 400),
    ("/_automl/accounts/admin-role?account=abc%0d%0aX:y", "POST", 400),
    ("/_automl/accounts/admin-role?account=%EF%BC%91%EF%BC%92", "POST", 400),   # full-width digits
    ("/_automl/accounts/admin-role?account=123456789012", "POST", 400),
    ("/_automl/scheduler/fire", "POST", 400),
    ("/_automl/scheduler/fire?name=none&region=nowhere", "POST", 400),
    ("/_automl/scheduler/fire?name=none", "POST", 400),
    ("/_automl/throttle?count=abc", "POST", 400),
    ("/_automl/requests/reset", "GET", 405),
    ("/_automl/anything", "GET", 404),
])
def test_the_endpoints_own_api_answers_4xx_never_500(aws, path, method, status):
    request = urllib.request.Request(aws.url + path, method=method, data=b"" if method == "POST" else None)
    with pytest.raises(urllib.error.HTTPError) as answered:
        urllib.request.urlopen(request, timeout=30)
    assert answered.value.code == status
    assert json.loads(answered.value.read())["error"]
