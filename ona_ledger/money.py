"""Exact money: integer minor units inside, Decimal or str at the edges, never float."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Final

from ona_ledger.errors import CurrencyMismatchError, InvalidAmountError

# ISO 4217 minor-unit exponents for the currencies that differ from 2.
_EXPONENTS: Final = {"JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3}
_CURRENCY_CHARS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
# An optional sign, ASCII digits with commas only between groups of three,
# and an optional fraction: no exponents, underscores or other scripts' digits.
_DECIMAL_TEXT: Final = re.compile(
    r"[+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?|[+-]?\.[0-9]+", re.ASCII
)
# Decimal's default context keeps 28 significant digits; staying well below it
# keeps the conversion to minor units exact.
_MAX_INTEGER_DIGITS: Final = 20


def currency_exponent(currency: str) -> int:
    """Return the number of minor-unit digits of an ISO 4217 currency code."""
    return _EXPONENTS.get(currency, 2)


def check_currency(currency: str) -> str:
    """Return the currency code unchanged, or raise if it is not three capitals."""
    if (
        not isinstance(currency, str)
        or len(currency) != 3
        or not set(currency) <= _CURRENCY_CHARS
    ):
        raise InvalidAmountError(
            f"currency {currency!r} is invalid; use a three-letter ISO 4217 code such as 'USD'"
        )
    return currency


def parse_amount(value: Decimal | str, currency: str = "USD") -> int:
    """Convert a Decimal or decimal string into integer minor units, exactly.

    Raises TypeError for a float and InvalidAmountError for text that is not a
    plain decimal or that has more fractional digits than the currency allows.
    """
    if isinstance(value, float):
        raise TypeError(
            f"amount {value!r} is a float; pass a Decimal or a string such as '12.34'"
        )
    if isinstance(value, bool) or not isinstance(value, (Decimal, str)):
        raise TypeError(
            f"amount {value!r} is a {type(value).__name__}; pass a Decimal or a string, "
            "or use Money.from_minor for integer minor units"
        )
    if isinstance(value, str):
        text = value.strip()
        if not _DECIMAL_TEXT.fullmatch(text):
            raise InvalidAmountError(
                f"amount {value!r} is not a plain decimal number; write it like "
                "'1234.56' or '1,234.56' (commas only between groups of three digits)"
            )
        number = Decimal(text.replace(",", ""))
    else:
        number = value
    if not number.is_finite():
        raise InvalidAmountError(f"amount {value!r} is not finite; pass a real amount")
    if number.adjusted() >= _MAX_INTEGER_DIGITS:
        raise InvalidAmountError(
            f"amount {value!r} has more than {_MAX_INTEGER_DIGITS} digits before the "
            "decimal point; no clinic amount is that large, so check the input"
        )
    exponent = currency_exponent(currency)
    scaled = number.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise InvalidAmountError(
            f"amount {value!r} has more than {exponent} decimal places for {currency}; "
            "round it before passing it in"
        )
    return int(scaled)


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An exact amount of one currency, held as integer minor units (cents)."""

    cents: int
    currency: str = "USD"

    def __post_init__(self) -> None:
        if isinstance(self.cents, bool) or not isinstance(self.cents, int):
            raise TypeError(
                f"Money minor units must be an int, not {type(self.cents).__name__} "
                f"{self.cents!r}; use Money.of('12.34') for decimal amounts"
            )
        check_currency(self.currency)

    @classmethod
    def of(cls, amount: Decimal | str, currency: str = "USD") -> Money:
        """Build Money from a Decimal or a decimal string: `Money.of("12.34")`."""
        check_currency(currency)
        return cls(parse_amount(amount, currency), currency)

    @classmethod
    def from_minor(cls, minor_units: int, currency: str = "USD") -> Money:
        """Build Money from integer minor units: `Money.from_minor(1234)` is 12.34."""
        return cls(minor_units, currency)

    @classmethod
    def zero(cls, currency: str = "USD") -> Money:
        return cls(0, currency)

    def to_decimal(self) -> Decimal:
        """Return the amount as a Decimal with the currency's number of places."""
        return Decimal(self.cents).scaleb(-currency_exponent(self.currency))

    def __str__(self) -> str:
        return f"{self.to_decimal():.{currency_exponent(self.currency)}f}"

    def format(self) -> str:
        """Return the amount with thousands separators and its currency: '1,234.50 USD'."""
        return (
            f"{self.to_decimal():,.{currency_exponent(self.currency)}f} {self.currency}"
        )

    def _same_currency(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(
                f"cannot combine Money with {type(other).__name__} {other!r}"
            )
        if other.currency != self.currency:
            raise CurrencyMismatchError(
                f"cannot combine {self.currency} {self} with {other.currency} {other}; "
                "convert one of them first"
            )

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.cents + other.cents, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.cents - other.cents, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.cents, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.cents), self.currency)

    def __mul__(self, factor: int) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int):
            raise TypeError(
                f"Money can only be multiplied by an int, not {factor!r}; "
                "use allocate() to split by weights"
            )
        return Money(self.cents * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.cents < other.cents

    def __le__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.cents <= other.cents

    def __gt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.cents > other.cents

    def __ge__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.cents >= other.cents

    def __bool__(self) -> bool:
        return self.cents != 0

    def is_zero(self) -> bool:
        return self.cents == 0


def total(amounts: Iterable[Money], currency: str = "USD") -> Money:
    """Sum Money values of one currency; the empty sum is zero in `currency`."""
    result = Money(0, currency)
    for amount in amounts:
        result = result + amount
    return result


def allocate(amount: Money, weights: Sequence[int | Decimal]) -> list[Money]:
    """Split `amount` in proportion to `weights`; the parts always sum to `amount`.

    Each part first gets its proportional share rounded toward zero. The cents
    left over go one each to the parts with the largest remainders, and on equal
    remainders to the earlier part, so the result depends only on the inputs.
    Weights must be non-negative ints or Decimals with a positive sum.
    """
    if not weights:
        raise InvalidAmountError(
            "allocate needs at least one weight; pass one weight per part"
        )
    exact_weights: list[Fraction] = []
    for weight in weights:
        if isinstance(weight, float):
            raise TypeError(f"weight {weight!r} is a float; pass an int or a Decimal")
        if isinstance(weight, bool) or not isinstance(weight, (int, Decimal)):
            raise TypeError(f"weight {weight!r} must be an int or a Decimal")
        if weight < 0:
            raise InvalidAmountError(
                f"weight {weight} is negative; weights must be zero or more"
            )
        exact_weights.append(Fraction(weight))
    weight_sum = sum(exact_weights, Fraction(0))
    if weight_sum == 0:
        raise InvalidAmountError(
            "weights sum to zero; give at least one part a positive weight"
        )

    sign = -1 if amount.cents < 0 else 1
    magnitude = abs(amount.cents)
    # Fractions keep every share exact. Decimal division rounds to the context's
    # 28 digits, so on large amounts the rounded floors could miss the total.
    floors: list[int] = []
    remainders: list[Fraction] = []
    for exact_weight in exact_weights:
        share = magnitude * exact_weight / weight_sum
        floor = share.numerator // share.denominator
        floors.append(floor)
        remainders.append(share - floor)
    leftover = magnitude - sum(floors)
    order = sorted(range(len(floors)), key=lambda i: (-remainders[i], i))
    for index in order[:leftover]:
        floors[index] += 1
    return [Money(sign * cents, amount.currency) for cents in floors]


def split_evenly(amount: Money, parts: int) -> list[Money]:
    """Split `amount` into `parts` near-equal parts; earlier parts take the extra cents."""
    if isinstance(parts, bool) or not isinstance(parts, int) or parts < 1:
        raise InvalidAmountError(
            f"cannot split into {parts!r} parts; pass a whole number of 1 or more"
        )
    return allocate(amount, [1] * parts)
