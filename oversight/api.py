"""The API's base: every tenant-scoped viewset stands on these.

``TenantScopedViewSet`` resolves the membership once in ``initial()`` from the
URL's tenant slug (404 without one) and reads rows only from the viewset's
selector. ``ReadOnlyViewSet`` lists and retrieves; ``ServiceWriteViewSet`` also
creates and updates through services. Write permission is checked one way:
``check_write()``, which calls ``oversight.permissions.require`` (the services
check the role again). Every route's JSON parser is
``oversight.parsers.JSONParser`` (settings.REST_FRAMEWORK).

Errors answer one shape, rendered by ``exception_handler`` below (docs/api.md,
"Errors"): ``{"detail": "…"}`` for an error that is not about a field, and
``{"errors": [{"where": …, "field": …, "message": …}]}`` for invalid input, a
service's Django ValidationError included. Every route answers these two
shapes; none keeps DRF's ``{"field": ["…"]}``.
"""

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from .permissions import can, require
from .tenancy import membership_for


def change_reason(request, default: str) -> str:
    """The reason for an API change: the X-Change-Reason header or a
    ``change_reason`` field; creating may fall back to a default, changing may not."""
    reason = request.headers.get("X-Change-Reason") or ""
    if not reason and hasattr(request.data, "get"):
        reason = request.data.get("change_reason") or ""
    reason = str(reason).strip() or default
    if not reason:
        raise exceptions.ValidationError(
            {"change_reason": ["Say why this change is made (X-Change-Reason header or field)."]}
        )
    return reason


class FieldErrors(exceptions.APIException):
    """Invalid input, as problems that each say where, which field and what is
    wrong: answered ``{"errors": [{"where", "field", "message"}, …]}``. A problem
    is a dict with those keys or anything with those attributes
    (``performance.validation.Problem``)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "Invalid input."

    def __init__(self, problems, status_code: int | None = None):
        super().__init__()
        self.problems = [_as_problem(p) for p in problems]
        if status_code is not None:
            self.status_code = status_code


def _as_problem(problem) -> dict:
    if isinstance(problem, dict):
        return {key: problem[key] for key in ("where", "field", "message")}
    return {"where": problem.where, "field": problem.field, "message": problem.message}


def field_problems(detail, where: str) -> list[dict]:
    """DRF's error detail (``{"field": ["…"]}``, nested for lists and objects)
    as flat problems: ``{"values": [{}, {"value": ["…"]}]}`` → where
    ``values[1]``, field ``value``; messages not about one field name
    ``non_field_errors``."""
    if isinstance(detail, dict):
        problems = []
        for key, sub in detail.items():
            if isinstance(sub, list) and any(isinstance(item, dict) for item in sub):
                for index, item in enumerate(sub):
                    problems.extend(field_problems(item, f"{key}[{index}]") if item else [])
            elif isinstance(sub, dict):  # a list's errors keyed by index, or an object's
                for inner, item in sub.items():
                    if str(inner).isdigit() and not isinstance(item, dict):
                        # an item of a list of plain values: the item is the field
                        problems.extend(field_problems({f"{key}[{inner}]": item}, where))
                    elif str(inner).isdigit():
                        problems.extend(field_problems(item, f"{key}[{inner}]"))
                    else:
                        problems.extend(field_problems({inner: item}, str(key)))
            else:
                problems.extend(
                    {"where": where, "field": str(key), "message": str(message)}
                    for message in (sub if isinstance(sub, list) else [sub])
                )
        return problems
    messages = detail if isinstance(detail, list) else [detail]
    return [
        {"where": where, "field": api_settings.NON_FIELD_ERRORS_KEY, "message": str(message)}
        for message in messages
    ]


class TenantScopedViewSet(viewsets.GenericViewSet):
    """Subclasses set ``selector`` (``membership=`` → queryset) and ``write_action``.

    Invalid input answers ``{"errors": […]}`` (``field_problems_of`` turns DRF's
    detail into problems; a route may give its own)."""

    selector = None
    write_action: str | None = None
    membership = None

    def field_problems_of(self, detail) -> list[dict]:
        where = "query" if self.request.method in ("GET", "HEAD", "OPTIONS") else "body"
        return field_problems(detail, where)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.membership = membership_for(request.user, kwargs["tenant_slug"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return self.queryset.none()
        return type(self).selector(membership=self.membership)

    def check_write(self, *actions: str) -> None:
        """The one write-permission check: passes when the role may perform any
        of ``actions`` (default: the viewset's ``write_action``); otherwise
        ``permissions.require`` refuses with a 403 naming the first action."""
        actions = actions or (self.write_action,)
        if not any(can(self.membership, action) for action in actions[1:]):
            require(self.membership, actions[0])


class ReadOnlyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """List and retrieve, from the selector."""


class ServiceWriteViewSet(ReadOnlyViewSet):
    """List, retrieve, create and update; creates and updates call services.
    Subclasses set ``write_action`` and give ``create_service(membership, data,
    reason)`` and ``update_service(membership, obj, data, reason)``."""

    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "membership": self.membership}

    def create(self, request, *args, **kwargs):
        self.check_write()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reason = change_reason(request, default=f"Created through the API by {request.user}")
        obj = self.create_service(self.membership, serializer.validated_data, reason)
        return Response(self.get_serializer(obj).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, partial=False, **kwargs):
        obj = self.get_object()
        self.check_write()
        serializer = self.get_serializer(obj, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        reason = change_reason(request, default="")
        obj = self.update_service(self.membership, obj, serializer.validated_data, reason)
        return Response(self.get_serializer(obj).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)


def exception_handler(exc, context):
    """The one place an API error becomes a response (settings.REST_FRAMEWORK)."""
    if isinstance(exc, FieldErrors):
        set_rollback()
        return Response({"errors": exc.problems}, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            # Django files errors about several fields (a per-tenant unique
            # constraint) under "__all__"; API clients expect DRF's key.
            detail = {
                (api_settings.NON_FIELD_ERRORS_KEY if key == NON_FIELD_ERRORS else key): value
                for key, value in exc.message_dict.items()
            }
        else:
            detail = {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    view = context.get("view")
    if isinstance(exc, exceptions.ValidationError) and isinstance(view, TenantScopedViewSet):
        return exception_handler(FieldErrors(view.field_problems_of(exc.detail)), context)
    return drf_exception_handler(exc, context)
