"""The local AWS endpoint, started once per test session (per xdist worker),
reset before each test, stopped by its handle at the end."""

from __future__ import annotations

import base64
import json

import boto3
import pytest

from automl_cfn import ui
from automl_cfn.cli import main
from automl_cfn.local_aws import LocalAws

pytestmark = pytest.mark.endpoint


@pytest.fixture(scope="session")
def endpoint():
    aws = LocalAws().start()
    yield aws
    aws.stop()


@pytest.fixture(scope="session")
def lenient_endpoint():
    """Plain moto (its defects patched): what strict mode is compared with."""
    aws = LocalAws(strict=False).start()
    yield aws
    aws.stop()


@pytest.fixture
def lenient(lenient_endpoint):
    """A clean lenient endpoint; returns a boto3 client factory for it."""
    lenient_endpoint.reset()
    return client_factory(lenient_endpoint)


def client_factory(aws):
    def client(name):
        return boto3.client(name, endpoint_url=aws.url, region_name=aws.region, aws_access_key_id="testing",
                            aws_secret_access_key="testing")
    client.aws = aws      # the endpoint the clients talk to
    return client


@pytest.fixture
def aws(endpoint, monkeypatch, tmp_path):
    """A clean endpoint and an environment pointing at it (no real AWS, no real credentials)."""
    endpoint.reset()
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    for key, value in endpoint.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    ui.reset_consoles()
    yield endpoint
    ui.reset_consoles()


@pytest.fixture
def clients(aws):
    return client_factory(aws)


@pytest.fixture
def cli(project_root, capsys):
    """Run `automl-cfn ARGS` in-process; returns (exit code, stdout, stderr)."""
    def run(*args):
        ui.reset_consoles()
        code = main([*args, "--project-dir", str(project_root)] if args and args[0] not in ("local-aws",) else list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err
    return run


def stack_names(cfn) -> dict[str, str]:
    return {s["StackName"]: s["StackStatus"] for s in cfn.describe_stacks()["Stacks"]}


def outputs(cfn, name: str) -> dict[str, str]:
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def pending_change_sets(cfn, name: str) -> list[str]:
    """Change sets still waiting to be executed (moto also lists executed ones)."""
    return [c["ChangeSetName"] for c in cfn.list_change_sets(StackName=name)["Summaries"]
            if c.get("ExecutionStatus") == "AVAILABLE"]


def push_images(clients, environment: str, tag: str, services=("optimize", "train", "predict")) -> None:
    """Images in the environment's repositories, as `build --push` leaves them."""
    import json

    ecr = clients("ecr")
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                           "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1,
                                      "digest": "sha256:" + "1" * 64}, "layers": []})
    for service in services:
        ecr.put_image(repositoryName=f"automl-{environment}-{service}", imageManifest=manifest, imageTag=tag)


def import_certificate(clients, domain: str = "predict.example.com") -> str:
    """A self-signed certificate in ACM, as an HTTPS listener needs one to exist; returns its ARN."""
    from datetime import datetime, timedelta, timezone

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, domain)])
    now = datetime.now(timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(1).not_valid_before(now - timedelta(days=1))
                   .not_valid_after(now + timedelta(days=30)).sign(key, hashes.SHA256()))
    return clients("acm").import_certificate(
        Certificate=certificate.public_bytes(serialization.Encoding.PEM),
        PrivateKey=key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                     serialization.NoEncryption()))["CertificateArn"]


@pytest.fixture
def project(project_root, tmp_path):
    """A copy of the project (config/ and generated/) that a test may change."""
    import shutil

    for part in ("config", "generated"):
        shutil.copytree(project_root / part, tmp_path / part)
    return tmp_path


@pytest.fixture
def run(project, capsys):
    """Run `automl-cfn ARGS` in-process on the project copy; returns (exit code, stdout, stderr)."""
    def run(*args):
        ui.reset_consoles()
        code = main([*args, "--project-dir", str(project)])
        captured = capsys.readouterr()
        return code, captured.out, captured.err
    return run


def credentials_in(aws, account: str) -> dict[str, str]:
    """Credentials of an administrator role in `account`, which that account's owner lets this one assume (the
    endpoint makes the role, as the owner would by hand): boto3 keyword arguments."""
    import urllib.request

    request = urllib.request.Request(f"{aws.url}/_automl/accounts/admin-role?account={account}", method="POST",
                                     data=b"")
    role = json.loads(urllib.request.urlopen(request, timeout=30).read())["RoleArn"]
    sts = boto3.client("sts", endpoint_url=aws.url, region_name=aws.region, aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    given = sts.assume_role(RoleArn=role, RoleSessionName="test")["Credentials"]
    return {"aws_access_key_id": given["AccessKeyId"], "aws_secret_access_key": given["SecretAccessKey"],
            "aws_session_token": given["SessionToken"]}


def github_token(subject: str, audience: str = "sts.amazonaws.com") -> str:
    """A GitHub Actions OIDC token's shape (the endpoint does not check its signature)."""
    def part(document: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")
    claims = {"iss": "https://token.actions.githubusercontent.com", "aud": audience, "sub": subject}
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.signature"


def github_session(aws, role_arn: str, subject: str) -> dict[str, str]:
    """What aws-actions/configure-aws-credentials gets for a workflow job: the role's session credentials."""
    sts = boto3.client("sts", endpoint_url=aws.url, region_name=aws.region, aws_access_key_id="anonymous",
                       aws_secret_access_key="anonymous")
    sts.meta.events.register("choose-signer.sts.AssumeRoleWithWebIdentity", lambda **_: False)   # unsigned
    given = sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="github",
                                              WebIdentityToken=github_token(subject))["Credentials"]
    return {"AWS_ACCESS_KEY_ID": given["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": given["SecretAccessKey"],
            "AWS_SESSION_TOKEN": given["SessionToken"]}


def act_as(monkeypatch, credentials: dict[str, str]) -> None:
    for key, value in credentials.items():
        monkeypatch.setenv(key, value)


def template_url(aws, body: str, key: str) -> str:
    """`body` in a bucket of the account, as a template URL: CloudFormation takes a template over 51,200 bytes
    from S3 only."""
    s3 = boto3.client("s3", endpoint_url=aws.url, region_name=aws.region, aws_access_key_id="testing",
                      aws_secret_access_key="testing")
    s3.create_bucket(Bucket="templates-of-the-tests")
    s3.put_object(Bucket="templates-of-the-tests", Key=key, Body=body.encode())
    return f"https://templates-of-the-tests.s3.amazonaws.com/{key}"


@pytest.fixture
def containers(aws, clients, tmp_path):
    """Plays the containers of the ECS tasks started during the test (tests/integration/containers.py)."""
    from .containers import Containers

    player = Containers(aws, clients, tmp_path / "scratch")
    (tmp_path / "scratch").mkdir()
    yield player
    player.stop()
