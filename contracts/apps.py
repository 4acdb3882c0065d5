from django.apps import AppConfig


class ContractsConfig(AppConfig):
    name = "contracts"

    def ready(self) -> None:
        """What the contract register adds to the core (oversight/registry.py):
        its demo part, the register of each demo tenant (contracts/demo.py), at
        orders 30-40 and 60-80 around the core's memberships (50)."""
        from oversight import registry

        from . import demo

        for order, part in demo.PARTS:
            registry.demo_part(f"contracts.{part.__name__}", part, order=order)
