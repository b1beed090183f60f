"""Keys and network text made safe: secrets redacted, strings bounded, JSON trees scrubbed.

Everything that comes back from the network, and everything fcaudit prints about a request,
passes through here before it reaches a report, a log or the terminal.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any, Final

from fcaudit.text import safe, valid_text

# Secrets, wherever they appear in text from the network: Stripe keys with a body (a prefix
# alone, `sk_` or `sk_test_`, is not a secret and is left as it is), webhook signing secrets,
# client secrets (`fcsess_..._secret_...`) and bearer or basic credentials.
KEY_PATTERN: Final = re.compile(r"(sk|rk|pk)_(live|test)_[0-9A-Za-z_*]+")
_SECRET_PATTERNS: Final = (
    (KEY_PATTERN, lambda m: f"{m.group(1)}_{m.group(2)}_[redacted]"),
    (re.compile(r"whsec_[0-9A-Za-z_*]+"), lambda m: "whsec_[redacted]"),
    (re.compile(r"_secret_[0-9A-Za-z]{8,}"), lambda m: "_secret_[redacted]"),
    (
        # A credential is long (16 or more characters); "Basic information" is not one.
        re.compile(r"\b(Bearer|Basic)(\s+)[A-Za-z0-9._~+/=-]{16,}", re.IGNORECASE),
        lambda m: f"{m.group(1)}{m.group(2)}[redacted]",
    ),
)
# The sandbox's test key, printed by `fcaudit sandbox serve` and in the README: public, and
# accepted by nothing but the local sandbox, so text that names it is left as it is.
SANDBOX_API_KEY: Final = "sk_test_fcaudit_sandbox"
_PUBLIC: Final = frozenset({SANDBOX_API_KEY})
# A key's prefix and mode: what is left after them is the secret.
_KEY_PREFIX: Final = re.compile(r"(sk|rk|pk)_(?:(?:live|test)(?:_|$))?")


def secret_part(api_key: str) -> str:
    """The key without its prefix and mode (`sk_test_`): empty for a key with no body."""
    m = _KEY_PREFIX.match(api_key)
    return api_key[m.end() :] if m else api_key


def _hide_patterns(text: str) -> str:
    for pattern, replace in _SECRET_PATTERNS:
        text = pattern.sub(functools.partial(_hidden, replace), text)
    return text


def _hidden(replace: Callable[[re.Match[str]], str], m: re.Match[str]) -> str:
    return m.group(0) if m.group(0) in _PUBLIC else replace(m)


def without_secrets(url: str) -> str:
    """A URL fit for an error message: userinfo and query dropped, key-shaped text redacted."""
    text = re.sub(r"(?<=://)[^/@]*@", "***@", url)
    text = re.sub(r"[?#].*", "?…", text)
    return _hide_patterns(text)


def key_mode(api_key: str) -> str:
    """'live' or 'test', from the key prefix (sk_live_, rk_test_, ...)."""
    return "live" if "_live_" in api_key[:8] else "test"


MAX_MESSAGE = 300  # characters of a network string (message, code) kept in reports
MAX_REQUEST_ID = 100  # Stripe's are ~20 characters
# Not \b-anchored: a key glued to word characters (`xsk_live_...`) is still a key.
# A run of 16 or more consecutive characters of the key's secret part is redacted.
_KEY_WINDOW, _KEY_STEP = 12, 5


@functools.lru_cache(maxsize=4)
def _fragment_pattern(secret: str) -> re.Pattern[str] | None:
    """Windows of the key's secret part, every `_KEY_STEP` characters: any run of
    `_KEY_WINDOW + _KEY_STEP - 1` characters of the secret contains one of them."""
    if len(secret) < _KEY_WINDOW:
        return None
    starts = [*range(0, len(secret) - _KEY_WINDOW + 1, _KEY_STEP), len(secret) - _KEY_WINDOW]
    windows = sorted({secret[i : i + _KEY_WINDOW] for i in starts}, key=len, reverse=True)
    return re.compile("|".join(re.escape(w) for w in windows))


def _key_fragments(text: str, api_key: str) -> str:
    """Runs of the key's secret part, redacted: a server that echoes half a key (or the key
    without its prefix) must not leak that half."""
    secret = secret_part(api_key)
    pattern = _fragment_pattern(secret)
    if pattern is None:
        return text
    out: list[str] = []
    pos = 0
    while (m := pattern.search(text, pos)) is not None:
        at = secret.find(m.group())
        start, end, k = m.start(), m.end(), at + _KEY_WINDOW
        while start > pos and at > 0 and text[start - 1] == secret[at - 1]:
            start, at = start - 1, at - 1
        while end < len(text) and k < len(secret) and text[end] == secret[k]:
            end, k = end + 1, k + 1
        out += [text[pos:start], "[redacted]"]
        pos = end
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def redact(text: str, api_key: str | None = None) -> str:
    """Hide the API key, any long fragment of it, and every secret `_SECRET_PATTERNS` knows.

    For text from the network (and what a user typed), never for fcaudit's own words: a key
    with no body (`sk_`) hides nothing, and a prefix (`sk_test_`) is not a secret. Always
    called on the whole string, before it is cut to length: a cut key still leaks.
    """
    if api_key and secret_part(api_key) and api_key not in _PUBLIC:
        text = _key_fragments(text.replace(api_key, "[redacted]"), api_key)
    return _hide_patterns(text)


def clean(text: object, api_key: str | None, limit: int = MAX_MESSAGE) -> str:
    """A string from the network made fit to leave the process: key redacted (first, on the
    whole string), one line, control and bidi characters escaped, then bounded."""
    plain = redact(" ".join(str(text).split()), api_key)
    plain = safe(plain, limit=None)
    return plain if len(plain) <= limit else plain[: limit - 3] + "..."


# What every `_SECRET_PATTERNS` match contains: strings without it are returned at once.
_MARKER: Final = re.compile(r"_live_|_test_|whsec_|_secret_|bearer|basic", re.IGNORECASE)


def scrub(value: Any, api_key: str) -> Any:
    """A decoded body with the key (and key-shaped strings) redacted from every string in it.

    A server that echoes the key into a name must not get it into a report. Objects with
    nothing to redact are returned as they are.
    """
    if isinstance(value, str):
        # A lone surrogate ("\\ud800") is not text any UTF-8 report can hold: U+FFFD.
        value = valid_text(value)
        if api_key in value or _MARKER.search(value):
            return redact(value, api_key)
        if len(value) >= _KEY_WINDOW and _key_fragments(value, api_key) is not value:
            return redact(value, api_key)
        return value
    if isinstance(value, dict):
        changed = False
        out: dict[Any, Any] = {}
        for k, v in value.items():
            new = scrub(v, api_key)
            changed = changed or new is not v
            out[k] = new
        return out if changed else value
    if isinstance(value, list):
        items = [scrub(v, api_key) for v in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    return value
