"""Status changes declared as data and made one way.

A feature app declares each status field's life once: which statuses may follow
which, the field that records when a status was reached, and the words of the
refusal. ``transition`` is the one way such a status changes:

    role check (``oversight.permissions.require``) → the declared map → set the
    status (and its "when" field) → the caller's other fields and checks → save
    with history and the reason → the notices, once the transaction commits.

A status is changed by a member (``membership``), or by the system itself (the
nightly engine closing signals whose condition cleared): then ``system=True``
and no membership, said out loud rather than implied by a missing argument.

The core knows no feature app: each app declares its own map (``declare``),
next to the services that call ``transition``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import models, transaction

from . import clock
from .history import bulk_update, save_with_history
from .models import Membership
from .permissions import require, require_same_tenant


@dataclass(frozen=True)
class Workflow:
    """The declared life of one model's status field."""

    model: type[models.Model]
    noun: str  # "return", "signal", "contract": the words of a refusal
    transitions: Mapping[str, frozenset[str]]  # status -> statuses it may become
    field: str = "status"
    # status reached -> the datetime field that records when
    stamps: Mapping[str, str] = dataclass_field(default_factory=dict)
    # The refusal, with {noun}, {source} and {target} (the statuses' labels).
    refusal: str = "A {noun} that is {source} cannot become {target}."
    error_field: str = ""  # the form field the refusal is shown on; the status field if blank

    def __post_init__(self):
        choices = {str(value) for value, _ in self._field().flatchoices}
        named = set(self.transitions) | {t for ts in self.transitions.values() for t in ts}
        unknown = sorted(named - choices)
        if unknown:
            raise ValueError(f"{self.model.__name__}.{self.field} has no status {unknown}")
        undeclared = sorted(choices - set(self.transitions))
        if undeclared:  # every status says where it may go, if only nowhere
            raise ValueError(f"{self.model.__name__}.{self.field}: declare {undeclared}")
        for status in set(self.stamps) - choices:
            raise ValueError(f"{self.model.__name__}.{self.field} has no status {status!r}")

    def _field(self) -> models.Field:
        return self.model._meta.get_field(self.field)

    def label(self, status: str) -> str:
        return str(dict(self._field().flatchoices).get(status, status)).lower()

    def allows(self, source: str, target: str) -> bool:
        return target in self.transitions[source]

    def check(self, source: str, target: str) -> None:
        """Raise a ValidationError naming both statuses unless the map allows it."""
        if not self.allows(source, target):
            message = self.refusal.format(
                noun=self.noun, source=self.label(source), target=self.label(target)
            )
            raise ValidationError({self.error_field or self.field: message})


_WORKFLOWS: dict[type[models.Model], Workflow] = {}


def declare(model: type[models.Model], transitions: Mapping[str, Iterable[str]], **options):
    """Declare (once) the life of ``model``'s status; returns the Workflow."""
    flow = Workflow(
        model=model,
        transitions={str(k): frozenset(str(t) for t in v) for k, v in transitions.items()},
        **options,
    )
    existing = _WORKFLOWS.get(model)
    if existing is not None and existing != flow:
        raise ValueError(f"{model.__name__} already has a different workflow declared")
    _WORKFLOWS[model] = flow
    return flow


def workflow_for(model_or_obj) -> Workflow:
    model = model_or_obj if isinstance(model_or_obj, type) else type(model_or_obj)
    try:
        return _WORKFLOWS[model]
    except KeyError as exc:
        raise LookupError(f"No workflow is declared for {model.__name__}") from exc


def _actor(*, membership: Membership | None, system: bool, action: str | None, history_user):
    """Who makes the change (the history user), after the role check."""
    if system:
        if membership is not None:
            raise ValueError("A system transition is made by no member: pass membership=None")
        return history_user
    if history_user is not None:
        raise ValueError("history_user is for system transitions; a member's change is theirs")
    if action is None:
        raise ValueError("A member's transition names the action its role must allow")
    require(membership, action)
    return membership.user


def _same_tenant(membership: Membership | None, obj: models.Model, flow: Workflow) -> None:
    if membership is not None and getattr(obj, "tenant_id", None) is not None:
        require_same_tenant(membership, obj, flow.noun)


def transition(
    obj: models.Model,
    to: str,
    *,
    membership: Membership | None,
    action: str | None,
    reason: str,
    now: datetime | None = None,
    on_commit: Callable[[models.Model], None] | None = None,
    system: bool = False,
    history_user=None,
    fields: Mapping[str, object] | None = None,
    validate: Callable[[models.Model], None] | None = None,
) -> models.Model:
    """Move ``obj`` to status ``to`` and save it with history.

    ``fields`` are set with the status (who reviewed, a comment); ``validate``
    runs on the changed object before it is saved (the contract register's
    tenant and field checks); ``on_commit(obj)`` sends the notices once the
    transaction commits. A refused change (role, map, validation) saves nothing.
    The caller locks the row (``select_for_update``) when two people may race."""
    flow = workflow_for(obj)
    user = _actor(membership=membership, system=system, action=action, history_user=history_user)
    _same_tenant(membership, obj, flow)
    flow.check(getattr(obj, flow.field), to)
    with transaction.atomic():
        setattr(obj, flow.field, to)
        stamp = flow.stamps.get(to)
        if stamp:
            setattr(obj, stamp, now or clock.now())
        for name, value in (fields or {}).items():
            setattr(obj, name, value)
        if validate is not None:
            validate(obj)
        save_with_history(obj, user=user, reason=reason)
        if on_commit is not None:
            transaction.on_commit(lambda: on_commit(obj))
    return obj


def transition_bulk(
    objs: Iterable[models.Model],
    to: str,
    *,
    membership: Membership | None,
    action: str | None,
    reason: str,
    now: datetime | None = None,
    on_commit: Callable[[list[models.Model]], None] | None = None,
    system: bool = False,
    history_user=None,
) -> list[models.Model]:
    """``transition`` for many rows of one model in one bulk update with history
    (the nightly engine's closes): every row is checked before any is written."""
    objs = list(objs)
    if not objs:
        return objs
    flow = workflow_for(objs[0])
    if any(type(obj) is not flow.model for obj in objs):
        raise ValueError(f"transition_bulk moves rows of one model ({flow.model.__name__})")
    user = _actor(membership=membership, system=system, action=action, history_user=history_user)
    for obj in objs:
        _same_tenant(membership, obj, flow)
        flow.check(getattr(obj, flow.field), to)
    moment = now or clock.now()
    stamp = flow.stamps.get(to)
    with transaction.atomic():
        for obj in objs:
            setattr(obj, flow.field, to)
            if stamp:
                setattr(obj, stamp, moment)
        changed = [flow.field] + ([stamp] if stamp else [])
        bulk_update(flow.model, objs, changed, user=user, reason=reason)
        if on_commit is not None:
            transaction.on_commit(lambda: on_commit(objs))
    return objs
