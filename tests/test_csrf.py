"""Every POST route refuses a request without its CSRF token and changes nothing.

The routes are read from ``app.url_map``, so a form added later is checked too. Each
POST carries the fields its own form would send, valid, so the refusal can only come
from the missing token: with the check removed, the change would be made and this
test fails (the profile form once had no such test).
"""

from __future__ import annotations

import typing as t
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask
from werkzeug.routing import Rule

from example_site import db
from example_site.models import Post
from flask_allcot_privacy import User, tokens
from flask_allcot_privacy.accounts.mailings import password_link
from flask_allcot_privacy.clock import utcnow
from flask_allcot_privacy.marketing import subscriptions
from flask_allcot_privacy.models import (
    BreachIncident,
    BreachNotice,
    Comment,
    PolicyVersion,
    PrivacyRequest,
)

from .helpers import PASSWORD, CookieCheckingClient, log_in, soup

#: Values for the fields a form leaves empty, valid for each.
FILL = {
    "username": "newcomer",
    "email": "newcomer@example.test",
    "password": "a-long-and-unusual-passphrase-77",
    "password_confirm": "a-long-and-unusual-passphrase-77",
    "body": "A comment.",
    "author_name": "Visitor",
    "author_email": "visitor@example.test",
    "name": "Visitor",
    "message": "Hello there.",
    "first_name": "Changed",
    "per_page": "25",
    "role": "staff",
    "action": "accept_all",
    "summary": "A summary of what changed or happened.",
    "how": "The authority's online form.",
}
#: POST routes that carry no CSRF token by design (DESIGN: the RFC 8058 one-click
#: unsubscribe's signed URL is its proof).
NO_TOKEN_BY_DESIGN = ("/unsubscribe/",)
#: Audit actions that record a page being seen, not a change.
VIEW_ACTIONS = {
    "audit.view",
    "comments.moderation_view",
    "directory.browse",
    "directory.search",
    "request.view",
    "requests.queue_view",
    "role.view",
    "roles.view",
    "breach.list_view",
    "breach.view",
    "policy.view",
}
#: A browser posting from another site says so; a site that checks Origin or
#: Sec-Fetch-Site instead of a token refuses it too.
CROSS_SITE = {"Origin": "https://attacker.example", "Sec-Fetch-Site": "cross-site"}


def _arguments(app: Flask, admin: User, rows: dict[str, t.Any]) -> dict[str, t.Any]:
    """A valid value for every URL argument a POST route takes, by name."""
    with app.test_request_context():
        stamp = tokens.stamp(admin.email_key, admin.credential_version)
        change = tokens.make(
            tokens.CHANGE_EMAIL, {"uid": admin.id, "email": "moved@example.test", "stamp": stamp}
        )
        # A newsletter confirmation waiting for its button, and a subscriber who agreed
        # to tracking, so that a POST without a token would change each of them.
        pending = subscriptions.request_by_visitor("csrf-pending@example.test")
        tracked = subscriptions.request_by_visitor("csrf-tracked@example.test")
        db.session.flush()
        subscriptions.confirm(tracked, tracking=True)
        db.session.commit()
        return {
            **rows,
            "set_password.token": urlsplit(password_link(admin)).path.rsplit("/", 1)[1],
            "confirm_email.token": change,
            "confirm.token": subscriptions.confirm_token(pending),
            "stop_tracking.token": subscriptions.unsubscribe_token(tracked.id, tracked.email),
        }


def _url(app: Flask, rule: Rule, arguments: dict[str, t.Any]) -> str:
    values = {}
    for name in rule.arguments:
        key = f"{rule.endpoint.split('.')[-1]}.{name}"
        value = arguments.get(key, arguments.get(name))
        assert value is not None, (
            f"{rule.rule}: tell tests/test_csrf.py how to build a valid {name!r}"
        )
        values[name] = value
    with app.test_request_context():
        return app.url_for(rule.endpoint, **values)


def _form_for(client: CookieCheckingClient, url: str, has_get: bool) -> dict[str, str]:
    """The fields the page's own form for ``url`` sends, empty ones filled in validly."""
    fields: dict[str, str] = {}
    if has_get:
        page = client.get(url)  # a logged-in member asking for /login is sent on: no form
        forms = soup(page).select("form[method=post]") if page.status_code == 200 else []
        for form in forms:
            action = urlsplit(str(form.get("action") or url)).path
            if action != urlsplit(url).path:
                continue
            for field in form.select("input[name], textarea[name], select[name]"):
                kind = field.get("type", "text")
                if kind in ("submit", "button") or (
                    kind == "checkbox" and not field.has_attr("checked")
                ):
                    continue
                value = field.get_text() if field.name == "textarea" else field.get("value", "")
                if field.name == "select":
                    chosen = field.select_one("option[selected]") or field.select_one("option")
                    value = chosen["value"] if chosen else ""
                fields[str(field["name"])] = str(value)
            break
    for name, value in FILL.items():
        if not fields.get(name, "").strip():
            fields[name] = value
    fields.pop("csrf_token", None)
    return fields


def _snapshot() -> dict[str, list[tuple[t.Any, ...]]]:
    """Every row of every table, to show that a refused POST changed nothing."""
    return {
        table.name: sorted(map(tuple, db.session.execute(sa.select(table)).all()), key=repr)
        for table in db.metadata.sorted_tables
    }


def test_every_post_route_needs_its_csrf_token(
    app: Flask, client: CookieCheckingClient, make_member: t.Callable[..., User]
) -> None:
    admin = make_member("csrf-admin", role="admin")
    target = make_member("csrf-target")
    with app.app_context():
        post = Post(slug="csrf", title="CSRF", body="A post.")
        db.session.add(post)
        db.session.flush()
        held = Comment(target=post.comment_target, body="Held.", status="held")
        db.session.add(held)
        asked = PrivacyRequest(
            email="asker@example.test", email_key="asker@example.test", request_type="export"
        )
        db.session.add(asked)
        incident = BreachIncident(discovered_at=utcnow(), summary="Lost a laptop.")
        db.session.add(incident)
        db.session.add(
            PolicyVersion(number=1, summary="First.", text="", digest="d", cookie_digest="c")
        )
        db.session.flush()
        db.session.add(BreachNotice(incident_id=incident.id, user_id=target.id))
        db.session.commit()
        rows = {
            "user_id": target.id,
            "comment_id": held.id,
            "target": post.comment_target,
            "request_id": asked.id,
            "incident_id": incident.id,
            "number": 1,
        }
        with app.test_request_context():
            rows["confirm.token"] = tokens.make(tokens.PRIVACY_REQUEST_CONFIRM, {"rid": asked.id})
    assert log_in(client, admin.username).status_code == 302
    arguments = _arguments(app, admin, rows)

    checked, problems = [], []
    for rule in app.url_map.iter_rules():
        if "POST" not in (rule.methods or ()) or any(p in rule.rule for p in NO_TOKEN_BY_DESIGN):
            continue
        url = _url(app, rule, arguments)
        fields = _form_for(client, url, "GET" in (rule.methods or ()))
        if rule.endpoint == "privacy_accounts.login":
            # Login CSRF: the right password, so only the token is missing.
            fields.update(username=admin.username, password=PASSWORD)
        with app.app_context():
            before = _snapshot()
        response = client.post(url, data=fields, headers=CROSS_SITE)
        with app.app_context():
            after = _snapshot()
        checked.append(rule.endpoint)
        if response.status_code not in (400, 403):
            problems.append(f"POST {url} without a token answered {response.status_code}")
        changed = [name for name in before if before[name] != after[name]]
        if changed == ["privacy_audit_event"]:
            # A refused form is shown again on its page, and showing members' data is
            # audited: a record of that view is the one row such a page may add.
            added = set(after["privacy_audit_event"]) - set(before["privacy_audit_event"])
            actions = {row[2] for row in added}  # (id, actor_id, action, ...)
            if actions <= VIEW_ACTIONS and set(before["privacy_audit_event"]) <= set(
                after["privacy_audit_event"]
            ):
                changed = []
            else:
                changed = [f"privacy_audit_event {sorted(actions)}"]
        if changed:
            problems.append(f"POST {url} without a token changed {changed}")
    assert problems == [], "\n".join(problems)
    assert {
        "privacy_accounts.profile",
        "privacy_accounts.logout",
        "privacy_accounts.register",
        "privacy_comments.comments",
        "privacy_consent.decide",
        "privacy_contact.contact",
        "privacy_marketing.subscribe",
        "privacy_marketing.confirm",
        "privacy_marketing.stop_tracking",
        "privacy_staff.member_role",
    } <= set(checked)
    # Still logged in: the refused logout did nothing.
    assert client.get("/account/profile").status_code == 200
