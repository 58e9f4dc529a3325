"""ECS tasks on the local endpoint run until someone says how their container ended.

moto moves a task from RUNNING to STOPPED over a few DescribeTasks calls, as if every container exited at once;
a pipeline then reads train's metric before train could publish it.  On AWS a task runs until its essential
container exits (task-lifecycle.html).  `hold(True)` keeps every task RUNNING until StopTask, so a test plays
the container: it does the container's work (train publishes validation_accuracy, as its task role) and then
stops the task.  `reset()` gives back moto's default with every endpoint reset.

Tests: tests/integration/test_pipeline_runs.py.
"""

from __future__ import annotations

TASK_MODEL = "ecs::task"
# moto counts status reads against `times` (moto_api/_internal/managed_state_model.py): far more than any test.
FOREVER = {"progression": "manual", "times": 10**12}


def hold(on: bool) -> None:
    from moto.moto_api import state_manager

    if on:
        state_manager.set_transition(TASK_MODEL, FOREVER)
    else:
        state_manager.unset_transition(TASK_MODEL)


ESSENTIAL_EXITED = "Essential container in task exited"


def exit_task(account: str, region: str, cluster: str, task: str, code: int) -> dict:
    """The task's essential container exits with `code`: its containers stop with that exit code and the task
    stops as ECS stops it (stopCode EssentialContainerExited, stopped-task-errors.html)."""
    from moto.ecs.models import ecs_backends

    backend = ecs_backends[account][region]
    found = backend.describe_tasks(cluster, [task])
    if not found:
        raise LookupError(f"no task {task} in cluster {cluster}")
    for container in found[0].containers:
        container.exitCode = code
        container.last_status = "STOPPED"
    found[0].desired_status = "STOPPED"
    backend.stop_task(cluster, task, ESSENTIAL_EXITED)
    return {"task": found[0].task_arn, "exitCode": code}


def reset() -> None:
    hold(False)
