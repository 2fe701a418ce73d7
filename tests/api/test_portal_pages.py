"""The portal's pages through HTTP as a browser sends it (TestClient over `create_hub()`): sign-in (token and
Argon2id password), the session cookie and CSRF, every page of a settled month, the figures beside the API's,
and the forms of a dispute, a signature and a payment acting through the same services."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from hub_harness import OUTSIDER, Hub
from portal_client import csrf_of, portal_of, post_form, sign_in, signed_in

from o2o.ledger.keys import read_private_key

PAGES = ("/", "/disputes", "/netting", "/accounts", "/ledger", "/jobs")


def test_signed_out_pages_redirect_to_login(hub: Hub) -> None:
    client = portal_of(hub)
    for path in (*PAGES, "/admin", f"/statements/{hub.statement}", f"/disputes/{hub.disputes[0]}"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/login?next=" + path.split("?")[0]), r.headers["location"]
    r = client.post(f"/disputes/{hub.disputes[0]}/accept", data={"csrf": "x"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    # a forged cookie is no session
    client.cookies.set("o2o_session", "eyJ1IjoidXNyX3gifQ.bm90LWEtc2lnbmF0dXJl")
    assert client.get("/", follow_redirects=False).status_code == 303


def test_token_sign_in_sets_a_strict_session_cookie_and_returns_to_next(hub: Hub) -> None:
    client = portal_of(hub)
    page = client.get("/login?next=/disputes")
    assert 'name="next" value="/disputes"' in page.text
    r = client.post(
        "/login",
        data={"csrf": csrf_of(page.text), "token": hub.tokens[("ALFA", "viewer")], "next": "/disputes"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/disputes"
    cookie = r.headers["set-cookie"].lower()
    assert "o2o_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "alfa-viewer" in client.get("/").text
    copied = client.cookies.get("o2o_session")
    other = portal_of(hub)  # the same cookie in another browser works while the session lives
    other.cookies.set("o2o_session", copied)
    assert other.get("/", follow_redirects=False).status_code == 200
    # signing out ends the session on the hub: the cookie goes, and a copy of it no longer works
    r = post_form(client, "/", "/logout", {})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert client.get("/", follow_redirects=False).status_code == 303
    assert other.get("/", follow_redirects=False).status_code == 303
    replayed = portal_of(hub)
    replayed.cookies.set("o2o_session", copied)
    r = replayed.get("/disputes", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    # signing in again makes a new session, which works
    assert sign_in(client, token=hub.tokens[("ALFA", "viewer")]).status_code == 303
    assert client.cookies.get("o2o_session") != copied
    assert client.get("/", follow_redirects=False).status_code == 200


def test_open_redirects_and_forged_sign_in_forms_are_refused(hub: Hub) -> None:
    client = portal_of(hub)
    page = client.get("/login?next=//evil.example/x")
    assert 'name="next" value="/"' in page.text
    # a sign-in form posted from elsewhere has no matching double-submit cookie
    other = portal_of(hub)
    r = other.post("/login", data={"csrf": csrf_of(page.text), "token": hub.tokens[("ALFA", "viewer")]})
    assert r.status_code == 400 and "expired" in r.text
    assert "o2o_session" not in r.headers.get("set-cookie", "")


def test_password_users_sign_in_with_argon2id_hashes_only(hub: Hub, tmp_path: Path) -> None:
    secret = "a long enough pass phrase"
    (tmp_path / "pw").write_text(secret + "\n")
    r = hub.cli("hub", "user", "create", "--operator", "BRAVO", "--role", "analyst", "--name", "bea",
                "--password-file", tmp_path / "pw", "--json")  # fmt: skip
    assert r.code == 0, r.err
    assert r.json()["user"] == "bea" and r.json()["role"] == "analyst"
    db = b"".join(f.read_bytes() for f in hub.home.glob("o2o.sqlite*"))  # the database and its WAL
    assert secret.encode() not in db and b"$argon2id$" in db
    client = portal_of(hub)
    bad = sign_in(client, name="bea", password="not the password at all")
    assert bad.status_code == 401 and "not right" in bad.text
    unknown = sign_in(client, name="nobody", password="not the password at all")
    assert unknown.status_code == 401 and unknown.text.count("not right") == bad.text.count("not right")
    ok = sign_in(client, name="bea", password=secret, tz="Asia/Tokyo")
    assert ok.status_code == 303
    home = client.get("/")
    assert "bea · BRAVO · analyst" in home.text and "Asia/Tokyo" in home.text
    listed = hub.cli("hub", "user", "list", "--json").json()
    assert {"user": "bea", "password": "yes"}.items() <= next(u for u in listed if u["user"] == "bea").items()
    (tmp_path / "short").write_text("short\n")
    r = hub.cli("hub", "user", "create", "--operator", "BRAVO", "--role", "analyst", "--name", "bo",
                "--password-file", tmp_path / "short")  # fmt: skip
    assert r.code != 0 and "fewer than 12" in r.err and "Traceback" not in r.err


def _cells(html: str, testid: str) -> list[list[str]]:
    table = html.split(f'data-testid="{testid}"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table.split("<tbody>", 1)[1], re.S)
    return [[re.sub(r"<[^>]+>", " ", c).split() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in rows]  # type: ignore[misc]  # fmt: skip


def test_this_month_shows_each_service_with_both_figures_from_the_callers_side(hub: Hub) -> None:
    st = hub.client.get(f"/api/v1/statements/{hub.statement}", headers=hub.auth("BRAVO", "viewer")).json()
    lines = {ln["service"]: ln for ln in st["lines"]}
    page = signed_in(hub, "BRAVO", "viewer").get(f"/?period={hub.period}")
    assert page.status_code == 200
    rows = _cells(page.text, "month")
    assert len(rows) == len(lines)
    for cells in rows:
        service = cells[1][0]
        line = lines[service]
        ours_is_provider = line["provider"] == "BRAVO"
        ours = line["provider_amount"] if ours_is_provider else line["customer_amount"]
        theirs = line["customer_amount"] if ours_is_provider else line["provider_amount"]
        assert cells[5] == [f"{float(ours):,.2f}"], (service, cells)  # GBP: two minor units
        assert cells[6] == [f"{float(theirs):,.2f}"], (service, cells)
        assert cells[2] == ["netted"]
        assert "BRAVO" in cells[9] and "ALFA" in cells[9]  # both signatures
    assert '<td class="num">' in page.text  # amounts right-aligned
    # sorting and filters
    by_diff = _cells(signed_in(hub, "BRAVO", "viewer").get(f"/?period={hub.period}&sort=difference&desc=1").text,
                     "month")  # fmt: skip
    diffs = [abs(float(r[7][0].replace(",", ""))) for r in by_diff if r[7][0] != "—"]
    assert diffs == sorted(diffs, reverse=True)
    none = signed_in(hub, "BRAVO", "viewer").get(f"/?period={hub.period}&state=open")
    assert "No cycle of yours" in none.text


def test_every_page_of_a_settled_month_renders_for_each_role(hub: Hub) -> None:
    for role in ("viewer", "analyst", "signer"):
        client = signed_in(hub, "ALFA", role)
        for path in (*PAGES, f"/statements/{hub.statement}", f"/disputes/{hub.disputes[0]}", "/netting"):
            r = client.get(path)
            assert r.status_code == 200, (role, path, r.text[:300])
            assert r.text.count("<h1") == 1, path
            assert "Content-Security-Policy" in r.headers
        assert client.get("/admin").status_code == 403
    admin = signed_in(hub, "HUB", "admin")
    page = admin.get("/admin/users")
    assert page.status_code == 200 and 'data-testid="users"' in page.text and "alfa-viewer" in page.text
    assert admin.get("/accounts").status_code == 403  # the hub has no books of its own


def test_statement_page_shows_document_digest_and_verified_signatures(hub: Hub) -> None:
    page = signed_in(hub, "ALFA", "viewer").get(f"/statements/{hub.statement}")
    st = hub.client.get(f"/api/v1/statements/{hub.statement}", headers=hub.auth("ALFA", "viewer")).json()
    assert st["digest"] in page.text
    assert hashlib.sha256(st["canonical"].encode()).hexdigest() == st["digest"]
    sigs = page.text.split('data-testid="signatures"', 1)[1].split("</ul>", 1)[0]
    assert sigs.count("verified") == 2 and "does not verify" not in sigs


def test_drill_down_charts_days_over_tolerance_and_lists_records_as_csv(hub: Hub) -> None:
    ev = hub.client.get(
        f"/api/v1/statements/{hub.statement}/evidence", headers=hub.auth("ALFA", "viewer")
    ).json()
    line = max(ev["lines"], key=lambda ln: ln["records_total"])
    client = signed_in(hub, "ALFA", "viewer")
    url = f"/statements/{hub.statement}/lines/{line['service']}"
    page = client.get(url)
    assert page.status_code == 200
    days = line["figures"]["days_over_tolerance"]
    assert page.text.count('class="bar-pos"') + page.text.count('class="bar-neg"') == len(days)
    offset = line["figures"]["match"]["clock_offset_s"]
    assert re.search(rf'data-testid="clock-offset">{offset} s', page.text)
    csv_all = client.get(url + "/records.csv")
    assert csv_all.headers["content-type"].startswith("text/csv")
    assert len(csv_all.text.strip().splitlines()) == 1 + len(line["records"])
    day = line["records"][0]["day"]
    csv_day = client.get(url + f"/records.csv?day={day}").text.strip().splitlines()
    assert len(csv_day) == 1 + sum(1 for r in line["records"] if r["day"] == day)
    assert all(f",{day}," in f",{row}," for row in csv_day[1:])


def test_ledger_entry_is_verified_through_its_inclusion_proof(hub: Hub) -> None:
    client = signed_in(hub, "ALFA", "viewer", tz="Europe/Berlin")
    ledger = client.get("/ledger")
    seqs = [int(s) for s in re.findall(r'href="/ledger/entries/(\d+)"', ledger.text)]
    assert seqs
    assert "CET" in ledger.text  # times in the user's zone
    page = client.get(f"/ledger/entries/{seqs[0]}")
    verdict = page.text.split('data-testid="verdict">', 1)[1].split("</p>", 1)[0]
    assert verdict.startswith("Verified")
    assert page.text.count("✔") == 3


def test_netting_page_shows_own_obligations_setoffs_and_payments(hub: Hub) -> None:
    page = signed_in(hub, "ALFA", "viewer").get(f"/netting?period={hub.period}")
    obligations = hub.client.get("/api/v1/obligations", headers=hub.auth("ALFA", "viewer")).json()
    for o in obligations:
        assert o["id"] in page.text
    assert page.text.count("<svg") == 2
    payments = hub.client.get("/api/v1/payments", headers=hub.auth("ALFA", "viewer")).json()
    for p in payments:
        assert p["id"] in page.text
    # an operator sees its own position, not the round-wide totals summed over other pairs
    figures = page.text.split('data-testid="round-figures"', 1)[1].split("</dl>", 1)[0]
    assert "ALFA's position" in figures and "BRAVO's position" not in figures and "Gross" not in figures
    admin = signed_in(hub, "HUB", "admin").get(f"/netting?period={hub.period}").text
    assert "Gross" in admin and "Net internal debt" in admin


def test_csrf_token_is_required_on_every_form(fresh_hub: Hub) -> None:
    hub = fresh_hub
    client = signed_in(hub, "ALFA", "analyst")
    d = hub.disputes[0]
    for data in ({}, {"csrf": "forged"}):
        r = client.post(f"/disputes/{d}/proposals", data={**data, "split": "1"}, follow_redirects=False)
        assert r.status_code == 403 and "CSRF" in r.text
    # another session's token does not do either
    other = signed_in(hub, "ALFA", "analyst")
    foreign = csrf_of(other.get(f"/disputes/{d}").text)
    r = client.post(f"/disputes/{d}/proposals", data={"csrf": foreign, "split": "1"}, follow_redirects=False)
    assert r.status_code == 403
    shown = hub.client.get(f"/api/v1/disputes/{d}", headers=hub.auth("ALFA", "viewer")).json()
    assert shown["proposals"] == []


def _settle_disputes_in_pages(hub: Hub) -> None:
    provider_of = {d: hub.client.get(f"/api/v1/disputes/{d}", headers=hub.auth("ALFA", "viewer")).json()
                   for d in hub.disputes}  # fmt: skip
    for d, shown in provider_of.items():
        prov = signed_in(hub, shown["provider"], "analyst")
        r = post_form(prov, f"/disputes/{d}", f"/disputes/{d}/proposals", {"split": "1", "note": "halves"})
        assert r.status_code == 303, r.text
        cust = signed_in(hub, shown["customer"], "analyst")
        page = cust.get(f"/disputes/{d}")
        assert "Their proposal" in page.text and "halves" in page.text
        r = post_form(cust, f"/disputes/{d}", f"/disputes/{d}/accept", {})
        assert r.status_code == 303
        after = hub.client.get(f"/api/v1/disputes/{d}", headers=hub.auth("ALFA", "viewer")).json()
        assert after["state"] == "resolved" and after["resolved_amount"] == shown["split_offer"]


def _signature_file(hub: Hub, operator: str, tmp: Path) -> tuple[str, bytes]:
    st = hub.client.get(f"/api/v1/statements/{hub.statement}", headers=hub.auth(operator, "signer")).json()
    signer = read_private_key(hub.home / "keys" / f"{operator}.pem", operator)
    return signer.key_id, signer.sign(st["canonical"].encode()).encode()


def test_disputes_resolved_and_statement_signed_through_the_pages(fresh_hub: Hub, tmp_path: Path) -> None:
    hub = fresh_hub
    # a viewer has no dispute form, and posting one is refused
    viewer = signed_in(hub, "ALFA", "viewer")
    d = hub.disputes[0]
    assert "/proposals" not in viewer.get(f"/disputes/{d}").text
    assert post_form(viewer, f"/disputes/{d}", f"/disputes/{d}/proposals", {"split": "1"}).status_code == 403
    _settle_disputes_in_pages(hub)
    url = f"/statements/{hub.statement}"
    for operator in hub.parties:
        signer = signed_in(hub, operator, "signer")
        page = signer.get(url)
        assert "Sign as" in page.text
        key_id, signature = _signature_file(hub, operator, tmp_path)
        # a tampered signature is refused with the reason, nothing stored
        bad = signature[:-2] + (b"00" if signature[-2:] != b"00" else b"11")
        r = post_form(signer, url, f"{url}/signatures", {"key_id": key_id},
                      files={"signature_file": ("sig.hex", bad)})  # fmt: skip
        assert r.status_code == 422 and "does not verify" in r.text
        r = post_form(signer, url, f"{url}/signatures", {"key_id": key_id},
                      files={"signature_file": ("sig.hex", signature)})  # fmt: skip
        assert r.status_code == 303, r.text
        assert "was verified" in signer.get(r.headers["location"]).text
    st = hub.client.get(f"/api/v1/statements/{hub.statement}", headers=hub.auth("ALFA", "viewer")).json()
    assert st["state"] == "signed" and {s["operator"] for s in st["signatures"]} == set(hub.parties)


def test_payee_confirms_a_payment_on_the_netting_page(fresh_hub: Hub, tmp_path: Path) -> None:
    hub = fresh_hub
    _settle_disputes_in_pages(hub)
    for op in hub.parties:
        assert hub.cli("statement", "sign", hub.statement, "--as", op).code == 0
    assert hub.cli("net", "run", "--period", hub.period, "--mode", "direct").code == 0
    (pay,) = hub.client.get("/api/v1/payments", headers=hub.auth("ALFA", "viewer")).json()
    payer = signed_in(hub, pay["payer"], "signer")
    assert "Bank reference" not in payer.get(f"/netting?period={hub.period}").text  # only the payee confirms
    payee = signed_in(hub, pay["payee"], "signer")
    assert pay["id"] in payee.get(f"/?period={hub.period}").text.split('data-testid="to-confirm"', 1)[1]
    assert 'data-testid="to-confirm"' not in payer.get(f"/?period={hub.period}").text
    url = f"/netting?period={hub.period}"
    r = post_form(
        payee, url, f"/payments/{pay['id']}/confirm", {"reference": "BANK-REF-1", "period": hub.period}
    )
    assert r.status_code == 303
    after = hub.client.get("/api/v1/payments", headers=hub.auth("ALFA", "viewer")).json()[0]
    assert after["status"] == "confirmed" and after["reference"] == "BANK-REF-1"
    assert 'data-testid="to-confirm"' not in payee.get(f"/?period={hub.period}").text


def test_accounts_statement_of_account_and_a_partners_extract_reconciled(hub: Hub, tmp_path: Path) -> None:
    a, b = hub.parties
    client = signed_in(hub, a, "analyst")
    page = client.get(f"/accounts?counterparty={b}&from={hub.period}-01&to=2099-12-31")
    assert page.status_code == 200
    table = page.text.split('data-testid="statement-of-account"', 1)[1].split("</table>", 1)[0]
    assert "Opening balance" in table and "Turnover" in table and "Closing balance" in table
    assert hub.statement in table
    assert page.text.count("<svg") == 1  # the ageing chart
    # BRAVO's extract with its first line left out: a difference carrying the whole gap
    extract = tmp_path / "extract.csv"
    made = hub.cli("accounts", "extract", "--operator", b, "--counterparty", a, "--as-of", "2099-12-31",
                   "--out", extract)  # fmt: skip
    assert made.code == 0, made.err
    header, _left_out, *rest = extract.read_text().splitlines()
    extract.write_text("\n".join([header, *rest]) + "\n")
    r = post_form(client, "/accounts", "/accounts/reconcile",
                  {"counterparty": b, "as_of": "2099-12-31", "tolerance_days": "3"},
                  files={"extract": ("extract.csv", extract.read_bytes(), "text/csv")})  # fmt: skip
    assert r.status_code == 200, r.text
    found = r.text.split('data-testid="reconciliation"', 1)[1]
    assert "Differences with" in found
    rows = _cells(found, "differences")
    assert len(rows) == 1, rows
    api = hub.client.post(
        "/api/v1/accounts/reconcile", headers=hub.auth(a, "analyst"), data={"counterparty": b, "as_of": "2099-12-31"},
        files={"extract": ("extract.csv", extract.read_bytes(), "text/csv")},
    ).json()  # fmt: skip
    (cur,) = api["currencies"]
    assert f"gap {float(cur['gap']):,.2f}" in found
    assert rows[0][4] == [f"{float(cur['differences'][0]['contribution']):,.2f}"]


@pytest.mark.postgres
def test_the_portal_on_postgresql(postgres_hub: Hub, tmp_path: Path) -> None:
    hub = postgres_hub
    (tmp_path / "pw").write_text("a long enough pass phrase\n")
    for name, op in (("pat", hub.parties[0]), ("pia", hub.parties[1])):
        r = hub.cli("hub", "user", "create", "--operator", op, "--role", "analyst", "--name", name,
                    "--password-file", tmp_path / "pw")  # fmt: skip
        assert r.code == 0, r.err
    clients = {}
    for name, op in (("pat", hub.parties[0]), ("pia", hub.parties[1])):
        clients[op] = portal_of(hub)
        assert sign_in(clients[op], name=name, password="a long enough pass phrase").status_code == 303
    assert hub.statement in clients[hub.parties[0]].get(f"/?period={hub.period}").text
    d = hub.disputes[0]
    shown = hub.client.get(f"/api/v1/disputes/{d}", headers=hub.auth(hub.parties[0], "viewer")).json()
    prov, cust = clients[shown["provider"]], clients[shown["customer"]]
    assert post_form(prov, f"/disputes/{d}", f"/disputes/{d}/proposals", {"split": "1"}).status_code == 303
    assert post_form(cust, f"/disputes/{d}", f"/disputes/{d}/accept", {}).status_code == 303
    after = hub.client.get(f"/api/v1/disputes/{d}", headers=hub.auth(hub.parties[0], "viewer")).json()
    assert after["state"] == "resolved"
    outsider = signed_in(hub, OUTSIDER, "analyst")
    assert outsider.get(f"/disputes/{d}").status_code == 404


def test_admin_queues_a_job_and_the_jobs_table_asks_to_be_refreshed_while_it_waits(fresh_hub: Hub) -> None:
    hub = fresh_hub  # this client runs no lifespan: no job runner, the job stays queued
    admin = signed_in(hub, "HUB", "admin")
    r = post_form(admin, "/admin", "/admin/jobs", {"period": hub.period, "kind": "netting", "mode": "direct"})
    assert r.status_code == 303, r.text
    assert "queued" in r.headers["location"]
    job_id = r.headers["location"].split("queued+", 1)[1]
    table = admin.get("/jobs/table").text
    assert table.startswith('<div class="scroll" id="jobs" data-refresh="/jobs/table"') and job_id in table
    assert "<html" not in table  # a fragment, swapped in place by the page's script
    # an operator's user neither sees the hub's jobs nor starts one
    analyst = signed_in(hub, hub.parties[0], "analyst")
    assert job_id not in analyst.get("/jobs/table").text
    r = post_form(analyst, "/", "/admin/jobs", {"period": hub.period, "kind": "reconcile"})
    assert r.status_code == 403


def test_admin_makes_a_token_shown_once_and_revokes_it(fresh_hub: Hub) -> None:
    hub = fresh_hub
    admin = signed_in(hub, "HUB", "admin")
    r = post_form(
        admin, "/admin", "/admin/tokens", {"operator": hub.parties[0], "role": "viewer", "expires": "7"}
    )
    assert r.status_code == 200, r.text
    issued = re.search(r'data-testid="issued">.*?<code>(o2o_[^<]+)</code>', r.text)
    assert issued
    token = issued.group(1)
    me = hub.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["operator"] == hub.parties[0]
    assert token not in admin.get("/admin/users").text  # shown once
    token_id = me.json()["token_id"]
    session = portal_of(hub)
    assert sign_in(session, token=token).status_code == 303
    assert session.get("/", follow_redirects=False).status_code == 200
    r = post_form(admin, "/admin", f"/admin/tokens/{token_id}/revoke", {})
    assert r.status_code == 303
    assert hub.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    # the session signed in with that token ends with it, and it signs in no more
    assert session.get("/", follow_redirects=False).status_code == 303
    assert sign_in(portal_of(hub), token=token).status_code == 401


def test_dispute_timeline_in_the_users_zone_and_a_split_through_the_page(fresh_hub: Hub) -> None:
    hub = fresh_hub
    d = hub.disputes[0]
    shown = hub.client.get(f"/api/v1/disputes/{d}", headers=hub.auth("ALFA", "viewer")).json()
    provider, customer = shown["provider"], shown["customer"]
    prov = signed_in(hub, provider, "analyst", tz="Asia/Tokyo")
    r = post_form(prov, f"/disputes/{d}", f"/disputes/{d}/proposals", {"amount": shown["provider_amount"]})
    assert r.status_code == 303, r.text
    # the lower figure's party accepts a part and keeps contesting the rest
    low = customer if float(shown["customer_amount"]) < float(shown["provider_amount"]) else provider
    part = f"{float(shown['contested_amount']) / 4:.2f}"
    splitter = signed_in(hub, low, "analyst", tz="America/New_York")
    page = splitter.get(f"/disputes/{d}")
    assert 'action="/disputes/' + d + '/concessions"' in page.text and 'for="split-amount"' in page.text
    r = post_form(splitter, f"/disputes/{d}", f"/disputes/{d}/concessions", {"amount": part, "note": "fair"})
    assert r.status_code == 303 and r.headers["location"].endswith("done=split"), r.text
    after = hub.client.get(f"/api/v1/disputes/{d}", headers=hub.auth("ALFA", "viewer")).json()
    assert after["state"] == "open"
    assert float(after["contested_amount"]) == pytest.approx(float(shown["contested_amount"]) - float(part))
    assert [h["kind"] for h in after["history"]] == ["opened", "proposed", "conceded"]
    # each step of the timeline with its time, in each user's own zone
    timeline = prov.get(f"/disputes/{d}").text.split('data-testid="timeline"', 1)[1].split("</ol>", 1)[0]
    times = re.findall(r'<time datetime="([^"]+)">([^<]+)</time>', timeline)
    assert len(times) == 3 and all(shown_at.endswith(" JST") for _, shown_at in times), times
    assert "split: accepted" in timeline and "fair" in timeline
    ny = splitter.get(f"/disputes/{d}").text.split('data-testid="timeline"', 1)[1]
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d E[SD]T</time>", ny)
    # a part that is the whole contested amount is no split: refused with the reason, nothing changed
    r = post_form(
        splitter, f"/disputes/{d}", f"/disputes/{d}/concessions", {"amount": after["contested_amount"]}
    )
    assert r.status_code == 422 and "less than the contested" in r.text
    # a viewer has no split form and cannot post one
    viewer = signed_in(hub, low, "viewer")
    assert "/concessions" not in viewer.get(f"/disputes/{d}").text
    assert (
        post_form(viewer, f"/disputes/{d}", f"/disputes/{d}/concessions", {"amount": "1"}).status_code == 403
    )


OPERATORS_FILE = b"""
[[operators]]
id = "BETA"
name = "Beta Telecom"
currency = "EUR"
country_code = "49"
trunk_prefix = "0"
international_prefix = "00"
"""


def test_admin_adds_operators_and_loads_an_agreement_from_uploaded_files(fresh_hub: Hub) -> None:
    hub = fresh_hub
    admin = signed_in(hub, "HUB", "admin")
    for path in ("/admin", "/admin/operators", "/admin/agreements", "/admin/users"):
        page = admin.get(path)
        assert page.status_code == 200 and page.text.count("<h1") == 1, path
        assert f'href="{path}" aria-current="page"' in page.text  # the sub-navigation marks the page
    # a bad operators file: refused with its own name and the field, nothing added
    bad = OPERATORS_FILE.replace(b'currency = "EUR"', b'currency = "EUROS"')
    r = post_form(admin, "/admin/operators", "/admin/operators", {}, files={"file": ("ops.toml", bad)})
    assert r.status_code == 422 and "ops.toml" in r.text and "currency" in r.text, r.text
    assert "o2o-admin-" not in r.text  # not where the hub kept the upload
    r = post_form(
        admin, "/admin/operators", "/admin/operators", {}, files={"file": ("ops.toml", OPERATORS_FILE)}
    )
    assert r.status_code == 303 and r.headers["location"] == "/admin/operators?done=added+BETA", r.headers
    assert "Beta Telecom" in admin.get("/admin/operators").text
    api_ops = hub.client.get("/api/v1/admin/operators", headers=hub.auth("HUB", "admin")).json()
    assert "BETA" in {o["id"] for o in api_ops}
    # the same file again: BETA exists, refused (409), nothing changed
    r = post_form(
        admin, "/admin/operators", "/admin/operators", {}, files={"file": ("ops.toml", OPERATORS_FILE)}
    )
    assert r.status_code == 409, r.text
    # an agreement between ALFA and the new BETA, from its TOML
    # (the generated ALFA-BRAVO agreement, made one between ALFA and BETA)
    made = (hub.home.parent / "net" / "agreements" / "ALFA-BRAVO.toml").read_text()
    toml = made.replace("BRAVO", "BETA").encode()
    r = post_form(admin, "/admin/agreements", "/admin/agreements", {}, files={"file": ("ab.toml", toml)})
    assert r.status_code == 303 and "loaded+ALFA-BETA+%28revision+1%29" in r.headers["location"], (
        r.text,
        r.headers,
    )
    assert "ALFA-BETA" in admin.get("/admin/agreements").text
    r = post_form(admin, "/admin/agreements", "/admin/agreements", {}, files={"file": ("ab.toml", toml)})
    assert "unchanged" in r.headers["location"]
    r = post_form(
        admin, "/admin/agreements", "/admin/agreements", {}, files={"file": ("ab.toml", b"id = 3\n")}
    )
    assert r.status_code == 422 and "ab.toml" in r.text
    # a file the agreement names beside it (a rate deck) is not there: named without the hub's folder
    deck = (Path(__file__).parents[2] / "docs/examples/agreement/agreement.toml").read_bytes()
    r = post_form(admin, "/admin/agreements", "/admin/agreements", {}, files={"file": ("ex.toml", deck)})
    assert r.status_code in (404, 422) and "deck.csv" in r.text and "o2o-admin-" not in r.text, r.text
    # the agreement is ALFA's to see, not BRAVO's; no operator's user reaches the admin's pages or forms
    assert "ALFA-BETA" in hub.client.get("/api/v1/agreements", headers=hub.auth("ALFA", "viewer")).text
    bravo = signed_in(hub, "BRAVO", "analyst")
    assert "ALFA-BETA" not in bravo.get("/").text
    for path in ("/admin", "/admin/operators", "/admin/agreements", "/admin/users"):
        assert bravo.get(path).status_code == 403, path
    r = post_form(bravo, "/", "/admin/operators", {}, files={"file": ("ops.toml", OPERATORS_FILE)})
    assert r.status_code == 403
    # and without the session's CSRF token the admin's own upload is refused
    r = admin.post("/admin/agreements", files={"file": ("ab.toml", toml)}, follow_redirects=False)
    assert r.status_code == 403 and "CSRF" in r.text


def test_admin_makes_a_password_user_and_disables_it(fresh_hub: Hub, tmp_path: Path) -> None:
    hub = fresh_hub
    (tmp_path / "pw").write_text("a long enough pass phrase\n")
    admin = signed_in(hub, "HUB", "admin")
    data = {"operator": "ALFA", "role": "analyst", "name": "nina", "password": "short"}
    r = post_form(admin, "/admin/users", "/admin/users", data)
    assert r.status_code == 422 and "fewer than 12" in r.text
    r = post_form(admin, "/admin/users", "/admin/users", {**data, "password": "a long enough pass phrase"})
    assert r.status_code == 303 and "nina" in r.headers["location"], r.text
    nina = portal_of(hub)
    assert sign_in(nina, name="nina", password="a long enough pass phrase").status_code == 303
    assert "nina · ALFA · analyst" in nina.get("/").text
    listed = {u["user"]: u for u in hub.cli("hub", "user", "list", "--json").json()}
    assert listed["nina"]["password"] == "yes" and listed["nina"]["state"] == "active"
    page = admin.get("/admin/users").text
    user_id = re.search(
        r'action="/admin/users/([^/"]+)/disable"[^>]*><input[^>]*><button[^>]*aria-label="Disable nina"', page
    )
    assert user_id, "a Disable button for nina"
    r = post_form(admin, "/admin/users", f"/admin/users/{user_id.group(1)}/disable", {})
    assert r.status_code == 303 and "disabled" in r.headers["location"]
    # her session ends at once and she signs in no more
    assert nina.get("/", follow_redirects=False).status_code == 303
    assert sign_in(portal_of(hub), name="nina", password="a long enough pass phrase").status_code == 401
    listed = {u["user"]: u for u in hub.cli("hub", "user", "list", "--json").json()}
    assert listed["nina"]["state"] == "disabled"
    # twice is refused, and the admin cannot disable itself
    r = post_form(admin, "/admin/users", f"/admin/users/{user_id.group(1)}/disable", {})
    assert r.status_code == 409 and "already" in r.text
    # the same from the command line
    assert hub.cli("hub", "user", "create", "--operator", "BRAVO", "--role", "viewer", "--name", "vic",
                   "--password-file", tmp_path / "pw").code == 0  # fmt: skip
    vic = portal_of(hub)
    assert sign_in(vic, name="vic", password="a long enough pass phrase").status_code == 303
    r = hub.cli("hub", "user", "disable", "--name", "vic")
    assert r.code == 0 and "user vic disabled" in r.out, r.err
    assert vic.get("/", follow_redirects=False).status_code == 303
    r = hub.cli("hub", "user", "disable", "--name", "nobody")
    assert r.code != 0 and "no hub user 'nobody'" in r.err and "Traceback" not in r.err
    me = hub.client.get("/api/v1/me", headers=hub.auth("HUB", "admin")).json()
    admin_page = admin.get("/admin/users").text
    assert f"/admin/users/{me['user_id']}/disable" not in admin_page


def _usage_file(hub: Hub, declarer: str) -> tuple[dict[str, str], bytes]:
    """One of `declarer`'s generated usage files (as declared) and its CSV bytes."""
    net = hub.home.parent / "net"
    truth = json.loads((net / "truth.json").read_text())
    f = next(x for x in truth["files"] if x["declarer"] == declarer)
    return f, (net / f["file"]).read_bytes()


def test_an_analyst_declares_usage_through_the_upload_page(fresh_hub: Hub) -> None:
    hub = fresh_hub
    me, other = hub.parties
    analyst = signed_in(hub, me, "analyst")
    page = analyst.get(f"/declarations?period={hub.period}")
    assert page.status_code == 200 and page.text.count("<h1") == 1
    listed = _cells(page.text, "declarations")
    assert listed and all(row[3][0] == me for row in listed)  # its own declarations only
    assert f"{other} (" not in page.text.split('data-testid="declarations"', 1)[1].split("</table>", 1)[0]
    assert 'for="d-file"' in page.text and 'enctype="multipart/form-data"' in page.text
    f, content = _usage_file(hub, me)
    # a corrected file: five calls a minute longer (the statement it changes is withdrawn, as by the CLI)
    lines = content.decode().splitlines()
    header = lines[0].split(",")
    col = header.index("duration_s")
    for i in range(1, 6):
        cells = lines[i].split(",")
        cells[col] = str(int(cells[col]) + 60)
        lines[i] = ",".join(cells)
    corrected = ("\n".join(lines) + "\n").encode()
    form = {"agreement": f["agreement"], "period": hub.period, "service": f["service"]}
    r = post_form(analyst, "/declarations", "/declarations", form, files={"file": ("fixed.csv", corrected)})
    assert r.status_code == 303, r.text
    assert "done=declared%2C+replacing" in r.headers["location"]
    decl_id = r.headers["location"].split("/declarations/", 1)[1].split("?", 1)[0]
    shown = analyst.get(r.headers["location"])
    assert shown.status_code == 200 and "fixed.csv" in shown.text
    api = hub.client.get(f"/api/v1/declarations/{decl_id}", headers=hub.auth(me, "viewer")).json()
    assert api["source"] == "fixed.csv" and api["service"] == f["service"] and api["declarer"] == me
    assert f'data-testid="rows">{api["rows"]:,}<' in shown.text
    # the same file again: nothing new
    r = post_form(analyst, "/declarations", "/declarations", form, files={"file": ("fixed.csv", corrected)})
    assert r.status_code == 303 and "already+imported" in r.headers["location"]
    assert r.headers["location"].startswith(f"/declarations/{decl_id}?")
    # a file with a bad row replaces the active one only when asked to, and its rejects are listed
    bad = corrected.replace(lines[1].encode(), b"not,a,valid,row,at,all", 1)
    r = post_form(analyst, "/declarations", "/declarations", form, files={"file": ("bad.csv", bad)})
    assert r.status_code == 422 and "bad.csv: not imported" in r.text and "tick the Replace box" in r.text
    assert str(hub.home) not in r.text  # the hub's own folders are not shown
    r = post_form(
        analyst, "/declarations", "/declarations", {**form, "replace": "1"}, files={"file": ("bad.csv", bad)}
    )
    assert r.status_code == 303, r.text
    rejects = analyst.get(r.headers["location"]).text
    assert 'data-testid="rejects"' in rejects and "not,a,valid,row,at,all" in rejects
    # not a usage file's name, a viewer, the counterparty's declaration, another pair's agreement: refused
    r = post_form(analyst, "/declarations", "/declarations", form, files={"file": ("usage.txt", corrected)})
    assert r.status_code == 422 and ".csv or .parquet" in r.text
    viewer = signed_in(hub, me, "viewer")
    assert 'for="d-file"' not in viewer.get("/declarations").text
    r = post_form(viewer, "/declarations", "/declarations", form, files={"file": ("fixed.csv", corrected)})
    assert r.status_code == 403
    assert signed_in(hub, other, "viewer").get(f"/declarations/{decl_id}").status_code == 404
    outsider = signed_in(hub, OUTSIDER, "analyst")
    foreign = post_form(
        outsider, "/declarations", "/declarations", form, files={"file": ("x.csv", corrected)}
    )
    missing = post_form(
        outsider, "/declarations", "/declarations", {**form, "agreement": "NO-SUCH"},
        files={"file": ("x.csv", corrected)},
    )  # fmt: skip
    assert foreign.status_code == missing.status_code == 404
    assert foreign.text.replace(hub.agreement, "ID") == missing.text.replace("NO-SUCH", "ID")
