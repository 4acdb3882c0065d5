"""Working days (oversight/workdays.py): weekends and the tenant's public
holidays from the holidays library skipped; the tenant's calendar validated,
and set by the admin on the Settings page. Fixed dates only."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from oversight import services, workdays
from oversight.models import Role, Tenant
from oversight.workdays import HolidayCalendar, add_working_days, working_days_between

D = dt.date
ENGLAND = HolidayCalendar("GB", "ENG")
US = HolidayCalendar("US")


def test_a_weekend_is_skipped():
    assert add_working_days(D(2026, 3, 6), 1) == D(2026, 3, 9)  # Friday + 1: Monday
    assert add_working_days(D(2026, 3, 7), 1) == D(2026, 3, 9)  # from a Saturday
    assert add_working_days(D(2026, 3, 6), 0) == D(2026, 3, 6)
    assert add_working_days(D(2026, 3, 2), 10) == D(2026, 3, 16)  # two working weeks


def test_christmas_and_the_boxing_day_substitute_in_england_and_the_new_year():
    # 25 Dec 2026 is a Friday, Boxing Day a Saturday (substitute Monday 28
    # Dec), 1 Jan 2027 a Friday: ten working days from Friday 18 December.
    assert add_working_days(D(2026, 12, 18), 10, ENGLAND) == D(2027, 1, 6)
    assert not workdays.is_working_day(D(2026, 12, 28), ENGLAND)
    # The same ten days with weekends only, and under US federal holidays
    # (Christmas and New Year's Day, no Boxing Day).
    assert add_working_days(D(2026, 12, 18), 10) == D(2027, 1, 1)
    assert add_working_days(D(2026, 12, 18), 10, US) == D(2027, 1, 5)
    assert workdays.is_working_day(D(2026, 12, 28), US)


def test_easter_in_england():
    # Good Friday 26 March and Easter Monday 29 March 2027.
    assert add_working_days(D(2027, 3, 25), 2, ENGLAND) == D(2027, 3, 31)
    assert add_working_days(D(2027, 3, 25), 2) == D(2027, 3, 29)


def test_thanksgiving_and_the_observed_fourth_of_july():
    # Thanksgiving is Thursday 26 November 2026; the Friday after is a working day.
    assert add_working_days(D(2026, 11, 23), 5, US) == D(2026, 12, 1)
    assert workdays.is_working_day(D(2026, 11, 27), US)
    # 4 July 2026 is a Saturday: the federal holiday is observed on Friday 3 July.
    assert add_working_days(D(2026, 7, 1), 3, US) == D(2026, 7, 7)
    assert add_working_days(D(2026, 7, 1), 3, ENGLAND) == D(2026, 7, 6)


def test_counting_working_days_between_dates():
    assert working_days_between(D(2026, 12, 18), D(2027, 1, 6), ENGLAND) == 10
    assert working_days_between(D(2027, 1, 6), D(2026, 12, 18), ENGLAND) == -10
    assert working_days_between(D(2026, 11, 25), D(2026, 11, 27), US) == 1
    assert working_days_between(D(2026, 3, 9), D(2026, 3, 9)) == 0
    for start in (D(2026, 12, 24), D(2027, 3, 25), D(2026, 7, 2)):
        for days in (1, 5, 10, 20):
            end = add_working_days(start, days, ENGLAND)
            assert working_days_between(start, end, ENGLAND) == days


def test_holiday_lookups_are_cached_per_country_subdivision_and_year():
    workdays.holiday_dates.cache_clear()
    add_working_days(D(2026, 12, 18), 10, ENGLAND)
    first = workdays.holiday_dates.cache_info()
    add_working_days(D(2026, 12, 18), 10, ENGLAND)
    again = workdays.holiday_dates.cache_info()
    assert first.currsize == 2  # 2026 and 2027 for GB/ENG
    assert again.currsize == 2 and again.misses == first.misses


# --- the tenant's calendar -----------------------------------------------------------


def test_a_calendar_the_library_does_not_know_is_refused_naming_the_field():
    assert workdays.calendar_problems("US", "") == {}
    assert workdays.calendar_problems("GB", "ENG") == {}
    assert workdays.calendar_problems("", "") == {}
    assert "not a country" in workdays.calendar_problems("UK", "")["holiday_country"]
    message = workdays.calendar_problems("GB", "XX")["holiday_subdivision"]
    assert "'XX' is not a subdivision of GB" in message and "ENG, NIR, SCT, WLS" in message
    assert "country first" in workdays.calendar_problems("", "ENG")["holiday_subdivision"]


@pytest.mark.django_db
def test_the_tenant_validates_its_calendar(world):
    tenant = world.a.tenant
    tenant.holiday_country, tenant.holiday_subdivision = "GB", "ENG"
    tenant.full_clean()
    tenant.holiday_country = "ZZ"
    with pytest.raises(ValidationError) as refused:
        tenant.full_clean()
    assert "holiday_country" in refused.value.message_dict


@pytest.mark.django_db
def test_the_admin_sets_the_calendar_and_bad_input_writes_nothing(world):
    tw = world.a
    admin = tw.members[Role.ADMIN]
    saved = services.tenant_calendar_set(
        membership=admin, holiday_country="gb", holiday_subdivision="eng", reason="England"
    )
    assert (saved.holiday_country, saved.holiday_subdivision) == ("GB", "ENG")
    record = saved.history.order_by("-history_date", "-history_id").first()
    assert record.history_user == admin.user and record.history_change_reason == "England"
    records = saved.history.count()
    with pytest.raises(ValidationError) as refused:
        services.tenant_calendar_set(
            membership=admin, holiday_country="GB", holiday_subdivision="TX", reason="Texas"
        )
    assert "'TX' is not a subdivision of GB" in " ".join(
        refused.value.message_dict["holiday_subdivision"]
    )
    tenant = Tenant.objects.get(pk=tw.tenant.pk)
    assert (tenant.holiday_subdivision, tenant.history.count()) == ("ENG", records)
    with pytest.raises(PermissionDenied):
        services.tenant_calendar_set(
            membership=tw.members[Role.COMMISSIONER],
            holiday_country="US",
            holiday_subdivision="",
            reason="No",
        )


@pytest.mark.django_db
def test_the_settings_page_by_role(world, client_for):
    tw = world.a
    url = reverse("tenant_settings", kwargs={"tenant_slug": tw.tenant.slug})
    admin = client_for(tw.members[Role.ADMIN])
    page = admin.get(url).content.decode()
    assert "Change the public holidays calendar" in page and "skip weekends only" in page
    refused = admin.post(url, {"holiday_country": "GB", "holiday_subdivision": "XX", "reason": "x"})
    assert refused.status_code == 400 and "is not a subdivision of GB" in refused.content.decode()
    saved = admin.post(
        url, {"holiday_country": "GB", "holiday_subdivision": "ENG", "reason": "Our bank holidays"}
    )
    assert saved.status_code == 302
    page = admin.get(url).content.decode()
    # The clock is pinned to 1 December 2026: the next year's bank holidays show.
    assert "United Kingdom (GB)" in page and "England (ENG)" in page
    assert "Boxing Day (observed)" in page and "28 Dec 2026" in page
    auditor = client_for(tw.members[Role.AUDITOR]).get(url)
    assert auditor.status_code == 200
    assert "Change the public holidays" not in auditor.content.decode()
    for role in (Role.COMMISSIONER, Role.EXECUTIVE, Role.PROVIDER):
        assert client_for(tw.members[role]).get(url).status_code == 403
    auditor_post = client_for(tw.members[Role.AUDITOR]).post(url, {"holiday_country": "US"})
    assert auditor_post.status_code == 403
    assert Tenant.objects.get(pk=tw.tenant.pk).holiday_country == "GB"
