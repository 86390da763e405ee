"""What a top-up refund forfeits and claws back (domain/forfeits.py)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zenmux_refunds.domain.forfeits import REVOCABLE, discount_forfeit, reward_clawback
from zenmux_refunds.domain.vocabulary import RewardStatus

MICROS = st.integers(min_value=0, max_value=10**15)
SIGNED = st.integers(min_value=-(10**15), max_value=10**15)


# ---------------------------------------------------------------- examples


@pytest.mark.parametrize(
    ("granted", "forfeited", "bonus", "expected"),
    [
        (2_000_000, 0, 5_000_000, 2_000_000),  # all of it: the bonus holds it
        (2_000_000, 0, 1_500_000, 1_500_000),  # usage spent part of the bonus
        (2_000_000, 500_000, 5_000_000, 1_500_000),  # part already forfeited
        (2_000_000, 2_000_000, 5_000_000, 0),  # all already forfeited
        (2_000_000, 0, 0, 0),  # nothing left in the bonus
        (2_000_000, 0, -300, 0),  # a negative bonus balance forfeits nothing
    ],
)
def test_discount_forfeit(granted: int, forfeited: int, bonus: int, expected: int) -> None:
    assert discount_forfeit(granted_micros=granted, forfeited_micros=forfeited,
                            bonus_micros=bonus) == expected


@pytest.mark.parametrize(
    ("reward", "bonus", "expected"),
    [
        (5_000_000, 7_000_000, 5_000_000),
        (5_000_000, 5_000_000, 5_000_000),
        (5_000_000, 1_234_567, 1_234_567),  # the referrer spent part of it
        (5_000_000, 0, 0),
        (5_000_000, -1, 0),
    ],
)
def test_reward_clawback(reward: int, bonus: int, expected: int) -> None:
    assert reward_clawback(reward_micros=reward, referrer_bonus_micros=bonus) == expected


def test_revocable_rewards_are_pending_and_granted() -> None:
    assert REVOCABLE == {RewardStatus.PENDING, RewardStatus.GRANTED}
    assert "pending" in REVOCABLE and "granted" in REVOCABLE and "revoked" not in REVOCABLE


def test_inputs_are_checked() -> None:
    with pytest.raises(ValueError):
        reward_clawback(reward_micros=-1, referrer_bonus_micros=0)
    with pytest.raises(ValueError):
        reward_clawback(reward_micros=1.0, referrer_bonus_micros=0)
    with pytest.raises(ValueError):
        discount_forfeit(granted_micros=1, forfeited_micros=0, bonus_micros=True)


# ---------------------------------------------------------------- properties


@given(granted=MICROS, data=st.data(), bonus=SIGNED)
def test_forfeit_is_bounded(granted: int, data, bonus: int) -> None:
    forfeited = data.draw(st.integers(min_value=0, max_value=granted))
    left = discount_forfeit(granted_micros=granted, forfeited_micros=forfeited,
                            bonus_micros=bonus)
    assert 0 <= left <= granted - forfeited  # never more than is unforfeited
    assert left <= max(bonus, 0)  # never takes the bonus balance below zero
    # and it is all it can be: one of the two bounds is reached
    assert left == min(granted - forfeited, max(bonus, 0))


@given(granted=MICROS, bonus=MICROS)
def test_forfeiting_twice_takes_nothing_more(granted: int, bonus: int) -> None:
    first = discount_forfeit(granted_micros=granted, forfeited_micros=0, bonus_micros=bonus)
    again = discount_forfeit(granted_micros=granted, forfeited_micros=first,
                             bonus_micros=bonus - first)
    if first == granted or bonus - first == 0:
        assert again == 0
    assert first + again <= granted


@given(reward=MICROS, bonus=SIGNED)
def test_clawback_is_bounded(reward: int, bonus: int) -> None:
    clawed = reward_clawback(reward_micros=reward, referrer_bonus_micros=bonus)
    assert 0 <= clawed <= reward
    assert clawed <= max(bonus, 0)
    assert clawed == reward or clawed == max(bonus, 0)
