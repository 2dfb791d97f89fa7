"""The settings page's actions, one per form (named by the POSTed "action" field).

Each takes (request, department, available definitions, chosen ones) and returns (the section's
anchor when saved, else None; (form name, bound form) to show again, else None). Every write
goes through ``indicators.services.definitions`` in a transaction, with its audit record.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _

from dashboards.forms_settings import (
    ACTION_INDICATORS,
    ACTION_MARKER_ADD,
    ACTION_MARKER_DELETE,
    ACTION_OWN,
    ACTION_OWN_DEACTIVATE,
    ChangeMarkerForm,
    IndicatorsForm,
    OwnIndicatorForm,
    language,
)
from departments import audit
from departments.models import AuditAction, Department
from indicators.models import ChangeMarker, IndicatorDefinition
from indicators.services import definitions as services


def _save_indicators(request, department, available, chosen):
    form = IndicatorsForm(request.POST, definitions=available, chosen=chosen)
    if not form.is_valid():
        return None, ("indicators", form)
    wanted = form.chosen()
    if not wanted:
        form.add_error(None, _("Vælg mindst én indikator."))
        return None, ("indicators", form)
    by_pk = {d.pk: d for d in available}
    before = {by_pk[pk].slug: target for pk, (_pos, target) in chosen.items()}
    before_order = [by_pk[pk].slug for pk in sorted(chosen, key=lambda pk: chosen[pk][0])]
    after = {d.slug: target for d, target in wanted}
    changed = {s: [before.get(s), t] for s, t in after.items() if before.get(s) != t}
    with transaction.atomic():
        has_choices = department.indicator_choices.exists()
        services.choose_indicators(department, wanted)
        if changed or list(after) != before_order or not has_choices:
            audit.record(
                request,
                AuditAction.TARGET_CHANGED,
                department=department,
                target=f"department:{department.code}/indicators",
                detail={"order": list(after), "targets": changed},
            )
    messages.success(request, _("Afdelingens indikatorer og mål er gemt."))
    return "indikatorer", None


def _save_own(request, department, available, chosen):
    form = OwnIndicatorForm(request.POST, department=department)
    if not form.is_valid():
        return None, ("own", form)
    try:
        with transaction.atomic():
            if not department.indicator_choices.exists():
                # Until now the department followed the standard indicators without having
                # chosen them; its own indicator joins those rather than replacing them.
                services.choose_indicators(department, [d for d in available if d.is_standard])
            definition = services.create_department_indicator(
                department, user=request.user, **form.definition_kwargs()
            )
            audit.record(
                request,
                AuditAction.DEFINITION_CHANGED,
                department=department,
                target=f"definition:{definition.slug}",
                detail={"created": _describe(definition)},
            )
    except ValidationError as error:
        for field, problems in error.message_dict.items():
            name = field if field in form.fields else None
            for problem in problems:
                form.add_error(name, problem)
        return None, ("own", form)
    messages.success(
        request,
        _("Indikatoren “%(name)s” er oprettet og følges af afdelingen.")
        % {"name": definition.name(language())},
    )
    return "egne", None


def _describe(definition: IndicatorDefinition) -> dict:
    fields = ["name_da", "name_en", "kind", "population", "missing", "event", "measure"]
    out = {name: getattr(definition, name) for name in fields}
    out.update(direction=definition.direction, default_target=definition.default_target)
    return out


def _deactivate_own(request, department, available, chosen):
    definition = _own_definition(department, request.POST.get("definition", ""))
    with transaction.atomic():
        services.deactivate_definition(definition)
        audit.record(
            request,
            AuditAction.DEFINITION_CHANGED,
            department=department,
            target=f"definition:{definition.slug}",
            detail={"deactivated": definition.slug},
        )
    messages.success(
        request,
        _("Indikatoren “%(name)s” er fjernet.") % {"name": definition.name(language())},
    )
    return "egne", None


def _own_definition(department: Department, pk: str) -> IndicatorDefinition:
    found = None
    if pk.isdigit():
        found = IndicatorDefinition.objects.filter(
            pk=int(pk), department=department, is_active=True
        ).first()
    if found is None:
        raise Http404("No such indicator of this department")
    return found


def _add_marker(request, department, available, chosen):
    form = ChangeMarkerForm(request.POST, definitions=available)
    if not form.is_valid():
        return None, ("marker", form)
    data = form.cleaned_data
    with transaction.atomic():
        marker = services.add_change_marker(
            department,
            date=data["date"],
            label=data["label"],
            note=data["note"],
            definitions=list(data["definitions"]),
            user=request.user,
        )
        audit.record(
            request,
            AuditAction.MARKER_CHANGED,
            department=department,
            target=f"marker:{marker.pk}",
            detail={"added": _describe_marker(marker)},
        )
    messages.success(request, _("Ændringsmarkøren er tilføjet."))
    return "markoerer", None


def _describe_marker(marker: ChangeMarker) -> dict:
    return {
        "date": marker.date.isoformat(),
        "label": marker.label,
        "note": marker.note,
        "definitions": [d.slug for d in marker.definitions.all()],
    }


def _delete_marker(request, department, available, chosen):
    pk = request.POST.get("marker", "")
    marker = (
        ChangeMarker.objects.filter(department=department, pk=int(pk)).first()
        if pk.isdigit()
        else None
    )
    if marker is None:
        raise Http404("No such change marker of this department")
    with transaction.atomic():
        described = _describe_marker(marker)
        services.delete_change_marker(marker)
        audit.record(
            request,
            AuditAction.MARKER_CHANGED,
            department=department,
            target=f"marker:{pk}",
            detail={"deleted": described},
        )
    messages.success(request, _("Ændringsmarkøren er slettet."))
    return "markoerer", None


HANDLERS = {
    ACTION_INDICATORS: _save_indicators,
    ACTION_OWN: _save_own,
    ACTION_OWN_DEACTIVATE: _deactivate_own,
    ACTION_MARKER_ADD: _add_marker,
    ACTION_MARKER_DELETE: _delete_marker,
}
