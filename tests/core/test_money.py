"""Money: exact amounts, no floats, and allocations that always sum to the total."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ona_ledger import CurrencyMismatchError, InvalidAmountError, Money
from ona_ledger.money import allocate, split_evenly, total


def test_of_decimal_and_str_agree() -> None:
    assert Money.of(Decimal("12.34")) == Money.of("12.34")


def test_of_str_is_cents() -> None:
    assert Money.of("12.34").cents == 1234


def test_from_minor_is_cents() -> None:
    assert Money.from_minor(1234) == Money.of("12.34")


def test_of_zero_exponent_currency() -> None:
    assert Money.of("1500", "JPY").cents == 1500


def test_of_three_place_currency() -> None:
    assert Money.of("1.234", "KWD").cents == 1234


def test_str_shows_places() -> None:
    assert str(Money.from_minor(-5)) == "-0.05"


def test_format_groups_thousands() -> None:
    assert Money.of("1234.5").format() == "1,234.50 USD"


@pytest.mark.parametrize("value", [12.34, 0.1, float("nan")])
def test_of_float_raises(value: float) -> None:
    with pytest.raises(TypeError, match="is a float; pass a Decimal or a string"):
        Money.of(value)  # type: ignore[arg-type]


def test_of_int_points_to_from_minor() -> None:
    with pytest.raises(TypeError, match=r"use Money\.from_minor"):
        Money.of(12)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [12.5, Decimal("12"), "12", True])
def test_constructor_takes_only_int(value: object) -> None:
    with pytest.raises(TypeError, match="minor units must be an int"):
        Money(value)  # type: ignore[arg-type]


def test_add_float_raises() -> None:
    with pytest.raises(TypeError, match="cannot combine Money with float"):
        Money.of("1.00") + 0.5  # type: ignore[operator]


def test_multiply_float_raises() -> None:
    with pytest.raises(TypeError, match="only be multiplied by an int"):
        Money.of("1.00") * 1.5  # type: ignore[operator]


def test_compare_float_raises() -> None:
    with pytest.raises(TypeError):
        Money.of("1.00") < 2.0  # type: ignore[operator]  # noqa: B015


def test_allocate_float_weight_raises() -> None:
    with pytest.raises(TypeError, match=r"weight 0\.5 is a float"):
        allocate(Money.of("1.00"), [1, 0.5])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("value", "currency", "message"),
    [
        ("12.345", "USD", "more than 2 decimal places for USD"),
        ("12.5", "JPY", "more than 0 decimal places for JPY"),
        ("1.2345", "KWD", "more than 3 decimal places for KWD"),
        ("twelve", "USD", "is not a plain decimal number"),
        ("", "USD", "is not a plain decimal number"),
        ("NaN", "USD", "is not a plain decimal number"),
        ("Infinity", "USD", "is not a plain decimal number"),
        ("12,34", "USD", "commas only between groups of three"),
        (",5", "USD", "is not a plain decimal number"),
        ("1e3", "USD", "is not a plain decimal number"),
        ("1_000", "USD", "is not a plain decimal number"),
        ("\u0661\u0662", "USD", "is not a plain decimal number"),
        ("1" + "0" * 25, "USD", "more than 20 digits"),
    ],
)
def test_of_bad_amount_raises(value: str, currency: str, message: str) -> None:
    with pytest.raises(InvalidAmountError, match=message):
        Money.of(value, currency)


@pytest.mark.parametrize("currency", ["usd", "US", "USDX", "U$D"])
def test_bad_currency_raises(currency: str) -> None:
    with pytest.raises(InvalidAmountError, match="three-letter ISO 4217 code"):
        Money.of("1.00", currency)


def test_add_other_currency_raises() -> None:
    with pytest.raises(
        CurrencyMismatchError, match=r"cannot combine USD 1\.00 with EUR"
    ):
        Money.of("1.00") + Money.of("1.00", "EUR")


def test_compare_other_currency_raises() -> None:
    with pytest.raises(CurrencyMismatchError):
        Money.of("1.00") < Money.of("1.00", "EUR")  # noqa: B015


def test_total_of_empty_is_zero() -> None:
    assert total([], "EUR") == Money.zero("EUR")


def test_total_mixed_currency_raises() -> None:
    with pytest.raises(CurrencyMismatchError):
        total([Money.of("1.00"), Money.of("1.00", "EUR")])


def test_split_three_ways_worked_example() -> None:
    parts = split_evenly(Money.of("100.00"), 3)
    assert parts == [Money.of("33.34"), Money.of("33.33"), Money.of("33.33")]


def test_split_negative_three_ways() -> None:
    parts = split_evenly(Money.of("-100.00"), 3)
    assert parts == [Money.of("-33.34"), Money.of("-33.33"), Money.of("-33.33")]


def test_split_two_cents_four_ways() -> None:
    parts = split_evenly(Money.from_minor(2), 4)
    assert [p.cents for p in parts] == [1, 1, 0, 0]


def test_allocate_exact_shares() -> None:
    # 10.00 by 1:1:1:2 is 2.00 each and 4.00 exactly.
    parts = allocate(Money.of("10.00"), [1, 1, 1, 2])
    assert [p.cents for p in parts] == [200, 200, 200, 400]


def test_allocate_leftover_goes_to_largest_remainder() -> None:
    # 1.00 by 1:2 is 33.33... and 66.66...: the later part has the larger remainder.
    parts = allocate(Money.of("1.00"), [1, 2])
    assert [p.cents for p in parts] == [33, 67]


def test_allocate_decimal_weights() -> None:
    parts = allocate(Money.of("10.00"), [Decimal("0.25"), Decimal("0.75")])
    assert [p.cents for p in parts] == [250, 750]


def test_allocate_zero_weight_gets_nothing() -> None:
    parts = allocate(Money.of("0.05"), [0, 1, 1])
    assert parts[0] == Money.zero()


def test_allocate_huge_amount_sums_exactly() -> None:
    # Decimal division rounds at 28 digits, but the parts must still sum exactly.
    amount = Money.from_minor(10**30)
    assert total(allocate(amount, [1, 1, 1])) == amount


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ([], "at least one weight"),
        ([0, 0], "weights sum to zero"),
        ([1, -1], "weight -1 is negative"),
    ],
)
def test_allocate_bad_weights_raise(weights: list[int], message: str) -> None:
    with pytest.raises(InvalidAmountError, match=message):
        allocate(Money.of("1.00"), weights)


@pytest.mark.parametrize("parts", [0, -1, True])
def test_split_bad_part_count_raises(parts: int) -> None:
    with pytest.raises(InvalidAmountError, match="pass a whole number of 1 or more"):
        split_evenly(Money.of("1.00"), parts)


amounts = st.integers(min_value=-(10**15), max_value=10**15).map(Money.from_minor)
int_weights = st.lists(st.integers(min_value=0, max_value=10**12), min_size=1)
decimal_weights = st.lists(
    st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False), min_size=1
)


@given(amounts, st.one_of(int_weights, decimal_weights))
def test_allocate_sums_to_total(amount: Money, weights: list[int | Decimal]) -> None:
    if sum(weights) == 0:
        weights = [*weights, 1]
    assert total(allocate(amount, weights)) == amount


@given(amounts, st.one_of(int_weights, decimal_weights))
def test_allocate_is_deterministic(amount: Money, weights: list[int | Decimal]) -> None:
    if sum(weights) == 0:
        weights = [*weights, 1]
    assert allocate(amount, weights) == allocate(amount, list(weights))


@given(amounts, st.lists(st.integers(min_value=1, max_value=1000), min_size=1))
def test_allocate_parts_within_a_cent(amount: Money, weights: list[int]) -> None:
    weight_sum = sum(weights)
    for part, weight in zip(allocate(amount, weights), weights, strict=True):
        exact = Decimal(amount.cents) * weight / weight_sum
        assert abs(Decimal(part.cents) - exact) < 1


@given(amounts, st.integers(min_value=1, max_value=50))
def test_split_sums_and_is_even(amount: Money, parts: int) -> None:
    result = split_evenly(amount, parts)
    assert total(result) == amount
    cents = [abs(p.cents) for p in result]
    assert max(cents) - min(cents) <= 1
    assert cents == sorted(cents, reverse=True)


def test_of_decimal_nan_not_finite() -> None:
    with pytest.raises(InvalidAmountError, match="is not finite"):
        Money.of(Decimal("NaN"))


def test_of_thousands_separators() -> None:
    assert Money.of("1,234,567.89") == Money.from_minor(123456789)
