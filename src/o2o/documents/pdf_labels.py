"""The words of the PDF templates in English and Russian, and how each language writes numbers and dates.

The model carries English titles and labels; the Russian template translates them by their stable keys
(document kind, party role, section, table, column, fact, total). A key not in the Russian table keeps its
English label, so a new column never drops out of a Russian document: it shows untranslated.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from o2o.domain.errors import ValidationError

LANGS = ("en", "ru")
NBSP = "\u00a0"

_WORDS_EN = {
    "number": "Number",
    "issued": "Issued",
    "period": "Period",
    "digest": "SHA-256 of the canonical JSON",
    "parties": "Parties",
    "operator": "Operator",
    "name": "Name",
    "legal_name": "Legal name",
    "address": "Address",
    "tax_id": "Tax id",
    "bank": "Bank",
    "iban": "IBAN",
    "bic": "BIC",
    "totals": "Totals",
    "amount": "Amount",
    "currency": "Currency",
    "signatures": "Signatures",
    "signer": "Signer",
    "platform_key": "Platform key",
    "signature_note": "Signed electronically with a PAdES signature inside this file; "
    "check it with: o2o documents verify FILE.pdf",
    "page": "page",
    "of": "of",
    "attachment": "The document's data as canonical JSON (what this PDF shows)",
    "missing": "—",
    "chart": "Chart",
}

_WORDS_RU = {
    "number": "Номер",
    "issued": "Дата составления",
    "period": "Период",
    "digest": "SHA-256 канонического JSON",
    "parties": "Стороны",
    "operator": "Оператор",
    "name": "Наименование",
    "legal_name": "Полное наименование",
    "address": "Адрес",
    "tax_id": "ИНН / налоговый номер",
    "bank": "Банк",
    "iban": "IBAN",
    "bic": "БИК (BIC)",
    "totals": "Итоги",
    "amount": "Сумма",
    "currency": "Валюта",
    "signatures": "Подписи",
    "signer": "Подписант",
    "platform_key": "Ключ платформы",
    "signature_note": "Подписано электронной подписью PAdES внутри этого файла; "
    "проверка: o2o documents verify FILE.pdf",
    "page": "стр.",
    "of": "из",
    "attachment": "Данные документа в каноническом JSON (то, что показывает этот PDF)",
    "missing": "—",
    "chart": "Диаграмма",
}

_KINDS_RU = {
    "statement": "Акт сверки трафика и начислений",
    "invoice": "Счёт",
    "setoff-act": "Акт многостороннего взаимозачёта",
    "account-act": "Акт сверки взаимных расчётов",
    "payments": "Платёжные поручения",
    "period-report": "Отчёт за период",
}

_ROLES_RU = {
    "provider": "Поставщик",
    "customer": "Покупатель",
    "participant": "Участник",
    "party_a": "Сторона А",
    "party_b": "Сторона Б",
    "debtor": "Плательщик",
    "creditor": "Получатель",
    "issuer": "Составитель",
}

# Section, table, column, fact and total keys (one namespace: a key means the same wherever it appears).
_KEYS_RU = {
    "service": "Услуга",
    "services": "Услуги",
    "lines": "Строки",
    "provider": "Поставщик",
    "customer": "Покупатель",
    "provider_amount": "Сумма поставщика",
    "customer_amount": "Сумма покупателя",
    "provider_figure": "Данные поставщика",
    "customer_figure": "Данные покупателя",
    "agreed": "Согласовано",
    "agreed_amount": "Согласованная сумма",
    "disputed": "Оспорено",
    "disputed_amount": "Оспариваемая сумма",
    "difference": "Расхождение",
    "tolerance": "Допуск",
    "tolerance_rule": "Правило допуска",
    "outcome": "Результат",
    "quantity": "Количество",
    "events": "События",
    "amount": "Сумма",
    "currency": "Валюта",
    "total": "Итого",
    "totals": "Итоги",
    "net": "Сальдо",
    "debtor": "Плательщик",
    "creditor": "Получатель",
    "counterparty": "Контрагент",
    "obligation": "Обязательство",
    "obligations": "Обязательства",
    "obligation_id": "Обязательство",
    "gross": "Сумма до зачёта",
    "set_off": "Зачтено",
    "setoff": "Зачтено",
    "remaining": "Остаток к оплате",
    "to_pay": "К оплате",
    "to_receive": "К получению",
    "payments": "Платежи",
    "payment": "Платёж",
    "payment_id": "Платёж",
    "due": "Срок оплаты",
    "due_date": "Срок оплаты",
    "date": "Дата",
    "document": "Документ",
    "documents": "Документы",
    "description": "Описание",
    "opening": "Сальдо на начало",
    "opening_balance": "Сальдо на начало",
    "closing": "Сальдо на конец",
    "closing_balance": "Сальдо на конец",
    "turnover": "Обороты",
    "debit": "Дебет",
    "credit": "Кредит",
    "statement": "Акт сверки",
    "statement_id": "Акт сверки",
    "agreement": "Соглашение",
    "round": "Раунд взаимозачёта",
    "invoice": "Счёт",
    "vat": "НДС",
    "records": "Записи",
    "matched": "Сопоставлено",
    "disputes": "Споры",
    "summary": "Сводка",
    "assumptions": "Допущения",
    "hours_saved": "Сэкономлено часов аналитиков (оценка)",
    "hours": "Сэкономлено часов аналитиков (оценка)",
    "amount_due": "Сумма к оплате",
    "contested": "Оспариваемая часть",
    "count": "Количество платежей",
    "dispute": "Спор",
    "discrepancies": "Расхождения",
    "execution_date": "Дата исполнения",
    "items": "Позиции",
    "legal_basis": "Правовое основание",
    "model": "Модель",
    "netting": "Взаимозачёт",
    "payee": "Получатель",
    "payer": "Плательщик",
    "payments_after": "Платежи после зачёта",
    "payments_before": "Платежи до зачёта",
    "platform_digest": "Хэш подписанного акта (SHA-256)",
    "position": "Нетто-позиция",
    "reconciliations": "Сверки",
    "reference": "Банковская ссылка",
    "rejected": "Записи, отклонённые при импорте",
    "resolved_amount": "Сумма по решению",
    "rounding": "Округление",
    "rounds": "Раунды взаимозачёта",
    "service_lines": "Сверенные строки услуг",
    "side": "Сторона",
    "signed": "Акты, подписанные обеими сторонами",
    "state": "Состояние",
    "status": "Статус",
    "time_to_sign": "От последней декларации до последней подписи",
    "unmatched": "Записи только у одной стороны",
    "value": "Сумма расхождений",
    "work": "Выполненная работа",
    "over_tolerance": "Сверх допуска",
    "minutes_per_reconciliation": "Минут на ручную сверку (строка услуги)",
    "minutes_per_dispute": "Минут на спор",
    "minutes_per_document": "Минут на документ",
    "period": "Период",
    "statements": "Акты сверки",
    "money_moved": "Перечислено денег",
    "liquidity_freed": "Высвобождено ликвидности",
    "debit_turnover": "Обороты по дебету",
    "credit_turnover": "Обороты по кредиту",
    "payable_set_off": "Кредиторская задолженность зачтена",
    "payable_remaining": "Кредиторская задолженность к оплате",
    "receivable_set_off": "Дебиторская задолженность зачтена",
    "receivable_remaining": "Дебиторская задолженность к получению",
    "disputes_resolved": "Споры урегулированы",
    "resolved": "Урегулировано",
}

_ROLES_EN = {"party_a": "Party A", "party_b": "Party B"}


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValidationError(f"--lang {lang!r}: one of {', '.join(LANGS)}")
    return lang


def word(lang: str, key: str) -> str:
    return (_WORDS_RU if lang == "ru" else _WORDS_EN)[key]


def kind_title(lang: str, kind: str, english: str) -> str:
    return _KINDS_RU.get(kind, english) if lang == "ru" else english


def role(lang: str, key: str) -> str:
    if lang == "ru":
        return _ROLES_RU.get(key, key)
    return _ROLES_EN.get(key, key.replace("_", " ").capitalize())


def total_label(lang: str, key: str, english: str) -> str:
    """A headline total's label; in Russian the side a balance is seen from (`(ALFA's side)`) is kept."""
    if lang != "ru" or key not in _KEYS_RU:
        return english
    side = re.search(r"\((\S+)'s side\)", english)
    return f"{_KEYS_RU[key]} (сторона {side.group(1)})" if side else _KEYS_RU[key]


def label(lang: str, key: str, english: str) -> str:
    """The label of a section, table, column, fact or total: English as the model has it, Russian by key."""
    return _KEYS_RU.get(key, english) if lang == "ru" else english


def number_text(lang: str, value: int | Decimal) -> str:
    """Digits grouped by thousands: `1,234,567.50` in English, `1 234 567,50` (no-break spaces) in Russian.
    Every digit of the value is printed (an amount already has exactly its currency's decimals)."""
    text = f"{value:,}" if isinstance(value, int) else format(value, ",f")
    if lang == "ru":
        return text.replace(",", NBSP).replace(".", ",")
    return text


def date_text(lang: str, value: date) -> str:
    return value.strftime("%d.%m.%Y") if lang == "ru" else value.isoformat()
