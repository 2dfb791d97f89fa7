"""Coordinators' pages for registry extracts: history, upload with progress, report, rollback."""

from __future__ import annotations

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from dashboards.forms import UploadForm
from departments import access, audit
from departments.models import AuditAction
from indicators.models import Extract
from indicators.registry.importer import make_current, queue_upload
from qualityportal.health import check_broker


def _require_extract_access(request) -> None:
    # A registry extract is national (every department's rows in one file), so a coordinator of
    # any department may upload, follow and roll back extracts. Being staff or an administrator
    # grants nothing here: only the coordinator role does (departments.access).
    if not access.can(request.user, "coordinate"):
        raise PermissionDenied(_("Kun kvalitetskoordinatorer kan se udtræk."))


@login_required
@require_GET
def extract_list(request):
    _require_extract_access(request)
    extracts = Extract.objects.select_related("registry", "uploaded_by").order_by("-uploaded_at")
    page = Paginator(extracts, 25).get_page(request.GET.get("page"))
    return render(request, "dashboards/extracts/list.html", {"page": page})


@login_required
def extract_upload(request):
    _require_extract_access(request)
    broker = check_broker()
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        if not broker["ok"]:
            messages.error(
                request,
                _(
                    "Baggrundsbehandlingen er ikke tilgængelig lige nu, så filen er ikke modtaget. "
                    "Prøv igen om lidt."
                ),
            )
        else:
            with transaction.atomic():
                outcome = queue_upload(
                    form.cleaned_data["file"],
                    profile_slug=form.cleaned_data["profile"],
                    user=request.user,
                )
                audit.record(
                    request,
                    AuditAction.UPLOAD,
                    target=f"extract:{outcome.extract.pk}",
                    detail={
                        "file_name": outcome.extract.file_name,
                        "sha256": outcome.extract.sha256,
                        "profile": form.cleaned_data["profile"],
                        "already_imported": outcome.already_imported,
                    },
                )
            if outcome.already_imported:
                messages.info(
                    request,
                    _("Filen er allerede indlæst som udtræk nr. %(id)s; intet blev ændret.")
                    % {"id": outcome.extract.pk},
                )
            return redirect("extract_detail", pk=outcome.extract.pk)
    return render(
        request, "dashboards/extracts/upload.html", {"form": form, "broker_ok": broker["ok"]}
    )


@login_required
@require_GET
def extract_detail(request, pk: int):
    _require_extract_access(request)
    extract = get_object_or_404(Extract.objects.select_related("registry", "uploaded_by"), pk=pk)
    refused = Paginator(extract.refused.all(), 100).get_page(request.GET.get("page"))
    return render(
        request,
        "dashboards/extracts/detail.html",
        {"extract": extract, "refused": refused, "message": extract.message(get_language())},
    )


@login_required
@require_GET
def extract_status(request, pk: int):
    _require_extract_access(request)
    extract = get_object_or_404(Extract, pk=pk)
    return JsonResponse(
        {
            "id": extract.pk,
            "status": extract.status,
            "status_label": extract.get_status_display(),
            "progress": extract.progress,
            "finished": extract.is_finished,
            "rows": extract.rows_read,
            "imported": extract.rows_imported,
            "rejected": extract.rows_rejected,
            "message": extract.message(get_language()),
        }
    )


@login_required
@require_GET
def extract_refused_csv(request, pk: int):
    _require_extract_access(request)
    extract = get_object_or_404(Extract, pk=pk)
    audit.record(
        request,
        AuditAction.DOWNLOAD,
        target=f"extract:{extract.pk}/refused.csv",
        detail={"file_name": extract.file_name, "rows": extract.rows_rejected},
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="afviste-raekker-{extract.pk}.csv"'
    response.write("\ufeff")  # so Excel opens it as UTF-8
    writer = csv.writer(response, delimiter=";")
    columns = [name for name in extract.columns if name != "cpr"]
    writer.writerow(["linje", "kolonne", "aarsag", "reason", *columns])
    for row in extract.refused.order_by("line").iterator(chunk_size=2000):
        writer.writerow(
            [row.line, row.column, row.message_da, row.message_en]
            + [row.values.get(name, "") for name in columns]
        )
    return response


@login_required
@require_POST
def extract_make_current(request, pk: int):
    _require_extract_access(request)
    extract = get_object_or_404(Extract, pk=pk)
    if extract.status != Extract.Status.DONE:
        messages.error(request, _("Kun et færdigt udtræk kan gøres aktuelt."))
    else:
        with transaction.atomic():
            make_current(extract)
            audit.record(
                request,
                AuditAction.ROLLBACK,
                target=f"extract:{extract.pk}",
                detail={"file_name": extract.file_name},
            )
        messages.success(request, _("Udtræk nr. %(id)s er nu det aktuelle.") % {"id": extract.pk})
    return redirect("extract_list")
