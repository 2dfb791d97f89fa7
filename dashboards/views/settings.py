"""A coordinator's settings for one department: the indicators it follows, their order and
targets, its own indicators (a rule builder with a live preview on the current extract), change
markers; and the state of the recompute each change queues.

Every write goes through ``indicators.services.definitions`` and is audited; every department
lookup goes through ``departments.access`` (coordinators of the department only).
"""

from __future__ import annotations

import dataclasses

import pandas as pd
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from dashboards.figures.common import number, percent
from dashboards.figures.trend import ci_label, count_text, interval_text
from dashboards.forms_settings import (
    ACTION_INDICATORS,
    ACTION_MARKER_ADD,
    ACTION_MARKER_DELETE,
    ACTION_OWN,
    ACTION_OWN_DEACTIVATE,
    ChangeMarkerForm,
    IndicatorsForm,
    OwnIndicatorForm,
    builder_schema,
    language,
    rule_fields,
    target_as_text,
)
from departments import access, audit
from departments.models import AuditAction, Department
from indicators import engine, stats
from indicators.models import (
    ChangeMarker,
    Computation,
    Extract,
    IndicatorDefinition,
)
from indicators.services import definitions as services
from indicators.services.computations import spec_of
from indicators.services.rows import read_rows

PROFILE = "dccg"


# --- reads ------------------------------------------------------------------------------------


def _available(department: Department) -> list[IndicatorDefinition]:
    """What the department may follow: the active standard indicators and its own."""
    return list(
        IndicatorDefinition.objects.filter(is_active=True, profile=PROFILE)
        .filter(Q(department__isnull=True) | Q(department=department))
        .order_by("position", "pk")
    )


def _chosen(department: Department, available) -> dict[int, tuple[int, float | None]]:
    """Definition id -> (position, target) of what the department follows.

    A department that has chosen nothing yet follows the standard indicators in their order
    (the department pages show those), so the form starts from that.
    """
    choices = department.indicator_choices.filter(definition__is_active=True).order_by(
        "position", "pk"
    )
    found = {c.definition_id: (i, c.target) for i, c in enumerate(choices)}
    if found:
        return found
    standard = [d for d in available if d.is_standard]
    return {d.pk: (i, None) for i, d in enumerate(standard)}


def _pending_computation() -> Computation | None:
    """The newest computation queued after the current one, if any."""
    current = Computation.objects.filter(registry__slug=PROFILE, is_current=True).first()
    newer = Computation.objects.filter(registry__slug=PROFILE)
    return newer.filter(pk__gt=current.pk if current else 0).order_by("-pk").first()


def _latest_computation_id() -> int:
    found = Computation.objects.filter(registry__slug=PROFILE).aggregate(top=Max("pk"))["top"]
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
    available = _available(department)
    chosen = _chosen(department, available)
    forms = {
        "indicators": IndicatorsForm(definitions=available, chosen=chosen),
        "own": OwnIndicatorForm(department=department),
        "marker": ChangeMarkerForm(definitions=available),
    }
    if request.method == "POST":
        action = request.POST.get("action", "")
        before = _latest_computation_id()
        handler = _HANDLERS.get(action)
        if handler is None:
            messages.error(request, _("Ukendt handling; intet blev gemt."))
        else:
            done, form = handler(request, department, available, chosen)
            if done:
                # The recompute this change queued (it may already have run and be current).
                pending = (
                    Computation.objects.filter(registry__slug=PROFILE, pk__gt=before)
                    .order_by("-pk")
                    .first()
                )
                url = reverse("department_settings", args=[department.code])
                query = f"?computation={pending.pk}" if pending else ""
                return redirect(f"{url}{query}#{done}")
            forms[form[0]] = form[1]
    return render(request, "dashboards/settings.html", _context(request, department, forms))


def _context(request, department: Department, forms: dict) -> dict:
    asked = request.GET.get("computation", "")
    computation = None
    if asked.isdigit():
        computation = Computation.objects.filter(registry__slug=PROFILE, pk=int(asked)).first()
    computation = computation or _pending_computation()
    extract = Extract.objects.filter(registry__slug=PROFILE, is_current=True).first()
    lang = language()
    own = [d for d in forms["indicators"].definitions if d.department_id == department.pk]
    return {
        "department": department,
        "indicators_form": forms["indicators"],
        "own_form": forms["own"],
        "marker_form": forms["marker"],
        "own_indicators": [
            {"definition": d, "name": d.name(lang), "rules": _rule_summary(d)} for d in own
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
        "builder_schema": builder_schema(PROFILE),
        "status_url": reverse("department_settings_computation", args=[department.code]),
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


# --- the actions (each returns (section anchor when saved, (form name, bound form))) -----------


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


_HANDLERS = {
    ACTION_INDICATORS: _save_indicators,
    ACTION_OWN: _save_own,
    ACTION_OWN_DEACTIVATE: _deactivate_own,
    ACTION_MARKER_ADD: _add_marker,
    ACTION_MARKER_DELETE: _delete_marker,
}


# --- JSON: the live preview and the recompute's state -----------------------------------------


@login_required
@require_POST
def settings_preview(request, code: str):
    """The draft own indicator computed on the department's rows of the current extract,
    nothing saved. Invalid drafts answer ``ok: false`` with the errors by field."""
    department = access.get_department_for(request.user, code, "coordinate")
    form = OwnIndicatorForm(request.POST, department=department, draft=True)
    if not form.is_valid():
        return JsonResponse({"ok": False, "errors": form.all_messages()})
    extract = Extract.objects.filter(registry__slug=PROFILE, is_current=True).first()
    if extract is None:
        return JsonResponse(
            {"ok": False, "errors": {"__all__": [_("Der er intet aktuelt udtræk endnu.")]}}
        )
    return JsonResponse(preview(department, form.draft_definition(), extract))


def preview(department: Department, definition: IndicatorDefinition, extract: Extract) -> dict:
    """Yearly results of an unsaved definition for one department, as the engine computes them.

    Reads only the department's rows and the fields the rules use; computes with the same engine
    and spec the recompute uses, so saving the definition gives these very numbers.
    """
    spec = dataclasses.replace(spec_of(definition), id=0, department_id=department.pk)
    fields = rule_fields(PROFILE)
    rows = read_rows(
        extract.pk, engine.needed_fields([spec]), fields, department_ids=[department.pk]
    )
    frame = engine.compute_results(rows, [spec], {}, departments=[department.pk], include_all=False)
    years = frame[frame["period_type"] == "year"].sort_values("period_start")
    lang = language()
    is_proportion = definition.kind == IndicatorDefinition.Kind.PROPORTION
    periods = [
        _preview_row(row, is_proportion, lang, str(row["period_start"].year))
        for row in years.to_dict("records")
    ]
    total = None
    if is_proportion and periods:
        numerator = sum(p["numerator"] for p in periods)
        denominator = sum(p["denominator"] for p in periods)
        low, high = stats.wilson_interval(numerator, denominator)
        total = _preview_row(
            {
                "numerator": numerator,
                "denominator": denominator,
                "missing": sum(p["missing"] for p in periods),
                "value": float(stats.proportion(numerator, denominator)),
                "ci_low": float(low),
                "ci_high": float(high),
                "target_status": None,
            },
            True,
            lang,
            _("I alt"),
        )
    latest = periods[-1] if periods else None
    return {
        "ok": True,
        "kind": definition.kind,
        "headline": _headline(latest, is_proportion) if latest else _("Ingen operationer."),
        "rows": len(rows),
        "extract": extract.pk,
        "periods": periods,
        "total": total,
        "latest": latest,
    }


def _headline(row: dict, is_proportion: bool) -> str:
    if is_proportion:
        text = _("%(period)s: %(numerator)s af %(denominator)s = %(value)s") % {
            "period": row["period"],
            "numerator": row["numerator_text"],
            "denominator": row["denominator_text"],
            "value": row["value_text"],
        }
    else:
        text = _("%(period)s: median %(value)s (%(denominator)s operationer)") % {
            "period": row["period"],
            "value": row["value_text"],
            "denominator": row["denominator_text"],
        }
    if row["interval_text"]:
        text += f" ({ci_label()} {row['interval_text']})"
    return text


def _clean(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _count(value) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _preview_row(row: dict, is_proportion: bool, lang: str, label: str) -> dict:
    value, low, high = _clean(row["value"]), _clean(row["ci_low"]), _clean(row["ci_high"])
    numerator = _count(row.get("numerator"))
    if is_proportion:
        shown = percent(value, 1, lang)
        interval = interval_text(low, high, lang)
    else:
        shown = f"{number(value, 1, lang)} {_('dage')}" if value is not None else "–"
        interval = interval_text(low, high, lang, as_percent=False)
    status = row.get("target_status")
    return {
        "period": label,
        "numerator": numerator,
        "denominator": int(row["denominator"]),
        "missing": int(row["missing"]),
        "value": value,
        "ci_low": low,
        "ci_high": high,
        "numerator_text": count_text(numerator),
        "denominator_text": count_text(int(row["denominator"])),
        "missing_text": count_text(int(row["missing"])),
        "value_text": shown,
        "interval_text": interval,
        "target_status": status if isinstance(status, str) else None,
    }


@login_required
@require_GET
def settings_computation(request, code: str):
    """The state of a queued recompute (``?id=``), or of the newest pending one."""
    access.get_department_for(request.user, code, "coordinate")
    asked = request.GET.get("id", "")
    computation = None
    if asked.isdigit():
        computation = Computation.objects.filter(registry__slug=PROFILE, pk=int(asked)).first()
    return JsonResponse(_computation_state(computation or _pending_computation()))
