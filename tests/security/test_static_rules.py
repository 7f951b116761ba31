"""The project's own static rules, as a test: no ``render_template_string`` on input, no
``|safe`` or ``Markup`` on visitor data, no redirect built from request values, and
bandit clean. The same rules are written for semgrep in ``.semgrep.yml``; this test keeps
them enforced where semgrep is not installed."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
SOURCES = sorted(
    [*(ROOT / "flask_allcot_privacy").rglob("*.py"), *(ROOT / "example_site").rglob("*.py")]
)
TEMPLATES = sorted(
    [
        *(ROOT / "flask_allcot_privacy" / "templates").rglob("*.html"),
        *(ROOT / "example_site" / "templates").rglob("*.html"),
    ]
)
#: Every ``|safe`` in a template, each with why its value is not visitor data.
SAFE_FILTERS = {
    # '<br>' is a literal written in the template, not data.
    "outbox.html": "'<br>'|safe",
}
#: Where ``Markup(...)`` is applied to something other than a literal, and why it is safe.
MARKUP_CALLS = {
    "comments/bodies.py": "nh3 has just removed every tag and attribute not allowed",
    "comments/thread.py": "an autoescaped template's output",
    "consent/fragments.py": "an autoescaped template's output, cached per locale",
    "rights/export.py": "report rows escaped with markupsafe.escape when spooled",
    "consent/rendering.py": "autoescaped templates' output; the host's own inline code",
    "marketing/tracking.py": "escaped markup whose new attribute values are escaped too",
}
REQUEST_VALUES = {"args", "form", "values", "json", "cookies", "headers", "data", "files"}


def _calls(tree: ast.AST) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def _name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _reads_request(node: ast.AST) -> bool:
    """True when ``node`` reads ``request.<args|form|...>`` directly."""
    return any(
        isinstance(n, ast.Attribute)
        and n.attr in REQUEST_VALUES
        and isinstance(n.value, ast.Name)
        and n.value.id == "request"
        for n in ast.walk(node)
    )


def _unchecked(target: ast.AST) -> bool:
    """True when a redirect target reads the request without ``safe_target``."""
    if isinstance(target, ast.Call) and _name(target) in ("safe_target", "url_for"):
        return False
    if isinstance(target, ast.BoolOp):
        return any(_unchecked(value) for value in target.values)
    if isinstance(target, ast.IfExp):
        return _unchecked(target.body) or _unchecked(target.orelse)
    return _reads_request(target)


def _relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", SOURCES, ids=_relative)
def test_no_render_template_string_on_input(path: Path) -> None:
    for call in _calls(ast.parse(path.read_text())):
        if _name(call) == "render_template_string":
            where = f"{_relative(path)}:{call.lineno}: render_template_string on a non-literal"
            assert call.args, where
            assert isinstance(call.args[0], ast.Constant), where


@pytest.mark.parametrize("path", SOURCES, ids=_relative)
def test_no_redirect_built_from_request_values(path: Path) -> None:
    """Redirect targets from the request pass through ``safe_target`` (same host only)."""
    for call in _calls(ast.parse(path.read_text())):
        if _name(call) != "redirect" or not call.args:
            continue
        assert not _unchecked(call.args[0]), f"{_relative(path)}:{call.lineno}: redirect(request…)"


@pytest.mark.parametrize("path", SOURCES, ids=_relative)
def test_markup_only_where_its_input_is_known_to_be_safe(path: Path) -> None:
    where = _relative(path).split("/", 1)[1]
    for call in _calls(ast.parse(path.read_text())):
        if _name(call) != "Markup" or not call.args:
            continue
        if isinstance(call.args[0], ast.Constant):
            continue
        assert where in MARKUP_CALLS, f"{_relative(path)}:{call.lineno}: Markup on a value"
        assert not _reads_request(call.args[0]), f"{_relative(path)}:{call.lineno}"


@pytest.mark.parametrize("path", TEMPLATES, ids=_relative)
def test_safe_filter_only_on_literals(path: Path) -> None:
    for match in re.finditer(r"[^{}|]*\|\s*safe\b", path.read_text()):
        expected = SAFE_FILTERS.get(path.name)
        where = f"{_relative(path)}: '{match.group(0).strip()}' marks a value safe"
        assert expected is not None, where
        assert expected in match.group(0), where


def test_the_rules_catch_what_they_are_for(tmp_path: Path) -> None:
    bad = ast.parse("redirect(request.args['next'])\nrender_template_string(request.form['t'])\n")
    redirect, render = (
        c for c in _calls(bad) if _name(c) in ("redirect", "render_template_string")
    )
    assert _unchecked(redirect.args[0])
    assert not isinstance(render.args[0], ast.Constant)
    good = ast.parse("redirect(safe_target(request.args.get('next')) or url_for('x'))")
    assert not _unchecked(_calls(good)[0].args[0])


def test_bandit_finds_nothing() -> None:
    bandit = shutil.which("bandit") or str(Path(__import__("sys").executable).parent / "bandit")
    if not Path(bandit).exists():
        pytest.fail("bandit is missing: pip install -e '.[test]'")
    result = subprocess.run(
        [
            bandit,
            "-q",
            "-c",
            str(ROOT / "pyproject.toml"),
            "-r",
            "flask_allcot_privacy",
            "example_site",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:]


BAD_SAMPLE = """from flask import redirect, render_template_string, request
from markupsafe import Markup

def view():
    Markup(request.args["x"])
    render_template_string(request.form["t"])
    return redirect(request.args.get("next"))
"""


def _semgrep() -> str:
    import os
    import sys

    found = shutil.which("semgrep") or str(Path(sys.executable).parent / "semgrep")
    if not Path(found).exists():
        if os.environ.get("PRIVACY_REQUIRE_SEMGREP") == "1":
            pytest.fail(
                "semgrep is required (PRIVACY_REQUIRE_SEMGREP=1): pip install -e '.[security]'"
            )
        pytest.skip(
            "semgrep is not installed (pip install -e '.[security]'); the ast rules above apply"
        )
    return found


def _semgrep_findings(semgrep: str, *targets: Path) -> list[str]:
    import json

    result = subprocess.run(
        [semgrep, "scan", "--config", str(ROOT / ".semgrep.yml"), "--metrics=off",
         "--disable-version-check", "--json", "-q", *map(str, targets)],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr[-2000:]
    return [
        f"{r['path']}:{r['start']['line']} {r['check_id']}"
        for r in json.loads(result.stdout)["results"]
    ]


def test_semgrep_finds_nothing_and_catches_the_bad_sample(tmp_path: Path) -> None:
    semgrep = _semgrep()
    (tmp_path / "bad.py").write_text(BAD_SAMPLE)
    (tmp_path / "bad.html").write_text("<p>{{ name|safe }}</p>\n")
    caught = _semgrep_findings(semgrep, tmp_path)
    assert len(caught) == 4, caught
    assert _semgrep_findings(semgrep, ROOT / "flask_allcot_privacy", ROOT / "example_site") == []
