"""Export and erasure at scale: a member with 100,000 comments among 101,000 (SQLite).

    python benchmarks/rights_scale.py [--comments 100000] [--others 1000]

Builds the database once, then runs the export and the erasure each in a fresh
process, so the peak memory growth (``ru_maxrss`` after minus the resident size
before) belongs to that step alone. Wall time is what the goals are about; the
step's CPU time is printed beside it, since on a shared machine the two differ.
Checks that every comment is in ``export.json`` and that every one is anonymised.
Prints a table; exits non-zero only if a check fails (a goal missed is reported,
not failed: the figures depend on the machine).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

GOALS = {"export_seconds": 5.0, "export_mib": 64.0, "erase_seconds": 3.0}
EMAIL = "prolific@example.test"


def _app(folder: Path):  # type: ignore[no-untyped-def]
    from example_site import create_app

    return create_app(
        {
            "SECRET_KEY": "benchmark",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.sqlite'}",
            "DEMO_MAIL": True,
        }
    )


def build(folder: Path, comments: int, others: int) -> None:
    import sqlalchemy as sa

    from example_site import db
    from flask_allcot_privacy.clock import utcnow
    from flask_allcot_privacy.models import Comment, User

    app = _app(folder)
    with app.app_context():
        db.create_all()
        user = User(username="prolific", username_key="prolific", email=EMAIL, email_key=EMAIL)
        db.session.add(user)
        db.session.commit()
        now = utcnow()
        table = t_comment = Comment.__table__
        rows = []
        for number in range(comments + others):
            mine = number % ((comments + others) // others) != 0 if others else True
            rows.append(
                {
                    "target": f"post:{number % 50}",
                    "user_id": user.id if mine else None,
                    "author_name": "" if mine else "Someone else",
                    "author_email": "" if mine else f"other{number}@example.test",
                    "author_url": "",
                    "body": f"Comment number {number}, with some words to make it a real size.",
                    "ip_address": f"203.0.{number % 256}.{(number // 256) % 256}",
                    "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Benchmark/1.0",
                    "created_at": now,
                    "status": "approved",
                }
            )
            if len(rows) == 10_000:
                db.session.execute(sa.insert(table), rows)
                rows = []
        if rows:
            db.session.execute(sa.insert(t_comment), rows)
        db.session.commit()
        mine = db.session.scalar(sa.select(sa.func.count()).where(Comment.user_id == user.id))
        total = db.session.scalar(sa.select(sa.func.count()).select_from(Comment))
    print(json.dumps({"mine": mine, "total": total}))


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def step(folder: Path, name: str) -> None:
    import sqlalchemy as sa

    from example_site import db
    from flask_allcot_privacy.models import Comment
    from flask_allcot_privacy.rights.erasure import erase
    from flask_allcot_privacy.rights.export import write_export
    from flask_allcot_privacy.rights.subject import Subject

    app = _app(folder)
    with app.app_context():
        subject = Subject.for_email(EMAIL)
        db.session.scalar(sa.select(sa.func.count()).select_from(Comment))  # warm the cache
        before = _rss_mib()
        cpu_before = _cpu_seconds()
        started = time.perf_counter()
        if name == "export":
            write_export(subject, folder / "export.zip")
        else:
            erase(subject)
        seconds = time.perf_counter() - started
        cpu = _cpu_seconds() - cpu_before
        growth = _peak_mib() - before
    print(json.dumps({"seconds": seconds, "cpu": cpu, "mib": growth}))


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _child(*args: str) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--comments", type=int, default=100_000)
    parser.add_argument("--others", type=int, default=1_000)
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.step:
        folder = Path(options.folder)
        if options.step == "build":
            build(folder, options.comments, options.others)
        else:
            step(folder, options.step)
        return 0

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        counts = _child(
            "--step",
            "build",
            "--folder",
            name,
            "--comments",
            str(options.comments),
            "--others",
            str(options.others),
        )
        export = _child("--step", "export", "--folder", name)
        with zipfile.ZipFile(folder / "export.zip") as archive:
            data = json.loads(archive.read("export.json"))
            size = archive.getinfo("export.json").file_size
        (comments,) = [g for g in data["groups"] if g["name"] == "comments"]
        exported = len(comments["items"])
        erase = _child("--step", "erase", "--folder", name)
        anonymised = _anonymised(folder)

    ok_export = exported == counts["mine"]
    ok_erase = anonymised == counts["mine"]
    rows = [
        ("comments of the member / in all", f"{counts['mine']:,} / {counts['total']:,}", ""),
        (
            "export time",
            f"{export['seconds']:.2f} s",
            _goal(export["seconds"], "export_seconds", "s"),
        ),
        ("export CPU time (this process)", f"{export['cpu']:.2f} s", ""),
        (
            "export peak memory growth",
            f"{export['mib']:.1f} MiB",
            _goal(export["mib"], "export_mib", "MiB"),
        ),
        ("export.json size", f"{size / 2**20:.1f} MiB", ""),
        ("comments in export.json", f"{exported:,}", "all" if ok_export else "MISSING SOME"),
        (
            "erasure time",
            f"{erase['seconds']:.2f} s",
            _goal(erase["seconds"], "erase_seconds", "s"),
        ),
        ("erasure CPU time (this process)", f"{erase['cpu']:.2f} s", ""),
        ("erasure peak memory growth", f"{erase['mib']:.1f} MiB", ""),
        ("comments anonymised", f"{anonymised:,}", "all" if ok_erase else "MISSING SOME"),
    ]
    rows.append(("load average (1 min) at the end", f"{os.getloadavg()[0]:.1f}", ""))
    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)}  {'value':>20}  goal")
    for label, value, goal in rows:
        print(f"{label.ljust(width)}  {value:>20}  {goal}")
    return 0 if ok_export and ok_erase else 1


def _goal(value: float, key: str, unit: str) -> str:
    goal = GOALS[key]
    return f"< {goal:g} {unit}: {'met' if value < goal else 'MISSED'}"


def _anonymised(folder: Path) -> int:
    import sqlite3

    with sqlite3.connect(folder / "bench.sqlite") as connection:
        (count,) = connection.execute(
            "SELECT count(*) FROM privacy_comment c JOIN privacy_user u ON u.id = c.user_id "
            "WHERE u.erased_at IS NOT NULL AND c.user_agent = '' AND c.ip_address LIKE '%.0'"
        ).fetchone()
    return int(count)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    raise SystemExit(main())
