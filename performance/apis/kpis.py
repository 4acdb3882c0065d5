"""The KPI library and a contract's KPIs through the API (read-only: they are
changed on the pages, by the roles ACTIONS names)."""

from contracts.filters import ContractChildFilter
from oversight.api import ReadOnlyViewSet

from .. import selectors
from ..models import (
    ContractKpi,
    Kpi,
)
from ..serializers import (
    ContractKpiSerializer,
    KpiSerializer,
)


class KpiViewSet(ReadOnlyViewSet):
    """The tenant's KPI library."""

    queryset = Kpi.objects.all()
    serializer_class = KpiSerializer
    selector = staticmethod(selectors.kpis_visible)
    lookup_url_kwarg = "kpi_pk"


def _contract_kpis(*, membership):
    return selectors.contract_kpis_visible(membership=membership).prefetch_related("phase_targets")


class ContractKpiViewSet(ReadOnlyViewSet):
    """The KPIs each contract reports, with targets, phase targets and benchmarks."""

    queryset = ContractKpi.objects.all()
    serializer_class = ContractKpiSerializer
    selector = staticmethod(_contract_kpis)
    lookup_url_kwarg = "contract_kpi_pk"
    filterset_class = ContractChildFilter
