"""rotate-api-key's parts that the local endpoint cannot show: how a real ECS deployment settles (older
tasks draining, the circuit breaker failing it, another deployment replacing it), a secret that never
changed, and the --var record with the parameter that follows api_key_secret."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from automl_cfn.errors import AwsError, RefusedError
from automl_cfn.ops.api_key import Where, secret_value, wait_stable

WHERE = Where("arn:secret", "arn:previous", "automl-dev-cluster", "automl-dev-predict")


class Ecs:
    """describe_services answering with each service state in turn."""

    def __init__(self, *deployment_lists):
        self.answers, self.calls = list(deployment_lists), 0

    def describe_services(self, cluster, services):
        assert (cluster, services) == (WHERE.cluster, [WHERE.service])
        self.calls += 1
        return {"services": [{"deployments": self.answers.pop(0)}]}


def deployment(id_, status="PRIMARY", rollout=None, running=1, desired=1, reason=None):
    found = {"id": id_, "status": status, "runningCount": running, "desiredCount": desired}
    if rollout:
        found["rolloutState"] = rollout
    if reason:
        found["rolloutStateReason"] = reason
    return found


def test_the_wait_ends_only_when_the_older_tasks_are_gone(capsys):
    old = deployment("ecs-svc/1", status="ACTIVE", rollout="COMPLETED")
    ecs = Ecs([deployment("ecs-svc/2", rollout="IN_PROGRESS", running=0), old],
              [deployment("ecs-svc/2", rollout="IN_PROGRESS"), old],
              [deployment("ecs-svc/2", rollout="COMPLETED")])
    assert wait_stable(ecs, WHERE, "ecs-svc/2", poll=0) == "COMPLETED"
    assert ecs.calls == 3
    progress = capsys.readouterr().err.splitlines()
    assert progress[0].endswith("IN_PROGRESS  0/1 tasks, 1 older deployment(s) draining")
    assert progress[-1].endswith("COMPLETED  1/1 tasks")


def test_without_a_rollout_state_the_running_tasks_decide():
    ecs = Ecs([deployment("ecs-svc/2", running=1, desired=2)], [deployment("ecs-svc/2", running=2, desired=2)])
    assert wait_stable(ecs, WHERE, "ecs-svc/2", poll=0) == "STABLE" and ecs.calls == 2


def test_a_failed_deployment_is_an_aws_failure_with_its_reason():
    ecs = Ecs([deployment("ecs-svc/2", rollout="FAILED", reason="tasks failed to start\x1b[31m")])
    with pytest.raises(AwsError, match=r"deployment ecs-svc/2 FAILED: tasks failed to start\\x1b\[31m$") as raised:
        wait_stable(ecs, WHERE, "ecs-svc/2", poll=0)
    assert raised.value.exit_code == 1


def test_a_deployment_replaced_before_it_finished_is_an_aws_failure():
    ecs = Ecs([deployment("ecs-svc/3", rollout="IN_PROGRESS")])
    with pytest.raises(AwsError, match="deployment ecs-svc/2 was replaced by ecs-svc/3 before it finished"):
        wait_stable(ecs, WHERE, "ecs-svc/2", poll=0)


class Secrets:
    def __init__(self, stages):
        self.stages = stages

    def get_secret_value(self, SecretId, VersionStage):
        if VersionStage not in self.stages:
            raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "no such version"}},
                              "GetSecretValue")
        return {"SecretString": self.stages[VersionStage]} if self.stages[VersionStage] else {"SecretBinary": b"x"}


def test_a_secret_never_changed_has_no_previous_value():
    secrets = Secrets({"AWSCURRENT": "k1"})
    assert secret_value(secrets, "arn:secret") == "k1"
    assert secret_value(secrets, "arn:secret", "AWSPREVIOUS") is None
    with pytest.raises(ClientError):   # the current value missing is no "never changed"
        secret_value(Secrets({}), "arn:secret")
    with pytest.raises(AwsError, match="holds a binary value"):
        secret_value(Secrets({"AWSCURRENT": None}), "arn:secret")


def test_a_var_record_names_the_api_key_secret_value_typed_not_the_parameter_derived_from_it(dev):
    """ApiKeyPreviousSecret follows api_key_secret ("create" whenever it is set): the refusal to undo an earlier
    --var names the secret ARN that was typed, never "create"."""
    from automl_cfn.deploy.record import check_no_silent_undo
    from automl_cfn.settings import with_overrides

    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:automl/dev/api-key-AbCdEf"
    recorded = {"ApiKeyPreviousSecret": "create", "ApiKeySecret": arn}
    with pytest.raises(RefusedError) as refused:
        check_no_silent_undo(recorded, dict(recorded), dev, dev, "config/dev.yaml")
    assert f"api_key_secret is '{arn}' in the deployed stack" in str(refused.value)
    assert f"repeat --var api_key_secret={arn}" in str(refused.value)
    given = with_overrides(dev, api_key_secret=arn)
    check_no_silent_undo(recorded, dict(recorded), given, dev, "config/dev.yaml", frozenset({"api_key_secret"}))


class History:
    """Secrets Manager as far as a rotation uses it: each put moves AWSCURRENT to AWSPREVIOUS."""

    def __init__(self, **values):
        self.stages = {arn: {"AWSCURRENT": value} for arn, value in values.items()}
        self.made = 0

    def get_secret_value(self, SecretId, VersionStage):
        return Secrets(self.stages[SecretId]).get_secret_value(SecretId, VersionStage)

    def put_secret_value(self, SecretId, SecretString):
        stages = self.stages[SecretId]
        self.stages[SecretId] = {"AWSCURRENT": SecretString, "AWSPREVIOUS": stages["AWSCURRENT"]}

    def get_random_password(self, PasswordLength, ExcludePunctuation, IncludeSpace):
        assert (PasswordLength, ExcludePunctuation, IncludeSpace) == (40, True, False)
        self.made += 1
        return {"RandomPassword": f"random-{self.made}"}


class Deployed:
    def __init__(self, secrets, ecs):
        from types import SimpleNamespace

        self.target = SimpleNamespace(name="automl-dev", env_flag="--env dev")
        self.clients = {"secretsmanager": secrets, "ecs": ecs}

    def client(self, name):
        return self.clients[name]


class Redeploys(Ecs):
    def __init__(self, *deployment_lists):
        super().__init__(*deployment_lists)
        self.forced = 0

    def update_service(self, cluster, service, forceNewDeployment):
        assert (cluster, service, forceNewDeployment) == (WHERE.cluster, WHERE.service, True)
        self.forced += 1
        return {"service": {"deployments": [deployment("ecs-svc/2", rollout="IN_PROGRESS")]}}


def test_a_failed_redeploy_says_the_secrets_are_changed_and_running_again_resumes(capsys):
    from automl_cfn.ops.api_key import Options, _rotate

    secrets = History(**{WHERE.secret: "k1", WHERE.previous: "unknown"})
    failing = Redeploys([deployment("ecs-svc/2", rollout="FAILED", reason="tasks failed to start")])
    with pytest.raises(AwsError, match=r"FAILED: tasks failed to start \(the secrets are changed already; once the "
                                       r"service is healthy, the same command again redeploys it"):
        _rotate(Deployed(secrets, failing), WHERE, Options(yes=True, poll=0))
    rotated = {arn: stages["AWSCURRENT"] for arn, stages in secrets.stages.items()}
    assert rotated == {WHERE.secret: "random-1", WHERE.previous: "k1"}

    healthy = Redeploys([deployment("ecs-svc/2", rollout="COMPLETED")])
    assert _rotate(Deployed(secrets, healthy), WHERE, Options(yes=True, poll=0)) == 0
    assert {arn: stages["AWSCURRENT"] for arn, stages in secrets.stages.items()} == rotated   # not rotated again
    assert healthy.forced == 1 and "A rotation is in progress" in capsys.readouterr().err

    assert _rotate(Deployed(secrets, Redeploys([deployment("ecs-svc/2", rollout="COMPLETED")])), WHERE,
                   Options(finish=True, yes=True, poll=0, output="json")) == 0
    assert secrets.stages[WHERE.previous]["AWSCURRENT"] == "random-2"
    assert secrets.stages[WHERE.secret]["AWSCURRENT"] == "random-1"
