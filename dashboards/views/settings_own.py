"""A department's own indicator: its rule in words, its versions, and an edit that adds one."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from dashboards.forms_settings import OwnIndicatorForm, builder_schema, target_as_text
from dashboards.views.department import language
from departments import access
from indicators.models import IndicatorDefinition
from indicators.rules.words import describe_definition
from indicators.services import currency
from indicators.services import settings_actions as doors
from qualityportal.formatting import ci_label, date_label, value_text


def _lines(definition, lang: str) -> list[tuple[str, str]]:
    """The rule in words, and the target (a version is a dict of its fields)."""
    get = definition.get if isinstance(definition, dict) else definition.__dict__.get
    lines = describe_definition(definition, lang)
    target = get("default_target")
    if target is not None:
        kind = get("kind")
        text = value_text(target, kind, lang)
        lines.append(
            (
                _("Mål"),
                _("højst %(v)s") % {"v": text}
                if get("direction") != "higher"
                else _("mindst %(v)s") % {"v": text},
            )
        )
    return lines


def _initial(definition: IndicatorDefinition) -> dict:
    measure = (definition.measure or {}).get("days") or ["", ""]
    return {
        "name_da": definition.name_da,
        "name_en": definition.name_en,
        "kind": definition.kind,
        "direction": definition.direction,
        "target": target_as_text(definition.default_target, definition.kind),
        "population": definition.population,
        "missing": definition.missing,
        "event": definition.event,
        "measure_from": measure[0],
        "measure_to": measure[1],
    }


@login_required
def own_indicator_page(request, code: str, slug: str):
    department = access.get_department_for(request.user, code, "coordinate")
    definition = get_object_or_404(
        IndicatorDefinition, slug=slug, department=department, is_active=True
    )
    registry = definition.profile
    form = OwnIndicatorForm(department=department, registry=registry, initial=_initial(definition))
    if request.method == "POST":
        form = OwnIndicatorForm(request.POST, department=department, registry=registry)
        if form.is_valid():
            fields = form.definition_kwargs()
            try:
                version = doors.edit_own_indicator(
                    definition, user=request.user, request=request, **fields
                )
            except ValidationError as error:
                for field, problems in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, problems)
            else:
                if version is None:
                    messages.info(request, _("Intet er ændret; der er ingen ny version."))
                else:
                    messages.success(
                        request,
                        _("Version %(n)s er gemt; indikatorens resultater genberegnes.")
                        % {"n": version.number},
                    )
                return redirect("own_indicator", code=department.code, slug=definition.slug)
    lang = language()
    versions = [
        {
            "number": v.number,
            "when": date_label(v.created_at.date(), lang),
            "by": v.created_by.email if v.created_by else "",
            "lines": _lines(v.rules, lang),
        }
        for v in definition.versions.select_related("created_by")
    ]
    source = currency.source_of(department, definition.profile)
    return render(
        request,
        "dashboards/settings_own_indicator.html",
        {
            "department": department,
            "definition": definition,
            "name": definition.name(lang),
            "lines": _lines(definition, lang),
            "versions": versions,
            "form": form,
            "extract": source.extract if source else None,
            "ci_label": ci_label(lang),
            "builder_schema": builder_schema(definition.profile),
            "registry": definition.profile,
            "preview_url": reverse("department_settings_preview", args=[department.code]),
            "settings_url": reverse("department_settings", args=[department.code]),
            "settings_current": True,
            "editing": True,
        },
    )
