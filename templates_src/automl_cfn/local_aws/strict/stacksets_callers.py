"""Who may call StackSets on a stack set, and where it lives: CallAs.

Service-managed stack sets are created in the organization's management account, those a delegated
administrator creates too (stacksets-orgs-delegated-admin.html; API_CreateStackSet.html, CallAs).  The
management account calls them as SELF (the default); a member account registered as a StackSets delegated
administrator (organizations RegisterDelegatedAdministrator, service principal
member.org.stacksets.cloudformation.amazonaws.com) calls them as DELEGATED_ADMIN; AWS refuses every other
caller.  moto has no CallAs: each account's stack sets were its own, and any account that owned an
organisation could run service-managed ones.  Each rule below names the test that shows it
(tests/integration/test_stacksets.py).
"""

from __future__ import annotations

from .engine import Backend, CfnError, validation

SELF, DELEGATED_ADMIN = "SELF", "DELEGATED_ADMIN"
SERVICE_PRINCIPAL = "member.org.stacksets.cloudformation.amazonaws.com"


def call_as_of(self) -> str:
    """CallAs is SELF (the default) or DELEGATED_ADMIN (API_CreateStackSet.html, CallAs: "Valid Values: SELF |
    DELEGATED_ADMIN"); anything else is a validation error, as the API's model constraint reads.
    Test: test_call_as_takes_self_or_delegated_admin_only."""
    value = self._get_param("CallAs") or SELF
    if value not in (SELF, DELEGATED_ADMIN):
        raise validation(f"1 validation error detected: Value '{str(value)[:64]}' at 'callAs' failed to satisfy "
                         "constraint: Member must satisfy enum value set: [SELF, DELEGATED_ADMIN]")
    return value


def management_account_of(account: str) -> str:
    """The management account of `account`'s organisation ("" when it is in none)."""
    from moto.organizations.models import organizations_backends

    if account in organizations_backends.master_accounts:
        return organizations_backends.master_accounts[account][0]
    org = organizations_backends[account]["aws"].org
    return org.master_account_id if org is not None else ""


def registered_delegated_admin(account: str, management: str) -> bool:
    from moto.organizations.models import organizations_backends

    if not management:
        return False
    admins = organizations_backends[management]["aws"].admins
    return any(admin.account.id == account and SERVICE_PRINCIPAL in admin.services for admin in admins)


def refuse_unregistered_delegated_admin(caller: str) -> str:
    """CallAs=DELEGATED_ADMIN is taken only from a member account registered as a StackSets delegated
    administrator in the management account; AWS answers any other caller, the management account itself
    included, `ValidationError: Account used is not a delegated administrator` (stacksets-orgs-delegated-admin.html;
    API_CreateStackSet.html, CallAs: "Your AWS account must be registered as a delegated admin in the management
    account").  Returns the management account, where the stack sets live.
    Test: test_call_as_delegated_admin_needs_the_registration."""
    management = management_account_of(caller)
    if not registered_delegated_admin(caller, management):
        raise validation("Account used is not a delegated administrator")
    return management


def refuse_service_managed_outside_management(caller: str) -> None:
    """A SERVICE_MANAGED stack set called as SELF is the management account's own: from any other account AWS
    answers `ValidationError: You must be the management account or delegated admin account of an organization
    before operating a SERVICE_MANAGED stack set` (API_CreateStackSet.html, CallAs: "To create a StackSet with
    service-managed permissions while signed in to a delegated administrator account, specify DELEGATED_ADMIN").
    Test: test_a_member_account_deploys_service_managed_only_as_a_registered_delegated_admin."""
    if management_account_of(caller) != caller:
        raise validation("You must be the management account or delegated admin account of an organization before "
                         "operating a SERVICE_MANAGED stack set")


def refuse_delegated_admin_for_self_managed(call_as: str, permission_model: str) -> None:
    """CallAs DELEGATED_ADMIN is valid only for the SERVICE_MANAGED permission model (API_CreateStackSet.html,
    CallAs: "Use SELF for StackSets with self-managed permissions ... Valid only if the permissions model is
    SERVICE_MANAGED").  AWS documents the rule, not its wording: the message is ours.
    Test: test_call_as_delegated_admin_is_for_service_managed_stack_sets_only."""
    if call_as == DELEGATED_ADMIN and permission_model != "SERVICE_MANAGED":
        raise validation("CallAs DELEGATED_ADMIN is valid only for stack sets with the SERVICE_MANAGED permission "
                         "model; use SELF for self-managed stack sets")


def store_of(self, backend: Backend) -> tuple[str, str, str]:
    """(call_as, account, region) of the stack sets this request reaches: the caller's own as SELF, the
    management account's as DELEGATED_ADMIN (once the caller is found registered)."""
    call_as = call_as_of(self)
    if call_as == DELEGATED_ADMIN:
        return call_as, refuse_unregistered_delegated_admin(backend.account), backend.region
    return call_as, backend.account, backend.region


def visible(call_as: str, permission_model: str) -> bool:
    """A delegated administrator reaches the management account's service-managed stack sets only: the
    self-managed ones are the management account's own (API_DescribeStackSet.html, CallAs: "Use SELF for
    StackSets with self-managed permissions"); to it they do not exist.
    Test: test_call_as_delegated_admin_is_for_service_managed_stack_sets_only."""
    return call_as == SELF or permission_model == "SERVICE_MANAGED"


def not_found(name: str) -> CfnError:
    return CfnError("StackSetNotFoundException", f"StackSet {name} not found")
