"""Lookalike text: NFKC normalisation and Unicode's confusables (``confusable-homoglyphs``)."""

from __future__ import annotations

import typing as t
import unicodedata

from confusable_homoglyphs import confusables


def compatible(value: t.Any) -> t.Any:
    """NFKC-normalised and trimmed, so ``reader`` typed in full-width letters is ``reader``.

    Also a WTForms filter; values that are not strings pass unchanged.
    """
    return unicodedata.normalize("NFKC", value).strip() if isinstance(value, str) else value


def looks_like_another(text: str) -> bool:
    """True when ``text`` mixes scripts and holds a character that passes for a Latin one
    (a Cyrillic ``\\u0435`` among Latin letters), as Unicode's confusables table lists them.

    Text wholly in one script (``\\u043f\\u0440\\u0438\\u043c\\u0435\\u0440.\\u0440\\u0444``),
    or Han beside a Latin domain, is welcome; only the mix that imitates Latin is refused.
    """
    return bool(
        confusables.is_mixed_script(text)
        and confusables.is_confusable(text, preferred_aliases=["latin"])
    )
