"""Every write of a variation: propose, submit, assess, decide, apply.

The workflow (models.VARIATION_TRANSITIONS, moved only by
``oversight.workflow.transition``): draft → submitted → under assessment →
approved or rejected → effective on its effective date; the proposer's side
may withdraw it until it is decided. The rules:

- either side proposes (a provider's member on its own contracts), with at
  least one change, each checked field by field against the contract
  (``change_problems``) when proposed, when submitted and when approved;
- the commissioning side assesses the impact (cost a year and in total,
  quality, outcomes, risk, the protected core components it touches);
- the tenant's ``VariationPolicy`` says which need an executive (total cost
  above a threshold, a protected component touched, some kinds); the rest a
  commissioner or admin may approve; **the proposer never approves**;
- on the effective date (the daily task ``variations.tasks.apply_due``, or at
  once when a variation is approved on or after it) every change is applied to
  the contract, its sites and its KPI targets in one transaction, each change
  in history with the variation as its reason; a change that fails applies
  none, and the variation stays approved with the problem recorded and the
  commissioning side told. A target's change re-bases that KPI's control
  limits from the effective date, as does a ``kpi_rebase`` change (offered for
  a new model of delivery or a KPI's changed definition).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from contracts.models import Contract, PaymentModel
from contracts.selectors import contract_get
from contracts.services import contract_update, site_create
from oversight import clock, formatting, workflow
from oversight.history import delete_with_history, save_with_history
from oversight.models import Membership, Role, Tenant
from oversight.notifications import notification_recipients, notify
from oversight.permissions import can, require
from performance import exports as kpis

from .models import (
    KPI_FIELDS,
    VARIATION_TRANSITIONS,
    ChangeField,
    Variation,
    VariationChange,
    VariationKind,
    VariationPolicy,
    VariationStatus,
)

VARIATION_WORKFLOW = workflow.declare(
    Variation,
    VARIATION_TRANSITIONS,
    noun="variation",
    stamps={
        VariationStatus.SUBMITTED: "submitted_at",
        VariationStatus.UNDER_ASSESSMENT: "assessment_started_at",
        VariationStatus.APPROVED: "approved_at",
        VariationStatus.REJECTED: "rejected_at",
        VariationStatus.WITHDRAWN: "withdrawn_at",
        VariationStatus.EFFECTIVE: "applied_at",
    },
    refusal="This variation is {source}: it cannot become {target}.",
)

VARIATION_NOTICE = "variation"  # the notification kind (apps.py)
COMMISSIONING_SIDE = (Role.COMMISSIONER, Role.ADMIN)
CHANGES_MAX = 20
CONTRACT_FIELDS = (
    ChangeField.ANNUAL_VALUE,
    ChangeField.TOTAL_VALUE,
    ChangeField.END_DATE,
    ChangeField.LATEST_END_DATE,
    ChangeField.PAYMENT_MODEL,
    ChangeField.PAYMENT_AT_RISK,
    ChangeField.PROTECTED_COMPONENTS,
)


@dataclass(frozen=True)
class ChangeInput:
    field: str
    value: str = ""
    detail: str = ""
    contract_kpi: int | None = None  # a contract KPI's id, for a KPI's target or re-base


@dataclass(frozen=True)
class Assessment:
    cost_per_year: Decimal | None
    cost_total: Decimal | None
    quality_impact: str
    outcomes_impact: str
    risk_impact: str
    protected_components: tuple[str, ...] = ()


# --- the approval rules ------------------------------------------------------------


def policy_for(tenant: Tenant) -> VariationPolicy:
    """The tenant's approval rules; the defaults, unsaved, until the admin sets
    them (reading never writes)."""
    return VariationPolicy.objects.filter(tenant=tenant).first() or VariationPolicy(tenant=tenant)


@transaction.atomic
def policy_update(*, membership: Membership, data: dict, reason: str) -> VariationPolicy:
    require(membership, "variation_policy.change")
    policy = VariationPolicy.objects.select_for_update().filter(
        tenant=membership.tenant
    ).first() or VariationPolicy(tenant=membership.tenant)
    for name in ("executive_above", "executive_for_protected", "executive_kinds"):
        if name in data:
            setattr(policy, name, data[name])
    unknown = set(policy.executive_kinds or []) - set(VariationKind.values)
    if unknown:
        raise ValidationError({"executive_kinds": f"No such kind: {', '.join(sorted(unknown))}."})
    policy.updated_at = clock.now()
    policy.full_clean()
    save_with_history(policy, user=membership.user, reason=reason)
    return policy


def executive_rule(variation: Variation, policy: VariationPolicy) -> str:
    """Why ``variation`` needs an executive's approval under ``policy``, or ""."""
    reasons = []
    total = variation.cost_total
    if total is not None and abs(total) > policy.executive_above:
        threshold = formatting.money(
            policy.executive_above,
            variation.contract.currency,
            formatting.tenant_locale(variation.tenant),
        )
        reasons.append(f"its total cost is above {threshold}")
    if policy.executive_for_protected and variation.protected_components:
        reasons.append(
            "it touches protected core components ("
            + ", ".join(variation.protected_components)
            + ")"
        )
    if variation.kind in (policy.executive_kinds or []):
        reasons.append(f"a {variation.get_kind_display().lower()} variation always does")
    return "; ".join(reasons)


# --- checking the changes ----------------------------------------------------------


def _amount(text: str, what: str) -> Decimal:
    try:
        number = Decimal(str(text).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        raise ValueError(f"enter {what} as a number, such as 1250000") from None
    if not number.is_finite():
        raise ValueError(f"enter {what} as a number, such as 1250000")
    return number


def _day(text: str) -> date:
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise ValueError("enter a date as YYYY-MM-DD") from None


def parse_change(contract: Contract, change: ChangeInput, kpi_ids: set[int]):
    """The typed new value of ``change`` to ``contract``, or ``ValueError``
    saying what is wrong with it (in words for the person who typed it)."""
    field, value = change.field, (change.value or "").strip()
    if field not in ChangeField.values:
        raise ValueError(f"choose what changes (not {field!r})")
    if field in KPI_FIELDS:
        if change.contract_kpi not in kpi_ids:
            raise ValueError(f"choose one of {contract.reference}'s KPIs")
    elif change.contract_kpi is not None:
        raise ValueError("only a KPI's target or re-base names a KPI")
    if field in (ChangeField.ANNUAL_VALUE, ChangeField.TOTAL_VALUE):
        amount = _amount(value, "the value")
        if amount < 0:
            raise ValueError("a contract's value cannot be negative")
        return amount.quantize(Decimal("0.01"))
    if field in (ChangeField.END_DATE, ChangeField.LATEST_END_DATE):
        day = _day(value)
        if day <= contract.start_date:
            raise ValueError(
                f"the end date must be after the contract's start ({contract.start_date})"
            )
        return day
    if field == ChangeField.PAYMENT_MODEL:
        if value not in PaymentModel.values:
            raise ValueError("choose one of: " + ", ".join(PaymentModel.values))
        return value
    if field == ChangeField.PAYMENT_AT_RISK:
        pct = _amount(value, "the percentage")
        if not 0 <= pct <= 100:
            raise ValueError("the percentage at risk is between 0 and 100")
        return pct
    if field == ChangeField.PROTECTED_COMPONENTS:
        items = [line.strip() for line in value.splitlines() if line.strip()]
        if not items:
            raise ValueError("list the protected core components, one per line")
        return items
    if field == ChangeField.KPI_TARGET:
        target = _amount(value, "the target")
        amber = _amount(change.detail, "the amber tolerance") if change.detail.strip() else None
        if amber is not None and amber < 0:
            raise ValueError("the amber tolerance cannot be negative")
        return (target, amber)
    if field == ChangeField.KPI_REBASE:
        return None
    if field == ChangeField.SITE_ADD:
        if not value:
            raise ValueError("name the site")
        if not change.detail.strip():
            raise ValueError("say which area the site serves (detail)")
        if contract.sites.filter(name=value).exists():
            raise ValueError(f"{contract.reference} already has a site named {value!r}")
        return (value, change.detail.strip())
    raise ValueError(f"choose what changes (not {field!r})")  # pragma: no cover


def change_problems(contract: Contract, changes: Iterable[ChangeInput]) -> list[str]:
    """Every problem with ``changes`` to ``contract``, each saying which change."""
    changes = list(changes)
    kpi_ids = set(contract.contract_kpis.values_list("pk", flat=True))
    problems = []
    if not changes:
        problems.append("Add at least one change: what the variation changes and to what.")
    if len(changes) > CHANGES_MAX:
        problems.append(f"At most {CHANGES_MAX} changes in one variation.")
    seen = set()
    for number, change in enumerate(changes, start=1):
        label = dict(ChangeField.choices).get(change.field, change.field)
        try:
            parse_change(contract, change, kpi_ids)
        except ValueError as exc:
            problems.append(f"Change {number} ({label}): {exc}.")
        key = (
            change.field,
            change.contract_kpi,
            change.value if change.field == "site_add" else "",
        )
        if key in seen:
            problems.append(f"Change {number} ({label}) repeats an earlier change.")
        seen.add(key)
    return problems


def _check(contract: Contract, changes: Iterable[ChangeInput]) -> None:
    problems = change_problems(contract, changes)
    if problems:
        raise ValidationError({"changes": problems})


def _input_of(change: VariationChange) -> ChangeInput:
    return ChangeInput(
        field=change.field,
        value=change.value,
        detail=change.detail,
        contract_kpi=change.contract_kpi_id,
    )


def _inputs(variation: Variation) -> list[ChangeInput]:
    return [_input_of(c) for c in variation.changes.all()]


# --- who may do what ---------------------------------------------------------------


def proposer_side(membership: Membership, variation: Variation) -> bool:
    """Whether ``membership`` is on the side that proposed ``variation``."""
    if variation.proposer_role == Role.PROVIDER:
        return (
            membership.role == Role.PROVIDER
            and membership.provider_id == variation.contract.provider_id
        )
    return membership.role in COMMISSIONING_SIDE


def _locked(membership: Membership, variation: Variation) -> Variation:
    from .selectors import variations_visible

    return (
        variations_visible(membership=membership)
        .select_for_update(of=("self",))
        .select_related("contract", "tenant")
        .get(pk=variation.pk)
    )


def _next_reference(tenant: Tenant, on: date) -> str:
    Tenant.objects.select_for_update().filter(pk=tenant.pk).first()  # numbers in turn
    prefix = f"VAR-{on.year}-"
    taken = Variation.objects.filter(tenant=tenant, reference__startswith=prefix).values_list(
        "reference", flat=True
    )
    numbers = [int(ref.removeprefix(prefix)) for ref in taken if ref.removeprefix(prefix).isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:03d}"


def _effective_problem(effective_on: date, tenant: Tenant) -> str:
    if effective_on < clock.tenant_today(tenant):
        return "A variation takes effect from today or later: choose a date not in the past."
    return ""


def _write_changes(variation: Variation, changes: list[ChangeInput], *, user, reason: str) -> None:
    for old in list(variation.changes.all()):
        delete_with_history(old, user=user, reason=reason)
    for position, change in enumerate(changes):
        row = VariationChange(
            tenant_id=variation.tenant_id,
            variation=variation,
            field=change.field,
            contract_kpi_id=change.contract_kpi,
            value=(change.value or "").strip(),
            detail=(change.detail or "").strip(),
            position=position,
        )
        row.full_clean()
        save_with_history(row, user=user, reason=reason)


def _tell(variation: Variation, message: str, key: str, *, roles=None, provider=False, users=None):
    members = notification_recipients(
        tenant=variation.tenant,
        roles=[Role.PROVIDER] if provider else roles,
        contract=variation.contract if provider else None,
        users=users,
    )
    people = [m.user for m in members]
    if people:
        notify(
            tenant=variation.tenant,
            users=people,
            kind=VARIATION_NOTICE,
            message=message,
            url=variation.get_absolute_url(),
            dedupe_key=f"variation:{variation.pk}:{key}",
        )


# --- writes ------------------------------------------------------------------------


@transaction.atomic
def variation_propose(
    *,
    membership: Membership,
    contract: Contract,
    kind: str,
    title: str,
    rationale: str,
    effective_on: date,
    changes: list[ChangeInput],
    reason: str,
    submit: bool = False,
) -> Variation:
    """A draft variation of ``contract`` with its changes (``submit``: submitted
    at once). Either side; a provider's member on its own contracts only."""
    require(membership, "variation.propose")
    contract = contract_get(membership=membership, pk=contract.pk)
    problems = {}
    if not (title or "").strip():
        problems["title"] = "Give the variation a short title."
    if not (rationale or "").strip():
        problems["rationale"] = "Say why the contract should change."
    if effective_on is None:
        problems["effective_on"] = "Choose the date the change takes effect."
    elif _effective_problem(effective_on, membership.tenant):
        problems["effective_on"] = _effective_problem(effective_on, membership.tenant)
    change_list = change_problems(contract, changes)
    if change_list:
        problems["changes"] = change_list
    if problems:
        raise ValidationError(problems)
    variation = Variation(
        tenant_id=membership.tenant_id,
        contract=contract,
        reference=_next_reference(membership.tenant, clock.tenant_today(membership.tenant)),
        kind=kind,
        title=title.strip(),
        rationale=rationale.strip(),
        effective_on=effective_on,
        proposed_by=membership.user,
        proposer_role=membership.role,
    )
    variation.full_clean()
    save_with_history(variation, user=membership.user, reason=reason)
    _write_changes(variation, changes, user=membership.user, reason=reason)
    if submit:
        variation = variation_submit(membership=membership, variation=variation)
    return variation


@transaction.atomic
def variation_submit(*, membership: Membership, variation: Variation) -> Variation:
    """The proposer's side submits a draft for assessment."""
    variation = _locked(membership, variation)
    if not proposer_side(membership, variation):
        raise PermissionDenied("Only the side that proposed a variation submits it.")
    VARIATION_WORKFLOW.check(variation.status, VariationStatus.SUBMITTED)
    problem = _effective_problem(variation.effective_on, membership.tenant)
    if problem:
        raise ValidationError({"effective_on": problem + " Change the draft's date first."})
    _check(variation.contract, _inputs(variation))
    variation = workflow.transition(
        variation,
        VariationStatus.SUBMITTED,
        membership=membership,
        action="variation.propose",
        reason=f"Submitted by {membership.user}",
    )
    _tell(
        variation,
        f"{variation.contract.reference}: variation {variation.reference} submitted "
        f"({variation.title}).",
        "submitted",
        roles=COMMISSIONING_SIDE,
    )
    return variation


@transaction.atomic
def variation_withdraw(*, membership: Membership, variation: Variation, note: str) -> Variation:
    """The proposer's side withdraws a variation not yet decided, saying why."""
    variation = _locked(membership, variation)
    if not proposer_side(membership, variation):
        raise PermissionDenied("Only the side that proposed a variation withdraws it.")
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "Say why the variation is withdrawn."})
    return workflow.transition(
        variation,
        VariationStatus.WITHDRAWN,
        membership=membership,
        action="variation.propose",
        reason=f"Withdrawn by {membership.user}: {note}",
        fields={"decision_note": note},
    )


@transaction.atomic
def variation_assessment_start(*, membership: Membership, variation: Variation) -> Variation:
    variation = _locked(membership, variation)
    return workflow.transition(
        variation,
        VariationStatus.UNDER_ASSESSMENT,
        membership=membership,
        action="variation.assess",
        reason=f"Assessment started by {membership.user}",
    )


@transaction.atomic
def variation_assess(
    *, membership: Membership, variation: Variation, assessment: Assessment, reason: str
) -> Variation:
    """Record (or revise, until it is decided) the impact assessment; it decides
    whether an executive must approve."""
    require(membership, "variation.assess")
    variation = _locked(membership, variation)
    if variation.status != VariationStatus.UNDER_ASSESSMENT:
        raise ValidationError(
            {
                "status": "Start the assessment first (the variation is "
                f"{variation.get_status_display().lower()})."
            }
        )
    problems = {}
    for name, text in (
        ("quality_impact", assessment.quality_impact),
        ("outcomes_impact", assessment.outcomes_impact),
        ("risk_impact", assessment.risk_impact),
    ):
        if not (text or "").strip():
            problems[name] = "Say what the impact is (or that there is none, and why)."
    if assessment.cost_per_year is None:
        problems["cost_per_year"] = "Enter the cost a year (0 for none, negative for a saving)."
    if assessment.cost_total is None:
        problems["cost_total"] = "Enter the total cost over the contract's remaining term."
    known = set(variation.contract.protected_core_components or [])
    unknown = [c for c in assessment.protected_components if c not in known]
    if unknown:
        problems["protected_components"] = (
            f"Not a protected core component of {variation.contract.reference}: "
            + ", ".join(unknown)
        )
    if problems:
        raise ValidationError(problems)
    variation.cost_per_year = assessment.cost_per_year
    variation.cost_total = assessment.cost_total
    variation.quality_impact = assessment.quality_impact.strip()
    variation.outcomes_impact = assessment.outcomes_impact.strip()
    variation.risk_impact = assessment.risk_impact.strip()
    variation.protected_components = list(assessment.protected_components)
    variation.assessed_by = membership.user
    variation.assessed_at = clock.now()
    rule = executive_rule(variation, policy_for(variation.tenant))
    variation.needs_executive, variation.approval_rule = bool(rule), rule
    variation.full_clean()
    save_with_history(variation, user=membership.user, reason=reason)
    if rule:
        _tell(
            variation,
            f"{variation.contract.reference}: variation {variation.reference} awaits an "
            f"executive's approval ({rule}).",
            f"executive:{variation.assessed_at:%Y%m%d%H%M%S}",
            roles=[Role.EXECUTIVE],
        )
    return variation


def approval_refusal(membership: Membership, variation: Variation) -> str:
    """Why ``membership`` may not decide ``variation`` now, or "" (pages hide the
    decision form when there is a reason)."""
    if not can(membership, "variation.approve"):
        return "Your role cannot decide variations."
    if variation.status != VariationStatus.UNDER_ASSESSMENT:
        return f"The variation is {variation.get_status_display().lower()}."
    if variation.assessed_at is None:
        return "The impact assessment is not recorded yet."
    if variation.proposed_by_id == membership.user_id:
        return "You proposed this variation: someone else decides it."
    if variation.needs_executive and membership.role != Role.EXECUTIVE:
        return f"This variation needs an executive's approval: {variation.approval_rule}."
    return ""


def _decide_check(membership: Membership, variation: Variation) -> None:
    refusal = approval_refusal(membership, variation)
    if refusal and not can(membership, "variation.approve"):
        raise PermissionDenied(refusal)
    if refusal and variation.status != VariationStatus.UNDER_ASSESSMENT:
        VARIATION_WORKFLOW.check(variation.status, VariationStatus.APPROVED)
    if refusal:
        raise ValidationError({"decision": refusal})


@transaction.atomic
def variation_approve(*, membership: Membership, variation: Variation, note: str = "") -> Variation:
    """Approve an assessed variation (not its proposer; an executive where the
    tenant's rules say). On or after its effective date it is applied at once."""
    require(membership, "variation.approve")
    variation = _locked(membership, variation)
    _decide_check(membership, variation)
    _check(variation.contract, _inputs(variation))
    note = (note or "").strip()
    variation = workflow.transition(
        variation,
        VariationStatus.APPROVED,
        membership=membership,
        action="variation.approve",
        reason=f"Approved by {membership.user}" + (f": {note}" if note else ""),
        fields={"decided_by": membership.user, "decision_note": note},
    )
    _tell(
        variation,
        f"{variation.contract.reference}: variation {variation.reference} approved, effective "
        f"{variation.effective_on:%-d %b %Y}.",
        "approved",
        users=[variation.proposed_by_id, variation.assessed_by_id],
    )
    if variation.effective_on <= clock.tenant_today(variation.tenant):
        variation_apply(variation=variation)
    return variation


@transaction.atomic
def variation_reject(*, membership: Membership, variation: Variation, note: str) -> Variation:
    require(membership, "variation.approve")
    variation = _locked(membership, variation)
    _decide_check(membership, variation)
    note = (note or "").strip()
    if not note:
        raise ValidationError({"decision_note": "Say why the variation is rejected."})
    variation = workflow.transition(
        variation,
        VariationStatus.REJECTED,
        membership=membership,
        action="variation.approve",
        reason=f"Rejected by {membership.user}: {note}",
        fields={"decided_by": membership.user, "decision_note": note},
    )
    _tell(
        variation,
        f"{variation.contract.reference}: variation {variation.reference} rejected: {note}",
        "rejected",
        users=[variation.proposed_by_id],
    )
    return variation


# --- applying on the effective date -----------------------------------------------


class ApplyFailed(Exception):
    """A change could not be applied: nothing was (``problem`` says why)."""

    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem


def _applier(variation: Variation) -> Membership:
    """The membership the changes are made on: the commissioner or admin who
    assessed the variation (an executive who approved it cannot change
    contracts), still active."""
    member = (
        Membership.objects.select_related("tenant", "user")
        .filter(
            tenant_id=variation.tenant_id,
            user_id=variation.assessed_by_id,
            is_active=True,
            user__is_active=True,
        )
        .first()
    )
    if member is None or not can(member, "contract.change"):
        raise ApplyFailed(
            "The commissioner who assessed it is no longer an active member who may change "
            "contracts: an admin must re-assess it."
        )
    return member


def _messages(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return " ".join(exc.messages)


def _apply_changes(variation: Variation, member: Membership) -> None:
    contract = Contract.objects.select_for_update().get(pk=variation.contract_id)
    reason = f"Variation {variation.reference}: {variation.title}"
    kpi_ids = set(contract.contract_kpis.values_list("pk", flat=True))
    changes = list(variation.changes.all())
    data = {}
    for number, change in enumerate(changes, start=1):
        label = change.get_field_display()
        try:
            value = parse_change(contract, _input_of(change), kpi_ids)
        except ValueError as exc:
            raise ApplyFailed(f"Change {number} ({label}): {exc}.") from None
        try:
            if change.field in CONTRACT_FIELDS:
                previous = getattr(contract, change.field)
                change.previous = (
                    "\n".join(previous) if isinstance(previous, list) else str(previous or "")
                )
                data[change.field] = value
            elif change.field == ChangeField.KPI_TARGET:
                target, amber = value
                was = kpis.kpi_target_vary(
                    membership=member,
                    contract_kpi_id=change.contract_kpi_id,
                    effective_on=variation.effective_on,
                    target=target,
                    amber_tolerance=amber
                    if amber is not None
                    else change.contract_kpi.amber_tolerance,
                    reason=reason,
                )
                change.previous = (
                    ""
                    if was["target"] is None
                    else (
                        f"{was['target'].normalize():f} "
                        f"(amber {was['amber_tolerance'].normalize():f})"
                    )
                )
            if change.field in KPI_FIELDS:
                # A target's change re-bases the KPI's limits, as a re-base alone does.
                kpis.kpi_rebase_add(
                    membership=member,
                    contract_kpi_id=change.contract_kpi_id,
                    starts_on=variation.effective_on,
                    reason=reason,
                    source=variation,
                    label=variation.reference,
                )
            elif change.field == ChangeField.SITE_ADD:
                name, area = value
                site_create(
                    membership=member,
                    contract=contract,
                    data={"name": name, "area": area, "opened_on": variation.effective_on},
                    reason=reason,
                )
        except ValidationError as exc:
            raise ApplyFailed(f"Change {number} ({label}): {_messages(exc)}") from None
        save_with_history(change, user=member.user, reason=reason)
    if data:
        try:
            contract_update(membership=member, contract=contract, data=data, reason=reason)
        except ValidationError as exc:
            raise ApplyFailed(f"The contract's terms: {_messages(exc)}") from None


def variation_apply(*, variation: Variation) -> Variation:
    """Apply an approved variation whose effective date has come: every change
    or none (a savepoint), then the variation is effective. A failure is
    recorded on the variation (``apply_problem``) and told to the commissioning
    side; the variation stays approved for another try. The system's step:
    the changes are made on the assessor's membership, the status moved with
    no member (``transition(system=True)``)."""
    with transaction.atomic():
        variation = (
            Variation.objects.select_for_update(of=("self",))
            .select_related("contract", "tenant")
            .get(pk=variation.pk)
        )
        if variation.status != VariationStatus.APPROVED:
            return variation  # applied already (a retried task), or not approved
        if variation.effective_on > clock.tenant_today(variation.tenant):
            raise ValidationError({"effective_on": "Its effective date has not come yet."})
        try:
            with transaction.atomic():
                member = _applier(variation)
                _apply_changes(variation, member)
                variation = workflow.transition(
                    variation,
                    VariationStatus.EFFECTIVE,
                    membership=None,
                    action=None,
                    system=True,
                    history_user=member.user,
                    reason=f"Variation {variation.reference} in effect from "
                    f"{variation.effective_on:%-d %b %Y}",
                    fields={"apply_problem": ""},
                )
        except ApplyFailed as failed:
            variation.apply_problem = failed.problem
            save_with_history(
                variation,
                user=None,
                reason=f"Could not apply on {clock.tenant_today(variation.tenant)}: "
                f"{failed.problem}",
            )
            _tell(
                variation,
                f"{variation.contract.reference}: variation {variation.reference} could not be "
                f"applied: {failed.problem}",
                f"failed:{clock.tenant_today(variation.tenant)}",
                roles=COMMISSIONING_SIDE,
            )
            return variation
    _tell(
        variation,
        f"{variation.contract.reference}: variation {variation.reference} is in effect.",
        "effective",
        provider=True,
    )
    return variation


def variations_apply_due(*, tenant_id: int | None = None) -> dict[str, int]:
    """Apply every approved variation whose effective date has come (each
    tenant's own today): the daily task's work. Counts applied and failed."""
    due = Variation.objects.filter(status=VariationStatus.APPROVED).select_related("tenant")
    if tenant_id is not None:
        due = due.filter(tenant_id=tenant_id)
    applied = failed = 0
    for variation in due.order_by("effective_on", "pk"):
        if variation.effective_on > clock.tenant_today(variation.tenant):
            continue
        result = variation_apply(variation=variation)
        if result.status == VariationStatus.EFFECTIVE:
            applied += 1
        else:
            failed += 1
    return {"applied": applied, "failed": failed}
