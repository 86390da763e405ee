"""What a top-up refund takes back besides the top-up credits (SPEC 2.5).

At approval a top-up refund forfeits the order's Discount bonus (debited from the
customer's bonus balance, up to what is left of it) and revokes a referral reward linked
to the order: a pending one is cancelled, a granted one is clawed back from the
referrer's bonus balance, up to what that balance holds. Neither takes a bonus balance
below zero, and neither takes more than was granted.

Pure: micro-dollars in, micro-dollars out.
"""

from __future__ import annotations

from zenmux_refunds.domain.vocabulary import RewardStatus

# A reward a refund still revokes; a revoked one is already gone.
REVOCABLE = frozenset({RewardStatus.PENDING, RewardStatus.GRANTED})


def _check_int(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int, got {value!r}")


def discount_forfeit(*, granted_micros: int, forfeited_micros: int, bonus_micros: int) -> int:
    """What a refund would forfeit of the order's Discount bonus now.

    The part not yet forfeited (``granted - forfeited``), capped by the customer's bonus
    balance (``bonus_micros``, which usage may have spent, even below zero); never
    negative.
    """
    for name, value in (("granted_micros", granted_micros),
                        ("forfeited_micros", forfeited_micros), ("bonus_micros", bonus_micros)):
        _check_int(name, value)
    return max(min(granted_micros - forfeited_micros, bonus_micros), 0)


def reward_clawback(*, reward_micros: int, referrer_bonus_micros: int) -> int:
    """What revoking a *granted* referral reward claws back from the referrer.

    ``min(reward, max(bonus, 0))``: the reward, or what is left of the referrer's bonus
    balance if they already spent part of it.
    """
    _check_int("reward_micros", reward_micros)
    _check_int("referrer_bonus_micros", referrer_bonus_micros)
    if reward_micros < 0:
        raise ValueError(f"reward_micros must not be negative, got {reward_micros}")
    return min(reward_micros, max(referrer_bonus_micros, 0))
