"""The example site's demo outbox stays on this computer (finding 6 of issue #14)."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask

from example_site import create_app
from example_site.demo_guard import RemoteDemoRefused

from ..helpers import CookieCheckingClient, soup


@pytest.mark.parametrize("extra_config", [{"DEMO_MAIL": True}])
@pytest.mark.parametrize("remote", ["203.0.113.9", "10.0.0.2", "::ffff:203.0.113.9", "2001:db8::1"])
def test_the_outbox_is_not_served_to_other_machines(
    client: CookieCheckingClient, remote: str
) -> None:
    assert client.get("/outbox", environ_base={"REMOTE_ADDR": remote}).status_code == 404


@pytest.mark.parametrize("extra_config", [{"DEMO_MAIL": True}])
@pytest.mark.parametrize("local", ["127.0.0.1", "::1", "127.0.0.2"])
def test_the_outbox_is_served_on_this_computer_and_says_it_is_a_demo(
    client: CookieCheckingClient, local: str
) -> None:
    page = client.get("/outbox", environ_base={"REMOTE_ADDR": local})
    assert page.status_code == 200
    assert "This is a demo." in soup(page).select_one(".outbox-warning").get_text()


#: Every interface, and a public address.
PUBLIC_HOSTS = [
    ["flask", "run", "--host", "0.0.0.0"],  # noqa: S104
    ["flask", "run", "--host=192.0.2.5"],
]


@pytest.mark.parametrize("argv", PUBLIC_HOSTS)
def test_demo_mode_refuses_to_start_on_a_public_address(
    config: dict[str, t.Any], monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    monkeypatch.setattr("sys.argv", argv)
    with pytest.raises(RemoteDemoRefused, match="FLASK_DEMO_ALLOW_REMOTE"):
        create_app({**config, "DEMO_MAIL": True})
    # Told to, or not in demo mode, it starts.
    assert isinstance(create_app({**config, "DEMO_MAIL": True, "DEMO_ALLOW_REMOTE": True}), Flask)
    assert isinstance(create_app({**config, "DEMO_MAIL": False}), Flask)


def test_demo_mode_starts_on_loopback_and_from_the_environment_host(
    config: dict[str, t.Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.argv", ["flask", "run", "--host", "127.0.0.1", "--port", "5000"])
    assert isinstance(create_app({**config, "DEMO_MAIL": True}), Flask)
    monkeypatch.setattr("sys.argv", ["flask", "run"])
    monkeypatch.setenv("FLASK_RUN_HOST", "0.0.0.0")  # noqa: S104
    with pytest.raises(RemoteDemoRefused):
        create_app({**config, "DEMO_MAIL": True})
