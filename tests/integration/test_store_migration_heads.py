"""The cheap at-head check of `migrate`: script heads read as literals agree with Alembic's, on both backends."""

from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from o2o.store.database import (
    _script_revision,
    alembic_config,
    make_engine,
    migrate,
    script_heads,
    stored_revisions,
)


def test_script_heads_are_alembics_heads() -> None:
    alembic_heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert script_heads() == frozenset(alembic_heads)


def test_a_fresh_database_is_migrated_and_then_found_at_head(store_url: str) -> None:
    engine = make_engine(store_url)
    assert stored_revisions(engine) is None
    migrate(engine)
    assert stored_revisions(engine) == script_heads()
    migrate(engine)  # at head: nothing to do, and nothing changes
    assert stored_revisions(engine) == script_heads()


def test_a_database_behind_the_scripts_is_upgraded(store_url: str) -> None:
    engine = make_engine(store_url)
    migrate(engine)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert stored_revisions(engine) == frozenset()
    migrate(engine)
    assert stored_revisions(engine) == script_heads()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM declarations")).scalar_one() == 0


def test_scripts_that_are_not_plain_literals_leave_the_decision_to_alembic(tmp_path: Path) -> None:
    plain = tmp_path / "plain.py"
    plain.write_text('revision = "0009"\ndown_revision = ("0002", "0003")\ndepends_on = None\n')
    assert _script_revision(plain) == ("0009", ("0002", "0003"))
    computed = tmp_path / "computed.py"
    computed.write_text('revision = "0009"\ndown_revision = "00" + "02"\n')
    assert _script_revision(computed) is None
    depends = tmp_path / "depends.py"
    depends.write_text('revision = "0009"\ndown_revision = "0002"\ndepends_on = "0003"\n')
    assert _script_revision(depends) is None


def test_a_database_made_at_the_cycle_revision_gains_who_confirmed_a_payment(store_url: str) -> None:
    """A database made before `0005` (cycle tables from `0004_cycle`, a pending payment in them) upgrades:
    the instruction is kept, with no confirmer recorded, and a confirmer can then be stored."""
    engine = make_engine(store_url)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004_cycle")
        conn.execute(
            text(
                "INSERT INTO netting_rounds (id, period, mode, state, figures, created_at) "
                "VALUES ('RND-1', '2026-10', 'direct', 'issued', '{}', '2026-11-01 00:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO payment_instructions (id, round_id, payer, payee, amount, currency, status) "
                "VALUES ('PAY-1', 'RND-1', 'BETA', 'ALFA', '12.50', 'EUR', 'pending')"
            )
        )
    assert stored_revisions(engine) == frozenset({"0004_cycle"})
    migrate(engine)
    assert stored_revisions(engine) == script_heads()
    assert "0005_payment_confirmed_by" in (script_heads() or ())
    with engine.begin() as conn:
        row = conn.execute(text("SELECT amount, status, confirmed_by FROM payment_instructions")).one()
        assert (str(row[0]), row[1], row[2]) == ("12.50", "pending", None)
        conn.execute(text("UPDATE payment_instructions SET confirmed_by = 'ALFA' WHERE id = 'PAY-1'"))
        assert conn.execute(text("SELECT confirmed_by FROM payment_instructions")).scalar_one() == "ALFA"
