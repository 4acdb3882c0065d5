"""Improvement plans through the API: the same selectors and services
(escalation/plans.py) as the pages.

- ``improvement-plans/``: the plans of the contracts the caller sees, newest
  first (``?contract=``, ``?status=``), each with its root causes, actions
  (with their linked contract KPIs), controls and reviews. ``POST`` opens one
  (commissioners, admins); ``POST improvement-plans/<pk>/actions/`` adds an
  action, ``…/controls/`` a control, ``…/agree/`` records it agreed,
  ``…/close/`` closes it (``close_note``), ``…/reviews/`` records a review that
  confirms every control (``checks``: ``[{"control", "in_place", "note"}]``).
- ``plan-actions/``: the actions (``?plan=``, ``?status=``). The provider's
  member ``POST plan-actions/<pk>/done/`` with its ``completion_evidence``
  (required); the commissioning side ``…/verify/`` (a ``note``) or
  ``…/reopen/`` (a ``reopen_reason``, required).

Invalid input and refused rules answer ``{"errors": [{"where", "field",
"message"}]}`` (oversight/api.py); nothing is written.
"""

import django_filters
from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from contracts.selectors import contract_get
from oversight.api import ReadOnlyViewSet, change_reason

from . import plans, selectors
from .models import ActionStatus, ImprovementPlan, PlanAction, PlanStatus
from .plan_serializers import (
    ActionInputSerializer,
    CloseSerializer,
    ControlInputSerializer,
    DoneSerializer,
    ImprovementPlanSerializer,
    NoteSerializer,
    PlanActionSerializer,
    PlanOpenSerializer,
    ReopenSerializer,
    ReviewInputSerializer,
)


class _Answer:
    def _answer(self, obj, code=status.HTTP_200_OK):
        return Response(self.get_serializer(self.get_queryset().get(pk=obj.pk)).data, status=code)


def _action(data: dict) -> plans.ActionInput:
    return plans.ActionInput(
        description=data["description"],
        lead=data["lead"],
        milestone=data["milestone"],
        due_on=data["due_on"],
        evidence_expected=data["evidence_expected"],
        contract_kpis=tuple(data.get("contract_kpis", ())),
    )


class PlanFilter(django_filters.FilterSet):
    contract = django_filters.NumberFilter(field_name="contract_id")
    status = django_filters.MultipleChoiceFilter(choices=PlanStatus.choices)


def _plans(*, membership):
    return plans.plans_detailed(membership=membership).order_by("-opened_at", "-id")


class ImprovementPlanViewSet(_Answer, ReadOnlyViewSet):
    """Improvement plans with their actions, linked KPIs, controls and reviews."""

    queryset = ImprovementPlan.objects.all()
    serializer_class = ImprovementPlanSerializer
    selector = staticmethod(_plans)
    lookup_url_kwarg = "improvement_plan_pk"
    filterset_class = PlanFilter
    write_action = "plan.open"
    http_method_names = ["get", "post", "head", "options"]

    @extend_schema(request=PlanOpenSerializer, responses={201: ImprovementPlanSerializer})
    def create(self, request, *args, **kwargs):
        """Open a plan (a draft) on a contract, with its root causes and any
        first actions and controls."""
        self.check_write()
        payload = PlanOpenSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        contract = contract_get(membership=self.membership, pk=data.pop("contract"))
        step_id = data.pop("step", None)
        step = (
            selectors.escalation_steps_visible(membership=self.membership)
            .filter(pk=step_id)
            .first()
            if step_id
            else None
        )
        if step_id and step is None:
            raise ValidationError({"step": f"Link a step of {contract.reference}, or none."})
        plan = plans.plan_open(
            membership=self.membership,
            contract=contract,
            step=step,
            issue_statement=data["issue_statement"],
            symptoms=data["symptoms"],
            root_causes=data["root_causes"],
            settling_periods=data.get("settling_periods", 3),
            actions=[_action(a) for a in data.get("actions", [])],
            controls=[
                plans.ControlInput(kind=c["kind"], description=c["description"])
                for c in data.get("controls", [])
            ],
            reason=change_reason(request, default=f"Plan opened through the API by {request.user}"),
        )
        return self._answer(plan, status.HTTP_201_CREATED)

    @extend_schema(request=ActionInputSerializer, responses={201: ImprovementPlanSerializer})
    @action(detail=True, methods=["post"], url_path="actions")
    def add_action(self, request, *args, **kwargs):
        """Add an action to a plan not closed."""
        plan = self.get_object()
        self.check_write("plan.manage")
        payload = ActionInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        plans.plan_action_add(
            membership=self.membership,
            plan=plan,
            action=_action(payload.validated_data),
            reason=change_reason(
                request, default=f"Action added through the API by {request.user}"
            ),
        )
        return self._answer(plan, status.HTTP_201_CREATED)

    @extend_schema(request=ControlInputSerializer, responses={201: ImprovementPlanSerializer})
    @action(detail=True, methods=["post"], url_path="controls")
    def add_control(self, request, *args, **kwargs):
        """Add a safeguarding or continuity control to a plan not closed."""
        plan = self.get_object()
        self.check_write("plan.manage")
        payload = ControlInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        plans.plan_control_add(
            membership=self.membership,
            plan=plan,
            control=plans.ControlInput(**payload.validated_data),
            reason=change_reason(
                request, default=f"Control added through the API by {request.user}"
            ),
        )
        return self._answer(plan, status.HTTP_201_CREATED)

    @extend_schema(request=NoteSerializer, responses={200: ImprovementPlanSerializer})
    @action(detail=True, methods=["post"])
    def agree(self, request, *args, **kwargs):
        """Record a draft plan as agreed with the provider."""
        plan = self.get_object()
        self.check_write("plan.manage")
        payload = NoteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        plan = plans.plan_agree(
            membership=self.membership, plan=plan, note=payload.validated_data.get("note", "")
        )
        return self._answer(plan)

    @extend_schema(request=CloseSerializer, responses={200: ImprovementPlanSerializer})
    @action(detail=True, methods=["post"])
    def close(self, request, *args, **kwargs):
        """Close a plan with a note saying why."""
        plan = self.get_object()
        self.check_write("plan.manage")
        payload = CloseSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        plan = plans.plan_close(
            membership=self.membership,
            plan=plan,
            note=payload.validated_data.get("close_note", ""),
        )
        return self._answer(plan)

    @extend_schema(request=ReviewInputSerializer, responses={201: ImprovementPlanSerializer})
    @action(detail=True, methods=["post"])
    def reviews(self, request, *args, **kwargs):
        """Record a review confirming every control of the plan in place or not."""
        plan = self.get_object()
        self.check_write("plan.review")
        payload = ReviewInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        checks = {
            c["control"]: plans.CheckInput(in_place=c.get("in_place"), note=c.get("note", ""))
            for c in data.get("checks", [])
        }
        plans.plan_review(
            membership=self.membership,
            plan=plan,
            held_on=data["held_on"],
            note=data.get("note", ""),
            checks=checks,
            reason=change_reason(
                request, default=f"Plan reviewed through the API by {request.user}"
            ),
        )
        return self._answer(plan, status.HTTP_201_CREATED)


class ActionFilter(django_filters.FilterSet):
    plan = django_filters.NumberFilter(field_name="plan_id")
    status = django_filters.MultipleChoiceFilter(choices=ActionStatus.choices)


def _actions(*, membership):
    return (
        plans.actions_visible(membership=membership)
        .select_related("done_by", "verified_by", "reopened_by")
        .prefetch_related("contract_kpis__kpi")
        .order_by("plan_id", "due_on", "id")
    )


class PlanActionViewSet(_Answer, ReadOnlyViewSet):
    """Improvement-plan actions: the provider marks them done, the commissioning
    side verifies or reopens them."""

    queryset = PlanAction.objects.all()
    serializer_class = PlanActionSerializer
    selector = staticmethod(_actions)
    lookup_url_kwarg = "plan_action_pk"
    filterset_class = ActionFilter
    write_action = "plan_action.complete"
    http_method_names = ["get", "post", "head", "options"]

    @extend_schema(request=DoneSerializer, responses={200: PlanActionSerializer})
    @action(detail=True, methods=["post"])
    def done(self, request, *args, **kwargs):
        """Mark an open action done, with the evidence that it is (the provider)."""
        obj = self.get_object()
        self.check_write("plan_action.complete")
        payload = DoneSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        obj = plans.action_mark_done(
            membership=self.membership,
            action=obj,
            evidence=payload.validated_data.get("completion_evidence", ""),
        )
        return self._answer(obj)

    @extend_schema(request=NoteSerializer, responses={200: PlanActionSerializer})
    @action(detail=True, methods=["post"])
    def verify(self, request, *args, **kwargs):
        """Verify a done action (the commissioning side)."""
        obj = self.get_object()
        self.check_write("plan_action.verify")
        payload = NoteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        obj = plans.action_verify(
            membership=self.membership, action=obj, note=payload.validated_data.get("note", "")
        )
        return self._answer(obj)

    @extend_schema(request=ReopenSerializer, responses={200: PlanActionSerializer})
    @action(detail=True, methods=["post"])
    def reopen(self, request, *args, **kwargs):
        """Send a done action back to open, with the reason (the commissioning side)."""
        obj = self.get_object()
        self.check_write("plan_action.reopen")
        payload = ReopenSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        obj = plans.action_reopen(
            membership=self.membership,
            action=obj,
            reason=payload.validated_data.get("reopen_reason", ""),
        )
        return self._answer(obj)
