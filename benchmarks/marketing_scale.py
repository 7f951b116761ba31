"""``send-marketing`` to many subscribers: time and peak memory growth while queueing.

Run: ``.venv/bin/python benchmarks/marketing_scale.py [--sizes 10000 100000] [--batch 500]``

Each size gets a fresh SQLite database with that many subscribers (inserted in bulk,
outside the measurement), then ``privacy.send_marketing("newsletter")`` queues one
outbox message per subscriber. Memory is the growth of the process's peak resident set
(``ru_maxrss``) over its size just before sending: if queueing were not streamed in
batches, it would grow with the number of subscribers. Prints a table; never a test.
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from example_site import create_app, db
from flask_allcot_privacy.clock import utcnow
from flask_allcot_privacy.models import OutboxMessage, Subscription


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(size: int, batch: int, folder: Path, trace: bool = False) -> dict[str, float]:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / f'bench-{size}.sqlite'}",
            "DEMO_MAIL": False,
            "MAIL_SUPPRESS_SEND": True,
            "SERVER_NAME": "blog.example",
            "PREFERRED_URL_SCHEME": "https",
            "PRIVACY_MARKETING_BATCH_SIZE": batch,
        }
    )
    with app.app_context():
        db.create_all()
        now = utcnow()
        rows = (
            {
                "email": f"reader{n}@example.com",
                "status": "subscribed",
                "source": "newsletter_form",
                "opted_in_at": now,
                "confirmed_at": now,
                "created_at": now,
                "opted_out_how": "",
                "tracking_consent": False,
            }
            for n in range(size)
        )
        chunk: list[dict[str, object]] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) == 10_000:
                db.session.execute(sa.insert(Subscription), chunk)
                chunk = []
        if chunk:
            db.session.execute(sa.insert(Subscription), chunk)
        db.session.commit()
    privacy = app.extensions["allcot_privacy"].privacy
    gc.collect()
    before_rss, before_peak = _rss_mib(), _peak_mib()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    with app.test_request_context(base_url="https://blog.example"):
        queued = privacy.send_marketing("newsletter")
    seconds = time.perf_counter() - started
    heap_peak = tracemalloc.get_traced_memory()[1] / 2**20 if trace else float("nan")
    tracemalloc.stop()
    growth = max(0.0, _peak_mib() - max(before_rss, before_peak))
    with app.app_context():
        in_outbox = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))
        db.session.remove()
        db.engine.dispose()
    return {
        "size": size,
        "queued": queued,
        "outbox": in_outbox or 0,
        "seconds": seconds,
        "rate": queued / seconds if seconds else 0.0,
        "growth": growth,
        "rss_before": before_rss,
        "heap_peak": heap_peak,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="also report the Python heap's peak while sending (slower)",
    )
    options = parser.parse_args()
    print(f"send_marketing('newsletter'), SQLite, batch {options.batch}")
    header = ("subscribers", "queued", "seconds", "msg/s", "RSS before", "peak growth", "heap peak")
    print("{:>12} {:>8} {:>8} {:>7} {:>11} {:>12} {:>10}".format(*header))
    with tempfile.TemporaryDirectory() as folder:
        for size in sorted(options.sizes):
            result = run(size, options.batch, Path(folder), options.tracemalloc)
            assert result["queued"] == result["outbox"] == size, result
            print(
                f"{size:>12,} {result['queued']:>8,.0f} {result['seconds']:>8.1f} "
                f"{result['rate']:>7.0f} {result['rss_before']:>8.1f} MiB "
                f"{result['growth']:>8.1f} MiB {result['heap_peak']:>6.1f} MiB"
            )


if __name__ == "__main__":
    main()
