from __future__ import annotations

from pathlib import Path

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from indicators.registry import catalog

ALLOWED_SUFFIXES = {".csv", ".txt", ".xlsx"}


class UploadForm(forms.Form):
    profile = forms.ChoiceField(label=_("Register"), choices=(), initial="dccg")
    file = forms.FileField(
        label=_("Udtræk (CSV eller Excel)"),
        help_text=_("Semikolonsepareret CSV (UTF-8 eller Windows-1252) eller .xlsx."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        language = translation.get_language() or "da"
        # Every installed registry (catalog): a file names the departments its rows belong to.
        self.fields["profile"].choices = [(e.slug, e.name(language)) for e in catalog.entries()]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if Path(upload.name).suffix.lower() not in ALLOWED_SUFFIXES:
            raise forms.ValidationError(
                _("Filen skal være .csv eller .xlsx, ikke %(name)s."),
                params={"name": upload.name},
                code="suffix",
            )
        if upload.size > settings.UPLOAD_MAX_BYTES:
            raise forms.ValidationError(
                _("Filen er for stor (%(size)s; højst %(limit)s)."),
                params={
                    "size": filesizeformat(upload.size),
                    "limit": filesizeformat(settings.UPLOAD_MAX_BYTES),
                },
                code="too_large",
            )
        if upload.size == 0:
            raise forms.ValidationError(_("Filen er tom."), code="empty")
        return upload
