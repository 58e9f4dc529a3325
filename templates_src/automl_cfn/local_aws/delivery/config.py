"""AWS Config -> its delivery bucket, as the configuration recorder's role.

Config writes configuration history and snapshots to the delivery channel's
bucket as the recorder's role: config.amazonaws.com assumes it (its trust
policy, with aws:SourceAccount and aws:SourceArn arn:aws:config:<region>:<account>:*,
iamrole-permissions.html#iam-trust-policy), and the role's own policies must
allow s3:PutObject under [<prefix>/]AWSLogs/<account>/Config/ with the
bucket-owner-full-control ACL Config sends, and s3:GetBucketAcl on the bucket
(config/latest/developerguide/iamrole-permissions.html#iam-role-policies-S3-bucket).
Only for a bucket of another account does Config, refused as the role, try
again as its service principal, which that bucket's policy must allow
(s3-bucket-policy.html).  Before writing it calls HeadBucket (s3:ListBucket) as
the role; a refusal there is logged (CloudTrail on AWS, delivery.LOG here) and
the delivery goes on (s3-bucket-policy.html).

Two moments, as on AWS:

- PutDeliveryChannel checks the channel before it takes it: a bucket that does
  not exist is NoSuchBucketException, a role Config cannot assume or that may
  not read the bucket's ACL or write under the prefix is
  InsufficientDeliveryPolicyException, in AWS's words ("Insufficient delivery
  policy to s3 bucket: B, unable to write to bucket, provided s3 key prefix is
  'null', provided kms key is 'null'.", API_PutDeliveryChannel.html).
  CloudFormation's AWS::Config::DeliveryChannel makes the same call, so a
  baseline whose role cannot write fails to create.
- `deliver()` plays one history delivery (every six hours on AWS): for each
  type the recording recorder records, the configuration items moto can
  describe (IAM roles and policies, S3 buckets, SNS topics) go, gzipped, to
  AWSLogs/<account>/Config/<region>/<y>/<m>/<d>/ConfigHistory/ as
  <account>_Config_<region>_ConfigHistory_<type>_<start>_<end>_1.json.gz
  (example-configuration-history-notification.html).  The global IAM types
  are recorded where the recording group lists them, and only in Regions
  AWS Config served before February 2022 (config_rules.GLOBAL_IAM_REGIONS).
  The server runs it on POST /_automl/config/deliver?region=R[&account=A].
- DescribeDeliveryChannelStatus (moto has none) reports the last history
  delivery: configHistoryDeliveryInfo lastStatus SUCCESS, or FAILURE with
  S3's AccessDenied when the role was refused, as AWS reports a delivery it
  could not make (verify-delivery-status.html, API_ConfigExportDeliveryInfo.html).

Tests: tests/integration/test_baseline.py::test_config_delivers_history_only_while_its_role_may_write,
tests/integration/test_baseline.py::test_the_global_iam_types_are_recorded_in_the_home_region_only.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone

from . import record

SERVICE = "config.amazonaws.com"
ACL = {"s3:x-amz-acl": "bucket-owner-full-control"}   # the canned ACL Config puts its objects with


def install() -> None:
    from moto.config import models
    from moto.config.responses import ConfigResponse

    original = models.ConfigBackend.put_delivery_channel

    def put_delivery_channel(self, delivery_channel: dict) -> None:
        bucket = delivery_channel.get("s3BucketName")
        if self.recorders and bucket:
            recorder = next(iter(self.recorders.values()))
            channel_is_writable(self.account_id, self.region_name, recorder.role_arn, bucket,
                                delivery_channel.get("s3KeyPrefix"), delivery_channel.get("s3KmsKeyArn"))
        original(self, delivery_channel)

    models.ConfigBackend.put_delivery_channel = put_delivery_channel
    forget_status_with_the_channel(models.ConfigBackend)
    ConfigResponse.describe_delivery_channel_status = describe_delivery_channel_status


def history_status(backend) -> dict[str, dict]:
    """{channel name: its configHistoryDeliveryInfo}, kept on the region's backend (a reset forgets it)."""
    if not hasattr(backend, "automl_history_status"):
        backend.automl_history_status = {}
    return backend.automl_history_status


def forget_status_with_the_channel(backend_class) -> None:
    """A channel deleted and made again starts with no delivery behind it."""
    original = backend_class.delete_delivery_channel

    def delete_delivery_channel(self, channel_name: str) -> None:
        original(self, channel_name)
        history_status(self).pop(channel_name, None)

    backend_class.delete_delivery_channel = delete_delivery_channel


def describe_delivery_channel_status(self) -> str:
    """DescribeDeliveryChannelStatus: each named channel (all when none is named; NoSuchDeliveryChannelException
    for a name without one) with the outcome of its last configuration history delivery: lastStatus SUCCESS or
    FAILURE, lastErrorCode and lastErrorMessage for a failure, lastAttemptTime, lastSuccessfulTime; empty before
    the first (API_DescribeDeliveryChannelStatus.html, verify-delivery-status.html).  Snapshots and the
    configuration stream are not played here, so their infos are left out.  Test:
    test_config_delivers_history_only_while_its_role_may_write."""
    channels = self.config_backend.describe_delivery_channels(self._get_param("DeliveryChannelNames") or [])
    status = history_status(self.config_backend)
    return json.dumps({"DeliveryChannelsStatus": [
        {"name": channel["name"], "configHistoryDeliveryInfo": dict(status.get(channel["name"], {}))}
        for channel in channels]})


def note_delivery(backend, channel: str, attempted: datetime, refusal: str = "") -> None:
    """The channel's history delivery status after one attempt: a refusal is S3's AccessDenied."""
    info = history_status(backend).setdefault(channel, {})
    info["lastAttemptTime"] = attempted.timestamp()
    for key in ("lastErrorCode", "lastErrorMessage"):
        info.pop(key, None)
    if refusal:
        info.update(lastStatus="FAILURE", lastErrorCode="AccessDenied", lastErrorMessage=refusal)
    else:
        info.update(lastStatus="SUCCESS", lastSuccessfulTime=attempted.timestamp())


def config_error(code: str, message: str):
    from moto.core.exceptions import JsonRESTError

    error = JsonRESTError(code, message)
    error.code = 400
    return error


def source(account: str, region: str) -> str:
    """The aws:SourceArn Config passes for a recorder or channel (iamrole-permissions.html#iam-trust-policy)."""
    return f"arn:aws:config:{region}:{account}:*"


def prefix_of(account: str, key_prefix: str | None) -> str:
    return (f"{key_prefix}/" if key_prefix else "") + f"AWSLogs/{account}/Config/"


def channel_is_writable(account: str, region: str, role_arn: str, bucket: str, key_prefix: str | None,
                        kms_key: str | None) -> None:
    """PutDeliveryChannel refuses a channel whose bucket the recorder's role cannot reach: the bucket must exist
    (NoSuchBucketException), Config must be let assume the role, and the role read the bucket's ACL and write
    under the channel's prefix (InsufficientDeliveryPolicyException; API_PutDeliveryChannel.html,
    iamrole-permissions.html#iam-role-policies-S3-bucket).  HeadBucket's refusal is only logged
    (s3-bucket-policy.html).  Test: test_config_delivers_history_only_while_its_role_may_write."""
    from ..policy import enforce, resources, services
    from ..policy.requests import bucket_ask

    if not resources.bucket_owner(bucket):
        raise config_error("NoSuchBucketException", f"Cannot find a S3 bucket with the name {bucket}.")
    insufficient = f"Insufficient delivery policy to s3 bucket: {bucket}"
    try:
        services.assumed_role(role_arn, SERVICE, region, source(account, region), channel="config")
    except enforce.AccessDenied:
        raise config_error("InsufficientDeliveryPolicyException", f"{insufficient}, unable to assume role: "
                                                                  f"{role_arn}.") from None
    try:
        as_recorder(role_arn, account, region, bucket_ask("s3:ListBucket", bucket))
    except enforce.AccessDenied as denied:   # Config goes on without the bucket's location
        record("config", role_arn, f"arn:aws:s3:::{bucket}", False, f"HeadBucket: {denied.message}")
    checks = ((bucket_ask("s3:GetBucketAcl", bucket), "unable to get s3 bucket acl."),
              (bucket_ask("s3:PutObject", bucket, prefix_of(account, key_prefix) + "ConfigWritabilityCheckFile", ACL),
               f"unable to write to bucket, provided s3 key prefix is '{key_prefix or 'null'}', provided kms key is "
               f"'{kms_key or 'null'}'."))
    for ask, problem in checks:
        try:
            as_recorder(role_arn, account, region, ask)
        except enforce.AccessDenied as denied:
            record("config", role_arn, ask.resource, False, denied.message)
            raise config_error("InsufficientDeliveryPolicyException", f"{insufficient}, {problem}") from None


def as_recorder(role_arn: str, account: str, region: str, ask) -> None:
    """Config acts for the recorder as its role; for a bucket of another account, refused so, it tries again as
    config.amazonaws.com, which that bucket's policy must allow (s3-bucket-policy.html).  Raises the role's
    refusal when both fail.  Test: test_config_delivers_history_only_while_its_role_may_write."""
    from ..policy import enforce, services

    try:
        services.as_role(role_arn, SERVICE, region, source(account, region), [ask], channel="config")
        return
    except enforce.AccessDenied as refused:
        if ask.resource_account in ("", account):
            raise
        role_refusal = refused
    try:
        services.as_service(SERVICE, account, region, source(account, region), [ask], channel="config")
    except enforce.AccessDenied:
        raise role_refusal from None


def recorded_types(group, region: str) -> list[str]:
    """The types a recording group records in this region, among those moto describes (select-resources.html;
    botocore's RecordingGroup): all supported (the global IAM types with includeGlobalResourceTypes), the
    listed ones, or all but the excluded ones (the global IAM types included unless excluded); never the
    global IAM types where Config came after February 2022."""
    from moto.config.models import RESOURCE_MAP

    from ...config_rules import GLOBAL_IAM_REGIONS, GLOBAL_IAM_TYPES

    strategy = (group.recording_strategy or {}).get("useOnly") or "ALL_SUPPORTED_RESOURCE_TYPES"
    known = sorted(RESOURCE_MAP)
    if strategy == "INCLUSION_BY_RESOURCE_TYPES":
        types = [t for t in group.resource_types or [] if t in RESOURCE_MAP]
    elif strategy == "EXCLUSION_BY_RESOURCE_TYPES":
        excluded = set((group.exclusion_by_resource_types or {}).get("resourceTypes") or [])
        types = [t for t in known if t not in excluded]
    else:
        types = [t for t in known if t not in GLOBAL_IAM_TYPES or group.include_global_resource_types]
    return [t for t in types if t not in GLOBAL_IAM_TYPES or region in GLOBAL_IAM_REGIONS]


def configuration_items(backend, resource_type: str, region: str) -> list[dict]:
    """What moto's Config can say about every resource of a type (its listing, then each item)."""
    items, token = [], None
    while True:
        page = backend.list_discovered_resources(resource_type, [], None, 100, token)
        for found in page.get("resourceIdentifiers", []):
            items += backend.get_resource_config_history(resource_type, found["resourceId"], region)[
                "configurationItems"]
        token = page.get("nextToken")
        if not token:
            return items


def deliver(account: str, region: str) -> dict:
    """One configuration history delivery of the region's recorder, as its role: {"delivered": [keys]}, or
    {"delivered": [...], "refused": AWS's message} (stopped there, as a failed delivery on AWS; the channel's
    status shows FAILURE), or
    {"delivered": [], "idle": why} when nothing records.  Test:
    test_config_delivers_history_only_while_its_role_may_write."""
    from moto.config.models import config_backends
    from moto.s3.models import s3_backends

    from ..policy import enforce, resources
    from ..policy.requests import bucket_ask

    backend = config_backends[account][region]
    recorder = next(iter(backend.recorders.values()), None)
    channel = next(iter(backend.delivery_channels.values()), None)
    if recorder is None or channel is None or not recorder.status.recording:
        return {"delivered": [], "idle": f"no recording configuration recorder with a delivery channel in account "
                                         f"{account}, region {region}"}
    now = datetime.now(timezone.utc)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    folder = f"{prefix_of(account, channel.s3_key_prefix)}{region}/{now.year}/{now.month}/{now.day}/ConfigHistory/"
    bucket, delivered = channel.s3_bucket_name, []
    for resource_type in recorded_types(recorder.recording_group, region):
        items = configuration_items(backend, resource_type, region)
        if not items:
            continue   # a type without items gets no history file
        key = f"{folder}{account}_Config_{region}_ConfigHistory_{resource_type}_{stamp}_{stamp}_1.json.gz"
        try:
            as_recorder(recorder.role_arn, account, region, bucket_ask("s3:PutObject", bucket, key, ACL))
        except enforce.AccessDenied as denied:
            record("config", recorder.role_arn, f"arn:aws:s3:::{bucket}/{key}", False, denied.message)
            note_delivery(backend, channel.name, now, denied.message)
            return {"delivered": delivered, "refused": denied.message}
        body = json.dumps({"fileVersion": "1.0", "configurationItems": items}, default=str, sort_keys=True)
        owner = resources.bucket_owner(bucket)
        s3_backends[owner]["aws"].put_object(bucket, key, gzip.compress(body.encode(), mtime=0))
        record("config", recorder.role_arn, f"arn:aws:s3:::{bucket}/{key}", True, resource_type)
        delivered.append(key)
    note_delivery(backend, channel.name, now)
    return {"delivered": delivered}
