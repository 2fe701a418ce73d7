"""The operators file (TOML `[[operators]]`) schema and its conversion to domain `Operator`s.

An operator may carry its legal data (`[operators.legal]`: legal_name, address, tax_id, iban, bic, bank_name),
which its documents print. IBAN and BIC are checked with schwifty (checksum, country's structure; the BIC's
country must be a real one); a bad one is a one-line error naming the file, line, operator and field:
`operators.toml: line 9: operators[1].legal.iban (operator BRAVO): invalid IBAN …`.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from o2o.domain.currencies import MINOR_UNITS
from o2o.domain.errors import ValidationError
from o2o.domain.operators import BankDetails, LegalData, NumberingPlan, Operator, check_operator_id
from o2o.schemas.fields import DigitsField, schema_error
from o2o.schemas.toml_lines import key_lines


class LegalModel(BaseModel):
    """Legal data: every field required once the table is given."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    legal_name: str = Field(min_length=1, max_length=300)
    address: str = Field(min_length=1, max_length=500)
    tax_id: str = Field(min_length=1, max_length=64)
    iban: str
    bic: str
    bank_name: str = Field(min_length=1, max_length=200)

    @field_validator("iban")
    @classmethod
    def _iban(cls, v: str) -> str:
        try:
            return IBAN(v).compact
        except SchwiftyException as e:
            raise ValueError(f"invalid IBAN {v!r}: {e}") from None

    @field_validator("bic")
    @classmethod
    def _bic(cls, v: str) -> str:
        try:
            return str(BIC(v).compact)
        except SchwiftyException as e:
            raise ValueError(f"invalid BIC {v!r}: {e}") from None

    def to_domain(self) -> LegalData:
        bank = BankDetails(self.iban, self.bic, self.bank_name.strip())
        return LegalData(self.legal_name.strip(), self.address.strip(), self.tax_id.strip(), bank)


class OperatorModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str = Field(min_length=1)
    currency: str
    country_code: DigitsField
    trunk_prefix: DigitsField | str = "0"
    international_prefix: DigitsField = "00"
    legal: LegalModel | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        try:
            return check_operator_id(v)
        except ValidationError as e:
            raise ValueError(str(e)) from None

    @field_validator("currency")
    @classmethod
    def _currency(cls, v: str) -> str:
        if v not in MINOR_UNITS:
            raise ValueError(f"unknown currency {v!r}")
        return v

    def to_domain(self) -> Operator:
        plan = NumberingPlan(self.country_code, self.trunk_prefix, self.international_prefix)
        legal = None if self.legal is None else self.legal.to_domain()
        return Operator(self.id, self.name, self.currency, plan, legal)


class OperatorsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    operators: list[OperatorModel] = Field(min_length=1)


def load_operators_file(path: Path) -> list[Operator]:
    try:
        text = path.read_text(encoding="utf-8")
        doc = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ValidationError(f"{path}: cannot read operators file: {e}") from None
    try:
        parsed = OperatorsFile.model_validate(doc)
    except pydantic.ValidationError as exc:
        raise _named(schema_error(str(path), exc, key_lines(text)), exc, doc) from None
    return [m.to_domain() for m in parsed.operators]


def _named(error: ValidationError, exc: pydantic.ValidationError, doc: dict[str, object]) -> ValidationError:
    """The error with the operator of each bad `operators[i].legal…` field named after its path, so that a
    bad IBAN in a file of fifty operators says whose it is."""
    message = str(error)
    ops = doc.get("operators")
    if not isinstance(ops, list):
        return error
    for err in exc.errors(include_url=False):
        loc = err["loc"]
        # Only the legal data's fields: their messages (an IBAN, a tax id) do not say whose they are.
        if (
            len(loc) >= 4
            and loc[0] == "operators"
            and loc[2] == "legal"
            and isinstance(loc[1], int)
            and loc[1] < len(ops)
        ):
            entry = ops[loc[1]]
            op_id = entry.get("id") if isinstance(entry, dict) else None
            path = (
                "operators["
                + str(loc[1])
                + "]"
                + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc[2:])
            )
            if isinstance(op_id, str):
                message = message.replace(f"{path}: ", f"{path} (operator {op_id}): ", 1)
    return ValidationError(message)
