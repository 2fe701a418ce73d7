"""The portal in a real browser: Playwright driving Debian's Chromium (by its path) against a real `o2o serve`
on a loopback port. A whole month as two operators in two browser contexts (and the hub's admin in a third):
the declarations made through the CLI, the month seen, every dispute proposed and accepted, the statement
signed by ALFA in the page with WebCrypto (its key file read by the page only) and by BRAVO with an uploaded
detached signature, the netting round run as a job and its payment confirmed by the payee. An outsider's
browser sees nothing of the pair. Accessibility basics on every page: one h1, a label for every field,
charts with a text alternative, the sign-in and the dispute flow done from the keyboard.

With `O2O_SCREENSHOTS=DIR` (`make screenshots`) each page is saved as DIR/NN-name.png.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from hub_harness import OUTSIDER, Hub

from o2o.ledger.keys import read_private_key

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip
PASSWORD = "correct horse battery staple"
USERS = {  # sign-in name: (operator, role)
    "ann": ("ALFA", "analyst"), "sam": ("ALFA", "signer"), "bob": ("BRAVO", "analyst"),
    "sue": ("BRAVO", "signer"), "gus": (OUTSIDER, "analyst"), "root": ("HUB", "admin"),
}  # fmt: skip

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and os.environ.get("CI") != "true",
    reason="Debian's chromium is not installed here (`make sysdeps` installs it; CI requires it)",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(fresh_hub: Hub, tmp_path: Path) -> Iterator[tuple[Hub, str]]:
    """The fresh hub's workspace served by a real `o2o serve` on a loopback port, with password users."""
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    for name, (op, role) in USERS.items():
        r = fresh_hub.cli("hub", "user", "create", "--operator", op, "--role", role, "--name", name,
                          "--password-file", tmp_path / "pw")  # fmt: skip
        assert r.code == 0, r.err
    port = _free_port()
    o2o = shutil.which("o2o", path=str(Path(sys.executable).parent)) or "o2o"
    env = {**os.environ, "O2O_HOME": str(fresh_hub.home)}
    proc = subprocess.Popen([o2o, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        yield fresh_hub, base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()


class Shots:
    """Screenshots of each page, when asked for (`O2O_SCREENSHOTS`)."""

    def __init__(self) -> None:
        folder = os.environ.get("O2O_SCREENSHOTS")
        self.folder = Path(folder) if folder else None
        self.n = 0
        if self.folder:
            self.folder.mkdir(parents=True, exist_ok=True)

    def take(self, page: Any, name: str) -> None:
        if self.folder:
            self.n += 1
            page.screenshot(path=str(self.folder / f"{self.n:02d}-{name}.png"), full_page=True)


def check_accessible(page: Any) -> None:
    """One h1; every visible field labelled; every chart with a text alternative."""
    assert page.locator("h1").count() == 1, page.url
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
              .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
              .map(el => el.name || el.id)"""
    )
    assert unlabelled == [], (page.url, unlabelled)
    charts = page.evaluate(
        "() => [...document.querySelectorAll('svg')].filter(s => !(s.getAttribute('role') === 'img' && "
        "s.getAttribute('aria-label'))).length"
    )
    assert charts == 0, page.url
    # the page fits its window (a tablet's too): wide tables scroll inside their own box
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, (page.url, overflow)


def sign_in_with_keyboard(page: Any, base: str, name: str) -> None:
    page.goto(base + "/")
    assert page.url.startswith(base + "/login")
    page.get_by_label("User name").focus()
    page.keyboard.type(name)
    page.keyboard.press("Tab")  # to the password field
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(base + "/")
    check_accessible(page)
    # the first Tab reaches the skip link, which takes the focus to the page's content
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")


def test_a_month_in_two_browsers(served: tuple[Hub, str]) -> None:
    from playwright.sync_api import sync_playwright

    hub, base = served
    shots = Shots()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            alfa = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="Europe/Berlin")
            bravo = browser.new_context(
                viewport={"width": 768, "height": 1024}, timezone_id="Asia/Tokyo"
            )  # tablet
            a, b = alfa.new_page(), bravo.new_page()
            a.goto(base + "/login")
            check_accessible(a)
            shots.take(a, "login")
            sign_in_with_keyboard(a, base, "ann")
            sign_in_with_keyboard(b, base, "bob")
            assert "Europe/Berlin" in a.content() and "Asia/Tokyo" in b.content()
            a.goto(f"{base}/?period={hub.period}")
            month = a.get_by_test_id("month")
            assert month.get_by_text("disputed").count() >= 1
            assert a.get_by_test_id("waiting").inner_text().startswith(str(len(hub.disputes)))
            shots.take(a, "this-month")
            _disputes_settled(hub, base, a, b, shots)
            copied = alfa.cookies()
            sign_out(a)
            sign_out(b)
            _copied_cookie_signed_out(base, browser, copied)
            sign_in_with_keyboard(a, base, "sam")
            sign_in_with_keyboard(b, base, "sue")
            _signed_in_the_browser(hub, base, a, shots)
            _signed_by_upload(hub, base, b)
            _netted_and_paid(hub, base, browser, a, b, shots)
            _outsider_sees_nothing(hub, base, browser)
            _declared_in_the_page(hub, base, browser, shots)
            _admin_pages(hub, base, browser, shots)
        finally:
            browser.close()


def _disputes_settled(hub: Hub, base: str, a: Any, b: Any, shots: Shots) -> None:
    pages = {"ALFA": a, "BRAVO": b}
    widest = max(hub.disputes, key=lambda d: Decimal(_shown(hub, d)["contested_amount"]))  # split there
    for i, d in enumerate(hub.disputes):
        a.goto(f"{base}/disputes/{d}")
        check_accessible(a)
        between = a.locator("dl.facts dd").first.inner_text()  # "ALFA (provider) and BRAVO (customer)"
        provider = between.split(" (provider)")[0]
        customer = "BRAVO" if provider == "ALFA" else "ALFA"
        prov, cust = pages[provider], pages[customer]
        if d == widest:
            _split_in_the_page(hub, base, d, pages[_lower_party(hub, d)])
        prov.goto(f"{base}/disputes/{d}")
        if i == 0:
            shots.take(prov, "dispute")
            # the keyboard alone: focus the split button and press Enter
            button = prov.get_by_role("button", name="Propose to split the difference")
            button.focus()
            prov.keyboard.press("Enter")
        else:
            prov.get_by_role("button", name="Propose to split the difference").click()
        prov.wait_for_url("**done=proposed")
        cust.goto(f"{base}/disputes/{d}")
        accept = cust.get_by_role("button", name=re.compile(r"^Accept [0-9]"))  # not "Accept this part"
        accept.click()
        cust.wait_for_url("**done=accepted")
        assert cust.get_by_test_id("dispute-state").inner_text() == "resolved"
        timeline = cust.get_by_test_id("timeline").inner_text()
        assert f"{provider} proposed" in timeline and "Resolved" in timeline
    a.goto(f"{base}/disputes")
    check_accessible(a)
    shots.take(a, "disputes")
    # the drill-down of a (now resolved) line: chart, clock offset, records, CSV
    a.goto(f"{base}/statements/{hub.statement}")
    a.get_by_role("link", name="evidence").first.click()
    check_accessible(a)
    assert a.locator("svg.chart rect").count() >= 1
    assert (
        a.get_by_test_id("clock-offset").inner_text().endswith("s (customer's clock against the provider's)")
    )
    shots.take(a, "drill-down")
    with a.expect_download() as dl:
        a.get_by_role("link", name="Download CSV").click()
    assert dl.value.suggested_filename.endswith(".csv")


def _copied_cookie_signed_out(base: str, browser: Any, cookies: list[Any]) -> None:
    """The session cookie copied before signing out opens nothing in another browser after."""
    assert any(c["name"] == "o2o_session" for c in cookies)
    other = browser.new_context()
    other.add_cookies(cookies)
    page = other.new_page()
    page.goto(base + "/disputes")
    assert page.url.startswith(base + "/login")
    other.close()


def _shown(hub: Hub, d: str) -> dict[str, Any]:
    """The dispute as the API shows it to a party."""
    return dict(hub.client.get(f"/api/v1/disputes/{d}", headers=hub.auth("ALFA", "viewer")).json())


def _lower_party(hub: Hub, d: str) -> str:
    shown = _shown(hub, d)
    lower = Decimal(shown["customer_amount"]) < Decimal(shown["provider_amount"])
    return str(shown["customer"] if lower else shown["provider"])


def _split_in_the_page(hub: Hub, base: str, d: str, page: Any) -> None:
    """The party with the lower figure accepts a quarter of the contested amount and contests the rest; the
    timeline shows each step with its time in that browser's zone."""
    shown = hub.client.get(f"/api/v1/disputes/{d}", headers=hub.auth("ALFA", "viewer")).json()
    part = max((Decimal(shown["contested_amount"]) / 4).quantize(Decimal("0.01")), Decimal("0.01"))
    page.goto(f"{base}/disputes/{d}")
    page.get_by_label("Part accepted").fill(str(part))
    page.get_by_role("button", name="Accept this part").click()
    page.wait_for_url("**done=split")
    check_accessible(page)
    after = hub.client.get(f"/api/v1/disputes/{d}", headers=hub.auth("ALFA", "viewer")).json()
    assert Decimal(after["contested_amount"]) == Decimal(shown["contested_amount"]) - part
    assert after["state"] == "open"
    timeline = page.get_by_test_id("timeline")
    assert "split: accepted" in timeline.inner_text()
    zone = {"Europe/Berlin": ("CET", "CEST"), "Asia/Tokyo": ("JST",)}[page.evaluate(
        "() => Intl.DateTimeFormat().resolvedOptions().timeZone")]  # fmt: skip
    times = timeline.locator("time").all_inner_texts()
    assert len(times) == 2 and all(t.endswith(zone) for t in times), times


def _signed_in_the_browser(hub: Hub, base: str, a: Any, shots: Shots) -> None:
    from playwright.sync_api import expect

    a.goto(f"{base}/statements/{hub.statement}")
    check_accessible(a)
    # (a page's CSP forbids eval: wait through locators, not wait_for_function)
    expect(a.locator("#digest-check")).to_have_text("✔ recomputed in this browser")
    shots.take(a, "sign")
    requests: list[str] = []
    a.on("request", lambda r: requests.append(r.url))
    a.set_input_files("#keyfile", str(hub.home / "keys" / "ALFA.pem"))
    expect(a.locator("#sign-status")).to_contain_text("Signed in this browser with key")
    assert requests == [], "the key file was not sent anywhere"
    assert len(a.input_value("#signature")) == 128
    a.get_by_role("button", name="Send the signature").click()
    a.wait_for_url("**done=signed")
    sigs = a.get_by_test_id("signatures").inner_text()
    assert "ALFA" in sigs and "verified" in sigs


def _signed_by_upload(hub: Hub, base: str, b: Any) -> None:
    b.goto(f"{base}/statements/{hub.statement}")
    canonical = b.locator("#canonical").get_attribute("data-canonical")
    assert canonical
    signer = read_private_key(hub.home / "keys" / "BRAVO.pem", "BRAVO")  # BRAVO's own side, any Ed25519 tool
    b.set_input_files(
        "#signature_file",
        files=[
            {
                "name": "bravo.sig",
                "mimeType": "text/plain",
                "buffer": signer.sign(canonical.encode()).encode(),
            }
        ],
    )
    b.get_by_role("button", name="Send the signature").click()
    b.wait_for_url("**done=signed")
    sigs = b.get_by_test_id("signatures").inner_text()
    assert sigs.count("verified") == 2


def _netted_and_paid(hub: Hub, base: str, browser: Any, a: Any, b: Any, shots: Shots) -> None:
    from playwright.sync_api import expect

    admin = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in_with_keyboard(admin, base, "root")
    admin.goto(base + "/admin")
    check_accessible(admin)
    admin.fill("#j-period", hub.period)
    admin.select_option("#j-kind", "netting")
    admin.select_option("#j-mode", "direct")
    admin.get_by_role("button", name="Queue").click()
    admin.wait_for_url("**done=queued*")
    # the server's own job runner takes it; the jobs table follows it without a reload
    admin.goto(base + "/jobs")
    expect(admin.get_by_test_id("jobs")).to_contain_text("done", timeout=120_000)
    assert "failed" not in admin.get_by_test_id("jobs").inner_text()
    shots.take(admin, "jobs")
    admin.goto(base + "/admin")
    shots.take(admin, "admin")
    for page in (a, b):
        page.goto(f"{base}/netting?period={hub.period}")
        check_accessible(page)
        assert page.locator("svg.chart").count() == 2
        assert page.get_by_test_id("payments").locator("tbody tr").count() == 1
    shots.take(a, "netting")
    payee = next(p for p in (a, b) if p.get_by_label("Bank reference").count())
    payee.get_by_label("Bank reference").fill("BANK-2026-0001")
    payee.get_by_role("button", name="Confirm").click()
    payee.wait_for_url("**done=confirmed")
    assert "confirmed" in payee.get_by_test_id("payments").inner_text()
    for path, name in (("/accounts", "accounts"), ("/ledger", "ledger")):
        a.goto(base + path)
        check_accessible(a)
        shots.take(a, name)
    a.get_by_role("link", name="verify this entry").first.click()
    assert a.get_by_test_id("verdict").inner_text().startswith("Verified")
    check_accessible(a)
    shots.take(a, "ledger-entry")
    a.goto(f"{base}/?period={hub.period}")
    assert a.get_by_test_id("month").get_by_text("settled").count() >= 1
    shots.take(a, "this-month-settled")
    admin.context.close()


def _outsider_sees_nothing(hub: Hub, base: str, browser: Any) -> None:
    g = browser.new_context().new_page()
    sign_in_with_keyboard(g, base, "gus")
    for path in ("/", f"/?period={hub.period}", "/disputes", f"/netting?period={hub.period}", "/ledger"):
        g.goto(base + path)
        text = g.content()
        for secret in (hub.agreement, hub.statement, *hub.parties):
            assert secret not in text, (path, secret)
    response = g.goto(f"{base}/statements/{hub.statement}")
    assert response is not None and response.status == 404
    g.context.close()


def _declared_in_the_page(hub: Hub, base: str, browser: Any, shots: Shots) -> None:
    """ann lists ALFA's declarations and uploads one of its usage files again: the hub has it already."""
    net = hub.home.parent / "net"
    truth = json.loads((net / "truth.json").read_text())
    f = next(x for x in truth["files"] if x["declarer"] == "ALFA")
    page = browser.new_context(
        viewport={"width": 1280, "height": 900}, timezone_id="Europe/Berlin"
    ).new_page()
    sign_in_with_keyboard(page, base, "ann")
    page.goto(f"{base}/declarations?period={hub.period}")
    check_accessible(page)
    assert page.get_by_test_id("declarations").locator("tbody tr").count() >= 1
    page.get_by_label("Agreement").select_option(f["agreement"])
    page.get_by_label("Service").select_option(f["service"])
    page.fill("#d-period", hub.period)
    page.set_input_files("#d-file", str(net / f["file"]))
    shots.take(page, "declarations")
    page.get_by_role("button", name="Declare").click()
    page.wait_for_url("**done=already*")
    check_accessible(page)
    assert "already imported" in page.get_by_test_id("declared").inner_text()
    page.context.close()


OPERATORS_TOML = b"""[[operators]]
id = "BETA"
name = "Beta Telecom"
currency = "EUR"
country_code = "49"
trunk_prefix = "0"
international_prefix = "00"
"""


def _admin_pages(hub: Hub, base: str, browser: Any, shots: Shots) -> None:
    """The hub's admin adds an operator from a file, loads an agreement with it, makes a user of it, who sees
    that agreement only."""
    admin = browser.new_context(
        viewport={"width": 1280, "height": 900}, timezone_id="Europe/Berlin"
    ).new_page()
    sign_in_with_keyboard(admin, base, "root")
    admin.goto(base + "/admin")
    admin.get_by_role("navigation", name="Administration").get_by_role("link", name="Operators").click()
    check_accessible(admin)
    admin.set_input_files("#op-file", files=[{"name": "ops.toml", "mimeType": "application/toml",
                                              "buffer": OPERATORS_TOML}])  # fmt: skip
    admin.get_by_role("button", name="Add the operators").click()
    admin.wait_for_url("**done=added*")
    assert "Beta Telecom" in admin.get_by_test_id("operators").inner_text()
    shots.take(admin, "admin-operators")
    agreement = (
        (hub.home.parent / "net" / "agreements" / "ALFA-BRAVO.toml").read_text().replace("BRAVO", "BETA")
    )
    admin.goto(base + "/admin/agreements")
    check_accessible(admin)
    admin.set_input_files("#ag-file", files=[{"name": "alfa-beta.toml", "mimeType": "application/toml",
                                              "buffer": agreement.encode()}])  # fmt: skip
    admin.get_by_role("button", name="Load the agreement").click()
    admin.wait_for_url("**done=loaded*")
    assert "ALFA-BETA" in admin.get_by_test_id("agreements").inner_text()
    shots.take(admin, "admin-agreements")
    admin.goto(base + "/admin/users")
    check_accessible(admin)
    admin.get_by_label("Operator (or HUB)").first.select_option("BETA")
    admin.get_by_label("Role").first.select_option("analyst")
    admin.get_by_label("User name").fill("bea")
    admin.get_by_label("Password (12 characters or more)").fill(PASSWORD)
    admin.get_by_role("button", name="Make the user").click()
    admin.wait_for_url("**done=user*")
    assert "bea" in admin.get_by_test_id("users").inner_text()
    shots.take(admin, "admin-users")
    admin.context.close()
    # bea signs in and sees BETA's one agreement, none of ALFA–BRAVO's
    bea = browser.new_context().new_page()
    sign_in_with_keyboard(bea, base, "bea")
    bea.goto(f"{base}/declarations?period={hub.period}")
    text = bea.content()
    assert "ALFA-BETA" in text and hub.agreement not in text and hub.statement not in text
    bea.context.close()
