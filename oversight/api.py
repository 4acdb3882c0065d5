"""Base for every tenant-scoped API viewset.

The membership is resolved once in ``initial()`` from the URL's tenant slug
(404 without one), rows come only from the viewset's selector, and writes go
through services with the role checked there. A service's Django
ValidationError becomes a 400 with field-level messages. Every route's JSON parser
is ``oversight.parsers.JSONParser`` (settings.REST_FRAMEWORK).
"""

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, viewsets
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from .permissions import can
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

    def check_write(self):
        if not can(self.membership, self.write_action):
            raise exceptions.PermissionDenied("Your role cannot change this.")


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
