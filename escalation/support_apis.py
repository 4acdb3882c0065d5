"""Supportive measures, provider concerns and frontline reports through the API:
the same selectors and services (escalation/support.py) as the pages.

- ``supportive-measures/``: the measures on the contracts the caller sees
  (``?contract=``, ``?status=``). ``POST`` starts one (commissioners, admins);
  ``POST supportive-measures/<supportive_measure_pk>/end/`` with an
  ``outcome_note`` (required) ends it.
- ``concerns/``: the providers' early-warning concerns on the contracts the
  caller sees, newest first (``?contract=``, ``?status=``). ``POST`` raises one
  (a provider's member, on its own contract: another provider's answers 404);
  ``POST concerns/<provider_concern_pk>/acknowledge/`` with a ``note``
  (commissioners, admins).
- ``frontline-reports/``: commissioner staff's reports of problems with a
  provider (``?provider=``, ``?contract=``, ``?category=``); a provider's list
  is empty. ``POST`` reports one (commissioners, admins);
  ``GET frontline-reports/counts/`` counts them per provider and category by
  month over the last 12 months.

Invalid input and refused rules answer ``{"errors": [{"where", "field",
"message"}]}`` (oversight/api.py); nothing is written.
"""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from contracts.selectors import contract_get
from oversight import clock
from oversight.api import ReadOnlyViewSet, change_reason
from oversight.models import User

from . import selectors, support
from .models import (
    ConcernStatus,
    FrontlineReport,
    MeasureStatus,
    ProviderConcern,
    ReportCategory,
    SupportiveMeasure,
)
from .support_serializers import (
    ConcernAcknowledgeSerializer,
    ConcernRaiseSerializer,
    FrontlineReportCreateSerializer,
    FrontlineReportSerializer,
    MeasureEndSerializer,
    MeasureStartSerializer,
    ProviderConcernSerializer,
    SupportiveMeasureSerializer,
)
from .support_views import MONTHS


class _Answer:
    def _answer(self, obj, code=status.HTTP_200_OK):
        return Response(self.get_serializer(self.get_queryset().get(pk=obj.pk)).data, status=code)


class MeasureFilter(django_filters.FilterSet):
    contract = django_filters.NumberFilter(field_name="contract_id")
    status = django_filters.MultipleChoiceFilter(choices=MeasureStatus.choices)


def _measures(*, membership):
    return selectors.measures_detailed(membership=membership).order_by("-starts_on", "-id")


class SupportiveMeasureViewSet(_Answer, ReadOnlyViewSet):
    """Supportive measures on the contracts the caller sees."""

    queryset = SupportiveMeasure.objects.all()
    serializer_class = SupportiveMeasureSerializer
    selector = staticmethod(_measures)
    lookup_url_kwarg = "supportive_measure_pk"
    filterset_class = MeasureFilter
    write_action = "measure.start"
    http_method_names = ["get", "post", "head", "options"]

    @extend_schema(request=MeasureStartSerializer, responses={201: SupportiveMeasureSerializer})
    def create(self, request, *args, **kwargs):
        """Start a measure (its owner is a member's user id)."""
        self.check_write()
        payload = MeasureStartSerializer(data=request.data, context={"membership": self.membership})
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        owner = User.objects.filter(pk=data.pop("owner")).first()
        measure = support.measure_start(
            membership=self.membership,
            owner=owner,
            reason=change_reason(
                request, default=f"Support offered through the API by {request.user}"
            ),
            **data,
        )
        return self._answer(measure, status.HTTP_201_CREATED)

    @extend_schema(request=MeasureEndSerializer, responses={200: SupportiveMeasureSerializer})
    @action(detail=True, methods=["post"])
    def end(self, request, *args, **kwargs):
        """End an active measure with an outcome note."""
        measure = self.get_object()
        self.check_write("measure.end")
        payload = MeasureEndSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        measure = support.measure_end(
            membership=self.membership,
            measure=measure,
            outcome_note=payload.validated_data.get("outcome_note", ""),
        )
        return self._answer(measure)


class ConcernFilter(django_filters.FilterSet):
    contract = django_filters.NumberFilter(field_name="contract_id")
    status = django_filters.MultipleChoiceFilter(choices=ConcernStatus.choices)


def _concerns(*, membership):
    return selectors.concerns_detailed(membership=membership).order_by("-raised_at", "-id")


class ProviderConcernViewSet(_Answer, ReadOnlyViewSet):
    """The providers' early-warning concerns, newest first."""

    queryset = ProviderConcern.objects.all()
    serializer_class = ProviderConcernSerializer
    selector = staticmethod(_concerns)
    lookup_url_kwarg = "provider_concern_pk"
    filterset_class = ConcernFilter
    write_action = "concern.raise"
    http_method_names = ["get", "post", "head", "options"]

    @extend_schema(request=ConcernRaiseSerializer, responses={201: ProviderConcernSerializer})
    def create(self, request, *args, **kwargs):
        """Raise a concern on one of the provider's own contracts."""
        self.check_write()
        payload = ConcernRaiseSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        contract = contract_get(membership=self.membership, pk=data.pop("contract"))
        concern = support.concern_raise(
            membership=self.membership,
            contract=contract,
            reason=change_reason(
                request, default=f"Early-warning concern raised by {request.user}"
            ),
            **data,
        )
        return self._answer(concern, status.HTTP_201_CREATED)

    @extend_schema(request=ConcernAcknowledgeSerializer, responses={200: ProviderConcernSerializer})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, *args, **kwargs):
        """Acknowledge a raised concern with a note to the provider."""
        concern = self.get_object()
        self.check_write("concern.acknowledge")
        payload = ConcernAcknowledgeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        concern = support.concern_acknowledge(
            membership=self.membership, concern=concern, note=payload.validated_data.get("note", "")
        )
        return self._answer(concern)


class ReportFilter(django_filters.FilterSet):
    provider = django_filters.NumberFilter(field_name="provider_id")
    contract = django_filters.NumberFilter(field_name="contract_id")
    category = django_filters.MultipleChoiceFilter(choices=ReportCategory.choices)


def _reports(*, membership):
    return selectors.frontline_reports_detailed(membership=membership).order_by(
        "-occurred_on", "-id"
    )


class MonthCountSerializer(serializers.Serializer):
    provider = serializers.IntegerField(source="provider_id")
    provider_name = serializers.CharField(source="provider__name")
    category = serializers.CharField()
    month = serializers.DateField()
    count = serializers.IntegerField()


class FrontlineReportViewSet(_Answer, ReadOnlyViewSet):
    """Frontline reports of problems with providers (not shown to providers)."""

    queryset = FrontlineReport.objects.all()
    serializer_class = FrontlineReportSerializer
    selector = staticmethod(_reports)
    lookup_url_kwarg = "frontline_report_pk"
    filterset_class = ReportFilter
    write_action = "frontline_report.create"
    http_method_names = ["get", "post", "head", "options"]

    @extend_schema(
        request=FrontlineReportCreateSerializer, responses={201: FrontlineReportSerializer}
    )
    def create(self, request, *args, **kwargs):
        """Report a problem with a provider (optionally on one of its contracts)."""
        self.check_write()
        payload = FrontlineReportCreateSerializer(
            data=request.data, context={"membership": self.membership}
        )
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        report = support.frontline_report_create(
            membership=self.membership,
            provider=data.pop("provider"),
            contract=data.pop("contract", None),
            reason=change_reason(request, default=f"Reported through the API by {request.user}"),
            **data,
        )
        return self._answer(report, status.HTTP_201_CREATED)

    @extend_schema(responses={200: MonthCountSerializer(many=True)})
    @action(detail=False, methods=["get"])
    def counts(self, request, *args, **kwargs):
        """Reports per provider, category and month (months with none are left
        out), over the last 12 months of the tenant's calendar."""
        months = selectors.frontline_months(clock.tenant_today(self.membership.tenant), MONTHS)
        rows = selectors.frontline_counts(membership=self.membership, months=months)
        return Response(MonthCountSerializer(rows, many=True).data)
