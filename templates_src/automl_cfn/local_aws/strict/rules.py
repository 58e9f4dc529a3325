"""Service rules moto skips, enforced in strict mode.

Two kinds: checks CloudFormation makes before it creates a resource
(`before_create`: name limits from the provider schemas and botocore, and
"already exists" for named resources), and checks the services themselves
make, patched into moto's backends so that the API and CloudFormation paths
both refuse (`install`).  Each names the test that shows plain moto accepts
what strict mode refuses (tests/integration/test_local_endpoint.py).
"""

from __future__ import annotations

from typing import Any

from ... import providers
from .registry import handler_for
from .resources import HandlerError

ELB_LIMITED = {"AWS::ElasticLoadBalancingV2::LoadBalancer": "LoadBalancer",
               "AWS::ElasticLoadBalancingV2::TargetGroup": "Target group"}


def before_create(backend, stack, resource, props: dict) -> None:
    """Refuse what CloudFormation would refuse for this resource: a name over its limit, or a
    name that another resource already has."""
    provider = providers.get(resource.type)
    name_property = provider.name_property
    name = props.get(name_property) if name_property else None
    if not isinstance(name, str):
        return
    check_name_length(resource.logical_id, resource.type, name_property, name, provider.name_max_length)
    check_not_taken(stack, resource.type, name)


def check_name_length(logical_id: str, resource_type: str, prop: str, name: str, limit: int | None) -> None:
    """Test: test_strict_refuses_names_over_their_limit."""
    if limit is None or len(name) <= limit:
        return
    if resource_type in ELB_LIMITED:
        raise HandlerError(f"{ELB_LIMITED[resource_type]} name '{name}' cannot be longer than '{limit}' characters")
    raise HandlerError(f"Properties validation failed for resource {logical_id} with message: "
                       f"[#/{prop}: expected maxLength: {limit}, actual: {len(name)}]")


def check_not_taken(stack, resource_type: str, name: str) -> None:
    """A named resource CloudFormation would create already exists (retained by an earlier
    stack, say).  Test: test_strict_refuses_names_that_exist."""
    handler = handler_for(resource_type)
    if getattr(handler, "checks_names_itself", False):
        return  # the service's own message says more (a secret name reserved after deletion, say)
    if handler.find(stack.where, name) is not None:
        if resource_type == "AWS::S3::Bucket":
            raise HandlerError(f"{name} already exists")
        raise HandlerError(f"Resource of type '{resource_type}' with identifier '{name}' already exists.")


# ---------------------------------------------------------------------------
# service rules (moto backend patches)
# ---------------------------------------------------------------------------

def load_balancer_needs_two_zones() -> None:
    """An Application Load Balancer needs subnets in at least two Availability Zones; moto
    takes one.  Test: test_strict_refuses_a_load_balancer_in_one_zone."""
    from moto.elbv2 import models
    from moto.elbv2.exceptions import ELBClientError

    original = models.ELBv2Backend.create_load_balancer

    def create_load_balancer(self, name, security_groups, subnet_ids, subnet_mappings=None,
                             scheme="internet-facing", loadbalancer_type=None, ip_address_type="ipv4", tags=None):
        if (loadbalancer_type or "application") == "application":
            ids = list(subnet_ids or []) + [m["SubnetId"] for m in subnet_mappings or []]
            zones = {getattr(self.ec2_backend.get_subnet(i), "availability_zone", i) for i in ids}
            if len(zones) < 2:
                raise ELBClientError("ValidationError", "At least two subnets in two different Availability Zones "
                                                        "must be specified")
        return original(self, name, security_groups, subnet_ids, subnet_mappings, scheme, loadbalancer_type,
                        ip_address_type, tags)

    models.ELBv2Backend.create_load_balancer = create_load_balancer


def one_listener_per_port() -> None:
    """Two listeners on one port of a load balancer: moto's check compares the port with
    listener ARNs and never fires.  Test: test_strict_creates_before_it_deletes."""
    from moto.elbv2 import models
    from moto.elbv2.exceptions import DuplicateListenerError

    original = models.ELBv2Backend.create_listener

    def create_listener(self, load_balancer_arn, protocol, port, *args, **kwargs):
        balancer = self.load_balancers.get(load_balancer_arn)
        if balancer is not None and any(str(l.port) == str(port) for l in balancer.listeners.values()):
            raise DuplicateListenerError()
        return original(self, load_balancer_arn, protocol, port, *args, **kwargs)

    models.ELBv2Backend.create_listener = create_listener


def target_group_on_one_load_balancer() -> None:
    """A target group can serve one load balancer only; moto lets listeners of several
    forward to it.  Test: test_strict_refuses_a_target_group_on_two_load_balancers."""
    from moto.elbv2 import models
    from moto.elbv2.exceptions import ELBClientError

    def forwarded(self, actions) -> set[str]:
        arns = set()
        for action in actions or []:
            data = action.data if hasattr(action, "data") else action
            if (data.get("Type") or data.get("type")) == "forward":
                arns |= set(self._get_target_group_arns_from(action_data=data))
        return arns

    def serving(self, target_group_arn: str) -> set[str]:
        balancers = set()
        for balancer in self.load_balancers.values():
            for listener in balancer.listeners.values():
                actions = list(listener.default_actions)
                for rule in listener.rules.values():
                    actions += list(rule.actions)
                if target_group_arn in forwarded(self, actions):
                    balancers.add(balancer.arn)
        return balancers

    def check(self, load_balancer_arn: str, actions: Any) -> None:
        clash = sorted(arn for arn in forwarded(self, actions) if serving(self, arn) - {load_balancer_arn})
        if clash:
            raise ELBClientError("TargetGroupAssociationLimit", "The following target groups cannot be associated "
                                 f"with more than one load balancer: {', '.join(clash)}")

    original_listener = models.ELBv2Backend.create_listener

    def create_listener(self, load_balancer_arn, protocol, port, ssl_policy, certificate, actions, *args, **kwargs):
        check(self, load_balancer_arn, actions)
        return original_listener(self, load_balancer_arn, protocol, port, ssl_policy, certificate, actions, *args,
                                 **kwargs)

    original_rule = models.ELBv2Backend.create_rule

    def create_rule(self, listener_arn, conditions, priority, actions, *args, **kwargs):
        listeners = self.describe_listeners(None, [listener_arn])
        if listeners:
            check(self, listeners[0].load_balancer_arn, actions)
        return original_rule(self, listener_arn, conditions, priority, actions, *args, **kwargs)

    models.ELBv2Backend.create_listener = create_listener
    models.ELBv2Backend.create_rule = create_rule


def other_accounts_read_only_what_the_bucket_policy_grants() -> None:
    """moto serves GetObject on any account's bucket to any caller; S3 answers another account Access
    Denied unless the bucket policy grants it (s3_access.py).  Test:
    test_promotion_to_another_account_needs_the_organisation_statement."""
    from moto.s3 import models
    from moto.s3.exceptions import S3AccessDeniedError

    from .s3_access import readable_by

    original = models.S3Backend.get_object

    def get_object(self, bucket_name, key_name, *args, **kwargs):
        if not readable_by(f"https://{bucket_name}.s3.amazonaws.com/{key_name}", self.account_id):
            raise S3AccessDeniedError()
        return original(self, bucket_name, key_name, *args, **kwargs)

    models.S3Backend.get_object = get_object


def key_policy_lockout_safety_check() -> None:
    """CreateKey and PutKeyPolicy refuse a policy that would lock the caller out of the key (policy/keys.py);
    moto takes any policy.  Test: test_strict_refuses_a_key_policy_that_locks_out_its_creator."""
    from moto.core.exceptions import JsonRESTError
    from moto.kms import responses

    from ..policy.keys import LockedOut, check_lockout

    def guarded(original, key_of):
        def action(self):
            policy = self._get_param("Policy")
            tags = {t.get("TagKey"): t.get("TagValue") for t in self._get_param("Tags") or []}
            try:
                check_lockout(policy, key_of(self), self.current_account, self.region,
                              bypass=bool(self._get_param("BypassPolicyLockoutSafetyCheck")), tags=tags)
            except LockedOut as refused:
                raise JsonRESTError("MalformedPolicyDocumentException", str(refused)) from None
            return original(self)
        return action

    def new_key(self) -> str:
        return f"arn:aws:kms:{self.region}:{self.current_account}:key/*"

    def existing_key(self) -> str:
        key = self._get_param("KeyId") or ""
        return key if key.startswith("arn:") else f"arn:aws:kms:{self.region}:{self.current_account}:key/{key}"

    responses.KmsResponse.create_key = guarded(responses.KmsResponse.create_key, new_key)
    responses.KmsResponse.put_key_policy = guarded(responses.KmsResponse.put_key_policy, existing_key)


# Where a partition keeps what is global in it (an account's dashboards, here).
HOME_REGIONS = {"aws": "us-east-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}


def dashboards_are_account_wide() -> None:
    """Dashboards: "All dashboards in your account are global, not region-specific" (PutDashboard,
    docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html, and
    AWS::CloudWatch::Dashboard): a dashboard put in one region is read, listed, replaced and deleted from
    every other, and a stack in another region that creates one of the same name fails "already exists"
    (resources.DashboardHandler.find; name_scopes.py).  moto keeps dashboards per region.
    Test: test_strict_dashboard_names_are_account_wide."""
    from moto.cloudwatch import models
    from moto.utilities.utils import get_partition

    def account_dashboards(self) -> dict:
        home = HOME_REGIONS.get(get_partition(self.region_name), self.region_name)
        return models.cloudwatch_backends[self.account_id][home].__dict__.setdefault("account_dashboards", {})

    # moto's __init__ assigns an empty dict per region: the account's one table stands in for it.
    models.CloudWatchBackend.dashboards = property(account_dashboards, lambda self, value: None)


SERVICE_RULES = (load_balancer_needs_two_zones, one_listener_per_port, target_group_on_one_load_balancer,
                 other_accounts_read_only_what_the_bucket_policy_grants, key_policy_lockout_safety_check,
                 dashboards_are_account_wide)


def install() -> None:
    for rule in SERVICE_RULES:
        rule()
