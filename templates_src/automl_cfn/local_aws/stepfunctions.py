"""Step Functions runs the state machines in strict mode: moto's interpreter (its `stepfunctions.parser`,
off by default, which keeps executions RUNNING forever), switched on and mended so the pipeline runs as on AWS.

With it, a state machine's states really run: a ResultPath that does not fit its input fails the execution
with States.ResultPathMatchFailure, the one-run-at-a-time gate counts the executions that run, ECS tasks run
and stop (`ecs:runTask.sync`), and `pipeline status` and `start --wait` read one truth.  The defects mended,
one function each:

- `one_backend`: CloudFormation made state machines in the plain backend, the API answered from the
  interpreter's: every stack's state machine "did not exist".
- `executions_start_as_aws_starts_them`: StartExecution without a name made `execution:<machine>:None`, and the
  second such start failed with ExecutionAlreadyExists; AWS names it with a UUID.  An input over 262,144 bytes
  (UTF-8) started; AWS refuses it with a ValidationException (API_StartExecution.html, "input";
  service-quotas.html, "Maximum input or output size").  A pipe's batch is the input, whatever its size.
- `sdk_parameters_and_results_in_each_apis_case`: an `aws-sdk:` task passed its PascalCase parameters to the API
  as they were (KeyError), and gave its result in the API's casing; Step Functions converts both
  (supported-services-awssdk.html, "parameters ... in PascalCase").  The ECS integration reads its results the
  same way.
- `tasks_run_as_the_state_machines_role`: every service call of a state ran with credentials nobody has; it runs
  as the state machine's role, which states.amazonaws.com must be let assume (policy/principals.py), so the
  endpoint judges each call by the role's policies (procedure-create-iam-role.html).
- `result_paths_that_do_not_fit_fail_as_aws_says`: a ResultPath applied to an input it cannot extend (a JSON
  array, a number) raised a Python TypeError, reported as States.Runtime; AWS fails the state with
  States.ResultPathMatchFailure (concepts-error-handling.html, "Error names").
- `fail_states_rethrow_any_error`: a Fail state whose ErrorPath names a caught `States.*` error (the pipeline's
  catch-all re-throws the task's error) crashed the interpreter; AWS fails the execution with that error.
- `definite_paths_select_one_value`: a path through an array index and on (`$[0].trigger`,
  `$.MetricDataResults[0].Values`) selected a list of one; a path that names one node selects that node's value
  (amazon-states-language-paths.html, "Reference paths"), so the quality gate compared a list with a number.
- `waits_pass_at_once`: the endpoint's design, not a moto defect.  A Wait state and a Retry's interval pass at
  once: what they decide (which state follows, how many attempts) is kept, the wall-clock time is not, so a
  test of a retry never sleeps the minute the pipeline waits on AWS.
- `histories_page_as_aws_pages_them`: GetExecutionHistory ignored reverseOrder, maxResults and nextToken and
  answered every event, oldest first; AWS pages them, 100 by default and up to 1,000, newest first when asked
  (API_GetExecutionHistory.html).
- `ecs_errors_carry_their_names`: a refused RunTask (AccessDeniedException, a throttle) failed the state with
  States.Runtime, which no Retry or Catch on ECS's errors matches; Step Functions names a service's error
  `ECS.<code>` (concepts-error-handling.html, "Error names"; connect-ecs.html).
- `ecs_tasks_that_exit_non_zero_fail_the_state`: `ecs:runTask.sync` succeeded whatever the container's exit
  code, so train ran on what a failed optimize never wrote; Step Functions fails the state with
  States.TaskFailed and the stopped task's description as the cause (the developer guide's connect-ecs.html
  and connect-to-resource.html say the state waits for the task "to complete"; the failure on a non-zero exit
  code is the service's observed behaviour, not a sentence of the guide).
- `retried_sync_tasks_wait_afresh`: a `.sync` task's second attempt (a Retry) waited on the callback the first
  attempt had closed, and timed out at once (States.Timeout); each attempt waits on its own.
- `ecs_tasks_take_every_run_task_parameter`: the ECS integration dropped CapacityProviderStrategy (an old
  subset of RunTask's parameters), so Fargate Spot tasks looked for EC2 instances ("No instances found").

Tests: tests/integration/test_pipeline_runs.py.
"""

from __future__ import annotations

import re
import uuid
from functools import lru_cache


def enable() -> None:
    from moto.core.config import default_user_config

    default_user_config["stepfunctions"]["execute_state_machine"] = True
    for mend in (one_backend, executions_start_as_aws_starts_them, sdk_parameters_and_results_in_each_apis_case,
                 tasks_run_as_the_state_machines_role, result_paths_that_do_not_fit_fail_as_aws_says,
                 fail_states_rethrow_any_error, definite_paths_select_one_value, waits_pass_at_once,
                 histories_page_as_aws_pages_them,
                 ecs_errors_carry_their_names, ecs_tasks_that_exit_non_zero_fail_the_state,
                 retried_sync_tasks_wait_afresh,
                 ecs_tasks_take_every_run_task_parameter):
        mend()


def one_backend() -> None:
    from moto.stepfunctions import models
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    models.stepfunctions_backends = stepfunctions_parser_backends


MAX_INPUT_BYTES = 262144


def executions_start_as_aws_starts_them() -> None:
    from moto.stepfunctions.exceptions import ValidationException
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    original = StepFunctionsParserBackend.start_execution

    def start_execution(self, state_machine_arn, name=None, execution_input=None, trace_header=None):
        if execution_input is not None and len(execution_input.encode()) > MAX_INPUT_BYTES:
            raise ValidationException("1 validation error detected: Value at 'input' failed to satisfy constraint: "
                                      f"Member must have length less than or equal to {MAX_INPUT_BYTES}")
        return original(self, state_machine_arn, name or str(uuid.uuid4()), execution_input, trace_header)

    StepFunctionsParserBackend.start_execution = start_execution


@lru_cache(maxsize=None)
def operation(service: str, snake_action: str):
    """botocore's model of one operation, by the snake_case name the interpreter uses."""
    import botocore.session

    from moto.stepfunctions.parser.utils import camel_to_snake_case

    model = botocore.session.get_session().get_service_model(service)
    for name in model.operation_names:
        if camel_to_snake_case(name) == snake_action:
            return model.operation_model(name)
    return None


def sdk_parameters_and_results_in_each_apis_case() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service

    service_task = state_task_service.StateTaskService

    def _normalise_parameters(self, parameters, boto_service_name=None, service_action_name=None):
        found = operation(self._get_boto_service_name(boto_service_name),
                          self._get_boto_service_action(service_action_name))
        if found is not None and found.input_shape is not None:
            self._to_boto_request(parameters, found.input_shape)

    def _normalise_response(self, response, boto_service_name=None, service_action_name=None):
        found = operation(self._get_boto_service_name(boto_service_name),
                          self._get_boto_service_action(service_action_name))
        if found is not None and found.output_shape is not None:
            self._from_boto_response(response, found.output_shape)

    service_task._normalise_parameters = _normalise_parameters
    service_task._normalise_response = _normalise_response


def tasks_run_as_the_state_machines_role() -> None:
    """The interpreter's clients carry a session of the state's role (the state machine's, unless the state
    names its own Credentials), made for the state machine as Step Functions assumes it.  A Task state runs in a
    thread of its own: the state's thread remembers who it runs as while the state runs."""
    import sys
    import threading

    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_factory  # noqa: F401  (loads every integration)
    from moto.stepfunctions.parser.asl.utils import boto_client

    running = threading.local()
    original_execution = state_task_service.StateTaskService._eval_execution
    original_client = boto_client.boto_client_for

    def _eval_execution(self, env) -> None:
        running.machine = env.states.context_object.context_object_data["StateMachine"]["Id"]
        try:
            return original_execution(self, env)
        finally:
            running.machine = None

    def client_for(region, service, state_credentials=None):
        client = original_client(region, service, state_credentials)
        role = getattr(state_credentials, "role_arn", None)
        # A client made outside a Task state, or without a role, gets credentials nothing allows: never the
        # account's root user.
        client._request_signer._credentials = session_for(role, getattr(running, "machine", None) or "")
        return client

    state_task_service.StateTaskService._eval_execution = _eval_execution
    for name, module in list(sys.modules.items()):
        if name.startswith("moto.stepfunctions.parser") and getattr(module, "boto_client_for", None) is original_client:
            module.boto_client_for = client_for


def result_paths_that_do_not_fit_fail_as_aws_says() -> None:
    import json

    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent, FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.common.path.result_path import ResultPath
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    original = ResultPath._eval_body

    def _eval_body(self, env) -> None:
        state_input = env.states.get_input()
        if self.result_path_src not in (None, "$") and not isinstance(state_input, dict):
            kind = StatesErrorNameType.StatesResultPathMatchFailure
            cause = (f"Unable to apply step \"{self.result_path_src[2:]}\" to input "
                     f"{json.dumps(state_input, separators=(',', ':'))}")
            raise FailureEventException(failure_event=FailureEvent(
                env=env, error_name=StatesErrorName(typ=kind), event_type=HistoryEventType.TaskFailed,
                event_details=EventDetails(taskFailedEventDetails=TaskFailedEventDetails(
                    error=kind.to_name(), cause=cause))))
        return original(self, env)

    ResultPath._eval_body = _eval_body


def fail_states_rethrow_any_error() -> None:
    from moto.stepfunctions.parser.asl.component.common.error_name import custom_error_name

    class RethrownErrorName(custom_error_name.ErrorName):
        """An error name from data (a Fail state's ErrorPath): any name, `States.*` included."""

    original = custom_error_name.CustomErrorName.__new__

    def __new__(cls, error_name=None, *args, **kwargs):
        if cls is custom_error_name.CustomErrorName and isinstance(error_name, str) and error_name.startswith(
                custom_error_name.ILLEGAL_CUSTOM_ERROR_PREFIX):
            return RethrownErrorName(error_name)
        return original(cls) if original is object.__new__ else original(cls, error_name, *args, **kwargs)

    custom_error_name.CustomErrorName.__new__ = __new__


# Names and literal indexes only: no wildcard, slice, filter or recursive descent.
DEFINITE_PATH = re.compile(r"\$(\.[A-Za-z_$][\w$-]*|\[\d+\]|\['[^'\]]*'\])*")


def definite_paths_select_one_value() -> None:
    import sys

    from moto.stepfunctions.parser.asl.utils import json_path

    original = json_path.extract_json

    def extract_json(path: str, data):
        if DEFINITE_PATH.fullmatch(path):
            matches = json_path.parse(path).find(data)
            if len(matches) == 1:
                return matches[0].value
        return original(path, data)

    for name, module in list(sys.modules.items()):
        if name.startswith("moto.stepfunctions.parser") and getattr(module, "extract_json", None) is original:
            module.extract_json = extract_json


def waits_pass_at_once() -> None:
    import types

    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

    retrier_decl.time = types.SimpleNamespace(sleep=lambda seconds: None)
    WaitFunction._wait_interval = lambda self, env, wait_seconds: None


HISTORY_PAGE = 100


def histories_page_as_aws_pages_them() -> None:
    import base64

    from moto.core.responses import ActionResult
    from moto.stepfunctions.exceptions import InvalidToken
    from moto.stepfunctions.responses import StepFunctionResponse

    def get_execution_history(self):
        events = list(self.stepfunction_backend.get_execution_history(self._get_param("executionArn"))["events"])
        if self._get_param("reverseOrder"):
            events.reverse()
        size = int(self._get_param("maxResults") or HISTORY_PAGE)     # 0 means the default, as on AWS
        token = self._get_param("nextToken")
        try:
            start = int(base64.b64decode(token, validate=True).decode()) if token else 0
        except ValueError:
            raise InvalidToken() from None
        page = {"events": events[start:start + size]}
        if start + size < len(events):
            page["nextToken"] = base64.b64encode(str(start + size).encode()).decode()
        return ActionResult(page)

    StepFunctionResponse.get_execution_history = get_execution_history


def ecs_errors_carry_their_names() -> None:
    from botocore.exceptions import ClientError
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_ecs
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    service = state_task_service_ecs.StateTaskServiceEcs
    original = service._from_error

    def _from_error(self, env, ex):
        if not isinstance(ex, ClientError):
            return original(self, env, ex)
        code = ex.response["Error"]["Code"]
        name = "ECS." + (code if code.endswith("Exception") else code + "Exception")
        meta = ex.response["ResponseMetadata"]
        cause = (f"{ex.response['Error']['Message']} (Service: AmazonECS; Status Code: {meta['HTTPStatusCode']}; "
                 f"Error Code: {code}; Request ID: {meta.get('RequestId', '')}; Proxy: null)")
        return FailureEvent(env=env, error_name=CustomErrorName(error_name=name), event_type=HistoryEventType.TaskFailed,
                            event_details=EventDetails(taskFailedEventDetails=TaskFailedEventDetails(
                                error=name, cause=cause, resource=self._get_sfn_resource(),
                                resourceType=self._get_sfn_resource_type())))

    service._from_error = _from_error


def ecs_tasks_that_exit_non_zero_fail_the_state() -> None:
    import json

    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent, FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_ecs
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    service = state_task_service_ecs.StateTaskServiceEcs
    original = service._build_sync_resolver

    def _build_sync_resolver(self, env, resource_runtime_part, normalised_parameters, state_credentials):
        resolve = original(self, env, resource_runtime_part, normalised_parameters, state_credentials)

        def resolve_and_judge():
            stopped = resolve()
            if stopped and any(c.get("ExitCode") not in (0, None) for c in stopped.get("Containers", [])):
                kind = StatesErrorNameType.StatesTaskFailed
                raise FailureEventException(failure_event=FailureEvent(
                    env=env, error_name=StatesErrorName(typ=kind), event_type=HistoryEventType.TaskFailed,
                    event_details=EventDetails(taskFailedEventDetails=TaskFailedEventDetails(
                        error=kind.to_name(), cause=json.dumps(stopped, default=str),
                        resource=self._get_sfn_resource(), resourceType=self._get_sfn_resource_type()))))
            return stopped
        return resolve_and_judge

    service._build_sync_resolver = _build_sync_resolver


def retried_sync_tasks_wait_afresh() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_callback

    service = state_task_service_callback.StateTaskServiceCallback
    original = service._eval_integration_pattern

    def _eval_integration_pattern(self, env, resource_runtime_part, normalised_parameters, state_credentials):
        condition = state_task_service_callback.ResourceCondition
        if self.resource.condition != condition.WaitForTaskToken and "Task" in \
                env.states.context_object.context_object_data:
            env.callback_pool_manager.add(env.states.context_object.update_task_token())
        return original(self, env, resource_runtime_part, normalised_parameters, state_credentials)

    service._eval_integration_pattern = _eval_integration_pattern


def ecs_tasks_take_every_run_task_parameter() -> None:
    """The ECS integration passes RunTask's parameters (connect-ecs.html): the interpreter kept an old subset
    without CapacityProviderStrategy, so the pipeline's Fargate Spot tasks went to EC2 instances that do not
    exist."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_ecs

    found = operation("ecs", "run_task")
    state_task_service_ecs._SUPPORTED_API_PARAM_BINDINGS["runtask"] = {      # as a state names them: PascalCase
        member[:1].upper() + member[1:] for member in found.input_shape.members}


def stop_running_executions() -> None:
    """Before the endpoint forgets everything: an execution still running (its task held, a retry waiting)
    stops, so no interpreter thread works on for a test that is over."""
    import datetime

    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    now = datetime.datetime.now(datetime.timezone.utc)
    for regions in list(stepfunctions_parser_backends.values()):
        for backend in list(regions.values()):
            for machine in list(backend.state_machines):
                for execution in list(machine.executions):
                    worker = getattr(execution, "exec_worker", None)
                    # An execution whose thread has not begun has nothing to stop: it fails on its own, its
                    # state machine gone.
                    if execution.status == "RUNNING" and worker is not None and worker.env is not None:
                        execution.stop(stop_date=now, error="States.Aborted", cause="the endpoint was reset")


def session_for(role_arn: str | None, machine_arn: str):
    """Credentials of states.amazonaws.com's session of the role, for one state machine; a role the service may
    not assume gets credentials nothing allows (the calls are then refused, as the execution would fail)."""
    from botocore.credentials import Credentials

    from .policy.principals import service_session

    if not role_arn or not machine_arn:
        return Credentials("AKIAREFUSEDREFUSED00", "refused", None)
    try:
        key, secret, token, _ = service_session(role_arn, "states.amazonaws.com", machine_arn, "StepFunctions")
    except PermissionError:
        return Credentials("AKIAREFUSEDREFUSED00", "refused", None)
    return Credentials(key, secret, token)
