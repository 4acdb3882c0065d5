"""Every write leaves history: who, when, what, why.

Services call ``save_with_history`` (single rows) or ``bulk_create`` /
``bulk_update`` here (bulk writes, through django-simple-history); nothing saves
a domain row without a user (or an explicit system actor) and a reason.

Every history record written here is dated by the one clock (``clock.now()``),
not by ``timezone.now()``, so a pinned clock (tests, the demo replaying history)
dates history too. ``created_at`` fields default to ``clock.now``; an
``updated_at`` field is set from the clock by ``save_with_history`` on every
save (what Django's ``auto_now`` did, from the clock).
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from oversight import clock, formatting
from oversight.models import Tenant


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why this change is made."})
    return reason


# Set to clock.now() on every save_with_history, as Django's auto_now would
# (and, like auto_now, only when the save writes that field).
TOUCHED_ON_SAVE = ("updated_at",)


def _touch(instance: models.Model, now, update_fields) -> None:
    for f in instance._meta.concrete_fields:
        if f.name in TOUCHED_ON_SAVE and (update_fields is None or f.name in update_fields):
            setattr(instance, f.attname, now)


def save_with_history(instance: models.Model, *, user, reason: str, **save_kwargs) -> None:
    reason = _require_reason(reason)
    now = clock.now()
    _touch(instance, now, save_kwargs.get("update_fields"))
    instance._history_user = user
    instance._change_reason = reason
    instance._history_date = now
    instance.save(**save_kwargs)


def delete_with_history(instance: models.Model, *, user, reason: str) -> None:
    instance._history_user = user
    instance._change_reason = _require_reason(reason)
    instance._history_date = clock.now()
    instance.delete()


def _dated(objs: Iterable[models.Model], now) -> list[models.Model]:
    # Each row's own date, so that one saved earlier in the same run (which
    # keeps its _history_date) is not dated by that earlier save.
    objs = list(objs)
    for obj in objs:
        obj._history_date = now
    return objs


def bulk_create(model, objs: Iterable[models.Model], *, user, reason: str, batch_size=500):
    reason, now = _require_reason(reason), clock.now()
    return bulk_create_with_history(
        _dated(objs, now),
        model,
        batch_size=batch_size,
        default_user=user,
        default_change_reason=reason,
        default_date=now,
    )


def bulk_update(model, objs: Iterable[models.Model], fields: list[str], *, user, reason: str):
    reason, now = _require_reason(reason), clock.now()
    return bulk_update_with_history(
        _dated(objs, now),
        model,
        fields,
        batch_size=500,
        default_user=user,
        default_change_reason=reason,
        default_date=now,
    )


@dataclass(frozen=True)
class FieldChange:
    field: str
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class HistoryEntry:
    when: object
    who: str
    kind: str  # Created / Changed / Deleted
    reason: str
    changes: list[FieldChange]


_KIND = {"+": "Created", "~": "Changed", "-": "Deleted"}


def _tenant_scoped(model, tenant_id):
    """The rows of ``model`` a history entry of tenant ``tenant_id`` may name:
    the tenant's own rows, the tenant itself, or people who are its members.
    Anything else (another tenant's row, a model with no tenant) is not looked up."""
    rows = model._base_manager.all()
    if tenant_id is None:
        return rows.none()
    if model is Tenant:
        return rows.filter(pk=tenant_id)
    if model is get_user_model():
        return rows.filter(memberships__tenant_id=tenant_id).distinct()
    if any(f.name == "tenant" for f in model._meta.concrete_fields):
        return rows.filter(tenant_id=tenant_id)
    return rows.none()


def _names(model, pks, tenant_id) -> dict:
    pks = {pk for pk in pks if pk is not None}
    if not pks:
        return {}
    return {row.pk: str(row) for row in _tenant_scoped(model, tenant_id).filter(pk__in=pks)}


def _unavailable(pk) -> str:
    # The same words for a deleted row and for one outside the tenant, so that
    # history never confirms that another organisation's row exists.
    return f"#{pk} (deleted)"


def _display(record, field_name: str, value) -> str:
    field = record.instance_type._meta.get_field(field_name)
    tenant_id = getattr(record, "tenant_id", None)
    if field.many_to_many:
        # simple-history gives the through rows as dicts; keep the related ids.
        through = getattr(record.instance_type, field_name).through._meta
        target = next(
            f.name
            for f in through.fields
            if f.is_relation and f.related_model is field.related_model
        )
        pks = [row[target] for row in value or []]
        if not pks:
            return "—"
        names = _names(field.related_model, pks, tenant_id)
        return "; ".join(sorted(names.get(pk, _unavailable(pk)) for pk in pks))
    if value is None or value == "":
        return "—"
    if field.is_relation and field.related_model is not None:
        # A foreign key is stored as an id; a reader needs the name it had.
        return _names(field.related_model, [value], tenant_id).get(value, _unavailable(value))
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    # The one way the product writes dates and figures (oversight/formatting.py).
    if isinstance(value, dt.datetime):
        return formatting.datetime(value, tz=timezone.get_current_timezone())
    if isinstance(value, dt.date):
        return formatting.date(value)
    if isinstance(value, Decimal) and value.is_finite():
        # Whole figures without decimals; otherwise to the field's own places.
        whole = value == value.to_integral_value()
        places = 0 if whole else getattr(field, "decimal_places", None) or 2
        return formatting.number(value, places=places)
    return str(value)


def history_entries(obj: models.Model, *, limit: int = 200) -> list[HistoryEntry]:
    """An object's history, newest first, each entry with the fields it changed."""
    records = list(
        obj.history.select_related("history_user").order_by("-history_date", "-history_id")[
            : limit + 1
        ]
    )
    entries: list[HistoryEntry] = []
    for index, record in enumerate(records[:limit]):
        previous = records[index + 1] if index + 1 < len(records) else None
        changes: list[FieldChange] = []
        if previous is not None and record.history_type == "~":
            delta = record.diff_against(previous)
            for change in delta.changes:
                label = str(record.instance_type._meta.get_field(change.field).verbose_name)
                changes.append(
                    FieldChange(
                        field=change.field,
                        label=label.capitalize(),
                        old=_display(record, change.field, change.old),
                        new=_display(record, change.field, change.new),
                    )
                )
        user = record.history_user
        entries.append(
            HistoryEntry(
                when=record.history_date,
                who=(user.full_name or user.email) if user else "system",
                kind=_KIND.get(record.history_type, record.history_type),
                reason=record.history_change_reason or "",
                changes=changes,
            )
        )
    return entries
