"""The hub client checks what it signs on its own side: a hub answering a document that does not hash to
the digest it gives, or a canonical text other than the document it shows, gets no signature at all; what
it sends is the party's Ed25519 signature over the canonical bytes. (An httpx mock transport plays the hub;
tests/e2e/test_statement_sign_hub.py runs the real one.)"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from o2o.domain.errors import InvalidTransitionError, SignatureError, ValidationError
from o2o.ledger.keys import Signer, write_private_key
from o2o.services import hub_client

DOCUMENT = {
    "id": "ST-1",
    "lines": [{"service": "voice", "agreed_amount": "12.30"}],
    "parties": ["ALFA", "BRAVO"],
}
CANONICAL = json.dumps(DOCUMENT, sort_keys=True, separators=(",", ":"))


def _hub(statement: dict[str, Any], posted: list[dict[str, Any]]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "Bearer tok"
        if request.url.path == "/api/v1/me":
            return httpx.Response(200, json={"operator": "ALFA"})
        if request.method == "GET" and request.url.path == "/api/v1/statements/ST-1":
            return httpx.Response(200, json=statement)
        if request.method == "POST" and request.url.path == "/api/v1/statements/ST-1/signatures":
            posted.append(json.loads(request.content))
            return httpx.Response(201, json={"statement": "ST-1", "operator": "ALFA", "complete": False,
                                             "obligations": []})  # fmt: skip
        return httpx.Response(404, json={"title": "Not Found", "status": 404, "detail": "unknown"})

    return httpx.MockTransport(answer)


def _key(tmp_path: Path) -> tuple[Path, Signer]:
    signer = Signer.generate("ALFA")
    write_private_key(tmp_path / "alfa.pem", signer)
    return tmp_path / "alfa.pem", signer


def _sign(
    statement: dict[str, Any], key: Path, posted: list[dict[str, Any]], reviewed: str | None = None
) -> Any:
    with hub_client.HubClient("http://hub.test", "tok", transport=_hub(statement, posted)) as client:
        return hub_client.sign_statement(client, "ST-1", key, reviewed=reviewed)


def test_the_signature_sent_is_over_the_canonical_bytes(tmp_path: Path) -> None:
    key, signer = _key(tmp_path)
    digest = hashlib.sha256(CANONICAL.encode()).hexdigest()
    posted: list[dict[str, Any]] = []
    done = _sign({"canonical": CANONICAL, "digest": digest, "document": DOCUMENT}, key, posted, digest)
    (body,) = posted
    assert body == {"key_id": signer.key_id, "signature": done.signature, "digest": digest}
    public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(signer.public_key))
    public.verify(bytes.fromhex(body["signature"]), CANONICAL.encode())  # raises if not


@pytest.mark.parametrize(
    ("statement", "says"),
    [
        ({"canonical": CANONICAL, "digest": "0" * 64, "document": DOCUMENT}, "hashes to"),
        ({"canonical": CANONICAL.replace("12.30", "99.99"),
          "digest": hashlib.sha256(CANONICAL.replace("12.30", "99.99").encode()).hexdigest(),
          "document": DOCUMENT}, "not the document it shows"),
        ({"canonical": "{not json", "digest": hashlib.sha256(b"{not json").hexdigest()}, "not JSON"),
    ],
)  # fmt: skip
def test_a_document_that_is_not_what_the_hub_says_gets_no_signature(
    tmp_path: Path, statement: dict[str, Any], says: str
) -> None:
    key, _ = _key(tmp_path)
    posted: list[dict[str, Any]] = []
    with pytest.raises(SignatureError, match=says):
        _sign(statement, key, posted)
    assert posted == []


def test_a_digest_other_than_the_one_reviewed_gets_no_signature(tmp_path: Path) -> None:
    key, _ = _key(tmp_path)
    posted: list[dict[str, Any]] = []
    digest = hashlib.sha256(CANONICAL.encode()).hexdigest()
    with pytest.raises(InvalidTransitionError, match="has changed"):
        _sign({"canonical": CANONICAL, "digest": digest, "document": DOCUMENT}, key, posted, "1" * 64)
    assert posted == []


def test_a_hub_address_and_a_token_are_checked_before_any_call() -> None:
    with pytest.raises(ValidationError, match="expected the hub's address"):
        hub_client.HubClient("hub.test:8000", "tok")
    with pytest.raises(ValidationError, match="O2O_HUB_TOKEN"):
        hub_client.HubClient("http://hub.test", None)
