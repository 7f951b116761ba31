"""``docs/security.rst`` names real tests only: each ``test_...`` it cites exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_every_test_the_security_page_names_exists() -> None:
    page = (ROOT / "docs" / "security.rst").read_text()
    named = set(re.findall(r"``(test_[a-z0-9_]+)``", page))
    assert len(named) > 40
    defined = {
        name
        for path in (ROOT / "tests").rglob("test_*.py")
        for name in re.findall(r"^\s*def (test_[a-z0-9_]+)", path.read_text(), re.MULTILINE)
    }
    modules = {path.stem for path in (ROOT / "tests").rglob("test_*.py")}
    assert named - defined - modules == set()
