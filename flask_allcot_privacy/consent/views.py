"""``POST /privacy/consent``, the cookie settings page and the policy page."""

from __future__ import annotations

import typing as t
from urllib.parse import urlsplit

from flask import (
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf

from .. import cookies, ratelimit
from ..redirects import safe_target
from ..state import current_db
from . import bp, catalogue, choice, proof
from .forms import ConsentForm


@bp.route("/consent", methods=["POST"])
def decide() -> t.Any:
    """Record a decision, store it in the cookie and clear what was refused.

    Answers JSON to the banner script (``Accept: application/json``) and
    otherwise redirects back to the page the form was on, so it works without
    JavaScript.
    """
    ratelimit.hit_per_ip("consent", "PRIVACY_CONSENT_LIMIT_PER_IP")
    form = ConsentForm()
    if not form.validate_on_submit():
        if _wants_json():
            errors = {name: [str(e) for e in errs] for name, errs in form.errors.items()}
            # A page left open past the CSRF time limit gets a fresh token to retry with.
            return jsonify(ok=False, errors=errors, csrf_token=generate_csrf()), 400
        return _settings_page(form), 400

    previous = choice.current()
    earlier = choice.take_unrecorded()
    if earlier is not None:
        # The GPC decision this browser held came first: its record comes first too.
        proof.append_gpc_once(earlier)
    consent = choice.decide(form.granted(), form.source.data or "banner", previous)
    choice.replace_current(consent)
    proof.append(consent)
    current_db().session.commit()

    response: Response
    if _wants_json():
        response = jsonify(
            ok=True,
            consent_id=consent.consent_id,
            granted=consent.granted_list(),
            refused=consent.refused(),
            revision=consent.revision,
            clear=[
                {"name": c.cookie_name(), "pattern": c.pattern}
                for name in consent.refused()
                for c in catalogue.client_cookies(name)
            ],
        )
    else:
        flash(_("Your cookie choices are saved. You can change them at any time."), "success")
        # flask.redirect builds the app's response class; its annotation is werkzeug's.
        response = t.cast(Response, redirect(_back_to(form.next.data), code=303))
    choice.save(response, consent)
    _delete_refused_cookies(response, consent)
    return response


@bp.route("/cookies")
def cookie_settings() -> str:
    """Every category with its services and cookies; withdrawing is as easy as giving."""
    consent = choice.current()
    granted = [name for name in consent.granted_list() if name in catalogue.optional_names()]
    form = ConsentForm(source="settings", categories=granted)
    return _settings_page(form)


@bp.route("/policy")
def policy() -> str:
    """The privacy policy, with the cookie table and processor list generated.

    Above it the current version, below it the changelog (see ``policy_versions``).
    """
    from .. import policy_versions

    return render_template(
        "privacy/consent/policy.html",
        policy_current=policy_versions.latest(),
        policy_changelog=policy_versions.changelog(),
        **policy_versions.policy_context(),
    )


def _settings_page(form: ConsentForm) -> str:
    form.source.data = "settings"
    form.next.data = url_for(".cookie_settings")
    return render_template(
        "privacy/consent/settings.html",
        form=form,
        consent=choice.current(),
        categories=catalogue.categories(),
        gpc=choice.gpc_requested(),
    )


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _back_to(target: str | None) -> str:
    """The page the form was on, on this site only; the settings page otherwise."""
    found = safe_target(target)
    if found is None and request.referrer:
        parts = urlsplit(request.referrer)
        if parts.netloc == request.host:
            found = safe_target(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found or url_for(".cookie_settings")


def _delete_refused_cookies(response: Response, consent: choice.Consent) -> None:
    """Withdrawal clears: expire every cookie the browser sent that a refused category owns."""
    refused = set(consent.refused())
    sent = list(request.cookies)
    for spec in cookies.declared():
        if spec.category not in refused:
            continue
        wire = spec.cookie_name()
        for name in sent:
            if name == wire or (spec.pattern and name.startswith(wire)):
                cookies.delete_cookie(response, spec.key, name=name)
