"""The API's base: every tenant-scoped viewset stands on these.

``TenantScopedViewSet`` resolves the membership once in ``initial()`` from the
URL's tenant slug (404 without one) and reads rows only from the viewset's
selector. ``ReadOnlyViewSet`` lists and retrieves; ``ServiceWriteViewSet`` also
creates and updates through services. Write permission is checked one way:
``check_write()``, which calls ``oversight.permissions.require`` (the services
check the role again). A service's Django ValidationError becomes a 400 with
field-level messages. Every route's JSON parser is ``oversight.parsers.JSONParser``
(settings.REST_FRAMEWORK).
"""

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

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


class TenantScopedViewSet(viewsets.GenericViewSet):
    """Subclasses set ``selector`` (``membership=`` → queryset) and ``write_action``."""

    selector = None
    write_action: str | None = None
    membership = None

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
    return drf_exception_handler(exc, context)
