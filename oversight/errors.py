"""The domain's own errors, shared by every app.

Input that comes in many rows at once (a return's values, a spreadsheet, the
contract register's CSV) is checked whole: every ``Problem`` found is reported
together, each saying where (``row 4``, ``values[2]``, ``return``), which field
and what is wrong, and ``ImportRejected`` carries them when nothing was
written. Pages put each problem on its field, the API answers them as
``{"errors": [...]}``, a management command prints them and exits; no service
raises a page's, the API's or a command's own error.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Problem:
    where: str  # "row 4", "values[2]", "return"; "" when the message says it
    field: str  # the column or key: "kpi_code", "value", …; "" for the whole row
    message: str

    def __str__(self) -> str:
        place = ", ".join(part for part in (self.where, self.field) if part)
        return f"{place}: {self.message}" if place else self.message

    def as_dict(self) -> dict:
        return {"where": self.where, "field": self.field, "message": self.message}


class ImportRejected(Exception):
    """Input with any problem: nothing was written. ``problems`` lists them all."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s); nothing was written")
        self.problems = list(problems)
