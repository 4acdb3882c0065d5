"""Variations through the API: the same selectors and services
(variations/services.py) as the pages.

- ``variations/``: the variations of the contracts the caller sees
  (``?contract=``, ``?status=``), each with its changes, assessment and
  decision. ``POST`` proposes one (``submit: true`` submits it at once);
  ``POST variations/<pk>/submit/``, ``…/withdraw/`` (``note``),
  ``…/start-assessment/``, ``…/assess/``, ``…/approve/`` (``note``) and
  ``…/reject/`` (``note``, required) move it on.
- ``contracts/<id>/terms/?as_at=YYYY-MM-DD``: the contract's terms in force
  that day (variations/terms.py).

Invalid input and refused rules answer ``{"errors": [{"where", "field",
"message"}]}`` (oversight/api.py); nothing is written.
"""

import datetime as dt

import django_filters
from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from contracts.models import Contract
from contracts.selectors import contract_get
from oversight import clock
from oversight.api import ReadOnlyViewSet, TenantScopedViewSet, change_reason
from oversight.serializers import NoInputSerializer

from . import selectors, services, terms
from .models import Variation, VariationStatus
from .serializers import (
    AssessSerializer,
    ProposeSerializer,
    TermsSerializer,
    VariationNoteSerializer,
    VariationSerializer,
)


class VariationFilter(django_filters.FilterSet):
    contract = django_filters.NumberFilter(field_name="contract_id")
    status = django_filters.MultipleChoiceFilter(choices=VariationStatus.choices)


def _variations(*, membership):
    return selectors.variations_detailed(membership=membership).order_by("-effective_on", "-id")


class VariationViewSet(ReadOnlyViewSet):
    """Formal variations with their changes, impact assessment and decision."""

    queryset = Variation.objects.all()
    serializer_class = VariationSerializer
    selector = staticmethod(_variations)
    lookup_url_kwarg = "variation_pk"
    filterset_class = VariationFilter
    write_action = "variation.propose"
    http_method_names = ["get", "post", "head", "options"]

    def _answer(self, obj, code=status.HTTP_200_OK):
        return Response(self.get_serializer(self.get_queryset().get(pk=obj.pk)).data, status=code)

    def _no_body(self, request) -> None:
        NoInputSerializer(data=request.data).is_valid(raise_exception=True)

    def _note(self, request) -> str:
        payload = VariationNoteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return payload.validated_data.get("note", "")

    @extend_schema(request=ProposeSerializer, responses={201: VariationSerializer})
    def create(self, request, *args, **kwargs):
        """Propose a variation of a contract, with its changes field by field."""
        self.check_write()
        payload = ProposeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        contract = contract_get(membership=self.membership, pk=data["contract"])
        variation = services.variation_propose(
            membership=self.membership,
            contract=contract,
            kind=data["kind"],
            title=data["title"],
            rationale=data["rationale"],
            effective_on=data["effective_on"],
            changes=[
                services.ChangeInput(
                    field=c["field"],
                    contract_kpi=c.get("contract_kpi"),
                    value=c.get("value", ""),
                    detail=c.get("detail", ""),
                )
                for c in data["changes"]
            ],
            submit=data["submit"],
            reason=change_reason(
                request, default=f"Variation proposed through the API by {request.user}"
            ),
        )
        return self._answer(variation, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: VariationSerializer})
    @action(detail=True, methods=["post"])
    def submit(self, request, *args, **kwargs):
        variation = self.get_object()
        self.check_write()
        self._no_body(request)
        return self._answer(
            services.variation_submit(membership=self.membership, variation=variation)
        )

    @extend_schema(request=VariationNoteSerializer, responses={200: VariationSerializer})
    @action(detail=True, methods=["post"])
    def withdraw(self, request, *args, **kwargs):
        variation = self.get_object()
        self.check_write()
        note = self._note(request)
        return self._answer(
            services.variation_withdraw(membership=self.membership, variation=variation, note=note)
        )

    @extend_schema(request=None, responses={200: VariationSerializer})
    @action(detail=True, methods=["post"], url_path="start-assessment")
    def start_assessment(self, request, *args, **kwargs):
        variation = self.get_object()
        self.check_write("variation.assess")
        self._no_body(request)
        return self._answer(
            services.variation_assessment_start(membership=self.membership, variation=variation)
        )

    @extend_schema(request=AssessSerializer, responses={200: VariationSerializer})
    @action(detail=True, methods=["post"])
    def assess(self, request, *args, **kwargs):
        variation = self.get_object()
        self.check_write("variation.assess")
        payload = AssessSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        assessment = services.Assessment(
            cost_per_year=data["cost_per_year"],
            cost_total=data["cost_total"],
            quality_impact=data["quality_impact"],
            outcomes_impact=data["outcomes_impact"],
            risk_impact=data["risk_impact"],
            protected_components=tuple(data["protected_components"]),
        )
        return self._answer(
            services.variation_assess(
                membership=self.membership,
                variation=variation,
                assessment=assessment,
                reason=change_reason(
                    request, default=f"Assessed through the API by {request.user}"
                ),
            )
        )

    @extend_schema(request=VariationNoteSerializer, responses={200: VariationSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, *args, **kwargs):
        variation = self.get_object()
        self.check_write("variation.approve")
        note = self._note(request)
        return self._answer(
            services.variation_approve(membership=self.membership, variation=variation, note=note)
        )

    @extend_schema(request=VariationNoteSerializer, responses={200: VariationSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, *args, **kwargs):
        variation = self.get_object()
        self.check_write("variation.approve")
        note = self._note(request)
        return self._answer(
            services.variation_reject(membership=self.membership, variation=variation, note=note)
        )


class ContractTermsViewSet(TenantScopedViewSet):
    """A contract's terms in force on a date."""

    queryset = Contract.objects.all()
    serializer_class = TermsSerializer
    lookup_url_kwarg = "contract_pk"
    http_method_names = ["get", "head", "options"]

    @extend_schema(
        parameters=[OpenApiParameter("as_at", OpenApiTypes.DATE, description="Default: today")],
        responses={200: OpenApiTypes.OBJECT},
    )
    def retrieve(self, request, *args, **kwargs):
        """The value, dates, payment model, protected components, sites and
        every KPI target in force on ``as_at`` (YYYY-MM-DD), and the variations
        in effect by then."""
        contract = contract_get(membership=self.membership, pk=kwargs["contract_pk"])
        raw = request.query_params.get("as_at")
        if raw:
            try:
                as_at = dt.date.fromisoformat(raw)
            except ValueError:
                raise ValidationError(
                    {"as_at": f"Give the date as YYYY-MM-DD (not {raw!r})."}
                ) from None
        else:
            as_at = clock.tenant_today(self.membership.tenant)
        found = terms.contract_terms(membership=self.membership, contract=contract, as_at=as_at)
        return Response(TermsSerializer(found).data)
