"""Request-level guards that answer in the product's own way.

``RequestSizeLimitMiddleware`` refuses a body over ``settings.MAX_UPLOAD_BYTES``
(the one limit: a spreadsheet, a JSON body, a form) from its Content-Length,
before anything reads it — the CSRF check, DRF's parsers, a form — so every
route answers it the same way: JSON 413 under /api/, the styled 413 page
elsewhere. It must come before CsrfViewMiddleware in MIDDLEWARE, whose
``process_view`` is the first thing to read a form's body.

``ErrorPagesMiddleware`` turns a view's Http404 and PermissionDenied, and a URL
that matches no route, into the product's 404/403 (oversight.views) even when
DEBUG is on, where Django would show its technical pages; with DEBUG off the
same views answer through the handlers in oversight/urls.py.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404

from . import views

# A multipart form wraps a file in a few hundred bytes of boundaries and other
# fields (the CSRF token); allow for them, so that a file of exactly the limit
# reaches the form, whose own check says how big the file is.
MULTIPART_ENVELOPE_BYTES = 64 * 1024


def body_limit(request) -> int:
    if request.content_type == "multipart/form-data":
        return settings.MAX_UPLOAD_BYTES + MULTIPART_ENVELOPE_BYTES
    return settings.MAX_UPLOAD_BYTES


class RequestSizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > body_limit(request):
            return views.too_large(request)
        return self.get_response(request)


class ErrorPagesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.DEBUG and response.status_code == 404 and request.resolver_match is None:
            # No route matched: Django's technical 404 (a list of every URL
            # pattern) in DEBUG; the product's 404 instead, as in production.
            return views.page_not_found(request)
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, Http404):
            return views.page_not_found(request, exception)
        if isinstance(exception, PermissionDenied):
            return views.permission_denied(request, exception)
        if isinstance(exception, RequestDataTooBig):
            return views.too_large(request)
        return None
