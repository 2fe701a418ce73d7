"""Record matching of a generated network: every service direction's counts equal truth.json exactly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from o2o.reconcile import MatchOptions, match_files
from o2o.schemas.agreement import load_agreement_file, to_domain
from o2o.synth import SynthOptions, generate_network

OPTS = SynthOptions(
    operators=3, cdrs=30_000, seed=23, redial=0.05, duplicate=0.02, partial=0.03, mismatch=0.02,
    missing_provider=0.02, missing_customer=0.03, offset_files=0.5, format_mix=0.4, chunk_calls=5_000,
)  # fmt: skip
COUNTS = (
    "ours", "theirs", "matched", "exact", "partial", "duration_mismatch", "only_ours", "only_theirs",
    "duplicates_ours", "duplicates_theirs",
)  # fmt: skip


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("recon-net") / "network"
    return out, generate_network(OPTS, out).truth


def test_counts_equal_the_truth_for_every_service_direction(
    network: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    out, truth = network
    checked = redials = 0
    for rec in truth["reconciliations"]:
        ag = to_domain(load_agreement_file(out / "agreements" / f"{rec['agreement']}.toml"))
        options = MatchOptions(
            ours_plan=ag.party(rec["provider"]).numbering, theirs_plan=ag.party(rec["customer"]).numbering
        )
        s = match_files(
            out / rec["provider_file"], out / rec["customer_file"], options, tmp_path / rec["service"]
        )
        got = s.as_report()
        assert {k: got[k] for k in COUNTS} == {k: rec[k] for k in COUNTS}, rec["service"]
        if s.matched >= 500:  # enough unambiguous pairs for the median to sit on the planted offset
            assert s.clock_offset_s == rec["clock_offset_s"], rec["service"]
        checked += 1
        redials += rec["redials"]
    assert checked == len(truth["reconciliations"]) >= 4
    assert redials > 0 and truth["totals"]["duplicates_ours"] > 0
