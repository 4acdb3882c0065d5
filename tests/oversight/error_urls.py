"""The product's URLs plus two that fail, for the 500 page tests
(``@pytest.mark.urls("tests.oversight.error_urls")``)."""

from django.urls import path

from oversight.urls import handler400, handler403, handler404, handler500, urlpatterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


def boom(request):
    raise RuntimeError("a deliberate failure, for the 500 page tests")


urlpatterns = [*urlpatterns, path("boom/", boom), path("api/boom/", boom)]
