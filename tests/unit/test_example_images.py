"""The example images (docker/): one Dockerfile builds optimize, train, predict and pipeline; each runs as
the task definitions' user with /tmp its own; the app optimizes, trains and predicts on scikit-learn's
bundled data, writes only to its store, and serves the health check and /predict."""

from __future__ import annotations

import json
import sys
import threading
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer

import pytest

from automl_cfn.model import BEST_PARAMS_KEY, REPOSITORIES, SCRATCH_PATH
from automl_cfn.ops.images import dockerfile_warnings
from tests.conftest import ROOT

DOCKER = ROOT / "docker"
sys.path.insert(0, str(DOCKER / "app"))


def test_every_image_builds_from_the_one_dockerfile_as_the_tasks_user(dev):
    text = (DOCKER / "Dockerfile").read_text()
    for repository in REPOSITORIES:
        spec = dev.image(repository)
        assert spec.dockerfile == "docker/Dockerfile" and spec.build_args == {"STEP": repository}
        assert dockerfile_warnings(text, spec.build_args, dev.container_user) == []
        assert (DOCKER / "app" / "automl_example" / f"{repository}.py").is_file()
    assert f'VOLUME ["{SCRATCH_PATH}"]' in text and f"chown ${{UID}}:${{GID}} {SCRATCH_PATH}" in text
    assert "USER ${UID}:${GID}" in text and "ARG UID=1000" in text and "ARG GID=1000" in text


def test_the_images_pin_what_the_tests_install():
    pinned = dict(line.split("==") for line in (DOCKER / "app" / "requirements.txt").read_text().splitlines()
                  if line and not line.startswith("#"))
    setup = (ROOT / "setup.cfg").read_text()
    assert f"scikit-learn=={pinned['scikit-learn']}" in setup and f"joblib=={pinned['joblib']}" in setup


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from automl_example import pipeline
    from automl_example.store import Store

    store = Store(bucket="", root=tmp_path_factory.mktemp("store"))
    pipeline.main(store)
    return store


def test_the_pipeline_optimizes_trains_and_predicts(trained):
    best = trained.get_json(BEST_PARAMS_KEY)
    assert set(best["params"]) == {"learning_rate", "max_depth", "max_iter", "l2_regularization"}
    metrics = trained.get_json("models/metrics.json")
    assert metrics["roc_auc"] > 0.95 and metrics["accuracy"] > 0.9
    predictions = list((trained.root / "predictions").glob("*.csv"))
    assert len(predictions) == 1
    rows = predictions[0].read_text().splitlines()
    assert rows[0] == "row,prediction,probability" and len(rows) == 144   # a quarter of 569, plus the header
    # Everything it wrote is in its store.
    assert {p.relative_to(trained.root).parts[0] for p in trained.root.rglob("*") if p.is_file()} == {
        "models", "predictions"}


def test_optimize_writes_its_result_where_its_role_allows_and_train_reads_it_there(monkeypatch, tmp_path):
    """The one key optimize's role may write (model.BEST_PARAMS_KEY): the app's default is that key, and the key
    the task definitions pass (BEST_PARAMS_KEY) moves both ends together."""
    from automl_example import data, optimize, train
    from automl_example.store import Store

    monkeypatch.delenv("BEST_PARAMS_KEY", raising=False)
    monkeypatch.delenv("MODELS_PREFIX", raising=False)
    assert Store(bucket="", root=tmp_path).best_params == BEST_PARAMS_KEY
    monkeypatch.setenv("BEST_PARAMS_KEY", "models/elsewhere.json")
    store = Store(bucket="", root=tmp_path)
    x_train, x_test, y_train, y_test = data.load()
    monkeypatch.setattr(data, "load", lambda: (x_train[:60], x_test[:20], y_train[:60], y_test[:20]))   # quick:
    monkeypatch.setattr(optimize, "SPACE", {"max_iter": [5]})                                             # a tiny model
    optimize.main(store, trials=1)
    assert [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()] == ["models/elsewhere.json"]
    monkeypatch.setattr(train, "publish", lambda metrics: None)
    assert set(train.main(store)) == {"accuracy", "roc_auc"}


def test_the_store_writes_to_the_data_bucket_when_there_is_one():
    from moto import mock_aws

    import boto3
    from automl_example.store import Store

    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="automl-dev-data")
        store = Store(bucket="automl-dev-data")
        assert store.put_json("models/x.json", {"a": 1}) == "s3://automl-dev-data/models/x.json"
        assert store.get_json("models/x.json") == {"a": 1}


@pytest.fixture
def server(trained):
    from automl_example import data, predict

    def start(api_key=None, open_endpoint=False, previous_api_key=None):
        handler = predict.handler(predict.load_model(trained), data.feature_count(), "/ready", api_key, open_endpoint,
                                  previous_api_key=previous_api_key)
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        started.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}"

    started = []
    yield start
    for httpd in started:
        httpd.shutdown()


def call(url, body=None, headers=None):
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                     headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_service_answers_its_health_check_and_predictions(server):
    from automl_example import data

    url = server(open_endpoint=True)
    assert call(f"{url}/ready") == (200, {"status": "ok"})
    assert call(f"{url}/health")[0] == 404      # the path the task definition names, not a fixed one
    _, x_test, _, y_test = data.load()
    status, body = call(f"{url}/predict", {"instances": x_test[:5].tolist()})
    assert status == 200 and len(body["predictions"]) == 5 and set(body["predictions"]) <= {0, 1}
    assert call(f"{url}/predict", {"instances": [[1, 2, 3]]})[0] == 400


def test_the_api_key_guards_predictions(server):
    from automl_example import data

    url = server(api_key="s3cret")
    _, x_test, _, _ = data.load()
    body = {"instances": x_test[:1].tolist()}
    assert call(f"{url}/predict", body)[0] == 401
    assert call(f"{url}/predict", body, {"x-api-key": "s3cret"})[0] == 200


def test_during_a_rotation_the_current_and_the_previous_key_are_accepted_and_no_other(server):
    from automl_example import data

    url = server(api_key="new-key", previous_api_key="old-key")
    body = {"instances": data.load()[1][:1].tolist()}
    assert call(f"{url}/predict", body, {"x-api-key": "new-key"})[0] == 200
    assert call(f"{url}/predict", body, {"x-api-key": "old-key"})[0] == 200
    for wrong in ("", "new-ke", "old-key2", "new-keyold-key", "schlüssel"):   # non-ASCII too: no TypeError, a 401
        assert call(f"{url}/predict", body, {"x-api-key": wrong})[0] == 401, wrong
    assert call(f"{url}/predict", body)[0] == 401


@pytest.mark.parametrize("previous", [None, ""])
def test_without_a_previous_key_only_the_current_one_is_accepted(server, previous):
    from automl_example import data

    url = server(api_key="new-key", previous_api_key=previous)
    body = {"instances": data.load()[1][:1].tolist()}
    assert call(f"{url}/predict", body, {"x-api-key": "new-key"})[0] == 200
    assert call(f"{url}/predict", body, {"x-api-key": ""})[0] == 401   # an empty previous key is no key
    assert call(f"{url}/predict", body)[0] == 401


def test_the_keys_come_from_the_secrets_ecs_injects():
    from automl_example.predict import api_keys

    assert api_keys({"API_KEY": "k2", "API_KEY_PREVIOUS": "k1"}) == ("k2", "k1")
    assert api_keys({"API_KEY": "k2", "API_KEY_PREVIOUS": ""}) == ("k2", None)
    assert api_keys({}) == (None, None)


def test_without_a_key_or_the_open_declaration_predict_refuses(server):
    """Fail closed: a key that did not arrive must not open the endpoint.  The health check fails too, so a
    load balancer sends it nothing and a deployment of it rolls back."""
    from automl_example import data

    url = server()
    _, x_test, _, _ = data.load()
    status, body = call(f"{url}/predict", {"instances": x_test[:1].tolist()})
    assert status == 503 and "refusing predictions" in body["error"]
    assert call(f"{url}/predict", {"instances": x_test[:1].tolist()}, {"x-api-key": ""})[0] == 503
    assert call(f"{url}/ready")[0] == 503


@pytest.mark.parametrize("environ, expected", [
    ({}, (None, False)),
    ({"API_KEY": ""}, (None, False)),                                        # an empty secret is no key
    ({"ALLOW_UNAUTHENTICATED": "false"}, (None, False)),
    ({"ALLOW_UNAUTHENTICATED": "1"}, (None, False)),                         # only the value the template writes
    ({"ALLOW_UNAUTHENTICATED": "true"}, (None, True)),
    ({"API_KEY": "s3cret", "ALLOW_UNAUTHENTICATED": "true"}, ("s3cret", True)),
])
def test_the_container_environment_decides_how_predict_authenticates(environ, expected):
    from automl_example import predict

    assert predict.authentication(environ) == expected


def test_the_app_reads_the_declaration_the_template_writes():
    from automl_example import predict

    from automl_cfn.stacks.compute import OPEN_ENDPOINT_VARIABLE

    assert predict.OPEN_ENDPOINT_VARIABLE == OPEN_ENDPOINT_VARIABLE


def test_train_publishes_the_scores_the_quality_gate_reads(monkeypatch):
    from moto import mock_aws

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")   # ECS sets the task's region
    import boto3
    from automl_example.train import publish

    with mock_aws():
        cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
        publish({"accuracy": 0.96, "roc_auc": 0.99}, namespace="automl-dev/pipeline")
        names = {m["MetricName"] for m in cloudwatch.list_metrics(Namespace="automl-dev/pipeline")["Metrics"]}
    assert names == {"validation_accuracy", "validation_roc_auc"}
