"""Reading OFX and CSV statements: the shared OFX files, hard cases, CSV layouts, dedupe."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ona_ledger.errors import InvalidAmountError, StatementFormatError
from ona_ledger.money import Money
from ona_ledger.reconcile.statements import (
    CSV_PRESETS,
    CsvLayout,
    StatementLine,
    dedupe_lines,
    mask_card_numbers,
    parse_bank_amount,
    parse_csv,
    parse_ofx,
    read_csv,
    read_ofx,
)
from tests.conftest import SHARED_DATA

OFX = SHARED_DATA / "ofx"
DATA = Path(__file__).parent / "data"


def amounts(path: Path) -> list[str]:
    return [str(line.amount) for line in read_ofx(path).lines]


# The shared OFX files -----------------------------------------------------------


def test_bank_medium_lines() -> None:
    result = read_ofx(OFX / "bank_medium.ofx")
    assert amounts(OFX / "bank_medium.ofx") == ["-6.60", "-316.67", "-22.00"]
    assert result.statements[0].currency == "CAD"
    assert result.lines[1].fitid == "0000123456782009040200004"
    assert result.lines[1].check_number == "0"


def test_bank_medium_keeps_local_date() -> None:
    # 20090401122017.000[-5:EST] is 1 April at the bank, whatever UTC says.
    assert read_ofx(OFX / "bank_medium.ofx").lines[0].posted_date == date(2009, 4, 1)


def test_checking_lines() -> None:
    result = read_ofx(OFX / "checking.ofx")
    assert amounts(OFX / "checking.ofx") == ["0.01", "-34.51", "-25.00"]
    assert [line.posted_date for line in result.lines] == [
        date(2011, 3, 31),
        date(2011, 4, 5),
        date(2011, 4, 7),
    ]
    assert result.lines[2].check_number == "319"
    assert result.statements[0].ledger_balance == Money.of("100.99")


def test_checking_account_id() -> None:
    assert (
        read_ofx(OFX / "checking.ofx").statements[0].account_id
        == "5472369148/1452687~7"
    )


def test_fidelity_rejects_sub_cent_amounts() -> None:
    result = read_ofx(OFX / "fidelity-savings.ofx")
    assert amounts(OFX / "fidelity-savings.ofx") == ["-1500.00"]
    assert [reject.position for reject in result.rejected] == [2, 3, 4]
    assert "115.8331" in result.rejected[0].reason
    assert result.rejected[0].fitid == "X0000000000000000000002"


@pytest.mark.parametrize("name", ["multiple_accounts.ofx", "multiple_accounts2.ofx"])
def test_multiple_accounts_without_lines(name: str) -> None:
    result = read_ofx(OFX / name)
    assert [s.account_id for s in result.statements] == ["123/9100", "123/9200"]
    assert result.lines == []
    assert result.statements[1].ledger_balance == Money.of("222")


def test_empty_tags_file() -> None:
    result = read_ofx(OFX / "ofx-v102-empty-tags.ofx")
    line = result.lines[0]
    assert line.amount == Money.of("12.34", "AUD")
    assert line.posted_date == date(2018, 5, 7)
    assert line.memo == "CBA:Transfer"
    assert line.fitid_generated


def test_empty_balance_still_reads_line() -> None:
    result = read_ofx(OFX / "fail_nice" / "empty_balance.ofx")
    assert amounts(OFX / "fail_nice" / "empty_balance.ofx") == ["120.00"]
    assert result.lines[0].posted_date == date(2011, 3, 8)
    assert result.statements[0].ledger_balance is None


@pytest.mark.parametrize(
    ("path", "words"),
    [
        (OFX / "bank_small.ofx", "no bank statement"),
        (OFX / "error_message.ofx", "status 2000"),
        (OFX / "signon_fail.ofx", "status 15500"),
        (OFX / "fail_nice" / "date_missing.ofx", "DTPOSTED is missing"),
        (OFX / "fail_nice" / "decimal_error.ofx", "'$120' is not a number"),
    ],
)
def test_unreadable_files_raise(path: Path, words: str) -> None:
    with pytest.raises(StatementFormatError) as caught:
        read_ofx(path)
    assert path.name in str(caught.value)
    assert words in str(caught.value)


def test_date_missing_names_invalid_date() -> None:
    with pytest.raises(
        StatementFormatError, match="'20120231' is not a valid calendar"
    ):
        read_ofx(OFX / "fail_nice" / "date_missing.ofx")


def test_every_shared_file_reads_or_raises() -> None:
    for path in sorted(OFX.rglob("*.ofx")):
        try:
            result = read_ofx(path)
        except StatementFormatError as error:
            assert str(error).startswith(path.name)
        else:
            assert result.statements


# Hard cases of our own --------------------------------------------------------------


def test_utf8_body_under_ascii_header() -> None:
    line = read_ofx(DATA / "utf8_body_ascii_header.ofx").lines[0]
    assert line.payee == "Dépôt Clinique Médicale"
    assert line.memo == "Virement reçu – Aetna TRN 1512345678"


def test_cp1252_body() -> None:
    assert read_ofx(DATA / "cp1252_body.ofx").lines[0].payee == "Café Zoë dépôt"


def test_headerless_xml_accented() -> None:
    result = read_ofx(DATA / "ofx2_headerless_accented.ofx")
    assert result.lines[0].payee == "Mutuelle Générale – remboursement"
    assert result.lines[0].amount == Money.of("1234.56", "EUR")
    assert result.lines[1].amount == Money.of("-12.50", "EUR")


def test_empty_and_self_closing_tags() -> None:
    result = read_ofx(DATA / "empty_and_self_closing_tags.ofx")
    assert [line.fitid for line in result.lines] == ["E1", "E2", "E3"]
    assert result.lines[0].memo == ""
    assert result.lines[1].payee == ""
    assert result.lines[1].memo == "BATCH DB-77"
    assert result.rejected == []


def test_dates_never_shift_by_time_zone() -> None:
    result = read_ofx(DATA / "date_only_and_time_zones.ofx")
    assert [line.posted_date for line in result.lines] == [date(2026, 11, 3)] * 3


def test_separator_amounts() -> None:
    assert amounts(DATA / "separator_amounts.ofx") == [
        "1234.56",
        "-1025.53",
        "1058.53",
        "1234.56",
    ]


def test_bad_lines_keep_good_ones() -> None:
    result = read_ofx(DATA / "partly_bad.ofx")
    assert [str(line.amount) for line in result.lines] == ["75.00", "80.00", "80.00"]
    assert [reject.position for reject in result.rejected] == [2, 3, 6]
    assert result.rejected[0].fitid == "P2"
    assert "12.3.4" in result.rejected[0].reason
    assert "DTPOSTED is missing" in result.rejected[1].reason
    assert "repeats" in result.rejected[2].reason


def test_identical_lines_without_fitid_differ() -> None:
    result = read_ofx(DATA / "partly_bad.ofx")
    generated = [line.fitid for line in result.lines if line.fitid_generated]
    assert len(set(generated)) == 2


def test_generated_fitid_stable() -> None:
    first = read_ofx(DATA / "partly_bad.ofx").lines
    second = read_ofx(DATA / "partly_bad.ofx").lines
    assert [line.fitid for line in first] == [line.fitid for line in second]


def test_not_ofx_raises() -> None:
    with pytest.raises(StatementFormatError, match="no <OFX> element"):
        parse_ofx(b"Date,Amount\n", "export.csv")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-1234.56", "-1234.56"),
        ("1.234,56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("+1058,53", "1058.53"),
        ("-1 025,53", "-1025.53"),
        ("12.00-", "-12.00"),
        ("-00000000001500.0000", "-1500.0000"),
        ("1.234.567", "1234567"),
        ("100", "100"),
        ("-1500", "-1500"),
    ],
)
def test_parse_bank_amount(text: str, expected: str) -> None:
    assert str(parse_bank_amount(text)) == expected


@pytest.mark.parametrize(
    ("text", "separator", "expected"),
    [
        ("100", ".", "100"),
        ("-1500", ".", "-1500"),
        ("1,234", ".", "1234"),
        ("1,234.56", ".", "1234.56"),
        ("100", ",", "100"),
        ("1.234", ",", "1234"),
        ("1.234,56", ",", "1234.56"),
        ("12.00-", ".", "-12.00"),
    ],
)
def test_parse_bank_amount_layout_mark(
    text: str, separator: str, expected: str
) -> None:
    assert str(parse_bank_amount(text, separator)) == expected


@pytest.mark.parametrize("text", ["$120", "12.3.4", "1,2,3", "abc", "", "1-2"])
def test_parse_bank_amount_rejects(text: str) -> None:
    with pytest.raises(InvalidAmountError):
        parse_bank_amount(text)


# CSV -------------------------------------------------------------------------------


def test_chase_preset() -> None:
    result = read_csv(
        DATA / "chase_checking.csv", CSV_PRESETS["chase_checking"], "chase-1"
    )
    assert [str(line.amount) for line in result.lines] == [
        "1250.40",
        "310.00",
        "-15.00",
        "-200.00",
    ]
    assert result.lines[3].check_number == "1042"
    assert result.lines[2].transaction_type == "FEE_TRANSACTION"
    assert result.rejected[0].position == 6
    assert "13/06/2026" in result.rejected[0].reason


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("100", "100.00"),
        ("-1500", "-1500.00"),
        ('"1,234.56"', "1234.56"),
        ("(12.00)", "-12.00"),
        ("$250", "250.00"),
    ],
)
def test_chase_amount_forms(amount: str, expected: str) -> None:
    text = (
        "Details,Posting Date,Description,Amount,Type,Balance,Check or Slip #\n"
        f"DEBIT,11/05/2026,FEE,{amount},MISC,0.00,\n"
    )
    line = read_csv_text(text, CSV_PRESETS["chase_checking"])[0]
    assert str(line.amount) == expected


@pytest.mark.parametrize(
    ("amount", "expected"), [("100", "100.00"), ("-1500", "-1500.00")]
)
def test_wells_fargo_whole_amounts(amount: str, expected: str) -> None:
    text = f'"11/03/2026","{amount}","*","","TRANSFER"\n'
    line = read_csv_text(text, CSV_PRESETS["wells_fargo"])[0]
    assert str(line.amount) == expected


def test_comma_layout_whole_and_grouped() -> None:
    layout = CsvLayout(
        date_column="Datum",
        date_format="%d.%m.%Y",
        amount_column="Betrag",
        decimal_separator=",",
        delimiter=";",
    )
    text = "Datum;Betrag\n03.11.2026;1.234,56\n04.11.2026;100\n05.11.2026;-1.500\n"
    amounts_read = [str(line.amount) for line in read_csv_text(text, layout)]
    assert amounts_read == ["1234.56", "100.00", "-1500.00"]


def test_wells_fargo_preset() -> None:
    result = read_csv(DATA / "wells_fargo.csv", CSV_PRESETS["wells_fargo"], "wf-1")
    assert [str(line.amount) for line in result.lines] == [
        "1250.40",
        "-200.00",
        "-200.00",
    ]
    assert result.lines[0].posted_date == date(2026, 11, 3)
    assert result.lines[1].fitid != result.lines[2].fitid


def test_debit_credit_layout() -> None:
    layout = CsvLayout(
        date_column="Buchungstag",
        date_format="%d.%m.%Y",
        debit_column="Soll",
        credit_column="Haben",
        description_column="Verwendungszweck",
        reference_column="Referenz",
        decimal_separator=",",
        delimiter=";",
    )
    result = read_csv(DATA / "debit_credit_preamble.csv", layout, "de-1", "EUR")
    assert [str(line.amount) for line in result.lines] == ["1234.56", "-7.90"]
    assert result.lines[0].reference == "R-1"
    assert "'abc' is not a number" in result.rejected[0].reason


def test_csv_fitid_column() -> None:
    layout = CsvLayout(
        date_column="Date",
        date_format="%Y-%m-%d",
        amount_column="Amount",
        fitid_column="Id",
    )
    text = "Date,Amount,Id\n2026-11-03,10.00,T-9\n"
    line = read_csv_text(text, layout)[0]
    assert line.fitid == "T-9"
    assert not line.fitid_generated


def test_csv_missing_header_raises() -> None:
    with pytest.raises(StatementFormatError, match="no header row"):
        read_csv_text("a,b\n1,2\n", CSV_PRESETS["chase_checking"])


def test_csv_layout_needs_one_amount_form() -> None:
    with pytest.raises(StatementFormatError, match="either amount_column"):
        CsvLayout(date_column="Date", date_format="%Y-%m-%d")


def read_csv_text(text: str, layout: CsvLayout) -> list[StatementLine]:
    return parse_csv(text, layout, "acct").lines


# Dedupe ----------------------------------------------------------------------------


def test_second_import_adds_nothing() -> None:
    first = read_ofx(OFX / "checking.ofx").lines
    stored = {line.dedupe_key for line in dedupe_lines(first)}
    again = dedupe_lines(read_ofx(OFX / "checking.ofx").lines, stored)
    assert len(stored) == 3
    assert again == []


def test_dedupe_keeps_other_accounts() -> None:
    line = read_ofx(OFX / "checking.ofx").lines[0]
    other = StatementLine("other", line.fitid, line.posted_date, line.amount)
    assert dedupe_lines([other], {line.dedupe_key}) == [other]


def test_dedupe_within_one_batch() -> None:
    line = read_ofx(OFX / "checking.ofx").lines[0]
    assert dedupe_lines([line, line]) == [line]


# Card numbers in free text ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CARD 4242424242424242", "CARD ************4242"),
        ("4242 4242 4242 4242", "**** **** **** 4242"),
        ("amex 3782-822463-10005 ok", "amex ****-******-*0005 ok"),
        ("4242424242424242 1234", "************4242 1234"),
        ("REF#5555555555554444.", "REF#************4444."),
    ],
)
def test_mask_card_numbers(text: str, expected: str) -> None:
    assert mask_card_numbers(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "4242424242424241",
        "0000123456782009040200004",
        "DOB 01/02/1980 PHONE 555-867-5309",
        "TRN*1*EFT-883201*1512345678",
        "",
    ],
)
def test_mask_card_numbers_keeps_others(text: str) -> None:
    assert mask_card_numbers(text) == text


def test_ofx_payee_memo_masked() -> None:
    body = (
        b"<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><CURDEF>USD<BANKACCTFROM>"
        b"<BANKID>1<ACCTID>2</BANKACCTFROM><BANKTRANLIST><STMTTRN><TRNTYPE>CREDIT"
        b"<DTPOSTED>20261103<TRNAMT>10.00"
        b"<NAME>JOHN SMITH CARD 4242424242424242"
        b"<MEMO>PAID WITH 5555 5555 5555 4444</STMTTRN>"
        b"</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>"
    )
    line = parse_ofx(body).lines[0]
    assert line.payee == "JOHN SMITH CARD ************4242"
    assert line.memo == "PAID WITH **** **** **** 4444"
    assert "4242424242424242" not in line.fitid


def test_csv_description_masked() -> None:
    text = (
        "Details,Posting Date,Description,Amount,Type,Balance,Check or Slip #\n"
        "CREDIT,11/03/2026,REFUND 4242-4242-4242-4242,10.00,ACH,0.00,\n"
    )
    line = read_csv_text(text, CSV_PRESETS["chase_checking"])[0]
    assert line.payee == "REFUND ****-****-****-4242"


def test_csv_generated_fitid_ignores_masked_digits() -> None:
    row = "CREDIT,11/03/2026,CARD {},10.00,ACH,0.00,\n"
    header = "Details,Posting Date,Description,Amount,Type,Balance,Check or Slip #\n"
    first = read_csv_text(
        header + row.format("4242424242424242"), CSV_PRESETS["chase_checking"]
    )
    second = read_csv_text(
        header + row.format("************4242"), CSV_PRESETS["chase_checking"]
    )
    assert first[0].fitid == second[0].fitid


def test_statement_line_masks_on_construction() -> None:
    line = read_ofx(OFX / "checking.ofx").lines[0]
    built = StatementLine(
        "a", "F1", line.posted_date, line.amount, memo="4242424242424242"
    )
    assert built.memo == "************4242"


def test_csv_amount_too_large_rejected() -> None:
    text = (
        "Details,Posting Date,Description,Amount,Type,Balance,Check or Slip #\n"
        "CREDIT,11/03/2026,BIG,99999999999999999999.99,ACH,0.00,\n"
        "CREDIT,11/04/2026,SMALL,10.00,ACH,0.00,\n"
    )
    result = parse_csv(text, CSV_PRESETS["chase_checking"], "acct")
    assert [str(line.amount) for line in result.lines] == ["10.00"]
    assert "larger than the ledger can store" in result.rejected[0].reason


def test_read_csv_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bank.csv"
    path.write_bytes(b"Details,Posting Date\n\xff\n")
    with pytest.raises(StatementFormatError, match="not utf-8-sig text"):
        read_csv(path, CSV_PRESETS["chase_checking"], "acct")
