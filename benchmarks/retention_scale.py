"""Purge over 1,000,000 comments, half past their cutoff, on SQLite (goal: under 15 s).

Run from the repository root: ``.venv/bin/python -m benchmarks.retention_scale [COMMENTS]``.
Prints a table. The rows are inserted first (not timed); then ``purge`` runs three times: a dry run,
the real run, and a second real run that must find nothing left to do.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from example_site import create_app, db
from flask_allcot_privacy import retention
from flask_allcot_privacy.clock import utcnow
from flask_allcot_privacy.models import Comment

CHUNK = 50_000


def main(total: int) -> None:
    folder = Path(tempfile.mkdtemp())
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.sqlite'}",
            "PRIVACY_RETAIN_COMMENT_META": timedelta(days=365),
        }
    )
    now = utcnow()
    with app.app_context():
        db.create_all()
        started = time.perf_counter()
        for first in range(0, total, CHUNK):
            rows = [
                {
                    "target": f"post:{n % 100}",
                    "author_name": "Reader",
                    "author_email": f"reader{n}@example.test",
                    "author_url": "",
                    "body": "A comment of ordinary length, long enough to be realistic.",
                    "ip_address": "203.0.113.7",
                    "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Benchmark/1.0",
                    # Even rows are two years old (past the cutoff), odd rows a day old.
                    "created_at": now - (timedelta(days=730) if n % 2 == 0 else timedelta(days=1)),
                    "status": "approved",
                }
                for n in range(first, min(first + CHUNK, total))
            ]
            db.session.execute(sa.insert(Comment), rows)
            db.session.commit()
        setup = time.perf_counter() - started

    print(f"{total:,} comments inserted in {setup:.1f} s (not part of the goal)\n")
    print(f"{'run':<14} {'rule':<16} {'rows':>10} {'seconds':>8}")
    print("-" * 51)
    with app.test_request_context():
        for label, dry_run in (("dry run", True), ("purge", False), ("purge again", False)):
            started = time.perf_counter()
            results = retention.purge(dry_run=dry_run)
            elapsed = time.perf_counter() - started
            for result in results:
                count = "off" if result.count is None else f"{result.count:,}"
                print(f"{label:<14} {result.rule.name:<16} {count:>10}")
            print(f"{label:<14} {'(all rules)':<16} {'':>10} {elapsed:>8.2f}")
        db.session.remove()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
