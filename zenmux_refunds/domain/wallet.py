"""The wallet's draw: which credits pay for a call billed to credits (SPEC 2.3).

A wallet holds two buckets of micro-dollars: bonus credits (Discount, Gift, Referral,
Insurance) and top-up credits. Usage is drawn from bonus credits first, then from
top-up credits. A call the gateway has already served is never refused: past an empty
wallet the top-up bucket goes negative. Only a caller that may refuse (loading a
scenario, whose history must add up) asks for a refusal instead.

Pure: plain integers in, a :class:`Draw` or a :class:`Refusal` out.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Draw:
    """How much of one call comes from each bucket (micro-dollars, both >= 0)."""

    from_bonus_micros: int
    from_topup_micros: int

    @property
    def total_micros(self) -> int:
        return self.from_bonus_micros + self.from_topup_micros


@dataclass(frozen=True)
class Refusal:
    """The call would take the top-up bucket below what it holds (and below zero)."""

    shortfall_micros: int  # how much more top-up credit the call needs (> 0)


def draw(amount_micros: int, *, bonus_micros: int, topup_micros: int,
         allow_overdraw: bool) -> Draw | Refusal:
    """Split ``amount_micros`` of usage between the buckets, bonus first.

    ``bonus_micros`` and ``topup_micros`` are the balances held now (either may already
    be negative: a negative bonus gives nothing). The bonus part is all of the amount
    the bonus can cover; the rest comes from top-up credits. If the top-up balance would
    end below zero the draw overdraws: allowed with ``allow_overdraw``, a
    :class:`Refusal` otherwise (so a wallet already overdrawn refuses every draw).
    """
    for name, value in (("amount_micros", amount_micros), ("bonus_micros", bonus_micros),
                        ("topup_micros", topup_micros)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be an int, got {value!r}")
    if amount_micros < 0:
        raise ValueError(f"amount_micros must not be negative, got {amount_micros}")
    from_bonus = min(amount_micros, max(bonus_micros, 0))
    from_topup = amount_micros - from_bonus
    if from_topup > topup_micros and not allow_overdraw:
        return Refusal(shortfall_micros=from_topup - topup_micros)
    return Draw(from_bonus_micros=from_bonus, from_topup_micros=from_topup)
