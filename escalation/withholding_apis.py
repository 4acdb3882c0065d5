"""The withholding ledger through the API: the same selectors and services
(escalation/withholdings.py) as the pages.

- ``withholdings/``: the withholdings on the contracts the caller sees, latest
  payment period first (``?contract=``, ``?status=``; a provider's member, its
  own contracts'). ``POST`` withholds (commissioners, admins), made safe to
  retry by the ``Idempotency-Key`` header, as ``POST returns/`` is: a replay
  answers the withholding first made (201, ``Idempotent-Replayed: true``) and
  writes nothing; the same key with another body answers 422.
- ``withholdings/totals/``: the totals of those withholdings (withheld,
  released, retained, outstanding) and per contract, with the same filters.
- ``POST withholdings/<withholding_pk>/release/`` with a ``note`` (how the
  milestone was met) and ``…/retain/`` with a ``note`` (why it is kept).

Invalid input and refused rules answer ``{"errors": [{"where", "field",
"message"}]}`` (oversight/api.py); nothing is written.
"""

import hashlib
import json

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from contracts.selectors import contract_get
from oversight.api import FieldErrors, ReadOnlyViewSet, change_reason
from oversight.errors import Problem
from oversight.serializers import TRANSPORT_FIELDS

from . import withholdings
from .models import Withholding, WithholdingStatus
from .withholding_serializers import (
    WithholdingNoteSerializer,
    WithholdingRecordSerializer,
    WithholdingSerializer,
)

IDEMPOTENCY_KEY_MAX = 100  # Withholding.request_key max_length


def request_fingerprint(data) -> str:
    """What identifies a request's body for its Idempotency-Key: its JSON with
    keys sorted, so a retry that orders or spaces it differently is the same."""
    if hasattr(data, "lists"):  # a form-encoded QueryDict; its CSRF token is not the request
        data = {key: values for key, values in data.lists() if key not in TRANSPORT_FIELDS}
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class WithholdingFilter(django_filters.FilterSet):
    contract = django_filters.NumberFilter(field_name="contract_id")
    status = django_filters.MultipleChoiceFilter(choices=WithholdingStatus.choices)


def _withholdings(*, membership):
    return withholdings.withholdings_detailed(membership=membership).order_by(
        "-period", "-recorded_at", "-id"
    )


_IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description=(
        "A new random value (a UUID) for each new withholding; the same value and the same "
        "body when retrying. Keys are the recording user's own. A replay answers as the "
        "original did (201 with the withholding first made, and `Idempotent-Replayed: true`) "
        "and writes nothing; the same key with another body answers 422."
    ),
)


class TotalsSerializer(serializers.Serializer):
    withheld = serializers.DecimalField(max_digits=16, decimal_places=2)
    released = serializers.DecimalField(max_digits=16, decimal_places=2)
    retained = serializers.DecimalField(max_digits=16, decimal_places=2)
    outstanding = serializers.DecimalField(max_digits=16, decimal_places=2)
    count = serializers.IntegerField()


class ContractTotalsSerializer(TotalsSerializer):
    contract = serializers.IntegerField(source="contract_id")
    reference = serializers.CharField()
    provider = serializers.CharField()


class LedgerSerializer(serializers.Serializer):
    currency = serializers.CharField()
    totals = TotalsSerializer()
    contracts = ContractTotalsSerializer(many=True)


class WithholdingViewSet(ReadOnlyViewSet):
    """Money withheld from contracts' monthly payments, and its release."""

    queryset = Withholding.objects.all()
    serializer_class = WithholdingSerializer
    selector = staticmethod(_withholdings)
    lookup_url_kwarg = "withholding_pk"
    filterset_class = WithholdingFilter
    write_action = "withholding.record"
    http_method_names = ["get", "post", "head", "options"]

    def _answer(self, obj, code=status.HTTP_200_OK, headers=None):
        body = self.get_serializer(self.get_queryset().get(pk=obj.pk)).data
        return Response(body, status=code, headers=headers)

    @extend_schema(
        request=WithholdingRecordSerializer,
        parameters=[_IDEMPOTENCY_KEY],
        responses={
            201: OpenApiResponse(
                WithholdingSerializer,
                description="The withholding made; a replay of the same request answers the "
                "same, with the header Idempotent-Replayed: true.",
            ),
            422: OpenApiResponse(description="The Idempotency-Key was used with another body."),
        },
    )
    def create(self, request, *args, **kwargs):
        """Withhold an amount from one month's payment on a contract, within the
        cap of the ladder stage the contract sits at."""
        self.check_write()
        key = (request.headers.get("Idempotency-Key") or "").strip()
        if not key or len(key) > IDEMPOTENCY_KEY_MAX:
            raise FieldErrors(
                [
                    Problem(
                        "request",
                        "Idempotency-Key",
                        "send an Idempotency-Key header of at most "
                        f"{IDEMPOTENCY_KEY_MAX} characters: a new random value (a UUID) for "
                        "each new withholding, the same value when retrying",
                    )
                ]
            )
        payload = WithholdingRecordSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        contract = contract_get(membership=self.membership, pk=data.pop("contract"))
        try:
            withholding = withholdings.withholding_record(
                membership=self.membership,
                contract=contract,
                step_id=data.pop("step", None),
                reason=change_reason(request, default=f"Payment withheld by {request.user}"),
                request_key=key,
                request_fingerprint=request_fingerprint(request.data),
                **data,
            )
        except withholdings.RequestKeyReused as error:
            raise FieldErrors(
                [Problem("request", "Idempotency-Key", m) for m in error.messages],
                status.HTTP_422_UNPROCESSABLE_ENTITY,
            ) from error
        replayed = getattr(withholding, "replayed", False)
        return self._answer(
            withholding,
            status.HTTP_201_CREATED,
            headers={"Idempotent-Replayed": "true"} if replayed else None,
        )

    @extend_schema(request=WithholdingNoteSerializer, responses={200: WithholdingSerializer})
    @action(detail=True, methods=["post"])
    def release(self, request, *args, **kwargs):
        """Release withheld money once its milestone is met, with a note."""
        withholding = self.get_object()
        self.check_write("withholding.release")
        payload = WithholdingNoteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        withholding = withholdings.withholding_release(
            membership=self.membership,
            withholding=withholding,
            note=payload.validated_data.get("note", ""),
        )
        return self._answer(withholding)

    @extend_schema(request=WithholdingNoteSerializer, responses={200: WithholdingSerializer})
    @action(detail=True, methods=["post"])
    def retain(self, request, *args, **kwargs):
        """Retain withheld money for good (its milestone not met), saying why."""
        withholding = self.get_object()
        self.check_write("withholding.retain")
        payload = WithholdingNoteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        withholding = withholdings.withholding_retain(
            membership=self.membership,
            withholding=withholding,
            note=payload.validated_data.get("note", ""),
        )
        return self._answer(withholding)

    @extend_schema(responses={200: LedgerSerializer})
    @action(detail=False, methods=["get"])
    def totals(self, request, *args, **kwargs):
        """The totals of the withholdings listed (the same filters), and per contract."""
        rows = self.filter_queryset(self.get_queryset())
        return Response(
            LedgerSerializer(
                {
                    "currency": self.membership.tenant.currency,
                    "totals": withholdings.withholding_totals(rows),
                    "contracts": withholdings.totals_by_contract(rows),
                }
            ).data
        )
