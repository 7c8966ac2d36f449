"""The `ona-ledger` command: the library's jobs from a shell.

Exit status: 0 on success, 1 when a problem is found (a broken chain, an
unreconciled difference), 2 on bad input or usage, with the reason on stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ona_ledger.errors import LedgerError
from ona_ledger.ledger import Ledger
from ona_ledger.store import default_db_url, open_ledger

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
        ValidationError,
        FileNotFoundError,
        json.JSONDecodeError,
    ) as error:
        print(f"ona-ledger: {error}", file=sys.stderr)
        return EXIT_USAGE


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
        "demo", parents=[common], help="run the example clinic end to end"
    )
    demo.add_argument(
        "--out", default="ona-demo", help="output folder; default: ./ona-demo"
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

    report = commands.add_parser("report", parents=[common], help="print a report")
    report.add_argument("name", choices=["trial-balance", "providers"])
    report.add_argument(
        "--as-of", type=_parse_date, default=None, help="last day included (YYYY-MM-DD)"
    )
    report.set_defaults(handler=_report)

    export = commands.add_parser("export", parents=[common], help="export the ledger")
    export.add_argument("format", choices=["beancount"])
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
    ledger = (
        open_ledger(url, args.book, create=True)
        if create
        else _open_existing(url, args.book)
    )
    return ledger


def _open_existing(url: str, book: str) -> Ledger:
    ledger = open_ledger(url, book, create=False)
    store: Any = ledger.store
    if hasattr(store, "book_exists") and not store.book_exists(book):
        raise UsageError(
            f"book {book} does not exist in {url}; run `ona-ledger init` first"
        )
    return ledger


def _emit(args: argparse.Namespace, document: Any, text: str) -> None:
    if args.json:
        print(json.dumps(document, indent=2, default=str))
    else:
        print(text)


def _demo(args: argparse.Namespace) -> int:
    from ona_ledger.demo import format_demo, run_demo

    result = run_demo(Path(args.out))
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
    ledger = open_ledger(
        args.db or default_db_url(), args.book, create=True, book_name=args.name
    )
    accounts = [account.name for account in ledger.accounts()]
    _emit(
        args,
        {"book": args.book, "accounts": accounts},
        f"book {args.book} ready with {len(accounts)} accounts",
    )
    return EXIT_OK


def _post_visits(args: argparse.Namespace) -> int:
    from ona_ledger.billing.charges import sign_visit
    from ona_ledger.billing.fees import FeeSchedule
    from ona_ledger.billing.visits import Visit

    payload = json.loads(Path(args.file).read_text(encoding="utf-8"))
    items = payload if isinstance(payload, list) else [payload]
    visits = [Visit.model_validate(item) for item in items]
    fees = FeeSchedule.from_csv(args.fees)
    ledger = _open(args)
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


def _money(cents: int) -> str:
    from ona_ledger.money import Money

    return str(Money(cents))


def _report(args: argparse.Namespace) -> int:
    ledger = _open(args)
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
    from ona_ledger.export.beancount import export_beancount

    ledger = _open(args)
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


if __name__ == "__main__":
    sys.exit(main())
