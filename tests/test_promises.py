"""``docs/promises.rst`` maps every promise id to its feature and the tests that keep it."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parents[1]
MAP = ROOT / "docs" / "promises.rst"
PROMISE_COUNT = 38
#: A promise id as the code and the tests write it: "P" and its number.
#: Test names write it after an underscore (``..._P28``), so ``\b`` would miss it.
PROMISE_ID = re.compile(r"(?<![A-Za-z0-9])P([1-9][0-9]?)(?![0-9])")
STATUSES = ("kept", "in progress")


@dataclass
class Row:
    promise: str
    status: str
    kept_by: str
    tests: list[str]


def read_map() -> dict[str, Row]:
    """The list-table of docs/promises.rst, by promise id."""
    rows: dict[str, Row] = {}
    for block in re.split(r"\n   \* - ", MAP.read_text())[1:]:
        cells = [cell.strip() for cell in re.split(r"\n     - ", block)]
        if cells[0] == "Id":
            continue
        assert len(cells) == 5, f"a row of {MAP.name} has {len(cells)} cells: {cells[0]}"
        pid, promise, status, kept_by, tests = cells
        assert pid not in rows, f"{pid} is in the map twice"
        rows[pid] = Row(promise, status, kept_by, re.findall(r"``([\w/.]+::\w+)``", tests))
    return rows


def all_tests() -> dict[str, str]:
    """``file::test_name`` to the name and docstring of every test function."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                found[f"{path.name}::{node.name}"] = f"{node.name} {ast.get_docstring(node) or ''}"
    return found


def ids_in(text: str) -> set[str]:
    return {f"P{number}" for number in PROMISE_ID.findall(text)}


def test_the_map_has_every_promise_once_with_a_status() -> None:
    rows = read_map()
    assert list(rows) == [f"P{n}" for n in range(1, PROMISE_COUNT + 1)]
    for pid, row in rows.items():
        assert row.status in STATUSES, f"{pid}: status {row.status!r}, not one of {STATUSES}"
        assert row.promise, pid
        assert row.kept_by, pid


def test_every_promise_id_used_in_the_code_is_in_the_map() -> None:
    rows = read_map()
    used: dict[str, set[str]] = {}
    for folder in ("flask_allcot_privacy", "tests", "example_site"):
        for path in (ROOT / folder).rglob("*.py"):
            for pid in ids_in(path.read_text()):
                used.setdefault(pid, set()).add(str(path.relative_to(ROOT)))
    missing = {pid: sorted(paths) for pid, paths in used.items() if pid not in rows}
    assert not missing, f"promise ids used but not in docs/promises.rst: {missing}"


def test_every_kept_promise_has_tests_that_exist_and_name_it() -> None:
    tests = all_tests()
    problems = []
    for pid, row in read_map().items():
        if row.status == "kept" and not row.tests:
            problems.append(f"{pid} is kept but lists no test")
        for test in row.tests:
            if test not in tests:
                problems.append(f"{pid}: {test} does not exist")
            elif pid not in ids_in(tests[test]):
                problems.append(f"{pid}: {test} does not name {pid} in its name or docstring")
    assert problems == [], "\n".join(problems)


def test_a_test_naming_a_kept_promise_is_listed_for_it() -> None:
    """The map stays complete: a test that says it keeps a promise is found from it."""
    rows = read_map()
    unlisted = [
        f"{test} names {pid}"
        for test, text in all_tests().items()
        for pid in ids_in(text)
        if pid in rows and rows[pid].status == "kept" and test not in rows[pid].tests
    ]
    assert unlisted == [], "list these in docs/promises.rst:\n" + "\n".join(unlisted)
