"""Changing what is measured: definitions, a department's choice and targets, change markers.

Each change is one transaction that validates (rules against the registry profile's fields),
saves, and queues the recompute of only what changed once it commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from departments.models import Department
from indicators.models import (
    ChangeMarker,
    DepartmentIndicator,
    Extract,
    IndicatorDefinition,
    Registry,
)
from indicators.rules import EVERY_ROW, NO_ROW


def _queue(profile: str, reason: str, *, departments=None, definitions=None) -> None:
    """Queue a recompute of the registry's current extract (nothing to do before the first)."""
    from indicators.tasks import queue_recompute

    registry = Registry.objects.filter(slug=profile).first()
    if registry and Extract.objects.filter(registry=registry, is_current=True).exists():
        queue_recompute(
            registry.pk, reason=reason, department_ids=departments, definition_ids=definitions
        )


_DANISH = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "Æ": "Ae", "Ø": "Oe", "Å": "Aa"})


def _unique_slug(base: str) -> str:
    base = (slugify(base.translate(_DANISH)) or "indikator")[:50]
    slug, n = base, 2
    while IndicatorDefinition.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def save_definition(definition: IndicatorDefinition) -> IndicatorDefinition:
    """Validate (rules included) and save a new or changed definition; recompute its results.

    A department's own definition is added to that department's choice.
    """
    with transaction.atomic():
        definition.full_clean()
        created = definition.pk is None
        definition.updated_at = timezone.now()
        definition.save()
        if definition.department_id is not None:
            _choose(definition.department, definition)
        verb = "oprettet" if created else "ændret"
        _queue(definition.profile, f"indikator {verb}: {definition.slug}", definitions=[definition])
    return definition


def create_department_indicator(
    department: Department,
    *,
    name_da: str,
    name_en: str,
    kind: str = IndicatorDefinition.Kind.PROPORTION,
    population: dict | None = None,
    missing: dict | None = None,
    event: dict | None = None,
    measure: dict | None = None,
    direction: str = IndicatorDefinition.Direction.LOWER,
    default_target: float | None = None,
    min_denominator: int = 5,
    description_da: str = "",
    description_en: str = "",
    slug: str | None = None,
    profile: str = "dccg",
    user=None,
) -> IndicatorDefinition:
    """A department's own indicator, built from the same rule parts as the standard ones."""
    definition = IndicatorDefinition(
        slug=slug or _unique_slug(f"{department.code}-{name_da}"),
        profile=profile,
        department=department,
        name_da=name_da,
        name_en=name_en,
        description_da=description_da,
        description_en=description_en,
        kind=kind,
        population=EVERY_ROW if population is None else population,
        missing=NO_ROW if missing is None else missing,
        event=event,
        measure=measure,
        direction=direction,
        default_target=default_target,
        min_denominator=min_denominator,
        created_by=user,
    )
    return save_definition(definition)


def deactivate_definition(definition: IndicatorDefinition) -> IndicatorDefinition:
    """Stop computing a definition (its results leave the current computation)."""
    with transaction.atomic():
        definition.is_active = False
        definition.save(update_fields=["is_active"])
        _queue(
            definition.profile, f"indikator fjernet: {definition.slug}", definitions=[definition]
        )
    return definition


def _choose(department: Department, definition: IndicatorDefinition) -> DepartmentIndicator:
    if not department.indicator_choices.filter(definition__profile=definition.profile).exists():
        # A department that never chose in a registry follows every standard indicator of it;
        # its first choice (a target, say) must not quietly narrow that to the one it touched.
        standard = IndicatorDefinition.objects.filter(
            department__isnull=True, is_active=True, profile=definition.profile
        ).order_by("position", "slug")
        DepartmentIndicator.objects.bulk_create(
            DepartmentIndicator(department=department, definition=d, position=i)
            for i, d in enumerate(standard)
        )
    last = department.indicator_choices.aggregate(last=Max("position"))["last"]
    choice, _ = DepartmentIndicator.objects.get_or_create(
        department=department,
        definition=definition,
        defaults={"position": 0 if last is None else last + 1},
    )
    return choice


def set_target(
    department: Department, definition: IndicatorDefinition, target: float | None
) -> DepartmentIndicator:
    """The department's own target (None: the definition's default); recompute that only."""
    with transaction.atomic():
        choice = _choose(department, definition)
        if choice.target != target:
            choice.target = target
            choice.full_clean()
            choice.save(update_fields=["target"])
            _queue(
                definition.profile,
                f"mål ændret: {department.code} {definition.slug}",
                departments=[department],
                definitions=[definition],
            )
    return choice


def choose_indicators(
    department: Department,
    chosen: Sequence[IndicatorDefinition | tuple],
    *,
    registry: str | None = None,
) -> list[DepartmentIndicator]:
    """The indicators a department follows in a registry, in this order; an item may be
    (definition, target).

    Indicators of that registry left out are no longer followed (their results stay: every
    standard indicator is computed for every department); the department's choices in other
    registries stay as they are. ``registry`` defaults to the registries of ``chosen`` (every
    registry when nothing is chosen). Only changed targets are recomputed.
    """
    with transaction.atomic():
        wanted = [item if isinstance(item, tuple) else (item, ...) for item in chosen]
        keep = [definition.pk for definition, _ in wanted]
        scope = {registry} if registry else {definition.profile for definition, _ in wanted}
        touched = department.indicator_choices.all()
        if scope:
            touched = touched.filter(definition__profile__in=scope)
        touched.exclude(definition_id__in=keep).delete()
        existing = {c.definition_id: c for c in department.indicator_choices.all()}
        changed: dict[str, list[IndicatorDefinition]] = {}
        result = []
        for position, (definition, target) in enumerate(wanted):
            choice = existing.get(definition.pk) or DepartmentIndicator(
                department=department, definition=definition
            )
            old_target = choice.target
            choice.position = position
            if target is not ...:
                choice.target = target
            choice.full_clean(validate_unique=False)
            choice.save()
            if choice.target != old_target:
                changed.setdefault(definition.profile, []).append(definition)
            result.append(choice)
        for profile, definitions in changed.items():
            _queue(
                profile,
                f"mål ændret: {department.code}",
                departments=[department],
                definitions=definitions,
            )
    return result


def _marker_scope(marker: ChangeMarker) -> tuple[set[str], list[IndicatorDefinition] | None]:
    definitions = list(marker.definitions.all())
    if definitions:
        return {d.profile for d in definitions}, definitions
    return set(IndicatorDefinition.objects.values_list("profile", flat=True).distinct()), None


def add_change_marker(
    department: Department,
    *,
    date: dt.date,
    label: str,
    note: str = "",
    definitions: Iterable[IndicatorDefinition] = (),
    user=None,
) -> ChangeMarker:
    """Mark a change at a department ("new stapler", "ERAS pathway"); its charts split there."""
    with transaction.atomic():
        marker = ChangeMarker(
            department=department, date=date, label=label, note=note, created_by=user
        )
        marker.full_clean()
        marker.save()
        marker.definitions.set(list(definitions))
        _queue_marker(marker, "ændringsmarkør tilføjet")
    return marker


def delete_change_marker(marker: ChangeMarker) -> None:
    with transaction.atomic():
        _queue_marker(marker, "ændringsmarkør slettet")
        marker.delete()


def _queue_marker(marker: ChangeMarker, verb: str) -> None:
    # A marker changes no stored result, only the charts drawn from them; the recompute of
    # the department's scope makes a new current computation, so cached charts go stale.
    profiles, definitions = _marker_scope(marker)
    for profile in profiles:
        scoped = None if definitions is None else [d for d in definitions if d.profile == profile]
        _queue(
            profile,
            f"{verb}: {marker.department.code} {marker.label}"[:200],
            departments=[marker.department],
            definitions=scoped,
        )
