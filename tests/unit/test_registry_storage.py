"""Registry and storage templates: repositories and the data bucket."""

from __future__ import annotations

import json
import re

from automl_cfn.model import REPOSITORIES
from tests.conftest import retained


def sub_text(value, **values) -> str:
    """Fill a Fn::Sub string's ${Name} placeholders from `values`."""
    text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
    return re.sub(r"\$\{([^}]+)\}", lambda m: str(values.get(m.group(1), "X")), text)


def test_four_repositories_from_one_definition(stack):
    repos = stack("registry", image_tag_immutable=True).of_type("AWS::ECR::Repository")
    assert sorted(repos) == sorted(f"{r.capitalize()}Repository" for r in REPOSITORIES)
    for logical_id, repo in repos.items():
        props = repo["Properties"]
        assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
        assert props["EncryptionConfiguration"]["EncryptionType"] in ("AES256", "KMS")
        assert props["ImageTagMutability"] == "IMMUTABLE"
        assert retained(repo)
        policy = json.loads(sub_text(props["LifecyclePolicy"]["LifecyclePolicyText"], EcrKeepImages=25))
        untagged, keep = policy["rules"]
        assert untagged["selection"]["tagStatus"] == "untagged" and untagged["action"]["type"] == "expire"
        assert keep["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 25}


def test_tag_mutability_follows_the_setting(stack):
    repos = stack("registry", image_tag_immutable=False).of_type("AWS::ECR::Repository")
    assert {r["Properties"]["ImageTagMutability"] for r in repos.values()} == {"MUTABLE"}


def test_repository_names_use_the_environment_prefix(stack):
    repo = stack("registry").resources()["OptimizeRepository"]["Properties"]
    assert repo["RepositoryName"] == {"Fn::Sub": "${ProjectName}-${Environment}-optimize"}


def test_adopted_names_keep_the_terraform_repository_and_bucket(stack):
    adopted = {"repositories": {"predict": "automl-predict"}, "data_bucket": "automl-data-123456789012"}
    repos = stack("registry", adopted_names=adopted).resources()
    assert repos["PredictRepository"]["Properties"]["RepositoryName"] == "automl-predict"
    assert repos["TrainRepository"]["Properties"]["RepositoryName"] == {"Fn::Sub": "${ProjectName}-${Environment}-train"}
    assert bucket(stack, adopted_names=adopted)["DataBucket"]["Properties"]["BucketName"] == "automl-data-123456789012"


def bucket(stack, **overrides):
    return stack("storage", **overrides).resources()


def test_bucket_is_versioned_encrypted_and_private(stack):
    props = bucket(stack)["DataBucket"]["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
    }
    assert retained(bucket(stack)["DataBucket"])


def test_bucket_policy_denies_non_tls_requests(stack):
    resources = bucket(stack)
    statement = resources["DataBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert statement["Effect"] == "Deny" and statement["Principal"] == "*"
    assert statement["Action"] == ["s3:*"]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert {"Fn::GetAtt": ["DataBucket", "Arn"]} in statement["Resource"]
    assert {"Fn::Sub": ["${Arn}/*", {"Arn": {"Fn::GetAtt": ["DataBucket", "Arn"]}}]} in statement["Resource"]


def test_lifecycle_archives_predictions_and_cleans_up(stack):
    rules = {r["Id"]: r for r in bucket(stack, predictions_archive_days=45)["DataBucket"]["Properties"][
        "LifecycleConfiguration"]["Rules"]}
    archive = rules["archive-old-predictions"]
    assert archive["Prefix"] == "predictions/" and archive["Status"] == "Enabled"
    assert archive["Transitions"] == [{"StorageClass": "GLACIER", "TransitionInDays": "45"}]
    cleanup = rules["expire-noncurrent-versions"]
    assert cleanup["NoncurrentVersionExpiration"] == {"NoncurrentDays": "30"}
    assert cleanup["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 7


def test_intelligent_tiering_for_data_is_optional(stack):
    def status(enabled):
        rules = bucket(stack, data_intelligent_tiering=enabled)["DataBucket"]["Properties"][
            "LifecycleConfiguration"]["Rules"]
        rule = next(r for r in rules if r["Id"] == "data-intelligent-tiering")
        assert rule["Prefix"] == "data/"
        return rule["Status"]
    assert (status(True), status(False)) == ("Enabled", "Disabled")
