"""``/comments/<target>``: post a comment; the page also shows the thread and its form.

A comment is stored with what the policy says commenters give: the email address,
the IP address and the browser's user agent (P26). Everything else is public (P27).
Bad input is answered on this page (status 400) with the messages beside the fields,
the text kept, and a link back to the page the form was on.
"""

from __future__ import annotations

import typing as t

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import ipaddr, ratelimit
from ..models import Comment, User
from ..redirects import safe_target
from ..state import current_db
from . import author_cookies, bp, moderation_rules, targets, thread
from .forms import MemberCommentForm, VisitorCommentForm


def _page(
    target: str, page: targets.CommentTarget, form: MemberCommentForm, status_code: int = 200
) -> t.Any:
    back = safe_target(form.next.data) or safe_target(page.url)
    body = render_template(
        "privacy/comments/page.html", back=back, page=page, **thread.context(target, form)
    )
    # The host's own page is where these comments belong in search results.
    return body, status_code, {"X-Robots-Tag": "noindex"}


@bp.route("/<target>", methods=["GET", "POST"])
def comments(target: str) -> t.Any:
    page = targets.resolve(target)
    if page is None:
        # Only pages the host says exist take comments: nothing is stored for others.
        abort(404)
    if request.method == "GET":
        return _page(target, page, thread.blank_form(safe_target(request.args.get("next")) or ""))
    form = thread.bound_form()
    if not form.validate_on_submit():
        return _page(target, page, form, 400)
    ip_address = ipaddr.request_ip()
    ratelimit.hit_per_ip("comments", "PRIVACY_COMMENT_LIMIT_PER_IP")

    member: User | None = current_user if current_user.is_authenticated else None
    comment = Comment(
        target=target,
        body=form.body.data,
        ip_address=ip_address,
        user_agent=ipaddr.request_user_agent(),
    )
    if member is not None:
        # The name is read from the member at render time; only the email is kept (P26).
        comment.user_id = member.id
        comment.author_email = member.email
    else:
        assert isinstance(form, VisitorCommentForm)
        comment.author_name = form.author_name.data
        comment.author_email = form.author_email.data
        comment.author_url = form.author_url.data or ""
    comment.status = moderation_rules.initial_status(member, comment.author_email)
    db = current_db()
    db.session.add(comment)
    db.session.commit()
    current_app.logger.info("comment %s on %s: %s", comment.id, target, comment.status)

    token = None
    if comment.is_held:
        token = moderation_rules.held_link_token(comment)
        flash(
            _(
                "Thank you. Your comment is awaiting moderation. Until it is approved only "
                "you can see it, at the address of this page: bookmark it to come back."
            ),
            "success",
        )
    else:
        flash(_("Thank you. Your comment is published."), "success")
    back = (
        safe_target(form.next.data) or safe_target(page.url) or url_for(".comments", target=target)
    )
    response = current_app.make_response(redirect(thread.with_held_link(back, token, comment.id)))
    if member is None:
        assert isinstance(form, VisitorCommentForm)
        if form.remember_author.data:
            author_cookies.remember(
                response,
                {
                    "author_name": comment.author_name,
                    "author_email": comment.author_email,
                    "author_url": comment.author_url,
                },
            )
        else:
            author_cookies.forget(response)
    return response
