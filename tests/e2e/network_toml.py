"""The small bilateral network's files: operators ALFA (UK, +44) and BETA (DE, +49) and their agreement."""

from __future__ import annotations

import textwrap

OPERATORS = textwrap.dedent(
    """
    [[operators]]
    id = "ALFA"
    name = "Alfa Telecom plc"
    currency = "GBP"
    country_code = "44"

    [[operators]]
    id = "BETA"
    name = "Beta Netz GmbH"
    currency = "EUR"
    country_code = "49"
    """
)

AGREEMENT = textwrap.dedent(
    """
    id = "AG-ALFA-BETA"
    currency = "EUR"
    timezone = "Europe/London"
    valid_from = 2026-01-01

    [[parties]]
    operator = "ALFA"
    country_code = "44"

    [[parties]]
    operator = "BETA"
    country_code = "49"

    [[services]]
    id = "voice-ALFA"
    kind = "voice"
    provider = "ALFA"
    customer = "BETA"
    increments = { first = 60, next = 60 }
    destinations = [{ prefix = "44", name = "UK" }]
    rates = [{ destination = "UK", price = "0.0100", valid_from = 2026-01-01 }]

    [[services]]
    id = "sms-BETA"
    kind = "sms"
    provider = "BETA"
    customer = "ALFA"
    destinations = [{ prefix = "49", name = "DE" }]
    rates = [{ destination = "DE", price = "0.005", valid_from = 2026-01-01 }]
    """
)
