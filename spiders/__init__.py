"""Spiders: the generic outlet spider and per-outlet overrides, registered by name.

An outlet picks its spider with the config key ``spider: NAME``; without it the generic
:class:`spiders.outlet.OutletSpider` is used. To override parsing for one outlet, subclass
``OutletSpider`` in a module here and decorate it with ``@register("name")``.
"""

from __future__ import annotations

from newswatch.spiders.outlet import OutletSpider

SPIDERS: dict[str, type[OutletSpider]] = {"generic": OutletSpider}


def register(name: str):
    """Class decorator: make a spider subclass selectable as ``spider: name`` in the config."""

    def wrap(cls: type[OutletSpider]) -> type[OutletSpider]:
        SPIDERS[name] = cls
        return cls

    return wrap


def spider_class(name: str | None) -> type[OutletSpider]:
    if not name:
        return OutletSpider
    _load_builtin_overrides()
    try:
        return SPIDERS[name]
    except KeyError:
        known = ", ".join(sorted(SPIDERS))
        raise KeyError(f"spider {name!r} is not registered (known: {known})") from None


def _load_builtin_overrides() -> None:
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(__path__):
        if info.name != "outlet":
            importlib.import_module(f"{__name__}.{info.name}")
