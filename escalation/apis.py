"""The ladder and the escalation steps through the API: the same selectors and
services as the pages.

- ``ladders/``: the tenant's ladder versions, newest first (internal roles;
  a provider's list is empty; empty too before the ladder is first written,
  while the default is in force). ``POST ladders/`` adopts the default as
  version 1 (admin). ``POST ladders/<ladder_version_pk>/revise/``
  with ``{"stages": [{"level": 2, "name": "…"}, …]}`` writes the next version
  (admin; the version given must be the one in force). ``POST
  ladders/adopt-preset/`` with ``{"preset": "nhs-standard-contract"}`` (or
  ``"us-federal-default"``) writes that preset as the next version (admin).
- ``escalations/``: the steps of the contracts the caller sees (``?contract=``,
  ``?status=``). ``POST escalations/`` proposes a step (its ``reason`` is the
  history's reason); ``POST escalations/<escalation_step_pk>/approve/`` and
  ``…/reject/`` (executives, with a ``note``; a rejection needs one),
  ``…/acknowledge/`` (the provider).

Invalid input and refused rules answer ``{"errors": [{"where", "field",
"message"}]}`` (oversight/api.py); nothing is written.
"""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from oversight.api import ReadOnlyViewSet, change_reason

from . import selectors, services
from .models import EscalationStep, LadderVersion, StepStatus
from .serializers import (
    AcknowledgeSerializer,
    AdoptSerializer,
    DecisionSerializer,
    EscalationStepSerializer,
    LadderReviseSerializer,
    LadderVersionSerializer,
    PresetAdoptSerializer,
    StepProposeSerializer,
)


def _ladders(*, membership):
    return (
        selectors.ladder_versions_visible(membership=membership)
        .select_related("created_by")
        .prefetch_related("stages")
        .order_by("-number")
    )


class LadderViewSet(ReadOnlyViewSet):
    """The escalation ladder's versions; the newest is in force."""

    queryset = LadderVersion.objects.all()
    serializer_class = LadderVersionSerializer
    selector = staticmethod(_ladders)
    lookup_url_kwarg = "ladder_version_pk"
    write_action = "ladder.change"
    http_method_names = ["get", "post", "head", "options"]

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if self.membership is not None:
            current = selectors.ladder_current(tenant_id=self.membership.tenant_id)
            context["current_id"] = current.pk if current else None
        return context

    @extend_schema(request=AdoptSerializer, responses={201: LadderVersionSerializer})
    def create(self, request, *args, **kwargs):
        """Adopt the default ladder as version 1, to revise it (admin; before
        the first step has written it). Until then the list is empty and the
        default ladder (docs/architecture.md) is in force."""
        self.check_write()
        AdoptSerializer(data=request.data).is_valid(raise_exception=True)
        version = services.ladder_adopt(
            membership=self.membership,
            reason=change_reason(request, default="Adopted the default ladder to edit it"),
        )
        return Response(
            self.get_serializer(self.get_queryset().get(pk=version.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=LadderReviseSerializer, responses={201: LadderVersionSerializer})
    @action(detail=True, methods=["post"])
    def revise(self, request, *args, **kwargs):
        """Write the next version of the ladder from this one (the version in force)."""
        self.check_write()  # first: a provider, who does not read the ladder, gets 403
        version = self.get_object()
        payload = LadderReviseSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        new = services.ladder_revise(
            membership=self.membership,
            version=version,
            changes=payload.changes(),
            reason=change_reason(request, default=""),
        )
        new = self.get_queryset().get(pk=new.pk)
        return Response(
            self.get_serializer(new).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=PresetAdoptSerializer, responses={201: LadderVersionSerializer})
    @action(detail=False, methods=["post"], url_path="adopt-preset", url_name="adopt_preset")
    def adopt_preset(self, request, *args, **kwargs):
        """Write a ladder preset (``preset``: its key) as the next version (admin)."""
        self.check_write()
        payload = PresetAdoptSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        preset = payload.validated_data["preset"]
        version = services.ladder_preset_adopt(
            membership=self.membership,
            preset_key=preset,
            reason=change_reason(request, default=f"Adopted the ladder preset {preset}"),
        )
        return Response(
            self.get_serializer(self.get_queryset().get(pk=version.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class StepFilter(django_filters.FilterSet):
    contract = django_filters.NumberFilter(field_name="contract_id")
    status = django_filters.MultipleChoiceFilter(choices=StepStatus.choices)


def _steps(*, membership):
    return selectors.escalation_steps_detailed(membership=membership).order_by(
        "-proposed_at", "-id"
    )


class EscalationStepViewSet(ReadOnlyViewSet):
    """Every step of the contracts the caller sees, with its evidence and approval."""

    queryset = EscalationStep.objects.all()
    serializer_class = EscalationStepSerializer
    selector = staticmethod(_steps)
    lookup_url_kwarg = "escalation_step_pk"
    filterset_class = StepFilter
    write_action = "escalation.propose"
    http_method_names = ["get", "post", "head", "options"]

    def _answer(self, step, code=status.HTTP_200_OK):
        return Response(self.get_serializer(self.get_queryset().get(pk=step.pk)).data, status=code)

    @extend_schema(request=StepProposeSerializer, responses={201: EscalationStepSerializer})
    def create(self, request, *args, **kwargs):
        """Propose a step; it takes effect at once unless its level needs approval."""
        self.check_write()
        payload = StepProposeSerializer(data=request.data, context={"membership": self.membership})
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        evidence = [
            services.EvidenceItem(
                kind=item["kind"], object_id=item.get("id"), text=item.get("text", "")
            )
            for item in data.pop("evidence", [])
        ]
        step = services.escalation_step_propose(
            membership=self.membership,
            contract=data.pop("contract"),
            evidence=evidence,
            **data,
        )
        return self._answer(step, status.HTTP_201_CREATED)

    def _decide(self, request, action_name, service):
        step = self.get_object()
        self.check_write(action_name)
        payload = DecisionSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        step = service(
            membership=self.membership, step=step, note=payload.validated_data.get("note", "")
        )
        return self._answer(step)

    @extend_schema(request=DecisionSerializer, responses={200: EscalationStepSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, *args, **kwargs):
        """Approve a pending step (an executive who did not propose it)."""
        return self._decide(request, "escalation.approve", services.escalation_step_approve)

    @extend_schema(request=DecisionSerializer, responses={200: EscalationStepSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, *args, **kwargs):
        """Reject a pending step, saying why in ``note``."""
        return self._decide(request, "escalation.reject", services.escalation_step_reject)

    @extend_schema(request=AcknowledgeSerializer, responses={200: EscalationStepSerializer})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, *args, **kwargs):
        """The provider acknowledges a step in effect."""
        step = self.get_object()
        self.check_write("escalation.acknowledge")
        AcknowledgeSerializer(data=request.data).is_valid(raise_exception=True)
        step = services.escalation_step_acknowledge(membership=self.membership, step=step)
        return self._answer(step)
