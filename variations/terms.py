"""A contract's terms as they stood on a date, and the variations that made them so.

The one function (``contract_terms``) behind the contract's terms page and
``GET contracts/<id>/terms/?as_at=``, read from the variations themselves, not
from when rows happened to be written (a contract registered late, or the
demo, has no record of its early years):

- the contract's own terms (value, dates, payment model, protected core
  components…) are today's, with every variation that took effect *after*
  that day undone, latest first, from the value each change recorded as it
  was applied (``VariationChange.previous``);
- its sites are those opened by that day (a site a variation adds opens on
  its effective date);
- every KPI's target and amber tolerance in force for the period holding that
  day (performance/terms.py, through ``performance.exports.kpi_terms_as_at``:
  a variation of a target cuts the phase targets at its date, so the earlier
  periods keep theirs);
- the variations in effect by that day, with their changes.

A change made outside a formal variation (an edit of the register) is read
as it is today: the contract's history page says when it was made.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from contracts.models import Contract
from performance import exports as kpis

from .models import Variation, VariationStatus
from .selectors import variations_detailed

TERM_FIELDS = (
    "reference",
    "title",
    "status",
    "start_date",
    "end_date",
    "latest_end_date",
    "extension_options",
    "annual_value",
    "total_value",
    "currency",
    "payment_model",
    "payment_at_risk_pct",
    "reporting_frequency",
    "protected_core_components",
)


@dataclass
class Terms:
    contract: Contract
    as_at: dt.date
    values: dict
    sites: list[dict] = field(default_factory=list)
    kpis: list[dict] = field(default_factory=list)
    variations: list[Variation] = field(default_factory=list)

    def labelled(self) -> list[tuple[str, str, object]]:
        """(field name, label, value) of the contract's own terms, for a page."""
        meta = Contract._meta
        shown = {
            "payment_model": self.values.get("payment_model_label"),
            "status": self.values.get("status_label"),
            "reporting_frequency": self.values.get("reporting_frequency_label"),
        }
        return [
            (
                name,
                meta.get_field(name).verbose_name.capitalize(),
                shown.get(name, self.values[name]),
            )
            for name in TERM_FIELDS
            if name not in ("reference", "title", "currency")
        ]


def _previous(field_name: str, text: str):
    """A change's recorded previous value as the contract field holds it."""
    if field_name in ("annual_value", "total_value", "payment_at_risk_pct"):
        return Decimal(text) if text else None
    if field_name in ("end_date", "latest_end_date"):
        return dt.date.fromisoformat(text) if text else None
    if field_name == "protected_core_components":
        return [line for line in text.splitlines() if line.strip()]
    return text


def contract_terms(*, membership, contract: Contract, as_at: dt.date) -> Terms:
    """``contract``'s terms in force on ``as_at`` (the caller has read
    ``contract`` through ``contract_get``)."""
    effective = list(
        variations_detailed(membership=membership)
        .filter(contract_id=contract.pk, status=VariationStatus.EFFECTIVE)
        .order_by("effective_on", "pk")
    )
    values = {name: getattr(contract, name) for name in TERM_FIELDS}
    for variation in reversed([v for v in effective if v.effective_on > as_at]):
        for change in variation.changes.all():
            if change.field in values:
                values[change.field] = _previous(change.field, change.previous)
    values["protected_core_components"] = list(values["protected_core_components"] or [])
    values["payment_model_label"] = Contract(
        payment_model=values["payment_model"]
    ).get_payment_model_display()
    values["status_label"] = Contract(status=values["status"]).get_status_display()
    values["reporting_frequency_label"] = Contract(
        reporting_frequency=values["reporting_frequency"]
    ).get_reporting_frequency_display()
    sites = [
        {
            "name": s.name,
            "area": s.area,
            "partner_organisation": s.partner_organisation,
            "opened_on": s.opened_on,
        }
        for s in contract.sites.order_by("name")
        if s.opened_on is None or s.opened_on <= as_at
    ]
    return Terms(
        contract=contract,
        as_at=as_at,
        values=values,
        sites=sites,
        kpis=kpis.kpi_terms_as_at(membership=membership, contract=contract, on=as_at),
        variations=[v for v in effective if v.effective_on <= as_at],
    )
