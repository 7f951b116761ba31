"""The real thing: the example site under gunicorn, Redis, a Celery worker, on PostgreSQL.

These tests skip when a service is missing, unless ``PRIVACY_REQUIRE_SERVICES=1`` (as in
CI's PostgreSQL run), where they fail instead. Everything listens on 127.0.0.1; Redis
is used through its own database number (``PRIVACY_TEST_REDIS_URL``, default db 5);
each test deletes only its own keys (rate-limit counters, its own Celery queue).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import typing as t
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from .conftest import SERVER_DATABASE
from .helpers import free_port

REDIS_URL = os.environ.get("PRIVACY_TEST_REDIS_URL", "redis://127.0.0.1:6379/5")
ROOT = Path(__file__).parents[1]


def _redis_problem() -> str | None:
    try:
        import redis
    except ImportError:
        return "the redis client is not installed (pip install -e '.[test]')"
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        return f"Redis at {REDIS_URL} does not answer ({error}); start redis-server"
    return None


def need_services(*extra_modules: str) -> None:
    """Skip with a reason when PostgreSQL, Redis or a module is missing; fail in CI."""
    problem = None
    if not SERVER_DATABASE:
        problem = "PRIVACY_TEST_DATABASE_URL (PostgreSQL) is not set"
    for module in ("gunicorn", *extra_modules):
        if problem is None and importlib.util.find_spec(module) is None:
            problem = f"{module} is not installed (pip install -e '.[test]')"
    if problem is None:
        problem = _redis_problem()
    if problem is None:
        return
    if os.environ.get("PRIVACY_REQUIRE_SERVICES") == "1":
        pytest.fail(f"Service tests are required (PRIVACY_REQUIRE_SERVICES=1) but {problem}.")
    pytest.skip(f"Service tests skipped: {problem}.")


def forget_redis_keys(pattern: str) -> None:
    """Delete this suite's keys matching ``pattern`` (never FLUSHDB: tests run in parallel)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=pattern, count=500):
        client.delete(key)


def site_env(database_uri: str, mail_port: int, **settings: str) -> dict[str, str]:
    """Environment for example-site processes: ``FLASK_`` settings, as an operator sets them."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLASK_")}
    env.update(
        {
            "FLASK_SECRET_KEY": "services-secret-shared-by-every-worker",
            "FLASK_SQLALCHEMY_DATABASE_URI": database_uri,
            "FLASK_DEMO_MAIL": "false",
            "FLASK_MAIL_SERVER": "127.0.0.1",
            "FLASK_MAIL_PORT": str(mail_port),
            "FLASK_MAIL_DEFAULT_SENDER": "site@allcot.test",
            "FLASK_PRIVACY_EMAIL_ALLOW_TEST_DOMAINS": "true",
            "FLASK_PRIVACY_RATELIMIT_STORAGE_URI": REDIS_URL,
            "FLASK_PRIVACY_ARGON2_TIME_COST": "1",
            "FLASK_PRIVACY_ARGON2_MEMORY_COST": "8",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update({f"FLASK_{key}": value for key, value in settings.items()})
    return env


def wait_for_port(port: int, process: subprocess.Popen[t.Any], within: float = 30) -> None:
    """Wait (bounded) until something listens on 127.0.0.1:port."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the process exited with {process.returncode} before listening")
        with socket.socket() as probe:
            probe.settimeout(0.2)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listened on port {port} within {within} s")


def stop(process: subprocess.Popen[t.Any]) -> None:
    """Stop a process we started, gracefully first."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


class Gunicorn(t.NamedTuple):
    url: str
    access_log: Path
    process: subprocess.Popen[bytes]

    def worker_pids(self, path: str) -> list[int]:
        """The worker pid of each logged request for ``path`` (the access log's ``%(p)s``)."""
        pids = []
        for line in self.access_log.read_text().splitlines():
            pid, _, request = line.partition(" ")
            if request.split(" ")[1:2] == [path]:
                pids.append(int(pid.strip("<>")))
        return pids


@contextmanager
def gunicorn(env: dict[str, str], tmp_path: Path, workers: int = 4) -> Iterator[Gunicorn]:
    """The example site under gunicorn's sync workers on a free loopback port."""
    port = free_port()
    access_log = tmp_path / "access.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "30",
            "--access-logfile",
            str(access_log),
            "--access-logformat",
            "%(p)s %(r)s %(s)s",
            "example_site:create_app()",
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "gunicorn.err").open("wb"),
    )
    try:
        wait_for_port(port, process)
        yield Gunicorn(f"http://127.0.0.1:{port}", access_log, process)
    finally:
        stop(process)


class CeleryWorker(t.NamedTuple):
    log_file: Path
    process: subprocess.Popen[bytes]

    def kill(self) -> None:
        """SIGKILL the worker and its pool children (its own process group), mid-task."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


@contextmanager
def celery_worker(
    env: dict[str, str], tmp_path: Path, concurrency: int = 2
) -> Iterator[CeleryWorker]:
    """A real Celery worker (prefork pool) for the example site, in its own process group."""
    log_file = tmp_path / "celery.log"
    command = shutil.which("celery", path=str(Path(sys.executable).parent)) or "celery"
    process = subprocess.Popen(
        [
            command,
            "-A",
            "example_site.celery_worker",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            str(concurrency),
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--hostname",
            f"privacy-test-{os.getpid()}@127.0.0.1",
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=log_file.open("wb"),
        start_new_session=True,
    )
    try:
        yield CeleryWorker(log_file, process)
    finally:
        stop(process)
