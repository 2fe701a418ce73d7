"""Phone numbers to E.164 digits by a numbering plan, in Python and as portable SQL text.

Rules, in order, after removing spaces and punctuation `-().//`:
`+CC…` → `CC…`; international prefix (`00CC…`) → `CC…`; trunk prefix (`0…`) → country code + rest;
anything else is taken as E.164 digits already. The result must be 3–15 digits (E.164), else None.
The SQL form uses only functions DuckDB and Spark share (regexp_replace, substr, length, CASE).
"""

from __future__ import annotations

import re

from o2o.domain.operators import NumberingPlan

_PUNCT = re.compile(r"[\s\-().\/]")
_E164 = re.compile(r"^\d{3,15}$")


def normalise_number(raw: str, plan: NumberingPlan) -> str | None:
    """E.164 digits for `raw` written by an operator with `plan`, or None when it is not a number."""
    clean = _PUNCT.sub("", raw)
    if clean.startswith("+"):
        digits = clean[1:]
    elif plan.international_prefix and clean.startswith(plan.international_prefix):
        digits = clean[len(plan.international_prefix) :]
    elif plan.trunk_prefix and clean.startswith(plan.trunk_prefix):
        digits = plan.country_code + clean[len(plan.trunk_prefix) :]
    else:
        digits = clean
    return digits if _E164.match(digits) else None


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sql_clean(column: str) -> str:
    """SQL removing spaces and punctuation from `column` (step one; alias it, then `sql_normalise`)."""
    return f"regexp_replace({column}, '[\\s\\-().\\/]', '', 'g')"


def sql_prefix_rules(clean: str, plan: NumberingPlan) -> str:
    """SQL applying the plan's prefix rules to the cleaned column `clean` (not yet validated)."""
    intl, trunk, cc = plan.international_prefix, plan.trunk_prefix, plan.country_code
    branches = [f"WHEN substr({clean}, 1, 1) = '+' THEN substr({clean}, 2)"]
    if intl:
        branches.append(
            f"WHEN substr({clean}, 1, {len(intl)}) = {_sql_literal(intl)} "
            f"THEN substr({clean}, {len(intl) + 1})"
        )
    if trunk:
        branches.append(
            f"WHEN substr({clean}, 1, {len(trunk)}) = {_sql_literal(trunk)} "
            f"THEN {_sql_literal(cc)} || substr({clean}, {len(trunk) + 1})"
        )
    return "(CASE " + " ".join(branches) + f" ELSE {clean} END)"


def sql_normalise(clean: str, plan: NumberingPlan) -> str:
    """SQL giving E.164 digits of the already cleaned column `clean`, or NULL when not a number."""
    digits = sql_prefix_rules(clean, plan)
    return f"(CASE WHEN regexp_matches({digits}, '^[0-9]{{3,15}}$') THEN {digits} END)"
