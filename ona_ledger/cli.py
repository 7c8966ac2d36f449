"""The `ona-ledger` command: the library's jobs from a shell.

Exit status: 0 on success, 1 when a problem is found (a broken chain, an
unreconciled difference), 2 on bad input or usage, with the reason on stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from ona_ledger.errors import InvalidInputError, LedgerError
from ona_ledger.ledger import Ledger
from ona_ledger.store import SqlStore, create_engine, default_db_url, open_ledger

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad command-line input; the message goes to stderr with exit status 2."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except (
        LedgerError,
        UsageError,
        FileNotFoundError,
        IsADirectoryError,
        sa_exc.ArgumentError,
    ) as error:
        print(f"ona-ledger: {error}", file=sys.stderr)
        return EXIT_USAGE
    except ValidationError as error:
        print(f"ona-ledger: {_validation_message(error)}", file=sys.stderr)
        return EXIT_USAGE
    except UnicodeDecodeError as error:
        print(
            f"ona-ledger: an input file is not UTF-8 text ({error.reason} at byte "
            f"{error.start}); save it as UTF-8 and run again",
            file=sys.stderr,
        )
        return EXIT_USAGE
    except json.JSONDecodeError as error:
        print(f"ona-ledger: the file is not valid JSON: {error}", file=sys.stderr)
        return EXIT_USAGE
    except sa_exc.OperationalError as error:
        # A database that cannot be opened is bad input to the command: the
        # reason is the driver's first line, without SQLAlchemy's traceback.
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        print(f"ona-ledger: cannot open the database: {reason}", file=sys.stderr)
        return EXIT_USAGE
    except sa_exc.DatabaseError as error:
        # Such as SQLite's "file is not a database" for a --db that is another file.
        print(
            f"ona-ledger: cannot use the database: {_driver_reason(error)}; check "
            "that --db names an ona-ledger database",
            file=sys.stderr,
        )
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader of our output went away (`| head`); stop quietly, as the
        # Python documentation advises, without a second error at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_PROBLEM


def _validation_message(error: ValidationError) -> str:
    """Format a pydantic error by field and reason, without the input values.

    pydantic's own text repeats each invalid value, which may be a patient's name
    or birth date, and stderr often ends up in logs.
    """
    problems = [
        f"{'.'.join(str(part) for part in item['loc']) or 'value'}: {item['msg']}"
        for item in error.errors(include_input=False, include_url=False)
    ]
    return f"{error.title} is invalid ({len(problems)} problems): " + "; ".join(
        problems
    )


def _driver_reason(error: sa_exc.DBAPIError) -> str:
    """Return the first line of the database driver's message, without SQLAlchemy's notes."""
    text = str(error.orig) if error.orig is not None else str(error)
    lines = text.strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _read_json(path: str, label: str) -> Any:
    """Read a JSON file, raising UsageError that names it when it is not UTF-8 JSON."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise UsageError(
            f"{label} {path} is not UTF-8 text ({error.reason} at byte {error.start}); "
            "save it as UTF-8"
        ) from None
    except json.JSONDecodeError as error:
        raise UsageError(f"{label} {path} is not valid JSON: {error}") from None
    except RecursionError:
        raise UsageError(
            f"{label} {path} nests arrays or objects too deeply to read; fix the file"
        ) from None


def _check_db_url(url: str) -> None:
    """Raise UsageError for a URL of a database the ledger does not support."""
    backend = make_url(url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise UsageError(
            f"database URL scheme {backend!r} is not supported; use a sqlite:/// "
            "or postgresql:// URL"
        )


def _check_window(option: str, day: date | None, days_before: int) -> None:
    """Raise UsageError when `day` less `days_before` days is before 0001-01-01.

    Python dates start at 0001-01-01, and some reports look back a few months
    from the date they are given.
    """
    if day is not None and (day - date.min).days < days_before:
        first = date.min + timedelta(days=days_before)
        raise UsageError(
            f"{option} {day} is out of range; use a date from {first} to {date.max}"
        )


def _build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        default=None,
        help="database URL (default: $ONA_LEDGER_DB, else sqlite:///ona-ledger.db in this folder)",
    )
    common.add_argument(
        "--book", default="main", help="book (clinic) id; default: main"
    )
    common.add_argument("--json", action="store_true", help="print JSON for scripts")

    parser = argparse.ArgumentParser(
        prog="ona-ledger", description="A clinic billing ledger."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser(
        "demo", help="run the example clinic end to end into a fresh SQLite file"
    )
    demo.add_argument("--json", action="store_true", help="print JSON for scripts")
    demo.add_argument(
        "--out", default="ona-demo", help="output folder; default: ./ona-demo"
    )
    demo.add_argument(
        "--processor",
        choices=["simulator", "stripe-fake"],
        default="simulator",
        help="card processor: the offline simulator (default) or the Stripe "
        "adapter against a local fake Stripe on 127.0.0.1",
    )
    demo.set_defaults(handler=_demo)

    init = commands.add_parser(
        "init", parents=[common], help="create the schema and the clinic chart"
    )
    init.add_argument("--name", default=None, help="the clinic's name")
    init.set_defaults(handler=_init)

    post = commands.add_parser(
        "post-visits", parents=[common], help="post charges of signed visits (JSON)"
    )
    post.add_argument("file", help="JSON file: one visit or a list of visits")
    post.add_argument("--fees", required=True, help="fee schedule CSV")
    post.set_defaults(handler=_post_visits)

    era = commands.add_parser(
        "post-era",
        parents=[common],
        help="post an X12 835 remittance; queue denials and unknown claims",
    )
    era.add_argument("file", help="X12 835 file (005010X221A1)")
    era.add_argument(
        "--allow-count-mismatch",
        action="store_true",
        help="accept SE01, GE01 and IEA01 counts that disagree with the file",
    )
    era.set_defaults(handler=_post_era)

    report = commands.add_parser("report", parents=[common], help="print a report")
    report.add_argument(
        "name",
        choices=[
            "trial-balance",
            "providers",
            "income-statement",
            "balance-sheet",
            "aging",
            "revenue",
            "splits",
            "kpis",
            "daily-close",
        ],
    )
    report.add_argument(
        "--as-of", type=_parse_date, default=None, help="last day included (YYYY-MM-DD)"
    )
    report.add_argument(
        "--start", type=_parse_date, default=None, help="first day (YYYY-MM-DD)"
    )
    report.add_argument(
        "--end", type=_parse_date, default=None, help="last day (YYYY-MM-DD)"
    )
    report.add_argument(
        "--by",
        default="provider",
        choices=["provider", "code", "location", "payer"],
        help="revenue: the dimension rows are grouped by",
    )
    report.add_argument(
        "--period",
        default="month",
        choices=["day", "week", "month"],
        help="revenue: the length of each row's period",
    )
    report.add_argument(
        "--split",
        action="append",
        default=[],
        metavar="PROVIDER=SHARE[:charges]",
        help="splits: a provider's share (0-1) of collections, or of charges",
    )
    report.add_argument(
        "--png",
        type=Path,
        default=None,
        help="aging, revenue: also write a chart to this file, in an existing folder",
    )
    report.add_argument(
        "--limit",
        type=int,
        default=None,
        help="aging: the largest N rows of each table",
    )
    report.set_defaults(handler=_report)

    export = commands.add_parser("export", parents=[common], help="export the ledger")
    export.add_argument("format", choices=["beancount", "csv", "quickbooks", "xero"])
    export.add_argument(
        "--account-map",
        type=Path,
        default=None,
        help="quickbooks, xero: CSV of account,name or account,code",
    )
    export.add_argument(
        "--tax-rate", default=None, help="xero: the tax rate name on every line"
    )
    export.add_argument(
        "--date-format",
        default="us",
        choices=["us", "day-first"],
        help="quickbooks: MM/DD/YYYY (us) or DD/MM/YYYY",
    )
    export.add_argument(
        "--out", default=None, help="file to write; default: standard output"
    )
    export.add_argument(
        "--start", type=_parse_date, default=None, help="first day (YYYY-MM-DD)"
    )
    export.add_argument(
        "--end", type=_parse_date, default=None, help="last day (YYYY-MM-DD)"
    )
    export.set_defaults(handler=_export)

    verify = commands.add_parser("verify", parents=[common], help="walk the hash chain")
    verify.set_defaults(handler=_verify)

    autopay = commands.add_parser(
        "run-autopay",
        parents=[common],
        help="charge the payment-plan and membership instalments due",
    )
    autopay.add_argument(
        "--as-of",
        type=_parse_date,
        required=True,
        help="charge what is due by this day (YYYY-MM-DD)",
    )
    autopay.add_argument(
        "--processor",
        choices=["simulator"],
        default="simulator",
        help="card processor; only the offline simulator until the Stripe adapter lands",
    )
    autopay.add_argument(
        "--test-card",
        action="append",
        default=[],
        metavar="NUMBER",
        help="simulator only: a test card number whose token plans may hold; repeatable",
    )
    autopay.set_defaults(handler=_run_autopay)

    statement = commands.add_parser(
        "import-statement",
        parents=[common],
        help="store bank statement lines (OFX or CSV); lines already stored are skipped",
    )
    statement.add_argument("file", help="the bank's OFX or CSV export")
    statement.add_argument(
        "--format",
        choices=["ofx", "csv"],
        default=None,
        help="file format; default: from the file name's extension",
    )
    statement.add_argument(
        "--csv-layout",
        default="chase_checking",
        help="CSV column layout: chase_checking or wells_fargo; default: chase_checking",
    )
    statement.add_argument(
        "--bank-account-id",
        default=None,
        help="bank account id of a CSV's lines; default: the file name without extension",
    )
    statement.add_argument(
        "--account",
        default="Assets:Bank:Operating",
        help="ledger account the statement belongs to; default: Assets:Bank:Operating",
    )
    statement.set_defaults(handler=_import_statement)

    reconcile = commands.add_parser(
        "reconcile",
        parents=[common],
        help="match statement lines to the ledger; exit 1 while differences remain",
    )
    reconcile.add_argument(
        "--account",
        default="Assets:Bank:Operating",
        help="ledger bank account; default: Assets:Bank:Operating",
    )
    reconcile.add_argument(
        "--confirm",
        action="append",
        default=[],
        metavar="FITID",
        help="post the suggested entry of this fee, interest or returned-item line "
        "(repeatable)",
    )
    reconcile.set_defaults(handler=_reconcile)

    claims = commands.add_parser(
        "claims", help="draft, scrub and send insurance claims of signed visits"
    )
    claim_commands = claims.add_subparsers(dest="claims_command", required=True)
    clinic = argparse.ArgumentParser(add_help=False)
    clinic.add_argument(
        "--clinic",
        required=True,
        help="clinic JSON file: billing provider, providers, payers, 837P envelope, demographics",
    )
    scrub = claim_commands.add_parser(
        "scrub",
        parents=[common, clinic],
        help="draft the claims of insured visits and scrub every unsent one",
    )
    scrub.add_argument(
        "--today",
        type=_parse_date,
        default=None,
        help="send date for the filing limits (YYYY-MM-DD); default: today",
    )
    scrub.set_defaults(handler=_claims_scrub)
    batch = claim_commands.add_parser(
        "837P",
        parents=[common, clinic],
        help="write the scrubbed claims into one X12 837P file and mark them submitted",
    )
    batch.add_argument("--out", required=True, help="837P file to write")
    batch.set_defaults(handler=_claims_837p)
    form = claim_commands.add_parser(
        "cms1500", parents=[common, clinic], help="write a claim as a CMS-1500 PDF"
    )
    form.add_argument("claim", help="claim id (the visit id)")
    form.add_argument("--out", required=True, help="PDF file to write")
    form.add_argument(
        "--signed-on",
        type=_parse_date,
        default=None,
        help="date printed in items 12, 13 and 31 (YYYY-MM-DD); default: today",
    )
    form.add_argument(
        "--data-only",
        action="store_true",
        help="print only the values, for the red pre-printed form",
    )
    form.add_argument(
        "--offset",
        default="0,0",
        help="RIGHT,DOWN shift of every value in points (72 to the inch) to match the printer",
    )
    form.set_defaults(handler=_claims_cms1500)

    superbill = commands.add_parser(
        "superbill",
        parents=[common, clinic],
        help="write a superbill PDF of a self-pay invoice for the patient's insurer or HSA",
    )
    superbill.add_argument("invoice", help="invoice id, such as INV-V-2026-0301")
    superbill.add_argument("--out", required=True, help="PDF file to write")
    superbill.set_defaults(handler=_superbill)
    return parser


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"date {text!r} is invalid; use YYYY-MM-DD"
        ) from None


def _open(args: argparse.Namespace, create: bool = False) -> Ledger:
    url = args.db or default_db_url()
    _check_db_url(url)
    ledger = (
        open_ledger(url, args.book, create=True)
        if create
        else _open_existing(url, args.book)
    )
    return ledger


def _open_existing(url: str, book: str) -> Ledger:
    """Open a book that `init` created; a missing file, schema or book is a usage error."""
    parsed = make_url(url)
    database = parsed.database or ""
    is_sqlite_file = parsed.drivername.startswith("sqlite") and database not in (
        "",
        ":memory:",
    )
    if is_sqlite_file and not Path(database).exists():
        # Checked first because connecting would create an empty file.
        raise UsageError(
            f"database file {database} does not exist; run "
            f"`ona-ledger init --db {url} --book {book}` first"
        )
    engine = create_engine(url)
    display_url = parsed.render_as_string(hide_password=True)
    try:
        with engine.connect():
            pass
    except sa_exc.DatabaseError as error:
        raise UsageError(
            f"cannot connect to database {display_url}: {_driver_reason(error)}; check "
            "that the URL names an ona-ledger database and its server is running"
        ) from None
    store = SqlStore(engine)
    try:
        exists = store.book_exists(book)
    except (sa_exc.OperationalError, sa_exc.ProgrammingError):
        raise UsageError(
            f"database {display_url} has no ona-ledger "
            f"tables; run `ona-ledger init --book {book}` with the same --db first"
        ) from None
    if not exists:
        raise UsageError(
            f"book {book} does not exist in {parsed.render_as_string(hide_password=True)}; "
            f"run `ona-ledger init --book {book}` with the same --db first, or pass the "
            "--book the data was posted to"
        )
    return Ledger(store, book)


def _emit(args: argparse.Namespace, document: Any, text: str) -> None:
    if args.json:
        print(json.dumps(document, indent=2, default=str))
    else:
        print(text)


def _demo(args: argparse.Namespace) -> int:
    from ona_ledger.demo import format_demo, run_demo

    result = run_demo(Path(args.out), processor_name=args.processor)
    ok = result.chain_ok and not result.beancount_errors and result.beancount_matches
    document = {
        "events": result.log,
        "invoices": [
            {
                "invoice": i.invoice_id,
                "status": i.status.value,
                "charged": str(i.charged),
                "patient_due": str(i.patient_due),
            }
            for i in result.invoices
        ],
        "beancount": str(result.beancount_path),
        "beancount_errors": result.beancount_errors,
        "chain_ok": result.chain_ok,
    }
    _emit(args, document, format_demo(result))
    return EXIT_OK if ok else EXIT_PROBLEM


def _init(args: argparse.Namespace) -> int:
    url = args.db or default_db_url()
    _check_db_url(url)
    ledger = open_ledger(url, args.book, create=True, book_name=args.name)
    accounts = [account.name for account in ledger.accounts()]
    _emit(
        args,
        {"book": args.book, "accounts": accounts},
        f"book {args.book} ready with {len(accounts)} accounts",
    )
    return EXIT_OK


def _post_visits(args: argparse.Namespace) -> int:
    from ona_ledger.billing.charges import price_lines, sign_visit
    from ona_ledger.billing.fees import FeeSchedule
    from ona_ledger.billing.visits import Visit

    payload = _read_json(args.file, "visits file")
    items = payload if isinstance(payload, list) else [payload]
    visits = [Visit.model_validate(item) for item in items]
    fees = FeeSchedule.from_csv(args.fees)
    ledger = _open(args)
    # Check every visit before posting any, so a bad file posts nothing.
    for visit in visits:
        if visit.book_id != ledger.book_id:
            raise UsageError(
                f"visit {visit.visit_id} belongs to book {visit.book_id}, not "
                f"{ledger.book_id}; pass --book {visit.book_id}"
            )
        price_lines(visit, fees)
    results = []
    for visit in visits:
        signed = sign_visit(ledger, visit, fees, actor=visit.provider.provider_id)
        total = sum(line.amount.cents for line in signed.lines)
        results.append(
            {
                "visit": visit.visit_id,
                "invoice": signed.invoice_id,
                "entry": signed.entry.id if signed.entry else None,
                "total": _money(total),
            }
        )
    text = "\n".join(
        f"{r['visit']}: {r['total']} on {r['invoice']}"
        + (f", entry {r['entry']}" if r["entry"] else ", already posted")
        for r in results
    )
    _emit(args, results, text)
    return EXIT_OK


def _post_era(args: argparse.Namespace) -> int:
    from ona_ledger.claims import queues
    from ona_ledger.claims.era import read_835
    from ona_ledger.claims.posting import (
        format_outcome,
        outcome_document,
        post_remittance_file,
    )

    remittance_file = read_835(args.file, strict_counts=not args.allow_count_mismatch)
    ledger = _open(args)
    outcomes = post_remittance_file(ledger, remittance_file, actor="post-era")
    denial_keys = {key for o in outcomes for c in o.claims for key in c.denials}
    unmatched_keys = {key for o in outcomes for c in o.claims for key in c.unmatched}
    unmatched_keys |= {
        item["key"]
        for item in queues.list_unmatched(ledger)
        if any(item["trace_number"] == o.trace_number for o in outcomes)
    }
    denials = [i for i in queues.list_denials(ledger) if i["key"] in denial_keys]
    unmatched = [i for i in queues.list_unmatched(ledger) if i["key"] in unmatched_keys]
    text = [line for outcome in outcomes for line in format_outcome(outcome)]
    text += ["", f"Denials queued: {len(denials)}"]
    text += [line for item in denials for line in queues.format_denial(item)]
    text += ["", f"Unmatched, held in suspense: {len(unmatched)}"]
    text += [line for item in unmatched for line in queues.format_unmatched(item)]
    document = {
        "remittances": [outcome_document(outcome) for outcome in outcomes],
        "denials": denials,
        "unmatched": unmatched,
    }
    _emit(args, document, "\n".join(text))
    return EXIT_OK


def _money(cents: int) -> str:
    from ona_ledger.money import Money

    return str(Money(cents))


def _report(args: argparse.Namespace) -> int:
    from ona_ledger.reports.aging import BUCKET_DAYS

    # Aging looks back over its buckets from --as-of, and key figures look back
    # 89 days from --end or --as-of when no --start is given.
    if args.name in ("aging", "kpis"):
        days_before = max(*BUCKET_DAYS, 89)
        _check_window("--as-of", args.as_of, days_before)
        _check_window("--end", args.end, days_before)
    if args.png is not None and not args.png.parent.is_dir():
        # Like --out, --png writes into an existing folder and never creates one.
        raise UsageError(
            f"--png {args.png}: folder {args.png.parent} does not exist; create it "
            "first or write the chart elsewhere"
        )
    ledger = _open(args)
    if args.name not in ("trial-balance", "providers"):
        from ona_ledger.reports.commands import ReportOptions, run_report

        options = ReportOptions(
            today=ledger.clock().date(),
            as_of=args.as_of,
            start=args.start,
            end=args.end,
            group_by=args.by,
            period=args.period,
            splits=tuple(args.split),
            png=args.png,
            limit=args.limit,
        )
        output = run_report(ledger, args.name, options)
        _emit(args, output.document, output.text)
        return EXIT_OK if output.ok else EXIT_PROBLEM
    if args.name == "trial-balance":
        from ona_ledger.reports.trial_balance import format_trial_balance, trial_balance

        report = trial_balance(ledger, as_of=args.as_of)
        document = {
            "as_of": args.as_of,
            "rows": [
                {"account": r.account, "debit": str(r.debit), "credit": str(r.credit)}
                for r in report.rows
            ],
            "total_debit": str(report.total_debit),
            "total_credit": str(report.total_credit),
        }
        _emit(args, document, format_trial_balance(report))
        return EXIT_OK if report.balanced else EXIT_PROBLEM
    from ona_ledger.reports.providers import provider_revenue

    rows = provider_revenue(ledger, end=args.as_of)
    provider_rows = [
        {
            "provider": r.provider,
            "charges": str(r.charges),
            "collections": str(r.collections),
            "adjustments": str(r.adjustments),
        }
        for r in rows
    ]
    text = "\n".join(
        [f"{'Provider':<12}{'Charges':>12}{'Collected':>12}{'Adjusted':>12}"]
        + [
            f"{r.provider:<12}{r.charges!s:>12}{r.collections!s:>12}{r.adjustments!s:>12}"
            for r in rows
        ]
    )
    _emit(args, provider_rows, text)
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    from ona_ledger.export.beancount import check_beancount_period, export_beancount
    from ona_ledger.export.csv_journal import check_period

    # Checked before any output, so a bad period writes no file and no text.
    if args.format == "beancount":
        check_beancount_period(args.start, args.end)
    else:
        check_period(args.start, args.end)
    ledger = _open(args)
    if args.format != "beancount":
        from ona_ledger.export.commands import run_export

        if not args.out:
            raise InvalidInputError(
                f"export {args.format} needs --out FILE; it writes a file, not standard output"
            )
        written = run_export(
            ledger,
            args.format,
            Path(args.out),
            start=args.start,
            end=args.end,
            account_map=args.account_map,
            tax_rate=args.tax_rate,
            date_format=args.date_format,
        )
        names = [str(path) for path in written]
        _emit(args, {"written": names}, "wrote " + ", ".join(names))
        return EXIT_OK
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            export_beancount(ledger, handle, start=args.start, end=args.end)
        if args.json:
            print(json.dumps({"written": args.out}))
        else:
            print(f"wrote {args.out}", file=sys.stderr)
    else:
        export_beancount(ledger, sys.stdout, start=args.start, end=args.end)
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    ledger = _open(args)
    result = ledger.verify()
    document = {
        "ok": result.ok,
        "entries_checked": result.entries_checked,
        "first_bad_entry": result.first_bad_seq,
        "problem": result.problem,
    }
    if result.ok:
        text = f"hash chain verified: {result.entries_checked} entries"
    else:
        text = f"hash chain broken at entry {args.book}/{result.first_bad_seq}: {result.problem}"
    _emit(args, document, text)
    return EXIT_OK if result.ok else EXIT_PROBLEM


def _claims_scrub(args: argparse.Namespace) -> int:
    from ona_ledger.claims.from_visit import load_clinic
    from ona_ledger.claims.lifecycle import draft_claims, scrub_claims

    clinic = load_clinic(args.clinic)
    ledger = _open(args)
    draft_claims(ledger, clinic.config)
    today = args.today or ledger.clock().date()
    results = scrub_claims(ledger, clinic.rules, today=today)
    document = [
        {
            "claim": result.claim_id,
            "passed": result.passed,
            "findings": [
                {
                    "severity": f.severity.value,
                    "field": f.field,
                    "rule": f.rule,
                    "message": f.message,
                    "fix": f.fix,
                }
                for f in result.findings
            ],
        }
        for result in results
    ]
    lines = []
    for result in results:
        verdict = "scrubbed clean" if result.passed else "blocked"
        lines.append(f"claim {result.claim_id}: {verdict}")
        lines += [f"  {finding}" for finding in result.findings]
    blocked = sum(1 for result in results if not result.passed)
    lines.append(f"{len(results)} claims scrubbed, {blocked} blocked")
    _emit(args, document, "\n".join(lines))
    return EXIT_PROBLEM if blocked else EXIT_OK


def _claims_837p(args: argparse.Namespace) -> int:
    from ona_ledger.claims.from_visit import load_clinic
    from ona_ledger.claims.lifecycle import submit_claims

    clinic = load_clinic(args.clinic)
    ledger = _open(args)
    written = submit_claims(
        ledger,
        clinic.demographics,
        clinic.config.interchange,
        Path(args.out),
        now=ledger.clock(),
    )
    document = {
        "file": args.out,
        "interchange_control_number": written.interchange_control_number,
        "group_control_number": written.group_control_number,
        "transactions": [
            {
                "control_number": t.control_number,
                "payer": t.payer_id,
                "claims": list(t.claim_ids),
            }
            for t in written.transactions
        ],
    }
    text = [
        f"wrote {args.out}: interchange {written.interchange_control_number:09d}, "
        f"group {written.group_control_number}"
    ]
    text += [
        f"  transaction {t.control_number:04d} to payer {t.payer_id}: "
        f"{', '.join(t.claim_ids)} submitted"
        for t in written.transactions
    ]
    _emit(args, document, "\n".join(text))
    return EXIT_OK


def _claims_cms1500(args: argparse.Namespace) -> int:
    from ona_ledger.claims.cms1500 import render_cms1500
    from ona_ledger.claims.from_visit import load_clinic
    from ona_ledger.claims.lifecycle import get_claim

    try:
        right, down = (float(part) for part in args.offset.split(","))
    except ValueError:
        raise UsageError(
            f"offset {args.offset!r} is invalid; give RIGHT,DOWN in points, such as 3,-1.5"
        ) from None
    clinic = load_clinic(args.clinic)
    ledger = _open(args)
    claim = get_claim(ledger, args.claim).claim
    pdf = render_cms1500(
        claim,
        clinic.demographics,
        signed_on=args.signed_on or ledger.clock().date(),
        full_form=not args.data_only,
        offset_points=(right, down),
    )
    Path(args.out).write_bytes(pdf)
    document = {"file": args.out, "claim": claim.claim_id, "status": claim.status}
    _emit(args, document, f"wrote {args.out}: CMS-1500 of claim {claim.claim_id}")
    return EXIT_OK


def _superbill(args: argparse.Namespace) -> int:
    from ona_ledger.claims.from_visit import load_clinic, superbill_from_invoice
    from ona_ledger.claims.superbill import render_superbill

    clinic = load_clinic(args.clinic)
    ledger = _open(args)
    superbill = superbill_from_invoice(
        ledger, args.invoice, clinic, issued_on=ledger.clock().date()
    )
    Path(args.out).write_bytes(render_superbill(superbill, clinic.demographics))
    document = {
        "file": args.out,
        "invoice": args.invoice,
        "total_fees": str(superbill.total_fees),
        "amount_paid": str(superbill.amount_paid),
        "paid_in_full": superbill.paid_in_full,
    }
    state = "paid in full" if superbill.paid_in_full else f"{superbill.balance_due} due"
    text = (
        f"wrote {args.out}: superbill of {args.invoice}, {superbill.total_fees} "
        f"charged, {superbill.amount_paid} paid, {state}"
    )
    _emit(args, document, text)
    return EXIT_OK


def _import_statement(args: argparse.Namespace) -> int:
    from ona_ledger.reconcile.statements import CSV_PRESETS, read_csv, read_ofx
    from ona_ledger.reconcile.store import import_statement

    path = Path(args.file)
    kind = args.format or ("csv" if path.suffix.lower() == ".csv" else "ofx")
    if kind == "csv":
        layout = CSV_PRESETS.get(args.csv_layout)
        if layout is None:
            raise UsageError(
                f"CSV layout {args.csv_layout!r} is unknown; use one of "
                f"{', '.join(sorted(CSV_PRESETS))}"
            )
        imported = read_csv(path, layout, args.bank_account_id or path.stem)
    else:
        imported = read_ofx(path)
    result = import_statement(_open(args), imported, account=args.account)
    document = {
        "source": result.source,
        "account": result.account,
        "added": len(result.added),
        "already_stored": len(result.duplicates),
        "rejected": [
            {"position": r.position, "fitid": r.fitid, "reason": r.reason}
            for r in result.rejected
        ],
    }
    text = (
        f"{result.source}: {len(result.added)} lines added to {result.account}, "
        f"{len(result.duplicates)} already stored, {len(result.rejected)} rejected"
    )
    text += "".join(
        f"\n  rejected transaction {r.position} (FITID {r.fitid or 'missing'}): {r.reason}"
        for r in result.rejected
    )
    _emit(args, document, text)
    return EXIT_OK


def _reconcile(args: argparse.Namespace) -> int:
    from ona_ledger.reconcile.report import confirm_difference, reconcile

    ledger = _open(args)
    for fitid in args.confirm:
        confirm_difference(ledger, fitid, account=args.account, actor="cli")
    report = reconcile(ledger, args.account)
    _emit(args, report.to_dict(), "\n".join(report.summary_lines()))
    return EXIT_OK if report.is_clean else EXIT_PROBLEM


def _run_autopay(args: argparse.Namespace) -> int:
    from ona_ledger.plans.autopay import run_autopay
    from ona_ledger.processors.simulator import SimulatorProcessor

    processor = SimulatorProcessor()
    for number in args.test_card:
        processor.tokenize(number)
    report = run_autopay(_open(args), processor, args.as_of)
    document = report.as_json()
    text = "\n".join(f"{name}: {value}" for name, value in document.items())
    _emit(args, document, text)
    return EXIT_PROBLEM if report.errors else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
