"""Bank statement lines read from OFX and CSV files, and the (account, FITID) dedupe.

Readers are pure: bytes or text in, a StatementImport out. Storing lines is the store's job.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from ofxparse.ofxparse import OfxPreprocessedFile, soup_maker

from ona_ledger.errors import InvalidAmountError, StatementFormatError
from ona_ledger.money import Money, check_currency

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One transaction as the bank posted it; `amount` is positive for money in.

    `payee` and `memo` are free text from the bank, so a card number in them is
    masked on construction, keeping its last four digits (see mask_card_numbers).
    """

    account_id: str
    fitid: str
    posted_date: date
    amount: Money
    payee: str = ""
    memo: str = ""
    check_number: str = ""
    reference: str = ""
    transaction_type: str = ""
    fitid_generated: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "payee", mask_card_numbers(self.payee))
        object.__setattr__(self, "memo", mask_card_numbers(self.memo))

    @property
    def dedupe_key(self) -> tuple[str, str]:
        """The (account, FITID) pair that identifies this line across imports."""
        return (self.account_id, self.fitid)


@dataclass(frozen=True, slots=True)
class RejectedLine:
    """A transaction of the file that could not be read, with its 1-based position."""

    position: int
    fitid: str
    reason: str


@dataclass(frozen=True, slots=True)
class Statement:
    """The lines of one account in one file, and the transactions rejected from it.

    `start_date` and `end_date` are the period the bank says the file covers (OFX
    DTSTART and DTEND), or the first and last posted dates when it does not say.
    `ledger_balance` is the closing balance (OFX LEDGERBAL) as of `balance_date`.
    """

    account_id: str
    currency: str
    lines: tuple[StatementLine, ...]
    rejected: tuple[RejectedLine, ...] = ()
    ledger_balance: Money | None = None
    start_date: date | None = None
    end_date: date | None = None
    balance_date: date | None = None


@dataclass(frozen=True, slots=True)
class StatementImport:
    """The result of reading one file: its statements, each with lines and rejects."""

    source: str
    statements: tuple[Statement, ...]

    @property
    def lines(self) -> list[StatementLine]:
        return [line for statement in self.statements for line in statement.lines]

    @property
    def rejected(self) -> list[RejectedLine]:
        return [
            reject for statement in self.statements for reject in statement.rejected
        ]


def dedupe_lines(
    lines: Iterable[StatementLine], known_keys: Iterable[tuple[str, str]] = ()
) -> list[StatementLine]:
    """Return the lines whose (account, FITID) is not in `known_keys` nor earlier in `lines`.

    The store passes the keys it already holds, so importing a statement twice adds nothing.
    """
    seen = set(known_keys)
    new_lines = []
    for line in lines:
        if line.dedupe_key in seen:
            continue
        seen.add(line.dedupe_key)
        new_lines.append(line)
    return new_lines


# Card numbers --------------------------------------------------------------------

# A run of digit groups joined by single spaces or dashes, not touching other digits.
_DIGIT_GROUPS = re.compile(r"(?<![0-9])[0-9]+(?:[ -][0-9]+)*(?![0-9])")
_DIGITS = re.compile(r"[0-9]+")
_CARD_DIGITS_MIN = 13
_CARD_DIGITS_MAX = 19
_KEPT_DIGITS = 4


def mask_card_numbers(text: str) -> str:
    """Replace card numbers in free text with '*', keeping each one's last four digits.

    A card number is 13 to 19 digits, written together or in groups separated by
    single spaces or dashes, that passes the Luhn check: '4242 4242 4242 4242' becomes
    '**** **** **** 4242'. Any other digit run of that length that passes Luhn, such
    as a trace number in a memo, is masked too, so one in ten of them is lost.
    """
    if not text:
        return text
    return _DIGIT_GROUPS.sub(_mask_run, text)


def _mask_run(found: re.Match[str]) -> str:
    run = found.group()
    groups = list(_DIGITS.finditer(run))
    masked = list(run)
    start = 0
    while start < len(groups):
        end = _card_end(groups, start)
        if end is None:
            start += 1
            continue
        first, last = groups[start].start(), groups[end].end()
        digit_positions = [i for i in range(first, last) if run[i].isdigit()]
        for position in digit_positions[:-_KEPT_DIGITS]:
            masked[position] = "*"
        start = end + 1
    return "".join(masked)


def _card_end(groups: list[re.Match[str]], start: int) -> int | None:
    """Return the last group of the longest card number that starts at `start`."""
    digits = ""
    best = None
    for end in range(start, len(groups)):
        digits += groups[end].group()
        if len(digits) > _CARD_DIGITS_MAX:
            break
        if len(digits) >= _CARD_DIGITS_MIN and _passes_luhn(digits):
            best = end
    return best


def _passes_luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


# Amounts -------------------------------------------------------------------------

_AMOUNT_CHARS = re.compile(r"[+-]?[0-9.,]+-?")
_SPACES = re.compile(r"[\s\u00a0\u202f']")


def parse_bank_amount(text: str, decimal_separator: str | None = None) -> Decimal:
    """Parse a bank amount such as '-1234.56', '1.234,56', '+1058,53' or '12.00-'.

    Without `decimal_separator`, the last of '.' or ',' is the decimal mark when both
    appear, and a lone comma is one too, as the OFX specification allows. A separator
    repeated with no other one present groups thousands. An amount without the decimal
    mark is in whole currency units: '100' is 100. Raises InvalidAmountError.
    """
    compact = _SPACES.sub("", text)
    if not _AMOUNT_CHARS.fullmatch(compact):
        raise InvalidAmountError(
            f"amount {text!r} is not a number; write it like '-1234.56' or '1.234,56'"
        )
    negative = compact.startswith("-") or compact.endswith("-")
    digits = compact.strip("+-")
    if "-" in digits or "+" in digits:
        raise InvalidAmountError(f"amount {text!r} has a sign inside the number")

    mark = decimal_separator or _guess_decimal_mark(digits)
    if mark is None or mark not in digits:
        # No decimal mark: the digits are whole currency units ('100' is 100.00).
        integral, fraction = digits, ""
    else:
        integral, _, fraction = digits.rpartition(mark)
        if mark in integral:
            raise InvalidAmountError(f"amount {text!r} has more than one decimal mark")
    grouping = "," if mark == "." else "."
    integral = _strip_grouping(integral, grouping, text)
    if not (integral or fraction) or not (integral + fraction).isdigit():
        raise InvalidAmountError(f"amount {text!r} is not a number")

    value = Decimal(f"{integral or 0}.{fraction}" if fraction else integral)
    return -value if negative else value


def _guess_decimal_mark(digits: str) -> str | None:
    if "." in digits and "," in digits:
        return "." if digits.rfind(".") > digits.rfind(",") else ","
    for mark in (".", ","):
        if digits.count(mark) == 1:
            return mark
    return None


def _strip_grouping(integral: str, grouping: str, text: str) -> str:
    if grouping not in integral:
        return integral
    groups = integral.split(grouping)
    if not groups[0] or len(groups[0]) > 3 or any(len(g) != 3 for g in groups[1:]):
        raise InvalidAmountError(
            f"amount {text!r} groups its thousands wrongly; expected groups of three digits"
        )
    return "".join(groups)


# Cents are stored as a 64-bit integer in SQLite and PostgreSQL (BIGINT).
_MAX_STORED_CENTS = 2**63 - 1


def _money(value: Decimal, currency: str, raw: str) -> Money:
    try:
        money = Money.of(value, currency)
    except InvalidAmountError:
        raise InvalidAmountError(
            f"amount {raw.strip()!r} has more decimal places than {currency} allows; "
            "the bank line cannot be stored in exact cents"
        ) from None
    _check_storable(money, raw)
    return money


def _check_storable(money: Money, raw: str) -> None:
    if abs(money.cents) > _MAX_STORED_CENTS:
        raise InvalidAmountError(
            f"amount {raw.strip()!r} is larger than the ledger can store "
            f"({_MAX_STORED_CENTS} minor units); check the bank's export"
        )


def generated_fitid(account_id: str, fields: Sequence[str], occurrence: int) -> str:
    """Return a stable id for a transaction that has no FITID: a hash of its content.

    `occurrence` counts earlier identical rows in the same file, so two identical
    transactions on one day keep two ids while a re-import yields the same ids.
    """
    material = "\x1f".join([account_id, *fields, str(occurrence)])
    return "H" + hashlib.sha256(material.encode("utf-8")).hexdigest()[:24]


# OFX -------------------------------------------------------------------------------

_CANONICAL_HEADER = (
    "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:UTF-8\n"
    "CHARSET:NONE\nCOMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n"
)
_OFX_START = re.compile(r"<OFX>", re.IGNORECASE)
_SELF_CLOSING = re.compile(r"<([A-Za-z][A-Za-z0-9_.]*)\s*/>")
_EMPTY_ELEMENT = re.compile(r"<([A-Za-z][A-Za-z0-9_.]*)>\s*</\1>", re.IGNORECASE)
_CHARSET = re.compile(rb"CHARSET:\s*([A-Za-z0-9-]+)")
_XML_ENCODING = re.compile(rb"encoding=[\"']([A-Za-z0-9_-]+)[\"']")
_OFX_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_STATEMENT_TAGS = ["stmtrs", "ccstmtrs", "invstmtrs"]


def read_ofx(path: str | Path, default_currency: str | None = None) -> StatementImport:
    """Read an OFX 1.x (SGML) or 2.x (XML) file into statement lines.

    Raises StatementFormatError naming the file when no statement in it can be read.
    """
    file_path = Path(path)
    return parse_ofx(file_path.read_bytes(), file_path.name, default_currency)


def parse_ofx(
    data: bytes, source: str = "<ofx>", default_currency: str | None = None
) -> StatementImport:
    """Parse OFX bytes; `source` names the file in errors.

    `default_currency` applies only to a statement whose CURDEF is missing or empty.
    """
    body = _canonical_ofx(_decode_ofx(data), source)
    ofx_file = OfxPreprocessedFile(io.BytesIO(body.encode("utf-8")))
    soup = soup_maker(ofx_file.fh)

    _raise_on_status_error(soup, source)
    aggregates = soup.find_all(_STATEMENT_TAGS)
    if not aggregates:
        raise StatementFormatError(
            f"{source}: the file contains no bank statement (no STMTRS, CCSTMTRS or "
            "INVSTMTRS element); export the account's transactions again"
        )

    statements: list[Statement] = []
    problems: list[str] = []
    position = 0
    for aggregate in aggregates:
        transactions = aggregate.find_all("stmttrn")
        try:
            statements.append(
                _read_statement(aggregate, transactions, position, default_currency)
            )
        except StatementFormatError as error:
            problems.append(str(error))
        position += len(transactions)

    _raise_if_unreadable(source, statements, problems)
    result = StatementImport(source, tuple(statements))
    logger.info(
        "read %s: %d statements, %d lines, %d rejected",
        source,
        len(statements),
        len(result.lines),
        len(result.rejected),
    )
    return result


def _decode_ofx(data: bytes) -> str:
    """Decode the file: UTF-8 when the bytes are valid UTF-8, whatever charset the header declares.

    Banks often send a UTF-8 body under an ASCII or cp1252 header, and cp1252 text
    with accents is almost never valid UTF-8, so trying UTF-8 first is safe.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = _CHARSET.search(data[:2048]) or _XML_ENCODING.search(data[:2048])
    names = ["cp1252", "latin-1"]
    if declared:
        charset = declared.group(1).decode("ascii").upper()
        names.insert(0, "latin-1" if charset in {"8859-1", "ISO-8859-1"} else charset)
        if charset.isdigit():
            names[0] = f"cp{charset}"
    for name in names:
        try:
            return data.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("latin-1")


def _canonical_ofx(text: str, source: str) -> str:
    """Replace the header with one ofxparse reads as UTF-8 and drop empty elements.

    An empty element (`<MEMO></MEMO>`, `<MEMO/>`) is the same as an absent one, and
    removing it keeps the SGML closer of ofxparse from swallowing the next element.
    """
    start = _OFX_START.search(text)
    if start is None:
        raise StatementFormatError(
            f"{source}: no <OFX> element found; the file is not an OFX statement"
        )
    body = _SELF_CLOSING.sub("", text[start.start() :])
    body = _EMPTY_ELEMENT.sub("", body)
    return _CANONICAL_HEADER + body


def _raise_on_status_error(soup: Any, source: str) -> None:
    """Raise when the signon or the statement response carries an error status."""
    for tag_name in ("sonrs", "stmttrnrs", "ccstmttrnrs", "invstmttrnrs"):
        for response in soup.find_all(tag_name):
            status = response.find("status")
            code = _leaf_text(status, "code") if status is not None else ""
            if not code or code == "0":
                continue
            if response.find(_STATEMENT_TAGS) is not None:
                continue
            message = _leaf_text(status, "message") or "no message"
            severity = _leaf_text(status, "severity") or "ERROR"
            raise StatementFormatError(
                f"{source}: the bank returned status {code} ({severity}) in "
                f"{tag_name.upper()}: {message}; the file holds no transactions, "
                "download the statement again"
            )


def _leaf_text(tag: Any, name: str) -> str:
    found = tag.find(name)
    if found is None:
        return ""
    # A closed leaf holds only text; an SGML leaf closed by ofxparse may run on to
    # the next tag, so only the text before the first child element counts.
    first = next(iter(found.contents), "")
    return str(first).strip() if isinstance(first, str) else ""


def _read_statement(
    aggregate: Any, transactions: list[Any], offset: int, default_currency: str | None
) -> Statement:
    account_id = _leaf_text(aggregate, "acctid")
    if not account_id:
        raise StatementFormatError(
            f"statement {offset + 1}: ACCTID is missing; the lines cannot be tied to an account"
        )
    bank_id = _leaf_text(aggregate, "bankid") or _leaf_text(aggregate, "brokerid")
    if bank_id:
        account_id = f"{bank_id}/{account_id}"
    currency = _statement_currency(aggregate, account_id, default_currency)

    lines: list[StatementLine] = []
    rejected: list[RejectedLine] = []
    seen_fitids: set[str] = set()
    occurrences: Counter[tuple[str, ...]] = Counter()
    for index, transaction in enumerate(transactions, start=offset + 1):
        fitid = _leaf_text(transaction, "fitid")
        try:
            line = _read_transaction(transaction, account_id, currency, occurrences)
        except (InvalidAmountError, StatementFormatError) as error:
            rejected.append(RejectedLine(index, fitid, str(error)))
            continue
        if line.fitid in seen_fitids:
            reason = (
                f"FITID {line.fitid} repeats an earlier transaction of this statement"
            )
            rejected.append(RejectedLine(index, fitid, reason))
            continue
        seen_fitids.add(line.fitid)
        lines.append(line)
    start_date, end_date = _statement_period(aggregate, lines)
    balance = aggregate.find("ledgerbal")
    balance_date = (
        _optional_date(_leaf_text(balance, "dtasof")) if balance is not None else None
    )
    return Statement(
        account_id,
        currency,
        tuple(lines),
        tuple(rejected),
        _ledger_balance(aggregate, currency),
        start_date,
        end_date,
        balance_date or end_date,
    )


def _statement_period(
    aggregate: Any, lines: list[StatementLine]
) -> tuple[date | None, date | None]:
    """Return the statement's DTSTART and DTEND, else its first and last posted dates."""
    transaction_list = aggregate.find("banktranlist")
    start = end = None
    if transaction_list is not None:
        start = _optional_date(_leaf_text(transaction_list, "dtstart"))
        end = _optional_date(_leaf_text(transaction_list, "dtend"))
    posted = [line.posted_date for line in lines]
    if start is None and posted:
        start = min(posted)
    if end is None and posted:
        end = max(posted)
    return start, end


def _optional_date(raw: str) -> date | None:
    if not raw:
        return None
    try:
        return ofx_calendar_date(raw)
    except StatementFormatError:
        logger.warning("statement date %r is not an OFX date; ignored", raw)
        return None


def _statement_currency(
    aggregate: Any, account_id: str, default_currency: str | None
) -> str:
    candidates = [_leaf_text(aggregate, "curdef"), _leaf_text(aggregate, "cursym")]
    candidates.append(default_currency or "")
    for candidate in candidates:
        if candidate:
            try:
                return check_currency(candidate.upper())
            except InvalidAmountError:
                continue
    raise StatementFormatError(
        f"account {account_id}: CURDEF is missing or invalid and no transaction names "
        "a currency; pass default_currency"
    )


def _ledger_balance(aggregate: Any, currency: str) -> Money | None:
    ledger_balance = aggregate.find("ledgerbal")
    raw = _leaf_text(ledger_balance, "balamt") if ledger_balance is not None else ""
    if not raw:
        return None
    try:
        return _money(parse_bank_amount(raw), currency, raw)
    except InvalidAmountError:
        logger.warning("ledger balance %r is not an amount; ignored", raw)
        return None


def _read_transaction(
    transaction: Any,
    account_id: str,
    currency: str,
    occurrences: Counter[tuple[str, ...]],
) -> StatementLine:
    problems = []
    raw_date = _leaf_text(transaction, "dtposted")
    raw_amount = _leaf_text(transaction, "trnamt")
    posted_date = None
    amount = None
    try:
        posted_date = ofx_calendar_date(raw_date)
    except StatementFormatError as error:
        problems.append(str(error))
    try:
        if not raw_amount:
            raise InvalidAmountError("TRNAMT is missing")
        amount = _money(parse_bank_amount(raw_amount), currency, raw_amount)
    except InvalidAmountError as error:
        problems.append(f"TRNAMT: {error}")
    if posted_date is None or amount is None:
        raise StatementFormatError("; ".join(problems))

    payee = mask_card_numbers(_leaf_text(transaction, "name"))
    memo = mask_card_numbers(_leaf_text(transaction, "memo"))
    check_number = _leaf_text(transaction, "checknum")
    reference = _leaf_text(transaction, "refnum")
    transaction_type = _leaf_text(transaction, "trntype").upper()
    fitid = _leaf_text(transaction, "fitid")
    generated = not fitid
    if generated:
        content = (
            posted_date.isoformat(),
            str(amount.cents),
            payee,
            memo,
            check_number,
            reference,
            transaction_type,
        )
        fitid = generated_fitid(account_id, content, occurrences[content])
        occurrences[content] += 1
    return StatementLine(
        account_id,
        fitid,
        posted_date,
        amount,
        payee,
        memo,
        check_number,
        reference,
        transaction_type,
        generated,
    )


def ofx_calendar_date(raw: str) -> date:
    """Return the calendar date of an OFX date-time, ignoring time and time zone.

    '20261103' and '20261103230000[-5:EST]' are both 2026-11-03: the bank's own date,
    which converting to UTC (as ofxparse does) would move a day for late postings.
    """
    found = _OFX_DATE.match(raw)
    if not raw:
        raise StatementFormatError("DTPOSTED is missing")
    if found is None:
        raise StatementFormatError(
            f"DTPOSTED {raw!r} is not an OFX date; expected YYYYMMDD[HHMMSS]"
        )
    try:
        return date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:
        raise StatementFormatError(
            f"DTPOSTED {raw!r} is not a valid calendar date"
        ) from None


def _raise_if_unreadable(
    source: str, statements: list[Statement], problems: list[str]
) -> None:
    """Raise when nothing in the file could be read, listing what was wrong."""
    total_lines = sum(len(s.lines) for s in statements)
    rejected = [reject for s in statements for reject in s.rejected]
    if not statements:
        raise StatementFormatError(
            f"{source}: no statement could be read: " + "; ".join(problems)
        )
    if total_lines == 0 and rejected:
        details = "; ".join(
            f"transaction {r.position} (FITID {r.fitid or 'missing'}): {r.reason}"
            for r in rejected[:5]
        )
        raise StatementFormatError(
            f"{source}: every transaction was rejected, {details}; fix the export and "
            "read it again"
        )
    for problem in problems:
        logger.warning("%s: statement skipped: %s", source, problem)


# CSV -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CsvLayout:
    """Which CSV columns hold which field, named by header text.

    Give either `amount_column` or both `debit_column` and `credit_column`; debits are
    taken as money out whatever their sign. `column_names` names the columns of a file
    without a header row. Without `fitid_column`, each line gets a hash of its row.
    """

    date_column: str
    date_format: str
    amount_column: str | None = None
    debit_column: str | None = None
    credit_column: str | None = None
    description_column: str | None = None
    memo_column: str | None = None
    reference_column: str | None = None
    fitid_column: str | None = None
    check_number_column: str | None = None
    type_column: str | None = None
    decimal_separator: str = "."
    delimiter: str = ","
    column_names: tuple[str, ...] | None = None
    currency_symbols: str = "$€£"
    optional_columns: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        single = self.amount_column is not None
        split = self.debit_column is not None and self.credit_column is not None
        if single == split:
            raise StatementFormatError(
                "CSV layout needs either amount_column or both debit_column and "
                "credit_column, not both"
            )
        if self.decimal_separator not in {".", ","}:
            raise StatementFormatError(
                f"CSV layout decimal_separator {self.decimal_separator!r} is invalid; "
                "use '.' or ','"
            )

    def required_columns(self) -> list[str]:
        names = [
            self.date_column,
            self.amount_column,
            self.debit_column,
            self.credit_column,
        ]
        names += [self.description_column, self.memo_column, self.reference_column]
        names += [self.fitid_column, self.check_number_column, self.type_column]
        return [n for n in names if n is not None and n not in self.optional_columns]


# Column names as the banks' download files have them, as read by public parsers of
# those exports: Chase checking (Details, Posting Date, Description, Amount, Type,
# Balance, Check or Slip #) and Wells Fargo (no header: date, amount, '*', check number,
# description). NOTE: not checked against a current download from either bank.
CSV_PRESETS: Mapping[str, CsvLayout] = {
    "chase_checking": CsvLayout(
        date_column="Posting Date",
        date_format="%m/%d/%Y",
        amount_column="Amount",
        description_column="Description",
        check_number_column="Check or Slip #",
        type_column="Type",
        optional_columns=frozenset({"Check or Slip #", "Type"}),
    ),
    "wells_fargo": CsvLayout(
        date_column="Date",
        date_format="%m/%d/%Y",
        amount_column="Amount",
        description_column="Description",
        check_number_column="Check Number",
        column_names=("Date", "Amount", "*", "Check Number", "Description"),
    ),
}


def read_csv(
    path: str | Path,
    layout: CsvLayout,
    account_id: str,
    currency: str = "USD",
    encoding: str = "utf-8-sig",
) -> StatementImport:
    """Read a bank's CSV export into statement lines of one account.

    Raises StatementFormatError when the file is not text in `encoding`.
    """
    file_path = Path(path)
    try:
        text = file_path.read_bytes().decode(encoding)
    except UnicodeDecodeError as error:
        raise StatementFormatError(
            f"{file_path.name}: not {encoding} text ({error.reason} at byte "
            f"{error.start}); pass the file's encoding, such as cp1252"
        ) from None
    return parse_csv(text, layout, account_id, currency, file_path.name)


def parse_csv(
    text: str,
    layout: CsvLayout,
    account_id: str,
    currency: str = "USD",
    source: str = "<csv>",
) -> StatementImport:
    """Parse CSV text with `layout`; rows that cannot be read come back as rejects.

    Rows before the header (a summary block some banks put first) are skipped. Raises
    StatementFormatError when the header is not found or no row can be read.
    """
    check_currency(currency)
    rows = _csv_rows(text, layout, source)
    lines: list[StatementLine] = []
    rejected: list[RejectedLine] = []
    seen_fitids: set[str] = set()
    occurrences: Counter[tuple[str, ...]] = Counter()
    for position, row in rows:
        fitid = (
            row.get(layout.fitid_column, "") if layout.fitid_column else ""
        ).strip()
        try:
            line = _csv_line(row, layout, account_id, currency, occurrences)
        except (InvalidAmountError, StatementFormatError) as error:
            rejected.append(RejectedLine(position, fitid, str(error)))
            continue
        if line.fitid in seen_fitids:
            reason = f"FITID {line.fitid} repeats an earlier row of this file"
            rejected.append(RejectedLine(position, fitid, reason))
            continue
        seen_fitids.add(line.fitid)
        lines.append(line)

    posted = [line.posted_date for line in lines]
    statement = Statement(
        account_id,
        currency,
        tuple(lines),
        tuple(rejected),
        start_date=min(posted, default=None),
        end_date=max(posted, default=None),
    )
    _raise_if_unreadable(source, [statement], [])
    logger.info("read %s: %d lines, %d rejected", source, len(lines), len(rejected))
    return StatementImport(source, (statement,))


def _csv_rows(
    text: str, layout: CsvLayout, source: str
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (row number in the file, row by column name) for each data row."""
    reader = csv.reader(io.StringIO(text), delimiter=layout.delimiter)
    header: list[str] | None = (
        list(layout.column_names) if layout.column_names else None
    )
    required = layout.required_columns()
    rows = list(reader)
    start = 0
    if header is None:
        for index, row in enumerate(rows[:50]):
            cells = [cell.strip() for cell in row]
            if all(name in cells for name in required):
                header, start = cells, index + 1
                break
        if header is None:
            raise StatementFormatError(
                f"{source}: no header row with the columns {required} in the first 50 "
                "rows; check the CSV layout or the file"
            )
    for index, row in enumerate(rows[start:], start=start + 1):
        if not any(cell.strip() for cell in row):
            continue
        yield index, dict(zip(header, row, strict=False))


def _csv_line(
    row: dict[str, str],
    layout: CsvLayout,
    account_id: str,
    currency: str,
    occurrences: Counter[tuple[str, ...]],
) -> StatementLine:
    def cell(column: str | None) -> str:
        return (row.get(column) or "").strip() if column else ""

    raw_date = cell(layout.date_column)
    try:
        posted_date = datetime.strptime(raw_date, layout.date_format).date()
    except ValueError:
        raise StatementFormatError(
            f"date {raw_date!r} in column {layout.date_column!r} does not match "
            f"{layout.date_format!r}"
        ) from None
    amount = _csv_amount(cell, layout, currency)

    payee = mask_card_numbers(cell(layout.description_column))
    memo = mask_card_numbers(cell(layout.memo_column))
    check_number = cell(layout.check_number_column)
    reference = cell(layout.reference_column)
    transaction_type = cell(layout.type_column).upper()
    fitid = cell(layout.fitid_column)
    generated = not fitid
    if generated:
        # The id hashes masked text, so no card number is derivable from it.
        content = tuple(mask_card_numbers(cell.strip()) for cell in row.values())
        fitid = generated_fitid(account_id, content, occurrences[content])
        occurrences[content] += 1
    return StatementLine(
        account_id,
        fitid,
        posted_date,
        amount,
        payee,
        memo,
        check_number,
        reference,
        transaction_type,
        generated,
    )


def _csv_amount(cell: Any, layout: CsvLayout, currency: str) -> Money:
    def number(column: str) -> Decimal:
        raw = cell(column)
        cleaned = raw.translate(
            {ord(symbol): None for symbol in layout.currency_symbols}
        )
        negative = cleaned.startswith("(") and cleaned.endswith(")")
        cleaned = cleaned.strip("()")
        if not cleaned:
            return Decimal(0)
        try:
            value = parse_bank_amount(cleaned, layout.decimal_separator)
        except InvalidAmountError as error:
            raise InvalidAmountError(f"column {column!r}: {error}") from None
        return -value if negative else value

    if layout.amount_column is not None:
        if not cell(layout.amount_column):
            raise InvalidAmountError(f"column {layout.amount_column!r} is empty")
        value = number(layout.amount_column)
    else:
        assert layout.debit_column is not None and layout.credit_column is not None
        value = abs(number(layout.credit_column)) - abs(number(layout.debit_column))
    try:
        money = Money.of(value, currency)
    except InvalidAmountError as error:
        raise InvalidAmountError(f"amount {value}: {error}") from None
    _check_storable(money, str(value))
    return money
