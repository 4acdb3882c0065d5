"""What variations lets other feature apps read (pyproject.toml's
import-linter ``ignore_imports`` lists each importer, e.g.
"reviews.** -> variations.exports"): plain values, scoped by the membership.

- ``variations_in_progress``: a contract's variations not yet in effect
  (draft, submitted, under assessment, approved), for a meeting's pack.
"""

from __future__ import annotations

from .selectors import variations_in_progress_of


def variations_in_progress(*, membership, contract) -> list[dict]:
    """``{"reference", "kind_label", "status_label", "title", "effective_on",
    "url"}`` per variation of ``contract`` in progress, soonest effective first."""
    return [
        {
            "reference": v.reference,
            "kind_label": v.get_kind_display(),
            "status_label": v.get_status_display(),
            "title": v.title,
            "effective_on": v.effective_on,
            "url": v.get_absolute_url(),
        }
        for v in variations_in_progress_of(membership=membership, contract=contract).order_by(
            "effective_on", "pk"
        )
    ]
