"""Reset-password answer times for a member's address and an unknown one (issue #14).

Run: ``.venv/bin/python benchmarks/reset_timing.py [samples]``. Prints the median, min and
max of each, with the site's real argon2id settings, on a fresh SQLite database. The time is
the answer's, as a visitor measures it; the work done after the answer (lookup, link,
email) is waited for between samples and not timed.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from bs4 import BeautifulSoup

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the example site

from example_site import create_app, db
from flask_allcot_privacy import background
from flask_allcot_privacy.accounts import service


def main(samples: int = 20) -> None:
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {
                "SECRET_KEY": "bench",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(folder) / 'b.sqlite'}",
                "DEMO_MAIL": True,
                "PRIVACY_RATELIMIT_ENABLED": False,
                "PRIVACY_MAIL_DELIVERY": "cli",
                "SERVER_NAME": "bench.test",
            }
        )
        with app.app_context():
            db.create_all()
            with app.test_request_context():
                service.create_member("member", "member@example.test")
            db.session.commit()
        client = app.test_client()
        page = client.get("/account/reset-password")
        token = BeautifulSoup(page.text, "html.parser").select_one("input[name=csrf_token]")
        times: dict[str, list[float]] = {"known": [], "unknown": []}
        for n in range(samples * 2):
            which = "known" if n % 2 else "unknown"
            address = "member@example.test" if which == "known" else f"nobody{n}@example.test"
            start = time.perf_counter()
            response = client.post(
                "/account/reset-password", data={"csrf_token": token["value"], "email": address}
            )
            times[which].append((time.perf_counter() - start) * 1000)
            assert response.status_code == 302, response.status_code
            # The lookup and the email run after the answer: let them finish, untimed,
            # so they do not slow the next sample.
            response.close()
            assert background.wait_idle(30)
    print(f"{'address':<10}{'median ms':>12}{'min ms':>10}{'max ms':>10}")
    for which, values in times.items():
        print(
            f"{which:<10}{statistics.median(values):>12.1f}{min(values):>10.1f}{max(values):>10.1f}"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
