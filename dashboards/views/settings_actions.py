"""The settings page's actions, one per form (named by the POSTed "action" field).

Each takes (request, department, available definitions, chosen ones) and returns (the section's
anchor when saved, else None; (form name, bound form) to show again, else None). Every write
is one call of a door in ``indicators.services.settings_actions`` (transaction, audit record,
recompute queued on commit).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
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
from departments.models import Department
from indicators.models import ChangeMarker, IndicatorDefinition
from indicators.services import settings_actions as doors


def _save_indicators(request, department, available, chosen, registry):
    form = IndicatorsForm(
        request.POST, definitions=available, chosen=chosen, summary=department.tile_summary
    )
    if not form.is_valid():
        return None, ("indicators", form)
    wanted = form.chosen()
    if not wanted:
        form.add_error(None, _("Vælg mindst én indikator."))
        return None, ("indicators", form)
    doors.save_indicator_choices(
        department,
        wanted,
        registry=registry,
        summary=form.cleaned_data["summary"],
        user=request.user,
        request=request,
    )
    messages.success(request, _("Afdelingens indikatorer og mål er gemt."))
    return "indikatorer", None


def _save_own(request, department, available, chosen, registry):
    form = OwnIndicatorForm(request.POST, department=department, registry=registry)
    if not form.is_valid():
        return None, ("own", form)
    try:
        definition = doors.add_own_indicator(
            department,
            user=request.user,
            request=request,
            profile=registry,
            **form.definition_kwargs(),
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


def _deactivate_own(request, department, available, chosen, registry):
    definition = _own_definition(department, request.POST.get("definition", ""))
    doors.remove_own_indicator(definition, user=request.user, request=request)
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


def _add_marker(request, department, available, chosen, registry):
    form = ChangeMarkerForm(request.POST, definitions=available)
    if not form.is_valid():
        return None, ("marker", form)
    data = form.cleaned_data
    doors.add_marker(
        department,
        date=data["date"],
        label=data["label"],
        note=data["note"],
        definitions=list(data["definitions"]),
        user=request.user,
        request=request,
    )
    messages.success(request, _("Ændringsmarkøren er tilføjet."))
    return "markoerer", None


def _delete_marker(request, department, available, chosen, registry):
    pk = request.POST.get("marker", "")
    marker = (
        ChangeMarker.objects.filter(department=department, pk=int(pk)).first()
        if pk.isdigit()
        else None
    )
    if marker is None:
        raise Http404("No such change marker of this department")
    doors.remove_marker(marker, user=request.user, request=request)
    messages.success(request, _("Ændringsmarkøren er slettet."))
    return "markoerer", None


HANDLERS = {
    ACTION_INDICATORS: _save_indicators,
    ACTION_OWN: _save_own,
    ACTION_OWN_DEACTIVATE: _deactivate_own,
    ACTION_MARKER_ADD: _add_marker,
    ACTION_MARKER_DELETE: _delete_marker,
}
