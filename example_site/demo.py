"""Demo content for the example blog."""

from __future__ import annotations

DEMO_POSTS: list[dict[str, str]] = [
    {
        "slug": "we-value-your-privacy",
        "title": "We value your privacy",
        "summary": "The first words of our privacy policy, and what they mean in practice.",
        "body": (
            "“We value your privacy!” These are the first words of our privacy policy.\n\n"
            "This blog runs on flask-allcot-privacy: the consent banner below asks before any "
            "analytics run, your account's cookies last two days (two weeks with Remember Me), "
            "and you can ask to see, download or erase your data at any time."
        ),
    },
    {
        "slug": "cookies-explained",
        "title": "Cookies, explained",
        "summary": "Which cookies this site sets, for how long, and how to change your mind.",
        "body": (
            "A cookie is a string of information a website stores in your browser.\n\n"
            "Open the cookie settings from the footer of any page: every cookie is listed "
            "with its purpose and lifetime, and you can withdraw consent as easily as you gave it."
        ),
    },
    {
        "slug": "your-data-your-rights",
        "title": "Your data, your rights",
        "summary": "See, download, correct or erase what we hold about you.",
        "body": (
            "If you registered or left a comment, you can ask for a copy of the data we hold "
            "about you, ask us to correct it, or ask to be forgotten.\n\n"
            "We answer within seven business days."
        ),
    },
]

#: One demo account per staff role (username, email, role). They get no password:
#: ``init-db --demo`` sends each a set-password link, read at /outbox in demo mode.
DEMO_STAFF: list[tuple[str, str, str]] = [
    ("demo-staff", "demo-staff@example.test", "staff"),
    ("demo-officer", "demo-officer@example.test", "privacy_officer"),
    ("demo-admin", "demo-admin@example.test", "admin"),
]
