"""Operators (the parties) and their numbering plans."""

from __future__ import annotations

import re
from dataclasses import dataclass

from o2o.domain.currencies import check_currency
from o2o.domain.errors import ValidationError

_OPERATOR_ID = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,31}$")
_DIGITS = re.compile(r"^\d*$")


def check_operator_id(value: str) -> str:
    """Operator ids are short upper-case codes (`ALFA`, `MTS-RU`)."""
    if not _OPERATOR_ID.match(value):
        raise ValidationError(f"operator id {value!r}: 2-32 upper-case letters, digits, '-' or '_'")
    return value


@dataclass(frozen=True, slots=True)
class NumberingPlan:
    """How an operator writes numbers: its country code, national trunk prefix and international prefix."""

    country_code: str
    trunk_prefix: str = "0"
    international_prefix: str = "00"

    def __post_init__(self) -> None:
        for name in ("country_code", "trunk_prefix", "international_prefix"):
            value = getattr(self, name)
            if not _DIGITS.match(value):
                raise ValidationError(f"numbering plan {name} {value!r}: digits only")
        if not self.country_code:
            raise ValidationError("numbering plan country_code must not be empty")


@dataclass(frozen=True, slots=True)
class BankDetails:
    """Where an operator is paid: IBAN (electronic form, no spaces), BIC and the bank's name. The operators
    file's schema checks IBAN and BIC (checksums, structure); here they are plain values."""

    iban: str
    bic: str
    bank_name: str


@dataclass(frozen=True, slots=True)
class LegalData:
    """An operator's legal identity as its documents (invoices, acts, payment files) print it."""

    legal_name: str
    address: str
    tax_id: str
    bank: BankDetails

    def __post_init__(self) -> None:
        for name in ("legal_name", "address", "tax_id"):
            if not getattr(self, name).strip():
                raise ValidationError(f"legal data {name} must not be empty")


@dataclass(frozen=True, slots=True)
class Operator:
    """A party to agreements; `legal` is None when its file gave no legal data (documents show a dash)."""

    id: str
    name: str
    currency: str
    numbering: NumberingPlan
    legal: LegalData | None = None

    def __post_init__(self) -> None:
        check_operator_id(self.id)
        check_currency(self.currency)
        if not self.name.strip():
            raise ValidationError(f"operator {self.id}: name must not be empty")
