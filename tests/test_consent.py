"""The consent banner, decisions, revisions, GPC, withdrawal and script gating (server side)."""

from __future__ import annotations

import base64
import json
import typing as t
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine
from bs4 import BeautifulSoup, Tag
from flask import Flask, render_template_string
from itsdangerous import URLSafeTimedSerializer
from werkzeug.test import TestResponse

from example_site import db
from flask_allcot_privacy import consent_allows, cookies, tokens
from flask_allcot_privacy.clock import utcnow
from flask_allcot_privacy.consent import catalogue, rendering
from flask_allcot_privacy.cookies import CookieSpec
from flask_allcot_privacy.models import ConsentRecord

from .helpers import CookieCheckingClient, form_fields, soup

BANNER_FORM = "form[data-privacy-consent-form]"
ANALYTICS_HOST = "www.googletagmanager.com"


@pytest.fixture
def config(config: dict[str, t.Any]) -> dict[str, t.Any]:
    return {**config, "PRIVACY_ANALYTICS_ID": "G-TEST123"}


def banner(response: TestResponse) -> Tag | None:
    return soup(response).select_one("[data-privacy-consent-banner]")


def analytics_scripts(response: TestResponse) -> list[Tag]:
    return [s for s in soup(response).select("script[src]") if ANALYTICS_HOST in str(s["src"])]


def is_live(script: Tag) -> bool:
    """A browser runs a script with no type or a JavaScript type; text/plain stays inert."""
    return script.get("type") in (None, "", "text/javascript", "module")


def decide(
    client: CookieCheckingClient,
    action: str,
    categories: t.Sequence[str] = (),
    page: str = "/",
    **kwargs: t.Any,
) -> TestResponse:
    """Press a button of the banner (or the settings page) like a browser without JavaScript."""
    data: dict[str, t.Any] = {"action": action}
    if categories:
        data["categories"] = list(categories)
    return client.submit(page, data, form_selector=BANNER_FORM, **kwargs)


def records(app: Flask) -> list[ConsentRecord]:
    with app.app_context():
        found = db.session.scalars(sa.select(ConsentRecord).order_by(ConsentRecord.id)).all()
        db.session.expunge_all()
        return list(found)


# -- The banner -------------------------------------------------------------------------


def test_new_visitor_sees_the_banner_and_no_live_analytics(client: CookieCheckingClient) -> None:
    """P19, P24: nothing beyond the necessary runs before the visitor chooses."""
    page = client.get("/")
    found = banner(page)
    assert found is not None
    assert found["role"] == "dialog"
    title = soup(page).select_one(f"#{found['aria-labelledby']}")
    assert title is not None
    assert "Cookies" in title.get_text()

    scripts = analytics_scripts(page)
    assert len(scripts) == 1, "the GA4 loader is on the page, inert"
    assert not is_live(scripts[0])
    assert scripts[0]["data-privacy-category"] == "analytics"


def test_accept_and_reject_are_equal_buttons_and_nothing_is_preticked(
    client: CookieCheckingClient,
) -> None:
    found = banner(client.get("/"))
    assert found is not None
    accept = found.select_one("button[value=accept_all]")
    reject = found.select_one("button[value=reject_all]")
    assert accept is not None
    assert reject is not None
    assert accept["name"] == reject["name"] == "action"
    assert accept["class"] == reject["class"], "equal weight and style"
    assert accept.get("type") == reject.get("type") == "submit"
    assert found.select_one("a[href='/privacy/cookies']") is not None
    boxes = found.select("input[type=checkbox]")
    assert {b["value"] for b in boxes} == {"preferences", "analytics", "marketing"}
    assert not any(b.has_attr("checked") for b in boxes), "no box is pre-ticked"
    assert "necessary" not in {b["value"] for b in boxes}, "necessary is not a toggle"


def test_accept_without_javascript_redirects_back_and_loads_analytics(
    app: Flask, client: CookieCheckingClient
) -> None:
    """P19: analytics runs after acceptance."""
    response = decide(client, "accept_all", page="/privacy/policy")
    assert response.status_code == 303
    assert response.headers["Location"] == "/privacy/policy"
    assert any(h.startswith("privacy_consent=") for h in response.headers.getlist("Set-Cookie"))

    page = client.get("/privacy/policy")
    assert banner(page) is None
    [script] = analytics_scripts(page)
    assert is_live(script)
    assert script.has_attr("async")
    [record] = records(app)
    assert record.granted == ["necessary", "preferences", "analytics", "marketing"]
    assert record.refused == []
    assert record.source == "banner"


def test_reject_keeps_analytics_inert_and_the_banner_away(
    app: Flask, client: CookieCheckingClient
) -> None:
    """P19, P24: refusing is as easy as accepting, and refusal is honoured."""
    assert decide(client, "reject_all").status_code == 303
    page = client.get("/")
    assert banner(page) is None
    [script] = analytics_scripts(page)
    assert not is_live(script)
    [record] = records(app)
    assert record.granted == ["necessary"]
    assert record.refused == ["preferences", "analytics", "marketing"]


def test_save_grants_only_the_ticked_categories(app: Flask, client: CookieCheckingClient) -> None:
    decide(client, "save", ["preferences"])
    [script] = analytics_scripts(client.get("/"))
    assert not is_live(script)
    [record] = records(app)
    assert record.granted == ["necessary", "preferences"]
    assert record.refused == ["analytics", "marketing"]


def test_the_banner_script_gets_json_and_needs_the_csrf_token(
    client: CookieCheckingClient,
) -> None:
    fields = form_fields(client.get("/"), BANNER_FORM)
    answer = client.post(
        "/privacy/consent",
        data={**fields, "action": "accept_all"},
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 200
    assert answer.json is not None
    assert answer.json["ok"] is True
    assert answer.json["granted"] == ["necessary", "preferences", "analytics", "marketing"]
    assert answer.json["consent_id"]

    forged = client.post(
        "/privacy/consent",
        data={"action": "accept_all"},
        headers={"Accept": "application/json"},
    )
    assert forged.status_code == 400
    assert forged.json is not None
    assert "csrf_token" in forged.json["errors"]
    assert forged.json["csrf_token"], "a fresh token to retry with"


@pytest.mark.parametrize(
    ("data", "field"),
    [({"action": "accept_everything"}, "action"), ({"action": "save"}, None)],
)
def test_bad_decisions_get_the_form_again(
    app: Flask, client: CookieCheckingClient, data: dict[str, str], field: str | None
) -> None:
    fields = form_fields(client.get("/"), BANNER_FORM)
    if field is None:
        data = {**data, "categories": "cookies-for-everything"}
        field = "categories"
    response = client.post("/privacy/consent", data={**fields, **data})
    assert response.status_code == 400
    error = soup(response).select_one(f"#{field}-error")
    assert error is not None
    assert error.get_text(strip=True)
    assert records(app) == [], "nothing is recorded"


def test_without_csrf_token_nothing_is_recorded(app: Flask, client: CookieCheckingClient) -> None:
    response = client.post("/privacy/consent", data={"action": "accept_all"})
    assert response.status_code == 400
    assert "expired" in soup(response).select_one(".privacy-error--form").get_text()
    assert records(app) == []


@pytest.mark.parametrize(
    "target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:x"]
)
def test_redirect_back_stays_on_this_site(client: CookieCheckingClient, target: str) -> None:
    fields = form_fields(client.get("/"), BANNER_FORM)
    response = client.post(
        "/privacy/consent",
        data={**fields, "action": "reject_all", "next": target},
        headers={"Referer": "https://evil.example/page"},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/privacy/cookies"


def test_redirect_back_uses_a_same_host_referrer(client: CookieCheckingClient) -> None:
    fields = form_fields(client.get("/"), BANNER_FORM)
    fields.pop("next")
    response = client.post(
        "/privacy/consent",
        data={**fields, "action": "reject_all"},
        headers={"Referer": "http://blog.test/privacy/policy?x=1"},
    )
    assert response.headers["Location"] == "/privacy/policy?x=1"


# -- Asking again -------------------------------------------------------------------------


def test_a_new_service_or_cookie_asks_again(
    app: Flask, client: CookieCheckingClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """P19, P24: a new tracker never rides on an old consent."""
    decide(client, "accept_all")
    assert banner(client.get("/")) is None

    app.config["PRIVACY_PROCESSORS"] = [
        *app.config["PRIVACY_PROCESSORS"],
        {
            "name": "NewTracker",
            "purpose": "Ads",
            "category": "marketing",
            "policy_url": "https://tracker.example/privacy",
        },
    ]
    page = client.get("/")
    assert banner(page) is not None, "a new service re-asks"
    assert not is_live(analytics_scripts(page)[0]), "the old consent grants nothing new"

    decide(client, "accept_all")
    assert banner(client.get("/")) is None
    monkeypatch.setitem(
        cookies._REGISTRY,
        "pixel",
        CookieSpec(
            key="pixel",
            name="_px",
            purpose="A pixel",
            category="marketing",
            set_by="Pixel Co",
            http_only=False,
        ),
    )
    assert banner(client.get("/")) is not None, "a new cookie re-asks"


@pytest.mark.parametrize(
    "change",
    ["cookie lifetime", "processor purpose", "processor opt-out link"],
)
def test_a_changed_cookie_lifetime_or_processor_asks_again(
    app: Flask, client: CookieCheckingClient, change: str
) -> None:
    """P19, P24: consent covers how long cookies live and what each service does."""
    decide(client, "accept_all")
    assert banner(client.get("/")) is None
    if change == "cookie lifetime":
        app.config["PRIVACY_ANALYTICS_COOKIE_LIFETIME"] = timedelta(days=800)
    else:
        field, value = {
            "processor purpose": ("purpose", "Selling visitor profiles"),
            "processor opt-out link": ("opt_out_url", "https://elsewhere.example/"),
        }[change]
        app.config["PRIVACY_PROCESSORS"] = [
            {**p, field: value} if p["name"] == "Google Analytics" else p
            for p in app.config["PRIVACY_PROCESSORS"]
        ]
    page = client.get("/")
    assert banner(page) is not None, f"a changed {change} re-asks"
    assert not is_live(analytics_scripts(page)[0])


def test_consent_expires_after_its_lifetime(client: CookieCheckingClient) -> None:
    with time_machine.travel(utcnow(), tick=False) as traveller:
        decide(client, "accept_all")
        traveller.shift(timedelta(days=181))
        assert banner(client.get("/")) is None
        traveller.shift(timedelta(days=2))
        page = client.get("/")
        assert banner(page) is not None, "asked again after 182 days"
        assert not is_live(analytics_scripts(page)[0])


def test_a_consent_cookie_signed_with_another_key_grants_nothing(
    app: Flask, client: CookieCheckingClient
) -> None:
    """P19: only a cookie this site signed can grant analytics."""
    decide(client, "accept_all")
    real = client.get_cookie("privacy_consent", domain="blog.test")
    assert real is not None
    with app.test_request_context():
        payload = tokens.read(tokens.CONSENT, real.value)
        assert payload["revision"] == catalogue.revision(), "a payload that would grant"
    forged = URLSafeTimedSerializer("not this site's key", salt=tokens.CONSENT.salt).dumps(payload)

    client.set_cookie("privacy_consent", forged, domain="blog.test")
    page = client.get("/")
    assert banner(page) is not None
    assert not is_live(analytics_scripts(page)[0])

    client.set_cookie("privacy_consent", real.value, domain="blog.test")
    assert is_live(analytics_scripts(client.get("/"))[0]), "the same payload, rightly signed"


@pytest.mark.parametrize(
    "forgery",
    ["plain_json", "payload_only", "no_signature", "bad_signature", "base64_json", "uncompressed"],
)
def test_an_unsigned_consent_cookie_grants_nothing(
    app: Flask, client: CookieCheckingClient, forgery: str
) -> None:
    """P19, P24: a consent cookie whose signature fails is never read unsigned."""
    decide(client, "accept_all")
    real = client.get_cookie("privacy_consent", domain="blog.test")
    assert real is not None
    with app.test_request_context():
        payload = tokens.read(tokens.CONSENT, real.value)
    body, stamp, signature = real.value.rsplit(".", 2)  # a leading "." marks compression
    plain = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    value = {
        "plain_json": json.dumps(payload, separators=(",", ":")),
        "payload_only": body,
        "no_signature": f"{body}.{stamp}.",
        "bad_signature": f"{body}.{stamp}.{signature[::-1]}",
        "base64_json": plain,
        "uncompressed": f"{plain}.{stamp}.{signature}",
    }[forgery]
    assert value != real.value
    client.set_cookie("privacy_consent", value, domain="blog.test")
    page = client.get("/")
    assert banner(page) is not None, "asked again, as a new visitor"
    assert not is_live(analytics_scripts(page)[0])
    with app.test_request_context("/", headers={"Cookie": f"privacy_consent={value}"}):
        assert not consent_allows("marketing")
        assert not consent_allows("analytics")


def consent_cookie(response: TestResponse) -> str:
    """The value of the ``privacy_consent`` cookie a response sets."""
    for header in response.headers.getlist("Set-Cookie"):
        name, _, rest = header.partition("=")
        if name == "privacy_consent":
            return rest.split(";", 1)[0]
    raise AssertionError("no privacy_consent cookie set")


# -- Global Privacy Control ---------------------------------------------------------------


def test_gpc_refuses_without_a_banner_and_is_recorded_once(
    app: Flask, client: CookieCheckingClient
) -> None:
    """P19, P24: the browser's Global Privacy Control signal is honoured."""
    first = client.get("/", headers={"Sec-GPC": "1"})
    assert banner(first) is None
    assert not is_live(analytics_scripts(first)[0])
    assert "Sec-GPC" in first.headers["Vary"]
    second = client.get("/privacy/policy", headers={"Sec-GPC": "1"})
    assert banner(second) is None

    [record] = records(app)
    assert record.source == "gpc"
    assert record.granted == ["necessary"]
    assert {"analytics", "marketing"} <= set(record.refused)


def test_an_explicit_choice_on_the_settings_page_beats_gpc(
    app: Flask, client: CookieCheckingClient
) -> None:
    client.get("/", headers={"Sec-GPC": "1"})
    settings = client.get("/privacy/cookies", headers={"Sec-GPC": "1"})
    assert "Global Privacy Control" in soup(settings).select_one("[role=status]").get_text()
    decide(client, "accept_all", page="/privacy/cookies", headers={"Sec-GPC": "1"})
    page = client.get("/", headers={"Sec-GPC": "1"})
    assert is_live(analytics_scripts(page)[0])
    gpc, explicit = records(app)
    assert (gpc.source, explicit.source) == ("gpc", "settings")
    assert gpc.consent_id == explicit.consent_id


def test_gpc_turned_on_after_accept_all_refuses_analytics_and_marketing(
    app: Flask, client: CookieCheckingClient
) -> None:
    """P19, P24: a choice made before the GPC signal was on gives way to it."""
    decide(client, "accept_all")
    assert is_live(analytics_scripts(client.get("/"))[0])

    for _ in range(3):
        page = client.get("/", headers={"Sec-GPC": "1"})
        assert banner(page) is None
        assert not is_live(analytics_scripts(page)[0])

    accepted, gpc = records(app)
    assert (accepted.source, gpc.source) == ("banner", "gpc"), "the GPC decision, once"
    assert gpc.consent_id == accepted.consent_id
    assert gpc.granted == ["necessary", "preferences"], "preferences stay as the visitor chose"
    assert gpc.refused == ["analytics", "marketing"]


def test_gpc_refuses_analytics_and_marketing_but_not_chosen_preferences(
    app: Flask, client: CookieCheckingClient
) -> None:
    """P19, P24: GPC refuses analytics and marketing; preferences stay as the visitor left them."""
    client.get("/", headers={"Sec-GPC": "1"})
    client.get("/", headers={"Sec-GPC": "1"})
    [first] = records(app)
    assert first.granted == ["necessary"], "preferences are not granted unless chosen"
    assert first.refused == ["preferences", "analytics", "marketing"]

    decide(client, "save", ["preferences"], page="/privacy/cookies", headers={"Sec-GPC": "1"})
    client.get("/", headers={"Sec-GPC": "1"})
    first, chosen = records(app)
    assert chosen.source == "settings"
    assert chosen.granted == ["necessary", "preferences"]
    settings = soup(client.get("/privacy/cookies", headers={"Sec-GPC": "1"}))
    checked = [b["value"] for b in settings.select("input[name=categories][checked]")]
    assert checked == ["preferences"]
    status = settings.select_one("[role=status]").get_text()
    assert "analytics and marketing" not in status, "a saved choice, not the GPC default"


def test_a_client_keeping_no_cookies_writes_no_gpc_records(app: Flask) -> None:
    """Anonymous page views never write to the database, GPC or not."""
    stateless = app.test_client(use_cookies=False)
    for _ in range(5):
        page = stateless.get("/", headers={"Sec-GPC": "1"})
        assert banner(page) is None
        assert not is_live(analytics_scripts(page)[0])
    assert records(app) == []


def test_a_replayed_gpc_cookie_is_recorded_once(app: Flask) -> None:
    """A client that presents the first GPC cookie over and over adds one record, not many."""
    stateless = app.test_client(use_cookies=False)
    value = consent_cookie(stateless.get("/", headers={"Sec-GPC": "1"}))
    for _ in range(5):
        page = stateless.get("/", headers={"Sec-GPC": "1", "Cookie": f"privacy_consent={value}"})
        assert banner(page) is None
    assert [r.source for r in records(app)] == ["gpc"]


# -- Withdrawal -----------------------------------------------------------------------------


def test_withdrawal_deletes_the_categorys_cookies(client: CookieCheckingClient) -> None:
    decide(client, "accept_all")
    for name in ("_ga", "_ga_TEST123", "comment_author"):
        client.set_cookie(name, "x", domain="blog.test")
    fields = form_fields(client.get("/privacy/cookies"), BANNER_FORM)
    answer = client.post(
        "/privacy/consent",
        data={**fields, "action": "save", "categories": ["marketing"]},
        headers={"Accept": "application/json"},
    )
    expired = {
        h.split("=", 1)[0]
        for h in answer.headers.getlist("Set-Cookie")
        if "Max-Age=0" in h or "1970" in h
    }
    assert expired == {"_ga", "_ga_TEST123", "comment_author"}
    assert answer.json is not None
    assert {"name": "_ga_", "pattern": True} in answer.json["clear"], "the script clears GA too"
    page = client.get("/")
    assert not is_live(analytics_scripts(page)[0])


# -- Script gating ------------------------------------------------------------------------

GATED_PAGE = """
{% from "privacy/consent/macros.html" import script, iframe, cookie_settings_link %}
{% call script("marketing", id="pixel") %}window.pixel = "<b>";{% endcall %}
{{ script("analytics", src="https://stats.example/s.js?a=1&b=\\"2", async_=true, id="stats") }}
{{ script("necessary", src="/app.js", id="app") }}
{{ iframe("marketing", src="https://video.example/embed/1", title="A video", id="video") }}
{{ cookie_settings_link() }}
"""


def test_gated_scripts_and_iframes_follow_consent(app: Flask, client: CookieCheckingClient) -> None:
    """P24: advertising and social code runs only as consented."""

    @app.route("/gated")
    def gated() -> str:
        return render_template_string(GATED_PAGE)

    before = BeautifulSoup(client.get("/gated").get_data(as_text=True), "html.parser")
    pixel, stats, app_js = (before.select_one(f"#{i}") for i in ("pixel", "stats", "app"))
    assert pixel["type"] == stats["type"] == "text/plain"
    assert pixel.get_text() == 'window.pixel = "<b>";'
    assert stats["src"] == 'https://stats.example/s.js?a=1&b="2'
    assert "type" not in app_js.attrs, "necessary scripts are always live"
    video = before.select_one("#video")
    assert "src" not in video.attrs
    assert video["data-privacy-src"] == "https://video.example/embed/1"
    assert "marketing" in video["srcdoc"]
    assert before.select_one("a[href='/privacy/cookies']").get_text() == "Cookie settings"

    decide(client, "save", ["marketing"])
    after = BeautifulSoup(client.get("/gated").get_data(as_text=True), "html.parser")
    assert "type" not in after.select_one("#pixel").attrs
    assert after.select_one("#stats")["type"] == "text/plain", "analytics was not granted"
    assert after.select_one("#video")["src"] == "https://video.example/embed/1"
    assert "srcdoc" not in after.select_one("#video").attrs


def test_a_wanted_script_type_waits_for_consent(app: Flask, client: CookieCheckingClient) -> None:
    """P19: a module script of a category is inert until consent, then a module again."""

    @app.route("/module")
    def module() -> str:
        return render_template_string(
            "{{ privacy_script('analytics', src='/stats.mjs', type='module', id='upper') }}"
            "{{ privacy_script('analytics', src='/stats.mjs', id='lower', **{'TYPE': 'module'}) }}"
        )

    before = BeautifulSoup(client.get("/module").get_data(as_text=True), "html.parser")
    scripts = before.select("script")
    assert [s.get("id") for s in scripts] == ["upper", "lower"], "both scripts are rendered"
    for element in scripts:
        assert element["src"] == "/stats.mjs"
        assert element["type"] == "text/plain"
        assert element["data-privacy-type"] == "module"
        assert list(element.attrs).count("type") == 1
    decide(client, "accept_all")
    after = BeautifulSoup(client.get("/module").get_data(as_text=True), "html.parser")
    scripts = after.select("script")
    assert [s.get("id") for s in scripts] == ["upper", "lower"]
    for element in scripts:
        assert element["type"] == "module"
        assert "data-privacy-type" not in element.attrs


@pytest.mark.parametrize(
    "code", ["x = '</script><script>alert(1)//';", "x = '</SCRIPT >';", "x = '<!--';"]
)
def test_inline_code_that_would_end_the_inert_script_is_refused(app: Flask, code: str) -> None:
    with app.test_request_context("/"), pytest.raises(ValueError, match="</script"):
        rendering.script("marketing", inline=code)


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"src_": "https://video.example/1"}, "'src' is set by the consent gating"),
        ({"SRC": "https://video.example/1"}, "'src' is set by the consent gating"),
        ({"srcdoc": "<script>track()</script>"}, "'srcdoc' is set by the consent gating"),
        ({"onload": "track()"}, "no event handler attributes"),
        ({"data_privacy_category": "necessary"}, "'data-privacy-category' is set"),
    ],
)
def test_an_iframe_cannot_be_made_live_by_its_attributes(
    app: Flask, attributes: dict[str, str], message: str
) -> None:
    with app.test_request_context("/"), pytest.raises(ValueError, match=message):
        rendering.iframe("marketing", src="https://video.example/1", title="A video", **attributes)


def test_a_script_cannot_be_made_live_by_its_attributes(app: Flask) -> None:
    with app.test_request_context("/"), pytest.raises(ValueError, match="'src'"):
        rendering.script("marketing", src_="https://ads.example/a.js")
    with app.test_request_context("/"), pytest.raises(ValueError, match="twice"):
        rendering.script("marketing", src="/a.js", type="module", TYPE_="text/javascript")


def test_gating_an_unknown_category_is_a_clear_error(app: Flask) -> None:
    with app.test_request_context("/"), pytest.raises(ValueError, match="Unknown consent category"):
        rendering.script("adverts", src="https://ads.example/a.js")
    with app.test_request_context("/"), pytest.raises(ValueError, match="attribute name"):
        rendering.script("marketing", src="/x.js", **{"onload=alert(1) x": "y"})


def test_consent_mode_defaults_to_denied_before_any_google_tag(
    client: CookieCheckingClient,
) -> None:
    head = soup(client.get("/")).select_one("head")
    scripts = head.select("script")
    consent_js = next(i for i, s in enumerate(scripts) if "consent.js" in str(s.get("src", "")))
    ga = next(i for i, s in enumerate(scripts) if ANALYTICS_HOST in str(s.get("src", "")))
    assert consent_js < ga, "Consent Mode defaults are set before the Google tag"
    assert not scripts[consent_js].has_attr("async")
    assert not scripts[consent_js].has_attr("defer")
    import json

    settings = json.loads(head.select_one("#privacy-consent-settings").get_text())
    assert settings["decided"] is False
    assert settings["granted"] == ["necessary"]
    assert settings["analyticsId"] == "G-TEST123"
    assert "analytics_storage" in settings["consentMode"]["analytics"]


def test_the_analytics_id_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, config: dict[str, t.Any]
) -> None:
    from example_site import create_app

    monkeypatch.setenv("FLASK_PRIVACY_ANALYTICS_ID", "G-FROMENV1")
    settings = {k: v for k, v in config.items() if k != "PRIVACY_ANALYTICS_ID"}
    assert create_app(settings).config["PRIVACY_ANALYTICS_ID"] == "G-FROMENV1"


# -- Records ----------------------------------------------------------------------------------


def test_every_decision_is_an_appended_record(
    app: Flask, client: CookieCheckingClient, member: t.Any
) -> None:
    """Proof of consent: who, what, when, from where (anonymised), how; never overwritten."""
    from .helpers import log_in

    decide(
        client,
        "accept_all",
        environ_base={"REMOTE_ADDR": "203.0.113.77"},
        headers={"User-Agent": "Browser/1"},
    )
    log_in(client, member.username)
    decide(
        client,
        "reject_all",
        page="/privacy/cookies",
        environ_base={"REMOTE_ADDR": "2001:db8:1:2:3:4:5:6"},
    )
    first, second = records(app)
    assert first.consent_id == second.consent_id
    assert first.user_id is None
    assert second.user_id == member.id
    assert first.ip_address == "203.0.113.0"
    assert second.ip_address == "2001:db8:1:2::"
    assert first.user_agent == "Browser/1"
    assert (first.source, second.source) == ("banner", "settings")
    assert first.granted == ["necessary", "preferences", "analytics", "marketing"]
    assert second.refused == ["preferences", "analytics", "marketing"]
    assert first.revision == second.revision
    assert first.policy_version == "unpublished"  # P36: no version is published yet
