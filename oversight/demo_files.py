"""Reading a demo part's data files: YAML beside the part, checked as it is read.

Each app keeps the data of its demo part in ``<app>/demo/*.yaml`` and describes a
file with frozen dataclasses: a field without a default is a key the file must
have, a field with one may be left out, and ``choices(...)`` in a field's
metadata lists the values it accepts. ``load(path, Spec)`` reads the file and
builds ``Spec`` from it, or raises ``DemoFileError`` naming the file, where in
it, and what is wrong: a missing key, a key the spec does not have (with the
nearest one it does), a value of the wrong kind or not among the choices. A spec
may add checks across its records (a contract naming a provider the file does
not have) in a ``problems()`` method yielding ``(where, message)`` pairs.

Supported field types: ``str``, ``int``, ``float`` (an int is accepted),
``bool``, ``X | None``, ``tuple[X, ...]``, fixed ``tuple[X, Y]``,
``dict[str, X]`` and nested dataclasses. Values are checked, never coerced:
``"2400000.00"`` stays text and ``2400000.00`` without quotes is a number.
"""

from __future__ import annotations

import dataclasses
import difflib
import string
import types
import typing
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import yaml
from django.conf import settings

T = TypeVar("T")

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Keys that name a record, shown beside its position in a list ("contracts[2] RC-…").
_NAMING_KEYS = ("slug", "reference", "code", "key", "email", "title", "name")


class DemoFileError(ValueError):
    """A demo data file is missing, is not YAML, or does not match its spec."""

    def __init__(self, path: Path, where: str, message: str):
        self.path, self.where, self.message = path, where, message
        super().__init__(
            f"{shown(path)}: {where}: {message}" if where else f"{shown(path)}: {message}"
        )


def shown(path: Path) -> str:
    """The file's path from the project root where it is inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path(settings.BASE_DIR).resolve()))
    except ValueError:
        return str(path)


def choices(values: Iterable[Any]) -> dict[str, tuple]:
    """Field metadata: the values a field accepts (``field(metadata=choices(Role.values))``)."""
    return {"choices": tuple(values)}


def load(path: Path, spec: type[T]) -> T:
    """The file at ``path`` as a ``spec`` (a dataclass), checked; ``DemoFileError`` if not."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DemoFileError(path, "", "no such file") from None
    try:
        raw = yaml.load(text, Loader=_Loader)  # a safe loader: plain data only
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DemoFileError(path, where, f"not valid YAML ({problem})") from None
    data = _convert(path, raw, spec, "")
    for where, message in getattr(data, "problems", lambda: ())():
        raise DemoFileError(path, where, message)
    return data


def placeholders(template: str) -> set[str]:
    """The ``{names}`` a text template fills in."""
    return {name for _text, name, _spec, _conv in string.Formatter().parse(template) if name}


def unknown_placeholders(
    where: str, templates: Iterable[str], allowed: set[str]
) -> Iterator[tuple[str, str]]:
    """A problem for each template that fills in a name outside ``allowed``."""
    for i, template in enumerate(templates):
        try:
            extra = placeholders(template) - allowed
        except ValueError as exc:
            yield f"{where}[{i}]", f"not a valid text template ({exc})"
            continue
        if extra:
            yield (
                f"{where}[{i}]",
                f"unknown placeholder {{{sorted(extra)[0]}}} "
                f"(this text may use: {', '.join('{' + a + '}' for a in sorted(allowed))})",
            )


# --------------------------------------------------------------------------
# Checking a value against a type.
# --------------------------------------------------------------------------


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _at(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _item(where: str, index: int, value: Any) -> str:
    label = ""
    if isinstance(value, dict):
        label = next((value[k] for k in _NAMING_KEYS if isinstance(value.get(k), str)), "")
    return f"{where}[{index}]" + (f" ({label})" if label else "")


def _convert(path: Path, value: Any, tp: Any, where: str) -> Any:
    if dataclasses.is_dataclass(tp):
        return _record(path, value, tp, where)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        [inner] = [a for a in args if a is not type(None)]
        return _convert(path, value, inner, where)
    if origin is tuple:
        if not isinstance(value, list):
            raise DemoFileError(path, where, f"expected a list, got {_kind(value)}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(
                _convert(path, item, args[0], _item(where, i, item)) for i, item in enumerate(value)
            )
        if len(value) != len(args):
            raise DemoFileError(path, where, f"expected a list of {len(args)}, got {len(value)}")
        return tuple(
            _convert(path, v, a, f"{where}[{i}]")
            for i, (v, a) in enumerate(zip(value, args, strict=True))
        )
    if origin is dict:
        if not isinstance(value, dict):
            raise DemoFileError(path, where, f"expected a mapping, got {_kind(value)}")
        key_type, value_type = args
        return {
            _convert(path, k, key_type, where): _convert(path, v, value_type, _at(where, str(k)))
            for k, v in value.items()
        }
    if tp is Any:
        return value
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise DemoFileError(path, where, f"expected a number, got {_kind(value)}")
    if tp in (str, int, bool):
        if isinstance(value, tp) and (tp is bool or not isinstance(value, bool)):
            return value
        wanted = {str: "text", int: "a whole number", bool: "true or false"}[tp]
        hint = " (put it in quotes)" if tp is str and value is not None else ""
        raise DemoFileError(path, where, f"expected {wanted}, got {_kind(value)}{hint}")
    raise TypeError(f"demo_files cannot read a {tp!r} ({where})")


def _record(path: Path, value: Any, spec: type, where: str) -> Any:
    fields = [f for f in dataclasses.fields(spec) if f.init]
    names = [f.name for f in fields]
    if not isinstance(value, dict):
        raise DemoFileError(
            path, where, f"expected a mapping with the keys {', '.join(names)}; got {_kind(value)}"
        )
    for key in value:
        if key not in names:
            near = difflib.get_close_matches(str(key), names, n=1)
            hint = f"did you mean {near[0]!r}?" if near else f"the keys are: {', '.join(names)}"
            raise DemoFileError(path, _at(where, str(key)), f"unknown key {key!r} ({hint})")
    hints = typing.get_type_hints(spec)
    kwargs = {}
    for f in fields:
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if f.name not in value:
            if required:
                raise DemoFileError(path, where or "(top level)", f"missing key {f.name!r}")
            continue
        converted = _convert(path, value[f.name], hints[f.name], _at(where, f.name))
        allowed = f.metadata.get("choices")
        if allowed is not None and converted is not None and converted not in allowed:
            raise DemoFileError(
                path,
                _at(where, f.name),
                f"{converted!r} is not one of: {', '.join(str(a) for a in allowed)}",
            )
        kwargs[f.name] = converted
    return spec(**kwargs)
