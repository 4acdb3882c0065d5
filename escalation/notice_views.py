"""Formal-notice pages: a contract's notices, the issue form, a notice with its
response, close and withdraw forms, its history, and the dashboard panel. Thin
views over escalation/notices.py; object kwargs are named <model>_pk for the
isolation crawl."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from contracts.breadcrumbs import contract_crumbs
from contracts.selectors import contract_get
from oversight import clock, formatting, registry
from oversight.forms import DateInput, USWDSMixin, apply_service_errors
from oversight.history import history_entries
from oversight.models import Role
from oversight.permissions import can, require
from oversight.tenancy import tenant_view
from oversight.views import tenant_url

from . import notices, selectors
from .forms import contract_rows
from .models import TEXT_MAX, NoticeGround, NoticeKind, NoticeStatus, StepStatus

PANEL_NOTICES = 5


def _text(label: str, help_text: str = "", *, required: bool = True, rows: int = 3):
    return forms.CharField(
        label=label,
        required=required,
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": rows}),
        help_text=help_text,
    )


class NoticeIssueForm(USWDSMixin, forms.Form):
    ground = forms.ChoiceField(label="What the notice is about", choices=NoticeGround.choices)
    concerns = _text("Concerns", "What the notice is about, in detail.")
    required_actions = _text("Required actions", "What the other side must do.")
    response_due_on = forms.DateField(
        label="Response deadline",
        required=False,
        widget=DateInput(),
        help_text="Empty: today plus the response days of the contract's current level.",
    )
    step = forms.TypedChoiceField(
        label="Escalation step it belongs to", required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args, contract, from_provider: bool, steps, **kwargs):
        super().__init__(*args, **kwargs)
        if not from_provider:
            del self.fields["ground"]
        self.steps = {step.pk: step for step in steps}
        self.fields["step"].choices = [("", "None")] + [
            (step.pk, f"Level {step.from_level} → {step.to_level}: {step.reason[:80]}")
            for step in steps
        ]
        deadline = notices.default_deadline(contract, clock.tenant_today(contract.tenant))
        if deadline is not None:
            self.fields["response_due_on"].help_text = (
                f"Empty: {formatting.date(deadline)}, the response days of the contract's "
                "current level."
            )

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "ground": data.get("ground", ""),
            "concerns": data["concerns"],
            "required_actions": data["required_actions"],
            "response_due_on": data["response_due_on"],
            "step": self.steps.get(data["step"]) if data.get("step") else None,
        }


class ExplanationRequestForm(USWDSMixin, forms.Form):
    """The commissioner asks the provider to explain a signal (the ladder's
    level 1, informal concern): the signal attached, its words pre-filled."""

    signal = forms.TypedChoiceField(
        label="Signal it is about", required=False, coerce=int, empty_value=None
    )
    concerns = _text("What we have seen", "The provider reads this as the concern raised.")
    required_actions = _text(
        "What we ask of the provider", "The explanation, review or contact you expect."
    )
    response_due_on = forms.DateField(
        label="Response deadline",
        required=False,
        widget=DateInput(),
        help_text="Empty: today plus the response days of the ladder's level 1.",
    )

    def __init__(self, *args, contract, signals, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["signal"].choices = [("", "None")] + [
            (signal.pk, formatting.shorten(signal.message, 120)) for signal in signals
        ]
        deadline = notices.request_deadline(contract, clock.tenant_today(contract.tenant))
        if deadline is not None:
            self.fields["response_due_on"].help_text = (
                f"Empty: {formatting.date(deadline)}, the response days of the ladder's "
                "level 1 (informal concern)."
            )

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "kind": NoticeKind.EXPLANATION,
            "signal_id": data.get("signal"),
            "concerns": data["concerns"],
            "required_actions": data["required_actions"],
            "response_due_on": data["response_due_on"],
        }


REQUEST_ASK = (
    "Please explain what is behind this, what you are doing about it and whether you "
    "need support from us."
)


def _request_initial(request, signals) -> dict:
    """``?signal=<id>`` (the "Raise a concern with the provider" lever,
    registry.signal_lever): that signal attached and its words pre-filled. An id
    of another contract's signal (or a closed one) finds nothing."""
    pk = registry.lever_signal_id(request)
    signal = next((s for s in signals if s.pk == pk), None)
    initial = {"required_actions": REQUEST_ASK}
    if signal is not None:
        initial.update(signal=signal.pk, concerns=f"Our monitoring shows: {signal.message}")
    return initial


class NoticeResponseForm(USWDSMixin, forms.Form):
    response = _text("Your response", "Seen by the side that issued the notice.", rows=4)


class NoticeEndForm(USWDSMixin, forms.Form):
    note = _text("Note", "Why the notice is closed or withdrawn.", rows=2)


def _notices_url(membership, contract) -> str:
    return tenant_url(membership, "contract_notices", contract_pk=contract.pk)


def _crumbs(membership, contract, *extra):
    return contract_crumbs(
        membership, contract, ("Formal notices", _notices_url(membership, contract)), *extra
    )


def _issue_action(membership) -> str:
    return "notice.raise" if membership.role == Role.PROVIDER else "notice.issue"


@tenant_view(read="notices.view")
@require_safe
def contract_notices(request, *, membership, contract_pk):
    contract = contract_get(membership=membership, pk=contract_pk)
    rows = list(
        notices.notices_detailed(membership=membership)
        .filter(contract_id=contract.pk)
        .order_by("-issued_at", "-id")
    )
    today = clock.tenant_today(contract.tenant)
    for notice in rows:
        notice.overdue = notices.is_overdue(notice, today)
    return render(
        request,
        "escalation/notices/contract_notices.html",
        {
            "contract": contract,
            "notices": rows,
            "level": selectors.contract_level(contract=contract),
            "may_issue": can(membership, _issue_action(membership)),
            "breadcrumbs": contract_crumbs(
                membership,
                contract,
                (
                    "Escalation",
                    tenant_url(membership, "contract_escalation", contract_pk=contract.pk),
                ),
            ),
        },
    )


@tenant_view(read="notices.view")
@require_http_methods(["GET", "HEAD", "POST"])
def notice_issue(request, *, membership, contract_pk):
    """The commissioner issues a notice to the provider (level 3 and above); the
    provider raises its own to the commissioner (any level)."""
    contract = contract_get(membership=membership, pk=contract_pk)
    require(membership, _issue_action(membership))
    from_provider = membership.role == Role.PROVIDER
    level = selectors.contract_level(contract=contract)
    steps = list(
        selectors.escalation_steps_visible(membership=membership)
        .filter(contract_id=contract.pk, status=StepStatus.EFFECTIVE)
        .order_by("-effective_at", "-id")
    )
    form = NoticeIssueForm(
        request.POST or None, contract=contract, from_provider=from_provider, steps=steps
    )
    if request.method == "POST" and form.is_valid():
        try:
            notice = notices.notice_issue(
                membership=membership, contract=contract, **form.service_kwargs()
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request,
                f"Notice issued: the response is due on {formatting.date(notice.response_due_on)}.",
            )
            return redirect(notice.get_absolute_url())
    return render(
        request,
        "escalation/notices/issue.html",
        {
            "form": form,
            "contract": contract,
            "level": level,
            "from_provider": from_provider,
            "too_low": not from_provider and level < notices.NOTICE_LEVEL,
            "notice_level": notices.NOTICE_LEVEL,
            "breadcrumbs": _crumbs(membership, contract),
        },
        status=400 if request.method == "POST" else 200,
    )


@tenant_view(read="notices.view")
@require_http_methods(["GET", "HEAD", "POST"])
def notice_request(request, *, membership, contract_pk):
    """The commissioner asks the provider for an explanation (informal concern,
    any level), from a live signal or not; the provider answers in the product."""
    contract = contract_get(membership=membership, pk=contract_pk)
    require(membership, "notice.issue")
    signals = list(
        contract_rows("Signal", contract).exclude(status="closed").order_by("-opened_at", "-id")
    )
    form = ExplanationRequestForm(
        request.POST or None,
        contract=contract,
        signals=signals,
        initial=_request_initial(request, signals),
    )
    if request.method == "POST" and form.is_valid():
        try:
            notice = notices.notice_issue(
                membership=membership, contract=contract, **form.service_kwargs()
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request,
                "Explanation requested: the provider's answer is due on "
                f"{formatting.date(notice.response_due_on)}.",
            )
            return redirect(notice.get_absolute_url())
    return render(
        request,
        "escalation/notices/request.html",
        {
            "form": form,
            "contract": contract,
            "level": selectors.contract_level(contract=contract),
            "breadcrumbs": _crumbs(membership, contract),
        },
        status=400 if request.method == "POST" else 200,
    )


def _detail_page(request, membership, notice, *, forms_given=None, status=200):
    today = clock.tenant_today(notice.contract.tenant)
    own = membership.role != Role.PROVIDER or membership.provider_id == notice.contract.provider_id
    may_respond = (
        own
        and notice.status == NoticeStatus.ISSUED
        and can(membership, notices.responding_action(notice.direction))
    )
    may_end = own and can(membership, notices.issuing_action(notice.direction))
    given = forms_given or {}
    return render(
        request,
        "escalation/notices/detail.html",
        {
            "notice": notice,
            "contract": notice.contract,
            "overdue": notices.is_overdue(notice, today),
            "may_respond": may_respond,
            "may_close": may_end and notice.status == NoticeStatus.RESPONDED,
            "may_withdraw": may_end and notice.status == NoticeStatus.ISSUED,
            "response_form": given.get("respond") or NoticeResponseForm(),
            "close_form": given.get("close") or NoticeEndForm(prefix="close"),
            "withdraw_form": given.get("withdraw") or NoticeEndForm(prefix="withdraw"),
            "history": history_entries(notice, limit=20),
            "breadcrumbs": _crumbs(membership, notice.contract),
        },
        status=status,
    )


@tenant_view(read="notices.view")
@require_safe
def notice_detail(request, *, membership, formal_notice_pk):
    notice = notices.notice_get(membership=membership, pk=formal_notice_pk)
    return _detail_page(request, membership, notice)


def _act(request, membership, formal_notice_pk, *, which):
    notice = notices.notice_get(membership=membership, pk=formal_notice_pk)
    if which == "respond":
        require(membership, notices.responding_action(notice.direction))
        form = NoticeResponseForm(request.POST)
    else:
        require(membership, notices.issuing_action(notice.direction))
        form = NoticeEndForm(request.POST, prefix=which)
    if form.is_valid():
        try:
            if which == "respond":
                notice = notices.notice_respond(
                    membership=membership, notice=notice, response=form.cleaned_data["response"]
                )
                late = notice.responded_late
                done = "Response sent" + (" (after the deadline)." if late else ".")
            elif which == "close":
                notices.notice_close(
                    membership=membership, notice=notice, note=form.cleaned_data["note"]
                )
                done = "Notice closed."
            else:
                notices.notice_withdraw(
                    membership=membership, notice=notice, note=form.cleaned_data["note"]
                )
                done = "Notice withdrawn."
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, done)
            return redirect(notice.get_absolute_url())
    return _detail_page(request, membership, notice, forms_given={which: form}, status=400)


@tenant_view(read="notices.view")
@require_POST
def notice_respond(request, *, membership, formal_notice_pk):
    return _act(request, membership, formal_notice_pk, which="respond")


@tenant_view(read="notices.view")
@require_POST
def notice_close(request, *, membership, formal_notice_pk):
    return _act(request, membership, formal_notice_pk, which="close")


@tenant_view(read="notices.view")
@require_POST
def notice_withdraw(request, *, membership, formal_notice_pk):
    return _act(request, membership, formal_notice_pk, which="withdraw")


@tenant_view(read="notices.view")
@require_safe
def notice_history(request, *, membership, formal_notice_pk):
    notice = notices.notice_get(membership=membership, pk=formal_notice_pk)
    return render(
        request,
        "includes/history_page.html",
        {
            "object": notice,
            "history": history_entries(notice, limit=500),
            "breadcrumbs": _crumbs(membership, notice.contract),
        },
    )


def dashboard_panel(membership, contract):
    """Notices awaiting response on the contract, soonest deadline first: one
    query (registered in apps.py)."""
    rows = notices.awaiting_response(membership=membership, contract=contract)
    today = clock.tenant_today(contract.tenant)
    for notice in rows:
        notice.overdue = notices.is_overdue(notice, today)
    return (
        "escalation/notices/_panel.html",
        {"awaiting_notices": rows[:PANEL_NOTICES], "awaiting_count": len(rows)},
    )
