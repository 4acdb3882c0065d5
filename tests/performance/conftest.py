"""Fixtures shared by the returns tests."""

import pytest

from tests.performance.test_validation import build_returns_world


@pytest.fixture
def rw(world):
    """A returns world (tests/performance/test_validation.py): a provider's
    contract with KPIs and a period to report, in the two-tenant world."""
    return build_returns_world(world)
