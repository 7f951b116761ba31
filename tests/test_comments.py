"""Comments: what is stored (P26), what is public (P27), IP logging, escaping, author cookies."""

from __future__ import annotations

import typing as t
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask, render_template_string

from example_site import db
from example_site.models import Post
from flask_allcot_privacy import CommentTarget
from flask_allcot_privacy.models import Comment, User

from .helpers import (
    PASSWORD,
    CookieCheckingClient,
    field_error,
    form_fields,
    log_in,
    make_host_app,
    soup,
)

FORM = "form.privacy-comment-form"
VISITOR = {
    "author_name": "Ann Example",
    "author_email": "ann.private@example.test",
    "author_url": "https://ann.example.test/",
    "body": "What a useful post.",
}
#: Values that must never reach a page a visitor sees.
SECRET_UA = "SecretBrowser/9.1 (marker-ua-5f2c)"
SECRET_IP = "198.51.100.77"


class PostPage(t.NamedTuple):
    url: str
    target: str


@pytest.fixture
def post(app: Flask) -> PostPage:
    with app.app_context():
        found = Post(slug="hello", title="Hello", body="The post.")
        db.session.add(found)
        db.session.commit()
        return PostPage(f"/posts/{found.slug}", found.comment_target)


def comment(
    client: CookieCheckingClient, page: PostPage, fields: dict[str, t.Any], **kwargs: t.Any
) -> t.Any:
    """Fill the comment form on the post page like a browser and post it."""
    return client.submit(page.url, fields, form_selector=FORM, **kwargs)


def stored(app: Flask) -> list[Comment]:
    with app.app_context():
        rows = db.session.scalars(sa.select(Comment).order_by(Comment.id)).all()
        db.session.expunge_all()
        return list(rows)


def fresh_client(app: Flask) -> CookieCheckingClient:
    return t.cast(CookieCheckingClient, app.test_client())


def kept_fields(response: t.Any) -> dict[str, str]:
    """The form's values as a browser reads them (it drops a textarea's first line break)."""
    fields = form_fields(response, FORM)
    fields["body"] = fields["body"].removeprefix("\r\n").removeprefix("\n")
    return fields


def set_cookies(response: t.Any) -> dict[str, SimpleCookie]:
    found: dict[str, SimpleCookie] = {}
    for header in response.headers.getlist("Set-Cookie"):
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        for name in cookie:
            found[name] = cookie
    return found


# -- Posting and storing ---------------------------------------------------------------


def test_the_post_page_shows_the_form_with_the_contract_fields(
    client: CookieCheckingClient, post: PostPage
) -> None:
    page = client.get(post.url)
    form = soup(page).select_one(FORM)
    assert form is not None
    assert form["action"] == f"/comments/{post.target}"
    names = {field["name"] for field in form.select("[name]")}
    assert {"csrf_token", "body", "author_name", "author_email", "author_url"} <= names
    assert "remember_author" in names


def test_a_visitor_comment_stores_email_ip_and_user_agent(
    app: Flask, client: CookieCheckingClient, post: PostPage
) -> None:
    """P26: commenters' email, IP address and browser user agent are stored."""
    response = comment(
        client,
        post,
        VISITOR,
        environ_base={"REMOTE_ADDR": SECRET_IP},
        headers={"User-Agent": SECRET_UA},
    )
    assert response.status_code == 302
    [saved] = stored(app)
    assert saved.target == post.target
    assert saved.user_id is None
    assert saved.author_name == VISITOR["author_name"]
    assert saved.author_email == VISITOR["author_email"]
    assert saved.author_url == VISITOR["author_url"]
    assert saved.body == VISITOR["body"]
    assert saved.ip_address == SECRET_IP
    assert saved.user_agent == SECRET_UA
    assert saved.status == "approved"
    assert saved.created_at is not None
    location = urlsplit(response.headers["Location"])
    assert location.path == post.url
    assert location.fragment == f"comment-{saved.id}"


def test_a_member_writes_only_the_body_and_the_email_is_kept(
    app: Flask, logged_in: CookieCheckingClient, member: User, post: PostPage
) -> None:
    page = logged_in.get(post.url)
    names = {field["name"] for field in soup(page).select(f"{FORM} [name]")}
    assert names == {"csrf_token", "next", "body"}
    response = comment(logged_in, post, {"body": "Members welcome."})
    assert response.status_code == 302
    [saved] = stored(app)
    assert saved.user_id == member.id
    assert saved.author_email == member.email
    assert saved.author_name == ""  # the name is read from the member when shown


def test_a_member_comment_shows_the_current_display_name(
    app: Flask, logged_in: CookieCheckingClient, member: User, post: PostPage
) -> None:
    """P9: a display-name change shows on the member's old comments too."""
    comment(logged_in, post, {"body": "Hello."})
    author = soup(logged_in.get(post.url)).select_one(".privacy-comment__author")
    assert author.get_text(strip=True) == member.username
    with app.app_context():
        user = db.session.get(User, member.id)
        user.first_name, user.last_name, user.display_name_choice = "Rita", "Reader", "first_last"
        db.session.commit()
    author = soup(fresh_client(app).get(post.url)).select_one(".privacy-comment__author")
    assert author.get_text(strip=True) == "Rita Reader"


def test_an_erased_member_is_shown_as_anonymous(
    app: Flask, logged_in: CookieCheckingClient, member: User, post: PostPage
) -> None:
    comment(logged_in, post, {"body": "Soon gone."})
    with app.app_context():
        db.session.get(User, member.id).erased_at = db.func.now()
        db.session.commit()
    author = soup(fresh_client(app).get(post.url)).select_one(".privacy-comment__author")
    assert author.get_text(strip=True) == "Anonymous"


def test_a_public_profile_is_linked_from_the_member_name(
    app: Flask, make_member: t.Callable[..., User], post: PostPage
) -> None:
    make_member("open", public_profile=True)
    client = fresh_client(app)
    log_in(client, "open", PASSWORD)
    comment(client, post, {"body": "See my profile."})
    link = soup(fresh_client(app).get(post.url)).select_one(".privacy-comment__author a")
    assert link is not None
    assert urlsplit(link["href"]).path == "/account/u/open"


def test_nothing_but_body_name_website_and_time_reaches_other_visitors(
    app: Flask, client: CookieCheckingClient, post: PostPage
) -> None:
    """P26/P27: the email, IP address and user agent never appear on any public page."""
    comment(
        client,
        post,
        VISITOR,
        environ_base={"REMOTE_ADDR": SECRET_IP},
        headers={"User-Agent": SECRET_UA},
    )
    other = fresh_client(app)
    for url in (post.url, f"/comments/{post.target}"):
        page = other.get(url)
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        for secret in (VISITOR["author_email"], "ann.private", SECRET_IP, SECRET_UA, "marker-ua"):
            assert secret not in html, f"{secret!r} leaked on {url}"
        shown = soup(page).select_one(".privacy-comment")
        assert shown.select_one(".privacy-comment__author").get_text(strip=True) == "Ann Example"
        assert shown.select_one(".privacy-comment__author a")["href"] == VISITOR["author_url"]
        assert shown.select_one("time")["datetime"]
        assert shown.select_one(".privacy-comment__body").get_text(strip=True) == VISITOR["body"]


def test_the_commenter_who_did_not_tick_remember_sees_no_email_either(
    app: Flask, client: CookieCheckingClient, post: PostPage
) -> None:
    response = comment(client, post, VISITOR, headers={"User-Agent": SECRET_UA})
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert VISITOR["author_email"] not in html
    assert SECRET_UA not in html


def test_user_agent_is_cut_to_255_characters(
    app: Flask, client: CookieCheckingClient, post: PostPage
) -> None:
    comment(client, post, VISITOR, headers={"User-Agent": "U" * 400})
    [saved] = stored(app)
    assert saved.user_agent == "U" * 255


# -- The client's IP address -------------------------------------------------------------


@pytest.mark.parametrize(
    ("remote_addr", "stored_as"),
    [
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("203.0.113.9", "203.0.113.9"),
    ],
)
def test_the_ip_address_is_stored_normalised(
    app: Flask, client: CookieCheckingClient, post: PostPage, remote_addr: str, stored_as: str
) -> None:
    comment(client, post, VISITOR, environ_base={"REMOTE_ADDR": remote_addr})
    assert stored(app)[0].ip_address == stored_as


def test_a_forged_x_forwarded_for_changes_nothing_by_default(
    app: Flask, client: CookieCheckingClient, post: PostPage
) -> None:
    comment(
        client,
        post,
        VISITOR,
        environ_base={"REMOTE_ADDR": "203.0.113.5"},
        headers={"X-Forwarded-For": "192.0.2.66"},
    )
    assert stored(app)[0].ip_address == "203.0.113.5"


@pytest.mark.parametrize("extra_config", [{"PRIVACY_TRUSTED_PROXIES": 1}])
def test_one_trusted_proxy_gives_the_client_it_saw(
    app: Flask, client: CookieCheckingClient, post: PostPage
) -> None:
    # The client forged the first entry; the trusted proxy appended the address it saw.
    comment(
        client,
        post,
        VISITOR,
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
        headers={"X-Forwarded-For": "192.0.2.66, 203.0.113.5"},
    )
    assert stored(app)[0].ip_address == "203.0.113.5"


# -- What is shown, and how ------------------------------------------------------------


def test_links_are_clickable_nofollow_and_line_breaks_kept(
    client: CookieCheckingClient, post: PostPage
) -> None:
    body = "First line\nsee https://example.test/page?a=1&b=2 now\n\nSecond paragraph"
    response = comment(client, post, {**VISITOR, "body": body})
    shown = soup(client.get(response.headers["Location"])).select_one(".privacy-comment__body")
    paragraphs = shown.select("p")
    assert len(paragraphs) == 2
    assert len(paragraphs[0].select("br")) == 1
    [link] = shown.select("a")
    assert link["href"] == "https://example.test/page?a=1&b=2"
    assert link["rel"] == ["nofollow", "ugc", "noopener"]
    assert paragraphs[1].get_text() == "Second paragraph"


def test_only_web_links_become_links(client: CookieCheckingClient, post: PostPage) -> None:
    body = "javascript:alert(1) data:text/html,hi ftp://files.example.test/x mailto:a@b.test"
    response = comment(client, post, {**VISITOR, "body": body})
    shown = soup(client.get(response.headers["Location"])).select_one(".privacy-comment__body")
    assert shown.select("a") == []
    assert shown.get_text(strip=True) == body


XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _assert_inert(page: t.Any) -> None:
    """No script or event handler from the payload made it into the page as markup."""
    html = soup(page)
    assert not [s for s in html.select("script") if "alert" in s.get_text()]
    assert not html.select("[onerror]")


@pytest.mark.parametrize("field", ["author_name", "body"])
def test_markup_in_a_shown_field_is_shown_as_text(
    app: Flask, client: CookieCheckingClient, post: PostPage, field: str
) -> None:
    response = comment(client, post, {**VISITOR, field: f"Hi {XSS}"})
    assert response.status_code == 302
    page = fresh_client(app).get(post.url)
    _assert_inert(page)
    selector = ".privacy-comment__author" if field == "author_name" else ".privacy-comment__body"
    assert soup(page).select_one(selector).get_text(strip=True) == f"Hi {XSS}"


def test_markup_in_the_website_stays_inside_the_link(
    app: Flask, client: CookieCheckingClient, post: PostPage
) -> None:
    url = 'https://ann.example.test/"><script>alert(1)</script>'
    assert comment(client, post, {**VISITOR, "author_url": url}).status_code == 302
    page = fresh_client(app).get(post.url)
    _assert_inert(page)
    assert soup(page).select_one(".privacy-comment__author a")["href"] == url


@pytest.mark.parametrize("field", ["author_name", "author_email", "author_url", "body"])
def test_markup_typed_in_any_field_comes_back_escaped_on_bad_input(
    app: Flask, client: CookieCheckingClient, post: PostPage, field: str
) -> None:
    # A missing email makes the form invalid, whatever else was typed.
    typed = {**VISITOR, "author_email": "", field: XSS}
    response = comment(client, post, typed)
    assert response.status_code == 400
    _assert_inert(response)
    assert kept_fields(response)[field] == XSS
    assert stored(app) == []


def test_a_bad_target_in_the_host_template_is_a_clear_error(tmp_path: Path) -> None:
    app = make_host_app(tmp_path)
    with app.test_request_context("/"), pytest.raises(ValueError, match="post:12"):
        render_template_string("{{ privacy_comments('<bad target>') }}")


def test_a_bad_target_in_the_address_is_not_found(client: CookieCheckingClient) -> None:
    assert client.get("/comments/%3Cscript%3E").status_code == 404
    assert client.post("/comments/" + "x" * 101).status_code == 404


# -- Bad input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field_id", "message"),
    [
        ({"body": ""}, "body", "Write your comment."),
        ({"body": "   \n  "}, "body", "Write your comment."),
        ({"body": "x" * 10_001}, "body", "10,000"),
        ({"author_name": ""}, "author_name", "Enter your name."),
        ({"author_email": ""}, "author_email", "Enter your email address."),
        ({"author_email": "not-an-address"}, "author_email", "@"),
        ({"author_url": "javascript:alert(1)"}, "author_url", "http"),
        ({"author_url": "ftp://files.example.test/"}, "author_url", "http"),
    ],
)
def test_bad_input_is_answered_beside_the_field_with_the_text_kept(
    app: Flask,
    client: CookieCheckingClient,
    post: PostPage,
    changes: dict[str, str],
    field_id: str,
    message: str,
) -> None:
    typed = {**VISITOR, **changes}
    response = comment(client, post, typed)
    assert response.status_code == 400
    assert message in field_error(response, field_id)
    kept = kept_fields(response)
    for name in ("author_name", "author_email", "author_url"):
        assert kept[name] == typed[name].strip()
    if changes.get("body", "x").strip():
        assert kept["body"] == typed["body"].strip()
    assert kept["next"] == post.url
    assert soup(response).select_one("a.privacy-comments__back")["href"] == post.url
    assert stored(app) == []


def test_the_longest_body_allowed_is_10000_characters(
    app: Flask, client: CookieCheckingClient, post: PostPage
) -> None:
    assert comment(client, post, {**VISITOR, "body": "x" * 10_000}).status_code == 302
    assert len(stored(app)[0].body) == 10_000


@pytest.mark.parametrize("field", ["body", "author_name"])
def test_a_nul_byte_is_refused_beside_the_field_and_nothing_stored(
    app: Flask, client: CookieCheckingClient, post: PostPage, field: str
) -> None:
    """A control character no one types (PostgreSQL refuses NUL) is bad input, not a 500."""
    response = comment(client, post, {**VISITOR, field: "a\x00b"})
    assert response.status_code == 400
    assert (
        field_error(response, field) == "Remove the invisible control characters from this field."
    )
    assert stored(app) == []


def test_a_nul_byte_in_a_members_comment_is_refused_too(
    app: Flask, logged_in: CookieCheckingClient, post: PostPage
) -> None:
    response = comment(logged_in, post, {"body": "a\x00b"})
    assert response.status_code == 400
    assert (
        field_error(response, "body") == "Remove the invisible control characters from this field."
    )
    assert stored(app) == []


def test_a_post_without_the_csrf_token_is_refused(
    app: Flask, client: CookieCheckingClient, post: PostPage
) -> None:
    response = client.post(f"/comments/{post.target}", data=VISITOR)
    assert response.status_code == 400
    assert stored(app) == []


@pytest.mark.parametrize("next_url", ["https://evil.test/", "//evil.test/x", "/\\evil.test"])
def test_the_way_back_stays_on_this_site(
    client: CookieCheckingClient, post: PostPage, next_url: str
) -> None:
    response = comment(client, post, {**VISITOR, "next": next_url})
    location = urlsplit(response.headers["Location"])
    assert location.netloc in ("", "blog.test")
    assert location.path == post.url, "back to the post, as the target resolver gives it"


def test_the_comment_page_works_on_its_own(
    app: Flask, client: CookieCheckingClient, post: PostPage
) -> None:
    own = client.get(f"/comments/{post.target}")
    assert own.status_code == 200
    # The host's page, not this one, is what search engines should index.
    assert own.headers["X-Robots-Tag"] == "noindex"
    back = soup(own).select_one("a.privacy-comments__back")
    assert back is not None
    assert back["href"] == post.url
    assert back.get_text(strip=True) == "Back to Hello"
    response = client.submit(f"/comments/{post.target}", VISITOR, form_selector=FORM)
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    assert soup(page).select_one(".privacy-comment__body").get_text(strip=True) == VISITOR["body"]
    assert stored(app)[0].target == post.target


@pytest.mark.parametrize("target", ["nonexistent:999", "post:999", "post:abc", "page:about"])
def test_a_comment_on_a_target_the_host_does_not_know_is_not_stored(
    app: Flask, client: CookieCheckingClient, post: PostPage, target: str
) -> None:
    """Only pages the host's resolver knows take comments (before, any target did)."""
    page = soup(client.get(post.url))
    token = page.select_one(f"{FORM} input[name=csrf_token]")["value"]
    assert client.get(f"/comments/{target}").status_code == 404
    response = client.post(f"/comments/{target}", data={**VISITOR, "csrf_token": token})
    assert response.status_code == 404
    assert stored(app) == []
    control = client.post(f"/comments/{post.target}", data={**VISITOR, "csrf_token": token})
    assert control.status_code == 302, "the same post to a real target is stored"
    assert len(stored(app)) == 1


def test_without_a_resolver_no_target_takes_comments(tmp_path: Path) -> None:
    app = make_host_app(tmp_path)
    with app.test_request_context("/"), pytest.raises(RuntimeError, match="comment_target"):
        render_template_string("{{ privacy_comments('post:1') }}")
    assert app.test_client().get("/comments/post:1").status_code == 404


@pytest.mark.parametrize("extra_config", [{"PRIVACY_COMMENT_LIMIT_PER_IP": "2 per minute"}])
def test_comments_are_rate_limited_per_ip(
    app: Flask, client: CookieCheckingClient, post: PostPage
) -> None:
    for _ in range(2):
        assert comment(client, post, VISITOR).status_code == 302
    refused = comment(client, post, VISITOR)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"]
    assert len(stored(app)) == 2
    # Another address is not held back by the first one's limit.
    other = comment(client, post, VISITOR, environ_base={"REMOTE_ADDR": "203.0.113.80"})
    assert other.status_code == 302


# -- The comment-author cookies --------------------------------------------------------


AUTHOR_COOKIES = ("comment_author", "comment_author_email", "comment_author_url")


def test_remember_author_is_never_pre_ticked(client: CookieCheckingClient, post: PostPage) -> None:
    box = soup(client.get(post.url)).select_one(f"{FORM} input[name=remember_author]")
    assert box["type"] == "checkbox"
    assert not box.has_attr("checked")


def test_ticking_remember_keeps_the_details_for_a_year_and_prefills_the_form(
    client: CookieCheckingClient, post: PostPage
) -> None:
    response = comment(client, post, {**VISITOR, "remember_author": True})
    cookies = set_cookies(response)
    for name in AUTHOR_COOKIES:
        assert name in cookies, f"{name} not set"
        morsel = cookies[name][name]
        assert morsel["max-age"] == str(365 * 24 * 3600)
        assert morsel["httponly"]
        assert morsel["samesite"] == "Lax"
    page = client.get(post.url)
    fields = form_fields(page, FORM)
    assert fields["author_name"] == VISITOR["author_name"]
    assert fields["author_email"] == VISITOR["author_email"]
    assert fields["author_url"] == VISITOR["author_url"]
    assert "remember_author" not in fields  # still not ticked for them
    # The page holds the visitor's own email: no shared cache may keep it.
    assert "no-store" in page.headers["Cache-Control"]


def test_not_ticking_remember_deletes_the_cookies(
    client: CookieCheckingClient, post: PostPage
) -> None:
    comment(client, post, {**VISITOR, "remember_author": True})
    response = comment(client, post, {"body": "Second comment."})
    cookies = set_cookies(response)
    for name in AUTHOR_COOKIES:
        assert cookies[name][name]["max-age"] == "0", f"{name} not deleted"
    for name in AUTHOR_COOKIES:
        assert client.get_cookie(name) is None
    fields = form_fields(client.get(post.url), FORM)
    assert fields["author_email"] == ""


def test_no_author_cookie_without_the_tick(client: CookieCheckingClient, post: PostPage) -> None:
    response = comment(client, post, VISITOR)
    assert not set(set_cookies(response)) & set(AUTHOR_COOKIES)


# -- The Jinja call for hosts ------------------------------------------------------------


def test_a_host_shows_comments_with_one_jinja_call(tmp_path: Path) -> None:
    app = make_host_app(tmp_path, PRIVACY_EMAIL_ALLOW_TEST_DOMAINS=True)
    privacy = app.extensions["allcot_privacy"].privacy

    @privacy.comment_target
    def article_target(key: str) -> CommentTarget | None:
        return CommentTarget("An article", "/article") if key == "article:1" else None

    @app.route("/article")
    def article() -> str:
        return render_template_string("<main>{{ privacy_comments('article:1') }}</main>")

    from flask_allcot_privacy.state import current_db

    with app.app_context():
        current_db().create_all()
    app.test_client_class = CookieCheckingClient
    client = t.cast(CookieCheckingClient, app.test_client())
    response = client.submit(
        "/article?ref=feed", {**VISITOR, "body": "From a host."}, form_selector=FORM
    )
    location = urlsplit(response.headers["Location"])
    assert (location.path, parse_qs(location.query)) == ("/article", {"ref": ["feed"]})
    shown = soup(client.get("/article")).select_one(".privacy-comment__body")
    assert shown.get_text(strip=True) == "From a host."
