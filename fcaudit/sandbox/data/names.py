"""The names the data set draws from: institutions (weighted in random data), account kinds
and their display names, customer names, and each name scenario's odd names (real names outside
ASCII in the demo, hostile text in the adversarial scenario).

Institutions are addressed by index into one name table, ``INST_NAMES``.
"""

from __future__ import annotations

from typing import Final

BANK_OF_AMERICA: Final = "Bank of America"
# (name, weight in random data). Every data set draws institutions from this table.
INSTITUTIONS: Final[tuple[tuple[str, float], ...]] = (
    (BANK_OF_AMERICA, 14),
    ("Chase", 16),
    ("Wells Fargo", 12),
    ("Navy Federal Credit Union", 6),
    ("Citibank", 8),
    ("Capital One", 8),
    ("U.S. Bank", 6),
    ("Ally Bank", 4),
    ("Golden 1 Credit Union", 3),
    ("Caixa Geral de Depósitos", 0.5),
    ("Crédit Agricole", 0.5),
    ("みずほ銀行", 0.5),
)
# Customer 2's institutions in the demo: real names outside ASCII.
UNICODE_INSTITUTIONS: Final = ("Caixa Geral de Depósitos", "Crédit Agricole", "みずほ銀行")
UNICODE_DISPLAY_NAMES: Final = (
    "Conta à Ordem",
    "Compte Épargne",
    "普通預金",
    "Zoë's Savings",
    "Sparkonto Müller",
    "Cuenta Nómina",
)

# Hostile text: only in the adversarial scenario. Each entry is a case a renderer must show
# literally: never as markup, a link, a formula, an escape sequence or a line break.
HOSTILE_INSTITUTIONS: Final = (
    "[bold red]FREE[/] Credit Union",
    "\x1b[31mRed\x1b[0m Savings Bank",
    "<script>alert('fc')</script> Bank",
    "\x1b]0;PWNED\x07Title Bank",
    "\u202eknaB lanoitaN\u202c",
    "First\nSecond Bank",
    '=HYPERLINK("http://evil.example","Bank")',
    "Bank | of `Tables`",
    "Very Long Name Bank " + "x" * 480,
)
HOSTILE_DISPLAY_NAMES: Final = (
    "[bold red]FREE[/]",
    "[link=http://evil.example]click[/link]",
    "\x1b[31mred\x1b[0m",
    "\x1b]0;TITLE\x07",
    "\x1b]8;;http://evil.example\x07link\x1b]8;;\x07",
    "\x9b2J C1 clear",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "abc\u202edcba",
    "line one\nline two\r\nthree",
    "tab\there",
    '=HYPERLINK("http://evil.example","x")',
    "+1",
    "-1",
    "@SUM(A1:A9)",
    "a | b | c",
    "`rm -rf /`",
    "[link](http://evil.example)",
    "*bold* **strong**",
    "_under_ __score__",
    "Checking " + "W" * 500,
)
HOSTILE_CUSTOMER_NAME: Final = "<b>Mallory</b> [bold]O'Hara[/] =1+1 | `x`"

# (display names, category, subcategory, permissions, supported payment method types)
KINDS: Final[tuple[tuple[tuple[str, ...], str, str, tuple[str, ...], tuple[str, ...]], ...]] = (
    (
        ("Checking", "Everyday Checking", "Total Checking", "Joint Checking", "Business Checking"),
        "cash",
        "checking",
        ("payment_method", "balances"),
        ("us_bank_account",),
    ),
    (
        ("Savings", "High Yield Savings", "Money Market Savings"),
        "cash",
        "savings",
        ("payment_method", "balances", "transactions"),
        ("us_bank_account",),
    ),
    (("Credit Card", "Rewards Visa"), "credit", "credit_card", ("balances",), ("link",)),
    (("Line of Credit",), "credit", "line_of_credit", ("balances",), ("link",)),
    (("Home Mortgage",), "credit", "mortgage", ("balances", "ownership"), ("link",)),
    (("Brokerage",), "investment", "other", ("balances",), ("link",)),
)
KIND_WEIGHTS: Final = (50, 25, 12, 4, 4, 5)
KIND_BY_SUB: Final = {sub: i for i, (_n, _c, sub, _p, _t) in enumerate(KINDS) if sub != "other"}
# Share of random accounts whose names come from the scenario's odd names (unicode in the demo,
# hostile in the adversarial scenario). Drawn in every scenario, so draws stay aligned.
ODD_NAME_SHARE: Final = 0.02

FIRST: Final = ("Ada", "Grace", "Alan", "Zoë", "José", "Mia", "Noah", "Li", "Ana", "Omar", "Ivy")
LAST: Final = ("Lovelace", "Hopper", "Turing", "Müller", "García", "Nguyen", "Okafor", "Kim")

# Other spellings Stripe may give Bank of America (the rules match them after normalising:
# casefold, "&" -> "and", non-alphanumerics removed), and a real bank whose name only looks
# alike ("bankofamericanfork" is not "bankofamerica"). Only the showcase uses them.
BOA_ALIASES: Final = ("BANK OF AMERICA", "Bank of America, N.A.", "BofA")
BOA_NEAR_MISS: Final = "Bank of American Fork"

# Institutions are addressed by index into one name table: the weighted ones, the hostile
# ones (used by the adversarial scenario only), then the showcase's other spellings.
INST_NAMES: Final = (
    tuple(name for name, _ in INSTITUTIONS) + HOSTILE_INSTITUTIONS + BOA_ALIASES + (BOA_NEAR_MISS,)
)
INST_WEIGHTS: Final = tuple(w for _, w in INSTITUTIONS)
N_WEIGHTED: Final = len(INSTITUTIONS)
HOSTILE_INST: Final = tuple(range(N_WEIGHTED, N_WEIGHTED + len(HOSTILE_INSTITUTIONS)))
UNICODE_INST: Final = tuple(INST_NAMES.index(n) for n in UNICODE_INSTITUTIONS)


def institution_index(name: str) -> int:
    return INST_NAMES.index(name)


BOA: Final = institution_index(BANK_OF_AMERICA)
CHASE, WELLS, CITI = (
    institution_index("Chase"),
    institution_index("Wells Fargo"),
    institution_index("Citibank"),
)
NAVY: Final = institution_index("Navy Federal Credit Union")
