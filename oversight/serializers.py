"""What every writable API serializer shares: a field the serializer does not
know is refused, never silently dropped.

A typo (``narative`` for ``narrative``) would otherwise answer 201 and store an
empty narrative; the client learns of it only when someone reads the return.
Read-only fields are known (a client may send back what it read); they are
ignored as DRF ignores them.
"""

from collections.abc import Mapping
from difflib import get_close_matches

from rest_framework import serializers
from rest_framework.settings import api_settings

# Keys that carry the request, not data: the browsable API's HTML forms post
# Django's CSRF token in the body.
TRANSPORT_FIELDS = frozenset({"csrfmiddlewaretoken"})


class RefuseUnknownFieldsMixin:
    """Put first in a serializer's bases. ``also_accepted`` names keys a view
    reads from the same body (``change_reason``, see ``oversight.api``)."""

    also_accepted: frozenset[str] = frozenset({"change_reason"})

    def unknown_fields(self, data) -> dict[str, list[str]]:
        if not isinstance(data, Mapping):
            return {}  # DRF answers "expected a dictionary" itself
        known = set(self.fields) | set(self.also_accepted) | TRANSPORT_FIELDS
        writable = sorted(name for name, field in self.fields.items() if not field.read_only)
        errors = {}
        for name in data:
            if name in known:
                continue
            guess = get_close_matches(str(name), writable, n=1)
            hint = (
                f"did you mean {guess[0]!r}?" if guess else "the fields are " + ", ".join(writable)
            )
            errors[str(name)] = [f"unknown field {name!r}: {hint}"]
        return errors

    def to_internal_value(self, data):
        unknown = self.unknown_fields(data)
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as error:
            if not unknown:
                raise
            detail = error.detail
            if not isinstance(detail, Mapping):
                detail = {api_settings.NON_FIELD_ERRORS_KEY: detail}
            raise serializers.ValidationError({**unknown, **detail}) from error
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class StrictSerializer(RefuseUnknownFieldsMixin, serializers.Serializer):
    """A plain input serializer that refuses unknown fields."""


class NoInputSerializer(StrictSerializer):
    """A step that takes no input (submit, start): the body is still read, so a
    stray payload is refused (unknown fields, JSON nested too deep) and never
    passes unread."""


class StrictModelSerializer(RefuseUnknownFieldsMixin, serializers.ModelSerializer):
    """A model serializer that refuses unknown fields."""
