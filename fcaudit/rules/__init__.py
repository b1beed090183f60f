"""Institution rules: deactivations Stripe's guide announces for whole banks, as data.

A rule names the institutions it matches and, per range of link dates (the account's
`created`), when accounts linked then are predicted to go inactive: a fixed date, a number of
days after linking, or "rolling" (no date known). Rules only speak where Stripe gives no
`expected_deactivation_date`: Stripe's own date always wins. The shipped rules are in
`default.toml`; the format is documented in the README ("Institution rules").
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from typing import Any

from fcaudit import tomlfile

ROLLING = "rolling"
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_RULE_KEYS = {"id", "description", "institution_names", "institution_ids", "source", "written"}
_WHEN_KEYS = {"linked_from", "linked_until", "deactivates_on", "deactivates_after_days"}


@functools.lru_cache(maxsize=4096)  # a fleet has few institutions and many accounts
def normalise_name(name: str) -> str:
    """`Bank of America, N.A.` -> `bankofamericana`: case, punctuation and spaces ignored,
    letters of every script kept (`Сбербанк` -> `сбербанк`, `Crédit` -> `crédit`)."""
    folded = unicodedata.normalize("NFKC", name).casefold().replace("&", "and")
    return "".join(c for c in folded if c.isalnum())


@dataclass(frozen=True)
class When:
    """Accounts linked in [linked_from, linked_until] (UTC days, either open) deactivate on
    `on` (a date), `after_days` after linking, or on a rolling basis (both None)."""

    linked_from: date | None
    linked_until: date | None
    on: date | None
    after_days: int | None

    def matches(self, linked: date) -> bool:
        """True when an account linked on `linked` falls in this range."""
        if self.linked_from is not None and linked < self.linked_from:
            return False
        return self.linked_until is None or linked <= self.linked_until

    def predicted(self, created: datetime) -> datetime | None:
        """The deactivation this range predicts for a link made at `created`; None: rolling."""
        if self.on is not None:
            return datetime.combine(self.on, time(), tzinfo=UTC)
        if self.after_days is not None:
            return created + timedelta(days=self.after_days)
        return None  # rolling


@dataclass(frozen=True)
class Rule:
    """One institution rule: which institutions it covers, and when their links deactivate."""

    id: str
    description: str
    names: frozenset[str]  # normalised
    institution_ids: frozenset[str]
    source: str
    written: date
    when: tuple[When, ...]

    def matches(self, institution_id: str | None, institution_name: str | None) -> bool:
        """True when the rule covers the institution (by id where both have one, else by name)."""
        # By institution id where both the object and the rule carry one, else by name.
        if institution_id and self.institution_ids:
            return institution_id in self.institution_ids
        return bool(institution_name) and normalise_name(institution_name or "") in self.names


@dataclass(frozen=True)
class Prediction:
    """A rule's prediction for one account: the rule, and the date (None: rolling)."""

    rule: Rule
    date: datetime | None  # None: "rolling basis", no date known


# How many (institution id, name) pairs a ruleset remembers the matching rules of.
_MATCH_CACHE = 4096


@dataclass(frozen=True)
class Ruleset:
    """The institution rules in force (the built-in ones, plus --rules), with a match cache."""

    rules: tuple[Rule, ...]
    # The rules matching each (institution id, name) seen: a fleet has many accounts at few
    # institutions, and matching normalises the name. Not part of the value.
    _matching: dict[tuple[str | None, str | None], tuple[Rule, ...]] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    def matching(
        self, institution_id: str | None, institution_name: str | None
    ) -> tuple[Rule, ...]:
        """The rules that apply to an institution."""
        key = (institution_id, institution_name)
        found = self._matching.get(key)
        if found is None:
            found = tuple(r for r in self.rules if r.matches(institution_id, institution_name))
            if len(self._matching) >= _MATCH_CACHE:
                self._matching.clear()
            self._matching[key] = found
        return found

    def predict(
        self, institution_id: str | None, institution_name: str | None, created: datetime
    ) -> list[Prediction]:
        """What every matching rule predicts for an account linked at `created`."""
        out = []
        linked = created.astimezone(UTC).date()
        for rule in self.matching(institution_id, institution_name):
            for when in rule.when:
                if when.matches(linked):
                    out.append(Prediction(rule, when.predicted(created)))
                    break  # the first matching range of a rule decides
        return out

    def merged(self, others: Ruleset) -> Ruleset:
        """These rules with `others` added; a rule of `others` replaces one with its id."""
        replaced = {r.id for r in others.rules}
        kept = tuple(r for r in self.rules if r.id not in replaced)
        return Ruleset(kept + others.rules)


def default_rules() -> Ruleset:
    """The rules shipped with fcaudit (fcaudit/rules/default.toml)."""
    text = resources.files(__package__).joinpath("default.toml").read_text(encoding="utf-8")
    return parse_rules(text, "fcaudit/rules/default.toml")


def load_rules(path: str) -> Ruleset:
    """Read and parse a --rules file; a mistake is a one-line UsageError."""
    return parse_rules(tomlfile.read(path, "--rules"), path)


def parse_rules(text: str, name: str) -> Ruleset:
    """Parse a rules file; a mistake is a UsageError naming the file, line and field."""
    found = tomlfile.Entries(
        text, name, "rule", noun="rule", plural="rules", tip="see README 'Institution rules'."
    )
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, raw in enumerate(found.items):
        fail = found.fail(index)
        rules.append(_rule(raw, fail))
        if rules[-1].id in seen:
            raise fail("id", f"{rules[-1].id!r} is used twice")
        seen.add(rules[-1].id)
    return Ruleset(tuple(rules))


def _rule(raw: Mapping[str, Any], fail: Any) -> Rule:
    extra = set(raw) - _RULE_KEYS - {"when"}
    if extra:
        raise fail(sorted(extra)[0], "unknown field")
    rid = raw.get("id")
    if not isinstance(rid, str) or not _ID.match(rid):
        raise fail("id", "must be a short lower-case name such as 'boa-auth-1y'")
    names = _strings(raw.get("institution_names", []), "institution_names", fail)
    if any(not normalise_name(n) for n in names):
        raise fail(
            "institution_names", "a name has no letters or digits, so it would match nothing"
        )
    ids = _strings(raw.get("institution_ids", []), "institution_ids", fail)
    if not names and not ids:
        raise fail("institution_names", "a rule must name at least one institution")
    written = raw.get("written")
    if not isinstance(written, date) or isinstance(written, datetime):
        raise fail("written", "must be the date the rule was written (YYYY-MM-DD)")
    source = raw.get("source")
    if not isinstance(source, str) or not source.startswith("https://"):
        raise fail("source", "must be the https:// URL the rule comes from")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise fail("description", "must be a string")
    when = raw.get("when")
    if not isinstance(when, list) or not when:
        raise fail("when", "a rule needs at least one [[rule.when]] entry")
    return Rule(
        id=rid,
        description=description,
        names=frozenset(normalise_name(n) for n in names),
        institution_ids=frozenset(ids),
        source=source,
        written=written,
        when=tuple(_when(w, fail) for w in when),
    )


def _strings(value: Any, field: str, fail: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise fail(field, "must be a list of non-empty strings")
    return list(value)


def _date(value: Any, field: str, fail: Any) -> date | None:
    if value is None:
        return None
    if not isinstance(value, date) or isinstance(value, datetime):
        raise fail(f"when.{field}", "must be a date (YYYY-MM-DD)")
    return value


def _when(raw: Any, fail: Any) -> When:
    if not isinstance(raw, Mapping):
        raise fail("when", "must be a table ([[rule.when]])")
    extra = set(raw) - _WHEN_KEYS
    if extra:
        raise fail(f"when.{sorted(extra)[0]}", "unknown field")
    start = _date(raw.get("linked_from"), "linked_from", fail)
    until = _date(raw.get("linked_until"), "linked_until", fail)
    if start and until and until < start:
        raise fail("when.linked_until", "is before linked_from")
    on, after = raw.get("deactivates_on"), raw.get("deactivates_after_days")
    if (on is None) == (after is None):
        raise fail(
            "when.deactivates_on", "give exactly one of deactivates_on, deactivates_after_days"
        )
    if after is not None:
        if isinstance(after, bool) or not isinstance(after, int) or not 0 < after <= 36500:
            raise fail("when.deactivates_after_days", "must be a whole number of days (1-36500)")
        return When(start, until, None, after)
    if on == ROLLING:
        return When(start, until, None, None)
    return When(start, until, _date(on, "deactivates_on", fail) or None, None)
