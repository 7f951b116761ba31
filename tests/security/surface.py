"""The attack surface, found rather than listed: routes from ``app.url_map``, forms from
the pages those routes render. A route or a field added later is attacked too."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from bs4 import BeautifulSoup
from flask import Flask
from werkzeug.routing import IntegerConverter, Rule

from ..helpers import CookieCheckingClient

#: Endpoints of the example site that are not the extension's and take part in no attack
#: (static files carry no visitor data).
SKIPPED_ENDPOINTS = {"static", "allcot_privacy.static"}
#: A value per URL variable name, so a request reaches the view behind the route.
SAMPLES: dict[str, t.Any] = {
    "slug": "we-value-your-privacy",
    "target": "post:1",
    "username": "reader",
    "token": "not-a-token",
}
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
TEXT_INPUTS = {"text", "email", "url", "search", "password", "tel", "hidden", "number"}


def rules(app: Flask) -> list[Rule]:
    """Every route of the app but static files, in a stable order."""
    found = [r for r in app.url_map.iter_rules() if r.endpoint not in SKIPPED_ENDPOINTS]
    return sorted(found, key=lambda r: (r.rule, r.endpoint))


def url_for_rule(app: Flask, rule: Rule, **values: t.Any) -> str:
    """The rule's URL with a sample value in each variable."""
    filled = {}
    for name, converter in rule._converters.items():
        if name in values:
            filled[name] = values[name]
        elif isinstance(converter, IntegerConverter):
            filled[name] = 1
        else:
            filled[name] = SAMPLES.get(name, "x")
    with app.test_request_context():
        return app.url_for(rule.endpoint, **filled)


def routes(app: Flask, methods: set[str]) -> list[tuple[str, str, str]]:
    """(endpoint, method, URL) for every route answering one of ``methods``."""
    found = []
    for rule in rules(app):
        for method in sorted((rule.methods or set()) & methods):
            found.append((rule.endpoint, method, url_for_rule(app, rule)))
    return found


def page_urls(app: Flask) -> list[str]:
    """The URL of every GET route, each with sample values."""
    return sorted({url for _, _, url in routes(app, {"GET"})})


@dataclass
class Form:
    """A POST form as a browser sees it."""

    page: str
    action: str
    selector: str
    values: dict[str, str]
    text_fields: list[str] = field(default_factory=list)
    choice_fields: list[str] = field(default_factory=list)
    #: Each text field's input type (``text``, ``email``, ``url``, ``textarea``...).
    kinds: dict[str, str] = field(default_factory=dict)

    @property
    def all_fields(self) -> list[str]:
        every = [*self.text_fields, *self.choice_fields]
        return [name for name in every if not name.endswith("csrf_token")]

    @property
    def token_field(self) -> str:
        """The CSRF field's name (forms with a prefix have ``prefix-csrf_token``)."""
        return next((n for n in self.values if n.endswith("csrf_token")), "csrf_token")


def forms_in(page: str, html: str) -> list[Form]:
    """Every POST form of a page with what a browser would send and which fields are text."""
    document = BeautifulSoup(html, "html.parser")
    found = []
    for index, form in enumerate(document.select("form")):
        if str(form.get("method", "get")).lower() != "post":
            continue
        values: dict[str, str] = {}
        text_fields: list[str] = []
        choice_fields: list[str] = []
        kinds: dict[str, str] = {}
        for element in form.select("input[name], textarea[name], select[name]"):
            name = str(element["name"])
            kind = str(element.get("type", "text")).lower()
            kinds[name] = "textarea" if element.name == "textarea" else kind
            if element.name == "textarea":
                values[name] = element.get_text().removeprefix("\n")
                text_fields.append(name)
            elif element.name == "select":
                chosen = element.select_one("option[selected]") or element.select_one("option")
                values[name] = str(chosen["value"]) if chosen else ""
                choice_fields.append(name)
            elif kind in ("checkbox", "radio"):
                if element.has_attr("checked"):
                    values[name] = str(element.get("value", "y"))
                choice_fields.append(name)
            elif kind in TEXT_INPUTS:
                values[name] = str(element.get("value", ""))
                text_fields.append(name)
        action = str(form.get("action") or page)
        found.append(
            Form(
                page=page,
                action=action,
                selector=f"form:nth-of-type({index + 1})",
                values=values,
                text_fields=list(dict.fromkeys(text_fields)),
                choice_fields=list(dict.fromkeys(choice_fields)),
                kinds=kinds,
            )
        )
    return found


def forms_on_pages(client: CookieCheckingClient, urls: t.Iterable[str]) -> list[Form]:
    """Every POST form on the pages at ``urls`` that answer 200, once per action."""
    seen: set[str] = set()
    found = []
    for url in urls:
        response = client.get(url)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        for form in forms_in(url, response.get_data(as_text=True)):
            key = form.action.split("?")[0]
            if key not in seen:
                seen.add(key)
                found.append(form)
    return found


def snapshot(app: Flask) -> dict[str, list[tuple[t.Any, ...]]]:
    """Every row of every table but login sessions' "last seen", to tell whether a
    request changed anything."""
    import sqlalchemy as sa

    from example_site import db

    tables = {}
    with app.app_context():
        for table in db.metadata.sorted_tables:
            columns = [c for c in table.columns if c.name not in ("last_seen_at",)]
            rows = db.session.execute(sa.select(*columns).order_by(*table.primary_key)).all()
            tables[table.name] = [tuple(row) for row in rows]
    return tables
