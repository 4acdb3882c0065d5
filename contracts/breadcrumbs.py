"""The breadcrumbs of the contract pages and of every page under a contract
(its KPIs, returns, values, dashboard and signals): one trail, built here."""

from __future__ import annotations

from oversight.views import tenant_url


def contracts_crumbs(membership, *extra) -> list[tuple[str, str]]:
    """Contracts › ``extra``."""
    return [("Contracts", tenant_url(membership, "contract_list")), *extra]


def contract_crumbs(membership, contract, *extra) -> list[tuple[str, str]]:
    """Contracts › the contract's reference › ``extra``."""
    return contracts_crumbs(
        membership,
        (contract.reference, tenant_url(membership, "contract_detail", contract_pk=contract.pk)),
        *extra,
    )
