"""The settlement documents downloaded through the hub's API, as a party's client would: files with the right
media type and name, the same document (digest, canonical JSON) as the service makes, the PDF's text carrying
its amounts, the payer's pain.001 validating against the ISO 20022 XSD with its transfers summing to what the
payer pays; the counterparty's, the outsider's and a missing id's answers (the isolation matrix covers every
route for the outsider too)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hub_harness import OUTSIDER, Hub, build_hub, problem

from harness import postgres_database

PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}


def _get(hub: Hub, path: str, who: tuple[str, str], **params: str) -> Any:
    return hub.client.get(f"/api/v1/documents{path}", headers=hub.auth(*who), params=params)


def _file(r: Any, media: str, name: str) -> bytes:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].split(";")[0] == media
    assert r.headers["content-disposition"] == f'attachment; filename="{name}"'
    return bytes(r.content)


def _pdf_text(content: bytes, tmp: Path) -> str:
    path = tmp / "doc.pdf"
    path.write_bytes(content)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True)
    return out.stdout.replace("\u00a0", " ")


def _en(amount: str) -> str:
    whole, _, frac = amount.lstrip("-").partition(".")
    text = f"{int(whole):,}" + (f".{frac}" if frac else "")
    return ("-" if amount.startswith("-") else "") + text


def _round(hub: Hub) -> str:
    with hub.app.state.workspace.uow() as uow:
        (rnd,) = uow.cycles.rounds(hub.period)
    return rnd.id


def _payer_and_payee(hub: Hub) -> tuple[str, str, list[dict[str, Any]]]:
    pays = hub.client.get("/api/v1/payments", headers=hub.auth("HUB", "admin")).json()
    rnd = _round(hub)
    mine = [p for p in pays if p["round_id"] == rnd]
    payers = {p["payer"] for p in mine}
    assert len(payers) == 1, "a bilateral round: one party pays the other"
    (payer,) = payers
    (payee,) = set(hub.parties) - {payer}
    return payer, payee, mine


def test_the_statement_as_pdf_xlsx_and_json(hub: Hub, tmp_path: Path) -> None:
    from o2o.services.documents import statement_document

    expected = statement_document(hub.app.state.workspace, hub.statement)
    for party in hub.parties:
        who = (party, "viewer")
        data = _file(_get(hub, f"/statements/{hub.statement}", who, format="json"), "application/json",
                     f"{expected.number}.json")  # fmt: skip
        assert data == expected.canonical()
        r = _get(hub, f"/statements/{hub.statement}", who)  # PDF by default
        pdf = _file(r, PDF, f"{expected.number}.pdf")
        assert pdf.startswith(b"%PDF-1.7") and r.headers["x-document-digest"] == expected.digest
        assert hashlib.sha256(data).hexdigest() == expected.digest
        text = _pdf_text(pdf, tmp_path)
        assert expected.number in text and expected.digest in text
        lines = expected.table("lines")
        for row in lines.rows:
            for cell in row[3:7]:
                assert _en(str(cell)) in text, cell
    xlsx = _file(_get(hub, f"/statements/{hub.statement}", (hub.parties[0], "analyst"), format="xlsx"), XLSX,
                 f"{expected.number}.xlsx")  # fmt: skip
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(xlsx))
    assert "Document" in book.sheetnames and len(book.sheetnames) >= 2
    ru = _file(_get(hub, f"/statements/{hub.statement}", (hub.parties[1], "signer"), lang="ru"), PDF,
               f"{expected.number}.pdf")  # fmt: skip
    assert "Акт сверки трафика и начислений" in _pdf_text(ru, tmp_path)
    # the admin reads any statement; an unknown format or language is a request the API refuses
    assert _get(hub, f"/statements/{hub.statement}", ("HUB", "admin"), format="json").content == data
    problem(_get(hub, f"/statements/{hub.statement}", who, format="xml"), 422)
    problem(_get(hub, f"/statements/{hub.statement}", who, lang="de"), 422)


def test_the_invoices_of_a_signed_statement(hub: Hub, tmp_path: Path) -> None:
    from o2o.services.documents import invoice_documents

    expected = {d.number: d for d in invoice_documents(hub.app.state.workspace, hub.statement)}
    assert expected, "a signed statement with amounts invoiced"
    listed = _get(hub, f"/statements/{hub.statement}/invoices", (hub.parties[0], "viewer")).json()
    assert sorted(i["number"] for i in listed) == sorted(expected)
    for item in listed:
        doc = expected[item["number"]]
        assert (item["provider"], item["customer"]) == tuple(p.operator for p in doc.parties)
        assert (item["amount_due"], item["digest"]) == (str(doc.totals[0].amount), doc.digest)
        r = hub.client.get(
            item["href"], headers=hub.auth(hub.parties[1], "viewer"), params={"format": "json"}
        )
        assert _file(r, "application/json", f"{doc.number}.json") == doc.canonical()
        text = _pdf_text(_file(hub.client.get(item["href"], headers=hub.auth(hub.parties[1], "viewer")), PDF,
                               f"{doc.number}.pdf"), tmp_path)  # fmt: skip
        assert doc.number in text and _en(item["amount_due"]) in text
    missing = _get(hub, f"/statements/{hub.statement}/invoices/no-such-line", (hub.parties[0], "viewer"))
    assert "has no invoice for service 'no-such-line'" in problem(missing, 404)["detail"]


def test_each_participant_reads_its_own_setoff_act(hub: Hub) -> None:
    from o2o.services.documents import setoff_act

    rnd = _round(hub)
    for party in hub.parties:
        r = _get(hub, f"/netting-rounds/{rnd}/setoff-act", (party, "viewer"), format="json")
        expected = setoff_act(hub.app.state.workspace, rnd, party)
        assert _file(r, "application/json", f"SOA-{rnd}-{party}.json") == expected.canonical()
        assert [s["operator"] for s in json.loads(r.content)["signatures"]] == [party]
        # an operator reads only as itself: naming the other party is a round it does not know
        (other,) = set(hub.parties) - {party}
        named = _get(hub, f"/netting-rounds/{rnd}/setoff-act", (party, "viewer"), operator=other)
        assert problem(named, 404)["detail"] == f"unknown netting round {rnd!r}"
    admin = _get(hub, f"/netting-rounds/{rnd}/setoff-act", ("HUB", "admin"), operator=hub.parties[0])
    _file(admin, PDF, f"SOA-{rnd}-{hub.parties[0]}.pdf")
    assert (
        "admin names the participant"
        in problem(_get(hub, f"/netting-rounds/{rnd}/setoff-act", ("HUB", "admin")), 422)["detail"]
    )


def test_the_payer_downloads_its_pain001_and_csv(hub: Hub) -> None:
    from o2o.documents.pain001 import validate_pain001

    rnd = _round(hub)
    payer, payee, pays = _payer_and_payee(hub)
    cur = pays[0]["currency"]
    xml = _file(_get(hub, f"/netting-rounds/{rnd}/payments", (payer, "signer")), "application/xml",
                f"PAY-{rnd}-{payer}-{cur}.pain001.xml")  # fmt: skip
    validate_pain001(xml)  # the official ISO 20022 XSD
    root = ET.fromstring(xml)
    transfers = root.findall(".//p:CdtTrfTxInf", NS)
    assert sorted(t.findtext("p:PmtId/p:EndToEndId", namespaces=NS) for t in transfers) == sorted(
        p["id"] for p in pays
    )
    total = sum(Decimal(t.findtext("p:Amt/p:InstdAmt", namespaces=NS) or "x") for t in transfers)
    assert total == sum(Decimal(p["amount"]) for p in pays)
    assert root.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=NS) == str(total)
    with hub.app.state.workspace.uow() as uow:
        iban = uow.operators.get(payer).legal.bank.iban  # type: ignore[union-attr]
    assert {e.text for e in root.findall(".//p:DbtrAcct/p:Id/p:IBAN", NS)} == {iban}
    rows = list(csv.DictReader(io.StringIO(_file(
        _get(hub, f"/netting-rounds/{rnd}/payments", (payer, "viewer"), format="csv"),
        "text/csv", f"PAY-{rnd}-{payer}.csv").decode()))
    )  # fmt: skip
    assert [(r["payment_id"], r["amount"], r["debtor"]) for r in rows] == [
        (p["id"], p["amount"], payer) for p in pays
    ]
    # the payee makes no payment: no bank file; its document lists none of the payer's transfers
    refused = _get(hub, f"/netting-rounds/{rnd}/payments", (payee, "signer"))
    assert f"{payee} makes no payment in netting round {rnd}" in problem(refused, 422)["detail"]
    doc = json.loads(_file(_get(hub, f"/netting-rounds/{rnd}/payments", (payee, "viewer"), format="json"),
                           "application/json", f"PAY-{rnd}-{payee}.json"))  # fmt: skip
    assert doc["sections"][0]["tables"][0]["rows"] == []
    # the admin reads the round's whole file
    whole = _get(hub, f"/netting-rounds/{rnd}/payments", ("HUB", "admin"), format="csv")
    assert len(list(csv.DictReader(io.StringIO(_file(whole, "text/csv", f"PAY-{rnd}.csv").decode())))) == len(
        pays
    )
    other = _get(hub, f"/netting-rounds/{rnd}/payments", (payer, "signer"), currency="XXX")
    problem(other, 404)


def test_the_act_of_reconciliation_with_a_counterparty(hub: Hub, tmp_path: Path) -> None:
    from datetime import date

    from o2o.services.documents import account_act

    a, b = hub.parties
    when = {"from": "2026-01-01", "to": date.today().isoformat()}
    r = _get(hub, "/account-act", (a, "viewer"), counterparty=b, format="json", **when)
    expected = account_act(hub.app.state.workspace, a, b, date(2026, 1, 1), date.today())
    assert _file(r, "application/json", f"{expected.number}.json") == expected.canonical()
    text = _pdf_text(_file(_get(hub, "/account-act", (b, "viewer"), counterparty=a, **when), PDF,
                           f"ACT-{b}-{a}-{when['from']}-{when['to']}.pdf"), tmp_path)  # fmt: skip
    assert f"ACT-{b}-{a}" in text
    for t in expected.totals:
        if t.key == "closing":
            assert _en(str(abs(t.amount))) in text
    problem(_get(hub, "/account-act", (a, "viewer"), counterparty=a, **when), 404)  # not its own counterparty
    problem(
        _get(hub, "/account-act", ("HUB", "admin"), counterparty=a, **when), 403
    )  # the admin has no books
    problem(_get(hub, "/account-act", (a, "viewer"), counterparty=b, **{"from": "2026-12-01", "to": "2026-01-01"}),
            422)  # fmt: skip


def test_an_outsider_gets_nothing(hub: Hub) -> None:
    """Each document of the pair answers the outsider exactly as one that does not exist (but for the id)."""
    rnd = _round(hub)
    a = hub.parties[0]
    who = (OUTSIDER, "viewer")
    for path, missing, params, ids in (
        (f"/statements/{hub.statement}", "/statements/ST-NOPE-2026-10", {}, (hub.statement, "ST-NOPE-2026-10")),
        (f"/statements/{hub.statement}/invoices", "/statements/ST-NOPE-2026-10/invoices", {},
         (hub.statement, "ST-NOPE-2026-10")),
        (f"/netting-rounds/{rnd}/setoff-act", "/netting-rounds/RND-NOPE-1/setoff-act", {}, (rnd, "RND-NOPE-1")),
        (f"/netting-rounds/{rnd}/payments", "/netting-rounds/RND-NOPE-1/payments", {"format": "csv"},
         (rnd, "RND-NOPE-1")),
        ("/account-act", "/account-act", {"counterparty": a, "from": "2026-01-01", "to": "2026-12-31"}, (a, "ZULU")),
    ):  # fmt: skip
        seen = problem(_get(hub, path, who, **params), 404)
        named = {k: (ids[1] if v == ids[0] else v) for k, v in params.items()}
        unknown = problem(_get(hub, missing, who, **named), 404)
        assert seen["detail"].replace(ids[0], "<id>") == unknown["detail"].replace(ids[1], "<id>"), path
        echoed = seen["detail"].replace(ids[0], "<id>")  # the id asked for, and nothing else of the pair
        assert not any(p in echoed for p in hub.parties), seen


@pytest.fixture
def postgres_settled_hub(tmp_path: Path) -> Iterator[Hub]:
    for url in postgres_database():
        with pytest.MonkeyPatch.context() as mp:
            yield build_hub(tmp_path, mp, url, settle=True)


@pytest.mark.postgres
def test_documents_through_the_hub_on_postgresql(postgres_settled_hub: Hub, tmp_path: Path) -> None:
    hub = postgres_settled_hub
    test_the_statement_as_pdf_xlsx_and_json(hub, tmp_path)
    test_the_payer_downloads_its_pain001_and_csv(hub)
    test_an_outsider_gets_nothing(hub)


def test_the_portal_links_the_documents_of_the_callers_pages(hub: Hub) -> None:
    """The statement and netting pages link the same files (through the session, as the API serves them)."""
    from portal_client import signed_in

    from o2o.services.documents import setoff_act, statement_document

    ws = hub.app.state.workspace
    rnd = _round(hub)
    payer, _, _ = _payer_and_payee(hub)
    for party in hub.parties:
        page = signed_in(hub, party, "viewer")
        html = page.get(f"/statements/{hub.statement}").text
        link = f"/statements/{hub.statement}/document?format=json"
        assert f'href="{link}"' in html
        assert page.get(link).content == statement_document(ws, hub.statement).canonical()
        pdf = page.get(f"/statements/{hub.statement}/document?format=pdf&lang=ru")
        assert _file(pdf, PDF, f"{hub.statement}.pdf").startswith(b"%PDF")
        netting = page.get(f"/netting?period={hub.period}").text
        act = f"/netting/document?round={rnd}&amp;kind=setoff-act&amp;format=pdf"
        assert act in netting and ("kind=payments" in netting) == (party == payer)
        got = page.get(f"/netting/document?round={rnd}&kind=setoff-act&format=json")
        assert got.content == setoff_act(ws, rnd, party).canonical()
    xml = signed_in(hub, payer, "viewer").get(f"/netting/document?round={rnd}&kind=payments&format=xml")
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("application/xml")
    assert xml.headers["content-disposition"].startswith(f'attachment; filename="PAY-{rnd}-{payer}-')
    outsider = signed_in(hub, OUTSIDER, "viewer")
    assert outsider.get(f"/statements/{hub.statement}/document").status_code == 404
    assert outsider.get(f"/netting/document?round={rnd}&kind=setoff-act").status_code == 404
    assert "/netting/document" not in outsider.get(f"/netting?period={hub.period}").text
