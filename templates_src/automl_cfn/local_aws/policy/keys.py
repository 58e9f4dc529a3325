"""KMS's policy lockout safety check.

CreateKey and PutKeyPolicy refuse a key policy under which the caller could
not change the policy again (kms:PutKeyPolicy), unless the request sets
BypassPolicyLockoutSafetyCheck: "The new key policy will not allow you to
update the key policy in the future" (kms/latest/APIReference/API_CreateKey.html
and API_PutKeyPolicy.html, BypassPolicyLockoutSafetyCheck).  A CI role that may
CreateKey but not PutKeyPolicy fails here on AWS, through CloudFormation too.

Test: test_strict_refuses_a_key_policy_that_locks_out_its_creator.
"""

from __future__ import annotations

from . import enforce
from .evaluation import Request, decide
from .language import Policy
from .validate import InvalidPolicy, check

MESSAGE = "The new key policy will not allow you to update the key policy in the future."


class LockedOut(Exception):
    pass


def check_lockout(policy_text, key_arn: str, account: str, region: str, bypass: bool = False,
                  tags: dict[str, str] | None = None) -> None:
    """Raise LockedOut unless whoever acts now could PutKeyPolicy under the new policy, on the key as it will be
    (its `tags` on it: a caller's policy may name them as aws:ResourceTag)."""
    if policy_text is None:
        return   # no policy given: KMS writes the default one, which trusts the account
    try:
        document = check(policy_text, "resource", "key")
    except InvalidPolicy as problem:
        raise LockedOut(str(problem)) from None
    if bypass:
        return
    caller, subject, context = enforce.acting(account, region)
    context = {**context, "kms:CallerAccount": caller.account or account,
               **{f"aws:ResourceTag/{k}": v for k, v in (tags or {}).items()}}
    request = Request(caller, "kms:PutKeyPolicy", key_arn, context, account)
    if not decide(request, subject, Policy.of(document, "new key policy", kind="resource"),
                  resource_policy_required=True).allowed:
        raise LockedOut(MESSAGE)
