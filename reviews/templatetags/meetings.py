"""Meeting times on the tenant's clock: a meeting at 10:00 in Riverbend is at
10:00 on its page, whatever the server's time zone."""

from django import template

from oversight import formatting

register = template.Library()


@register.filter
def local_moment(value, zone):
    """ "3 Nov 2026 10:00" in ``zone`` (the tenant's)."""
    return formatting.datetime(value, tz=zone)


@register.filter
def local_time(value, zone):
    """ "11:00" in ``zone``."""
    if not value:
        return formatting.NONE
    return value.astimezone(zone).strftime("%H:%M")
