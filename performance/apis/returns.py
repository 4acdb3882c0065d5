"""The reporting calendar and returns through the API.

Reads go through the performance selectors (a provider sees only its own
contracts' rows). ``POST …/returns/`` is the API's way in for a return: the
same ``services.returns_enter`` as the web form and the spreadsheets
(validated, then written whole or not at all), and made safe to retry by the
``Idempotency-Key`` header. Errors on the return routes are field-level:
``{"errors": [{"where": "values[2]", "field": "value", "message": "…"}]}``.
"""

import hashlib
import json

import django_filters
from django.conf import settings
from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.response import Response

from oversight import clock
from oversight.api import FieldErrors, ReadOnlyViewSet
from oversight.clock import tenant_today
from oversight.errors import Problem
from oversight.serializers import TRANSPORT_FIELDS

from .. import selectors
from ..imports import normalise_period
from ..models import (
    ReportingPeriod,
    Return,
    ReturnSource,
    ReturnStatus,
    ReturnValue,
)
from ..serializers import (
    ErrorsSerializer,
    ReportingPeriodSerializer,
    ReturnSerializer,
    ReturnSubmitSerializer,
    ReviewSerializer,
    problems_from_drf,
)
from ..services import (
    ON_BEHALF,
    ImportRejected,
    ReturnsRaced,
    return_accept,
    return_entry_check,
    return_query,
    returns_enter,
)

IDEMPOTENCY_KEY_MAX = 100  # Return.idempotency_key max_length


def request_fingerprint(data) -> str:
    """What identifies a request's body for its Idempotency-Key: its JSON with
    keys sorted, so a retry that orders or spaces it differently is the same."""
    if hasattr(data, "lists"):  # a form-encoded QueryDict; its CSRF token is not the request
        data = {key: values for key, values in data.lists() if key not in TRANSPORT_FIELDS}
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


PERIOD_STATES = [
    (selectors.DUE, "Due"),
    (selectors.LATE, "Late"),
    (selectors.MISSING, "Missing"),
    (ReturnStatus.SUBMITTED.value, "Submitted"),
    (ReturnStatus.ACCEPTED.value, "Accepted"),
    (ReturnStatus.QUERIED.value, "Queried"),
]


class PeriodFilter(django_filters.FilterSet):
    """By contract id (a plain number: another tenant's id reads as no rows)
    and by state: ``selectors.with_state``, the rule of ``calendar.period_state``
    in SQL, as the returns pages filter."""

    contract = django_filters.NumberFilter(field_name="contract_id")
    state = django_filters.ChoiceFilter(choices=PERIOD_STATES, method="filter_state")

    def filter_state(self, queryset, name, value):
        today = getattr(self.request, "tenant_today", None) or clock.today()
        return selectors.with_state(queryset, today=today).filter(state=value)


class ReportingPeriodViewSet(ReadOnlyViewSet):
    """Each contract's reporting calendar, with where each period stands
    (due, late, missing, or the latest return's status)."""

    queryset = ReportingPeriod.objects.all()
    serializer_class = ReportingPeriodSerializer
    selector = staticmethod(selectors.periods_with_state)
    lookup_url_kwarg = "period_pk"
    filterset_class = PeriodFilter

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        request.tenant_today = tenant_today(self.membership.tenant)

    def get_serializer_context(self):
        today = getattr(self.request, "tenant_today", None) if self.request else None
        return {**super().get_serializer_context(), "today": today or clock.today()}


def _returns(*, membership):
    return selectors.returns_visible(membership=membership).prefetch_related(
        Prefetch(
            "values",
            queryset=ReturnValue.objects.select_related("contract_kpi__kpi", "site").order_by(
                "-contract_kpi__is_priority", "contract_kpi__kpi__code", "site__name"
            ),
        ),
        Prefetch("period__returns", queryset=Return.objects.order_by("version")),
    )


class ReturnFilter(django_filters.FilterSet):
    contract = django_filters.NumberFilter(field_name="contract_id")
    period = django_filters.NumberFilter(field_name="period_id")
    status = django_filters.ChoiceFilter(choices=ReturnStatus.choices)


_IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description=(
        "A new random value (a UUID) for each new return; the same value and the same body "
        "when retrying. Keys are the submitting user's own. A replay answers as the original "
        "did (201 with the return first created, and `Idempotent-Replayed: true`) and writes "
        "nothing; the same key with another body answers 422."
    ),
)
_ERRORS = OpenApiResponse(ErrorsSerializer, description="Field-level problems; nothing written.")


class ReturnViewSet(ReadOnlyViewSet):
    """Returns with their values and every version; submit, accept, query."""

    queryset = Return.objects.all()
    serializer_class = ReturnSerializer
    selector = staticmethod(_returns)
    lookup_url_kwarg = "return_pk"
    filterset_class = ReturnFilter
    write_action = "return.submit"
    http_method_names = ["get", "post", "head", "options"]

    def field_problems_of(self, detail):
        """A return's body is named as the spreadsheets name it: ``values[2]``;
        a filter's query as every route names it."""
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            return super().field_problems_of(detail)
        return problems_from_drf(detail)

    def _body(self, ret: Return) -> dict:
        return ReturnSerializer(self.get_queryset().get(pk=ret.pk)).data

    def _replay(self, key: str, fingerprint: str, data) -> Response | None:
        """The answer to a request whose key this submitter already used, or
        None. Keys are the submitter's own: another member's key is unknown here."""
        original = (
            self.get_queryset()
            .filter(idempotency_key=key, submitted_by=self.membership.user)
            .select_related("contract", "period")
            .first()
        )
        if original is None:
            return None
        if original.idempotency_fingerprint:
            same = original.idempotency_fingerprint == fingerprint
        else:  # stored before requests were fingerprinted: judge by what it is for
            same = isinstance(data, dict) and (
                str(data.get("contract", "")).strip(),
                normalise_period(data.get("period", "")),
            ) == (original.contract.reference, original.period.label)
        if not same:
            raise FieldErrors(
                [
                    Problem(
                        "request",
                        "Idempotency-Key",
                        f"this key was already used with a different request (the return for "
                        f"{original.contract.reference} {original.period.label}): "
                        "send the same body to retry it, or a new key for a new return",
                    )
                ],
                status.HTTP_422_UNPROCESSABLE_ENTITY,
            )
        # The original answer again: a client retrying after a lost response cannot
        # tell it from the first, except by the header that says it is a replay.
        return Response(
            self._body(original),
            status=status.HTTP_201_CREATED,
            headers={"Idempotent-Replayed": "true"},
        )

    @extend_schema(
        request=ReturnSubmitSerializer,
        parameters=[_IDEMPOTENCY_KEY],
        responses={
            201: OpenApiResponse(
                ReturnSerializer,
                description="The return created; a replay of the same request answers the "
                "same, with the header Idempotent-Replayed: true.",
            ),
            400: _ERRORS,
            409: OpenApiResponse(
                ErrorsSerializer, description="Another submission for the period won a race."
            ),
            422: OpenApiResponse(
                ErrorsSerializer,
                description="The Idempotency-Key was already used with a different body.",
            ),
        },
    )
    def create(self, request, *args, **kwargs):
        """Submit a period's return for a contract, whole or not at all. The
        commissioning organisation enters one only on the provider's behalf,
        giving ``on_behalf_reason``."""
        self.check_write("return.submit", ON_BEHALF)
        key = (request.headers.get("Idempotency-Key") or "").strip()
        if not key or len(key) > IDEMPOTENCY_KEY_MAX:
            raise FieldErrors(
                [
                    Problem(
                        "request",
                        "Idempotency-Key",
                        "send an Idempotency-Key header of at most "
                        f"{IDEMPOTENCY_KEY_MAX} characters: a new random value (a UUID) for "
                        "each new return, the same value when retrying",
                    )
                ]
            )
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        # oversight.middleware refuses a bigger body before this view; kept for
        # a request that reaches the view some other way.
        if length > settings.MAX_UPLOAD_BYTES:
            raise FieldErrors(
                [
                    Problem(
                        "request",
                        "body",
                        f"the body is too large; the limit is {settings.MAX_UPLOAD_MB} MB",
                    )
                ],
                status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        try:
            data = request.data
        except exceptions.ParseError as error:
            raise FieldErrors(
                [Problem("request", "body", f"the body is not valid JSON: {error}")]
            ) from error
        except exceptions.UnsupportedMediaType as error:
            raise FieldErrors([Problem("request", "body", str(error.detail))], 415) from error
        fingerprint = request_fingerprint(data)
        replay = self._replay(key, fingerprint, data)
        if replay is not None:
            return replay

        serializer = ReturnSubmitSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        on_behalf_reason = serializer.validated_data["on_behalf_reason"]
        return_entry_check(membership=self.membership, on_behalf_reason=on_behalf_reason)
        header, rows = serializer.to_submission()
        try:
            (ret,) = returns_enter(
                membership=self.membership,
                headers=[header],
                rows=rows,
                today=tenant_today(self.membership.tenant),
                source=ReturnSource.API,
                idempotency_key=key,
                idempotency_fingerprint=fingerprint,
                on_behalf_reason=on_behalf_reason,
            )
        except ImportRejected as rejected:
            # The same request, sent at the same time, may have been written
            # since the check above: then this one is its retry ("already
            # submitted", or a lost race, would be the wrong answer).
            replay = self._replay(key, fingerprint, data)
            if replay is not None:
                return replay
            # A lost race to another submission for the period is a conflict;
            # anything else is the body's problems.
            code = status.HTTP_409_CONFLICT if isinstance(rejected, ReturnsRaced) else None
            raise FieldErrors(rejected.problems, code) from rejected
        return Response(self._body(ret), status=status.HTTP_201_CREATED)

    def _review(self, request, service):
        ret = self.get_object()
        self.check_write("return.review")
        serializer = ReviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # A service's ValidationError is answered by oversight.api.exception_handler.
        ret = service(
            membership=self.membership, ret=ret, comment=serializer.validated_data["comment"]
        )
        return Response(self._body(ret))

    @extend_schema(request=ReviewSerializer, responses={200: ReturnSerializer, 400: _ERRORS})
    @action(detail=True, methods=["post"])
    def accept(self, request, *args, **kwargs):
        """Accept a submitted return (its values then feed the signals)."""
        return self._review(request, return_accept)

    @extend_schema(request=ReviewSerializer, responses={200: ReturnSerializer, 400: _ERRORS})
    @action(detail=True, methods=["post"])
    def query(self, request, *args, **kwargs):
        """Query a submitted return; the comment (required) says what to correct."""
        return self._review(request, return_query)
