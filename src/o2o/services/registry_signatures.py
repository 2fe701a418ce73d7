"""Operators' EIP-712 signatures of a statement, made on their own side and sent to the hub.

On an evm workspace the settlement contract registers a statement only with both parties' EIP-712 signatures
of `Statement(bytes32 digest,bytes32 subject)` (the statement's digest, the hash of its id), checked on chain
with `ecrecover`. The hub holds no operator's chain key: `chain_typed_data` gives an operator the exact typed
data to sign (domain: this workspace's chain id and contract), `submit_chain_signature` takes the signature
back, recovers its address and keeps it only when it is the operator's chain address registered on the
ledger (`chain.key.registered`, what the contract knows it by), registering it as a `statement.chain_signed`
entry. The publisher (`registry_chain.EvmRegistry.publish`) uses these; it falls back to a key in
`$O2O_HOME/keys` only when a party sent none (the local, single-workspace mode, where the folder holds every
operator's key).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from o2o.bootstrap import Workspace
from o2o.domain.errors import InvalidTransitionError, NotFoundError, SignatureError
from o2o.domain.identity import Actor
from o2o.services.cycle_common import hub_signer, register
from o2o.services.hub_policy import statement_for
from o2o.services.registered_record import OBLIGATION_KINDS, ROUND_KIND
from o2o.services.registry import CHAIN_KEY_KIND, RegistryConfig, registry_mode

CHAIN_SIGNED = "statement.chain_signed"
ROUND_ACCEPTED = "round.chain_accepted"  # the same as `o2o.chain.settlement.ROUND_ACCEPTED`


def _config(ws: Workspace) -> RegistryConfig:
    cfg = RegistryConfig.load(ws)
    if registry_mode(ws) != "evm" or not cfg.contract:
        raise NotFoundError(
            "this hub registers statements on no settlement contract (its registry is not evm, or not "
            "deployed): no chain signature is needed"
        )
    return cfg


def _typed(kind: str, digest: str, subject: str, cfg: RegistryConfig) -> tuple[bytes, dict[str, Any]]:
    """The EIP-712 hash and message of a statement (`kind` "statement") or a netting round ("round")."""
    from o2o.chain.settlement import subject_hash
    from o2o.chain.typed_data import ROUND_TYPE, STATEMENT_TYPE, typed_hash, typed_message

    primary = {"statement": STATEMENT_TYPE, "round": ROUND_TYPE}[kind]
    raw, subj = bytes.fromhex(digest), subject_hash(subject)
    message = typed_message(primary, raw, subj, cfg.chain_id, cfg.contract)
    message["message"] = {"digest": "0x" + raw.hex(), "subject": "0x" + subj.hex()}
    return typed_hash(primary, raw, subj, cfg.chain_id, cfg.contract), message


def chain_typed_data(ws: Workspace, actor: Actor, statement_id: str) -> dict[str, Any]:
    """What the caller's operator signs with its chain key (EIP-712, eth_signTypedData_v4) for the
    statement to be registered on the settlement contract, and whose signatures the hub already holds."""
    with ws.uow() as uow:
        st = statement_for(uow, actor, statement_id)
        book = _address_book(uow)
        held = _held(uow, st.id, st.digest)
    cfg = _config(ws)
    digest, message = _typed("statement", st.digest, st.id, cfg)
    return {
        "statement": st.id,
        "digest": st.digest,
        "chain_id": cfg.chain_id,
        "contract": cfg.contract,
        "typed_data": message,
        "hash": "0x" + digest.hex(),
        "signer": book.get(actor.operator or ""),
        "signed_by": sorted(held),
    }


def submit_chain_signature(ws: Workspace, actor: Actor, statement_id: str, signature: str) -> dict[str, Any]:
    """Keep the caller's operator's EIP-712 signature of the statement, once its address is the operator's
    registered chain address; registered on the ledger by the hub, naming the caller. Sending the same
    signature again changes nothing."""
    from eth_account import Account
    from eth_typing import Hash32

    operator = actor.acting_operator()
    with ws.uow() as uow:
        statement_for(uow, actor, statement_id)  # a foreign statement is unknown, whatever else is wrong
    cfg = _config(ws)
    hub = hub_signer(ws)
    text = signature.strip().lower().removeprefix("0x")
    if len(text) != 130 or any(c not in "0123456789abcdef" for c in text):
        raise SignatureError("signature: an EIP-712 signature is 65 bytes (130 hexadecimal characters)")
    with ws.uow() as uow:
        st = statement_for(uow, actor, statement_id)
        if operator not in json.loads(st.document)["parties"]:
            raise InvalidTransitionError(f"{operator} is not a party to statement {st.id}")
        registered = _address_book(uow).get(operator)
        if registered is None:
            raise SignatureError(
                f"{operator} has no chain address registered on the ledger (`o2o keys generate {operator} "
                "--chain`, its address admitted to the contract)"
            )
        digest, _ = _typed("statement", st.digest, st.id, cfg)
        try:
            signer = Account._recover_hash(Hash32(digest), signature=bytes.fromhex(text))
        except Exception:
            raise SignatureError("signature: not a valid secp256k1 signature (r, s, v)") from None
        if signer.lower() != registered.lower():
            raise SignatureError(
                f"the chain signature of {operator} over statement {st.id} was made by {signer}, not by its "
                f"registered chain address {registered}"
            )
        held = _held(uow, st.id, st.digest)
        if operator not in held:
            payload = {
                "digest": st.digest, "operator": operator, "address": registered, "signature": "0x" + text,
                **actor.provenance(),
            }  # fmt: skip
            register(uow, hub, CHAIN_SIGNED, st.id, payload)
            uow.commit()
            held[operator] = "0x" + text
    return {"statement": st.id, "operator": operator, "address": registered, "signed_by": sorted(held)}


def _address_book(uow: Any) -> dict[str, str]:
    entries = uow.ledger_store.latest_by_subject([CHAIN_KEY_KIND], None)
    return {op: str(e.payload["address"]) for op, e in entries.items()}


def _kept(uow: Any, kind: str, subject: str, digest: str) -> dict[str, str]:
    """operator → the chain signature of `kind` (a statement's, a round's acceptance) of `subject` at `digest`
    that the hub holds, the first kept for each operator."""
    out: dict[str, str] = {}
    for entry in uow.ledger_store.entries_of([kind], subject):
        if entry.payload["digest"] == digest:
            out.setdefault(str(entry.payload["operator"]), str(entry.payload["signature"]))
    return out


def _held(uow: Any, statement_id: str, digest: str) -> dict[str, str]:
    """The parties whose chain signature of the statement at `digest` the hub holds."""
    return _kept(uow, CHAIN_SIGNED, statement_id, digest)


def _stored(entries: Any, kind: str) -> dict[tuple[str, str, str], bytes]:
    """(subject, digest, operator) → the EIP-712 signature of every ledger entry of `kind`."""
    out: dict[tuple[str, str, str], bytes] = {}
    for entry in entries:
        if entry.kind == kind:
            p = entry.payload
            key = (entry.subject, str(p["digest"]), str(p["operator"]))
            out.setdefault(key, bytes.fromhex(str(p["signature"]).removeprefix("0x")))
    return out


def stored_signatures(entries: Any) -> dict[tuple[str, str, str], bytes]:
    """(statement id, digest, operator) → its EIP-712 signature, from the ledger's `statement.chain_signed`."""
    return _stored(entries, CHAIN_SIGNED)


# Netting rounds: the hub registers a round on the contract, each participant accepts it with its EIP-712
# signature of `RoundAcceptance(bytes32 digest,bytes32 subject)` (the round's ledger fact digest, the hash of
# its id), which the contract checks with `ecrecover`; each acceptance is relayed as it arrives.


def _round(uow: Any, actor: Actor, round_id: str) -> tuple[str, list[str]]:
    """The round's fact digest (hex) and its participants; a round the caller's operator has no part in
    answers as a round that does not exist. Its members are its set-off obligations' parties as registered
    before the round's entry (each obligation's entries have its id as subject), read by subject."""
    from o2o.chain.settlement import Translator
    from o2o.ledger.entries import fact_digest

    unknown = NotFoundError(f"unknown netting round {round_id!r}")
    rounds = uow.ledger_store.entries_of([ROUND_KIND], round_id)
    if not rounds:
        raise unknown
    entry = rounds[0]
    setoffs = [str(so["obligation"]) for so in entry.payload.get("setoffs", []) if isinstance(so, Mapping)]
    seen = Translator(address=lambda op: op)
    for ob in uow.ledger_store.entries_of(OBLIGATION_KINDS, subjects=setoffs, before=entry.seq):
        seen.obligations[str(ob.payload["id"])] = ob.payload
    members = seen.round_members(entry.payload, f"netting round {round_id}")
    if actor.operator is not None and actor.operator not in members:
        raise unknown
    return fact_digest(entry.kind, entry.subject, entry.payload).hex(), members


def round_typed_data(ws: Workspace, actor: Actor, round_id: str) -> dict[str, Any]:
    """What the caller's operator signs with its chain key (EIP-712) to accept the netting round on the
    settlement contract, the round's participants, and whose acceptances the hub already holds."""
    cfg = _config(ws)  # first: a hub that is not evm never loads the chain's libraries
    with ws.uow() as uow:
        digest, members = _round(uow, actor, round_id)
        book = _address_book(uow)
        held = _accepted(uow, round_id, digest)
    hashed, message = _typed("round", digest, round_id, cfg)
    return {
        "round": round_id,
        "digest": digest,
        "chain_id": cfg.chain_id,
        "contract": cfg.contract,
        "typed_data": message,
        "hash": "0x" + hashed.hex(),
        "signer": book.get(actor.operator or ""),
        "participants": members,
        "accepted_by": sorted(held),
    }


def submit_round_acceptance(ws: Workspace, actor: Actor, round_id: str, signature: str) -> dict[str, Any]:
    """Keep the caller's operator's EIP-712 acceptance of the round once it recovers to the operator's
    registered chain address; registered on the ledger by the hub (`round.chain_accepted`), naming the
    caller. Sending it again changes nothing."""
    from eth_account import Account
    from eth_typing import Hash32

    operator = actor.acting_operator()
    cfg = _config(ws)  # first: a hub that is not evm never loads the chain's libraries (404 all the same)
    with ws.uow() as uow:
        _round(uow, actor, round_id)  # a foreign round is unknown, whatever else is wrong
    hub = hub_signer(ws)
    text = _signature_hex(signature)
    with ws.uow() as uow:
        digest, _members = _round(uow, actor, round_id)
        registered = _address_book(uow).get(operator)
        if registered is None:
            raise SignatureError(
                f"{operator} has no chain address registered on the ledger (`o2o keys generate {operator} "
                "--chain`, its address admitted to the contract)"
            )
        hashed, _ = _typed("round", digest, round_id, cfg)
        try:
            signer = Account._recover_hash(Hash32(hashed), signature=bytes.fromhex(text))
        except Exception:
            raise SignatureError("signature: not a valid secp256k1 signature (r, s, v)") from None
        if signer.lower() != registered.lower():
            raise SignatureError(
                f"the acceptance of {operator} of netting round {round_id} was signed by {signer}, not by its "
                f"registered chain address {registered}"
            )
        held = _accepted(uow, round_id, digest)
        if operator not in held:
            payload = {
                "digest": digest, "operator": operator, "address": registered, "signature": "0x" + text,
                **actor.provenance(),
            }  # fmt: skip
            register(uow, hub, ROUND_ACCEPTED, round_id, payload)
            uow.commit()
            held[operator] = "0x" + text
    return {"round": round_id, "operator": operator, "address": registered, "accepted_by": sorted(held)}


def _signature_hex(signature: str) -> str:
    text = signature.strip().lower().removeprefix("0x")
    if len(text) != 130 or any(c not in "0123456789abcdef" for c in text):
        raise SignatureError("signature: an EIP-712 signature is 65 bytes (130 hexadecimal characters)")
    return text


def _accepted(uow: Any, round_id: str, digest: str) -> dict[str, str]:
    """The participants whose acceptance of the round at `digest` the hub holds."""
    return _kept(uow, ROUND_ACCEPTED, round_id, digest)


def stored_acceptances(entries: Any) -> dict[tuple[str, str, str], bytes]:
    """(round id, its fact digest, operator) → its EIP-712 acceptance, from the ledger's `round.chain_accepted`."""
    return _stored(entries, ROUND_ACCEPTED)
