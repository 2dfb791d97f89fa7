"""The doors for a department's settings: one function per change, each taking the acting user.

Each runs in one transaction, writes its audit record there, and leaves the recompute to
``indicators.services.definitions``, which queues it on commit. Views and commands call these,
never the pieces.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from departments import audit
from departments.models import AuditAction, Department
from indicators.models import ChangeMarker, DefinitionVersion, IndicatorDefinition
from indicators.models.definitions import VERSIONED_FIELDS, snapshot
from indicators.services import definitions as services


def save_indicator_choices(
    department: Department,
    wanted: list[tuple[IndicatorDefinition, float | None]],
    *,
    registry: str | None = None,
    summary: str | None = None,
    user,
    request=None,
) -> None:
    """What the department follows of a registry (``registry``; default: the registries of
    ``wanted``), in order, with its targets, and (``summary``) what its tiles show by default.
    Its choices in other registries stay."""
    with transaction.atomic():
        summary_changed = summary is not None and summary != department.tile_summary
        if summary_changed:
            Department.Summary(summary)  # ValueError for anything else
            before_summary = department.tile_summary
            department.tile_summary = summary
            department.save(update_fields=["tile_summary"])
        scope = {registry} if registry else {d.profile for d, _t in wanted}
        chosen = {
            c.definition.slug: (c.position, c.target)
            for c in department.indicator_choices.select_related("definition")
            if c.definition.profile in scope
        }
        before_order = [slug for slug, _v in sorted(chosen.items(), key=lambda i: i[1][0])]
        after = {d.slug: target for d, target in wanted}
        changed = {
            slug: [chosen.get(slug, (None, None))[1], target]
            for slug, target in after.items()
            if chosen.get(slug, (None, None))[1] != target
        }
        services.choose_indicators(department, wanted, registry=registry)
        if changed or list(after) != before_order or not chosen or summary_changed:
            detail = {"order": list(after), "targets": changed}
            if summary_changed:
                detail["summary"] = [before_summary, summary]
            audit.record(
                request,
                AuditAction.TARGET_CHANGED,
                user=user,
                department=department,
                target=f"department:{department.code}/indicators",
                detail=detail,
            )


def add_own_indicator(
    department: Department, *, user, request=None, **fields
) -> IndicatorDefinition:
    """A department's own indicator, followed by the department (``ValidationError`` for rules
    that do not hold)."""
    with transaction.atomic():
        profile = fields.get("profile", "dccg")
        mine = department.indicator_choices.filter(definition__profile=profile)
        if not mine.exists():
            # Until now the department followed the registry's standard indicators without
            # having chosen them; its own indicator joins those rather than replacing them.
            standard = IndicatorDefinition.objects.filter(
                department=None, is_active=True, profile=profile
            )
            services.choose_indicators(department, list(standard.order_by("position", "slug")))
        definition = services.create_department_indicator(department, user=user, **fields)
        DefinitionVersion.objects.create(
            definition=definition, number=1, rules=snapshot(definition), created_by=user
        )
        audit.record(
            request,
            AuditAction.DEFINITION_CHANGED,
            user=user,
            department=department,
            target=f"definition:{definition.slug}",
            detail={"created": describe_definition(definition)},
        )
    return definition


def edit_own_indicator(
    definition: IndicatorDefinition, *, user, request=None, **fields
) -> DefinitionVersion | None:
    """A new version of a department's own indicator (``fields`` as ``add_own_indicator`` takes
    them); its results are recomputed and the earlier versions stay in its history. None when
    nothing changed; ``ValidationError`` for rules that do not hold (nothing is saved)."""
    if definition.is_standard:
        raise ValueError("Only a department's own indicator is edited here.")
    with transaction.atomic():
        definition = IndicatorDefinition.objects.select_for_update().get(pk=definition.pk)
        before = snapshot(definition)
        for name, value in fields.items():
            if name not in VERSIONED_FIELDS:
                raise TypeError(f"Not a versioned field: {name}")
            setattr(definition, name, value)
        after = snapshot(definition)
        if after == before:
            return None
        latest = definition.versions.order_by("-number").first()
        if latest is None:  # made before versions were kept
            latest = DefinitionVersion.objects.create(
                definition=definition,
                number=1,
                rules=before,
                created_by=definition.created_by,
                created_at=definition.created_at,
            )
        services.save_definition(definition)
        version = DefinitionVersion.objects.create(
            definition=definition, number=latest.number + 1, rules=after, created_by=user
        )
        audit.record(
            request,
            AuditAction.DEFINITION_CHANGED,
            user=user,
            department=definition.department,
            target=f"definition:{definition.slug}",
            detail={
                "version": version.number,
                "changed": {k: [before[k], after[k]] for k in after if after[k] != before[k]},
            },
        )
    return version


def remove_own_indicator(definition: IndicatorDefinition, *, user, request=None) -> None:
    with transaction.atomic():
        services.deactivate_definition(definition)
        audit.record(
            request,
            AuditAction.DEFINITION_CHANGED,
            user=user,
            department=definition.department,
            target=f"definition:{definition.slug}",
            detail={"deactivated": definition.slug},
        )


def add_marker(
    department: Department,
    *,
    date: dt.date,
    label: str,
    note: str,
    definitions: list[IndicatorDefinition],
    user,
    request=None,
) -> ChangeMarker:
    with transaction.atomic():
        marker = services.add_change_marker(
            department, date=date, label=label, note=note, definitions=definitions, user=user
        )
        audit.record(
            request,
            AuditAction.MARKER_CHANGED,
            user=user,
            department=department,
            target=f"marker:{marker.pk}",
            detail={"added": describe_marker(marker)},
        )
    return marker


def remove_marker(marker: ChangeMarker, *, user, request=None) -> None:
    with transaction.atomic():
        described, pk, department = describe_marker(marker), marker.pk, marker.department
        services.delete_change_marker(marker)
        audit.record(
            request,
            AuditAction.MARKER_CHANGED,
            user=user,
            department=department,
            target=f"marker:{pk}",
            detail={"deleted": described},
        )


def describe_definition(definition: IndicatorDefinition) -> dict:
    fields = ["name_da", "name_en", "kind", "population", "missing", "event", "measure"]
    out = {name: getattr(definition, name) for name in fields}
    out.update(direction=definition.direction, default_target=definition.default_target)
    return out


def describe_marker(marker: ChangeMarker) -> dict:
    return {
        "date": marker.date.isoformat(),
        "label": marker.label,
        "note": marker.note,
        "definitions": [d.slug for d in marker.definitions.all()],
    }
