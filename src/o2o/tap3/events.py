"""A TAP batch's context and call events as plain values: what a decoded tree means.

`batch_context` reads the batch control, accounting and network information (currency, decimal places,
exchange rates, UTC offsets); `call_event` turns one decoded CallEventDetail into a `TapEvent`:
subscriber (IMSI, MSISDN), the other party's number, the start in UTC (the local time stamp less the UTC
offset its code names in the batch's NetworkInfo), duration, volume, and charge and tax in the batch's
currency as exact Decimals (TAP writes amounts as integers with `TapDecimalPlaces` implied decimals).

TAP's rules followed here (TD.57): the charges are in the TAP currency (`TapCurrency`, SDR when absent);
an event's charge is the sum of its charge details of charge type `00` (the total charge of an item);
its tax the sum of its tax values; an exchange rate is `ExchangeRate / 10^NumberOfDecimalPlaces`. BCD
numbers are written high nibble first, an odd count of digits padded with the nibble F. A value that is
missing or cannot be read (an unknown offset code, a malformed time stamp) is left None with the reason
in `problems`: the import then rejects that record with the reason instead of refusing the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

# TAP charges are in SDR when the batch names no TapCurrency (TD.57, TapCurrency).
DEFAULT_TAP_CURRENCY = "XDR"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Teleservice codes of short messages (TS 22.003: 20 all SMS, 21 MT, 22 MO).
_SMS_TELESERVICES = frozenset({"20", "21", "22"})


class EventKind(StrEnum):
    """The call events the reader turns into usage; any other is counted but carries no usage."""

    MOC = "mobileOriginatedCall"
    MTC = "mobileTerminatedCall"
    GPRS = "gprsCall"
    SUPPL = "supplServiceEvent"
    OTHER = "other"


class UsageKind(StrEnum):
    """Which kind of service an event is usage of (`o2o.domain.tariffs.ServiceKind`'s values)."""

    VOICE = "voice"
    SMS = "sms"
    DATA = "data"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class BatchContext:
    """What a batch's header says that its events need: who, which file, currency and time offsets."""

    sender: str
    recipient: str
    file_sequence: str
    specification: int | None
    release: int | None
    tap_currency: str
    local_currency: str | None
    decimal_places: int
    exchange_rates: Mapping[int, Decimal]
    utc_offsets: Mapping[int, int]  # offset code → seconds east of UTC
    utc_offset_texts: Mapping[int, str]

    def amount(self, units: int) -> Decimal:
        """An amount written as an integer with the batch's implied decimal places, exactly."""
        return Decimal(units).scaleb(-self.decimal_places)


@dataclass(frozen=True, slots=True)
class TapEvent:
    """One call event of a batch, as usage."""

    index: int  # its position among the batch's call events, from 1
    kind: EventKind
    usage: UsageKind
    imsi: str | None
    msisdn: str | None
    other_number: str | None  # the called number (MOC) or the calling number (MTC)
    service_code: str | None  # T + teleservice or B + bearer service code, GPRS for data
    local_time: str | None  # as written, YYYYMMDDhhmmss
    utc_offset: str | None  # as written (+HHMM), from its code
    start_epoch: int | None  # UTC
    duration_s: int | None
    volume_in: int | None
    volume_out: int | None
    charge_units: int  # in 10^-decimal_places of the TAP currency
    tax_units: int
    exchange_rate_code: int | None
    problems: tuple[str, ...] = ()
    returned: bool = False
    error_codes: tuple[int, ...] = ()

    @property
    def subscriber(self) -> str | None:
        """The chargeable subscriber: the IMSI, else the MSISDN."""
        return self.imsi or self.msisdn

    @property
    def volume(self) -> int | None:
        """Bytes both ways for data, 1 per short message, None for a call."""
        if self.usage is UsageKind.DATA:
            return (self.volume_in or 0) + (self.volume_out or 0)
        return 1 if self.usage is UsageKind.SMS else None


class BatchHeaderError(ValueError):
    """A batch header value that cannot be read (the reader names the file)."""


def text(value: Any) -> str:
    """An OCTET STRING of TAP's AsciiString/NumberString/HexString (or a string a grammar made of it)."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("ascii", "replace")
    return str(value)


def bcd_digits(value: Any) -> str:
    """A TAP BCDString's digits (high nibble first, the F nibble pads an odd count)."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex().rstrip("f")
    return str(value)


def offset_seconds(offset: str) -> int:
    """`+HHMM`/`-HHMM` as seconds east of UTC."""
    if len(offset) != 5 or offset[0] not in "+-" or not offset[1:].isdigit():
        raise BatchHeaderError(f"UtcTimeOffset {offset!r} is not +HHMM or -HHMM")
    hours, minutes = int(offset[1:3]), int(offset[3:5])
    if hours > 15 or minutes > 59:
        raise BatchHeaderError(f"UtcTimeOffset {offset!r} is out of range")
    seconds = hours * 3600 + minutes * 60
    return -seconds if offset[0] == "-" else seconds


def batch_context(
    control: Mapping[str, Any], accounting: Mapping[str, Any] | None, network: Mapping[str, Any] | None
) -> BatchContext:
    """The context of a batch from its decoded BatchControlInfo, AccountingInfo and NetworkInfo."""
    accounting = accounting or {}
    network = network or {}
    rates: dict[int, Decimal] = {}
    for conv in accounting.get("currencyConversionInfo", ()):
        if "exchangeRateCode" in conv and "exchangeRate" in conv:
            scale = int(conv.get("numberOfDecimalPlaces", 0))
            rates[int(conv["exchangeRateCode"])] = Decimal(int(conv["exchangeRate"])).scaleb(-scale)
    offsets: dict[int, int] = {}
    texts: dict[int, str] = {}
    for info in network.get("utcTimeOffsetInfo", ()):
        if "utcTimeOffsetCode" in info and "utcTimeOffset" in info:
            code, written = int(info["utcTimeOffsetCode"]), text(info["utcTimeOffset"])
            offsets[code], texts[code] = offset_seconds(written), written
    places = accounting.get("tapDecimalPlaces")
    if places is not None and not 0 <= int(places) <= 6:
        raise BatchHeaderError(f"TapDecimalPlaces {places} is not 0 to 6")
    local = accounting.get("localCurrency")
    return BatchContext(
        sender=text(control.get("sender", b"")),
        recipient=text(control.get("recipient", b"")),
        file_sequence=text(control.get("fileSequenceNumber", b"")),
        specification=control.get("specificationVersionNumber"),
        release=control.get("releaseVersionNumber"),
        tap_currency=text(accounting["tapCurrency"]) if "tapCurrency" in accounting else DEFAULT_TAP_CURRENCY,
        local_currency=text(local) if local is not None else None,
        decimal_places=int(places) if places is not None else 0,
        exchange_rates=rates,
        utc_offsets=offsets,
        utc_offset_texts=texts,
    )


def _subscriber(choice: Any) -> tuple[str | None, str | None]:
    if not choice or choice[0] != "simChargeableSubscriber":
        return None, None
    sim = choice[1]
    imsi, msisdn = sim.get("imsi"), sim.get("msisdn")
    return (
        bcd_digits(imsi) if imsi is not None else None,
        bcd_digits(msisdn) if msisdn is not None else None,
    )


def _charges(infos: Any, acc: list[int]) -> None:
    """Add the charge (type 00) and tax of `infos` (ChargeInformation values) to `acc`: [charge, tax, rate
    code or -1]."""
    for info in infos:
        if acc[2] < 0 and "exchangeRateCode" in info:
            acc[2] = int(info["exchangeRateCode"])
        for detail in info.get("chargeDetailList", ()):
            if "charge" in detail and bytes(detail.get("chargeType", b"")) == b"00":
                acc[0] += detail["charge"]
        for tax in info.get("taxInformation", ()):
            acc[1] += tax.get("taxValue", 0)


def _start(ctx: BatchContext, stamp: Any, problems: list[str]) -> tuple[str | None, str | None, int | None]:
    """The local time stamp, its UTC offset as written, and the UTC epoch second."""
    if not stamp or "localTimeStamp" not in stamp:
        return None, None, None
    local = text(stamp["localTimeStamp"])
    code = stamp.get("utcTimeOffsetCode")
    if code is None or code not in ctx.utc_offsets:
        problems.append(f"utcTimeOffsetCode {code} is not in the batch's NetworkInfo")
        return local, None, None
    try:
        if len(local) != 14 or not local.isdigit():
            raise ValueError
        moment = datetime(
            int(local[0:4]),
            int(local[4:6]),
            int(local[6:8]),
            int(local[8:10]),
            int(local[10:12]),
            int(local[12:14]),
            tzinfo=UTC,
        )
    except ValueError:
        problems.append(f"localTimeStamp {local!r} is not a time YYYYMMDDhhmmss")
        return local, ctx.utc_offset_texts[code], None
    epoch = (moment - _EPOCH) // _SECOND - ctx.utc_offsets[code]
    return local, ctx.utc_offset_texts[code], epoch


_SECOND = timedelta(seconds=1)


def call_event(ctx: BatchContext, index: int, decoded: tuple[str, Any]) -> TapEvent:
    """One decoded CallEventDetail (asn1tools' `(choice, value)`) as a `TapEvent`."""
    name, value = decoded
    problems: list[str] = []
    acc = [0, 0, -1]
    other: str | None = None
    service: str | None = None
    volume_in = volume_out = None
    if name in {"mobileOriginatedCall", "mobileTerminatedCall"}:
        basic = value.get("basicCallInformation", {})
        if name == "mobileOriginatedCall":
            kind = EventKind.MOC
            dest = basic.get("destination", {})
            if "calledNumber" in dest:
                other = bcd_digits(dest["calledNumber"])
            elif "dialledDigits" in dest:
                other = text(dest["dialledDigits"])
        else:
            kind = EventKind.MTC
            orig = basic.get("callOriginator", {})
            if "callingNumber" in orig:
                other = bcd_digits(orig["callingNumber"])
        imsi, msisdn = _subscriber(basic.get("chargeableSubscriber"))
        stamp = basic.get("callEventStartTimeStamp")
        duration = basic.get("totalCallEventDuration")
        usage = UsageKind.VOICE
        for used in value.get("basicServiceUsedList", ()):
            code = used.get("basicService", {}).get("serviceCode")
            if code and service is None:
                service = ("T" if code[0] == "teleServiceCode" else "B") + text(code[1])
                if code[0] == "teleServiceCode" and text(code[1]) in _SMS_TELESERVICES:
                    usage = UsageKind.SMS
            _charges(used.get("chargeInformationList", ()), acc)
    elif name == "gprsCall":
        kind, usage, service = EventKind.GPRS, UsageKind.DATA, "GPRS"
        basic = value.get("gprsBasicCallInformation", {})
        imsi, msisdn = _subscriber(basic.get("gprsChargeableSubscriber", {}).get("chargeableSubscriber"))
        stamp = basic.get("callEventStartTimeStamp")
        duration = basic.get("totalCallEventDuration")
        used = value.get("gprsServiceUsed", {})
        volume_in, volume_out = used.get("dataVolumeIncoming"), used.get("dataVolumeOutgoing")
        _charges(used.get("chargeInformationList", ()), acc)
    else:
        kind = EventKind.SUPPL if name == "supplServiceEvent" else EventKind.OTHER
        usage, duration = UsageKind.NONE, None
        imsi, msisdn = _subscriber(value.get("chargeableSubscriber"))
        used = value.get("supplServiceUsed", {})
        stamp = used.get("chargingTimeStamp")
        if "chargeInformation" in used:
            _charges((used["chargeInformation"],), acc)
    local, offset, epoch = _start(ctx, stamp, problems)
    return TapEvent(
        index=index,
        kind=kind,
        usage=usage,
        imsi=imsi,
        msisdn=msisdn,
        other_number=other,
        service_code=service,
        local_time=local,
        utc_offset=offset,
        start_epoch=epoch,
        duration_s=duration,
        volume_in=volume_in,
        volume_out=volume_out,
        charge_units=acc[0],
        tax_units=acc[1],
        exchange_rate_code=acc[2] if acc[2] >= 0 else None,
        problems=tuple(problems),
    )
