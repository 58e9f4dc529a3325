"""Grants between resources, judged on what each environment deploys (every config/*.yaml, the
full-featured configuration, the one issue 25 names, and the full one in a region whose load balancer
logs come from the service principal), every intrinsic evaluated with the root's real wiring:

- every statement that grants a service principal names its source (aws:SourceArn / aws:SourceAccount),
  or is a documented exception;
- every bucket, queue and topic refuses plain HTTP;
- every writer and reader of a queue, and every publisher of the alarm topic, holds what it needs:
  the resource policy's grant, the role's grant, and the customer key's;
- each trust names the resources that use the role;
- the VPC endpoints carry this account's principals, and S3 only this account's buckets and ECR's layers.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path

import pytest

from automl_cfn import scan, synth
from automl_cfn.evaluate import environment
from automl_cfn.intrinsics import Evaluator, Expression, Symbol
from automl_cfn.parameters import parameter_values
from automl_cfn.settings import with_overrides
from automl_cfn.stacks.policies import SNS_TOPIC_ACTIONS

ACCOUNT = "123456789012"
SOURCE_KEYS = {"aws:sourcearn", "aws:sourceaccount"}

# The service-principal statements that name no source, each with why and the page that says so, and the
# condition that scopes it instead (checked present), if any.
EXCEPTIONS = {
    ("iam", "EcsInfrastructureRole", "ecs.amazonaws.com"): (
        "ECS is not documented to send aws:SourceAccount when it assumes the infrastructure role; a condition "
        "it does not meet stops every blue/green deployment "
        "(AmazonECS/latest/developerguide/AmazonECSInfrastructureRolePolicyForLoadBalancers.html)", None),
    ("security", "CustomerKey", "logs.<region>.amazonaws.com"): (
        "CloudWatch Logs documents the encryption context as what names the log group "
        "(AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html)", "kms:encryptioncontext:aws:logs:arn"),
    ("storage", "LbLogsBucketPolicyByService", "logdelivery.elasticloadbalancing.amazonaws.com"): (
        "Elastic Load Balancing documents no source key for access log delivery "
        "(elasticloadbalancing/latest/application/enable-access-logging.html); the object path names the account",
        None),
}

ISSUE_25 = dict(kms_key="create", enable_stepfunctions=True, retrain_on_new_data=True,
                pipeline_schedule="cron(0 3 * * ? *)", api_key_secret="create")


# ---------------------------------------------------------------------------
# what each environment deploys, every value evaluated
# ---------------------------------------------------------------------------

def deployed(documents: dict, settings) -> dict[str, dict[str, dict]]:
    """stack -> logical ID -> resource body with every intrinsic evaluated (Symbols where only a deploy knows)."""
    values = {**parameter_values(settings), "TemplatesBucket": "templates-bucket", "TemplatesPrefix": "p/"}
    region = settings.aws_region
    evaluators = dict(environment(documents, values, region, ACCOUNT))
    for name, template, given in (("artifacts", documents["artifacts"], {}),
                                  ("baseline", synth.build_baseline_template(documents),
                                   {"HomeRegion": settings.home_region})):
        evaluators[name] = Evaluator(template, given, region=region, account=ACCOUNT,
                                     resource_value=lambda logical_id, attribute, name=name: Symbol(name, logical_id,
                                                                                                      attribute))
    return {name: {logical_id: ev.value(body) for logical_id, body in ev.resources().items()}
            for name, ev in evaluators.items()}


@pytest.fixture(scope="module")
def worlds(templates, project_root) -> dict[str, tuple]:
    """name -> (settings, deployed world)."""
    chosen = scan.environments(Path(project_root))
    chosen["issue25"] = with_overrides(chosen["prod"], **ISSUE_25)
    # Config records no global IAM types in ca-west-1 (config_rules.GLOBAL_IAM_REGIONS): its baseline names a home.
    chosen["full-new-region"] = with_overrides(chosen[scan.FULL], aws_region="ca-west-1",
                                               config_home_region="ca-central-1")
    return {name: (settings, deployed(templates, settings)) for name, settings in chosen.items()}


def each_world(worlds):
    for name, (settings, world) in worlds.items():
        yield name, settings.aws_region, world


def of_type(world, kind: str):
    for stack, resources in world.items():
        for logical_id, body in resources.items():
            if body["Type"] == kind:
                yield stack, logical_id, body["Properties"]


def documents_in(node):
    """Every policy document inside a value."""
    if isinstance(node, dict):
        if isinstance(node.get("Statement"), list):
            yield node
        for child in node.values():
            yield from documents_in(child)
    elif isinstance(node, list):
        for child in node:
            yield from documents_in(child)


def listed(value) -> list:
    return value if isinstance(value, list) else [value]


def condition_keys(statement) -> dict[str, list]:
    """Condition key (lower case) -> values, whatever the operator."""
    return {key.lower(): listed(value) for block in statement.get("Condition", {}).values()
            for key, value in block.items()}


def services(statement) -> list[str]:
    principal = statement.get("Principal")
    return listed(principal["Service"]) if isinstance(principal, dict) and "Service" in principal else []


def arn(region, service, resource) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{resource}"


def role_statements(world, role: Symbol) -> list[dict]:
    assert role.attribute == "Arn", role
    body = world[role.where][role.logical_id]["Properties"]
    return [s for p in body.get("Policies", []) for s in p["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]


def grants(statements, action: str, resource) -> list[dict]:
    return [s for s in statements if action in s["Action"]
            and any(r == resource or (isinstance(r, str) and isinstance(resource, str) and fnmatchcase(resource, r))
                    for r in s["Resource"])]


# ---------------------------------------------------------------------------
# item 8: service principals name their source
# ---------------------------------------------------------------------------

def test_every_service_principal_grant_names_its_source_or_a_documented_reason(worlds):
    excepted = set()
    for name, region, world in each_world(worlds):
        for stack, resources in world.items():
            for logical_id, body in resources.items():
                for document in documents_in(body.get("Properties", {})):
                    for statement in document["Statement"]:
                        keys = condition_keys(statement)
                        for service in services(statement):
                            where = (stack, logical_id, service.replace(f".{region}.", ".<region>."))
                            if where in EXCEPTIONS:
                                excepted.add(where)
                                scope = EXCEPTIONS[where][1]
                                assert scope is None or scope in keys, (name, where, statement)
                                continue
                            assert SOURCE_KEYS & set(keys), (name, where, statement)
                            # The source is this account's, in this environment's region where an ARN says one.
                            assert keys.get("aws:sourceaccount", [ACCOUNT]) == [ACCOUNT], (name, where)
                            for source in keys.get("aws:sourcearn", []):
                                assert isinstance(source, Symbol) or f":{ACCOUNT}:" in source, (name, where)
    assert excepted == set(EXCEPTIONS), f"exceptions nothing needs any more: {set(EXCEPTIONS) - excepted}"


def test_each_trust_names_the_resources_that_use_the_role(worlds):
    for name, region, world in each_world(worlds):
        users = {}   # role ARN symbol -> ARNs of what assumes it
        for _, _, props in of_type(world, "AWS::StepFunctions::StateMachine"):
            users.setdefault(props["RoleArn"], []).append(arn(region, "states",
                                                              f"stateMachine:{props['StateMachineName']}"))
        for _, _, props in of_type(world, "AWS::Scheduler::Schedule"):
            users.setdefault(props["Target"]["RoleArn"], []).append(
                arn(region, "scheduler", f"schedule-group/{props.get('GroupName', 'default')}"))
        for _, _, props in of_type(world, "AWS::ECS::TaskDefinition"):
            for role in (props["ExecutionRoleArn"], props["TaskRoleArn"]):
                users.setdefault(role, []).append(arn(region, "ecs", f"task/{props['Family']}-cluster/0a1b2c"))
        for _, _, props in of_type(world, "AWS::EC2::FlowLog"):
            users.setdefault(props["DeliverLogsPermissionArn"], []).append(arn(region, "ec2", "vpc-flow-log/fl-0a1b"))
        for stack, logical_id, props in of_type(world, "AWS::IAM::Role"):
            trust, = props["AssumeRolePolicyDocument"]["Statement"]
            sources = condition_keys(trust).get("aws:sourcearn")
            if sources is None:
                continue
            used_by = users.get(Symbol(stack, logical_id, "Arn"), [])
            assert used_by, (name, logical_id, "a source ARN, but nothing here assumes the role")
            for user in used_by:
                assert any(fnmatchcase(user, source) for source in sources), (name, logical_id, user, sources)


# ---------------------------------------------------------------------------
# item 3: TLS only, for every bucket, queue and topic
# ---------------------------------------------------------------------------

# resource type -> (its policy's type, the property naming it, the actions the deny must cover, what its ARN is)
PROTECTED = {
    "AWS::S3::Bucket": ("AWS::S3::BucketPolicy", "Bucket", ["s3:*"], "Arn"),
    "AWS::SQS::Queue": ("AWS::SQS::QueuePolicy", "Queues", ["sqs:*"], "Arn"),
    "AWS::SNS::Topic": ("AWS::SNS::TopicPolicy", "Topics", [str(a.JSONrepr()) for a in SNS_TOPIC_ACTIONS], "Ref"),
}


@pytest.mark.parametrize("kind", sorted(PROTECTED))
def test_every_bucket_queue_and_topic_refuses_plain_http(worlds, kind):
    policy_type, target, actions, arn_attribute = PROTECTED[kind]
    seen = 0
    for name, _, world in each_world(worlds):
        for stack, logical_id, _ in of_type(world, kind):
            seen += 1
            ref, resource_arn = Symbol(stack, logical_id, "Ref"), Symbol(stack, logical_id, arn_attribute)
            documents = [p["PolicyDocument"] for s, _, p in of_type(world, policy_type)
                         if s == stack and ref in listed(p[target])]
            denies = [s for d in documents for s in d["Statement"]
                      if s["Effect"] == "Deny" and s["Principal"] == "*"
                      and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
                      and set(actions) <= set(s["Action"]) and resource_arn in s["Resource"]]
            assert denies, (name, stack, logical_id)
            if kind == "AWS::S3::Bucket":    # the objects too
                assert any(isinstance(r, Expression) and resource_arn.key in r.symbols and r.text.endswith('"/*"]')
                           for r in denies[0]["Resource"]), (name, logical_id)
    assert seen


# ---------------------------------------------------------------------------
# item 1: every writer and reader of a queue, every publisher of the topic
# ---------------------------------------------------------------------------

def customer_key_statements(world, key) -> list[dict]:
    """The key policy's statements when `key` is the key this environment creates (none for a given key)."""
    if not (isinstance(key, Symbol) and key.key == "security/CustomerKey.Arn"):
        return []
    return world["security"]["CustomerKey"]["Properties"]["KeyPolicy"]["Statement"]


def assert_role_uses_key_through_sqs(world, role, key, actions, region, where):
    if key is None:
        return
    for action in actions:
        granted = grants(role_statements(world, role), action, key)
        assert granted, (where, role, action)
        assert all(condition_keys(s).get("kms:viaservice") == [f"sqs.{region}.amazonaws.com"] for s in granted), where


def test_every_writer_and_reader_of_a_queue_holds_what_it_needs(worlds):
    checked = set()
    for name, region, world in each_world(worlds):
        for stack, logical_id, queue in of_type(world, "AWS::SQS::Queue"):
            queue_arn, where = Symbol(stack, logical_id, "Arn"), (name, logical_id)
            concrete = arn(region, "sqs", queue["QueueName"])
            key = queue.get("KmsMasterKeyId")
            policies = [p["PolicyDocument"]["Statement"] for s, _, p in of_type(world, "AWS::SQS::QueuePolicy")
                        if Symbol(stack, logical_id, "Ref") in p["Queues"]]
            users = 0
            for _, rule_id, rule in of_type(world, "AWS::Events::Rule"):
                for target in rule.get("Targets", []):
                    if target["Arn"] != queue_arn:
                        continue
                    users += 1
                    assert "RoleArn" not in target, where   # a role breaks delivery to an encrypted queue
                    sent = [s for statements in policies for s in statements if s["Effect"] == "Allow"
                            and services(s) == ["events.amazonaws.com"] and "sqs:SendMessage" in s["Action"]]
                    assert sent and condition_keys(sent[0])["aws:sourcearn"] == [Symbol(stack, rule_id, "Arn")], where
                    key_grant = [s for s in customer_key_statements(world, key)
                                 if services(s) == ["events.amazonaws.com"]]
                    if key is not None:
                        assert key_grant, where
                        assert set(key_grant[0]["Action"]) == {"kms:GenerateDataKey", "kms:Decrypt"}
                        assert condition_keys(key_grant[0])["aws:sourcearn"] == [
                            arn(region, "events", f"rule/{rule['Name']}")], where
                        checked.add("events-key")
                    checked.add("rule")
            for _, _, pipe in of_type(world, "AWS::Pipes::Pipe"):
                if pipe["Source"] == queue_arn:
                    users += 1
                    statements = role_statements(world, pipe["RoleArn"])
                    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
                        assert grants(statements, action, concrete), (where, action)
                    assert_role_uses_key_through_sqs(world, pipe["RoleArn"], key, ["kms:Decrypt"], region, where)
                    checked.add("pipe")
            for _, _, schedule in of_type(world, "AWS::Scheduler::Schedule"):
                if schedule["Target"].get("DeadLetterConfig", {}).get("Arn") == queue_arn:
                    users += 1
                    role = schedule["Target"]["RoleArn"]
                    assert grants(role_statements(world, role), "sqs:SendMessage", concrete), where
                    assert_role_uses_key_through_sqs(world, role, key, ["kms:GenerateDataKey", "kms:Decrypt"],
                                                     region, where)
                    checked.add("schedule")
            assert users, (where, "a queue nobody reads or writes: who is it for?")
    assert checked == {"rule", "events-key", "pipe", "schedule"}


def references(node, wanted: Symbol, path=()):
    """Paths under which `wanted` appears in a value."""
    if node == wanted or (isinstance(node, Expression) and wanted.key in node.symbols):
        yield path
    elif isinstance(node, dict):
        for key, child in node.items():
            yield from references(child, wanted, path + (key,))
    elif isinstance(node, list):
        for child in node:
            yield from references(child, wanted, path)


ALARM_ACTIONS = ("AlarmActions", "OKActions", "InsufficientDataActions")


def test_the_alarm_topic_admits_every_publisher_and_only_them(worlds):
    for name, region, world in each_world(worlds):
        topic = Symbol("monitoring", "AlarmTopic", "Ref")
        key = world["monitoring"]["AlarmTopic"]["Properties"].get("KmsMasterKeyId")
        statements = [s for _, _, p in of_type(world, "AWS::SNS::TopicPolicy") if topic in p["Topics"]
                      for s in p["PolicyDocument"]["Statement"]]
        publish = [s for s in statements if s["Effect"] == "Allow" and services(s) == ["cloudwatch.amazonaws.com"]]
        assert len(publish) == 1 and publish[0]["Action"] == ["sns:Publish"], name
        # The account keeps managing its topic as SNS's default policy let it.
        assert any(s["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"} and set(s["Action"]) ==
                   {str(a.JSONrepr()) for a in SNS_TOPIC_ACTIONS} for s in statements), name
        key_grant = [s for s in customer_key_statements(world, key) if services(s) == ["cloudwatch.amazonaws.com"]]
        assert bool(key_grant) is (key is not None), name
        publishers = 0
        for stack, resources in world.items():
            for logical_id, body in resources.items():
                for path in references(body, topic):
                    if body["Type"] == "AWS::CloudWatch::Alarm" and path[-1] in ALARM_ACTIONS:
                        publishers += 1
                        alarm = arn(region, "cloudwatch", f"alarm:{body['Properties']['AlarmName']}")
                        for grant in publish + key_grant:
                            assert any(fnmatchcase(alarm, p) for p in condition_keys(grant)["aws:sourcearn"]), \
                                (name, logical_id, grant["Sid"] if "Sid" in grant else grant)
                    elif body["Type"] != "AWS::SNS::TopicPolicy":
                        # Anything else that uses the topic needs a grant of its own: add it, then name it here.
                        assert (body["Type"], path[-1]) == ("AWS::SNS::Subscription", "TopicArn"), \
                            (name, stack, logical_id, path)
        assert publishers, name


def test_the_keys_eventbridge_grant_does_not_depend_on_the_settings_of_the_day(worlds):
    """The key is retained and, after a destroy, used by ARN: its policy is then frozen, so switching
    retrain_on_new_data on later must not need a new statement.  It names the one rule, whether or not it exists."""
    for name, region, world in each_world(worlds):
        if "CustomerKey" not in world["security"]:
            continue
        statements = world["security"]["CustomerKey"]["Properties"]["KeyPolicy"]["Statement"]
        events, = [s for s in statements if services(s) == ["events.amazonaws.com"]]
        settings = worlds[name][0]
        rule = arn(region, "events", f"rule/{settings.project_name}-{settings.environment}-new-data")
        assert condition_keys(events)["aws:sourcearn"] == [rule], name


# ---------------------------------------------------------------------------
# item 8: VPC endpoints
# ---------------------------------------------------------------------------

def test_endpoints_carry_this_accounts_principals_and_s3_this_accounts_buckets(worlds):
    private = 0
    for name, region, world in each_world(worlds):
        endpoints = {lid: p for _, lid, p in of_type(world, "AWS::EC2::VPCEndpoint")}
        interface = {lid: p for lid, p in endpoints.items() if p["VpcEndpointType"] == "Interface"}
        for lid, props in interface.items():
            statement, = props["PolicyDocument"]["Statement"]
            assert statement["Effect"] == "Allow" and statement["Principal"] == "*"
            assert statement["Condition"] == {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}, (name, lid)
        if "S3GatewayEndpoint" not in endpoints:
            continue
        s3 = endpoints["S3GatewayEndpoint"]["PolicyDocument"]["Statement"]
        if not interface:     # no private endpoints: the policy AWS attaches by default
            assert s3 == [{"Effect": "Allow", "Principal": "*", "Action": ["*"], "Resource": ["*"]}], name
            continue
        private += 1
        ours, layers = s3
        assert ours["Condition"] == {"StringEquals": {"aws:ResourceAccount": ACCOUNT}} and ours["Action"] == ["s3:*"]
        # ECR serves image layers from its own bucket with URLs it signed: not this account's.
        assert layers == {"Sid": "EcrImageLayers", "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject"],
                          "Resource": [f"arn:aws:s3:::prod-{region}-starport-layer-bucket/*"]}, name
    assert private
