"""Writing TAP and RAP files with a grammar: the inverse of the reader, for tests, benchmarks and samples.

`write_transfer_batch` writes a TransferBatch of `TapEvent`s under a `BatchContext`: each call event is
encoded by asn1tools on its own and the outer TLVs are written by hand, so a file of any size streams
out. With `indefinite=True` the TransferBatch and its CallEventDetailList are written with indefinite
lengths (closed by end-of-contents octets), as some senders do; otherwise both lengths are worked out
first (the events are encoded twice, once to measure). The audit control totals are the events' own
unless `audit` overrides them. `write_return_batch` writes a RAP ReturnBatch of severe returns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from o2o.tap3.events import DEFAULT_TAP_CURRENCY, BatchContext, EventKind, TapEvent
from o2o.tap3.grammar import Grammar

_TRANSFER_BATCH, _EVENT_LIST = b"\x61", b"\x63"


def length_octets(length: int) -> bytes:
    if length < 0x80:
        return bytes((length,))
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def bcd(digits: str) -> bytes:
    """Digits as a TAP BCDString (high nibble first, padded with F)."""
    return bytes.fromhex(digits + "f" * (len(digits) % 2))


def _long_time(local: str, offset: str) -> dict[str, bytes]:
    return {"localTimeStamp": local.encode(), "utcTimeOffset": offset.encode()}


def _scaled(rate: Decimal) -> tuple[int, int]:
    """An exchange rate as (decimal places, integer)."""
    exponent = rate.as_tuple().exponent
    places = max(0, -exponent) if isinstance(exponent, int) else 0
    return places, int(rate.scaleb(places))


def header_values(ctx: BatchContext, created: str = "20260101000000") -> dict[str, Any]:
    """The TransferBatch's BatchControlInfo, AccountingInfo and NetworkInfo values for `ctx`."""
    first_offset = next(iter(ctx.utc_offset_texts.values()), "+0000")
    stamp = _long_time(created, first_offset)
    control: dict[str, Any] = {
        "sender": ctx.sender.encode(),
        "recipient": ctx.recipient.encode(),
        "fileSequenceNumber": ctx.file_sequence.encode(),
        "fileCreationTimeStamp": stamp,
        "transferCutOffTimeStamp": stamp,
        "fileAvailableTimeStamp": stamp,
    }
    if ctx.specification is not None:
        control["specificationVersionNumber"] = ctx.specification
    if ctx.release is not None:
        control["releaseVersionNumber"] = ctx.release
    accounting: dict[str, Any] = {"tapDecimalPlaces": ctx.decimal_places}
    if ctx.local_currency is not None:
        accounting["localCurrency"] = ctx.local_currency.encode()
    if ctx.tap_currency != DEFAULT_TAP_CURRENCY:
        accounting["tapCurrency"] = ctx.tap_currency.encode()
    if ctx.exchange_rates:
        accounting["currencyConversionInfo"] = [
            {"exchangeRateCode": code, "numberOfDecimalPlaces": places, "exchangeRate": value}
            for code, (places, value) in ((c, _scaled(r)) for c, r in ctx.exchange_rates.items())
        ]
    network = {
        "utcTimeOffsetInfo": [
            {"utcTimeOffsetCode": code, "utcTimeOffset": text.encode()}
            for code, text in ctx.utc_offset_texts.items()
        ]
    }
    return {"batchControlInfo": control, "accountingInfo": accounting, "networkInfo": network}


def _charge_information(event: TapEvent, item: str) -> list[dict[str, Any]]:
    info: dict[str, Any] = {
        "chargedItem": item.encode(),
        "chargeDetailList": [{"chargeType": b"00", "charge": event.charge_units}],
    }
    if event.exchange_rate_code is not None:
        info["exchangeRateCode"] = event.exchange_rate_code
    if event.tax_units:
        info["taxInformation"] = [{"taxCode": 1, "taxValue": event.tax_units}]
    return [info]


def event_value(event: TapEvent, offset_codes: dict[str, int]) -> tuple[str, dict[str, Any]]:
    """`event` as a CallEventDetail value (asn1tools' `(choice, value)`); `offset_codes` maps the
    batch's UTC offsets as written to their codes."""
    sim: dict[str, Any] = {}
    if event.imsi is not None:
        sim["imsi"] = bcd(event.imsi)
    if event.msisdn is not None:
        sim["msisdn"] = bcd(event.msisdn)
    subscriber = ("simChargeableSubscriber", sim)
    basic: dict[str, Any] = {"chargeableSubscriber": subscriber}
    if event.local_time is not None and event.utc_offset is not None:
        basic["callEventStartTimeStamp"] = {
            "localTimeStamp": event.local_time.encode(),
            "utcTimeOffsetCode": offset_codes[event.utc_offset],
        }
    if event.duration_s is not None:
        basic["totalCallEventDuration"] = event.duration_s
    if event.kind is EventKind.GPRS:
        gprs_basic = {k: v for k, v in basic.items() if k != "chargeableSubscriber"}
        gprs_basic["gprsChargeableSubscriber"] = {"chargeableSubscriber": subscriber}
        used: dict[str, Any] = {"chargeInformationList": _charge_information(event, "X")}
        if event.volume_in is not None:
            used["dataVolumeIncoming"] = event.volume_in
        if event.volume_out is not None:
            used["dataVolumeOutgoing"] = event.volume_out
        return "gprsCall", {"gprsBasicCallInformation": gprs_basic, "gprsServiceUsed": used}
    if event.other_number is not None:
        if event.kind is EventKind.MOC:
            basic["destination"] = {"calledNumber": bcd(event.other_number)}
        else:
            basic["callOriginator"] = {"callingNumber": bcd(event.other_number)}
    code = event.service_code or "T11"
    service = ("teleServiceCode" if code[0] == "T" else "bearerServiceCode", code[1:].encode())
    used_list = [
        {"basicService": {"serviceCode": service}, "chargeInformationList": _charge_information(event, "D")}
    ]
    return str(event.kind), {"basicCallInformation": basic, "basicServiceUsedList": used_list}


def write_transfer_batch(
    path: Path,
    grammar: Grammar,
    ctx: BatchContext,
    events: Iterable[TapEvent],
    *,
    indefinite: bool = False,
    audit: Callable[[int, int, int], dict[str, Any]] | None = None,
) -> int:
    """Write a TransferBatch of `events` to `path`; returns the number of events. `audit(count, charge,
    tax)` gives the AuditControlInfo value (default: those totals, consistent)."""
    codes = {text: code for code, text in ctx.utc_offset_texts.items()}
    header = header_values(ctx)
    head = b"".join(
        grammar.encode(t, header[k])
        for t, k in (
            ("BatchControlInfo", "batchControlInfo"),
            ("AccountingInfo", "accountingInfo"),
            ("NetworkInfo", "networkInfo"),
        )
    )
    encode = grammar.spec.encode
    totals = [0, 0, 0]

    def encoded() -> Iterable[bytes]:
        for event in events:
            totals[0] += 1
            totals[1] += event.charge_units
            totals[2] += event.tax_units
            yield bytes(encode("CallEventDetail", event_value(event, codes)))

    with path.open("wb") as fh:
        if indefinite:
            fh.write(_TRANSFER_BATCH + b"\x80" + head + _EVENT_LIST + b"\x80")
            for data in encoded():
                fh.write(data)
            fh.write(b"\x00\x00" + _audit(grammar, totals, audit) + b"\x00\x00")
        else:
            body = list(encoded())
            _write_definite(fh, head, body, _audit(grammar, totals, audit))
    return totals[0]


def _audit(
    grammar: Grammar, totals: list[int], audit: Callable[[int, int, int], dict[str, Any]] | None
) -> bytes:
    count, charge, tax = totals
    value = (
        audit(count, charge, tax)
        if audit
        else {
            "totalCharge": charge,
            "totalTaxValue": tax,
            "totalDiscountValue": 0,
            "callEventDetailsCount": count,
        }
    )
    return grammar.encode("AuditControlInfo", value)


def _write_definite(fh: BinaryIO, head: bytes, events: list[bytes], audit: bytes) -> None:
    events_length = sum(len(e) for e in events)
    event_list_header = _EVENT_LIST + length_octets(events_length)
    batch_length = len(head) + len(event_list_header) + events_length + len(audit)
    fh.write(_TRANSFER_BATCH + length_octets(batch_length) + head + event_list_header)
    for data in events:
        fh.write(data)
    fh.write(audit)


def write_return_batch(
    path: Path,
    grammar: Grammar,
    ctx: BatchContext,
    returned: Iterable[tuple[TapEvent, Sequence[int]]],
) -> int:
    """Write a RAP ReturnBatch from the home network (`ctx.recipient`) to the visited one (`ctx.sender`)
    returning `returned` (each event of the TAP file `ctx.file_sequence` with its error codes)."""
    codes = {text: code for code, text in ctx.utc_offset_texts.items()}
    details = [
        (
            "severeReturn",
            {
                "fileSequenceNumber": ctx.file_sequence.encode(),
                "callEventDetail": event_value(event, codes),
                "errorDetail": [{"errorCode": code} for code in errors],
            },
        )
        for event, errors in returned
    ]
    value = (
        "returnBatch",
        {
            "rapBatchControlInfoRap": {
                "sender": ctx.recipient.encode(),
                "recipient": ctx.sender.encode(),
                "rapFileSequenceNumber": b"00001",
                "tapDecimalPlaces": ctx.decimal_places,
            },
            "returnDetails": details,
            "rapAuditControlInfo": {
                "totalSevereReturnValue": 0,
                "returnDetailsCount": len(details),
            },
        },
    )
    path.write_bytes(grammar.encode("RapDataInterChange", value))
    return len(details)
