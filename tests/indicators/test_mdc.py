"""The tile's icons: what the monthly SPC says of the latest point, and of the target."""

from __future__ import annotations

import datetime as dt

import pytest

from indicators import mdc
from indicators.spc import spc_series

MONTHS = [dt.date(2022 + (m // 12), m % 12 + 1, 1) for m in range(36)]


def p_chart(numerators, denominator=100, **kwargs):
    denominators = [denominator] * len(numerators)
    return spc_series(
        MONTHS[: len(numerators)],
        numerators,
        denominators,
        [n / d for n, d in zip(numerators, denominators, strict=True)],
        kind="proportion",
        **kwargs,
    )


STEADY = [10, 12, 9, 11, 10, 13, 8, 11, 10, 12, 9, 11, 10, 12, 9, 11]


@pytest.mark.parametrize(
    ("last", "lower_is_better", "kind", "da", "en"),
    [
        (40, True, "concern", "Bekymring: Seneste punkt ligger over den øvre kontrolgrænse",
         "Concern: The latest point lies above the upper control limit"),
        (40, False, "improvement", "Forbedring: Seneste punkt ligger over den øvre kontrolgrænse",
         "Improvement: The latest point lies above the upper control limit"),
        (0, True, "improvement", "Forbedring: Seneste punkt ligger under den nedre kontrolgrænse",
         "Improvement: The latest point lies below the lower control limit"),
        (11, True, "common", "Almindelig variation: intet tegn på ændring",
         "Common cause variation: no sign of change"),
    ],
)  # fmt: skip
def test_the_latest_point_outside_the_limits_is_special_cause_in_the_indicators_direction(
    last, lower_is_better, kind, da, en
):
    series = p_chart([*STEADY, last])
    verdict = mdc.variation(series, lower_is_better)
    assert (verdict.kind, verdict.da, verdict.en) == (kind, da, en)
    assert verdict.words("en-gb") == en and verdict.words("da") == da


def test_a_long_run_on_one_side_ending_now_is_a_shift():
    series = p_chart(STEADY + [6] * 9)  # nine months under the centre, none outside the limits
    assert not any(p.sigma_signal for p in series.points)
    verdict = mdc.variation(series, lower_is_better=True)
    assert verdict.kind == "improvement" and verdict.high is False
    assert verdict.da == "Forbedring: De seneste 9 punkter ligger under midterlinjen"


def test_an_earlier_signal_that_is_over_does_not_colour_the_latest_point():
    # A spike long ago: the latest point is common cause again.
    series = p_chart([10, 45] + [10, 17] * 8)
    assert series.points[1].sigma_signal
    assert mdc.variation(series, lower_is_better=True).kind == "common"


def test_a_change_marker_starts_a_new_phase_and_only_it_counts():
    # After the marker the level is lower and steady: common cause in the new phase.
    series = p_chart([20] * 12 + STEADY, split_dates=[MONTHS[12]])
    assert mdc.variation(series, lower_is_better=True).kind == "common"


@pytest.mark.parametrize(
    ("target", "lower_is_better", "kind"),
    [
        (0.30, True, "pass"),  # every value the process gives is under 30 %
        (0.01, True, "fail"),  # none is under 1 %
        (0.11, True, "inconsistent"),
        (0.01, False, "pass"),
        (0.30, False, "fail"),
    ],
)
def test_assurance_compares_the_target_with_the_process_limits(target, lower_is_better, kind):
    series = p_chart(STEADY)
    point = series.points[-1]
    assert point.lcl < 0.11 < point.ucl and point.ucl < 0.30 and point.lcl > 0.01
    assert mdc.assurance(series, target, lower_is_better).kind == kind


def test_no_assurance_without_a_target_or_without_limits():
    assert mdc.assurance(p_chart(STEADY), None, True) is None
    assert mdc.assurance(p_chart(STEADY, chart="run"), 0.1, True) is None


def test_fewer_than_12_points_in_the_latest_phase_come_with_a_warning():
    assert mdc.caution(p_chart(STEADY[:12])) is None
    few = mdc.caution(p_chart(STEADY[:11]))
    assert few.kind == "few"
    assert few.da == "Kun 11 punkter i den seneste fase (under 12): ikonerne er usikre"
    assert "fewer than 12" in few.en
    # A change marker starts a new phase: its points are what count.
    split = p_chart(STEADY, split_dates=[MONTHS[10]])
    assert mdc.caution(split).da.startswith("Kun 6 punkter")


@pytest.mark.parametrize(
    ("numerators", "lower_is_better", "kind"),
    [
        # The latest 9 points below the centre: a shift, good where lower is better.
        ([10] * 8 + [12] * 8 + [5] * 9, True, "improvement"),
        ([10] * 8 + [12] * 8 + [5] * 9, False, "concern"),
        # The latest 9 points above it.
        ([10] * 8 + [8] * 8 + [16] * 9, True, "concern"),
        ([10] * 8 + [8] * 8 + [16] * 9, False, "improvement"),
    ],
)
def test_a_shift_is_improvement_or_concern_by_the_indicators_direction(
    numerators, lower_is_better, kind
):
    verdict = mdc.variation(p_chart(numerators), lower_is_better)
    assert verdict.kind == kind
    assert ("midterlinjen" in verdict.da) or ("kontrolgrænse" in verdict.da)
