"""What each role may change and which pages it may use, declared as data.

``ACTIONS``: may this role perform this write? ``READS``: may this role use
this page (or be offered it in the navigation)? Which *rows* a membership can
read is not decided here but in the selectors: an object outside its reach is
404 there, exactly like a missing one; a page its role may not use is 403 here.
Auditors and executives are read-only for the register; providers cannot edit
contracts. Feature apps add their own actions and reads from their
``AppConfig.ready()`` (``register_action``, ``register_read``), so the role
tests pick them up without this file changing.
"""

from collections.abc import Collection

from django.core.exceptions import PermissionDenied

from .models import Membership, Role

EVERY_ROLE = frozenset(Role)
COMMISSIONING = frozenset({Role.ADMIN, Role.COMMISSIONER, Role.EXECUTIVE, Role.AUDITOR})

# action -> roles allowed to perform it
ACTIONS: dict[str, frozenset[str]] = {
    "provider.change": frozenset({Role.ADMIN, Role.COMMISSIONER}),
    "service_type.change": frozenset({Role.ADMIN, Role.COMMISSIONER}),
    "contract.change": frozenset({Role.ADMIN, Role.COMMISSIONER}),
    "site.change": frozenset({Role.ADMIN, Role.COMMISSIONER}),
    "milestone.change": frozenset({Role.ADMIN, Role.COMMISSIONER}),
    "membership.change": frozenset({Role.ADMIN}),
    # The organisation's own settings (its public holidays calendar).
    "tenant.change": frozenset({Role.ADMIN}),
}
# Feature apps add theirs from their ready() (``register_action``): performance
# its KPI, return and signal actions.

# read -> roles that may use the pages declaring it (``tenant_view(read=…)``)
# and are offered them in the navigation (``registry.nav_item(read=…)``).
# The core's own; performance registers "returns.view", "returns.overview",
# and "kpi_library.view" in its ready().
READS: dict[str, frozenset[str]] = {
    "home.view": EVERY_ROLE,
    # The register: contracts, their sites, milestones and providers (a
    # provider's member sees its own provider and contracts: the selectors).
    "register.view": EVERY_ROLE,
    "history.view": EVERY_ROLE,  # a contract's full history page
    # A contract's dashboard (the register's page, with the apps' panels) and
    # the pages its panels link to (a signal).
    "dashboard.view": EVERY_ROLE,
    "service_types.view": COMMISSIONING,
    "members.view": frozenset({Role.ADMIN, Role.AUDITOR}),
    "settings.view": frozenset({Role.ADMIN, Role.AUDITOR}),  # the organisation's settings
    "notifications.view": EVERY_ROLE,  # one's own notifications
    # Offered in the navigation to fewer roles than may open the page: a
    # provider's member can open the provider list (it shows its own provider
    # only) and an executive the service types, but neither is offered them.
    "providers.directory": COMMISSIONING,
    "service_types.directory": frozenset({Role.ADMIN, Role.COMMISSIONER, Role.AUDITOR}),
}


def _register(table: dict[str, frozenset[str]], what: str, key: str, roles) -> None:
    roles = frozenset(str(r) for r in roles)
    unknown = roles - set(Role.values)
    if unknown:
        raise ValueError(f"{what} {key!r} names unknown roles {sorted(unknown)}")
    if key in table and table[key] != roles:
        # A second app must not quietly widen or narrow another's rule.
        raise ValueError(
            f"{what} {key!r} is already declared for {sorted(table[key])}, not {sorted(roles)}"
        )
    table[key] = roles


def register_action(key: str, roles: Collection[str]) -> None:
    """Declare a write action (from a feature app's ``AppConfig.ready()``)."""
    _register(ACTIONS, "Action", key, roles)


def register_read(key: str, roles: Collection[str]) -> None:
    """Declare a read (from a feature app's ``AppConfig.ready()``)."""
    _register(READS, "Read", key, roles)


def _allowed(table: dict[str, frozenset[str]], what: str, key: str) -> frozenset[str]:
    try:
        return table[key]
    except KeyError as exc:  # a typo must not silently deny or allow
        raise ValueError(f"Unknown {what} {key!r}") from exc


def can(membership: Membership | None, action: str) -> bool:
    allowed = _allowed(ACTIONS, "action", action)
    return membership is not None and membership.role in allowed


def require(membership: Membership | None, action: str) -> None:
    if not can(membership, action):
        raise PermissionDenied(f"Your role cannot do this ({action}).")


def require_same_tenant(membership: Membership, obj, noun: str) -> None:
    """Refuse a write on another tenant's row: ``obj.tenant_id`` must be the
    member's tenant (the services' check before they apply a change)."""
    if obj.tenant_id != membership.tenant_id:
        raise PermissionDenied(f"This {noun} is not one of your organisation's.")


def can_read(membership: Membership | None, key: str) -> bool:
    allowed = _allowed(READS, "read", key)
    return membership is not None and membership.role in allowed


def readers(key: str) -> str:
    """Who may read, in words: "admins and auditors"."""
    allowed = _allowed(READS, "read", key)
    names = [f"{role.label.lower()}s" for role in Role if role in allowed]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def require_read(membership: Membership | None, key: str) -> None:
    if not can_read(membership, key):
        raise PermissionDenied(f"This page is for {readers(key)} ({key}).")
