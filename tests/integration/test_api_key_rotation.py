"""rotate-api-key on the strict endpoint: the keys a freshly started predict task would hold (its registered
task definition's secrets, resolved from Secrets Manager as ECS resolves them at start), served by the
example predict handler in-process.  The old key keeps working through the rotation and stops at --finish;
the service gets a new deployment each time; no key ever reaches the output."""

from __future__ import annotations

import json
import sys
import threading
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer

import pytest

from tests.conftest import ROOT

from .conftest import import_certificate, outputs, push_images

sys.path.insert(0, str(ROOT / "docker" / "app"))

DEV = ("--env", "dev")
KEYED = ("--env", "dev", "--var", "api_key_secret=create")   # config/dev.yaml has no API key


def deploy(cli, *extra):
    return cli("deploy", *DEV, "--yes", *extra)


@pytest.fixture
def keyed(aws, cli, clients):
    """dev with a generated API key behind an internal HTTPS load balancer, serving image v1; its outputs."""
    settings = ("--var", "api_key_secret=create", "--var", "load_balancer=internal",
                "--var", f"certificate_arn={import_certificate(clients)}")
    code, out, err = deploy(cli, *settings)
    assert code == 0, err
    push_images(clients, "dev", "v1")
    code, out, err = deploy(cli, *settings, "--var", "image_tag=v1")
    assert code == 0, err
    return outputs(clients("cloudformation"), "automl-dev")


def task_keys(clients, found: dict) -> dict[str, str]:
    """The predict container's secrets, resolved the way ECS does when it starts a task of the service:
    each `valueFrom` of the task definition the service runs, read from Secrets Manager."""
    ecs, secrets = clients("ecs"), clients("secretsmanager")
    service = ecs.describe_services(cluster=found["ClusterName"], services=[found["PredictionServiceName"]])
    definition = ecs.describe_task_definition(taskDefinition=service["services"][0]["taskDefinition"])
    container, = [c for c in definition["taskDefinition"]["containerDefinitions"] if c["name"] == "predict"]
    return {s["name"]: secrets.get_secret_value(SecretId=s["valueFrom"])["SecretString"]
            for s in container["secrets"]}


def primary_deployment(clients, found: dict) -> str:
    service = clients("ecs").describe_services(cluster=found["ClusterName"],
                                               services=[found["PredictionServiceName"]])["services"][0]
    return next(d["id"] for d in service["deployments"] if d["status"] == "PRIMARY")


class Model:
    """Stands for the trained model: the handler only asks it to predict."""

    def predict(self, rows):
        import numpy

        return numpy.zeros(len(rows), dtype=int)


@pytest.fixture
def task():
    """task(environment) -> a predict task started with those variables; returns a function that POSTs
    /predict with an x-api-key and gives the HTTP status."""
    from automl_example import data, predict

    started = []

    def start(environment: dict[str, str]):
        api_key, previous = predict.api_keys(environment)
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), predict.handler(
            Model(), data.feature_count(), "/health", api_key, previous_api_key=previous))
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        started.append(httpd)
        url = f"http://127.0.0.1:{httpd.server_address[1]}/predict"
        body = json.dumps({"instances": [[0.0] * data.feature_count()]}).encode()

        def status(key: str) -> int:
            request = urllib.request.Request(url, data=body, headers={"x-api-key": key})
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return response.status
            except urllib.error.HTTPError as error:
                return error.code
        return status

    yield start
    for httpd in started:
        httpd.shutdown()


def test_the_old_key_works_until_the_rotation_is_finished_and_never_after(keyed, cli, clients, task):
    found = keyed
    before = task_keys(clients, found)
    assert set(before) == {"API_KEY", "API_KEY_PREVIOUS"}
    k1, unknown = before["API_KEY"], before["API_KEY_PREVIOUS"]
    assert len(k1) == 40 and k1.isalnum() and unknown != k1
    first = task(before)
    assert (first(k1), first(unknown[::-1]), first("")) == (200, 401, 401)
    deployment = primary_deployment(clients, found)

    # No terminal and no --yes: refused, nothing changed.
    code, out, err = cli("rotate-api-key", *KEYED)
    assert code == 3
    assert err.strip().splitlines()[-1].endswith("needs confirmation and there is no terminal to ask; pass --yes "
                                                 "to go ahead without a prompt")
    assert task_keys(clients, found) == before and primary_deployment(clients, found) == deployment

    code, out, err = cli("rotate-api-key", *KEYED, "--yes", "--poll", "0")
    assert code == 0, err
    during = task_keys(clients, found)
    k2 = during["API_KEY"]
    assert during["API_KEY_PREVIOUS"] == k1 and k2 not in (k1, unknown) and len(k2) == 40 and k2.isalnum()
    assert primary_deployment(clients, found) != deployment   # the service redeployed: its tasks read them again
    fresh = task(during)
    assert (fresh(k1), fresh(k2), fresh(unknown)) == (200, 200, 401)
    assert first(k2) == 401   # why the redeploy: a task started before holds only the old key
    assert f"aws secretsmanager get-secret-value --secret-id {found['ApiKeySecretArn']}" in out
    assert "automl-cfn rotate-api-key --env dev --finish" in out
    for key in (k1, k2, unknown):
        assert key not in out + err

    # Run again before finishing: the key clients may not have yet stays; only the service redeploys.
    deployment = primary_deployment(clients, found)
    code, out, err = cli("rotate-api-key", *KEYED, "--yes", "--poll", "0")
    assert code == 0, err
    assert "A rotation is in progress" in err
    assert task_keys(clients, found) == during and primary_deployment(clients, found) != deployment

    code, out, err = cli("rotate-api-key", *KEYED, "--finish", "--yes", "--poll", "0", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    after = task_keys(clients, found)
    assert after["API_KEY"] == k2 and after["API_KEY_PREVIOUS"] not in (k1, k2, unknown)
    finished = task(after)
    assert (finished(k1), finished(k2), finished(after["API_KEY_PREVIOUS"][::-1])) == (401, 200, 401)
    assert report["step"] == "finish" and report["resumed"] is False and report["next"] is None
    assert (report["secret_arn"], report["previous_secret_arn"]) == (found["ApiKeySecretArn"],
                                                                     found["ApiKeyPreviousSecretArn"])
    assert report["deployment_id"] == primary_deployment(clients, found)
    assert (report["cluster"], report["service"]) == (found["ClusterName"], found["PredictionServiceName"])
    for key in (k1, k2, after["API_KEY_PREVIOUS"]):
        assert key not in out + err


def test_the_previous_key_secret_comes_back_by_arn_after_a_destroy(keyed, cli, clients):
    """Retained like the API key, and like it not importable by name: the next deploy uses it by ARN."""
    previous = keyed["ApiKeyPreviousSecretArn"]
    secrets = clients("secretsmanager")
    value = secrets.get_secret_value(SecretId=previous)["SecretString"]
    assert cli("destroy", *DEV, "--yes")[0] == 0
    assert secrets.get_secret_value(SecretId=previous)["SecretString"] == value
    code, out, err = deploy(cli, "--var", "api_key_secret=create")
    assert code == 0, err
    assert f"used by ARN (ApiKeyPreviousSecret {previous})" in out
    assert outputs(clients("cloudformation"), "automl-dev")["ApiKeyPreviousSecretArn"] == previous
    assert secrets.get_secret_value(SecretId=previous)["SecretString"] == value
    assert "No changes" in deploy(cli, "--var", "api_key_secret=create")[1]


def test_an_environment_without_a_key_or_a_service_is_refused(aws, cli, clients):
    """By its deployed stack, however it was deployed: a key deployed by --var is rotated without repeating it."""
    assert deploy(cli)[0] == 0
    code, out, err = cli("rotate-api-key", *DEV, "--yes")
    assert (code, out) == (2, "")
    assert err == ("automl-cfn: error: automl-dev was deployed without an API key secret: there is no API key to "
                   "rotate until 'automl-cfn deploy --env dev' creates it\n")

    assert deploy(cli, "--var", "api_key_secret=create", "--var", "enable_prediction_service=false")[0] == 0
    secret = outputs(clients("cloudformation"), "automl-dev")["ApiKeySecretArn"]
    value = clients("secretsmanager").get_secret_value(SecretId=secret)["SecretString"]
    code, out, err = cli("rotate-api-key", *DEV, "--yes")
    assert (code, out) == (2, "") and len(err.strip().splitlines()) == 1
    assert "automl-dev was deployed without a prediction service" in err
    assert clients("secretsmanager").get_secret_value(SecretId=secret)["SecretString"] == value

    assert deploy(cli, "--var", "api_key_secret=create", "--var", "enable_prediction_service=true")[0] == 0
    code, out, err = cli("rotate-api-key", *DEV, "--yes")      # the config has no key; the stack has
    assert code == 0, err
    assert clients("secretsmanager").get_secret_value(SecretId=secret)["SecretString"] != value
