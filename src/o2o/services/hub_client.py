"""An operator's client of a settlement hub: what it does over HTTP, with its own token and its own key.

Signing a statement with a local key: the client reads the statement from the hub
(`GET /api/v1/statements/{id}`: the canonical document and its digest), checks on its own side that the
document hashes to the digest and is the document shown (and, when the signer names one, that the digest is
the one it reviewed), signs the document's UTF-8 bytes with its Ed25519 key and sends `{key_id, signature,
digest}` to `POST /api/v1/statements/{id}/signatures`; the hub verifies the signature against the key
registered on the ledger. The private key never leaves the operator's side.

The operator's other calls: `status` (`GET /me` and `/cycles`), `statements` (`GET /statements`),
`declare` (`POST /declarations`, the usage file streamed up a megabyte at a time) and `events`
(`GET /events?after=N`, the feed's cursor). A period is checked here before anything is sent.

A hub's refusal (an RFC 9457 problem) becomes the matching `O2OError` with the hub's own one-line detail;
an unreachable hub, a non-JSON answer or an answer without the fields the API documents is one line too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from o2o.domain.errors import (
    InvalidTransitionError,
    NotFoundError,
    O2OError,
    SignatureError,
    ValidationError,
)
from o2o.domain.identity import AuthenticationError, PermissionDeniedError
from o2o.ledger.keys import HUB, Signer, read_private_key

API = "/api/v1"
TIMEOUT_S = 60.0
UPLOAD_PIECE = 1 << 20  # a usage file goes up a megabyte at a time, never whole in memory
# The hub's answer by status, as the domain's error (o2o.api's mapping, read the other way).
_BY_STATUS: dict[int, type[O2OError]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: InvalidTransitionError,
    422: ValidationError,
}


@dataclass(frozen=True, slots=True)
class RemoteSignature:
    """A signature made here and accepted by the hub."""

    statement: str
    operator: str
    key_id: str
    digest: str
    signature: str
    complete: bool
    obligations: tuple[str, ...]


class HubClient:
    """Calls to one hub with one bearer token (`transport`: e.g. an app served in-process, for tests)."""

    def __init__(self, url: str, token: str | None, transport: httpx.BaseTransport | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValidationError(f"--hub {url!r}: expected the hub's address, e.g. http://127.0.0.1:8000")
        if not token or not token.strip():
            raise ValidationError("no API token: give --token TOKEN or set O2O_HUB_TOKEN")
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token.strip()}", "Accept": "application/json"}
        self._http = httpx.Client(
            base_url=self.url, headers=headers, timeout=TIMEOUT_S, transport=transport, follow_redirects=False
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def get(self, path: str, params: Mapping[str, str | int] | None = None, what: str = "") -> Any:
        """The JSON answer of `GET /api/v1{path}` (`what` the caller asked, for an unreachable hub's error)."""
        with self._call("GET", path, what):
            response = self._http.get(API + path, params=params)
        return self._json(response, path)

    def post(self, path: str, body: Mapping[str, Any], what: str = "") -> Any:
        """The JSON answer of `POST /api/v1{path}` with the JSON `body`."""
        with self._call("POST", path, what):
            response = self._http.post(API + path, json=dict(body))
        return self._json(response, path)

    def upload(
        self, path: str, file: Path, content_type: str, params: Mapping[str, str | int], what: str = ""
    ) -> Any:
        """The JSON answer of `POST /api/v1{path}` with `file` as the body, streamed in pieces."""
        with self._call("POST", path, what), file.open("rb") as fh:
            body = iter(partial(fh.read, UPLOAD_PIECE), b"")
            response = self._http.post(
                API + path, params=params, content=body, headers={"Content-Type": content_type}
            )
        return self._json(response, path)

    def post_file(self, path: str, field: str, file: Path, what: str = "") -> Any:
        """The JSON answer of `POST /api/v1{path}` with `file` as the multipart form field `field`."""
        with self._call("POST", path, what), file.open("rb") as fh:
            response = self._http.post(API + path, files={field: (file.name, fh, "application/octet-stream")})
        return self._json(response, path)

    @contextmanager
    def _call(self, method: str, path: str, what: str) -> Iterator[None]:
        asked = f" to {what}" if what else f" ({method} {API}{path})"
        try:
            yield
        except httpx.TimeoutException:
            raise ValidationError(f"--hub {self.url}: no answer in {TIMEOUT_S:.0f} s{asked}") from None
        except httpx.HTTPError as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise ValidationError(f"--hub {self.url}: cannot reach the hub{asked}: {reason}") from None

    def _json(self, response: httpx.Response, path: str) -> Any:
        where = f"{response.request.method} {API}{path}"
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.is_success:
            if data is None:
                raise ValidationError(
                    f"--hub {self.url}: {where} answered {response.status_code} without JSON"
                )
            return data
        detail = data.get("detail") if isinstance(data, dict) else None
        if not isinstance(detail, str):  # e.g. FastAPI's list of request validation errors
            detail = json.dumps(detail) if detail is not None else response.reason_phrase
        error = _BY_STATUS.get(response.status_code, O2OError)
        if response.status_code == 422 and isinstance(data, dict) and "signature" in str(data.get("type")):
            error = SignatureError
        raise error(f"hub: {where}: {response.status_code} {' '.join(detail.split())}")


def _field(data: Any, name: str, where: str) -> Any:
    if not isinstance(data, dict) or name not in data:
        raise ValidationError(f"hub: {where}: the answer has no {name!r}")
    return data[name]


def sign_statement(
    client: HubClient,
    statement_id: str,
    key: Path,
    passphrase: bytes | None = None,
    reviewed: str | None = None,
) -> RemoteSignature:
    """Sign `statement_id` on the hub with the Ed25519 key in `key` (a PEM file of this side)."""
    operator = _operator(client, f"sign {statement_id}", "signs no statement")
    signer = _local_signer(key, operator, passphrase)
    path = f"/statements/{quote(statement_id, safe='')}"
    shown, canonical, actual = _checked_statement(client, statement_id, path)
    try:
        parsed = json.loads(canonical)
    except ValueError:
        raise SignatureError(f"statement {statement_id}: the hub's canonical text is not JSON") from None
    if "document" in shown and parsed != shown["document"]:
        raise SignatureError(
            f"statement {statement_id}: the hub's canonical text is not the document it shows"
        )
    _check_reviewed(statement_id, actual, reviewed, path)
    signature = signer.sign(canonical.encode())
    body = {"key_id": signer.key_id, "signature": signature, "digest": actual}
    done = client.post(f"{path}/signatures", body)
    obligations = _field(done, "obligations", f"POST {API}{path}/signatures")
    return RemoteSignature(
        statement_id, operator, signer.key_id, actual, signature, bool(_field(done, "complete", "POST")),
        tuple(str(o) for o in obligations or ()),
    )  # fmt: skip


def _checked_statement(client: HubClient, statement_id: str, path: str) -> tuple[dict[str, Any], str, str]:
    """The hub's statement (`GET path`), its canonical text and the digest that text hashes to, refused
    when the hub gives another digest."""
    shown = client.get(path)
    where = f"GET {API}{path}"
    canonical, digest = _field(shown, "canonical", where), _field(shown, "digest", where)
    if not isinstance(canonical, str) or not isinstance(digest, str):
        raise ValidationError(f"hub: {where}: canonical and digest are not text")
    actual = hashlib.sha256(canonical.encode()).hexdigest()
    if actual != digest.lower():
        raise SignatureError(
            f"statement {statement_id}: the hub's document hashes to {actual}, not to the digest it gives "
            f"({digest}); not signed"
        )
    return shown, canonical, actual


def _check_reviewed(statement_id: str, actual: str, reviewed: str | None, path: str) -> None:
    """Refuse to sign when the statement is no longer the one the caller reviewed (`--digest`)."""
    if reviewed is not None and reviewed.strip().lower() != actual:
        raise InvalidTransitionError(
            f"statement {statement_id} has changed: its digest is {actual}, you reviewed {reviewed.strip()}; "
            f"review it again (`o2o hub statements` or GET {API}{path})"
        )


def _chain_account(chain_key: Path, operator: str, passphrase: bytes | None) -> Any:
    """The operator's secp256k1 account from its chain key file (kept on this side)."""
    from o2o.chain.errors import ChainError
    from o2o.chain.keys import read_chain_key

    if chain_key.is_dir():
        raise ValidationError(f"--chain-key {chain_key}: is a folder, not a key file")
    try:
        return read_chain_key(chain_key, operator, passphrase)
    except ChainError as exc:
        raise ValidationError(f"--chain-key {chain_key}: {exc}") from None


@dataclass(frozen=True)
class RemoteChainSignature:
    statement: str
    operator: str
    address: str
    digest: str
    signature: str
    signed_by: tuple[str, ...]


def sign_statement_chain(
    client: HubClient,
    statement_id: str,
    chain_key: Path,
    passphrase: bytes | None = None,
    reviewed: str | None = None,
) -> RemoteChainSignature:
    """Sign `statement_id`'s EIP-712 `Statement` message for the hub's settlement contract with the
    secp256k1 key in `chain_key` (this side's `OP.chain.json`); only the signature is sent. The message is
    rebuilt here from the statement's digest (checked against its canonical text) and its id; the hub gives
    only the chain id and the contract it registers on."""
    from o2o.chain.settlement import subject_hash
    from o2o.chain.typed_data import STATEMENT_TYPE, sign_typed

    operator = _operator(client, f"sign {statement_id}", "signs no statement")
    account = _chain_account(chain_key, operator, passphrase)
    path = f"/statements/{quote(statement_id, safe='')}"
    _, _, actual = _checked_statement(client, statement_id, path)
    _check_reviewed(statement_id, actual, reviewed, path)
    typed = client.get(f"{path}/chain-typed-data")
    twhere = f"GET {API}{path}/chain-typed-data"
    chain_id, contract = _field(typed, "chain_id", twhere), _field(typed, "contract", twhere)
    if str(_field(typed, "digest", twhere)).lower() != actual:
        raise SignatureError(f"statement {statement_id}: {twhere} names another digest; not signed")
    if not isinstance(chain_id, int) or not isinstance(contract, str):
        raise ValidationError(f"hub: {twhere}: chain_id and contract are not a number and an address")
    raw = sign_typed(
        account, STATEMENT_TYPE, bytes.fromhex(actual), subject_hash(statement_id), chain_id, contract
    )
    signature = "0x" + raw.hex()
    done = client.post(f"{path}/chain-signatures", {"signature": signature})
    signed_by = _field(done, "signed_by", f"POST {API}{path}/chain-signatures")
    return RemoteChainSignature(
        statement_id, operator, account.address, actual, signature, tuple(str(o) for o in signed_by or ())
    )


@dataclass(frozen=True)
class RemoteRoundAcceptance:
    round: str
    operator: str
    address: str
    digest: str
    signature: str
    accepted_by: tuple[str, ...]
    participants: tuple[str, ...]


def accept_round_chain(
    client: HubClient, round_id: str, chain_key: Path, passphrase: bytes | None = None
) -> RemoteRoundAcceptance:
    """Accept netting round `round_id` on the hub's settlement contract: its EIP-712 `RoundAcceptance`
    message, rebuilt here from the round's digest the hub gives and the round's id (so the acceptance names
    no other round), signed with the secp256k1 key in `chain_key`; only the signature is sent."""
    from o2o.chain.settlement import subject_hash
    from o2o.chain.typed_data import ROUND_TYPE, sign_typed

    operator = _operator(client, f"accept netting round {round_id}", "accepts no netting round")
    account = _chain_account(chain_key, operator, passphrase)
    path = f"/netting-rounds/{quote(round_id, safe='')}"
    typed = client.get(f"{path}/chain-typed-data")
    where = f"GET {API}{path}/chain-typed-data"
    digest, chain_id = _field(typed, "digest", where), _field(typed, "chain_id", where)
    contract, members = _field(typed, "contract", where), _field(typed, "participants", where)
    if not isinstance(digest, str) or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValidationError(f"hub: {where}: digest is not 64 hexadecimal characters")
    if not isinstance(chain_id, int) or not isinstance(contract, str):
        raise ValidationError(f"hub: {where}: chain_id and contract are not a number and an address")
    raw = sign_typed(account, ROUND_TYPE, bytes.fromhex(digest), subject_hash(round_id), chain_id, contract)
    signature = "0x" + raw.hex()
    done = client.post(f"{path}/chain-signatures", {"signature": signature})
    accepted = _field(done, "accepted_by", f"POST {API}{path}/chain-signatures")
    return RemoteRoundAcceptance(
        round_id, operator, account.address, digest, signature, tuple(str(o) for o in accepted or ()),
        tuple(str(m) for m in members or ()),
    )  # fmt: skip


def _operator(client: HubClient, what: str, refused: str) -> str:
    """The token's operator (`GET /me`); the hub's administrator is refused: it `refused` (what it does not)."""
    operator = str(_field(client.get("/me", what=what), "operator", "GET /me"))
    if operator == HUB:
        raise PermissionDeniedError(f"the hub's administrator {refused}: use an operator's token")
    return operator


def _local_signer(key: Path, operator: str, passphrase: bytes | None) -> Signer:
    """The operator's signer from its own key file (read as the workspace's keys are)."""
    if key.is_dir():
        raise ValidationError(f"--key {key}: is a folder, not a key file")
    if not key.exists():
        raise NotFoundError(f"--key {key}: no such file")
    return read_private_key(key, operator, passphrase)


# --- what an operator's systems do besides signing: status, statements, declarations, events -------------


def status(client: HubClient, period: str | None) -> dict[str, Any]:
    """Who the token is (`GET /me`) and the state of its operator's cycles (`GET /cycles`, of `period`)."""
    per = check_period(period)
    me = client.get("/me", what="read who the token is")
    params = {"period": per} if per else None
    return {"me": me, "cycles": client.get("/cycles", params, what="read the cycles")}


def statements(client: HubClient, period: str | None) -> list[dict[str, Any]]:
    """The statements of the caller's agreements (`GET /statements`, of `period`)."""
    return _listed(client, "/statements", "period", check_period(period), "list the statements")


_CONTENT_TYPES = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet"}


def declare(
    client: HubClient,
    file: Path,
    agreement: str,
    period: str,
    service: str | None = None,
    fmt: str | None = None,
    replace: bool = False,
) -> dict[str, Any]:
    """Declare the caller's usage `file` (CSV or Parquet, clear or pseudonymised) for the agreement, period
    and service (`POST /declarations`, the file streamed as the body): the hub imports it as `o2o usage
    import` does. Its answer says whether it was new (`already_imported`) and what it replaced. A BWRP usage
    report (`bwrp`, a roaming agreement's) goes to `declare_roaming`; `replace` does not apply to it (a
    report always replaces the caller's earlier one, as `o2o usage import --format bwrp` does)."""
    from o2o.services.usage import ROAMING_FORMAT, detect_format

    per = check_period(period) or period
    if not file.is_file():
        raise ValidationError(f"{file}: no such file")
    kind = detect_format(file, fmt)
    if kind == ROAMING_FORMAT:
        if service:
            raise ValidationError(
                "--service does not go with --format bwrp "
                "(a BWRP usage report declares both directions of a roaming agreement)"
            )
        return declare_roaming(client, file, agreement, per)
    if kind not in _CONTENT_TYPES:
        raise ValidationError(f"{file}: the hub takes usage as csv, parquet or bwrp, not {kind}")
    params: dict[str, str | int] = {
        "agreement": agreement,
        "period": per,
        "format": kind,
        "filename": file.name,
    }
    if service:
        params["service"] = service
    if replace:
        params["replace"] = "true"
    what = f"declare {file.name} for --agreement {agreement} --period {per}"
    done = client.upload("/declarations", file, _CONTENT_TYPES[kind], params, what=what)
    if not isinstance(done, dict):
        raise ValidationError("hub: POST /declarations: the answer is not an object")
    return done


def declare_roaming(client: HubClient, file: Path, agreement: str, period: str) -> dict[str, Any]:
    """Declare the caller's BWRP usage report `file` for a roaming agreement and period
    (`POST /roaming-declarations`, streamed as the body): one declaration per direction, as `o2o usage import
    --format bwrp` makes them. Its answer lists them and says whether the report was new."""
    params: dict[str, str | int] = {"agreement": agreement, "period": period, "filename": file.name}
    what = f"declare {file.name} for --agreement {agreement} --period {period}"
    done = client.upload("/roaming-declarations", file, "application/json", params, what=what)
    if not isinstance(done, dict) or not isinstance(done.get("declarations"), list):
        raise ValidationError("hub: POST /roaming-declarations: the answer has no list of declarations")
    return done


def events(client: HubClient, after: int = -1, limit: int = 100) -> dict[str, Any]:
    """What happened to the caller's agreements after the cursor `after` (`GET /events`): a page of events,
    the next cursor and whether more are waiting."""
    if after < -1:
        raise ValidationError(f"--after {after}: a ledger position, or -1 for the start")
    page = client.get("/events", {"after": after, "limit": limit}, what=f"read the events after {after}")
    if not isinstance(page, dict) or not isinstance(page.get("events"), list):
        raise ValidationError("hub: GET /events: the answer has no list of events")
    return page


def check_period(period: str | None) -> str | None:
    """The period checked on this side (a bad one never goes to the hub), as `YYYY-MM`."""
    from o2o.domain.periods import Period

    return str(Period.parse(period)) if period else None


# --- disputes, evidence and payments ----------------------------------------------------------------------


def _quoted(value: str) -> str:
    return quote(value, safe="")


def _listed(client: HubClient, path: str, name: str, value: str | None, what: str) -> list[dict[str, Any]]:
    """The list `GET {path}` answers, filtered by `name=value` when a value is given."""
    found = client.get(path, {name: value} if value else None, what=what)
    if not isinstance(found, list):
        raise ValidationError(f"hub: GET {path}: the answer is not a list")
    return found


def _object(data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationError(f"hub: {where}: the answer is not an object")
    return data


def disputes(client: HubClient, state: str | None = None) -> list[dict[str, Any]]:
    """The disputes between the caller and its counterparties (`GET /disputes`, in `state`)."""
    return _listed(client, "/disputes", "state", state, "list the disputes")


def dispute(client: HubClient, dispute_id: str) -> dict[str, Any]:
    """One dispute with its figures, proposals and evidence (`GET /disputes/{id}`)."""
    path = f"/disputes/{_quoted(dispute_id)}"
    return _object(client.get(path, what=f"read dispute {dispute_id}"), f"GET {API}{path}")


def propose(client: HubClient, dispute_id: str, amount: str | None, note: str = "") -> dict[str, Any]:
    """Propose `amount` for the disputed line (None: split the difference) (`POST …/proposals`)."""
    check_amount(amount)
    path = f"/disputes/{_quoted(dispute_id)}/proposals"
    done = client.post(path, {"amount": amount, "note": note}, what=f"propose on dispute {dispute_id}")
    return _object(done, f"POST {API}{path}")


def concede(client: HubClient, dispute_id: str, amount: str, note: str = "") -> dict[str, Any]:
    """Split: accept `amount` of the contested amount, contest the rest (`POST …/concessions`)."""
    check_amount(amount)
    path = f"/disputes/{_quoted(dispute_id)}/concessions"
    done = client.post(path, {"amount": amount, "note": note}, what=f"split dispute {dispute_id}")
    return _object(done, f"POST {API}{path}")


def check_amount(amount: str | None) -> None:
    """A proposed amount checked on this side (the hub checks it against the currency's minor unit)."""
    if amount is None:
        return
    from decimal import Decimal, InvalidOperation

    try:
        value = Decimal(amount)
    except InvalidOperation:
        raise ValidationError(f"--amount {amount!r}: not a decimal amount") from None
    if not value.is_finite() or value < 0:
        raise ValidationError(f"--amount {amount!r}: not an amount of money")


def answer(client: HubClient, dispute_id: str, verdict: str) -> dict[str, Any]:
    """Accept or reject the counterparty's latest proposal (`POST /disputes/{id}/accept|reject`)."""
    if verdict not in ("accept", "reject"):
        raise ValidationError(f"{verdict!r}: accept or reject")
    path = f"/disputes/{_quoted(dispute_id)}/{verdict}"
    return _object(client.post(path, {}, what=f"{verdict} on dispute {dispute_id}"), f"POST {API}{path}")


def evidence(client: HubClient, statement_id: str, out: Path, limit: int = 1000) -> list[Path]:
    """The evidence of the statement's disputed lines (`GET /statements/{id}/evidence`) written into the
    folder `out`: the answer as `ST.evidence.json`, and per disputed line its differing records as
    `ST.SERVICE.records.csv`. The files written."""
    import csv

    if out.exists() and not out.is_dir():
        raise ValidationError(f"--out {out}: is a file, not a folder")
    path = f"/statements/{_quoted(statement_id)}/evidence"
    data = _object(
        client.get(path, {"limit": limit}, what=f"read the evidence of {statement_id}"), f"GET {API}{path}"
    )
    lines = _field(data, "lines", f"GET {API}{path}")
    if not isinstance(lines, list):
        raise ValidationError(f"hub: GET {API}{path}: its lines are not a list")
    out.mkdir(parents=True, exist_ok=True)
    safe = _file_part(statement_id)
    written = [out / f"{safe}.evidence.json"]
    written[0].write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    for line in lines:
        records = line.get("records") if isinstance(line, dict) else None
        if not records:
            continue
        target = out / f"{safe}.{_file_part(str(line.get('service')))}.records.csv"
        columns = list(dict.fromkeys(k for r in records for k in r))
        with target.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            writer.writerows(records)
        written.append(target)
    return written


def _file_part(value: str) -> str:
    """`value` as part of a file name: letters, digits, `-`, `_` and `.` kept, anything else `_`."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in value).strip(".") or "_"


def payments(client: HubClient, status: str | None = None) -> list[dict[str, Any]]:
    """The payment instructions the caller pays or receives (`GET /payments`)."""
    return _listed(client, "/payments", "status", status, "list the payments")


def confirm_payment(client: HubClient, payment_id: str, reference: str) -> dict[str, Any]:
    """The payee confirms the money arrived, with the bank's reference (`POST /payments/{id}/confirm`)."""
    if not reference.strip():
        raise ValidationError("--reference: the bank's reference of the payment, not empty")
    path = f"/payments/{_quoted(payment_id)}/confirm"
    done = client.post(path, {"reference": reference.strip()}, what=f"confirm payment {payment_id}")
    return _object(done, f"POST {API}{path}")


# --- keys: made on the operator's side, the public half registered -----------------------------------------


def register_key(client: HubClient, key: Path, passphrase: bytes | None = None) -> dict[str, Any]:
    """Submit the public half of the caller's key in `key` (`POST /keys`) with the proof of possession: the
    key's signature over its registration message. The request waits for the hub's admin."""
    from o2o.ledger.key_history import registration_message

    operator = _operator(client, "register a key", "registers no operator key")
    signer = _local_signer(key, operator, passphrase)
    possession = signer.sign(registration_message(operator, signer.key_id, signer.public_key))
    body = {"public_key": signer.public_key, "possession": possession}
    return _object(client.post("/keys", body, what="register a key"), f"POST {API}/keys")
