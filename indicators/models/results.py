"""Computed results: one ``Computation`` per recompute, its ``Result`` rows, one current.

Results are swapped, never edited: a recompute writes a new computation's rows and makes it
current in the same transaction (``indicators.services.computations``), so a reader sees either
the old results or the new ones, never half of them.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from departments.models import Department
from indicators.models.definitions import IndicatorDefinition
from indicators.models.extracts import Extract, Registry


class Computation(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("I kø")
        RUNNING = "running", _("Beregner")
        DONE = "done", _("Færdig")
        FAILED = "failed", _("Fejlet")

    registry = models.ForeignKey(Registry, on_delete=models.CASCADE, related_name="computations")
    # The extract it was computed from (set again when it runs: always the current one then).
    extract = models.ForeignKey(
        Extract, on_delete=models.CASCADE, null=True, blank=True, related_name="computations"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    # Runs that failed for a reason that may pass (a lost connection, a killed worker): after
    # MAX_ATTEMPTS it stays failed (indicators.services.computations).
    attempts = models.PositiveSmallIntegerField(default=0)
    reason = models.CharField(_("anledning"), max_length=200, blank=True)
    # {"departments": [ids] | null, "definitions": [ids] | null}; {} = everything.
    scope = models.JSONField(default=dict, blank=True)
    # The rows it read: [[extract id, [department ids]], ...] (indicators.services.currency).
    sources = models.JSONField(default=list, blank=True)
    # The computation whose other results were copied (a partial recompute).
    base = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    is_current = models.BooleanField(_("aktuel"), default=False)
    result_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True)  # seconds per stage
    error_da = models.TextField(blank=True)
    error_en = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("beregning")
        verbose_name_plural = _("beregninger")
        constraints = [
            models.UniqueConstraint(
                fields=["registry"], condition=Q(is_current=True), name="one_current_computation"
            ),
            models.CheckConstraint(
                name="current_computation_is_done",
                condition=Q(is_current=False) | Q(status="done"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.registry.slug} computation #{self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def is_partial(self) -> bool:
        return bool(self.scope.get("departments") or self.scope.get("definitions"))

    def error(self, language: str) -> str:
        return self.error_en if language.startswith("en") and self.error_en else self.error_da


class Result(models.Model):
    class PeriodType(models.TextChoices):
        MONTH = "month", _("Måned")
        QUARTER = "quarter", _("Kvartal")
        YEAR = "year", _("År")

    class TargetStatus(models.TextChoices):
        MET = "met", _("Opfyldt")
        NOT_MET = "not_met", _("Ikke opfyldt")
        NOT_SHOWN = "not_shown", _("Ikke påvist forskel")

    computation = models.ForeignKey(Computation, on_delete=models.CASCADE, related_name="results")
    definition = models.ForeignKey(
        IndicatorDefinition, on_delete=models.CASCADE, related_name="results"
    )
    # NULL: ALL, the national pool of every department.
    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    period_type = models.CharField(max_length=7, choices=PeriodType.choices)
    period_start = models.DateField()
    numerator = models.IntegerField(null=True, blank=True)  # NULL for measures
    denominator = models.IntegerField()
    missing = models.IntegerField()
    value = models.FloatField(null=True, blank=True)  # proportion, or a measure's median
    # Wilson 95 % interval; for a measure the distribution-free interval of the median.
    ci_low = models.FloatField(null=True, blank=True)
    ci_high = models.FloatField(null=True, blank=True)
    mean = models.FloatField(null=True, blank=True)
    q1 = models.FloatField(null=True, blank=True)
    q3 = models.FloatField(null=True, blank=True)
    target = models.FloatField(null=True, blank=True)
    # NULL (no target, or no interval) is not a verdict, unlike every status text.
    target_status = models.CharField(  # noqa: DJ001
        max_length=9, choices=TargetStatus.choices, null=True, blank=True
    )

    class Meta:
        verbose_name = _("resultat")
        verbose_name_plural = _("resultater")
        indexes = [
            models.Index(
                fields=["computation", "definition", "department", "period_type", "period_start"],
                name="result_lookup",
            )
        ]

    def __str__(self) -> str:
        where = self.department_id or "ALL"
        return f"{self.definition_id} {where} {self.period_type} {self.period_start}"
