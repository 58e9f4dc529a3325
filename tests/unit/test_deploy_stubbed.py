"""Deploy paths the local endpoint cannot produce, covered with botocore's Stubber:
nested change sets with replacements, failed and busy stack states, failure
discovery across nested stacks, and the one-line AWS error messages."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from botocore.stub import Stubber

from automl_cfn import synth
from automl_cfn.deploy import plan, recover as recovery, review as reviews
from automl_cfn.deploy.aws import explain
from automl_cfn.deploy.target import DeployOptions, Target
from automl_cfn.deploy.watch import first_failure, watch
from automl_cfn.errors import AwsError, RefusedError

ROOT_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/automl-dev/1111"
STORAGE_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/automl-dev-StorageStack-ABCDEFGH1234/2222"
ROOT_CS = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/cs-root/3333"
STORAGE_CS = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/cs-storage/4444"
T0 = datetime(2026, 11, 26, 6, 0, tzinfo=timezone.utc)


class StubAws:
    """Stands in for deploy.aws.Aws: stubbed clients, nothing on the network."""

    region = "us-east-1"

    def __init__(self):
        self.clients = {}
        self.stubbers = {}

    def client(self, name):
        if name not in self.clients:
            client = boto3.client(name, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
            self.clients[name] = client
            self.stubbers[name] = Stubber(client)
            self.stubbers[name].activate()
        return self.clients[name]

    def stub(self, name) -> Stubber:
        self.client(name)
        return self.stubbers[name]


@pytest.fixture
def aws():
    stub = StubAws()
    yield stub
    for stubber in stub.stubbers.values():
        stubber.assert_no_pending_responses()


@pytest.fixture
def target(aws, dev):
    return Target(settings=dev, aws=aws, env_flag="--env dev")


def change(logical, rtype, action="Modify", replacement=None, change_set=None, details=()):
    rc = {"Action": action, "LogicalResourceId": logical, "ResourceType": rtype, "Details": list(details)}
    if replacement is not None:
        rc["Replacement"] = replacement
    if change_set:
        rc["ChangeSetId"] = change_set
    return {"Type": "Resource", "ResourceChange": rc}


def stub_nested_change_sets(cfn: Stubber, storage_changes: list) -> None:
    cfn.add_response("describe_change_set", {
        "ChangeSetName": "cs-root", "ChangeSetId": ROOT_CS, "StackName": "automl-dev", "Status": "CREATE_COMPLETE",
        "Changes": [change("StorageStack", "AWS::CloudFormation::Stack", change_set=STORAGE_CS),
                    change("ComputeStack", "AWS::CloudFormation::Stack")],
    }, {"ChangeSetName": ROOT_CS})
    cfn.add_response("describe_change_set", {
        "ChangeSetName": "cs-storage", "ChangeSetId": STORAGE_CS, "StackName": "automl-dev-StorageStack",
        "Status": "CREATE_COMPLETE", "Changes": storage_changes,
    }, {"ChangeSetName": STORAGE_CS})


def test_review_walks_nested_change_sets_and_flags_replacement(aws):
    stub_nested_change_sets(aws.stub("cloudformation"), [
        change("DataBucket", "AWS::S3::Bucket", replacement="True", details=[{
            "Target": {"Attribute": "Properties", "Name": "BucketName", "RequiresRecreation": "Always"},
            "ChangeSource": "DirectModification"}]),
        change("DataBucketPolicy", "AWS::S3::BucketPolicy", replacement="False"),
    ])
    review = reviews.from_change_set(aws.client("cloudformation"), ROOT_CS, "automl-dev")
    text = reviews.render_text(review, colour=False)
    assert text.splitlines()[0] == "automl-dev (update): 4 to change, 1 replacement"
    assert "  ├─ ~ StorageStack AWS::CloudFormation::Stack" in text
    assert "│  ├─ ~ DataBucket AWS::S3::Bucket [REPLACE]" in text
    assert "Properties.BucketName (DirectModification) [recreates]" in text
    markdown = reviews.to_markdown(review)
    assert "| ~ | `DataBucket` | AWS::S3::Bucket | automl-dev/StorageStack | True |" in markdown
    coloured = reviews.render_text(review, colour=True)
    assert "[bold red][REPLACE][/]" in coloured.replace("\\[", "[")


def test_replacing_the_data_bucket_is_refused_unless_allowed(aws, target):
    cfn = aws.stub("cloudformation")
    stub_nested_change_sets(cfn, [change("DataBucket", "AWS::S3::Bucket", replacement="True")])
    review = reviews.from_change_set(aws.client("cloudformation"), ROOT_CS, "automl-dev")
    change_set = plan.ChangeSet(id=ROOT_CS, name="cs-root", stack_id=ROOT_ID, type="UPDATE", review=review)
    cfn.add_response("delete_change_set", {}, {"ChangeSetName": ROOT_CS})
    with pytest.raises(RefusedError) as refused:
        plan.guard(target, change_set, DeployOptions())
    assert str(refused.value).startswith(
        "automl-dev/StorageStack/DataBucket (AWS::S3::Bucket) would be replaced; data would be lost. "
        "Pass --allow-replace DataBucket")
    assert refused.value.exit_code == 3
    plan.guard(target, change_set, DeployOptions(allow_replace=("DataBucket",)))  # allowed: no refusal


def test_conditional_replacement_and_removal_of_state_are_risks():
    review = reviews.StackReview("automl-dev", changes=[
        reviews.ResourceChange("Modify", "OptimizeLogGroup", "AWS::Logs::LogGroup", replacement="Conditional"),
        reviews.ResourceChange("Remove", "RegistryStack", "AWS::CloudFormation::Stack"),
        reviews.ResourceChange("Modify", "Cluster", "AWS::ECS::Cluster", replacement="True"),
        reviews.ResourceChange("Modify", "PredictTaskRole", "AWS::IAM::Role", replacement="False"),
    ])
    stateful = plan.stateful_logical_ids(synth.build_templates())
    # A nested stack whose stateful resources are not all retained would lose them with it.
    risks = {r.logical_id: r.reason for r in reviews.risky_changes(review, stateful, nested_holding={"RegistryStack"})}
    assert risks == {"OptimizeLogGroup": "may be replaced",
                     "RegistryStack": "would be removed with the stateful resources inside it"}
    # Ours are all retained: removing their stack, or a retained resource, loses nothing.
    templates = synth.build_templates()
    risks = reviews.risky_changes(review, stateful, plan.retained_ids(templates))
    assert {r.logical_id for r in risks} == {"OptimizeLogGroup"}


def describe(status, **extra):
    return {"Stacks": [{"StackName": "automl-dev", "StackId": ROOT_ID, "StackStatus": status,
                        "CreationTime": T0, **extra}]}


def test_an_operation_in_progress_is_refused_with_the_way_out(aws, target):
    aws.stub("cloudformation").add_response("describe_stacks", describe("UPDATE_IN_PROGRESS"),
                                            {"StackName": "automl-dev"})
    with pytest.raises(AwsError, match=r"automl-dev is UPDATE_IN_PROGRESS: another operation is running. "
                                       r"Wait for it with 'automl-cfn status --env dev --watch', or pass --wait"):
        recovery.recover(target, DeployOptions())


def test_rollback_complete_is_deleted_and_recreated_after_confirmation(aws, target):
    cfn = aws.stub("cloudformation")
    cfn.add_response("describe_stacks", describe("ROLLBACK_COMPLETE"), {"StackName": "automl-dev"})
    cfn.add_response("delete_stack", {}, {"StackName": ROOT_ID})
    cfn.add_response("describe_stacks", describe("DELETE_COMPLETE"), {"StackName": ROOT_ID})
    assert recovery.recover(target, DeployOptions(yes=True, poll=0)) is None


def test_rollback_complete_without_confirmation_is_left_alone(aws, target):
    aws.stub("cloudformation").add_response("describe_stacks", describe("ROLLBACK_COMPLETE"),
                                            {"StackName": "automl-dev"})
    with pytest.raises(RefusedError, match="pass --yes to delete and recreate it"):
        recovery.recover(target, DeployOptions())


def test_update_rollback_failed_continues_the_rollback_skipping_the_failed(aws, target):
    cfn = aws.stub("cloudformation")
    cfn.add_response("describe_stacks", describe("UPDATE_ROLLBACK_FAILED"), {"StackName": "automl-dev"})
    cfn.add_response("list_stack_resources", {"StackResourceSummaries": [
        {"LogicalResourceId": "ComputeStack", "ResourceType": "AWS::CloudFormation::Stack",
         "ResourceStatus": "UPDATE_COMPLETE", "LastUpdatedTimestamp": T0},
        {"LogicalResourceId": "ComputeStack.PredictionService", "ResourceType": "AWS::ECS::Service",
         "ResourceStatus": "UPDATE_FAILED", "LastUpdatedTimestamp": T0},
    ]}, {"StackName": ROOT_ID})
    cfn.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": ROOT_ID})
    cfn.add_response("continue_update_rollback", {},
                     {"StackName": ROOT_ID, "ResourcesToSkip": ["ComputeStack.PredictionService"]})
    # The watch reads the status, then the events up to it: one round once the stack is done.
    cfn.add_response("describe_stacks", describe("UPDATE_ROLLBACK_COMPLETE"), {"StackName": ROOT_ID})
    cfn.add_response("describe_stack_events", {"StackEvents": [
        {"StackId": ROOT_ID, "EventId": "e1", "StackName": "automl-dev", "LogicalResourceId": "automl-dev",
         "ResourceType": "AWS::CloudFormation::Stack", "Timestamp": datetime.now(timezone.utc),
         "ResourceStatus": "UPDATE_ROLLBACK_COMPLETE"}]}, {"StackName": ROOT_ID})
    cfn.add_response("describe_stacks", describe("UPDATE_ROLLBACK_COMPLETE"), {"StackName": "automl-dev"})
    stack = recovery.recover(target, DeployOptions(yes=True, poll=0))
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"


def event(stack_name, stack_id, logical, rtype, status, reason="", physical="", minutes=0, event_id=None):
    return {"StackId": stack_id, "EventId": event_id or f"{stack_name}-{logical}-{status}", "StackName": stack_name,
            "LogicalResourceId": logical, "PhysicalResourceId": physical, "ResourceType": rtype,
            "Timestamp": T0 + timedelta(minutes=minutes), "ResourceStatus": status, "ResourceStatusReason": reason}


def test_first_failure_is_found_inside_the_nested_stack(aws):
    cfn = aws.stub("cloudformation")
    nested_name = "automl-dev-StorageStack-ABCDEFGH1234"
    cfn.add_response("describe_stack_events", {"StackEvents": [
        event("automl-dev", ROOT_ID, "automl-dev", "AWS::CloudFormation::Stack", "ROLLBACK_IN_PROGRESS",
              "The following resource(s) failed to create: [StorageStack].", ROOT_ID, 5),
        event("automl-dev", ROOT_ID, "ComputeStack", "AWS::CloudFormation::Stack", "CREATE_FAILED",
              "Resource creation cancelled", "", 4),
        event("automl-dev", ROOT_ID, "StorageStack", "AWS::CloudFormation::Stack", "CREATE_FAILED",
              "Embedded stack was not successfully created", STORAGE_ID, 3),
        event("automl-dev", ROOT_ID, "StorageStack", "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS",
              "", STORAGE_ID, 1),
    ]}, {"StackName": ROOT_ID})
    cfn.add_response("describe_stack_events", {"StackEvents": [
        event(nested_name, STORAGE_ID, "DataBucketPolicy", "AWS::S3::BucketPolicy", "CREATE_FAILED",
              "Resource creation cancelled", "", 3),
        event(nested_name, STORAGE_ID, "DataBucket", "AWS::S3::Bucket", "CREATE_FAILED",
              "automl-dev-data-123456789012-us-east-1 already exists", "", 2),
    ]}, {"StackName": STORAGE_ID})
    cfn.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": ROOT_ID})
    cfn.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": STORAGE_ID})
    assert first_failure(aws.client("cloudformation"), ROOT_ID) == (
        "StorageStack/DataBucket", "AWS::S3::Bucket", "automl-dev-data-123456789012-us-east-1 already exists")


def test_watch_reads_the_status_then_the_events_and_stops_after_the_round_that_saw_it_final(aws, capsys):
    cfn = aws.stub("cloudformation")
    nested_name = "automl-dev-StorageStack-ABCDEFGH1234"
    cfn.add_response("describe_stacks", describe("CREATE_IN_PROGRESS"), {"StackName": ROOT_ID})
    cfn.add_response("describe_stack_events", {"StackEvents": [
        event("automl-dev", ROOT_ID, "StorageStack", "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", "",
              STORAGE_ID, 1)]}, {"StackName": ROOT_ID})
    cfn.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": STORAGE_ID})
    cfn.add_response("describe_stacks", describe("CREATE_COMPLETE"), {"StackName": ROOT_ID})
    # Written before the final status: this round must still show them.
    cfn.add_response("describe_stack_events", {"StackEvents": [
        event("automl-dev", ROOT_ID, "automl-dev", "AWS::CloudFormation::Stack", "CREATE_COMPLETE", "", ROOT_ID, 4),
        event("automl-dev", ROOT_ID, "StorageStack", "AWS::CloudFormation::Stack", "CREATE_COMPLETE", "",
              STORAGE_ID, 3)]}, {"StackName": ROOT_ID})
    cfn.add_response("describe_stack_events", {"StackEvents": [
        event(nested_name, STORAGE_ID, "DataBucket", "AWS::S3::Bucket", "CREATE_COMPLETE", "", "", 2)]},
        {"StackName": STORAGE_ID})
    assert watch(aws.client("cloudformation"), ROOT_ID, "automl-dev", T0, poll=0) == "CREATE_COMPLETE"
    cfn.assert_no_pending_responses()
    shown = capsys.readouterr().err
    assert [line.split()[1] for line in shown.splitlines()] == [
        "automl-dev/StorageStack", "StorageStack/DataBucket", "automl-dev/StorageStack", "automl-dev"]


def client_error(code, message="", operation="DescribeStacks"):
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


@pytest.mark.parametrize("exc, expected", [
    (NoCredentialsError(), "no AWS credentials found"),
    (client_error("ExpiredToken", "The security token included in the request is expired"),
     "AWS credentials have expired"),
    (client_error("AccessDenied", "User: x is not authorized to perform: cloudformation:DescribeStacks"),
     "access denied to DescribeStacks in eu-west-1: User: x is not authorized"),
    (client_error("UnrecognizedClientException", "The security token is invalid"),
     "AWS rejected the credentials (UnrecognizedClientException) in eu-west-1"),
    (client_error("Throttling", "Rate exceeded"), "AWS kept throttling DescribeStacks after retries"),
    (EndpointConnectionError(endpoint_url="https://cloudformation.mars-1.amazonaws.com/"),
     "cannot reach https://cloudformation.mars-1.amazonaws.com/: check the region name in eu-west-1"),
])
def test_aws_failures_become_one_actionable_line(exc, expected):
    error = explain(exc, region="eu-west-1")
    assert expected in str(error) and "\n" not in str(error)
    assert error.exit_code == 1


def test_the_review_json_has_the_tree_and_summary():
    import json

    review = reviews.StackReview("automl-dev", changes=[
        reviews.ResourceChange("Add", "PipelineStack", "AWS::CloudFormation::Stack", nested=reviews.StackReview(
            "PipelineStack", changes=[reviews.ResourceChange("Add", "PipelineStateMachine",
                                                              "AWS::StepFunctions::StateMachine")]))],
        parameters=[reviews.ParameterChange("EnableStepFunctions", "false", "true")])
    data = json.loads(reviews.to_json(review))
    assert data["summary"] == "2 to add, 1 parameter changed"
    assert data["changes"][0]["nested"]["changes"][0]["logical_id"] == "PipelineStateMachine"


@pytest.mark.parametrize("status", ["CREATE_FAILED", "ROLLBACK_FAILED", "REVIEW_IN_PROGRESS"])
def test_every_never_created_state_is_deleted_and_recreated_after_confirmation(aws, target, status):
    cfn = aws.stub("cloudformation")
    cfn.add_response("describe_stacks", describe(status), {"StackName": "automl-dev"})
    cfn.add_response("delete_stack", {}, {"StackName": ROOT_ID})
    cfn.add_response("describe_stacks", describe("DELETE_COMPLETE"), {"StackName": ROOT_ID})
    assert recovery.recover(target, DeployOptions(yes=True, poll=0)) is None


@pytest.mark.parametrize("status", ["DELETE_FAILED", "IMPORT_ROLLBACK_FAILED"])
def test_broken_states_are_refused_with_the_way_out(aws, target, status):
    aws.stub("cloudformation").add_response("describe_stacks", describe(status), {"StackName": "automl-dev"})
    with pytest.raises(AwsError, match=f"automl-dev is {status}; fix what blocked it"):
        recovery.recover(target, DeployOptions(yes=True))


def test_a_stack_already_up_to_date_after_a_rolled_back_update_is_updatable(aws, target):
    aws.stub("cloudformation").add_response("describe_stacks", describe("UPDATE_ROLLBACK_COMPLETE"),
                                            {"StackName": "automl-dev"})
    assert recovery.recover(target, DeployOptions())["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
