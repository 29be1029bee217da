"""The item a spider hands to the pipelines: one fetched article page, not yet extracted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class PageItem:
    """A fetched article URL. ``status`` 304 means the server said it did not change."""

    outlet: str
    url: str
    status: int
    body: bytes = b""
    header_charset: str | None = None
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    rendered: bool = False
    # Filled by the extract pipeline:
    article: Any = None
    # Filled by the store pipeline ("new", "changed", "unchanged", "duplicate", "skipped"):
    outcome: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
