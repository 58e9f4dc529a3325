"""moto 5.2.5's defects that matter to this project, one function each.

Each function names the defect it covers and the test that shows it
(tests/integration/test_local_endpoint.py).  They run inside the server
process only.  `CLOUDFORMATION` patches mend moto's own CloudFormation
engine and apply in lenient mode; strict mode replaces that engine (see
strict/) and needs only `SERVICES`, which mend the resource models and the
service APIs that both modes use.
"""

from __future__ import annotations

import json


# ---------------------------------------------------------------------------
# moto's CloudFormation engine (lenient mode)
# ---------------------------------------------------------------------------

def nested_stack_outputs() -> None:
    """Fn::GetAtt on a nested stack's Outputs.X raised HTTP 500 ('Stack' object has no
    attribute 'get_cfn_attribute').  Test: test_lenient_endpoint_runs_the_nested_templates."""
    from moto.cloudformation import models
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException, ValidationError

    def get_cfn_attribute(self, attribute_name: str):
        if attribute_name.startswith("Outputs."):
            key = attribute_name.split(".", 1)[1]
            if key in (self.template_dict.get("Outputs") or {}):
                output = self.output_map.get(key)
                if output is not None:
                    return output.value
            raise ValidationError(message=(
                f"Template error: nested stack {self.name} has no output {key!r} (Fn::GetAtt {attribute_name})"))
        raise UnformattedGetAttTemplateException()

    models.Stack.get_cfn_attribute = get_cfn_attribute


def outputs_after_change_set() -> None:
    """A stack created or updated through a change set kept no or stale Outputs: the
    template was not re-parsed after ExecuteChangeSet.  Test: test_lenient_endpoint_runs_the_nested_templates."""
    from moto.cloudformation import models

    original_execute = models.CloudFormationBackend.execute_change_set

    def execute_change_set(self, change_set_name, stack_name=None):
        change_set = self.describe_change_set(change_set_name)
        original_execute(self, change_set_name, stack_name)
        stack = self.stacks[change_set.stack_id]
        stack._parse_template()
        stack.description = stack.template_dict.get("Description")
        stack.parameters = change_set.parameters
        stack.output_map = stack._create_output_map()
        if change_set.tags is not None:
            stack.tags = change_set.tags

    models.CloudFormationBackend.execute_change_set = execute_change_set


def nested_stack_update_in_place() -> None:
    """A nested stack whose properties changed was deleted and recreated, which fails on
    retained, explicitly named resources; CloudFormation updates it in place.
    Test: test_lenient_endpoint_runs_the_nested_templates."""
    from moto.cloudformation import models

    def update_nested_in_place(cls, original_resource, new_resource_name, cloudformation_json, account_id,
                               region_name):
        from moto.cloudformation.utils import get_stack_from_s3_url
        from moto.utilities.utils import get_partition

        properties = cloudformation_json["Properties"]
        template = get_stack_from_s3_url(properties["TemplateURL"], account_id=account_id,
                                         partition=get_partition(region_name))
        original_resource.update(template, parameters=properties.get("Parameters", {}))
        return original_resource

    models.Stack.update_from_cloudformation_json = classmethod(update_nested_in_place)


def cidr_and_no_value() -> None:
    """Fn::Cidr was not evaluated, and AWS::NoValue from an Fn::If inside a list stayed in
    the list as None.  Test: test_lenient_endpoint_runs_the_nested_templates."""
    from moto.cloudformation import parsing

    from ..intrinsics import Evaluator

    original_clean_json = parsing.clean_json

    def may_be_no_value(item) -> bool:
        return isinstance(item, dict) and (item.get("Ref") == "AWS::NoValue" or "Fn::If" in item)

    def clean_json(resource_json, resources_map):
        if isinstance(resource_json, dict) and "Fn::Cidr" in resource_json:
            block, count, bits = (original_clean_json(v, resources_map) for v in resource_json["Fn::Cidr"])
            evaluator = Evaluator({}, {}, region="us-east-1")
            return evaluator.value({"Fn::Cidr": [block, int(count), int(bits)]})
        if isinstance(resource_json, list):
            cleaned = [(item, clean_json(item, resources_map)) for item in resource_json]
            return [value for item, value in cleaned if not (value is None and may_be_no_value(item))]
        return original_clean_json(resource_json, resources_map)

    # clean_json recurses through the module global, so nested values see this too.
    parsing.clean_json = clean_json


def list_parameters_as_text() -> None:
    """DescribeStacks showed a CommaDelimitedList parameter as a Python list ("['a', 'b']");
    CloudFormation shows it as given ("a,b").  Test: test_lenient_endpoint_runs_the_nested_templates."""
    from moto.cloudformation import models

    def parameter_list(self):
        return [
            {"ParameterKey": key,
             "ParameterValue": "****" if key in self.resource_map.no_echo_parameter_keys
             else ",".join(value) if isinstance(value, list) else value}
            for key, value in self.resource_map.resolved_parameters.items()
        ]

    models.Stack.parameter_list = property(parameter_list)


def task_definition_update() -> None:
    """Updating an AWS::ECS::TaskDefinition registered the new revision from the raw
    template keys (PascalCase ContainerDefinitions), losing image, memory and logging.
    Test: test_lenient_endpoint_runs_the_nested_templates."""
    from moto.ecs import models as ecs_models

    def update_task_definition(cls, original_resource, new_resource_name, cloudformation_json, account_id,
                               region_name):
        ecs_models.ecs_backends[account_id][region_name].deregister_task_definition(original_resource.arn)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    ecs_models.TaskDefinition.update_from_cloudformation_json = classmethod(update_task_definition)


def keep_resources_moto_cannot_update() -> None:
    """A resource whose type moto cannot update vanished from its stack, breaking every
    later reference to it; it now keeps its previous state.
    Test: test_lenient_endpoint_runs_the_nested_templates."""
    from moto.cloudformation import parsing

    original_update = parsing.parse_and_update_resource

    def parse_and_update_resource(logical_id, resource_json, resources_map, account_id, region_name):
        previous = resources_map._parsed_resources.get(logical_id)
        updated = original_update(logical_id, resource_json, resources_map, account_id, region_name)
        return previous if updated is None else updated

    parsing.parse_and_update_resource = parse_and_update_resource


# ---------------------------------------------------------------------------
# resource models and service APIs (both modes)
# ---------------------------------------------------------------------------

def log_group_updates() -> None:
    """AWS::Logs::LogGroup has no update in moto: a changed RetentionInDays was ignored.
    Test: test_log_retention_is_updated_in_place."""
    from moto.logs import models as logs_models

    def update_log_group(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        properties = cloudformation_json.get("Properties", {})
        backend = logs_models.logs_backends[account_id][region_name]
        days = properties.get("RetentionInDays")
        if days is not None:
            backend.put_retention_policy(original_resource.name, int(days))
        return original_resource

    logs_models.LogGroup.update_from_cloudformation_json = classmethod(update_log_group)


def kms_keys_from_cloudformation() -> None:
    """An AWS::KMS::Key with Tags failed (moto expected the KMS API's TagKey/TagValue shape, not
    CloudFormation's Key/Value), and one created with a KeyPolicy object kept it as a dict, so
    every later DescribeKey failed on json.loads.  Test: test_kms_key_from_cloudformation."""
    from moto.kms import models as kms_models

    original_create_key = kms_models.Key.create_from_cloudformation_json.__func__

    def create_key(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json.get("Properties", {})
        if properties.get("Tags"):
            properties["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in properties["Tags"]]
        if isinstance(properties.get("KeyPolicy"), dict):
            properties["KeyPolicy"] = json.dumps(properties["KeyPolicy"])
        return original_create_key(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)

    kms_models.Key.create_from_cloudformation_json = classmethod(create_key)


def elbv2_full_names() -> None:
    """Fn::GetAtt of a target group's TargetGroupFullName or a load balancer's
    LoadBalancerFullName was not implemented.  Test: test_load_balancer_full_names."""
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
    from moto.elbv2 import models as elb_models

    def full_name(arn: str, marker: str) -> str:
        """arn:...:loadbalancer/app/NAME/ID -> app/NAME/ID; arn:...:targetgroup/NAME/ID -> targetgroup/NAME/ID."""
        return arn.split(":")[-1].split("/", 1)[1] if marker == "loadbalancer" else arn.split(":")[-1]

    def target_group_attribute(self, attribute_name: str):
        values = {"TargetGroupFullName": full_name(self.arn, "targetgroup"), "TargetGroupName": self.name,
                  "TargetGroupArn": self.arn}
        if attribute_name not in values:
            raise UnformattedGetAttTemplateException()
        return values[attribute_name]

    elb_models.FakeTargetGroup.get_cfn_attribute = target_group_attribute
    original_lb_attribute = elb_models.FakeLoadBalancer.get_cfn_attribute

    def load_balancer_attribute(self, attribute_name: str):
        if attribute_name == "LoadBalancerFullName":
            return full_name(self.arn, "loadbalancer")
        return original_lb_attribute(self, attribute_name)

    elb_models.FakeLoadBalancer.get_cfn_attribute = load_balancer_attribute


def elbv2_attributes_from_cloudformation() -> None:
    """moto ignored a load balancer's LoadBalancerAttributes in a template, on create and
    on update (it had no update at all), so deletion protection or access logs set by a
    stack never reached the load balancer.  Test: test_load_balancer_attributes_and_deletion_protection."""
    from moto.elbv2 import models as elb_models

    def apply_attributes(balancer, properties: dict, account_id: str, region_name: str) -> None:
        attributes = {a["Key"]: str(a["Value"]).lower() if isinstance(a["Value"], bool) else str(a["Value"])
                      for a in properties.get("LoadBalancerAttributes") or []}
        if attributes:
            elb_models.elbv2_backends[account_id][region_name].modify_load_balancer_attributes(balancer.arn, attributes)

    original_create = elb_models.FakeLoadBalancer.create_from_cloudformation_json.__func__

    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        balancer = original_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        apply_attributes(balancer, cloudformation_json.get("Properties") or {}, account_id, region_name)
        return balancer

    def update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        apply_attributes(original_resource, cloudformation_json.get("Properties") or {}, account_id, region_name)
        return original_resource

    elb_models.FakeLoadBalancer.create_from_cloudformation_json = classmethod(create)
    elb_models.FakeLoadBalancer.update_from_cloudformation_json = classmethod(update)


def elbv2_deletion_protection() -> None:
    """moto deleted a load balancer whose deletion_protection.enabled is true.  AWS refuses
    DeleteLoadBalancer with OperationNotPermitted (botocore's elbv2 model lists it for the
    operation), "Load balancer '<ARN>' cannot be deleted because deletion protection is enabled",
    and so fails a CloudFormation delete of the stack that holds it, which ends DELETE_FAILED
    (elasticloadbalancing/latest/application/edit-load-balancer-attributes.html#deletion-protection;
    the AWSSupportRemediator-EnableElbDeletionProtection runbook: "This restriction also applies to
    CloudFormation stack deletions").  A load balancer already gone is deleted without an error
    (DeleteLoadBalancer: "If the load balancer does not exist ... the call succeeds").
    Test: test_load_balancer_attributes_and_deletion_protection."""
    from moto.elbv2 import exceptions, models as elb_models

    original_delete = elb_models.ELBv2Backend.delete_load_balancer

    def delete_load_balancer(self, arn: str) -> None:
        balancer = self.load_balancers.get(arn)
        if balancer is not None and balancer.attrs.get("deletion_protection.enabled") == "true":
            raise exceptions.ELBClientError(
                "OperationNotPermitted",
                f"Load balancer '{arn}' cannot be deleted because deletion protection is enabled")
        original_delete(self, arn)

    elb_models.ELBv2Backend.delete_load_balancer = delete_load_balancer


def policy_conditions_select_statements() -> None:
    """In a bucket policy moto evaluated only StringEquals conditions and ignored the rest,
    so a Deny with `Bool aws:SecureTransport false` (the TLS-only policies) denied every
    request.  A statement applies only when its condition holds; the endpoint stands in for
    AWS's HTTPS endpoints, so requests count as TLS.
    Test: test_tls_only_bucket_policy_allows_requests."""
    import fnmatch

    from moto.iam import access_control

    def holds(operator: str, expected, actual) -> bool:
        expected = expected if isinstance(expected, list) else [expected]
        if operator.endswith("IfExists") and actual is None:
            return True
        operator = operator.removesuffix("IfExists")
        if operator == "Null":
            return any(str(e).lower() == ("true" if actual is None else "false") for e in expected)
        if actual is None:
            return False
        if operator == "Bool":
            return any(str(e).lower() == str(actual).lower() for e in expected)
        if operator in ("StringEquals", "ArnEquals"):
            return actual in [str(e) for e in expected]
        if operator in ("StringNotEquals", "ArnNotEquals"):
            return actual not in [str(e) for e in expected]
        if operator in ("StringLike", "ArnLike"):
            return any(fnmatch.fnmatchcase(actual, str(e)) for e in expected)
        if operator in ("StringNotLike", "ArnNotLike"):
            return not any(fnmatch.fnmatchcase(actual, str(e)) for e in expected)
        return False

    original = access_control.IAMPolicyStatement.is_action_permitted

    def is_action_permitted(self, action, resource="*", principal=None, incoming_condition_values=None):
        context = {"aws:SecureTransport": "true", **(incoming_condition_values or {})}
        condition = self._statement.get("Condition") or {}
        if not all(holds(operator, expected, context.get(key))
                   for operator, pairs in condition.items() for key, expected in pairs.items()):
            return access_control.PermissionResult.NEUTRAL
        statement = {k: v for k, v in self._statement.items() if k != "Condition"}
        return original(access_control.IAMPolicyStatement(statement), action, resource, principal, context)

    access_control.IAMPolicyStatement.is_action_permitted = is_action_permitted


def unimplemented_actions_answer_aws_errors() -> None:
    """An action moto does not implement answered HTTP 500 with an HTML page; it now answers
    an AWS error, code InvalidAction, so clients report "not available at this endpoint".
    Test: test_unimplemented_action_is_an_aws_error."""
    from xml.sax.saxutils import escape

    from moto.core import responses

    original_call_action = responses.BaseResponse.call_action

    def call_action(self):
        try:
            return original_call_action(self)
        except NotImplementedError as exc:
            message = f"{exc} at this local endpoint (moto)"
            headers = {"X-Amzn-ErrorType": "InvalidAction"}
            if self.headers.get("X-Amz-Target"):  # JSON protocol
                headers["Content-Type"] = "application/x-amz-json-1.1"
                return 400, headers, json.dumps({"__type": "InvalidAction", "message": message})
            headers["Content-Type"] = "text/xml"
            return 400, headers, (
                "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code>"
                f"<Message>{escape(message)}</Message></Error><RequestId>0</RequestId></ErrorResponse>"
            )

    responses.BaseResponse.call_action = call_action


def awsvpc_tasks_have_a_private_dns_name() -> None:
    """A task in awsvpc network mode (every Fargate task) failed to start with HTTP 500: moto's Task reads its
    network interface's private_dns_name, which moto's NetworkInterface does not have.  EC2 names it
    ip-<address with dashes>.<region>.compute.internal (vpc-dns-hostnames.html).  moto assigns the name itself
    where the VPC has DNS hostnames on (an interface endpoint's network interfaces there): the property takes
    that assignment and keeps deriving the name from the address, else CreateVpcEndpoint failed with HTTP 500
    in such a VPC (test_a_complete_vpc_passes_and_names_each_way).
    Test: test_run_takes_everything_from_the_outputs."""
    from moto.ec2.models.elastic_network_interfaces import NetworkInterface

    def private_dns_name(self) -> str:
        address = (self.private_ip_address or "0.0.0.0").replace(".", "-")
        region = getattr(self.ec2_backend, "region_name", "us-east-1")
        return f"ip-{address}.ec2.internal" if region == "us-east-1" else f"ip-{address}.{region}.compute.internal"

    def assigned(self, value: str) -> None:
        """moto's own assignment: the name follows from the address either way."""

    if not hasattr(NetworkInterface, "private_dns_name"):
        NetworkInterface.private_dns_name = property(private_dns_name, assigned)


def metric_windows_as_cloudwatch_documents() -> None:
    """GetMetricData cut both ends of its window to the second: a data point published in the second the window
    ends was left out, and the pipeline's quality gate read nothing train had just published.  CloudWatch keeps
    milliseconds; it rounds StartTime (inclusive) down to the minute for data under 15 days old and takes
    EndTime as given, exclusive (API_GetMetricData.html, "StartTime", "EndTime").
    Test: test_a_run_optimizes_trains_and_predicts_as_each_tasks_role (tests/integration/test_pipeline_runs.py)."""
    from datetime import datetime, timedelta

    from moto.cloudwatch.models import CloudWatchBackend

    class Exact(datetime):
        """An end moto cannot cut to the second (it calls replace(microsecond=0))."""

        def replace(self, *args, **kwargs):
            return self if not args and set(kwargs) == {"microsecond"} else super().replace(*args, **kwargs)

    original = CloudWatchBackend.get_metric_data

    def get_metric_data(self, queries, start_time, end_time, scan_by="TimestampAscending"):
        end = end_time.replace(microsecond=end_time.microsecond // 1000 * 1000)
        start = start_time.replace(second=0, microsecond=0) if end - start_time < timedelta(days=15) else start_time
        if start >= end:       # moto's own checks, on the times as given
            return original(self, queries, start_time, end_time, scan_by)
        return original(self, queries, start, Exact(*end.timetuple()[:6], end.microsecond, tzinfo=end.tzinfo),
                        scan_by)

    CloudWatchBackend.get_metric_data = get_metric_data


def awsvpc_tasks_default_to_the_vpcs_security_group() -> None:
    """RunTask without securityGroups failed with HTTP 500 (moto reads the key); ECS uses the VPC's default
    security group (API_AwsVpcConfiguration.html, "securityGroups").
    Test: test_the_pipeline_role_runs_only_the_pipelines_tasks_on_its_cluster."""
    import inspect

    from moto.ec2.models import ec2_backends
    from moto.ecs.models import EC2ContainerServiceBackend

    original = EC2ContainerServiceBackend.run_task

    signature = inspect.signature(original)

    def run_task(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        network = (bound.arguments.get("networking_configuration") or {}).get("awsvpcConfiguration")
        if network and network.get("subnets") and not network.get("securityGroups"):
            ec2 = ec2_backends[self.account_id][self.region_name]
            vpc = ec2.get_subnet(network["subnets"][0]).vpc_id
            default = ec2.get_default_security_group(vpc)
            network["securityGroups"] = [default.id] if default else []
        return original(self, *args, **kwargs)

    EC2ContainerServiceBackend.run_task = run_task


def stacksets_take_delegated_administrators() -> None:
    """RegisterDelegatedAdministrator refused CloudFormation StackSets' service principal ("You specified an
    unrecognized service principal"): moto's list of services that take a delegated administrator lacks it.
    StackSets takes up to five, registered for member.org.stacksets.cloudformation.amazonaws.com
    (stacksets-orgs-delegated-admin.html; orgs_integrated-services-list.html).
    Test: test_a_member_account_deploys_service_managed_only_as_a_registered_delegated_admin."""
    from moto.organizations.models import FakeDelegatedAdministrator

    principal = "member.org.stacksets.cloudformation.amazonaws.com"
    if principal not in FakeDelegatedAdministrator.SUPPORTED_SERVICES:
        FakeDelegatedAdministrator.SUPPORTED_SERVICES.append(principal)


def aws_managed_policies_on_demand() -> None:
    """AWS managed policies exist in every account, but moto has none unless it loads all ~1,300 at every
    reset (MOTO_IAM_LOAD_MANAGED_POLICIES): attaching one (AWS_ConfigRole to the Config recorder's role) failed
    with NoSuchEntity, and the policy evaluator saw none of its grants.  The one a request names is now loaded
    from moto's copy of AWS's documents when first named.  Test:
    test_config_delivers_history_only_while_its_role_may_write."""
    from functools import lru_cache

    from moto.iam import models
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    published = lru_cache(maxsize=1)(lambda: json.loads(aws_managed_policies_data))

    def load(backend, arn) -> None:
        if not isinstance(arn, str) or arn in backend.managed_policies or ":iam::aws:policy/" not in arn:
            return
        name = arn.rsplit("/", 1)[1]
        data = published().get(name)
        if data is None:
            return
        policy = models.AWSManagedPolicy.from_data(name, backend.account_id, backend.region_name, data)
        if policy.arn == arn:
            backend.managed_policies[arn] = policy
            backend.aws_managed_policies.append(policy)

    for method in ("attach_role_policy", "attach_user_policy", "attach_group_policy", "get_policy",
                   "get_policy_version"):       # each takes the policy's ARN first
        original = getattr(models.IAMBackend, method)

        def loading(self, policy_arn, *args, _original=original, **kwargs):
            load(self, policy_arn)
            return _original(self, policy_arn, *args, **kwargs)

        setattr(models.IAMBackend, method, loading)


def read_template(body: str, read_yaml) -> dict:
    """A template body's document: JSON by the json module, anything else by `read_yaml` (moto's)."""
    if body.lstrip().startswith("{"):
        try:
            return json.loads(body)
        except ValueError:
            pass   # YAML's flow style starts with "{" too
    return read_yaml(body)


def json_templates_read_as_json() -> None:
    """moto read every template body with PyYAML's pure-Python loader, JSON included: two thirds of
    the endpoint's time in a deploy (a first deploy took 1.5 s, now 0.7 s).  Both engines read
    bodies through Stack.parse_template, lenient change sets through their own copy.
    Test: test_json_and_yaml_template_bodies_read_alike (and tests/unit/test_template_reading.py: the
    documents moto's own reading gives, for every generated template)."""
    from moto.cloudformation import models

    read_yaml = models.Stack.parse_template

    def parse_change_set_template(change_set) -> None:
        change_set.template_dict = read_template(change_set.template, read_yaml)

    models.Stack.parse_template = staticmethod(lambda body: read_template(body, read_yaml))
    models.ChangeSet._parse_template = parse_change_set_template


CLOUDFORMATION = (nested_stack_outputs, outputs_after_change_set, nested_stack_update_in_place, cidr_and_no_value,
                  list_parameters_as_text, task_definition_update, keep_resources_moto_cannot_update)
SERVICES = (log_group_updates, kms_keys_from_cloudformation, elbv2_full_names, elbv2_attributes_from_cloudformation,
            elbv2_deletion_protection, policy_conditions_select_statements, unimplemented_actions_answer_aws_errors,
            json_templates_read_as_json, awsvpc_tasks_have_a_private_dns_name, metric_windows_as_cloudwatch_documents,
            awsvpc_tasks_default_to_the_vpcs_security_group, stacksets_take_delegated_administrators,
            aws_managed_policies_on_demand)


def apply(strict: bool) -> None:
    for patch in SERVICES + (() if strict else CLOUDFORMATION):
        patch()
