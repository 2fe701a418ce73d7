"""The operators file (TOML `[[operators]]`) schema and its conversion to domain `Operator`s."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator

from o2o.domain.currencies import MINOR_UNITS
from o2o.domain.errors import ValidationError
from o2o.domain.operators import NumberingPlan, Operator, check_operator_id
from o2o.schemas.fields import DigitsField, schema_error
from o2o.schemas.toml_lines import key_lines


class OperatorModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str = Field(min_length=1)
    currency: str
    country_code: DigitsField
    trunk_prefix: DigitsField | str = "0"
    international_prefix: DigitsField = "00"

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
        return Operator(self.id, self.name, self.currency, plan)


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
        raise schema_error(str(path), exc, key_lines(text)) from None
    return [m.to_domain() for m in parsed.operators]
