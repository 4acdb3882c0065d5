"""What each role may change, declared as data.

Visibility (which rows a membership can read) lives in the selectors; this map
only answers "may this role perform this write?". Auditors and executives are
read-only for the register; providers cannot edit contracts. Later features add
their actions here so that the role tests pick them up.
"""

from django.core.exceptions import PermissionDenied

from .models import Membership, Role

# action -> roles allowed to perform it
ACTIONS: dict[str, frozenset[str]] = {
    "provider.change": frozenset({Role.ADMIN, Role.COMMISSIONER}),
    "service_type.change": frozenset({Role.ADMIN, Role.COMMISSIONER}),
    "contract.change": frozenset({Role.ADMIN, Role.COMMISSIONER}),
    "site.change": frozenset({Role.ADMIN, Role.COMMISSIONER}),
    "milestone.change": frozenset({Role.ADMIN, Role.COMMISSIONER}),
    "membership.change": frozenset({Role.ADMIN}),
    "kpi.change": frozenset({Role.ADMIN}),
    "contract_kpi.change": frozenset({Role.ADMIN, Role.COMMISSIONER}),
    "reporting_policy.change": frozenset({Role.ADMIN}),
    # Providers submit their own returns. The commissioning organisation may
    # enter one for a provider (a form, a spreadsheet, the data team's bulk
    # upload) only as a recorded act with a reason; whoever entered or
    # submitted a return may not review it (performance.services).
    "return.submit": frozenset({Role.PROVIDER}),
    "return.enter_on_behalf": frozenset({Role.COMMISSIONER, Role.ADMIN}),
    "return.review": frozenset({Role.COMMISSIONER, Role.ADMIN}),
    "signal.acknowledge": frozenset({Role.COMMISSIONER, Role.ADMIN}),
    # The escalation ladder (escalation/services.py): the admin configures it;
    # commissioners propose steps; an executive (never the proposer) approves or
    # rejects those that need it; the provider acknowledges a step in effect.
    "ladder.change": frozenset({Role.ADMIN}),
    "escalation.propose": frozenset({Role.COMMISSIONER, Role.ADMIN}),
    "escalation.approve": frozenset({Role.EXECUTIVE}),
    "escalation.reject": frozenset({Role.EXECUTIVE}),
    "escalation.acknowledge": frozenset({Role.PROVIDER}),
}


def can(membership: Membership | None, action: str) -> bool:
    if membership is None:
        return False
    try:
        allowed = ACTIONS[action]
    except KeyError as exc:  # a typo must not silently deny or allow
        raise ValueError(f"Unknown action {action!r}") from exc
    return membership.role in allowed


def require(membership: Membership | None, action: str) -> None:
    if not can(membership, action):
        raise PermissionDenied(f"Your role cannot do this ({action}).")
