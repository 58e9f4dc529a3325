"""Registry: the four ECR repositories (optimize, train, predict, pipeline),
all from one definition: scan on push, encryption, tag mutability from the
ImageTagMutability parameter, and a lifecycle policy that expires untagged
images and keeps the last EcrKeepImages tagged ones.  Retained on delete:
images are build artifacts someone may still need.
"""

from __future__ import annotations

import json

from troposphere import GetAtt, Sub, ecr

from ..model import REPOSITORIES, title
from ..parameters import adopted_parameter
from . import names
from .base import StackTemplate

UNTAGGED_EXPIRY_DAYS = 7


def build() -> StackTemplate:
    st = StackTemplate("registry", "ECR repositories for the pipeline images")
    for repo in REPOSITORIES:
        resource = st.add(repository(st, repo), stateful=True)
        st.output(f"{title(repo)}RepositoryArn", GetAtt(resource, "Arn"), f"ARN of the {repo} repository")
        st.output(f"{title(repo)}RepositoryUri", GetAtt(resource, "RepositoryUri"), f"URI of the {repo} repository")
    return st


def repository(st: StackTemplate, repo: str) -> ecr.Repository:
    return ecr.Repository(
        f"{title(repo)}Repository",
        RepositoryName=st.adopted_or(adopted_parameter("repositories", repo), names.repository_name(repo)),
        ImageScanningConfiguration=ecr.ImageScanningConfiguration(ScanOnPush=True),
        ImageTagMutability=st.ref("ImageTagMutability"),
        # Encryption is fixed at creation: changing kms_key replaces the
        # repository, which the deploy's stateful guard refuses unless allowed.
        EncryptionConfiguration=ecr.EncryptionConfiguration(
            EncryptionType=st.kms_or("KMS", "AES256"), KmsKey=st.kms_or(st.kms_key_arn())),
        LifecyclePolicy=ecr.LifecyclePolicy(LifecyclePolicyText=lifecycle_policy_text(st)),
    )


def lifecycle_policy_text(st: StackTemplate) -> Sub:
    """Untagged layers go after a week; only the newest tagged images stay."""
    rules = {"rules": [
        {
            "rulePriority": 1,
            "description": f"Expire untagged images after {UNTAGGED_EXPIRY_DAYS} days",
            "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed",
                          "countUnit": "days", "countNumber": UNTAGGED_EXPIRY_DAYS},
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 2,
            "description": "Keep the newest EcrKeepImages images",
            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 999999},
            "action": {"type": "expire"},
        },
    ]}
    st.parameter("EcrKeepImages")
    text = json.dumps(rules, sort_keys=True).replace("999999", "${EcrKeepImages}")
    return Sub(text)
