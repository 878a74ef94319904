"""Typed recipe settings: one frozen dataclass per recipe family, checked and converted from ``--set``.

A recipe's own settings (time steps, layer sizes, neuron constants, ...) are the fields of a
:class:`Settings` subclass, each declared with :func:`setting` (default and one line of help)::

    @dataclasses.dataclass(frozen=True)
    class RateImageSettings(Settings):
        steps: int = setting(25, "time steps per sample")
        hidden: tuple[int, ...] = setting((128,), "hidden layer sizes")

``--set key=value`` strings are converted by the field's annotated type (``int``, ``float``, ``bool``,
``str``, ``Literal[...]``, an :class:`enum.Enum`, ``tuple[int, ...]``, ``X | None``); an unknown key or a
value of the wrong type raises :class:`~spikegrad.errors.ConfigError` listing the valid keys with their
types and defaults. Range checks live in each class's ``check()``.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal, TypeVar

import yaml

from spikegrad.errors import ConfigError

S = TypeVar("S", bound="Settings")


def setting(default: Any, doc: str) -> Any:
    """A settings field with its default and a one-line description (shown by ``spikegrad recipes NAME``)."""
    return dataclasses.field(default=default, metadata={"doc": doc})


@dataclasses.dataclass(frozen=True)
class FieldInfo:
    """One setting as ``spikegrad recipes NAME`` lists it."""

    name: str
    type: str
    default: Any
    doc: str


@dataclasses.dataclass(frozen=True)
class Settings:
    """Base class of every recipe family's settings (see the module docstring)."""

    family: ClassVar[str] = "settings"

    def __post_init__(self) -> None:
        hints = _hints(type(self))
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            object.__setattr__(self, field.name, convert(field.name, value, hints[field.name], self._keys))
        self.check()

    def check(self) -> None:
        """Range checks of the values (raise :class:`ConfigError` naming the setting); none by default."""

    # -- description and (de)serialisation -----------------------------------------------------------
    @classmethod
    def fields_info(cls) -> list[FieldInfo]:
        hints = _hints(cls)
        return [FieldInfo(f.name, type_name(hints[f.name]), f.default, f.metadata.get("doc", ""))
                for f in dataclasses.fields(cls)]

    @classmethod
    def _keys(cls) -> str:
        return "; ".join(f"{info.name} ({info.type}, default {_show(info.default)})" for info in cls.fields_info())

    def with_overrides(self: S, overrides: Mapping[str, Any]) -> S:
        """A copy with ``overrides`` applied; strings are converted by each field's type."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = [key for key in overrides if key not in names]
        if unknown:
            raise ConfigError(unknown[0], f"unknown setting of {type(self).__name__}; valid settings: {self._keys()}")
        return dataclasses.replace(self, **overrides)

    def to_dict(self) -> dict[str, Any]:
        """Plain YAML-safe values: tuples as lists, enums as their values."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls: type[S], raw: Mapping[str, Any]) -> S:
        """Settings from :meth:`to_dict` output (e.g. a run's ``config.yaml``); unknown keys are refused."""
        if not isinstance(raw, Mapping):
            raise ConfigError("settings", f"expected a mapping of {cls.__name__} fields, got {type(raw).__name__}")
        return cls().with_overrides(dict(raw))


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _show(value: Any) -> str:
    return repr(_plain(value)) if not isinstance(value, str) else value


def type_name(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return "|".join(str(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_name(a) for a in args)
    if origin is tuple:
        return f"list of {type_name(args[0])}"
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return "|".join(str(m.value) for m in hint)
    if hint is type(None):
        return "none"
    return getattr(hint, "__name__", str(hint))


def convert(name: str, value: Any, hint: Any, valid: Callable[[], str]) -> Any:
    """``value`` (a string from ``--set``, or a Python value) as the type ``hint``.

    A ConfigError names the option, the expected type and (from ``valid()``) every valid key.
    """
    try:
        return _as_type(value, hint)
    except (TypeError, ValueError, OverflowError, yaml.YAMLError):
        raise ConfigError(name, f"expected {type_name(hint)}, got {value!r}; valid: {valid()}") from None


def _as_type(value: Any, hint: Any) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if type(None) in args and (value is None or (isinstance(value, str) and value.lower() in ("none", "null"))):
            return None
        for arg in (a for a in args if a is not type(None)):
            try:
                return _as_type(value, arg)
            except (TypeError, ValueError):
                continue
        raise ValueError(value)
    if origin is Literal:
        if value not in args:
            raise ValueError(value)
        return value
    if origin is tuple:
        items = yaml.safe_load(value) if isinstance(value, str) else value
        items = items if isinstance(items, (list, tuple)) else [items]
        return tuple(_as_type(item, args[0]) for item in items)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return value if isinstance(value, hint) else hint(value)
    if hint is bool:
        return _as_bool(value)
    if hint is int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(value)
        return int(value)
    if hint is float:
        if isinstance(value, bool):
            raise ValueError(value)
        number = float(value)
        if math.isnan(number):
            raise ValueError(value)
        return number
    if hint is str:
        if not isinstance(value, str):
            raise TypeError(value)
        return value
    raise TypeError(f"unsupported settings type {hint!r}")


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError(value)


def require(ok: bool, name: str, message: str) -> None:
    """Raise :class:`ConfigError` for setting ``name`` unless ``ok`` (for :meth:`Settings.check`)."""
    if not ok:
        raise ConfigError(name, message)
