"""What is measured: indicator definitions, each department's choice of them, change markers.

Rules are structured data (``indicators.rules``), validated in ``clean()`` and by the service
that saves them (``indicators.services.definitions``); ``save()`` itself runs no business logic.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from departments.models import Department
from indicators import rules
from indicators.registry.profiles import get_profile


def every_row() -> dict:
    return {"all": []}


def no_row() -> dict:
    return {"any": []}


class IndicatorDefinition(models.Model):
    class Kind(models.TextChoices):
        PROPORTION = "proportion", _("Andel")
        MEASURE = "measure", _("Måltal")

    class Direction(models.TextChoices):
        LOWER = "lower", _("Lavere er bedre")
        HIGHER = "higher", _("Højere er bedre")

    # Unique within its registry (profile-format.md): two registries may both have "mortality".
    slug = models.SlugField(_("kode"), max_length=60)
    profile = models.CharField(_("registerprofil"), max_length=40, default="dccg")
    # NULL: a standard indicator every department can follow; else the department's own.
    department = models.ForeignKey(
        Department,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="own_indicators",
        verbose_name=_("afdeling"),
    )
    name_da = models.CharField(_("navn (dansk)"), max_length=200)
    name_en = models.CharField(_("navn (engelsk)"), max_length=200)
    description_da = models.TextField(_("beskrivelse (dansk)"), blank=True)
    description_en = models.TextField(_("beskrivelse (engelsk)"), blank=True)
    kind = models.CharField(_("type"), max_length=12, choices=Kind.choices)
    population = models.JSONField(_("population"), default=every_row)
    missing = models.JSONField(_("manglende"), default=no_row)
    event = models.JSONField(_("hændelse"), null=True, blank=True)  # proportions
    measure = models.JSONField(_("mål"), null=True, blank=True)  # measures: {"days": [a, b]}
    direction = models.CharField(
        _("retning"), max_length=6, choices=Direction.choices, default=Direction.LOWER
    )
    # Proportions as a fraction (0.05 = 5 %), measures in their unit (days).
    default_target = models.FloatField(_("standardmål"), null=True, blank=True)
    min_denominator = models.PositiveIntegerField(_("mindste nævner der vises"), default=5)
    position = models.PositiveSmallIntegerField(_("rækkefølge"), default=100)
    is_active = models.BooleanField(_("aktiv"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "slug"]
        verbose_name = _("indikatordefinition")
        verbose_name_plural = _("indikatordefinitioner")
        constraints = [
            models.UniqueConstraint(fields=["profile", "slug"], name="one_slug_per_registry"),
            models.CheckConstraint(
                name="definition_kind_has_its_rule",
                condition=Q(kind="proportion", event__isnull=False, measure__isnull=True)
                | Q(kind="measure", measure__isnull=False, event__isnull=True),
            ),
            models.CheckConstraint(
                name="definition_min_denominator_positive", condition=Q(min_denominator__gte=1)
            ),
        ]

    def __str__(self) -> str:
        return self.name(translation.get_language() or "da")

    @property
    def is_standard(self) -> bool:
        return self.department_id is None

    @property
    def lower_is_better(self) -> bool:
        return self.direction == self.Direction.LOWER

    def name(self, language: str) -> str:
        return self.name_en if language.startswith("en") and self.name_en else self.name_da

    def rule_errors(self) -> dict[str, list[rules.RuleError]]:
        """Problems with the rules, by field name (empty when all is well)."""
        try:
            fields = rules.fields_for_profile(get_profile(self.profile))
        except KeyError:
            da, en = "Ukendt registerprofil", "Unknown registry profile"
            return {
                "profile": [
                    rules.RuleError("profile", f"{da} {self.profile!r}.", f"{en} {self.profile!r}.")
                ]
            }
        found: dict[str, list[rules.RuleError]] = {}
        for name in ("population", "missing"):
            found[name] = rules.validate_rule(getattr(self, name), fields, name)
        if self.kind == self.Kind.PROPORTION:
            found["event"] = rules.validate_rule(self.event, fields, "event")
            if self.measure is not None:
                da, en = "En andel har intet mål.", "A proportion has no measure."
                found["measure"] = [rules.RuleError("measure", da, en)]
        elif self.kind == self.Kind.MEASURE:
            found["measure"] = rules.validate_measure(self.measure, fields, "measure")
            if self.event is not None:
                da, en = "Et måltal har ingen hændelse.", "A measure has no event."
                found["event"] = [rules.RuleError("event", da, en)]
        return {name: errors for name, errors in found.items() if errors}

    def clean(self) -> None:
        language = "en" if (translation.get_language() or "da").startswith("en") else "da"
        problems = {
            name: [e.en if language == "en" else e.da for e in errors]
            for name, errors in self.rule_errors().items()
        }
        target = self.default_target
        if self.kind == self.Kind.PROPORTION and target is not None and not 0 <= target <= 1:
            problems.setdefault("default_target", []).append(
                "A target for a proportion lies between 0 and 1."
                if language == "en"
                else "Et mål for en andel ligger mellem 0 og 1."
            )
        if problems:
            raise ValidationError(problems)


class DepartmentIndicator(models.Model):
    """A department follows an indicator: in this place of its list, against this target."""

    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, related_name="indicator_choices"
    )
    definition = models.ForeignKey(
        IndicatorDefinition, on_delete=models.CASCADE, related_name="choices"
    )
    position = models.PositiveSmallIntegerField(_("rækkefølge"), default=0)
    target = models.FloatField(_("afdelingens mål"), null=True, blank=True)  # NULL: the default

    class Meta:
        ordering = ["department", "position", "pk"]
        verbose_name = _("afdelingens indikator")
        verbose_name_plural = _("afdelingens indikatorer")
        constraints = [
            models.UniqueConstraint(
                fields=["department", "definition"], name="one_choice_per_department_indicator"
            )
        ]

    def __str__(self) -> str:
        return f"{self.department} · {self.definition}"

    @property
    def effective_target(self) -> float | None:
        return self.target if self.target is not None else self.definition.default_target


# What a version of a department's own indicator records: everything that decides its results.
VERSIONED_FIELDS = (
    "name_da", "name_en", "kind", "population", "missing", "event", "measure", "direction",
    "default_target",
)  # fmt: skip


def snapshot(definition: IndicatorDefinition) -> dict:
    return {name: getattr(definition, name) for name in VERSIONED_FIELDS}


class DefinitionVersion(models.Model):
    """One version of a department's own indicator; the newest is what the definition holds.
    An edit adds one, so the history of what was measured when is never lost."""

    definition = models.ForeignKey(
        IndicatorDefinition, on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"))
    rules = models.JSONField(_("regler"))  # snapshot(): the fields of VERSIONED_FIELDS
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["definition", "-number"]
        verbose_name = _("indikatorversion")
        verbose_name_plural = _("indikatorversioner")
        constraints = [
            models.UniqueConstraint(fields=["definition", "number"], name="one_version_number")
        ]

    def __str__(self) -> str:
        return f"{self.definition.slug} v{self.number}"


class ChangeMarker(models.Model):
    """A change at a department (new equipment, a new pathway) that splits its SPC charts."""

    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, related_name="change_markers"
    )
    date = models.DateField(_("dato"))
    label = models.CharField(_("ændring"), max_length=200)
    note = models.TextField(_("note"), blank=True)
    # None chosen: the change concerns every indicator of the department.
    definitions = models.ManyToManyField(
        IndicatorDefinition, blank=True, related_name="change_markers"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["department", "date", "pk"]
        verbose_name = _("ændringsmarkør")
        verbose_name_plural = _("ændringsmarkører")

    def __str__(self) -> str:
        return f"{self.department} {self.date}: {self.label}"
