"""Build the wheel, install it into a clean virtualenv and run the README's quickstart.

What a new user does: ``pip install`` the package (no repository, no example site),
paste the host app from README.md, create the tables and open the pages. Run by
``.ci/run``; locally ``.venv/bin/python .ci/wheel_quickstart.py`` (needs PyPI).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: What a checkout holds besides the sources.
NOT_SOURCES = (
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "_build",
    "__pycache__",
    "instance",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "*.sqlite",
)

#: A minimal host layout with the blocks the README says it needs.
BASE_TEMPLATE = """<!doctype html>
<html lang="en"><head><title>{% block title %}{% endblock %} · Host</title>
{% block head %}{% endblock %}</head>
<body><main id="main">{% block content %}{% endblock %}</main></body></html>
"""

#: Run inside the new virtualenv, from a folder outside the repository.
CHECK = """
import re
import flask_allcot_privacy

assert "site-packages" in flask_allcot_privacy.__file__, flask_allcot_privacy.__file__
import host

app = host.create_app()
with app.app_context():
    host.db.create_all()
client = app.test_client()
for path in (
    "/account/register", "/account/login", "/account/reset-password",
    "/privacy/policy", "/privacy/cookies", "/privacy/contact",
):
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    assert "· Host</title>" in response.get_data(as_text=True), f"{path}: not the host layout"
css = client.get("/privacy/static/privacy/privacy.css")
assert css.status_code == 200, "static files are in the wheel"
missing = client.get("/no-such-page")
assert missing.status_code == 404 and "Page not found" in missing.get_data(as_text=True)

page = client.get("/account/register").get_data(as_text=True)
token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
registered = client.post(
    "/account/register",
    data={"csrf_token": token, "username": "quickstart", "email": "quick@example.com"},
)
assert registered.status_code == 302, registered.get_data(as_text=True)[:500]
with app.test_request_context():
    from flask_allcot_privacy import find_by_username
    assert find_by_username("quickstart") is not None
print("README quickstart: pages, static files, error page and registration work.")
"""


def run(*args: str | Path, **kwargs: object) -> None:
    print("+", " ".join(map(str, args)), flush=True)
    subprocess.run([str(a) for a in args], check=True, **kwargs)  # noqa: S603


def readme_host_app() -> str:
    """The README's host app: the Python block that calls ``privacy.init_app``."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    [app_code] = [block for block in blocks if "privacy.init_app" in block]
    return app_code


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="wheel-quickstart-") as tmp:
        work = Path(tmp)
        # From a clean copy of the sources: a checkout's build/ and *.egg-info (left by
        # an editable install) would otherwise put files in the wheel that setup.cfg
        # does not. The sdist first, then the wheel from it, as PyPI users get them.
        source = work / "source"
        shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCES))
        run(sys.executable, "-m", "build", "--outdir", work / "dist", source)
        [wheel] = (work / "dist").glob("flask_allcot_privacy-*.whl")
        run(sys.executable, "-m", "venv", work / "venv")
        python = work / "venv" / "bin" / "python"
        run(python, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
        run(python, "-m", "pip", "install", "--quiet", wheel)
        site = work / "site"
        (site / "templates").mkdir(parents=True)
        # Verbatim: Flask(__name__) finds templates/ beside host.py.
        (site / "host.py").write_text(readme_host_app())
        (site / "templates" / "base.html").write_text(BASE_TEMPLATE)
        (site / "check.py").write_text(textwrap.dedent(CHECK))
        env = {
            "PATH": os.environ.get("PATH", ""),
            "FLASK_SECRET_KEY": "quickstart-secret",
            "FLASK_SQLALCHEMY_DATABASE_URI": f"sqlite:///{site / 'host.sqlite'}",
            "FLASK_MAIL_SUPPRESS_SEND": "true",
            "FLASK_MAIL_DEFAULT_SENDER": "site@example.com",
        }
        run(python, "check.py", cwd=site, env=env)


if __name__ == "__main__":
    main()
