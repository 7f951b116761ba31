"""A policy notice queued for 100,000 members on SQLite (goal: under 10 s).

Run from the repository root: ``.venv/bin/python -m benchmarks.policy_scale [MEMBERS]``.
Prints a table. The members are inserted first (not timed); then publishing (render,
digest, version row) and queueing the notices, a batch per transaction, are timed.
"""

from __future__ import annotations

import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import sqlalchemy as sa

from example_site import create_app, db
from flask_allcot_privacy import policy_versions
from flask_allcot_privacy.models import OutboxMessage, User

CHUNK = 20_000


def main(total: int) -> None:
    folder = Path(tempfile.mkdtemp())
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench",
            "SERVER_NAME": "blog.example",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.sqlite'}",
        }
    )
    with app.app_context():
        db.create_all()
        for first in range(0, total, CHUNK):
            rows = [
                {
                    "username": f"member{n}",
                    "username_key": f"member{n}",
                    "email": f"member{n}@example.test",
                    "email_key": f"member{n}@example.test",
                }
                for n in range(first, min(first + CHUNK, total))
            ]
            db.session.execute(sa.insert(User), rows)
            db.session.commit()

    print(f"{'step':<28} {'members':>9} {'seconds':>8}")
    print("-" * 47)
    with app.test_request_context():
        started = time.perf_counter()
        version = policy_versions.publish("Benchmark: a new processor.", via_cli=True)
        db.session.commit()
        published = time.perf_counter() - started
        print(f"{'publish (render, digest)':<28} {'':>9} {published:>8.2f}")
        tracemalloc.start()
        started = time.perf_counter()
        queued = policy_versions.queue_notices(version.id)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"{'queue notices':<28} {queued:>9,} {elapsed:>8.2f}")
        print(f"{'total':<28} {'':>9} {published + elapsed:>8.2f}")
        in_outbox = db.session.scalar(sa.select(sa.func.count(OutboxMessage.id)))
        print(f"\n{in_outbox:,} messages in the outbox; peak Python memory {peak / 2**20:.1f} MiB")
        db.session.remove()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
