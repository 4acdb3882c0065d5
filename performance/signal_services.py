"""Writes to signals made by people, and the signals' declared life.

A signal is opened by the engine (``signal_engine``) when its condition appears;
a commissioner acknowledges it with a note; the engine reopens an acknowledged
signal whose severity rose and closes one whose condition cleared. Those are the
only changes of status (``SIGNAL_TRANSITIONS``), each made through
``oversight.workflow``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from oversight import workflow
from oversight.models import Membership
from oversight.permissions import require

from .models import Signal, SignalStatus

# status -> statuses it may become
SIGNAL_TRANSITIONS: dict[str, set[str]] = {
    SignalStatus.OPEN: {SignalStatus.ACKNOWLEDGED, SignalStatus.CLOSED},
    # Reopened when it grows worse than when acknowledged; closed when it clears.
    SignalStatus.ACKNOWLEDGED: {SignalStatus.OPEN, SignalStatus.CLOSED},
    SignalStatus.CLOSED: set(),  # a condition that reappears opens a new signal
}

SIGNAL_WORKFLOW = workflow.declare(
    Signal,
    SIGNAL_TRANSITIONS,
    noun="signal",
    stamps={SignalStatus.ACKNOWLEDGED: "acknowledged_at", SignalStatus.CLOSED: "closed_at"},
    # Only acknowledging is a person's act, and the form asks for the note.
    refusal="This {noun} is {source} already.",
    error_field="note",
)


@transaction.atomic
def signal_acknowledge(*, membership: Membership, signal: Signal, note: str) -> Signal:
    """Acknowledge an open signal, saying what was done or decided about it."""
    require(membership, "signal.acknowledge")
    note = note.strip()
    if not note:
        raise ValidationError({"note": "Say what you have done or decided about this signal."})
    signal = Signal.objects.select_for_update().get(pk=signal.pk)
    return workflow.transition(
        signal,
        SignalStatus.ACKNOWLEDGED,
        membership=membership,
        action="signal.acknowledge",
        reason=f"Acknowledged: {note}",
        fields={"acknowledged_by": membership.user, "acknowledgement_note": note},
    )
