"""What feature apps plug into the core: the core renders what is registered here.

The core (``oversight``) imports no feature app (import-linter checks it: see
``[tool.importlinter]`` in pyproject.toml). A feature app registers what it adds
in its ``AppConfig.ready()``:

- ``nav_item``: an entry of the header's navigation (label, url name, the read
  of ``oversight.permissions.READS`` that decides who sees it, an order);
- ``home_panel``: a panel of the tenant home page for some roles;
- ``contract_panel``: a panel of the contract dashboard, a function
  ``(membership, contract) -> (template name, context)``;
- ``contract_link``: a page about one contract (a URL name taking
  ``contract_pk``), linked from the contract's page and its dashboard for the
  roles that may read it;
- ``signal_lever``: a page where a commissioner acts on a signal (propose an
  escalation, open a plan, offer support): a URL name taking ``contract_pk``,
  linked from the signal's page and the dashboard's signal table with
  ``?signal=<id>`` so that the signal comes pre-attached as evidence, for the
  roles that may perform ``action``;
- ``portfolio_panel``: a panel of the executive's portfolio page, a function
  ``(membership, contracts) -> (template name, context)`` given the contracts in
  view (the page's filters applied), so that each app summarises its own data
  for the contracts shown;
- ``notification_kind``: a kind of notification with its label;
- ``demo_part``: a step of ``seed_demo``, a function ``(ctx)`` run in order;
- ``signal_rule``: a rule that reads its app's own data (overdue plan actions,
  a notice's deadline) and answers ``SignalFinding``s for some contracts; the
  signals engine runs every registered rule beside its own and opens, updates
  and closes their signals the same way (a finding's ``kind`` must be one the
  rule registered, with its label);
- ``early_warning_source``: a reader of the early warnings providers raise
  themselves (escalation: a provider's concern), a function
  ``(*, contract_ids, since) -> [{"contract_id", "raised_at", "id"}]`` (one
  query for all those contracts); the signals engine reads every source once
  per recompute so that deterioration the provider raised before it was
  flagged counts in the provider's favour (no "silence" signal);
- ``periodic_task``: a Celery task by name with its schedule (a crontab), put
  on Celery beat's schedule by oversight/celery.py;
- ``contract_saved``: a function ``(*, membership, contracts, reason)`` that the contract
  services (and the register's import, with many at once) call, inside their
  transaction, after contracts are created or changed (performance keeps the
  reporting calendar in step);
- ``tenant_urls``: a URL module of pages under /t/<tenant_slug>/ (or, with
  ``api=True``, of API routes under /api/v1/t/<tenant_slug>/), included by
  oversight/urls.py.

Each registry keeps one entry per key (registering again replaces it, so a
reloaded app does not add duplicates) and lists its entries by ``order``, then
by key. Panels and demo parts are plain functions: the core calls them and
renders the template they name with the context they return.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.urls import reverse

from .permissions import can, can_read

# A panel function answers the template to include and its context, or None to
# show nothing (nothing to say to this membership about this contract).
PanelResult = tuple[str, dict[str, Any]] | None


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    read: str  # a key of permissions.READS: the roles that may read it see the item
    order: int

    @property
    def key(self) -> str:
        return self.url_name


@dataclass(frozen=True)
class ContractLink:
    label: str
    url_name: str  # a tenant page taking ``contract_pk``
    read: str  # a key of permissions.READS
    order: int

    @property
    def key(self) -> str:
        return self.url_name


@dataclass(frozen=True)
class SignalLever:
    label: str
    url_name: str  # a tenant page taking ``contract_pk``; reads ``?signal=``
    action: str  # a key of permissions.ACTIONS
    order: int

    @property
    def key(self) -> str:
        return self.url_name


@dataclass(frozen=True)
class Panel:
    key: str
    render: Callable[..., PanelResult]
    roles: frozenset[str] | None  # None: every role
    order: int

    def visible_to(self, role: str) -> bool:
        return self.roles is None or role in self.roles


@dataclass(frozen=True)
class NotificationKindEntry:
    code: str
    label: str
    order: int

    @property
    def key(self) -> str:
        return self.code


@dataclass(frozen=True)
class DemoPart:
    key: str
    run: Callable[[Any], None]
    order: int


@dataclass(frozen=True)
class SignalFinding:
    """A condition a registered signal rule finds on one contract today.

    ``key`` names the condition (kind + subject, e.g. ``"plan_action_overdue:17"``)
    so that the next run finds the same signal instead of opening another;
    ``severity`` is one of info, low, medium, high, critical; ``evidence`` is
    what a reader needs to check the finding (JSON-serialisable)."""

    contract_id: int
    kind: str
    key: str
    severity: str
    message: str
    evidence: dict = field(default_factory=dict)
    period_start: date | None = None


@dataclass(frozen=True)
class SignalRule:
    key: str
    run: Callable[..., list[SignalFinding]]  # (*, contract_ids, today)
    kinds: tuple[tuple[str, str], ...]  # (code, label) of the kinds it raises
    order: int


@dataclass(frozen=True)
class EarlyWarningSource:
    key: str
    # (*, contract_ids, since: datetime) -> [{"contract_id", "raised_at", "id", ...}]
    read: Callable[..., list[dict]]
    order: int


@dataclass(frozen=True)
class PeriodicTask:
    key: str
    task: str  # the task's name: "<app>.tasks.<function>"
    schedule: Any  # a celery.schedules.crontab (or seconds)
    order: int


@dataclass(frozen=True)
class Hook:
    key: str
    run: Callable[..., None]
    order: int


@dataclass(frozen=True)
class UrlModule:
    module: str  # dotted path of a module with ``urlpatterns``
    api: bool
    order: int

    @property
    def key(self) -> str:
        return f"{'api' if self.api else 'pages'}:{self.module}"


class Registry:
    """One kind of thing registered by key, listed by (order, key)."""

    def __init__(self, what: str):
        self.what = what
        self._entries: dict[str, Any] = {}

    def add(self, entry) -> None:
        self._entries[entry.key] = entry

    def remove(self, key: str) -> None:
        self._entries.pop(key, None)

    def get(self, key: str):
        return self._entries.get(key)

    def all(self) -> list:
        return sorted(self._entries.values(), key=lambda e: (e.order, e.key))


NAVIGATION = Registry("navigation item")
HOME_PANELS = Registry("home-page panel")
CONTRACT_PANELS = Registry("contract-dashboard panel")
PORTFOLIO_PANELS = Registry("portfolio panel")
CONTRACT_LINKS = Registry("contract page link")
SIGNAL_LEVERS = Registry("signal lever")
SIGNAL_RULES = Registry("signal rule")
NOTIFICATION_KINDS = Registry("notification kind")
DEMO_PARTS = Registry("demo-data part")
URL_MODULES = Registry("URL module")
CONTRACT_SAVED = Registry("contract-saved hook")
PERIODIC_TASKS = Registry("periodic task")
EARLY_WARNING_SOURCES = Registry("early-warning source")


def _roles(roles: Collection[str] | None) -> frozenset[str] | None:
    return None if roles is None else frozenset(str(r) for r in roles)


def nav_item(label: str, url_name: str, *, read: str, order: int):
    """``read`` is the page's read (``permissions.READS``), or a narrower one
    where fewer roles are offered the page than may open it."""
    NAVIGATION.add(NavItem(label=label, url_name=url_name, read=read, order=order))


def contract_link(label: str, url_name: str, *, read: str, order: int):
    CONTRACT_LINKS.add(ContractLink(label=label, url_name=url_name, read=read, order=order))


def signal_lever(label: str, url_name: str, *, action: str, order: int):
    SIGNAL_LEVERS.add(SignalLever(label=label, url_name=url_name, action=action, order=order))


def home_panel(key: str, render, *, order: int, roles: Collection[str] | None = None):
    HOME_PANELS.add(Panel(key=key, render=render, roles=_roles(roles), order=order))


def contract_panel(key: str, render, *, order: int, roles: Collection[str] | None = None):
    CONTRACT_PANELS.add(Panel(key=key, render=render, roles=_roles(roles), order=order))


def portfolio_panel(key: str, render, *, order: int, roles: Collection[str] | None = None):
    PORTFOLIO_PANELS.add(Panel(key=key, render=render, roles=_roles(roles), order=order))


def signal_rule(key: str, run, *, kinds: dict[str, str], order: int) -> None:
    """``run(*, contract_ids, today)`` answers the findings for those contracts
    (one query or a few, whatever their number); ``kinds`` maps each kind it
    raises to its label."""
    if not kinds:
        raise ValueError(f"Signal rule {key!r} registers no kinds")
    SIGNAL_RULES.add(
        SignalRule(
            key=key,
            run=run,
            kinds=tuple((str(code), str(label)) for code, label in kinds.items()),
            order=order,
        )
    )


def early_warning_source(key: str, read, *, order: int) -> None:
    """``read(*, contract_ids, since)`` answers the early warnings providers
    raised on those contracts at or after ``since`` (an aware datetime), as
    rows with at least ``contract_id``, ``raised_at`` (aware datetime) and
    ``id``, in one query whatever the number of contracts."""
    EARLY_WARNING_SOURCES.add(EarlyWarningSource(key=key, read=read, order=order))


def notification_kind(code: str, label: str, *, order: int) -> None:
    NOTIFICATION_KINDS.add(NotificationKindEntry(code=str(code), label=str(label), order=order))


def demo_part(key: str, run, *, order: int) -> None:
    DEMO_PARTS.add(DemoPart(key=key, run=run, order=order))


def periodic_task(key: str, task: str, *, schedule, order: int) -> None:
    PERIODIC_TASKS.add(PeriodicTask(key=key, task=task, schedule=schedule, order=order))


def contract_saved(key: str, run, *, order: int) -> None:
    CONTRACT_SAVED.add(Hook(key=key, run=run, order=order))


def tenant_urls(module: str, *, order: int, api: bool = False) -> None:
    URL_MODULES.add(UrlModule(module=module, api=api, order=order))


# --------------------------------------------------------------------------
# What the core reads.
# --------------------------------------------------------------------------


def navigation_for(membership) -> list[NavItem]:
    return [item for item in NAVIGATION.all() if can_read(membership, item.read)]


def contract_links_for(membership, contract) -> list[dict[str, str]]:
    """The pages about this contract that apps registered, for this membership:
    ``[{"label", "url"}]`` in order."""
    return [
        {
            "label": link.label,
            "url": reverse(
                link.url_name,
                kwargs={"tenant_slug": membership.tenant.slug, "contract_pk": contract.pk},
            ),
        }
        for link in CONTRACT_LINKS.all()
        if can_read(membership, link.read)
    ]


LEVER_PARAM = "signal"  # the query parameter a lever's page reads (lever_signal_id)


def lever_signal_id(request) -> int | None:
    """The signal a lever's page was opened from (``?signal=<id>``), or None.
    The page still reads the signal through its own contract's rows, so an id
    of another contract's signal finds nothing."""
    value = request.GET.get(LEVER_PARAM, "")
    return int(value) if value.isdigit() else None


def signal_levers_for(membership, signal) -> list[dict[str, str]]:
    """The levers this membership may pull on this signal, in order:
    ``[{"label", "url"}]``, each URL carrying ``?signal=<id>``. Only for a live
    signal (a closed one's condition has cleared)."""
    if signal.status == "closed":
        return []
    return [
        {
            "label": lever.label,
            "url": reverse(
                lever.url_name,
                kwargs={"tenant_slug": membership.tenant.slug, "contract_pk": signal.contract_id},
            )
            + f"?{LEVER_PARAM}={signal.pk}",
        }
        for lever in SIGNAL_LEVERS.all()
        if can(membership, lever.action)
    ]


def _render_panels(panels: list[Panel], *args) -> list[dict[str, Any]]:
    shown = []
    for panel in panels:
        result = panel.render(*args)
        if result is not None:
            template, context = result
            shown.append({"key": panel.key, "template": template, "context": context})
    return shown


def home_panels_for(membership) -> list[dict[str, Any]]:
    """The home page's panels for this membership's role, in order, each as
    ``{"key", "template", "context"}`` (rendered with ``{% panel %}``)."""
    panels = [p for p in HOME_PANELS.all() if p.visible_to(membership.role)]
    return _render_panels(panels, membership)


def contract_panels_for(membership, contract) -> list[dict[str, Any]]:
    """The contract dashboard's panels for this membership, in order."""
    panels = [p for p in CONTRACT_PANELS.all() if p.visible_to(membership.role)]
    return _render_panels(panels, membership, contract)


def portfolio_panels_for(membership, contracts) -> list[dict[str, Any]]:
    """The portfolio page's panels for this membership's role, in order, each
    given the contracts in view."""
    panels = [p for p in PORTFOLIO_PANELS.all() if p.visible_to(membership.role)]
    return _render_panels(panels, membership, contracts)


def signal_rules() -> list[SignalRule]:
    return SIGNAL_RULES.all()


def signal_kinds() -> list[tuple[str, str]]:
    """Every kind the registered rules raise, as (code, label)."""
    return [kind for rule in SIGNAL_RULES.all() for kind in rule.kinds]


def early_warnings(*, contract_ids, since) -> list[dict]:
    """Every registered source's early warnings on ``contract_ids`` raised at
    or after ``since``, each row with its ``source`` key, oldest first."""
    if not contract_ids:
        return []
    rows = [
        {**row, "source": source.key}
        for source in EARLY_WARNING_SOURCES.all()
        for row in source.read(contract_ids=list(contract_ids), since=since)
    ]
    return sorted(rows, key=lambda row: (row["raised_at"], row["source"], row.get("id") or 0))


def notification_kind_label(code: str) -> str:
    entry = NOTIFICATION_KINDS.get(code)
    return entry.label if entry else code


def notification_kinds() -> list[tuple[str, str]]:
    return [(k.code, k.label) for k in NOTIFICATION_KINDS.all()]


def demo_parts() -> list[DemoPart]:
    return DEMO_PARTS.all()


def url_modules(*, api: bool) -> list[str]:
    return [m.module for m in URL_MODULES.all() if m.api == api]


def beat_schedule() -> dict[str, dict]:
    """The registered periodic tasks as Celery beat's schedule."""
    return {t.key: {"task": t.task, "schedule": t.schedule} for t in PERIODIC_TASKS.all()}


def contract_saved_hooks() -> list[Hook]:
    return CONTRACT_SAVED.all()
