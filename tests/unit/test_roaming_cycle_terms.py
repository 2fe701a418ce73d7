"""A roaming agreement as the settlement cycle sees it: its directions (who declares what, in which role), its
terms from the TOML, and the stored document that tells it from an interconnect agreement."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from o2o.domain.agreements import FigureStands, RoamingDirection, Role
from o2o.domain.errors import NotFoundError, ValidationError
from o2o.schemas.agreement import AgreementModel
from o2o.schemas.roaming_agreement import (
    RoamingAgreementModel,
    is_roaming_document,
    load_any_agreement_file,
    load_roaming_agreement,
    roaming_agreement_from_json,
)
from o2o.services.cycle_common import missing_declarations

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "roaming" / "agreement.toml"


def test_the_directions_and_the_roles_in_them() -> None:
    ra = load_roaming_agreement(EXAMPLE).to_cycle_domain()
    assert ra.operator_ids == ("ALFA", "BETA")
    assert ra.directions == (RoamingDirection("ALFA-on-BETA", "BETA", "ALFA"),
                             RoamingDirection("BETA-on-ALFA", "ALFA", "BETA"))  # fmt: skip
    assert ra.role_of("ALFA", "ALFA-on-BETA") is Role.CUSTOMER
    assert ra.role_of("ALFA", "BETA-on-ALFA") is Role.PROVIDER
    assert ra.counterparty("BETA") == "ALFA"
    with pytest.raises(NotFoundError, match="no direction 'ALFA-on-ALFA'"):
        ra.role_of("ALFA", "ALFA-on-ALFA")
    with pytest.raises(NotFoundError, match="CHARLIE is not a party"):
        ra.counterparty("CHARLIE")


def test_who_is_still_to_declare() -> None:
    ra = load_roaming_agreement(EXAMPLE).to_cycle_domain()
    assert missing_declarations(ra, {("ALFA-on-BETA", Role.CUSTOMER), ("BETA-on-ALFA", Role.PROVIDER)}) == [
        "BETA (provider) for ALFA-on-BETA",
        "BETA (customer) for BETA-on-ALFA",
    ]
    every = {(d.id, r) for d in ra.directions for r in Role}
    assert missing_declarations(ra, every) == []


def test_the_cycle_terms_from_the_toml(tmp_path: Path) -> None:
    ra = load_roaming_agreement(EXAMPLE).to_cycle_domain()
    assert (ra.tolerance.relative, ra.tolerance.figure, ra.payment_days, ra.dispute_days) == (
        Decimal("0.01"), FigureStands.PROVIDER, 30, 30
    )  # fmt: skip
    path = tmp_path / "ra.toml"
    text = EXAMPLE.read_text()
    path.write_text(
        'dispute_days = 10\ntolerance = { relative = 0, absolute = "5", figure = "lower" }\n' + text
    )
    ra = load_roaming_agreement(path).to_cycle_domain()
    assert (ra.tolerance.relative, ra.tolerance.absolute, ra.tolerance.figure, ra.dispute_days) == (
        Decimal(0), Decimal(5), FigureStands.LOWER, 10
    )  # fmt: skip


def test_the_stored_document_names_its_kind_first() -> None:
    model = load_roaming_agreement(EXAMPLE)
    stored = model.model_dump_json()
    assert stored.startswith('{"kind":"roaming"')  # what registry_data.is_roaming reads
    assert roaming_agreement_from_json(stored) == model
    assert is_roaming_document({"discounts": []}) and is_roaming_document({"kind": "roaming"})
    assert not is_roaming_document({"services": []}) and not is_roaming_document(None)


def test_either_kind_of_file(tmp_path: Path) -> None:
    assert isinstance(load_any_agreement_file(EXAMPLE), RoamingAgreementModel)
    interconnect = tmp_path / "ic.toml"
    interconnect.write_text('id = "X"\n', encoding="utf-8")
    with pytest.raises(ValidationError, match=r"ic\.toml"):  # read (and refused) as an interconnect agreement
        load_any_agreement_file(interconnect)
    broken = tmp_path / "broken.toml"
    broken.write_text("id = \n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"broken\.toml: not valid TOML"):
        load_any_agreement_file(broken)
    assert AgreementModel.model_fields.get("kind") is None  # an interconnect document never says "kind"
