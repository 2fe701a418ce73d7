"""Commands of the ledger: `keys generate|rotate|revoke`, `ledger head|proof|export|verify`.

Thin: each parses options, calls `o2o.services.ledger` and renders. `ledger verify` exits 1 when it finds
tampering (after printing every finding); with `--export` and `--keys` it needs no workspace at all; with
`--store` it also audits the database against the ledger (`o2o.services.store_audit`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from o2o.cli.context import workspace
from o2o.cli.output import console, print_json, print_table
from o2o.cli.passphrase import PassphraseEnvOpt, PassphraseFileOpt, passphrase
from o2o.domain.errors import ValidationError
from o2o.services import ledger as svc

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]

keys_app = typer.Typer(help="Signing keys of operators and of the hub.", no_args_is_help=True)
ledger_app = typer.Typer(
    help="The tamper-evident ledger: heads, proofs, export, verification.", no_args_is_help=True
)


@keys_app.command("generate")
def keys_generate(
    operator: Annotated[str, typer.Argument(help="Operator id, or HUB for the settlement hub.")],
    passphrase_file: PassphraseFileOpt = None,
    passphrase_env: PassphraseEnvOpt = None,
    chain: Annotated[
        bool,
        typer.Option("--chain", help="A secp256k1 key for the settlement chain, beside the Ed25519 key."),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Make an Ed25519 key pair: the private key stays in the workspace (0600), the public key registered.

    Refused while the party has a valid key: replace that with `keys rotate`, or after the hub's `keys revoke`.
    With --chain: a secp256k1 key (OP.chain.json, 0600) whose address the ledger key registers.
    """
    secret = passphrase(passphrase_file, passphrase_env)
    if chain:
        from o2o.services.registry import generate_chain_key

        made = generate_chain_key(workspace(), operator, secret)
        if json_out:
            print_json(made)
        else:
            console.print(
                f"chain key of {operator}: address {made['address']}; private key at {made['chain_key']}"
            )
        return
    record, path = svc.generate_key(workspace(), operator, secret)
    info = {**record.to_dict(), "private_key": str(path), "encrypted": secret is not None}
    if json_out:
        print_json(info)
    else:
        console.print(f"key {record.key_id} of {record.operator} registered; private key at {path}")


def _key_change_out(result: svc.KeyChangeResult, json_out: bool) -> None:
    data = result.to_dict()
    if json_out:
        print_json(data)
        return
    if result.new is not None:
        line = f"key of {data['operator']} rotated from {data['old_key_id']} to {data['key_id']}"
    else:
        line = f"key {data['old_key_id']} of {data['operator']} revoked ({data['reason']})"
    console.print(f"{line} at entry {data['seq']}", markup=False, highlight=False)
    if data["retired_to"]:
        console.print(f"the old private key moved to {data['retired_to']}", markup=False, highlight=False)


@keys_app.command("rotate")
def keys_rotate(
    operator: Annotated[str, typer.Argument(help="Operator id, or HUB.")],
    passphrase_file: PassphraseFileOpt = None,
    passphrase_env: PassphraseEnvOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Replace a key: the old key signs the new one on the ledger and the hub co-signs.

    The new key takes the old key's passphrase (if it had one); the old key signs nothing more.
    """
    result = svc.rotate_key(workspace(), operator, passphrase(passphrase_file, passphrase_env))
    _key_change_out(result, json_out)


@keys_app.command("revoke")
def keys_revoke(
    operator: Annotated[str, typer.Argument(help="Operator id, or HUB.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the key is revoked (registered).")],
    passphrase_file: PassphraseFileOpt = None,
    passphrase_env: PassphraseEnvOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The hub revokes a party's key (lost, leaked, …); the party may then `keys generate` a new one.

    The passphrase options give the hub's passphrase.
    """
    result = svc.revoke_key(workspace(), operator, reason, passphrase(passphrase_file, passphrase_env))
    _key_change_out(result, json_out)


@ledger_app.command("head")
def ledger_head(
    out: Annotated[
        Path | None, typer.Option("--out", help="Also save the head (keep it to audit later).")
    ] = None,
    passphrase_file: PassphraseFileOpt = None,
    passphrase_env: PassphraseEnvOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The signed tree head of the whole ledger (signed now if the hub's key is in the workspace)."""
    head = svc.current_head(workspace(), passphrase(passphrase_file, passphrase_env))
    if out is not None:
        out.write_text(head.to_json() + "\n", encoding="utf-8")
    if json_out:
        print_json(head.to_dict())
    else:
        print_table("tree head", ["field", "value"], head.to_dict().items())


@ledger_app.command("proof")
def ledger_proof(
    seq: Annotated[int, typer.Argument(help="Sequence number of the entry.")],
    since_size: Annotated[
        int | None, typer.Option("--since-size", help="Also prove the head extends the tree of this size.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Also save the proof bundle as JSON.")] = None,
    passphrase_file: PassphraseFileOpt = None,
    passphrase_env: PassphraseEnvOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """An entry with its inclusion proof in the current signed tree head (RFC 9162)."""
    bundle = svc.prove_entry(workspace(), seq, since_size, passphrase(passphrase_file, passphrase_env))
    data = bundle.to_dict()
    if out is not None:
        from o2o.cli.output import to_json

        out.write_text(to_json(data) + "\n", encoding="utf-8")
    if json_out:
        print_json(data)
        return
    e, head = bundle.entry, bundle.head
    console.print(f"entry {e.seq}: {e.kind} {e.subject} by {e.actor} at {e.time}")
    console.print(f"leaf hash {bundle.inclusion.leaf_hash}")
    console.print(f"in tree head of {head.tree_size} entries, root {head.root_hash}")
    print_table("inclusion proof", ["#", "hash"], enumerate(bundle.inclusion.path))
    if bundle.consistency is not None:
        c = bundle.consistency
        print_table(f"consistency proof {c.old_size} → {c.new_size}", ["#", "hash"], enumerate(c.path))


@ledger_app.command("export")
def ledger_export(
    out: Annotated[Path, typer.Option("--out", help="The JSONL file to write.")],
    keys_out: Annotated[
        Path | None, typer.Option("--keys-out", help="Also write the registered public keys (JSON).")
    ] = None,
    passphrase_file: PassphraseFileOpt = None,
    passphrase_env: PassphraseEnvOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Export every entry and signed tree head, for an audit without the hub's database."""
    info = svc.export_ledger(workspace(), out, keys_out, passphrase(passphrase_file, passphrase_env))
    if keys_out is not None:
        info["keys_out"] = str(keys_out)
    if json_out:
        print_json(info)
    else:
        console.print(
            f"exported {info['entries']} entries and {info['tree_heads']} tree heads to {out} "
            f"(signed up to entry {info['covered']})"
        )


def _render_report(data: dict[str, Any]) -> None:
    if data["ok"]:
        console.print(
            f"[green]ledger verified[/green]: {data['entries']} entries, root {data['root_hash']}, "
            f"{data['heads_checked']} tree heads checked"
        )
    else:
        console.print(f"[red]ledger NOT verified[/red]: {len(data['findings'])} findings")
        rows = [(f["kind"], "" if f["seq"] is None else f["seq"], f["message"]) for f in data["findings"]]
        print_table("findings", ["kind", "seq", "message"], rows[:50])
    for note in data["notes"]:
        console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)


@ledger_app.command("verify")
def ledger_verify(
    export: Annotated[Path | None, typer.Option("--export", help="Verify this export instead.")] = None,
    keys: Annotated[
        Path | None, typer.Option("--keys", help="Trusted public keys (JSON); default: the workspace's.")
    ] = None,
    since_head: Annotated[
        Path | None,
        typer.Option("--since-head", help="A tree head kept earlier: prove history was not rewritten."),
    ] = None,
    store: Annotated[
        bool,
        typer.Option(
            "--store",
            help="Also check the store's statements, obligations, set-offs and payments against the ledger.",
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Check hashes, signatures, chain, sequence and tree heads; name every kind of tampering found.
    With --store, also compare what the database holds with what the ledger registered."""
    if store and export is not None:
        raise ValidationError("--store audits the workspace's database: it cannot be combined with --export")
    ws = None if export is not None and keys is not None else workspace()
    report = svc.verify(ws, export, keys, since_head)
    data = report.to_dict()
    audit = None
    if store and ws is not None:
        from o2o.services.store_audit import audit_store

        audit = audit_store(ws)
        data["store"] = audit.to_dict()
    if json_out:
        print_json(data)
    else:
        _render_report(data)
        if audit is not None:
            _render_audit(data["store"])
    failure = svc.verification_failure(report, audit)
    if failure is not None:
        raise failure


def _render_audit(data: dict[str, Any]) -> None:
    checked = ", ".join(f"{n} {what}" for what, n in data["checked"].items())
    if data["ok"]:
        console.print(f"[green]store verified[/green] against the ledger: {checked}")
        return
    console.print(
        f"[red]store NOT verified[/red] against the ledger: {len(data['findings'])} findings ({checked})"
    )
    # One plain line per finding (no table): ids and figures stay whole however narrow the terminal.
    for finding in data["findings"]:
        console.print(f"store: {finding['message']}", markup=False, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
    app.add_typer(ledger_app, name="ledger")
