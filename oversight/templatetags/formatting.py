"""Template filters for ``oversight.formatting``: ``{% load formatting %}``.

``{{ value|number:unit }}``, ``{{ low|limit:unit }}``, ``{{ d|day }}``,
``{{ dt|moment }}``, ``{{ period|period }}``, ``{{ text|shorten:120 }}`` and
``{% money amount currency %}`` (in the tenant's locale, from the context).
"""

from django import template
from django.utils import timezone

from oversight import formatting

register = template.Library()


@register.filter
def number(value, unit=""):
    return formatting.number(value, unit)


@register.filter
def limit(value, unit=""):
    return formatting.limit(value, unit)


@register.filter
def day(value):
    """A date (or a datetime's day, in the current time zone): "1 Feb 2027"."""
    if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
        value = timezone.localtime(value)
    return formatting.date(value)


@register.filter
def moment(value):
    """A datetime in the current time zone: "1 Feb 2027 14:05"."""
    if not value:
        return formatting.NONE
    return formatting.datetime(value, tz=timezone.get_current_timezone())


@register.filter
def period(value):
    return formatting.period_label(value)


@register.filter
def shorten(value, n):
    return formatting.shorten(str(value), int(n))


@register.simple_tag(takes_context=True)
def money(context, amount, currency):
    """The amount with its currency's symbol, in the tenant's locale."""
    tenant = context.get("tenant")
    locale = formatting.tenant_locale(tenant) if tenant is not None else None
    return formatting.money(amount, currency, locale)
