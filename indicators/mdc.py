"""What an SPC chart says in words, as NHS England's "Making Data Count" icons do.

- **Variation** is the class of the latest point of the latest phase: *improvement* or
  *concern* when it is special cause (outside the limits, or in a run on one side of the centre
  longer than the Anhøj limit, or in a phase with too few crossings), which of the two decided by
  its side and the indicator's direction; else *common cause*.
- **Assurance** compares the target with the latest point's process limits (p-charts only: a
  run chart has none): *pass* when every value the process is expected to give meets the target,
  *fail* when none does, *inconsistent* when the target lies within the limits.

With fewer than 12 points in the latest phase the limits are uncertain: :func:`caution` says so,
beside the icons (NHS England's guidance asks for at least 12 points, ideally 20).

Pure: the chart in, words out (Danish and English), never a colour alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from indicators.spc import SpcPoint, SpcSeries


@dataclass(frozen=True)
class Verdict:
    kind: str  # variation: improvement, concern, common; assurance: pass, fail, inconsistent
    high: bool | None  # variation: the latest point above the centre (None: common cause)
    da: str
    en: str

    def words(self, language: str) -> str:
        return self.en if language.startswith("en") else self.da


FEW_POINTS = 12


def caution(series: SpcSeries) -> Verdict | None:
    """A warning when the latest phase has fewer than 12 points with a value (None: enough)."""
    if not series.points:
        return None
    latest = series.points[-1].phase
    n = sum(1 for p in series.points if p.phase == latest and not math.isnan(p.value))
    if n >= FEW_POINTS:
        return None
    return Verdict(
        "few",
        None,
        f"Kun {n} punkter i den seneste fase (under {FEW_POINTS}): ikonerne er usikre",
        f"Only {n} points in the latest phase (fewer than {FEW_POINTS}): the icons are uncertain",
    )


def _side(point: SpcPoint) -> int:
    if math.isnan(point.value) or math.isnan(point.cl) or point.value == point.cl:
        return 0
    return 1 if point.value > point.cl else -1


def _latest_run(points: list[SpcPoint]) -> tuple[int, int]:
    """(side, length) of the run of useful points on one side of the centre that the latest
    useful point ends; points on the centre neither count nor break a run (Anhøj)."""
    side, length = 0, 0
    for point in reversed(points):
        here = _side(point)
        if here == 0:
            continue
        if side == 0:
            side = here
        if here != side:
            break
        length += 1
    return side, length


def variation(series: SpcSeries, lower_is_better: bool) -> Verdict | None:
    """The class of the latest point (None: no point to judge)."""
    if not series.points or not series.phases:
        return None
    latest = series.points[-1]
    phase = series.phases[-1]
    in_phase = [p for p in series.points if p.phase == latest.phase]
    side, run = _latest_run(in_phase)
    reason = None
    if latest.sigma_signal:
        high = _side(latest) > 0
        where_da, where_en = (
            ("over den øvre", "above the upper") if high else ("under den nedre", "below the lower")
        )
        reason = (
            f"Seneste punkt ligger {where_da} kontrolgrænse",
            f"The latest point lies {where_en} control limit",
        )
    elif side and run > phase.longest_run_max:
        high = side > 0
        where_da, where_en = ("over", "above") if high else ("under", "below")
        reason = (
            f"De seneste {run} punkter ligger {where_da} midterlinjen",
            f"The latest {run} points lie {where_en} the centre line",
        )
    elif side and phase.n_useful and phase.n_crossings < phase.n_crossings_min:
        high = side > 0
        reason = (
            f"Kurven krydser midterlinjen for sjældent ({phase.n_crossings} gange, "
            f"mindst {phase.n_crossings_min} ventet)",
            f"The curve crosses the centre line too rarely ({phase.n_crossings} times, "
            f"at least {phase.n_crossings_min} expected)",
        )
    if reason is None:
        return Verdict(
            "common",
            None,
            "Almindelig variation: intet tegn på ændring",
            "Common cause variation: no sign of change",
        )
    better = high != lower_is_better
    if better:
        da, en = "Forbedring", "Improvement"
    else:
        da, en = "Bekymring", "Concern"
    return Verdict(
        "improvement" if better else "concern", high, f"{da}: {reason[0]}", f"{en}: {reason[1]}"
    )


def assurance(series: SpcSeries, target: float | None, lower_is_better: bool) -> Verdict | None:
    """Whether the process meets the target (None: no target, or a chart without limits)."""
    if target is None or series.chart != "p" or not series.points:
        return None
    latest = series.points[-1]
    low, high = latest.lcl, latest.ucl
    if math.isnan(low) or math.isnan(high):
        return None
    meets_all = high <= target if lower_is_better else low >= target
    meets_none = low > target if lower_is_better else high < target
    if meets_all:
        return Verdict(
            "pass",
            None,
            "Opfylder målet stabilt: hele kontrolintervallet ligger på den rigtige side af målet",
            "Consistently meets the target: the whole control range lies on the right side of it",
        )
    if meets_none:
        return Verdict(
            "fail",
            None,
            "Når ikke målet uden en ændring: hele kontrolintervallet ligger på den forkerte side",
            "Will not meet the target without a change: the whole control range lies on the "
            "wrong side of it",
        )
    return Verdict(
        "inconsistent",
        None,
        "Skiftevis: målet ligger inden for kontrolgrænserne, så det nås nogle måneder og ikke "
        "andre",
        "Hit and miss: the target lies within the control limits, so some months meet it and "
        "some do not",
    )
