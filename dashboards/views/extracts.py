"""Coordinators' pages for registry extracts: history, upload with progress, report, rollback."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from dashboards.forms import UploadForm
from dashboards.selectors import extracts as selectors
from departments import access, audit
from departments.models import AuditAction
from indicators.models import Extract
from indicators.registry.importer import ConfirmationNeeded, make_current, queue_upload
from qualityportal import csvsafe
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
    _require_reader(request)
    extracts = (
        Extract.objects.select_related("registry", "uploaded_by")
        .annotate(current_departments=Count("current_for"))
        .order_by("-uploaded_at")
    )
    page = Paginator(extracts, 25).get_page(request.GET.get("page"))
    return render(request, "dashboards/extracts/list.html", {"page": page})


@login_required
def extract_upload(request):
    _require_extract_access(request)
    broker = check_broker()
    posted = request.method == "POST"
    form = UploadForm(request.POST if posted else None, request.FILES if posted else None)
    if getattr(request, "upload_too_large", False):
        # The upload handler stopped the file at the limit and deleted what it had written.
        form.is_valid()
        form.add_error(
            "file",
            _("Filen er for stor (højst %(limit)s); intet er gemt.")
            % {"limit": filesizeformat(settings.UPLOAD_MAX_BYTES)},
        )
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
            outcome = queue_upload(
                form.cleaned_data["file"],
                profile_slug=form.cleaned_data["profile"],
                user=request.user,
                request=request,
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


def _require_reader(request) -> None:
    # Administrators read reports and refused rows too (the rows of every department); only
    # coordinators upload and roll back.
    try:
        access.require_extract_reader(request.user)
    except PermissionDenied:
        raise PermissionDenied(_("Kun kvalitetskoordinatorer kan se udtræk.")) from None


@login_required
@require_GET
def extract_detail(request, pk: int):
    _require_reader(request)
    extract = get_object_or_404(
        Extract.objects.select_related("registry", "uploaded_by", "feed_token"), pk=pk
    )
    visible = selectors.refused_rows(extract, request.user)
    refused = Paginator(visible, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "dashboards/extracts/detail.html",
        {
            "extract": extract,
            "refused": refused,
            # Rows of departments the viewer does not coordinate are counted, never shown.
            "refused_elsewhere": extract.rows_rejected - refused.paginator.count,
            "message": extract.message(get_language()),
        },
    )


@login_required
@require_GET
def extract_status(request, pk: int):
    _require_reader(request)
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
    _require_reader(request)
    extract = get_object_or_404(Extract, pk=pk)
    rows = selectors.refused_rows(extract, request.user)
    audit.record(
        request,
        AuditAction.DOWNLOAD,
        target=f"extract:{extract.pk}/refused.csv",
        detail={"file_name": extract.file_name, "rows": rows.count()},
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="afviste-raekker-{extract.pk}.csv"'
    response.write("\ufeff")  # so Excel opens it as UTF-8
    writer = csvsafe.writer(response, delimiter=";")
    columns = [name for name in extract.columns if name != "cpr"]
    writer.writerow(["linje", "kolonne", "aarsag", "reason", *columns])
    for row in rows.iterator(chunk_size=2000):
        writer.writerow(
            [row.line, row.column, row.message_da, row.message_en]
            + [row.values.get(name, "") for name in columns]
        )
    return response


@login_required
@require_POST
def extract_make_current(request, pk: int):
    """Make an extract current for the departments it holds: first a page with what changes
    (rows before and after, per department), then, confirmed, the change itself."""
    _require_extract_access(request)
    extract = get_object_or_404(Extract.objects.select_related("registry"), pk=pk)
    try:
        make_current(
            extract,
            user=request.user,
            request=request,
            confirmed=request.POST.get("confirm") == "1",
        )
    except ConfirmationNeeded as needed:
        return render(
            request,
            "dashboards/extracts/confirm.html",
            {"extract": extract, "changes": needed.changes},
        )
    except ValueError:
        messages.error(request, _("Kun et færdigt udtræk med gyldige rækker kan gøres aktuelt."))
        return redirect("extract_list")
    messages.success(
        request,
        _("Udtræk nr. %(id)s er nu aktuelt for de afdelinger, det indeholder.")
        % {"id": extract.pk},
    )
    return redirect("extract_list")
