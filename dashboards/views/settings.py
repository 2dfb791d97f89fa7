"""A coordinator's settings for one department: the indicators it follows, their order and
targets, its own indicators (a rule builder with a live preview on the current extract), change
markers; and the state of the recompute each change queues.

The forms' actions are in ``settings_actions``, the live preview in ``settings_preview``. Every
write goes through ``indicators.services.definitions`` and is audited; every department lookup
goes through ``departments.access`` (coordinators of the department only).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Max, Q
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from dashboards.forms_settings import (
    ChangeMarkerForm,
    IndicatorsForm,
    OwnIndicatorForm,
    builder_schema,
    language,
    target_as_text,
)
from dashboards.selectors.results import department_registries, registry_order
from dashboards.views.settings_actions import HANDLERS
from departments import access
from departments.models import Department
from indicators.models import ChangeMarker, Computation, IndicatorDefinition
from indicators.registry import catalog
from indicators.rules.words import describe_definition
from indicators.services import currency
from qualityportal.formatting import ci_label


def settings_registries(department: Department) -> list[str]:
    """The registries whose settings the department has: those it has rows in or indicators
    of (every installed registry, for a department with neither yet), as the dashboard orders
    them."""
    found = department_registries(department) | set(
        IndicatorDefinition.objects.filter(department=department).values_list("profile", flat=True)
    )
    return registry_order(found or catalog.slugs())


def chosen_registry(request, department: Department) -> tuple[str, list[str]]:
    """The registry the page is about (``?registry=``, or a form's ``registry``; else the
    first) and every one the department may choose."""
    choices = settings_registries(department)
    asked = (request.POST.get("registry") or request.GET.get("registry") or "").strip()
    return (asked if asked in choices else choices[0] if choices else "dccg"), choices


# --- reads ------------------------------------------------------------------------------------


def _available(department: Department, registry: str) -> list[IndicatorDefinition]:
    """What the department may follow in a registry: its active standard indicators and the
    department's own."""
    return list(
        IndicatorDefinition.objects.filter(is_active=True, profile=registry)
        .filter(Q(department__isnull=True) | Q(department=department))
        .order_by("position", "pk")
    )


def _chosen(department: Department, available) -> dict[int, tuple[int, float | None]]:
    """Definition id -> (position, target) of what the department follows.

    A department that has chosen nothing yet follows the standard indicators in their order
    (the department pages show those), so the form starts from that.
    """
    registry = available[0].profile if available else ""
    choices = department.indicator_choices.filter(
        definition__is_active=True, definition__profile=registry
    ).order_by("position", "pk")
    found = {c.definition_id: (i, c.target) for i, c in enumerate(choices)}
    if found:
        return found
    standard = [d for d in available if d.is_standard]
    return {d.pk: (i, None) for i, d in enumerate(standard)}


def _pending_computation(registry: str) -> Computation | None:
    """The newest computation queued after the current one, if any."""
    current = Computation.objects.filter(registry__slug=registry, is_current=True).first()
    newer = Computation.objects.filter(registry__slug=registry)
    return newer.filter(pk__gt=current.pk if current else 0).order_by("-pk").first()


def _latest_computation_id(registry: str) -> int:
    found = Computation.objects.filter(registry__slug=registry).aggregate(top=Max("pk"))["top"]
    return found or 0


def _computation_state(computation: Computation | None) -> dict:
    if computation is None:
        return {"id": None, "status": "none", "finished": True, "progress": 100, "message": ""}
    lang = language()
    if computation.status == Computation.Status.DONE:
        message = _("Resultaterne er opdateret.")
    elif computation.status == Computation.Status.FAILED:
        message = computation.error(lang) or _("Beregningen fejlede.")
    else:
        message = _("Resultaterne genberegnes; siden opdaterer sig selv.")
    return {
        "id": computation.pk,
        "status": computation.status,
        "status_label": computation.get_status_display(),
        "progress": computation.progress,
        "finished": computation.is_finished,
        "message": message,
    }


def _markers(department: Department) -> list[ChangeMarker]:
    return list(
        ChangeMarker.objects.filter(department=department)
        .prefetch_related("definitions")
        .order_by("-date", "-pk")
    )


# --- the page ---------------------------------------------------------------------------------


@login_required
def settings_page(request, code: str):
    department = access.get_department_for(request.user, code, "coordinate")
    registry, registries = chosen_registry(request, department)
    available = _available(department, registry)
    chosen = _chosen(department, available)
    forms = {
        "indicators": IndicatorsForm(
            definitions=available, chosen=chosen, summary=department.tile_summary
        ),
        "own": OwnIndicatorForm(department=department, registry=registry),
        "marker": ChangeMarkerForm(definitions=available),
    }
    if request.method == "POST":
        action = request.POST.get("action", "")
        before = _latest_computation_id(registry)
        handler = HANDLERS.get(action)
        if handler is None:
            messages.error(request, _("Ukendt handling; intet blev gemt."))
        else:
            done, form = handler(request, department, available, chosen, registry)
            if done:
                # The recompute this change queued (it may already have run and be current).
                pending = (
                    Computation.objects.filter(registry__slug=registry, pk__gt=before)
                    .order_by("-pk")
                    .first()
                )
                url = reverse("department_settings", args=[department.code])
                query = {"registry": registry} if len(registries) > 1 else {}
                query |= {"computation": pending.pk} if pending else {}
                suffix = f"?{urlencode(query)}" if query else ""
                return redirect(f"{url}{suffix}#{done}")
            forms[form[0]] = form[1]
    context = _context(request, department, forms, registry, registries)
    return render(request, "dashboards/settings.html", context)


def _context(request, department: Department, forms: dict, registry: str, registries) -> dict:
    asked = request.GET.get("computation", "")
    computation = None
    if asked.isdigit():
        computation = Computation.objects.filter(registry__slug=registry, pk=int(asked)).first()
    computation = computation or _pending_computation(registry)
    # The preview reads the department's current rows: the extract that holds them.
    source = currency.source_of(department, registry)
    extract = source.extract if source else None
    lang = language()
    own = [d for d in forms["indicators"].definitions if d.department_id == department.pk]
    return {
        "department": department,
        "ci_label": ci_label(lang),
        # The header's menu marks this page (the view already required "coordinate").
        "settings_url": reverse("department_settings", args=[department.code]),
        "settings_current": True,
        "indicators_form": forms["indicators"],
        "own_form": forms["own"],
        "marker_form": forms["marker"],
        "own_indicators": [
            {
                "definition": d,
                "name": d.name(lang),
                "rules": _rule_summary(d),
                "words": " · ".join(f"{k}: {v}" for k, v in describe_definition(d, lang)),
            }
            for d in own
        ],
        "markers": [
            {
                "marker": m,
                "definitions": [d.name(lang) for d in m.definitions.all()],
            }
            for m in _markers(department)
        ],
        "computation": _computation_state(computation) if computation else None,
        "extract": extract,
        "builder_schema": builder_schema(registry),
        "registry": registry,
        "registry_choices": (
            [
                {"slug": e.slug, "name": e.name(lang), "current": e.slug == registry}
                for e in sorted(
                    (e for e in catalog.entries() if e.slug in registries),
                    key=lambda e: registries.index(e.slug),
                )
            ]
            if len(registries) > 1
            else []
        ),
        "status_url": reverse("department_settings_computation", args=[department.code])
        + f"?registry={registry}",
        "preview_url": reverse("department_settings_preview", args=[department.code]),
        "lang": lang,
    }


def _rule_summary(definition: IndicatorDefinition) -> str:
    target = target_as_text(definition.default_target, definition.kind)
    unit = "%" if definition.kind == IndicatorDefinition.Kind.PROPORTION else _("dage")
    kind = definition.get_kind_display()
    if not target:
        return str(kind)
    return _("%(kind)s, mål %(target)s %(unit)s") % {"kind": kind, "target": target, "unit": unit}


# --- JSON: the recompute's state --------------------------------------------------------------


@login_required
@require_GET
def settings_computation(request, code: str):
    """The state of a queued recompute (``?id=``), or of the newest pending one."""
    department = access.get_department_for(request.user, code, "coordinate")
    registry, _choices = chosen_registry(request, department)
    asked = request.GET.get("id", "")
    computation = None
    if asked.isdigit():
        computation = Computation.objects.filter(registry__slug=registry, pk=int(asked)).first()
    return JsonResponse(_computation_state(computation or _pending_computation(registry)))
