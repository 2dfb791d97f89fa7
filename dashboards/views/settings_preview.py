"""The rule builder's live preview: a draft own indicator computed on the department's rows of
the current extract (``indicators.services.preview``, the engine's numbers), nothing saved,
answered as JSON with the texts the page shows."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from dashboards.forms_settings import OwnIndicatorForm, language
from dashboards.views.settings import chosen_registry
from departments import access
from departments.models import Department
from indicators.models import Extract, IndicatorDefinition
from indicators.services import currency
from indicators.services.preview import PreviewRow, preview_definition
from qualityportal.formatting import ci_label, count_text, range_text, value_text


@login_required
@require_POST
def settings_preview(request, code: str):
    """The draft own indicator computed on the department's rows of the current extract,
    nothing saved. Invalid drafts answer ``ok: false`` with the errors by field."""
    department = access.get_department_for(request.user, code, "coordinate")
    registry, _choices = chosen_registry(request, department)
    form = OwnIndicatorForm(request.POST, department=department, registry=registry, draft=True)
    if not form.is_valid():
        return JsonResponse({"ok": False, "errors": form.all_messages()})
    source = currency.source_of(department, registry)
    extract = source.extract if source else None
    if extract is None:
        return JsonResponse(
            {"ok": False, "errors": {"__all__": [_("Der er intet aktuelt udtræk endnu.")]}}
        )
    return JsonResponse(preview(department, form.draft_definition(), extract))


def preview(department: Department, definition: IndicatorDefinition, extract: Extract) -> dict:
    """The preview's answer: the engine's yearly results of the unsaved definition (and, for a
    proportion, every year together), each with its texts."""
    found = preview_definition(department, definition, extract)
    lang = language()
    is_proportion = definition.kind == IndicatorDefinition.Kind.PROPORTION
    periods = [
        _preview_row(year, is_proportion, lang, str(year.period_start.year)) for year in found.years
    ]
    total = None
    if found.total is not None:
        total = _preview_row(found.total, is_proportion, lang, _("I alt"))
    latest = periods[-1] if periods else None
    return {
        "ok": True,
        "kind": definition.kind,
        "headline": _headline(latest, is_proportion) if latest else _("Ingen operationer."),
        "rows": found.rows,
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
        text += f" ({ci_label(language())} {row['interval_text']})"
    return text


def _preview_row(row: PreviewRow, is_proportion: bool, lang: str, label: str) -> dict:
    value, low, high = row.value, row.ci_low, row.ci_high
    kind = "proportion" if is_proportion else "measure"
    return {
        "period": label,
        "numerator": row.numerator,
        "denominator": row.denominator,
        "missing": row.missing,
        "value": value,
        "ci_low": low,
        "ci_high": high,
        "numerator_text": count_text(row.numerator, lang),
        "denominator_text": count_text(row.denominator, lang),
        "missing_text": count_text(row.missing, lang),
        "value_text": value_text(value, kind, lang),
        "interval_text": range_text(low, high, kind, lang),
        "target_status": row.target_status,
    }
