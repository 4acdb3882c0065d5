"""Reading the API's one error shape in tests.

Invalid input answers ``{"errors": [{"where", "field", "message"}, …]}``
(oversight/api.py, docs/api.md "Errors"). ``field_errors`` checks that shape and
reads it back as messages by field, so a test can say which field was refused
and why: ``{"end_date": ["The end date is before the start date."]}``. A
problem in a nested part of the body is keyed by where it is as well
(``values[1].value``); a list item by its index (``protected_core_components[1]``).
"""

PLAIN_WHERE = frozenset({"body", "query"})


def field_errors(response) -> dict[str, list[str]]:
    body = response.json()
    assert set(body) == {"errors"}, body
    by_field: dict[str, list[str]] = {}
    for problem in body["errors"]:
        assert set(problem) == {"where", "field", "message"}, problem
        key = problem["field"]
        if problem["where"] not in PLAIN_WHERE:
            key = f"{problem['where']}.{key}"
        by_field.setdefault(key, []).append(problem["message"])
    return by_field
