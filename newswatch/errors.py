"""What every room needs to report a problem in one line."""

from __future__ import annotations

__all__ = ["first_line"]


def first_line(problem: BaseException | str, limit: int = 300) -> str:
    """The first non-blank line of an exception's message (of the driver's own exception when
    SQLAlchemy wraps one), at most ``limit`` characters; the exception's type name when its
    message is empty."""
    if isinstance(problem, BaseException):
        problem = getattr(problem, "orig", None) or problem
        text, fallback = str(problem), type(problem).__name__
    else:
        text, fallback = problem, ""
    line = next((line.strip() for line in text.splitlines() if line.strip()), fallback)
    return line if len(line) <= limit else line[: limit - 1] + "…"
