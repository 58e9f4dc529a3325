"""CloudFormation stack statuses, grouped by what the deploy verb does about them.

botocore's waiters treat some rollback states as success; the deploy verb
checks the final status against these sets itself.
"""

SUCCESS = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"}
# The last operation failed but the stack is usable and can be updated.
ROLLED_BACK_UPDATABLE = {"UPDATE_ROLLBACK_COMPLETE", "IMPORT_ROLLBACK_COMPLETE"}
# A create that never finished: nothing worth keeping, delete and recreate.
RECREATE = {"ROLLBACK_COMPLETE", "CREATE_FAILED", "REVIEW_IN_PROGRESS", "ROLLBACK_FAILED"}
CONTINUE_ROLLBACK = {"UPDATE_ROLLBACK_FAILED"}
# An update failed with rollback disabled (EXPRESS mode, say): roll it back to the last stable state.
ROLL_BACK_FIRST = {"UPDATE_FAILED"}
DELETED = {"DELETE_COMPLETE"}
BROKEN = {"DELETE_FAILED", "IMPORT_ROLLBACK_FAILED"}

TERMINAL = (SUCCESS | ROLLED_BACK_UPDATABLE | RECREATE - {"REVIEW_IN_PROGRESS"} | CONTINUE_ROLLBACK | ROLL_BACK_FIRST
            | DELETED | BROKEN)


def in_progress(status: str) -> bool:
    return status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS"


def failed(status: str) -> bool:
    return status.endswith("_FAILED") or "ROLLBACK" in status


RESOURCE_FAILED = {"CREATE_FAILED", "UPDATE_FAILED", "DELETE_FAILED", "IMPORT_FAILED"}
