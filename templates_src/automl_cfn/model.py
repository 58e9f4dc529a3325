"""The shape of the ML pipeline, defined once.

Every loop over services, repositories, log groups or bucket prefixes in the
stacks and the verbs starts here, so adding a service is a one-line change.
"""

from typing import NamedTuple

# The three containers of the pipeline, in the order the pipeline runs them.
SERVICES = ("optimize", "train", "predict")

# The one service that can run continuously behind an ECS service.
PREDICTION_SERVICE = "predict"

# A task of the prediction service serves; one run outside it (the pipeline, `automl-cfn run`)
# scores a batch and ends: the command the runs pass to its container.
ONE_OFF_COMMAND = {PREDICTION_SERVICE: ["batch"]}

# ECR repositories: one per service plus the all-in-one pipeline image.
REPOSITORIES = SERVICES + ("pipeline",)

# Sources that write logs: the three containers and the Step Functions pipeline.
LOG_SOURCES = SERVICES + ("pipeline",)

# The one writable path in every container (the root filesystem is read-only): the task
# definitions mount a scratch volume here, and the images own it (docker/Dockerfile).
SCRATCH_PATH = "/tmp"

# Key prefixes in the data bucket and what lives under them.
DATA_PREFIX = "data/"
MODELS_PREFIX = "models/"
PREDICTIONS_PREFIX = "predictions/"

# The one object optimize writes: the hyperparameters train reads.  The task definitions pass it to the
# app as BEST_PARAMS_KEY, and optimize's role may write this key and no other.
BEST_PARAMS_KEY = f"{MODELS_PREFIX}best_params.json"


class TaskAccess(NamedTuple):
    """What one task does in the data bucket, and whether it publishes metrics: its task role grants
    exactly this.  A location ending in "/" is a prefix; any other is one object key."""
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    publishes_metrics: bool = False


TASK_ACCESS = {
    "optimize": TaskAccess(reads=(DATA_PREFIX,), writes=(BEST_PARAMS_KEY,)),
    # The quality metric the pipeline's gate reads (docker/app/automl_example/train.py publishes it).
    "train": TaskAccess(reads=(DATA_PREFIX, BEST_PARAMS_KEY), writes=(MODELS_PREFIX,), publishes_metrics=True),
    "predict": TaskAccess(reads=(MODELS_PREFIX,), writes=(PREDICTIONS_PREFIX,)),
}

# Availability zones the network template can span (AzCount 1..MAX_AZS).
MAX_AZS = 3

# The value a wired ARN or name output takes when its resource is not in the
# environment (CloudFormation outputs cannot be empty).
NONE = "none"

# Tag value written on every resource and stack.
MANAGED_BY = "automl-cfn"


def title(name: str) -> str:
    """`optimize` -> `Optimize`: the CamelCase stem of logical IDs and parameters."""
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_"))

# Where the deploy verb keeps template sets in the artifacts bucket (they expire;
# releases/, locks/ and records/ beside them do not).
TEMPLATES_PREFIX = "templates/"
# The tag the artifacts bucket's lifecycle expires template sets by (key, value): deploy/retention.py.
TEMPLATE_SET_TAG = ("automl-cfn:template-set", "expirable")
RELEASES_PREFIX = "releases/"     # published releases (never expire)


# Alarms that stop and roll back a release of the prediction service, by name suffix after
# `<project>-<env>-`: the endpoint's (with a load balancer; monitoring creates them) and the model
# quality alarm (with a quality gate).  The templates name them; the deploy and `release` look them up.
DEPLOYMENT_ALARMS = ("5xx", "latency", "unhealthy")
MODEL_QUALITY_ALARM = "model-quality-low"
RELEASE_ALARM_SUFFIXES = tuple(f"predict-{kind}" for kind in DEPLOYMENT_ALARMS) + (MODEL_QUALITY_ALARM,)

# The prediction service's API key: letters and digits only (it travels in the x-api-key header).  The
# template generates the first one and rotate-api-key the next, both this long.
API_KEY_LENGTH = 40
