"""The personal-data registry: who can export and who can erase what a site holds.

Every app gets the built-in exporters and erasers (:mod:`.builtin`); a host adds
its own with the decorators on its :class:`~flask_allcot_privacy.Privacy` object::

    @privacy.exporter("orders", "Orders")
    def export_orders(subject):
        query = sa.select(Order).where(Order.email == subject.email)
        for order in db.session.scalars(query.execution_options(yield_per=500)):
            yield {"invoice": order.invoice_number, "item": order.item}

    @privacy.eraser("orders")
    def erase_orders(subject):
        removed = db.session.execute(sa.delete(Order).where(...)).rowcount
        return Erased(removed, retained=[("3 invoices", "kept 10 years for accounting law")])

An **exporter** is a function of a :class:`~.subject.Subject` that yields items,
each a mapping of field name to value, streamed into the export under its title.
An **eraser** runs its statements on ``db.session`` and returns :class:`Erased`;
it does not commit: the erasure runner commits its work together with the record
that it finished, so each eraser is all or nothing, and a rerun after a crash
skips the erasers that finished. Erasers must be safe to run again.
"""

from __future__ import annotations

import typing as t
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from flask import Flask

from ..state import state_for

if t.TYPE_CHECKING:
    import sqlalchemy as sa

    from .subject import Subject

#: An exporter: the subject's items, one mapping of field name to value each.
ExportFunction = Callable[["Subject"], Iterable[Mapping[str, t.Any]]]
#: An eraser: set-based statements on ``db.session`` (uncommitted), and what they did.
EraseFunction = Callable[["Subject"], "Erased"]
#: A query of one column of email addresses an eraser's data is kept under (for replay).
AddressQuery = Callable[[], "sa.Select[tuple[str]]"]

F = t.TypeVar("F", bound=Callable[..., t.Any])


@dataclass
class Erased:
    """What one eraser did: how many items it removed or anonymised, what it kept and why."""

    removed: int = 0
    #: ``(what, reason)`` pairs, told to the requester: ``("2 invoices", "kept 10 years …")``.
    retained: list[tuple[str, str]] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Exporter:
    """A registered exporter: its name (the key in ``export.json``), title and function."""

    name: str
    title: str
    function: ExportFunction


@dataclass(frozen=True)
class Eraser:
    """A registered eraser; ``addresses`` lets replay find people only this data knows."""

    name: str
    title: str | None
    function: EraseFunction
    addresses: AddressQuery | None = None


@dataclass
class Registry:
    """Exporters and erasers by name, in registration order."""

    exporters: dict[str, Exporter] = field(default_factory=dict)
    erasers: dict[str, Eraser] = field(default_factory=dict)

    def exporter(self, name: str, title: str) -> Callable[[F], F]:
        """Register the decorated function as the exporter ``name``, shown as ``title``."""

        def register(function: F) -> F:
            _check_new(name, self.exporters, "exporter")
            self.exporters[name] = Exporter(name, title, function)
            return function

        return register

    def eraser(
        self, name: str, *, title: str | None = None, addresses: AddressQuery | None = None
    ) -> Callable[[F], F]:
        """Register the decorated function as the eraser ``name``."""

        def register(function: F) -> F:
            _check_new(name, self.erasers, "eraser")
            self.erasers[name] = Eraser(name, title, function, addresses)
            return function

        return register


def _check_new(name: str, registered: Mapping[str, t.Any], kind: str) -> None:
    from . import builtin

    if not name.isidentifier():
        raise ValueError(f"An {kind} name is used as a JSON key: {name!r} must be an identifier.")
    if name in registered or name in getattr(builtin.registry, f"{kind}s"):
        raise ValueError(f"An {kind} named {name!r} is already registered; pick another name.")


def exporters_for(app: Flask) -> list[Exporter]:
    """Every exporter for ``app``: the built-in ones, then the host's."""
    from . import builtin

    host = state_for(app).privacy.personal_data
    return [*builtin.registry.exporters.values(), *host.exporters.values()]


def erasers_for(app: Flask) -> list[Eraser]:
    """Every eraser for ``app`` in the order they run; the account's runs last.

    Other erasers find rows by the member's id and address, which the account
    eraser replaces, so it goes after the host's erasers too.
    """
    from . import builtin

    host = state_for(app).privacy.personal_data
    first = [e for e in builtin.registry.erasers.values() if e.name != builtin.ACCOUNT]
    return [*first, *host.erasers.values(), builtin.registry.erasers[builtin.ACCOUNT]]


def title_of(app: Flask, eraser: Eraser) -> str:
    """The eraser's title: its own, else the title of the exporter with its name."""
    if eraser.title is not None:
        return str(eraser.title)
    for exporter in exporters_for(app):
        if exporter.name == eraser.name:
            return str(exporter.title)
    return eraser.name
