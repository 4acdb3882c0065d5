"""Ladder presets: ladders a tenant admin can start from besides the default
(escalation/ladder.py DEFAULT_STAGES), kept as data in this folder's YAML files
(one preset a file), read and checked with ``oversight.demo_files.load``.

A preset's stages carry the fields an admin edits on a ladder (``EDITABLE_FIELDS``);
``services.ladder_preset_adopt`` writes them as the tenant's next ladder
version, edited from then on like any other. What each preset was checked
against: docs/escalation.md, "Ladder presets".
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path

from contracts.models import Frequency
from oversight.demo_files import choices, load

from ..models import DeadlineBasis, LadderStage

PRESETS_DIR = Path(__file__).parent


@dataclass(frozen=True)
class PresetStage:
    level: int
    name: str
    description: str
    response_days: int | None
    reporting_frequency: str = field(metadata=choices(Frequency.values))
    deadline_basis: str = field(
        default=DeadlineBasis.CALENDAR.value, metadata=choices(DeadlineBasis.values)
    )
    plan_required: bool = False
    executive_approval_required: bool = False
    withholding_cap_percent: str | None = None  # "2.00": a percentage, as text (exact)

    def values(self) -> dict:
        """The stage's fields as ``LadderStage`` takes them."""
        values = asdict(self)
        cap = values["withholding_cap_percent"]
        values["withholding_cap_percent"] = Decimal(cap) if cap is not None else None
        return values


@dataclass(frozen=True)
class Preset:
    key: str
    name: str
    summary: str
    source: str
    stages: tuple[PresetStage, ...]

    def problems(self):
        levels = [s.level for s in self.stages]
        if sorted(levels) != list(range(len(levels))):
            yield "stages", f"the levels must run 0, 1, 2… without gaps or repeats (got {levels})"

    def ladder_stages(self, *, tenant_id: int) -> list[LadderStage]:
        """The preset's stages, unsaved (for a preview, or to write)."""
        return [LadderStage(tenant_id=tenant_id, **stage.values()) for stage in self.stages]


@functools.cache
def presets() -> dict[str, Preset]:
    """Every preset by key, in file-name order."""
    found = {}
    for path in sorted(PRESETS_DIR.glob("*.yaml")):
        preset = load(path, Preset)
        found[preset.key] = preset
    return found


def preset_get(key: str) -> Preset | None:
    return presets().get(key)
