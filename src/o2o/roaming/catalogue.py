"""The roaming services a discount agreement prices, grouped as the GSMA's BWRP settlement body groups them.

A service is named in requests as free text ("SMS MO", "SMSMO", "NB-IOT", "MOC EU" …); `canonical` maps
every spelling the BWRP services and UI use to one `RoamingService`, ignoring case, spaces, hyphens and
underscores. A name that maps to none is an unknown service (a user's mistake, refused naming the field).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ServiceGroup(StrEnum):
    """Where a service sits in the BWRP settlement body (`voice.MOC`, `voice.MTC`, `SMS`, `data`, `access`)."""

    MOC = "MOC"
    MTC = "MTC"
    SMS = "SMS"
    DATA = "data"
    ACCESS = "access"


@dataclass(frozen=True, slots=True)
class RoamingService:
    """One priced roaming service: its canonical name, its group and the unit its usage is counted in."""

    name: str
    group: ServiceGroup
    unit: str


_SERVICES: tuple[tuple[RoamingService, tuple[str, ...]], ...] = (
    (RoamingService("MOC Local", ServiceGroup.MOC, "min"), ()),
    (RoamingService("MOC Back Home", ServiceGroup.MOC, "min"), ("MOC Home",)),
    (RoamingService("MOC International", ServiceGroup.MOC, "min"), ()),
    (RoamingService("MOC EU", ServiceGroup.MOC, "min"), ()),
    (RoamingService("MOC EEA", ServiceGroup.MOC, "min"), ()),
    (RoamingService("MOC RoW", ServiceGroup.MOC, "min"), ()),
    (RoamingService("MOC Premium", ServiceGroup.MOC, "min"), ()),
    (RoamingService("MOC Satellite", ServiceGroup.MOC, "min"), ()),
    (RoamingService("MOC Video Telephony", ServiceGroup.MOC, "min"), ()),
    (RoamingService("MOC Special Destinations", ServiceGroup.MOC, "min"), ()),
    (RoamingService("MTC", ServiceGroup.MTC, "min"), ()),
    (RoamingService("SMS MO", ServiceGroup.SMS, "SMS"), ()),
    (RoamingService("SMS MT", ServiceGroup.SMS, "SMS"), ()),
    (RoamingService("GPRS", ServiceGroup.DATA, "MB"), ("Data",)),
    (RoamingService("M2M", ServiceGroup.DATA, "MB"), ()),
    (RoamingService("NB-IoT", ServiceGroup.DATA, "MB"), ()),
    (RoamingService("LTE-M", ServiceGroup.DATA, "MB"), ()),
    (RoamingService("VoLTE", ServiceGroup.DATA, "min"), ()),
    (RoamingService("ViLTE", ServiceGroup.DATA, "min"), ()),
    (RoamingService("Signalling", ServiceGroup.DATA, "MB"), ()),
    (RoamingService("Network Access", ServiceGroup.ACCESS, "IMSI"), ("Access",)),
)


def _key(name: str) -> str:
    return "".join(ch for ch in name.upper() if ch not in " -_")


_BY_KEY: dict[str, RoamingService] = {}
for _service, _aliases in _SERVICES:
    for _name in (_service.name, *_aliases):
        _BY_KEY[_key(_name)] = _service

KNOWN_SERVICES: tuple[str, ...] = tuple(s.name for s, _ in _SERVICES)


def canonical(name: str) -> RoamingService | None:
    """The service a request's name means ("SMSMO", "sms-mo" and "SMS MO" are one), or None if unknown."""
    found = _SEEN.get(name)
    if found is None and name not in _SEEN:
        found = _BY_KEY.get(_key(name))
        if len(_SEEN) < 10_000:  # bounded: a long-running hub reads names it does not choose
            _SEEN[name] = found
    return found


_SEEN: dict[str, RoamingService | None] = {}  # names as written: a request repeats a few of them
