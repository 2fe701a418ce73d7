"""Reading netting inputs from files: obligations CSV and dated rate tables, bad rows named by line."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from o2o.domain.errors import ValidationError
from o2o.netting.csv_input import read_obligations_csv, read_rate_table_csv


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_obligations_are_read_exactly(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "ob.csv",
        "\ufeffid,debtor,creditor,amount,currency,due_date\n"
        "1,A,B,100.10,EUR,2026-11-15\n"
        "\n"
        "2, B , C ,5,jpy,\n",
    )
    items = read_obligations_csv(path)
    assert [(o.id, o.debtor, o.creditor, o.amount, o.currency, o.due_date) for o in items] == [
        ("1", "A", "B", Decimal("100.10"), "EUR", date(2026, 11, 15)),
        ("2", "B", "C", Decimal("5"), "JPY", None),
    ]


def test_every_bad_row_is_named_by_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "bad.csv",
        "id,debtor,creditor,amount,currency\n"
        "1,A,B,-5,EUR\n"
        "2,A,A,5,EUR\n"
        "3,A,B,5,XYZ\n"
        "4,A,B,1.234,EUR\n"
        "5,A,B,five,EUR\n"
        "1,B,C,5,EUR\n"
        "7,A,B,5,EUR,extra\n"
        "8,A,,5,EUR\n",
    )
    with pytest.raises(ValidationError) as caught:
        read_obligations_csv(path)
    message = str(caught.value)
    assert message.startswith("bad.csv: 7 bad row(s): line 2: negative amount -5; line 3: self-debt")
    assert "line 4: unknown currency 'XYZ'" in message
    assert "line 5: 1.234 EUR has more decimals than the currency's minor unit" in message
    assert "line 6: 'five' is not a decimal number" in message
    assert message.endswith("… and 2 more")


def test_duplicate_ids_and_extra_fields_are_named(tmp_path: Path) -> None:
    path = write(
        tmp_path, "dup.csv", "id,debtor,creditor,amount,currency\n1,A,B,1,EUR\n1,B,C,1,EUR\n2,A,B,1,EUR,x\n"
    )
    with pytest.raises(ValidationError, match=r"line 3: id '1' already on line 2; line 4: more fields"):
        read_obligations_csv(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        ("id,debtor,amount,currency\n", "line 1: missing column.s. creditor"),
        ("id,debtor,creditor,amount,currency,note\n", "line 1: unknown column.s. note"),
        ("id,debtor,creditor,amount,currency\n", "no obligations"),
    ],
)
def test_unusable_files_are_refused_whole(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        read_obligations_csv(write(tmp_path, "x.csv", text))


def test_missing_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="no such file"):
        read_obligations_csv(tmp_path / "nope.csv")
    path = tmp_path / "latin.csv"
    path.write_bytes("id,debtor,creditor,amount,currency\n1,Ä,B,1,EUR\n".encode("latin-1"))
    with pytest.raises(ValidationError, match="not UTF-8"):
        read_obligations_csv(path)


RATES = "date,from,to,rate\n2026-09-30,USD,EUR,0.90\n2026-10-31,USD,EUR,0.92\n2026-10-31,EUR,GBP,0.87\n"


def test_rate_table_takes_the_latest_date_or_the_one_asked(tmp_path: Path) -> None:
    path = write(tmp_path, "fx.csv", RATES)
    latest = read_rate_table_csv(path)
    assert latest.on == date(2026, 10, 31)
    assert latest.convert(Decimal("10.00"), "USD", "EUR") == Decimal("9.20")
    assert latest.convert(Decimal("8.70"), "GBP", "EUR") == Decimal("10.00")
    september = read_rate_table_csv(path, date(2026, 9, 30))
    assert september.convert(Decimal("10.00"), "USD", "EUR") == Decimal("9.00")
    with pytest.raises(ValidationError, match="no rates dated 2026-08-31"):
        read_rate_table_csv(path, date(2026, 8, 31))


def test_bad_rates_are_named_by_line(tmp_path: Path) -> None:
    path = write(tmp_path, "fx.csv", "date,from,to,rate\n2026-10-31,USD,EUR,0\n31.10.2026,USD,EUR,1\n")
    with pytest.raises(ValidationError, match=r"line 2: rate 0 is not positive; line 3: date '31.10.2026'"):
        read_rate_table_csv(path)
