"""destroy of an environment deployed with termination_protection: the stack's termination protection and
the load balancer's deletion protection both stop a delete, so destroy refuses before it deletes anything
and names both; `destroy --unprotect` (confirmed, as destroy is) turns both off and deletes the stacks,
keeping the data as every destroy does."""

from __future__ import annotations

import re
import shlex

from .conftest import outputs, stack_names

DEV = ("--env", "dev")
PROTECTED = ("--var", "load_balancer=internal", "--var", "termination_protection=true")


def deploy_protected(cli, clients) -> dict:
    code, out, err = cli("deploy", *DEV, "--yes", *PROTECTED)
    assert code == 0, err
    found = outputs(clients("cloudformation"), "automl-dev")
    clients("s3").put_object(Bucket=found["DataBucketName"], Key="data/train.csv", Body=b"a,b\n1,2\n")
    return found


def load_balancer_protected(clients) -> bool:
    elb = clients("elbv2")
    [balancer] = elb.describe_load_balancers()["LoadBalancers"]
    attributes = elb.describe_load_balancer_attributes(LoadBalancerArn=balancer["LoadBalancerArn"])["Attributes"]
    return {a["Key"]: a["Value"] for a in attributes}["deletion_protection.enabled"] == "true"


def stack_protected(clients) -> bool:
    return clients("cloudformation").describe_stacks(StackName="automl-dev")["Stacks"][0][
        "EnableTerminationProtection"]


def first_hint(err: str) -> list[str]:
    """The first command the refusal suggests, as CLI words."""
    command = re.search(r"'(automl-cfn [^']+)'", err)
    assert command, err
    return shlex.split(command.group(1))[1:]


def assert_destroyed_keeping_the_data(clients, found: dict) -> None:
    assert "automl-dev" not in stack_names(clients("cloudformation"))
    assert clients("elbv2").describe_load_balancers()["LoadBalancers"] == []
    assert clients("s3").get_object(Bucket=found["DataBucketName"], Key="data/train.csv")["Body"].read() == \
        b"a,b\n1,2\n"


def test_destroy_names_both_protections_and_its_first_hint_destroys_the_environment(aws, cli, clients):
    found = deploy_protected(cli, clients)
    code, out, err = cli("destroy", *DEV, "--yes")
    assert code == 3, err
    assert "termination protection" in err and "deletion protection" in err and "PredictionLoadBalancer" in err
    assert stack_protected(clients) and load_balancer_protected(clients)   # a refusal changes nothing
    hint = first_hint(err)
    assert hint == ["destroy", *DEV, "--unprotect"]
    code, out, err = cli(*hint)                  # no terminal to confirm on: still nothing changes
    assert code == 3 and "pass --yes" in err
    assert stack_protected(clients) and load_balancer_protected(clients)
    code, out, err = cli(*hint, "--yes")
    assert code == 0, err
    assert "deletion protection off" in err and "termination protection off" in err
    assert_destroyed_keeping_the_data(clients, found)
    assert "Kept (delete with destroy --purge-data)" in out and found["DataBucketName"] in out


def test_turning_off_only_the_stacks_protection_leaves_the_load_balancer_protected(aws, cli, clients):
    """The first hint destroy used to give (aws cloudformation update-termination-protection
    --no-enable-termination-protection) turns off the stack's protection alone.  The stack's delete then
    fails on AWS: the load balancer cannot be deleted while its own protection is on.  destroy now says
    so before it deletes anything, instead of leaving the environment DELETE_FAILED."""
    found = deploy_protected(cli, clients)
    cfn = clients("cloudformation")
    cfn.update_termination_protection(StackName="automl-dev", EnableTerminationProtection=False)
    code, out, err = cli("destroy", *DEV, "--yes")
    assert code == 3, err
    assert "deletion protection" in err and "termination protection" not in err
    assert first_hint(err) == ["destroy", *DEV, "--unprotect"]
    assert cfn.describe_stacks(StackName="automl-dev")["Stacks"][0]["StackStatus"].endswith("_COMPLETE")
    assert load_balancer_protected(clients)
    code, out, err = cli("destroy", *DEV, "--unprotect", "--yes")
    assert code == 0, err
    assert_destroyed_keeping_the_data(clients, found)


def test_a_stack_delete_behind_the_load_balancers_protection_fails_and_unprotect_finishes_it(aws, cli, clients):
    """On the endpoint as on AWS, deleting the stack with the load balancer still protected ends in
    DELETE_FAILED for the load balancer's reason (OperationNotPermitted); destroy --unprotect then finishes."""
    found = deploy_protected(cli, clients)
    cfn = clients("cloudformation")
    cfn.update_termination_protection(StackName="automl-dev", EnableTerminationProtection=False)
    cfn.delete_stack(StackName="automl-dev")
    assert cfn.describe_stacks(StackName="automl-dev")["Stacks"][0]["StackStatus"] == "DELETE_FAILED"
    failed = {(e["LogicalResourceId"], e["ResourceStatusReason"]) for stack in cfn.describe_stacks()["Stacks"]
              for e in cfn.describe_stack_events(StackName=stack["StackId"])["StackEvents"]
              if e["ResourceStatus"] == "DELETE_FAILED" and e["ResourceType"].endswith("::LoadBalancer")}
    [(logical_id, reason)] = failed
    assert logical_id == "PredictionLoadBalancer"
    assert "cannot be deleted because deletion protection is enabled" in reason and "OperationNotPermitted" in reason
    code, out, err = cli("destroy", *DEV, "--yes")
    assert code == 3 and "deletion protection" in err, err
    code, out, err = cli("destroy", *DEV, "--unprotect", "--yes")
    assert code == 0, err
    assert_destroyed_keeping_the_data(clients, found)


def test_a_delete_that_fails_after_unprotect_says_what_is_off_and_how_to_turn_it_on(aws, cli, clients, monkeypatch):
    """A deploy would turn the stack's protection on again but not the load balancer's (its template did not
    change), so the failure names the command for each."""
    from automl_cfn.deploy import destroy as destroy_module
    from automl_cfn.errors import AwsError

    deploy_protected(cli, clients)
    [balancer] = clients("elbv2").describe_load_balancers()["LoadBalancers"]

    def fails(target, stack, options):
        raise AwsError("deleting automl-dev ended in DELETE_FAILED; first failure: somewhere")

    monkeypatch.setattr(destroy_module, "delete_stacks", fails)
    code, out, err = cli("destroy", *DEV, "--unprotect", "--yes")
    assert code == 1, err
    assert not stack_protected(clients) and not load_balancer_protected(clients)
    assert (f"'aws elbv2 modify-load-balancer-attributes --load-balancer-arn {balancer['LoadBalancerArn']} "
            "--attributes Key=deletion_protection.enabled,Value=true'") in err
    assert ("'aws cloudformation update-termination-protection --enable-termination-protection "
            "--stack-name automl-dev'") in err
