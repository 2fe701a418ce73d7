"""Synthetic legal data of a generated operator: legal name, address, tax id and a bank account.

Invariants: deterministic (a function of the operator's id, country and place in the network); every IBAN
is valid (checksum, the country's BBAN structure and national check digits, made by schwifty), every BIC is
well-formed for its country. The banks are fictional: bank codes and BICs (`STLB…`) name no real bank.
Countries without IBANs (US, JP, CN, SG) hold their settlement account with a London correspondent (a GB
IBAN), as international carriers commonly do.
"""

from __future__ import annotations

from dataclasses import dataclass

from schwifty import IBAN

from o2o.synth.countries import Country

# Per IBAN country: a fictional bank code shaped as the country's BBAN wants it, and the city of the bank.
_BANK_CODES = {
    "GB": ("STLB000001", "London"),
    "DE": ("10020030", "Berlin"),
    "RU": ("044525001", "Moscow"),
    "CH": ("09000", "Zurich"),
    "KZ": ("901", "Almaty"),
    "FR": ("3000100001", "Paris"),
    "TR": ("00100", "Istanbul"),
    "AE": ("033", "Dubai"),
}
_CORRESPONDENT = "GB"
_FORM = {"GB": "Ltd", "DE": "GmbH", "RU": "JSC", "CH": "AG", "KZ": "JSC", "FR": "SA", "TR": "A.S.",
         "AE": "LLC", "US": "Inc.", "JP": "K.K.", "CN": "Co., Ltd.", "SG": "Pte. Ltd."}  # fmt: skip


@dataclass(frozen=True, slots=True)
class SynthLegal:
    legal_name: str
    address: str
    tax_id: str
    iban: str
    bic: str
    bank_name: str


def legal_data(op_id: str, name: str, country: Country, index: int) -> SynthLegal:
    """The legal data of the `index`-th operator of a network."""
    bank_country = country.code if country.code in _BANK_CODES else _CORRESPONDENT
    bank_code, city = _BANK_CODES[bank_country]
    iban = IBAN.generate(bank_country, bank_code=bank_code, account_code=f"{index + 1:06d}")
    own_city = _BANK_CODES.get(country.code, (None, country.name))[1]
    return SynthLegal(
        legal_name=f"{name} {_FORM.get(country.code, 'Ltd')}",
        address=f"{index + 1} Exchange Street, {own_city}, {country.name}",
        tax_id=f"{country.code}{100000000 + index * 7919:09d}",
        iban=iban.compact,
        bic=f"STLB{bank_country}2X",
        bank_name=f"Settlement Bank of {city} (fictional)",
    )
