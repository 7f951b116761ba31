"""The wheel ships the templates, static files and py.typed."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_wheel_contains_templates_and_static_files(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("flask_allcot_privacy-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "flask_allcot_privacy/py.typed",
        "flask_allcot_privacy/templates/privacy/layout.html",
        "flask_allcot_privacy/templates/privacy/accounts/login.html",
        "flask_allcot_privacy/templates/privacy/email/set_password_welcome.txt",
        "flask_allcot_privacy/templates/privacy/email/set_password_welcome.html",
        "flask_allcot_privacy/static/privacy/privacy.css",
    }
    assert expected <= names, expected - names
    shipped = {n for n in names if n.startswith("flask_allcot_privacy/templates/")}
    on_disk = {
        str(p.relative_to(ROOT)) for p in (ROOT / "flask_allcot_privacy" / "templates").rglob("*.*")
    }
    assert on_disk <= shipped, f"templates missing from the wheel: {on_disk - shipped}"
    assert not any(n.startswith(("tests/", "example_site/")) for n in names)
