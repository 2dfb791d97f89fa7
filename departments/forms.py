from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from departments.audit import AuditFilter
from departments.models import AuditAction


class AuditFilterForm(forms.Form):
    user = forms.CharField(label=_("Bruger (e-mail)"), required=False, max_length=254)
    action = forms.ChoiceField(
        label=_("Handling"),
        required=False,
        choices=[("", _("Alle handlinger")), *AuditAction.choices],
    )
    department = forms.CharField(label=_("Afdeling (SKS-kode)"), required=False, max_length=7)
    date_from = forms.DateField(
        label=_("Fra dato"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("Til dato"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # <input type="date"> always sends ISO dates, whatever the page's language.
        for name in ("date_from", "date_to"):
            self.fields[name].input_formats = ["%Y-%m-%d", "%d-%m-%Y"]

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError(_("Fra-datoen ligger efter til-datoen."))
        return data

    def filters(self) -> AuditFilter:
        """The filter to apply; an invalid form filters nothing rather than fail."""
        if not self.is_valid():
            return AuditFilter()
        return AuditFilter(
            user=self.cleaned_data["user"],
            action=self.cleaned_data["action"],
            department=self.cleaned_data["department"],
            date_from=self.cleaned_data["date_from"],
            date_to=self.cleaned_data["date_to"],
        )
