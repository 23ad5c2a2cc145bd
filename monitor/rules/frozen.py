"""Frozen dataclass values built without their ``__init__``, for the matcher's hot path.

A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``, which
costs more than the rest of making a :class:`~monitor.types.Span`; filling the slots
directly gives the same value. Only for a class whose value is exactly its fields:
slots, no ``__post_init__``, and every field passed (checked once, when the builder is
made, so a later change of the class fails at import, not silently).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")


def slot_setters(cls: type[T]) -> tuple[Callable[[T, Any], None], ...]:
    """The slot setters of ``cls``'s fields, in field order, for a builder like::

    def span(field, start, end, term):
        made = new(Span); set_field(made, field); ...; return made
    """
    names = [item.name for item in dataclasses.fields(cls)]  # type: ignore[arg-type]
    if hasattr(cls, "__post_init__") or tuple(getattr(cls, "__slots__", ())) != tuple(names):
        raise TypeError(f"{cls.__name__} is not a plain slotted dataclass: build it normally")
    return tuple(cls.__dict__[name].__set__ for name in names)


new = object.__new__
"""An instance with no field set yet (fill every one with :func:`slot_setters`)."""


def blank(cls: type[T]) -> Callable[[], T]:
    """:func:`new` of ``cls`` as a function of nothing, for a builder to keep as one
    constant (compiled, a module's ``Final`` names are read without a dict lookup)."""
    return partial(new, cls)
