"""Scrubber: each rule reports the field, the rule and the fix."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest

from ona_ledger.claims.claim import Address, ClaimFrequency, PayerResponsibility
from ona_ledger.claims.scrub import PayerRules, Severity, scrub
from ona_ledger.errors import PayerRulesError
from ona_ledger.money import Money
from tests.claims import claim_examples as ex

TODAY = date(2026, 3, 2)
RULES = PayerRules.example()


def rules_of(claim: object, **kwargs: object) -> set[str]:
    return scrub(claim, today=TODAY, **kwargs).rules()  # type: ignore[arg-type]


def test_clean_claim_passes() -> None:
    result = scrub(
        ex.claim(prior_authorization="PA-1", referring_provider=ex.REFERRING),
        today=TODAY,
        rules=RULES,
    )
    assert result.findings == ()
    assert result.passed


def test_finding_names_field_rule_fix() -> None:
    bad = ex.claim(billing_provider=ex.BILLING.model_copy(update={"npi": "1234567890"}))
    finding = scrub(bad, today=TODAY).errors[0]
    assert finding.field == "billing_provider.npi"
    assert finding.rule == "npi_check_digit"
    assert "NPPES" in finding.fix
    assert finding.severity is Severity.ERROR


def test_po_box_and_zip() -> None:
    address = Address(
        line1="PO Box 12", city="Portland", state="ME", postal_code="04101"
    )
    bad = ex.claim(billing_provider=ex.BILLING.model_copy(update={"address": address}))
    found = rules_of(bad)
    assert "billing_address_po_box" in found
    assert "zip_9_digits" in found


def test_pointer_and_modifier_limits() -> None:
    lines = (
        ex.line(diagnosis_pointers=(1, 2, 3)),
        ex.line("97140", modifiers=("GP", "59", "KX", "CQ", "XU")),
        ex.line("97530", diagnosis_pointers=(1, 2, 1, 2, 1)),
    )
    found = rules_of(ex.claim(lines=lines))
    assert "pointer_target" in found
    assert "modifier_limit" in found
    assert "pointer_limit" in found


def test_diagnosis_required() -> None:
    found = rules_of(ex.claim(diagnoses=(), lines=(ex.line(diagnosis_pointers=()),)))
    assert "diagnosis_required" in found
    assert "pointer_required" in found


def test_total_must_match_lines() -> None:
    assert "total_matches_lines" in rules_of(
        ex.claim(declared_total=Money.of("200.00"))
    )


def test_medicare_timely_filing() -> None:
    claim = ex.medicare_claim()
    late = scrub(claim, today=date(2027, 2, 11))
    assert "timely_filing" in late.rules()
    assert not late.passed
    assert scrub(claim, today=date(2027, 2, 10)).passed
    near = scrub(claim, today=date(2027, 1, 20))
    assert near.rules() == {"timely_filing_near"}
    assert near.passed


def test_payer_table_filing_limit() -> None:
    late = scrub(
        ex.claim(referring_provider=ex.REFERRING, prior_authorization="A"),
        today=date(2026, 5, 12),
        rules=RULES,
    )
    assert late.rules() == {"timely_filing"}


def test_duplicate_claim() -> None:
    sent = {ex.claim().fingerprint()}
    assert "duplicate" in rules_of(ex.claim(claim_id="C-again"), sent_fingerprints=sent)


def test_replacement_needs_original() -> None:
    for frequency in (ClaimFrequency.REPLACEMENT, ClaimFrequency.VOID):
        found = rules_of(ex.claim(frequency=frequency))
        assert "original_number_required" in found
    assert scrub(ex.replacement_claim(), today=TODAY).passed


def test_unit_limit_across_lines() -> None:
    lines = (ex.line("97110", units=Decimal(3)), ex.line("97110", units=Decimal(2)))
    found = scrub(ex.claim(lines=lines, payer=ex.MEDICARE), today=TODAY, rules=RULES)
    assert "unit_limit" in found.rules()


def test_code_pair_needs_modifier() -> None:
    pair = (ex.line("97530"), ex.line("97140"))
    claim = ex.claim(lines=pair, payer=ex.MEDICARE)
    assert "code_pair" in scrub(claim, today=TODAY, rules=RULES).rules()
    with_59 = ex.claim(
        lines=(ex.line("97530"), ex.line("97140", modifiers=("59",))), payer=ex.MEDICARE
    )
    assert "code_pair" not in scrub(with_59, today=TODAY, rules=RULES).rules()


def test_code_pair_never_allowed() -> None:
    lines = (ex.line("99214"), ex.line("99213", modifiers=("59",)))
    claim = ex.claim(lines=lines, payer=ex.MEDICARE)
    assert "code_pair" in scrub(claim, today=TODAY, rules=RULES).rules()


def test_payer_required_fields() -> None:
    result = scrub(ex.claim(), today=TODAY, rules=RULES)
    missing = {f.field for f in result.errors if f.rule == "payer_required_field"}
    assert missing == {"prior_authorization", "referring_provider"}


def test_prior_payer_must_balance() -> None:
    claim = ex.secondary_claim()
    assert scrub(claim, today=TODAY).passed
    primary = claim.other_payers[0].model_copy(update={"paid": Money.of("100.00")})
    unbalanced = claim.model_copy(update={"other_payers": (primary,)})
    assert "prior_payer_balance" in rules_of(unbalanced)


def test_rules_table_bad_row() -> None:
    table = io.StringIO(
        "rule,payer_id,code,other_code,value,note\nunit_limit,*,97110,,0,x\n"
    )
    with pytest.raises(PayerRulesError, match="line 2"):
        PayerRules.from_csv(table)
    unknown = io.StringIO(
        "rule,payer_id,code,other_code,value,note\nmax_fee,*,97110,,9,x\n"
    )
    with pytest.raises(PayerRulesError, match="unknown rule"):
        PayerRules.from_csv(unknown)


def test_example_table_loaded() -> None:
    assert RULES.unit_limit("87726", "97110") == 4
    assert RULES.timely_filing_days["87726"] == 90


def test_medicare_secondary_needs_type() -> None:
    claim = ex.medicare_claim()
    secondary = claim.subscriber.model_copy(
        update={"responsibility": PayerResponsibility.SECONDARY}
    )
    found = rules_of(claim.model_copy(update={"subscriber": secondary}))
    assert "medicare_secondary_type" in found
