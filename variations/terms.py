"""A contract's terms as they stood on a date, and the variations that made them so.

The one function (``contract_terms``) behind the contract's terms page and
``GET contracts/<id>/terms/?as_at=``:

- the contract's own terms (value, dates, payment model, protected core
  components…) are its history record in force at the end of that day in the
  tenant's time zone (django-simple-history's ``as_of``): a variation's
  changes are applied on its effective date (the daily task), so the record
  of that day holds them. Before the contract was first recorded, its first
  record is answered (and ``recorded_from`` says so);
- its sites are those recorded then and opened by that day (a site a variation
  adds opens on its effective date);
- every KPI's target and amber tolerance in force for the period holding that
  day (performance/terms.py, through ``performance.exports.kpi_terms_as_at``:
  a variation of a target cuts the phase targets at its date, so the earlier
  periods keep theirs);
- the variations in effect by that day, with their changes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from contracts.models import Contract, DeliverySite
from oversight import clock
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
    recorded_from: dt.datetime | None  # set when as_at is before the first record
    values: dict
    sites: list[dict] = field(default_factory=list)
    kpis: list[dict] = field(default_factory=list)
    variations: list[Variation] = field(default_factory=list)

    def labelled(self) -> list[tuple[str, object]]:
        """(label, value) of the contract's own terms, for a page."""
        meta = Contract._meta
        shown = {
            "payment_model": self.values.get("payment_model_label"),
            "status": self.values.get("status_label"),
            "reporting_frequency": self.values.get("reporting_frequency_label"),
        }
        return [
            (meta.get_field(name).verbose_name.capitalize(), shown.get(name, self.values[name]))
            for name in TERM_FIELDS
            if name not in ("reference", "title", "currency")
        ]


def _end_of(day: dt.date, tenant) -> dt.datetime:
    zone = clock.tenant_zone(tenant)
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=zone)


def contract_terms(*, membership, contract: Contract, as_at: dt.date) -> Terms:
    """``contract``'s terms in force on ``as_at`` (the caller has read
    ``contract`` through ``contract_get``)."""
    moment = _end_of(as_at, contract.tenant)
    records = Contract.history.filter(id=contract.pk)
    record = (
        records.filter(history_date__lt=moment).order_by("-history_date", "-history_id").first()
    )
    recorded_from = None
    if record is None:
        record = records.order_by("history_date", "history_id").first()
        recorded_from = record.history_date if record else None
    source = record or contract
    values = {name: getattr(source, name) for name in TERM_FIELDS}
    values["protected_core_components"] = list(values["protected_core_components"] or [])
    values["payment_model_label"] = Contract(
        payment_model=values["payment_model"]
    ).get_payment_model_display()
    values["status_label"] = Contract(status=values["status"]).get_status_display()
    values["reporting_frequency_label"] = Contract(
        reporting_frequency=values["reporting_frequency"]
    ).get_reporting_frequency_display()

    site_moment = max(moment, recorded_from) if recorded_from else moment
    sites = [
        {
            "name": s.name,
            "area": s.area,
            "partner_organisation": s.partner_organisation,
            "opened_on": s.opened_on,
        }
        for s in DeliverySite.history.as_of(site_moment).filter(contract_id=contract.pk)
        if s.opened_on is None or s.opened_on <= as_at
    ]
    sites.sort(key=lambda s: s["name"])
    in_effect = list(
        variations_detailed(membership=membership)
        .filter(
            contract_id=contract.pk,
            status=VariationStatus.EFFECTIVE,
            effective_on__lte=as_at,
        )
        .order_by("effective_on", "pk")
    )
    return Terms(
        contract=contract,
        as_at=as_at,
        recorded_from=recorded_from,
        values=values,
        sites=sites,
        kpis=kpis.kpi_terms_as_at(membership=membership, contract=contract, on=as_at),
        variations=in_effect,
    )
