"""Every write leaves history: who, when, what, why.

Services call ``save_with_history`` (single rows) or ``bulk_create_with_history``
from django-simple-history (bulk writes); nothing saves a domain row without a
user (or an explicit system actor) and a reason.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import models
from simple_history.utils import bulk_create_with_history, bulk_update_with_history


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why this change is made."})
    return reason


def save_with_history(instance: models.Model, *, user, reason: str, **save_kwargs) -> None:
    instance._history_user = user
    instance._change_reason = _require_reason(reason)
    instance.save(**save_kwargs)


def delete_with_history(instance: models.Model, *, user, reason: str) -> None:
    instance._history_user = user
    instance._change_reason = _require_reason(reason)
    instance.delete()


def bulk_create(model, objs: Iterable[models.Model], *, user, reason: str, batch_size=500):
    return bulk_create_with_history(
        list(objs),
        model,
        batch_size=batch_size,
        default_user=user,
        default_change_reason=_require_reason(reason),
    )


def bulk_update(model, objs: Iterable[models.Model], fields: list[str], *, user, reason: str):
    return bulk_update_with_history(
        list(objs),
        model,
        fields,
        batch_size=500,
        default_user=user,
        default_change_reason=_require_reason(reason),
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


def _display(record, field_name: str, value) -> str:
    if value is None or value == "":
        return "—"
    field = record.instance_type._meta.get_field(field_name)
    if field.is_relation and field.related_model is not None:
        # A foreign key is stored as an id; a reader needs the name it had.
        related = field.related_model._base_manager.filter(pk=value).first()
        return str(related) if related is not None else f"#{value} (deleted)"
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
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
