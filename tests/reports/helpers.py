"""A small clinic book whose report figures are worked out by hand in the tests."""

from __future__ import annotations

from datetime import date

from ona_ledger import Entry, Ledger, Money, Posting


def usd(text: str) -> Money:
    return Money.of(text)


def line(code_line: str, patient: str, provider: str, location: str) -> dict[str, str]:
    return {
        "patient": patient,
        "invoice": "INV-" + code_line,
        "invoice_line": code_line,
        "provider": provider,
        "location": location,
    }


L1 = line("L1", "P-1", "DR-A", "LOC1")
L2 = {**line("L2", "P-2", "DR-B", "LOC2"), "payer": "ACME", "claim": "C-2"}
L3 = line("L3", "P-1", "DR-B", "LOC1")
L2_PATIENT = {k: v for k, v in L2.items() if k not in ("payer", "claim")}


def post(
    ledger: Ledger, day: str, narration: str, meta: dict[str, str], *postings: Posting
) -> None:
    ledger.post(
        Entry(date.fromisoformat(day), narration, postings, actor="test", meta=meta)
    )


def fill_clinic(ledger: Ledger) -> None:
    """Post the book every report test reads.

    E1 2026-01-10  P-1 self-pay 99213 by DR-A at LOC1, 100.00 (line L1)
    E2 2026-02-20  P-2 insured by ACME, 99214 by DR-B at LOC2, 150.00 (line L2)
    E3 2026-03-15  P-1 self-pay 36415 by DR-B at LOC1, 20.00 (line L3)
    E4 2026-03-20  P-1 pays 60.00 cash on L1
    E5 2026-03-25  ACME pays 90.00 on L2, contractual 30.00, patient share 20.00
    E6 2026-03-25  courtesy write-off of 10.00 on L1
    E7 2026-03-31  P-1 pays 20.00 by card on L3, fee 0.88
    E8 2026-03-31  the 60.00 cash is deposited in the bank
    """
    ar_pat, ar_ins, income = (
        "Assets:Receivable:Patients",
        "Assets:Receivable:Insurance",
        "Income:Services",
    )
    charge = {"type": "charge"}
    post(
        ledger,
        "2026-01-10",
        "Visit V1",
        charge,
        Posting(ar_pat, usd("100.00"), **L1),
        Posting(income, usd("-100.00"), **L1),
    )
    post(
        ledger,
        "2026-02-20",
        "Visit V2",
        charge,
        Posting(ar_ins, usd("150.00"), **L2),
        Posting(income, usd("-150.00"), **L2),
    )
    post(
        ledger,
        "2026-03-15",
        "Visit V3",
        charge,
        Posting(ar_pat, usd("20.00"), **L3),
        Posting(income, usd("-20.00"), **L3),
    )
    post(
        ledger,
        "2026-03-20",
        "Cash payment",
        {"type": "payment", "method": "cash"},
        Posting("Assets:Clearing:Undeposited", usd("60.00"), patient="P-1"),
        Posting(ar_pat, usd("-60.00"), **L1),
    )
    post(
        ledger,
        "2026-03-25",
        "ACME pays claim C-2",
        {"type": "insurance_payment"},
        Posting("Assets:Clearing:Insurance", usd("90.00"), payer="ACME"),
        Posting("Income:Adjustments:Contractual", usd("30.00"), **L2),
        Posting(ar_pat, usd("20.00"), **L2_PATIENT),
        Posting(ar_ins, usd("-140.00"), **L2),
    )
    post(
        ledger,
        "2026-03-25",
        "Courtesy write-off",
        {"type": "adjustment"},
        Posting("Income:Adjustments:Courtesy", usd("10.00"), **L1),
        Posting(ar_pat, usd("-10.00"), **L1),
    )
    post(
        ledger,
        "2026-03-31",
        "Card payment",
        {"type": "payment", "method": "card"},
        Posting("Assets:Clearing:Processor", usd("19.12"), patient="P-1"),
        Posting("Expenses:ProcessorFees", usd("0.88")),
        Posting(ar_pat, usd("-20.00"), **L3),
    )
    post(
        ledger,
        "2026-03-31",
        "Desk deposit",
        {"type": "deposit"},
        Posting("Assets:Bank:Operating", usd("60.00")),
        Posting("Assets:Clearing:Undeposited", usd("-60.00")),
    )


def store_visit_codes(ledger: Ledger) -> None:
    """Store the visit records that name each line's code, as billing does."""
    for visit, line_id, code in (
        ("V1", "L1", "99213"),
        ("V2", "L2", "99214"),
        ("V3", "L3", "36415"),
    ):
        ledger.store.put_record(
            ledger.book_id,
            "visit",
            visit,
            {"lines": [{"invoice_line": line_id, "code": code}]},
        )
