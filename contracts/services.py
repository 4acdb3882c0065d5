"""Writes to the contract register. Each service validates, checks the role,
keeps every foreign key inside the caller's tenant, and leaves history. A
contract's status changes only along ``CONTRACT_TRANSITIONS``, through
``oversight.workflow.transition``."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction

from oversight import registry, workflow
from oversight.history import save_with_history
from oversight.models import Membership, Role
from oversight.permissions import require

from .models import (
    CONTRACT_TRANSITIONS,
    Contract,
    ContractStatus,
    DeliverySite,
    Milestone,
    Provider,
    ServiceType,
)

CONTRACT_WORKFLOW = workflow.declare(Contract, CONTRACT_TRANSITIONS, noun="contract")

# Roles that may be named as a contract's owners.
OWNER_ROLES = {
    "contract_manager": {Role.ADMIN, Role.COMMISSIONER},
    "service_owner": {Role.ADMIN, Role.COMMISSIONER, Role.EXECUTIVE},
    "executive_sponsor": {Role.EXECUTIVE, Role.ADMIN},
}


def _check_tenant_refs(membership: Membership, instance: models.Model) -> None:
    """Every tenant-owned foreign key must point inside the caller's tenant."""
    errors = {}
    for field in instance._meta.concrete_fields:
        if not field.is_relation or field.name == "tenant":
            continue
        target = getattr(instance, field.name, None)
        if getattr(target, "tenant_id", membership.tenant_id) != membership.tenant_id:
            errors[field.name] = "Choose one from this organisation."
    if isinstance(instance, Contract):
        for name, roles in OWNER_ROLES.items():
            user_id = getattr(instance, f"{name}_id")
            if user_id is None:
                continue
            ok = Membership.objects.filter(
                user_id=user_id, tenant_id=membership.tenant_id, role__in=roles, is_active=True
            ).exists()
            if not ok:
                label = instance._meta.get_field(name).verbose_name
                allowed = ", ".join(sorted(str(r) for r in roles))
                errors[name] = f"The {label} must be a member of this organisation ({allowed})."
    if errors:
        raise ValidationError(errors)


def _apply(instance: models.Model, data: dict[str, Any]) -> None:
    for key, value in data.items():
        setattr(instance, key, value)


def validate_in_tenant(membership: Membership, instance: models.Model) -> None:
    """The register's checks of a row before it is saved, shared with the CSV
    import (contracts/imports.py): it belongs to the caller's tenant, every
    foreign key points inside it, named owners are members in a suitable role,
    and ``full_clean`` passes. Raises ``ValidationError`` by field."""
    instance.tenant_id = membership.tenant_id
    _check_tenant_refs(membership, instance)
    instance.full_clean()


def _write(
    *, membership: Membership, instance: models.Model, data: dict, reason: str, action: str
) -> models.Model:
    require(membership, action)
    _apply(instance, data)
    validate_in_tenant(membership, instance)
    save_with_history(instance, user=membership.user, reason=reason)
    return instance


def _locked(instance: models.Model) -> models.Model:
    """Re-read the row under a lock so two editors cannot interleave."""
    return type(instance).objects.select_for_update().get(pk=instance.pk)


@transaction.atomic
def provider_create(*, membership: Membership, data: dict, reason: str) -> Provider:
    return _write(
        membership=membership,
        instance=Provider(),
        data=data,
        reason=reason,
        action="provider.change",
    )


@transaction.atomic
def provider_update(
    *, membership: Membership, provider: Provider, data: dict, reason: str
) -> Provider:
    return _write(
        membership=membership,
        instance=_locked(provider),
        data=data,
        reason=reason,
        action="provider.change",
    )


@transaction.atomic
def service_type_create(*, membership: Membership, data: dict, reason: str) -> ServiceType:
    return _write(
        membership=membership,
        instance=ServiceType(),
        data=data,
        reason=reason,
        action="service_type.change",
    )


@transaction.atomic
def service_type_update(
    *, membership: Membership, service_type: ServiceType, data: dict, reason: str
) -> ServiceType:
    return _write(
        membership=membership,
        instance=_locked(service_type),
        data=data,
        reason=reason,
        action="service_type.change",
    )


@transaction.atomic
def contract_create(*, membership: Membership, data: dict, reason: str) -> Contract:
    data = dict(data)
    data.setdefault("currency", membership.tenant.currency)
    contract = _write(
        membership=membership,
        instance=Contract(),
        data=data,
        reason=reason,
        action="contract.change",
    )
    contracts_saved(membership=membership, contracts=[contract])
    return contract


@transaction.atomic
def contract_update(
    *, membership: Membership, contract: Contract, data: dict, reason: str
) -> Contract:
    contract = _locked(contract)
    to = data.get("status", contract.status)
    if to != contract.status and to in ContractStatus.values:
        # A change of status goes along the declared map, with the rest of the
        # edit in the same save (one history entry); an unknown status is left
        # to full_clean, which names the choices.
        rest = {key: value for key, value in data.items() if key != "status"}
        contract = workflow.transition(
            contract,
            to,
            membership=membership,
            action="contract.change",
            reason=reason,
            fields=rest,
            validate=lambda changed: validate_in_tenant(membership, changed),
        )
    else:
        contract = _write(
            membership=membership,
            instance=contract,
            data=data,
            reason=reason,
            action="contract.change",
        )
    contracts_saved(membership=membership, contracts=[contract])
    return contract


def contracts_saved(
    *, membership: Membership, contracts: list[Contract], reason: str | None = None
) -> None:
    """What other apps do when contracts are created or changed, in the caller's
    transaction: the hooks registered in oversight/registry.py (performance's
    keeps the reporting calendar in step with the dates, frequency and status).
    One call for many contracts of the tenant (the register's import, with the
    import's ``reason``) is one call per hook."""
    for hook in registry.contract_saved_hooks():
        hook.run(membership=membership, contracts=contracts, reason=reason)


@transaction.atomic
def site_create(
    *, membership: Membership, contract: Contract, data: dict, reason: str
) -> DeliverySite:
    return _write(
        membership=membership,
        instance=DeliverySite(contract=contract),
        data=data,
        reason=reason,
        action="site.change",
    )


@transaction.atomic
def site_update(
    *, membership: Membership, site: DeliverySite, data: dict, reason: str
) -> DeliverySite:
    return _write(
        membership=membership,
        instance=_locked(site),
        data=data,
        reason=reason,
        action="site.change",
    )


@transaction.atomic
def milestone_create(
    *, membership: Membership, contract: Contract, data: dict, reason: str
) -> Milestone:
    return _write(
        membership=membership,
        instance=Milestone(contract=contract),
        data=data,
        reason=reason,
        action="milestone.change",
    )


@transaction.atomic
def milestone_update(
    *, membership: Membership, milestone: Milestone, data: dict, reason: str
) -> Milestone:
    return _write(
        membership=membership,
        instance=_locked(milestone),
        data=data,
        reason=reason,
        action="milestone.change",
    )
