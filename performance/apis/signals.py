"""Signals and contract risk scores through the API.

Both are read through the selectors (a provider sees only its own contracts'
rows). Signals filter by contract, contract KPI, kind, status and severity;
``POST …/signals/<signal_pk>/acknowledge/`` with a ``note`` acknowledges an open
signal through ``signal_services.signal_acknowledge`` (commissioners and admins;
403 for the other roles, 404 for a signal the caller cannot see). Risk scores are stored per
contract per day: ``?contract=<id>`` is one contract's history, newest first;
``?latest=true`` keeps each contract's most recent score.

Kept apart from ``apis.py`` (KPIs and returns) as the signals engine's own
surface; the routes are registered in ``api_urls.py`` with the others.
"""

from __future__ import annotations

import django_filters
from django.db.models import OuterRef, Subquery
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from oversight.api import ReadOnlyViewSet, TenantScopedViewSet
from oversight.serializers import StrictSerializer

from .. import selectors
from ..models import RiskBand, RiskScore, Severity, Signal, SignalStatus, signal_kind_choices
from ..serializers import _named_choices
from ..signal_services import signal_acknowledge

# Read when the URL conf is imported, after every app's ready() has registered
# its signal rules, so the schema lists their kinds too.
SignalKindField = _named_choices(signal_kind_choices(), "SignalKind")
SeverityField = _named_choices(Severity.choices, "SignalSeverity")
SignalStatusField = _named_choices(SignalStatus.choices, "SignalStatus")
RiskBandField = _named_choices(RiskBand.choices, "RiskBand")


def _person(user) -> str | None:
    return (user.full_name or user.email) if user else None


class SignalSerializer(serializers.ModelSerializer):
    contract_reference = serializers.CharField(source="contract.reference", read_only=True)
    kpi_code = serializers.CharField(
        source="contract_kpi.kpi.code", read_only=True, default=None, allow_null=True
    )
    kind = SignalKindField()
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    severity = SeverityField()
    status = SignalStatusField()
    acknowledged_by = serializers.SerializerMethodField()

    class Meta:
        model = Signal
        fields = [
            "id", "contract", "contract_reference", "contract_kpi", "kpi_code", "kind",
            "kind_label", "severity", "status", "period_start", "message", "evidence",
            "opened_at", "last_seen_at", "acknowledged_by", "acknowledged_at",
            "acknowledgement_note", "closed_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_acknowledged_by(self, signal) -> str | None:
        return _person(signal.acknowledged_by)


class AcknowledgeSerializer(StrictSerializer):
    also_accepted = frozenset()

    note = serializers.CharField(
        max_length=10_000,
        help_text="What you have done or decided about the signal; kept in its history.",
    )


class RiskScoreSerializer(serializers.ModelSerializer):
    contract_reference = serializers.CharField(source="contract.reference", read_only=True)
    band = RiskBandField()
    reasons = serializers.ListField(child=serializers.CharField(), read_only=True)
    details = serializers.ListField(child=serializers.DictField(), read_only=True)
    band_from = serializers.CharField(read_only=True)
    moved_by = serializers.CharField(read_only=True)

    class Meta:
        model = RiskScore
        fields = [
            "id", "contract", "contract_reference", "day", "score", "band", "reasons",
            "details", "band_from", "moved_by",
        ]  # fmt: skip
        read_only_fields = fields


class SignalFilter(django_filters.FilterSet):
    """Ids are plain numbers: another tenant's id reads as no rows, like a missing one."""

    contract = django_filters.NumberFilter(field_name="contract_id")
    contract_kpi = django_filters.NumberFilter(field_name="contract_kpi_id")
    kind = django_filters.MultipleChoiceFilter(choices=signal_kind_choices)
    status = django_filters.MultipleChoiceFilter(choices=SignalStatus.choices)
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices)
    live = django_filters.BooleanFilter(
        method="filter_live", label="Open or acknowledged (true), or closed (false)"
    )

    def filter_live(self, queryset, name, value):
        if value is None:
            return queryset
        if value:
            return queryset.exclude(status=SignalStatus.CLOSED)
        return queryset.filter(status=SignalStatus.CLOSED)


class RiskScoreFilter(django_filters.FilterSet):
    contract = django_filters.NumberFilter(field_name="contract_id")
    since = django_filters.DateFilter(field_name="day", lookup_expr="gte")
    until = django_filters.DateFilter(field_name="day", lookup_expr="lte")
    band = django_filters.MultipleChoiceFilter(choices=RiskBand.choices)
    latest = django_filters.BooleanFilter(
        method="filter_latest", label="Only each contract's most recent score"
    )

    def filter_latest(self, queryset, name, value):
        if not value:
            return queryset
        newest = RiskScore.objects.filter(contract=OuterRef("contract")).order_by("-day")
        return queryset.filter(day=Subquery(newest.values("day")[:1]))


def _signals(*, membership):
    return selectors.signals_visible(membership=membership).order_by("-opened_at", "-id")


def _risk_scores(*, membership):
    return selectors.risk_scores_visible(membership=membership).order_by("contract_id", "-day")


class SignalViewSet(ReadOnlyViewSet):
    """What the signals engine found, with the data each signal rests on."""

    queryset = Signal.objects.all()
    serializer_class = SignalSerializer
    selector = staticmethod(_signals)
    lookup_url_kwarg = "signal_pk"
    filterset_class = SignalFilter
    write_action = "signal.acknowledge"
    http_method_names = ["get", "post", "head", "options"]

    @extend_schema(request=AcknowledgeSerializer, responses={200: SignalSerializer})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, *args, **kwargs):
        """Acknowledge an open signal with a note (commissioners and admins)."""
        signal = self.get_object()
        self.check_write()
        payload = AcknowledgeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        signal_acknowledge(
            membership=self.membership, signal=signal, note=payload.validated_data["note"]
        )
        return Response(SignalSerializer(self.get_queryset().get(pk=signal.pk)).data)


class RiskScoreViewSet(mixins.ListModelMixin, TenantScopedViewSet):
    """Each contract's risk score (0–100) per day, with its band and reasons."""

    queryset = RiskScore.objects.all()
    serializer_class = RiskScoreSerializer
    selector = staticmethod(_risk_scores)
    filterset_class = RiskScoreFilter
