"""The local endpoint's policy evaluator against the rules of the IAM User Guide, one rule per test:
condition operators (reference_policies_elements_condition_operators.html), the policy language
(reference_policies_elements_*.html) and the evaluation logic (reference_policies_evaluation-logic*.html)."""

from __future__ import annotations

import pytest

from automl_cfn.local_aws.policy import actions
from automl_cfn.local_aws.policy.conditions import UnknownOperator, holds
from automl_cfn.local_aws.policy.evaluation import Request, Subject, decide
from automl_cfn.local_aws.policy.language import Caller, Policy, substitute
from automl_cfn.local_aws.policy.patterns import action_matches, resource_matches

ACCOUNT, OTHER = "111122223333", "444455556666"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app/worker"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/worker/job-1"
WORKER = Caller("role-session", ACCOUNT, SESSION, ROLE)
BUCKET_OBJECT = "arn:aws:s3:::data-bucket/models/model.joblib"


def policy(*statements, kind="identity") -> Policy:
    return Policy.of({"Version": "2012-10-17", "Statement": list(statements)}, "test", kind=kind)


def allow(action="s3:GetObject", resource=BUCKET_OBJECT, **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action="s3:GetObject", resource=BUCKET_OBJECT, **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def request(caller=WORKER, action="s3:GetObject", resource=BUCKET_OBJECT, context=None, account="") -> Request:
    return Request(caller, action, resource, context or {}, account)


# -- condition operators ------------------------------------------------------------------------------

@pytest.mark.parametrize("operator, expected, actual, result", [
    ("StringEquals", ["a", "b"], "b", True),
    ("StringEquals", ["a"], "A", False),
    ("StringEqualsIgnoreCase", ["a"], "A", True),
    ("StringNotEquals", ["a", "b"], "c", True),
    ("StringNotEquals", ["a", "b"], "a", False),
    ("StringLike", ["data/*"], "data/x.csv", True),
    ("StringLike", ["data/?"], "data/xy", False),
    ("StringNotLike", ["data/*"], "models/x", True),
    ("NumericLessThan", ["10"], "9", True),
    ("NumericGreaterThanEquals", ["10"], "10", True),
    ("NumericEquals", ["10"], "ten", False),
    ("DateGreaterThan", ["2026-01-01T00:00:00Z"], "2026-12-06T00:00:00Z", True),
    ("DateLessThan", ["2026-01-01T00:00:00Z"], "1767225600", False),
    ("Bool", ["false"], "false", True),
    ("Bool", ["false"], "true", False),
    ("IpAddress", ["10.0.0.0/8"], "10.1.2.3", True),
    ("NotIpAddress", ["10.0.0.0/8"], "192.168.0.1", True),
    ("ArnLike", ["arn:aws:events:*:111122223333:rule/*"], "arn:aws:events:us-east-1:111122223333:rule/r", True),
    ("ArnEquals", ["arn:aws:events:us-east-1:111122223333:rule/r"], "arn:aws:events:us-east-1:111122223333:rule/s",
     False),
    ("ArnNotEquals", ["arn:aws:events:us-east-1:111122223333:rule/r"],
     "arn:aws:events:us-east-1:111122223333:rule/s", True),
])
def test_each_operator_compares_as_documented(operator, expected, actual, result):
    assert holds(operator, expected, actual) is result


def test_a_missing_key_fails_a_condition_but_satisfies_a_negated_one():
    assert holds("StringEquals", ["x"], None) is False
    assert holds("ArnLike", ["arn:*"], None) is False
    # "If the policy condition requires that the key is not matched, such as StringNotLike or ArnNotLike,
    # and the right key is not present, the condition is true."
    assert holds("StringNotLike", ["x*"], None) is True
    assert holds("ArnNotEquals", ["arn:aws:s3:::b"], None) is True


def test_if_exists_and_null_test_presence():
    assert holds("StringEqualsIfExists", ["x"], None) is True
    assert holds("StringEqualsIfExists", ["x"], "y") is False
    assert holds("Null", ["true"], None) is True and holds("Null", ["false"], None) is False
    assert holds("Null", ["false"], "present") is True


def test_set_operators_over_multivalued_keys():
    assert holds("ForAnyValue:StringEquals", ["a"], ["b", "a"]) is True
    assert holds("ForAnyValue:StringEquals", ["a"], None) is False
    assert holds("ForAllValues:StringEquals", ["a", "b"], ["a", "b"]) is True
    assert holds("ForAllValues:StringEquals", ["a"], ["a", "c"]) is False
    assert holds("ForAllValues:StringEquals", ["a"], None) is True       # empty set: vacuously true


def test_an_unknown_operator_is_an_error_not_a_silent_pass():
    with pytest.raises(UnknownOperator):
        holds("StringSortOf", ["a"], "a")


# -- the policy language --------------------------------------------------------------------------------

def test_actions_match_case_insensitively_with_wildcards():
    assert action_matches("S3:get*", "s3:GetObject")
    assert action_matches("sqs:*", "sqs:SendMessage") and not action_matches("sqs:Send*", "sns:SendMessage")


def test_resources_match_part_by_part_and_the_last_part_whole():
    assert resource_matches("arn:aws:s3:::data-bucket/models/*", BUCKET_OBJECT)
    assert not resource_matches("arn:aws:s3:::data-bucket/data/*", BUCKET_OBJECT)
    assert resource_matches("arn:aws:logs:*:*:log-group:/ecs/automl-*", "arn:aws:logs:us-east-1:1:log-group:/ecs/automl-dev-x")
    # The region part is matched on its own: a wildcard there does not reach into the resource.
    assert not resource_matches("arn:aws:sqs:us-*:111122223333:other", "arn:aws:sqs:us-east-1:111122223333:q")
    assert not resource_matches("arn:aws:s3:::Data-Bucket/*", BUCKET_OBJECT)     # case-sensitive
    assert resource_matches("*", "anything")


def test_not_action_and_not_resource_invert_the_match():
    everything_but_delete = policy({"Effect": "Allow", "NotAction": "s3:Delete*", "Resource": "*"})
    assert decide(request(), Subject([everything_but_delete])).allowed
    assert not decide(request(action="s3:DeleteObject"), Subject([everything_but_delete])).allowed
    not_models = policy({"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::data-bucket/models/*"})
    assert not decide(request(), Subject([not_models])).allowed


def test_policy_variables_come_from_the_request_and_a_missing_one_matches_nothing():
    own_prefix = policy(allow(resource="arn:aws:s3:::data-bucket/${aws:PrincipalTag/team}/*"))
    assert decide(request(resource="arn:aws:s3:::data-bucket/ml/x", context={"aws:PrincipalTag/team": "ml"}),
                  Subject([own_prefix])).allowed
    assert not decide(request(resource="arn:aws:s3:::data-bucket/ml/x"), Subject([own_prefix])).allowed
    assert substitute("a${*}b${$}", {}) == "a\ue000b$"      # a literal star (patterns.LITERAL_STAR)


def test_condition_keys_are_case_insensitive():
    tls = policy(allow(Condition={"Bool": {"AWS:SecureTransport": "true"}}))
    assert decide(request(context={"aws:SecureTransport": "true"}), Subject([tls])).allowed


# -- evaluation logic -----------------------------------------------------------------------------------

def test_nothing_allowed_is_an_implicit_deny_with_aws_message():
    decision = decide(request(), Subject([policy(allow(resource="arn:aws:s3:::other/*"))]))
    assert not decision.allowed
    assert decision.message(request()) == (
        f"User: {SESSION} is not authorized to perform: s3:GetObject on resource: {BUCKET_OBJECT} because no "
        "identity-based policy allows the s3:GetObject action")


def test_an_explicit_deny_anywhere_wins():
    identity = Subject([policy(allow())])
    assert decide(request(), identity).allowed
    tls_only = policy({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
                       "Condition": {"Bool": {"aws:SecureTransport": "false"}}}, kind="resource")
    plain_http = request(context={"aws:SecureTransport": "false"})
    decision = decide(plain_http, identity, tls_only)
    assert not decision.allowed and "explicit deny in a resource-based policy" in decision.reason
    assert decide(request(context={"aws:SecureTransport": "true"}), identity, tls_only).allowed


def test_within_an_account_a_resource_policy_alone_can_allow():
    by_session = policy({"Effect": "Allow", "Principal": {"AWS": SESSION}, "Action": "s3:GetObject",
                         "Resource": BUCKET_OBJECT}, kind="resource")
    assert decide(request(), Subject(), by_session).allowed


def test_a_boundary_limits_identity_policies_and_resource_grants_to_the_role_but_not_to_the_session():
    boundary = policy(allow(action="sqs:*", resource="*"), kind="boundary")
    bounded = Subject([policy(allow())], boundary=boundary)
    decision = decide(request(), bounded)
    assert not decision.allowed and "no permissions boundary allows" in decision.reason
    to_role = policy({"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "s3:GetObject",
                      "Resource": BUCKET_OBJECT}, kind="resource")
    to_session = policy({"Effect": "Allow", "Principal": {"AWS": SESSION}, "Action": "s3:GetObject",
                         "Resource": BUCKET_OBJECT}, kind="resource")
    assert not decide(request(), Subject(boundary=boundary), to_role).allowed
    assert decide(request(), Subject(boundary=boundary), to_session).allowed


def test_a_resource_policy_naming_the_account_hands_the_decision_to_identity_policies():
    to_account = policy({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                         "Action": "kms:Decrypt", "Resource": "*"}, kind="resource")
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1"
    ask = request(action="kms:Decrypt", resource=key)
    assert not decide(ask, Subject(), to_account, resource_policy_required=True).allowed
    assert decide(ask, Subject([policy(allow("kms:Decrypt", key))]), to_account,
                  resource_policy_required=True).allowed


def test_a_key_must_allow_in_its_own_policy_whatever_iam_says():
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1"
    only_logs = policy({"Effect": "Allow", "Principal": {"Service": "logs.us-east-1.amazonaws.com"},
                        "Action": "kms:*", "Resource": "*"}, kind="resource")
    decision = decide(request(action="kms:Decrypt", resource=key), Subject([policy(allow("kms:*", "*"))]), only_logs,
                      resource_policy_required=True)
    assert not decision.allowed and "no resource-based policy allows" in decision.reason


def test_across_accounts_both_sides_must_allow():
    grant = policy({"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "s3:GetObject", "Resource": "*"},
                   kind="resource")
    outsider = Caller("role-session", OTHER, f"arn:aws:sts::{OTHER}:assumed-role/ci/x", f"arn:aws:iam::{OTHER}:role/ci")
    ask = request(caller=outsider, account=ACCOUNT)
    assert not decide(ask, Subject([policy(allow())])).allowed                   # no resource policy
    assert not decide(ask, Subject(), grant).allowed                               # no identity policy
    assert decide(ask, Subject([policy(allow())]), grant).allowed


def test_a_service_principal_is_allowed_only_by_resource_policies_with_its_source():
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:retrain"
    rule = f"arn:aws:events:us-east-1:{ACCOUNT}:rule/new-data"
    events = Caller("service", service="events.amazonaws.com")
    queue_policy = policy({"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                           "Action": "sqs:SendMessage", "Resource": queue,
                           "Condition": {"ArnEquals": {"aws:SourceArn": rule}}}, kind="resource")
    assert decide(request(events, "sqs:SendMessage", queue, {"aws:SourceArn": rule}), None, queue_policy).allowed
    other_rule = {"aws:SourceArn": rule + "-other"}
    assert not decide(request(events, "sqs:SendMessage", queue, other_rule), None, queue_policy).allowed
    assert not decide(request(events, "sqs:SendMessage", queue, {"aws:SourceArn": rule})).allowed


def test_everyone_includes_services_and_the_account_root_is_limited_only_by_denies_and_keys():
    everyone = policy({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sns:Publish", "Resource": "*",
                       "Condition": {"StringEquals": {"AWS:SourceOwner": ACCOUNT}}}, kind="resource")
    cloudwatch = Caller("service", service="cloudwatch.amazonaws.com")
    assert decide(request(cloudwatch, "sns:Publish", "t", {"AWS:SourceOwner": ACCOUNT}), None, everyone).allowed
    root = Caller("root", ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root")
    assert decide(request(root, "s3:DeleteBucket", "arn:aws:s3:::b")).allowed
    assert not decide(request(root, "kms:Decrypt", "k"), None, policy(kind="resource"),
                      resource_policy_required=True).allowed


def test_a_session_policy_limits_like_a_boundary():
    session = policy(allow(action="s3:ListBucket", resource="*"), kind="session")
    assert not decide(request(), Subject([policy(allow())], session=session)).allowed


# -- data ------------------------------------------------------------------------------------------------

def test_actions_without_resource_types_are_asked_on_star():
    assert actions.takes_no_resource("ec2:DescribeVpcs") and actions.takes_no_resource("sqs:ListQueues")
    assert actions.resource_types("sqs:SendMessage") == ["queue"]
    assert actions.resource_types("nosuchservice:X") is None


def test_the_committed_action_data_is_current():
    pytest.importorskip("cfnlint")
    assert actions.extract() == actions._data(), "run: python -m automl_cfn.local_aws.policy.actions"


def test_wildcards_cannot_stall_the_endpoint():
    """A policy is input: matching is never exponential in the number of stars."""
    import time

    from automl_cfn.local_aws.policy.patterns import glob_match

    started = time.process_time()
    assert not glob_match("*a" * 40 + "b", "a" * 5000)
    assert glob_match("*a*b*c", "xxaxxbxxc") and not glob_match("*a*b*c", "xxaxxcxxb")
    assert time.process_time() - started < 10     # exponential backtracking took hours; this takes milliseconds


def test_special_characters_in_policy_variables_are_literal():
    literal = policy(allow(action="sqs:SendMessage", resource="arn:aws:sqs:us-east-1:111122223333:i${*}"))
    queue = "arn:aws:sqs:us-east-1:111122223333:"
    assert decide(request(action="sqs:SendMessage", resource=queue + "i*"), Subject([literal])).allowed
    assert not decide(request(action="sqs:SendMessage", resource=queue + "iq"), Subject([literal])).allowed
    assert holds("StringEquals", [substitute("a${*}", {})], "a*")


def test_an_arn_pattern_with_fewer_than_six_parts_matches_nothing():
    assert not resource_matches("arn:aws:sqs:us-east-1:*", "arn:aws:sqs:us-east-1:111122223333:q")


def test_a_deny_with_not_principal_always_denies_a_bounded_principal():
    """reference_policies_elements_notprincipal.html: NotPrincipal with Deny denies every principal that has a
    permissions boundary, whatever NotPrincipal lists."""
    spare_worker = policy({"Effect": "Deny", "NotPrincipal": {"AWS": ROLE}, "Action": "s3:*", "Resource": "*"},
                          kind="resource")
    identity = Subject([policy(allow())])
    assert decide(request(), identity, spare_worker).allowed
    bounded = Caller("role-session", ACCOUNT, SESSION, ROLE, bounded=True)
    assert not decide(request(caller=bounded), identity, spare_worker).allowed
