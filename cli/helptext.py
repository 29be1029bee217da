"""How ``--help`` shows options: a flag shows no value placeholder (typer would print ``<bool>``),
an option taking a value shows the metavar its declaration gives (``--outlet NAME``), never a
Python type (``<list[str]>``). Commands and groups of the ``newswatch`` app use these classes."""

from __future__ import annotations

from typing import Any

from typer.core import TyperCommand, TyperGroup


def _no_type(ctx: Any) -> None:
    return None


class _NoFlagPlaceholder:
    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)  # type: ignore[misc]
        for param in params:  # the automatic --help too
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
            elif param.param_type_name == "argument" and param.metavar:
                param.display_type_rich = _no_type  # the metavar says it (typer adds <str>)
        return params


class Command(_NoFlagPlaceholder, TyperCommand):
    """A ``newswatch`` command."""


class Group(_NoFlagPlaceholder, TyperGroup):
    """A ``newswatch`` command group."""
