"""How strict mode creates, updates, deletes and finds each resource type.

Most types go through moto's own resource models (the same backends the
service APIs answer from, so a bucket CloudFormation creates is a bucket
`s3.list_objects_v2` sees).  Types moto's CloudFormation does not model get
a small handler here: the Secrets Manager secret (its name is reserved while
a deleted secret waits out its recovery window), the bucket policy, and a
placeholder for types that hold nothing the tests read (alarms, scaling
policies), which still get a physical ID and appear in ListStackResources.
`find` looks a resource up by its name, for resource import and for the
"already exists" rule.
"""

from __future__ import annotations

import copy
import json
import secrets
import string
from dataclasses import dataclass, field
from typing import Any

PARTITION = "aws"


@dataclass
class Where:
    """The stack a resource belongs to."""

    account: str
    region: str
    stack_name: str
    stack_id: str
    tags: dict[str, str] = field(default_factory=dict)


class HandlerError(Exception):
    """A resource operation failed; the message is what CloudFormation would show."""


def random_suffix(size: int = 12) -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(size))


def generated_name(resource_type: str, stack_name: str, logical_id: str) -> str:
    """A name like CloudFormation's `<stack>-<logical id>-<suffix>`, within the type's limit."""
    from moto.cloudformation.parsing import generate_resource_name

    return generate_resource_name(resource_type, stack_name, logical_id)


class Handler:
    def create(self, where: Where, logical_id: str, resource_type: str, props: dict) -> Any:
        raise NotImplementedError

    def update(self, where: Where, instance: Any, resource_type: str, old: dict, new: dict) -> Any:
        return instance

    def delete(self, where: Where, instance: Any, resource_type: str, props: dict) -> None:
        return None

    def physical_id(self, instance: Any) -> str:
        return getattr(instance, "physical_resource_id", None) or getattr(instance, "strict_physical_id", "")

    def attribute(self, instance: Any, name: str) -> Any:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        try:
            return instance.get_cfn_attribute(name)
        except (UnformattedGetAttTemplateException, NotImplementedError, AttributeError):
            raise HandlerError(f"Template error: resource does not support attribute type {name} in Fn::GetAtt") \
                from None

    def find(self, where: Where, identifier: str) -> Any:
        return None


class MotoHandler(Handler):
    """moto's model for the type: create_from_cloudformation_json and friends."""

    def model(self, resource_type: str):
        from moto.cloudformation.parsing import resource_class_from_type

        return resource_class_from_type(resource_type)

    def name_for(self, where: Where, logical_id: str, resource_type: str, props: dict) -> str:
        from moto.cloudformation.parsing import resource_name_property_from_type

        prop = resource_name_property_from_type(resource_type)
        if prop and props.get(prop):
            return props[prop]
        return generated_name(resource_type, where.stack_name, logical_id)

    def create(self, where, logical_id, resource_type, props):
        from moto.ec2.models.core import TaggedEC2Resource
        from moto.ec2.models import ec2_backends

        model = self.model(resource_type)
        name = self.name_for(where, logical_id, resource_type, props)
        document = {"Type": resource_type, "Properties": copy.deepcopy(props)}
        instance = model.create_from_cloudformation_json(name, document, where.account, where.region,
                                                         LogicalId=logical_id, StackId=where.stack_id,
                                                         ResourceType=resource_type)
        instance.cf_resource_type = resource_type
        instance.logical_resource_id = logical_id
        if not getattr(instance, "physical_resource_id", None):
            instance.strict_physical_id = name   # a model without one: the name CloudFormation would give it
        if isinstance(instance, TaggedEC2Resource):
            tags = {**where.tags, "aws:cloudformation:stack-name": where.stack_name,
                    "aws:cloudformation:stack-id": where.stack_id, "aws:cloudformation:logical-id": logical_id}
            ec2_backends[where.account][where.region].create_tags([instance.physical_resource_id], tags)
        return instance

    def update(self, where, instance, resource_type, old, new):
        model = self.model(resource_type)
        if hasattr(model.update_from_cloudformation_json, "__isabstractmethod__"):
            return instance  # moto cannot change it: it keeps its previous state
        name = self.name_for(where, instance.logical_resource_id, resource_type, new)
        document = {"Type": resource_type, "Properties": copy.deepcopy(new)}
        updated = model.update_from_cloudformation_json(original_resource=instance, new_resource_name=name,
                                                        cloudformation_json=document, account_id=where.account,
                                                        region_name=where.region)
        updated.cf_resource_type = resource_type
        updated.logical_resource_id = instance.logical_resource_id
        return updated

    def delete(self, where, instance, resource_type, props):
        if resource_type in DELETERS:
            DELETERS[resource_type](where, instance, props)
            return
        try:
            instance.delete(where.account, where.region)
            return
        except (TypeError, AttributeError):
            pass
        model = self.model(resource_type)
        if not hasattr(model.delete_from_cloudformation_json, "__isabstractmethod__"):
            model.delete_from_cloudformation_json(instance.physical_resource_id,
                                                  {"Type": resource_type, "Properties": props},
                                                  where.account, where.region)


def _ec2(where: Where):
    from moto.ec2.models import ec2_backends

    return ec2_backends[where.account][where.region]


def _ecs(where: Where):
    from moto.ecs.models import ecs_backends

    return ecs_backends[where.account][where.region]


def _elbv2(where: Where):
    from moto.elbv2.models import elbv2_backends

    return elbv2_backends[where.account][where.region]


def _disassociate(where: Where, instance, props: dict) -> None:
    table = _ec2(where).route_tables.get(props["RouteTableId"])
    for association_id, subnet_id in list(getattr(table, "_associations", {}).items()):
        if subnet_id == props["SubnetId"]:
            _ec2(where).disassociate_route_table(association_id)


def _revoke_ingress(where: Where, instance, props: dict) -> None:
    source = [{"GroupId": props["SourceSecurityGroupId"]}] if props.get("SourceSecurityGroupId") else []
    ranges = [{"CidrIp": props["CidrIp"]}] if props.get("CidrIp") else []
    try:
        _ec2(where).revoke_security_group_ingress(props["GroupId"], props["IpProtocol"], str(props.get("FromPort")),
                                                  str(props.get("ToPort")), ranges, source)
    except Exception:  # the group went first: nothing left to revoke
        pass


# Deletions moto's CloudFormation models do not implement, through the service backends.
DELETERS = {
    "AWS::EC2::EIP": lambda w, i, p: _ec2(w).release_address(allocation_id=i.allocation_id),
    "AWS::EC2::FlowLog": lambda w, i, p: _ec2(w).delete_flow_logs([i.id]),
    "AWS::EC2::InternetGateway": lambda w, i, p: _ec2(w).delete_internet_gateway(i.id),
    "AWS::EC2::NatGateway": lambda w, i, p: _ec2(w).delete_nat_gateway(i.id),
    "AWS::EC2::Route": lambda w, i, p: _ec2(w).delete_route(p["RouteTableId"], p.get("DestinationCidrBlock")),
    "AWS::EC2::RouteTable": lambda w, i, p: _ec2(w).delete_route_table(i.id),
    "AWS::EC2::SubnetRouteTableAssociation": _disassociate,
    "AWS::EC2::VPCEndpoint": lambda w, i, p: _ec2(w).delete_vpc_endpoints([i.id]),
    "AWS::EC2::VPCGatewayAttachment": lambda w, i, p: _ec2(w).detach_internet_gateway(p["InternetGatewayId"],
                                                                                      p["VpcId"]),
    "AWS::EC2::SecurityGroupIngress": _revoke_ingress,
    "AWS::ECS::Cluster": lambda w, i, p: _ecs(w).delete_cluster(i.physical_resource_id),
    "AWS::ECS::Service": lambda w, i, p: _ecs(w).delete_service(p["Cluster"], i.name, force=True),
    "AWS::ECS::TaskDefinition": lambda w, i, p: _ecs(w).deregister_task_definition(i.arn),
    "AWS::ElasticLoadBalancingV2::Listener": lambda w, i, p: _elbv2(w).delete_listener(i.arn),
    "AWS::ElasticLoadBalancingV2::ListenerRule": lambda w, i, p: _elbv2(w).delete_rule(i.arn),
    "AWS::ElasticLoadBalancingV2::TargetGroup": lambda w, i, p: _elbv2(w).delete_target_group(i.arn),
}


class BucketHandler(MotoHandler):
    def find(self, where, identifier):
        from moto.s3.models import s3_backends

        return s3_backends[where.account][PARTITION].buckets.get(identifier)

    def create(self, where, logical_id, resource_type, props):
        from .. import lifecycle

        bucket = super().create(where, logical_id, resource_type, props)
        self.notifications(where, bucket, props)
        lifecycle.rules_from_the_template(where.account, bucket.name, props)
        return bucket

    def update(self, where, instance, resource_type, old, new):
        from .. import lifecycle

        bucket = super().update(where, instance, resource_type, old, new)
        self.notifications(where, bucket, new)
        lifecycle.rules_from_the_template(where.account, bucket.name, new)
        return bucket

    @staticmethod
    def notifications(where, bucket, props) -> None:
        """moto's CloudFormation bucket ignores NotificationConfiguration, so S3 never sent EventBridge the
        bucket's events.  Test: tests/integration/test_pipeline_triggers.py::test_a_burst_of_uploads_starts_one_run."""
        from moto.s3.models import s3_backends

        enabled = ((props.get("NotificationConfiguration") or {}).get("EventBridgeConfiguration") or {}).get(
            "EventBridgeEnabled") in (True, "true")
        s3_backends[where.account][PARTITION].put_bucket_notification_configuration(
            bucket.name, {"EventBridgeConfiguration": {}} if enabled else {})


class RepositoryHandler(MotoHandler):
    def find(self, where, identifier):
        from moto.ecr.models import ecr_backends

        return ecr_backends[where.account][where.region].repositories.get(identifier)


class LogGroupHandler(MotoHandler):
    def find(self, where, identifier):
        from moto.logs.models import logs_backends

        return logs_backends[where.account][where.region].groups.get(identifier)

    def update(self, where, instance, resource_type, old, new):
        from moto.logs.models import logs_backends

        backend = logs_backends[where.account][where.region]
        if new.get("RetentionInDays") is not None:
            backend.put_retention_policy(instance.name, int(new["RetentionInDays"]))
        else:
            backend.delete_retention_policy(instance.name)
        instance.kms_key_id = new.get("KmsKeyId")
        return instance


class ClusterHandler(MotoHandler):
    def find(self, where, identifier):
        from moto.ecs.models import ecs_backends

        cluster = ecs_backends[where.account][where.region].clusters.get(identifier)
        return cluster if cluster is not None and getattr(cluster, "status", "ACTIVE") == "ACTIVE" else None


class SecretHandler(Handler):
    """AWS::SecretsManager::Secret over the Secrets Manager backend (moto's CloudFormation skips it)."""

    checks_names_itself = True

    def backend(self, where: Where):
        from moto.secretsmanager.models import secretsmanager_backends

        return secretsmanager_backends[where.account][where.region]

    def create(self, where, logical_id, resource_type, props):
        backend = self.backend(where)
        name = props.get("Name") or f"{logical_id}-{random_suffix()}"
        existing = backend.secrets.get(name) if name in backend.secrets else None
        if existing is not None:
            if existing.is_deleted():
                raise HandlerError(f"You can't create this secret because a secret with this name ({name}) is "
                                   "already scheduled for deletion.")
            raise HandlerError(f"The operation failed because the secret {name} already exists.")
        value = props.get("SecretString")
        if value is None:
            value = generated_secret(props.get("GenerateSecretString") or {})
        tags = [{"Key": t["Key"], "Value": t["Value"]} for t in props.get("Tags", [])]
        backend.create_secret(name=name, secret_string=value, secret_binary=None,
                              description=props.get("Description"), tags=tags, kms_key_id=props.get("KmsKeyId"),
                              client_request_token=None, replica_regions=[], force_overwrite=False)
        return backend.secrets[name]

    def update(self, where, instance, resource_type, old, new):
        instance.description = new.get("Description")
        instance.kms_key_id = new.get("KmsKeyId")
        return instance

    def delete(self, where, instance, resource_type, props):
        # CloudFormation deletes a secret with Secrets Manager's default recovery window:
        # the name stays reserved until it ends.
        self.backend(where).delete_secret(secret_id=instance.arn, recovery_window_in_days=None,
                                          force_delete_without_recovery=False)

    def physical_id(self, instance):
        return instance.arn

    def attribute(self, instance, name):
        if name == "Id":
            return instance.arn
        raise HandlerError(f"Template error: resource does not support attribute type {name} in Fn::GetAtt")

    def find(self, where, identifier):
        backend = self.backend(where)
        return backend.secrets.get(identifier) if identifier in backend.secrets else None


def generated_secret(spec: dict) -> str:
    length = int(spec.get("PasswordLength", 32))
    alphabet = string.ascii_letters + string.digits
    if not spec.get("ExcludePunctuation"):
        alphabet += "!#$%&()*+,-./:;<=>?@[]^_{|}~"
    return "".join(secrets.choice(alphabet) for _ in range(length))


class NamedHandler(Handler):
    """A type kept in a moto service backend by name: the name is its physical ID, `arn_field` its Arn."""

    arn_field = "arn"

    def physical_id(self, instance):
        return instance.name

    def attribute(self, instance, name):
        if name == "Arn":
            return getattr(instance, self.arn_field)
        raise HandlerError(f"Template error: resource does not support attribute type {name} in Fn::GetAtt")


class PipeHandler(NamedHandler):
    """AWS::Pipes::Pipe in moto's Pipes backend (moto's CloudFormation does not model it), so the endpoint can
    deliver it (local_aws/delivery/pipes.py)."""

    def backend(self, where: Where):
        from moto.pipes.models import pipes_backends

        return pipes_backends[where.account][where.region]

    def create(self, where, logical_id, resource_type, props):
        name = props.get("Name") or generated_name(resource_type, where.stack_name, logical_id)
        return self.backend(where).create_pipe(
            name=name, description=props.get("Description"), desired_state=props.get("DesiredState"),
            source=props["Source"], source_parameters=props.get("SourceParameters"), enrichment=None,
            enrichment_parameters=None, target=props["Target"], target_parameters=props.get("TargetParameters"),
            role_arn=props["RoleArn"], tags=props.get("Tags"), log_configuration=None, kms_key_identifier=None)

    def update(self, where, instance, resource_type, old, new):
        instance.source_parameters = new.get("SourceParameters")
        instance.target_parameters = new.get("TargetParameters")
        instance.desired_state = new.get("DesiredState") or instance.desired_state
        return instance

    def delete(self, where, instance, resource_type, props):
        self.backend(where).delete_pipe(instance.name)

    def find(self, where, identifier):
        return self.backend(where).pipes.get(identifier)


class AlarmHandler(NamedHandler):
    """AWS::CloudWatch::Alarm in moto's CloudWatch backend (moto's CloudFormation does not create alarms), so
    describe_alarms finds what the stacks made: the rollback triggers and the release guards read it.
    Metric-math alarms keep their name, threshold and actions; moto does not evaluate them."""

    arn_field = "alarm_arn"

    def backend(self, where: Where):
        from moto.cloudwatch.models import cloudwatch_backends

        return cloudwatch_backends[where.account][where.region]

    def create(self, where, logical_id, resource_type, props):
        name = props.get("AlarmName") or generated_name(resource_type, where.stack_name, logical_id)
        return self.backend(where).put_metric_alarm(
            name=name, namespace=props.get("Namespace") or "", metric_name=props.get("MetricName") or "",
            comparison_operator=props["ComparisonOperator"], evaluation_periods=int(props["EvaluationPeriods"]),
            period=int(props.get("Period") or 60), threshold=float(props.get("Threshold") or 0),
            statistic=props.get("Statistic"), description=props.get("AlarmDescription") or "",
            dimensions=[{"Name": d["Name"], "Value": d["Value"]} for d in props.get("Dimensions") or []],
            alarm_actions=props.get("AlarmActions") or [], ok_actions=props.get("OKActions") or [],
            datapoints_to_alarm=props.get("DatapointsToAlarm"), extended_statistic=props.get("ExtendedStatistic"),
            treat_missing_data=props.get("TreatMissingData"))

    def update(self, where, instance, resource_type, old, new):
        return self.create(where, instance.name, resource_type, {**new, "AlarmName": instance.name})

    def delete(self, where, instance, resource_type, props):
        self.backend(where).delete_alarms([instance.name])

    def find(self, where, identifier):
        return self.backend(where).alarms.get(identifier)


class DashboardHandler(MotoHandler):
    """AWS::CloudWatch::Dashboard through moto's model, found by name among the account's dashboards (they are
    account-wide: rules.dashboards_are_account_wide), so a stack that names one another stack holds, in any
    region, fails "already exists" where PutDashboard would have replaced it."""

    def find(self, where, identifier):
        from moto.cloudwatch.models import cloudwatch_backends

        return cloudwatch_backends[where.account][where.region].dashboards.get(identifier)


class ScheduleHandler(NamedHandler):
    """AWS::Scheduler::Schedule in moto's Scheduler backend (moto's CloudFormation does not model it), so
    `automl-cfn pipeline schedule` reads what the stack made.  moto does not fire schedules."""

    def backend(self, where: Where):
        from moto.scheduler.models import scheduler_backends

        return scheduler_backends[where.account][where.region]

    @staticmethod
    def arguments(props: dict) -> dict:
        return dict(description=props.get("Description"), end_date=props.get("EndDate"),
                    flexible_time_window=props.get("FlexibleTimeWindow"), group_name=props.get("GroupName"),
                    kms_key_arn=props.get("KmsKeyArn"), schedule_expression=props["ScheduleExpression"],
                    schedule_expression_timezone=props.get("ScheduleExpressionTimezone"),
                    start_date=props.get("StartDate"), state=props.get("State"), target=props["Target"])

    def create(self, where, logical_id, resource_type, props):
        name = props.get("Name") or generated_name(resource_type, where.stack_name, logical_id)
        return self.backend(where).create_schedule(name=name, action_after_completion=None, **self.arguments(props))

    def update(self, where, instance, resource_type, old, new):
        return self.backend(where).update_schedule(name=instance.name, **self.arguments(new))

    def delete(self, where, instance, resource_type, props):
        self.backend(where).delete_schedule(props.get("GroupName"), instance.name)

    def find(self, where, identifier):
        return self.backend(where).schedule_groups["default"].schedules.get(identifier)


class ConfigHandler(NamedHandler):
    """AWS Config's recorder, delivery channel and rules in moto's Config backend (moto's CloudFormation does not
    model them), so `automl-cfn baseline` finds what the baseline stack made, and a second recorder in a region
    fails as AWS Config refuses it (MaxNumberOfConfigurationRecordersExceededException)."""

    def backend(self, where: Where):
        from moto.config.models import config_backends

        return config_backends[where.account][where.region]

    def physical_id(self, instance):
        return instance

    def find(self, where, identifier):
        return identifier if identifier in self.kept(where) else None

    def attribute(self, instance, name):
        raise HandlerError(f"Template error: resource does not support attribute type {name} in Fn::GetAtt")

    def update(self, where, instance, resource_type, old, new):
        self.put(where, instance, new)
        return instance

    def create(self, where, logical_id, resource_type, props):
        name = props.get(self.name_property) or generated_name(resource_type, where.stack_name, logical_id)
        self.put(where, name, props)
        return name


class RecorderHandler(ConfigHandler):
    name_property = "Name"

    def kept(self, where):
        return self.backend(where).recorders

    def put(self, where, name, props):
        group = props.get("RecordingGroup") or {}
        self.backend(where).put_configuration_recorder({
            "name": name, "roleARN": props["RoleARN"],
            "recordingGroup": {"allSupported": group.get("AllSupported", False),
                               "includeGlobalResourceTypes": group.get("IncludeGlobalResourceTypes", False),
                               "resourceTypes": group.get("ResourceTypes", []),
                               "recordingStrategy": {"useOnly": (group.get("RecordingStrategy") or {}).get(
                                   "UseOnly", "INCLUSION_BY_RESOURCE_TYPES")}}})

    def delete(self, where, instance, resource_type, props):
        self.backend(where).delete_configuration_recorder(instance)


class DeliveryChannelHandler(ConfigHandler):
    """CloudFormation starts the recorder as soon as the delivery channel is available, and a channel is
    deleted with its recorder stopped, as Config lets none go while it records (AWSCloudFormation/latest/
    UserGuide/aws-resource-config-configurationrecorder.html).  Test:
    test_config_delivers_history_only_while_its_role_may_write."""

    name_property = "Name"
    SETTINGS = {"S3KeyPrefix": "s3KeyPrefix", "S3KmsKeyArn": "s3KmsKeyArn", "SnsTopicARN": "snsTopicARN"}

    def kept(self, where):
        return self.backend(where).delivery_channels

    def put(self, where, name, props):
        snapshot = props.get("ConfigSnapshotDeliveryProperties") or {}
        channel = {"name": name, "s3BucketName": props["S3BucketName"]}
        channel.update({key: props[prop] for prop, key in self.SETTINGS.items() if props.get(prop)})
        if snapshot.get("DeliveryFrequency"):
            channel["configSnapshotDeliveryProperties"] = {"deliveryFrequency": snapshot["DeliveryFrequency"]}
        self.backend(where).put_delivery_channel(channel)

    def create(self, where, logical_id, resource_type, props):
        name = super().create(where, logical_id, resource_type, props)
        for recorder in list(self.backend(where).recorders):
            self.backend(where).start_configuration_recorder(recorder)
        return name

    def delete(self, where, instance, resource_type, props):
        for recorder in list(self.backend(where).recorders):
            self.backend(where).stop_configuration_recorder(recorder)
        self.backend(where).delete_delivery_channel(instance)


class ConfigRuleHandler(ConfigHandler):
    name_property = "ConfigRuleName"

    def kept(self, where):
        return self.backend(where).config_rules

    def put(self, where, name, props):
        import json

        rule = {key: value for key, value in props.items() if key not in ("InputParameters", "Tags")}
        rule["ConfigRuleName"] = name
        if "InputParameters" in props:
            rule["InputParameters"] = json.dumps(props["InputParameters"])
        self.backend(where).put_config_rule(rule)

    def delete(self, where, instance, resource_type, props):
        self.backend(where).delete_config_rule(instance)


@dataclass
class Placeholder:
    """A resource of a type moto does not model: a physical ID and nothing else."""

    physical_resource_id: str
    properties: dict


class BucketPolicyHandler(Handler):
    def create(self, where, logical_id, resource_type, props):
        from moto.s3.models import s3_backends

        s3_backends[where.account][PARTITION].put_bucket_policy(props["Bucket"],
                                                                json.dumps(props["PolicyDocument"]).encode())
        return Placeholder(generated_name(resource_type, where.stack_name, logical_id), props)

    def update(self, where, instance, resource_type, old, new):
        from moto.s3.models import s3_backends

        s3_backends[where.account][PARTITION].put_bucket_policy(new["Bucket"],
                                                                json.dumps(new["PolicyDocument"]).encode())
        instance.properties = new
        return instance

    def delete(self, where, instance, resource_type, props):
        from moto.s3.models import s3_backends

        backend = s3_backends[where.account][PARTITION]
        if props["Bucket"] in backend.buckets:
            backend.delete_bucket_policy(props["Bucket"])


class PlaceholderHandler(Handler):
    def create(self, where, logical_id, resource_type, props):
        from ...providers import get

        name_property = get(resource_type).name_property
        name = props.get(name_property) if name_property else None
        return Placeholder(name or generated_name(resource_type, where.stack_name, logical_id), props)

    def update(self, where, instance, resource_type, old, new):
        instance.properties = new
        return instance

    def attribute(self, instance, name):
        if name == "Arn":
            return f"arn:aws:placeholder:::{instance.physical_resource_id}"
        raise HandlerError(f"Template error: resource does not support attribute type {name} in Fn::GetAtt")


HANDLERS: dict[str, Handler] = {
    "AWS::S3::Bucket": BucketHandler(),
    "AWS::ECR::Repository": RepositoryHandler(),
    "AWS::Logs::LogGroup": LogGroupHandler(),
    "AWS::ECS::Cluster": ClusterHandler(),
    "AWS::SecretsManager::Secret": SecretHandler(),
    "AWS::S3::BucketPolicy": BucketPolicyHandler(),
    "AWS::Pipes::Pipe": PipeHandler(),
    "AWS::CloudWatch::Alarm": AlarmHandler(),
    "AWS::CloudWatch::Dashboard": DashboardHandler(),
    "AWS::Scheduler::Schedule": ScheduleHandler(),
    "AWS::Config::ConfigurationRecorder": RecorderHandler(),
    "AWS::Config::DeliveryChannel": DeliveryChannelHandler(),
    "AWS::Config::ConfigRule": ConfigRuleHandler(),
}
