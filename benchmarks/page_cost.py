"""What the privacy layer costs on every page, beside bare Flask and Flask-Security-Too.

Run ``make bench`` (or ``python benchmarks/page_cost.py``). The three host sites of
``page_hosts.py`` serve the same 2 KB page; this script measures them side by side
in one run, interleaved (each repeat runs every site in turn, in a rotating order),
and prints medians over the repeats as ratios to bare Flask:

- in process, with Flask's test client: the anonymous page (a new visitor each
  time, no cookies kept), the page for a logged-in member (it shows their email),
  the login page;
- over HTTP: gunicorn with 2 sync workers per site, loaded by ``wrk``;
- the time a login takes beyond its password hash: the login POST minus one
  verification of the same password by the same site's hasher.

``--profile PAGE`` (``anonymous``, ``member`` or ``login``) runs one site's page
under cProfile and prints where its time goes, sorted by own time.

It needs Flask-Security-Too and gunicorn (``pip install -e '.[bench]'``) and
Debian's ``wrk`` (``apt-get install wrk``); ``make bench`` installs them.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import platform
import pstats
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import typing as t
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import page_hosts  # noqa: E402

PAGES = ("anonymous", "member", "login")
LOGIN_PATHS = {"bare": "/login", "security": "/login", "privacy": "/account/login"}
GOALS = {
    "anonymous": 0.90,
    "member": 0.80,
    "login": 0.26,
    "http_anonymous": 0.90,
    "http_member": 0.80,
}
LOGIN_GOAL_MS = 5.0
LABELS = {
    "anonymous": "Anonymous host page, in process",
    "member": "Logged-in host page (shows the email), in process",
    "login": "Login page, in process",
    "http_anonymous": "Anonymous page over HTTP",
    "http_member": "Logged-in page over HTTP",
}


@dataclass
class Site:
    """One host site in this process, with a client for each page."""

    kind: str
    app: t.Any
    database: str
    member_cookie: str = ""
    clients: dict[str, t.Any] = field(default_factory=dict)

    def request(self, page: str) -> Callable[[], t.Any]:
        """A function that fetches ``page`` once and checks the answer."""
        path = LOGIN_PATHS[self.kind] if page == "login" else "/"
        client = self.clients[page]

        def fetch() -> t.Any:
            response = client.get(path)
            if response.status_code != 200:
                raise RuntimeError(f"{self.kind} {page}: {response.status_code}")
            return response

        return fetch


def build_sites(folder: Path) -> dict[str, Site]:
    """Every host site on its own SQLite file, seeded, with its member logged in."""
    sites = {}
    for kind in page_hosts.KINDS:
        database = str(folder / f"{kind}.sqlite")
        app = page_hosts.create(kind, database)
        page_hosts.seed(app, kind)
        site = Site(kind, app, database)
        # A new visitor on every request: the test client keeps no cookies.
        site.clients["anonymous"] = app.test_client(use_cookies=False)
        site.clients["login"] = app.test_client(use_cookies=False)
        member = app.test_client()
        log_in(site, member)
        site.clients["member"] = member
        cookie = member.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
        site.member_cookie = f"session={cookie.value}" if cookie else ""
        page = member.get("/").get_data(as_text=True)
        if page_hosts.EMAIL not in page:
            raise RuntimeError(f"{kind}: the logged-in page does not show the member's email")
        sites[kind] = site
    return sites


def _hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html)
    return found.group(1) if found else ""


def login_form(site: Site, client: t.Any) -> Callable[[], t.Any]:
    """Open the site's login page; a function that posts the member's credentials to it."""
    path = LOGIN_PATHS[site.kind]
    page = client.get(path).get_data(as_text=True)
    data = {
        "csrf_token": _hidden(page, "csrf_token"),
        "username": page_hosts.USERNAME,
        "password": page_hosts.PASSWORD,
    }

    def post() -> t.Any:
        response = client.post(path, data=data)
        if response.status_code not in (302, 303):
            raise RuntimeError(f"{site.kind}: login answered {response.status_code}")
        return response

    return post


def log_in(site: Site, client: t.Any) -> t.Any:
    """Log the member in through the site's own login form."""
    if site.kind == "bare":
        return client.get("/bench-login")
    return login_form(site, client)()


def time_each(call: Callable[[], t.Any], count: int) -> float:
    """CPU microseconds per call, over ``count`` calls.

    CPU time of this process, not wall time: on a shared machine other processes
    then slow a measurement down much less than they would the clock on the wall.
    """
    start = time.process_time()
    for _ in range(count):
        call()
    return (time.process_time() - start) / count * 1e6


def in_process(sites: dict[str, Site], count: int, repeats: int) -> dict[tuple[str, str], float]:
    """Median microseconds per request for every site and page, interleaved."""
    samples: dict[tuple[str, str], list[float]] = {}
    kinds = list(sites)
    for page in PAGES:
        for site in sites.values():
            time_each(site.request(page), max(20, count // 20))  # warm up
    for repeat in range(repeats):
        order = kinds[repeat % len(kinds) :] + kinds[: repeat % len(kinds)]
        for page in PAGES:
            for kind in order:
                samples.setdefault((kind, page), []).append(
                    time_each(sites[kind].request(page), count)
                )
    return {key: statistics.median(values) for key, values in samples.items()}


def login_overhead(sites: dict[str, Site], count: int) -> dict[str, float]:
    """Milliseconds a login POST takes beyond one verification of its password hash."""
    result = {}
    for kind in ("security", "privacy"):
        site = sites[kind]
        posts, hashes = [], []
        verify = _verifier(site)
        for _ in range(count):
            post = login_form(site, site.app.test_client())
            start = time.process_time()
            post()
            posts.append(time.process_time() - start)
            start = time.process_time()
            verify()
            hashes.append(time.process_time() - start)
        result[kind] = (statistics.median(posts) - statistics.median(hashes)) * 1000
    return result


def _verifier(site: Site) -> Callable[[], None]:
    """One verification of the member's password, the way the site's login does it."""
    app = site.app
    with app.app_context():
        if site.kind == "security":
            from flask_security import verify_password

            user = app.extensions["security"].datastore.find_user(email=page_hosts.EMAIL)
            stored = user.password

            def check() -> None:
                with app.app_context():
                    assert verify_password(page_hosts.PASSWORD, stored)

            return check
        import sqlalchemy as sa

        from flask_allcot_privacy.accounts import passwords
        from flask_allcot_privacy.models import User

        db = app.extensions["sqlalchemy"]
        member = db.session.scalar(sa.select(User).where(User.username_key == "reader"))
        db.session.expunge(member)

        def check_privacy() -> None:
            with app.app_context():
                assert passwords.verify(member, page_hosts.PASSWORD)

        return check_privacy


# -- Over HTTP ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def gunicorn(site: Site) -> Iterator[str]:
    """The site served by gunicorn, 2 sync workers, on a free port; yields its base URL."""
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        "2",
        "--worker-class",
        "sync",
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "--pythonpath",
        str(HERE),
        f"page_hosts:create({site.kind!r}, {site.database!r})",
    ]
    process = subprocess.Popen(command, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"gunicorn for {site.kind} did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def wrk(url: str, seconds: float, cookie: str = "") -> float:
    """Requests per second ``wrk`` reaches on ``url`` (2 threads, 4 connections)."""
    command = ["wrk", "-t2", "-c4", f"-d{seconds}s", url]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} error responses\n{output}")
    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not found:
        raise RuntimeError(f"wrk printed no rate:\n{output}")
    return float(found.group(1))


def over_http(sites: dict[str, Site], seconds: float, repeats: int) -> dict[tuple[str, str], float]:
    """Median requests per second for each site's anonymous and member page."""
    samples: dict[tuple[str, str], list[float]] = {}
    with contextlib.ExitStack() as stack:
        urls = {kind: stack.enter_context(gunicorn(site)) for kind, site in sites.items()}
        for kind, url in urls.items():
            wrk(url + "/", 1, sites[kind].member_cookie)  # warm up both workers
        kinds = list(sites)
        for repeat in range(repeats):
            order = kinds[repeat % len(kinds) :] + kinds[: repeat % len(kinds)]
            for page in ("anonymous", "member"):
                for kind in order:
                    cookie = sites[kind].member_cookie if page == "member" else ""
                    samples.setdefault((kind, f"http_{page}"), []).append(
                        wrk(urls[kind] + "/", seconds, cookie)
                    )
    return {key: statistics.median(values) for key, values in samples.items()}


# -- Report ---------------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def versions() -> str:
    from importlib.metadata import version

    names = ("Flask", "Werkzeug", "Flask-Login", "Flask-WTF", "Flask-Security-Too", "gunicorn")
    return ", ".join(f"{name} {version(name)}" for name in names)


def report(
    timings: dict[tuple[str, str], float],
    rates: dict[tuple[str, str], float],
    logins: dict[str, float],
) -> tuple[str, bool]:
    """The table, and whether every goal is met."""
    rows = [
        "| Page | bare Flask | Flask-Security-Too | this extension | goal |",
        "| --- | --- | --- | --- | --- |",
    ]
    met = True
    for page in PAGES:
        bare = timings[("bare", page)]
        ratios = {kind: bare / timings[(kind, page)] for kind in page_hosts.KINDS}
        ok = ratios["privacy"] >= GOALS[page]
        met &= ok
        extra = timings[("privacy", page)] - bare
        rows.append(
            f"| {LABELS[page]} | 1.00 ({bare:,.0f} µs) | {ratios['security']:.2f} | "
            f"**{ratios['privacy']:.2f}** ({extra:+,.0f} µs) | ≥ {GOALS[page]:.2f} "
            f"{'met' if ok else 'MISSED'} |"
        )
    for page in ("http_anonymous", "http_member"):
        if not rates:
            break
        bare = rates[("bare", page)]
        ratios = {kind: rates[(kind, page)] / bare for kind in page_hosts.KINDS}
        ok = ratios["privacy"] >= GOALS[page]
        met &= ok
        rows.append(
            f"| {LABELS[page]} | 1.00 ({bare:,.0f}/s) | {ratios['security']:.2f} | "
            f"**{ratios['privacy']:.2f}** | ≥ {GOALS[page]:.2f} {'met' if ok else 'MISSED'} |"
        )
    if logins:
        ok = logins["privacy"] <= LOGIN_GOAL_MS
        met &= ok
        rows.append(
            f"| Login, time beyond the password hash | — | {logins['security']:+.1f} ms | "
            f"**{logins['privacy']:+.1f} ms** | ≤ {LOGIN_GOAL_MS:.0f} ms "
            f"{'met' if ok else 'MISSED'} |"
        )
    return "\n".join(rows), met


def calls_per_request(sites: dict[str, Site], count: int = 200) -> str:
    """Python function calls per request, counted by cProfile: a figure no other work on
    the machine can move, to compare changes with when timings are noisy."""
    rows = [
        "| Page | bare Flask | Flask-Security-Too | this extension |",
        "| --- | --- | --- | --- |",
    ]
    for page in PAGES:
        counts = {}
        for kind, site in sites.items():
            fetch = site.request(page)
            time_each(fetch, 20)
            profiler = cProfile.Profile()
            profiler.runcall(time_each, fetch, count)
            counts[kind] = pstats.Stats(profiler).total_calls / count  # type: ignore[attr-defined]
        rows.append(
            f"| {LABELS[page]} | {counts['bare']:,.0f} | {counts['security']:,.0f} | "
            f"**{counts['privacy']:,.0f}** ({counts['privacy'] - counts['bare']:+,.0f}) |"
        )
    return "\n".join(rows)


def profile(sites: dict[str, Site], kind: str, page: str, count: int, lines: int) -> None:
    """Run ``page`` of ``kind`` ``count`` times under cProfile; print the top by own time."""
    fetch = sites[kind].request(page)
    time_each(fetch, 50)
    profiler = cProfile.Profile(time.process_time)
    start = time.perf_counter()
    profiler.runcall(time_each, fetch, count)
    elapsed = (time.perf_counter() - start) / count * 1e6
    print(f"{kind} {page}: {elapsed:,.0f} µs a request under the profiler ({count} requests)")
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs().sort_stats("tottime").print_stats(lines)
    print(out.getvalue())
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs().sort_stats("cumulative").print_stats(lines)
    print(out.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests per repeat")
    parser.add_argument("--repeats", type=int, default=5, help="repeats (medians are taken)")
    parser.add_argument("--seconds", type=float, default=3, help="wrk's duration per run")
    parser.add_argument("--http-repeats", type=int, default=3)
    parser.add_argument("--logins", type=int, default=15, help="logins timed per site")
    parser.add_argument("--no-http", action="store_true", help="skip gunicorn and wrk")
    parser.add_argument("--quick", action="store_true", help="a short run, rough figures")
    parser.add_argument("--profile", choices=PAGES, help="profile one page instead")
    parser.add_argument("--kind", choices=page_hosts.KINDS, default="privacy")
    parser.add_argument("--lines", type=int, default=30, help="profile lines to print")
    args = parser.parse_args(argv)
    if args.quick:
        args.requests, args.repeats, args.seconds, args.http_repeats, args.logins = (
            300,
            3,
            2,
            1,
            5,
        )
    with tempfile.TemporaryDirectory(prefix="page-cost-") as folder:
        sites = build_sites(Path(folder))
        if args.profile:
            profile(sites, args.kind, args.profile, args.requests, args.lines)
            return 0
        print(f"Machine: {machine()}")
        print(f"Versions: {versions()}")
        print(
            f"In process: {args.requests} requests x {args.repeats} repeats; over HTTP: "
            f"gunicorn (2 sync workers), wrk -t2 -c4, {args.seconds:g} s x {args.http_repeats}"
        )
        started = time.monotonic()
        timings = in_process(sites, args.requests, args.repeats)
        logins = login_overhead(sites, args.logins)
        rates: dict[tuple[str, str], float] = {}
        if not args.no_http:
            if shutil.which("wrk") is None:
                print("wrk is not installed: apt-get install wrk (or run make bench)")
                return 2
            rates = over_http(sites, args.seconds, args.http_repeats)
        table, met = report(timings, rates, logins)
        print()
        print(table)
        print()
        print("Python calls a request (deterministic):")
        print()
        print(calls_per_request(sites))
        print()
        print(f"Every goal met: {'yes' if met else 'no'} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
