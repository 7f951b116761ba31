"""The public API: what ``__all__`` lists, and docs that import only that."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import flask_allcot_privacy

DOCS = Path(__file__).parents[1] / "docs"
README = Path(__file__).parents[1] / "README.md"
#: Modules public as a whole: each lists its names in its own ``__all__``.
PUBLIC_MODULES = ("audit", "background", "cookies", "outbox", "screen_options")
#: Public modules that need an extra installed, so the package does not import them.
EXTRA_MODULES = ("tasks",)
#: Modules documented for the extension's own parts (internal API, may change).
INTERNAL_DOCUMENTED = (
    "flask_allcot_privacy.accounts.sessions",
    "flask_allcot_privacy.contact.correspondence",
    "flask_allcot_privacy.ipaddr",
    "flask_allcot_privacy.rights",
    "flask_allcot_privacy.staff",
)


def _public_names() -> set[str]:
    names = {f"flask_allcot_privacy.{n}" for n in (*flask_allcot_privacy.__all__, *EXTRA_MODULES)}
    for module in (*PUBLIC_MODULES, *EXTRA_MODULES, "signals"):
        loaded = importlib.import_module(f"flask_allcot_privacy.{module}")
        listed = getattr(loaded, "__all__", [n for n in vars(loaded) if not n.startswith("_")])
        names |= {f"flask_allcot_privacy.{module}.{n}" for n in listed}
    return names


def test_every_name_in_all_exists() -> None:
    for name in flask_allcot_privacy.__all__:
        assert hasattr(flask_allcot_privacy, name), name
    for module in PUBLIC_MODULES:
        loaded = importlib.import_module(f"flask_allcot_privacy.{module}")
        assert module in flask_allcot_privacy.__all__
        for name in loaded.__all__:
            assert hasattr(loaded, name), f"{module}.{name}"


def _referenced() -> set[str]:
    """Every ``flask_allcot_privacy.x.y`` a host page of the docs names or imports."""
    found: set[str] = set()
    for page in [*DOCS.glob("*.rst"), README]:
        if page.name in ("changes.rst", "promises.rst"):
            continue
        text = page.read_text()
        for module, names in re.findall(
            r"from (flask_allcot_privacy[\w.]*) import ([\w, ]+)", text
        ):
            for name in names.split(","):
                found.add(f"{module}.{name.strip()}")
        for dotted in re.findall(r"(?<![\w.])flask_allcot_privacy(?:\.\w+)+", text):
            found.add(dotted)
    return found


def test_the_docs_tell_hosts_to_import_only_the_public_api() -> None:
    public = _public_names()
    strays = sorted(
        name
        for name in _referenced()
        if name not in public
        and name != "flask_allcot_privacy"
        and not any(name == m or name.startswith(f"{m}.") for m in INTERNAL_DOCUMENTED)
    )
    assert not strays, f"the docs point hosts at internal names; export them or say so: {strays}"


def test_internal_modules_the_docs_name_are_marked_internal() -> None:
    text = "\n".join(page.read_text() for page in DOCS.glob("*.rst"))
    for module in INTERNAL_DOCUMENTED:
        assert module in text, f"{module} is no longer documented: drop it from the list"
    assert "Internal API" in text
