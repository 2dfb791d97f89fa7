"""Forms of a department's settings page: the indicators it follows (order, targets), its own
indicators built from rule parts, and change markers.

Targets are typed as people write them: a percentage for a proportion ("2,5" or "2.5", with or
without "%"), whole or decimal days for a measure; stored as a fraction or days.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from departments.models import Department
from indicators import rules
from indicators.models import ChangeMarker, IndicatorDefinition
from indicators.registry.profiles import get_profile
from qualityportal.formatting import current_language as language
from qualityportal.formatting import input_number, parse_number

ACTION_INDICATORS = "indicators"
ACTION_OWN = "own"
ACTION_OWN_DEACTIVATE = "own_deactivate"
ACTION_MARKER_ADD = "marker_add"
ACTION_MARKER_DELETE = "marker_delete"
ACTIONS = (
    ACTION_INDICATORS,
    ACTION_OWN,
    ACTION_OWN_DEACTIVATE,
    ACTION_MARKER_ADD,
    ACTION_MARKER_DELETE,
)
PROPORTION = IndicatorDefinition.Kind.PROPORTION
MEASURE = IndicatorDefinition.Kind.MEASURE


def format_number(value: float | None, decimals: int = 2) -> str:
    """A number for an input field in the page's language (qualityportal.formatting)."""
    return input_number(value, decimals, language())


def target_from_text(text: str, kind: str) -> float | None:
    """The stored target from what was typed: a fraction for a proportion, days for a measure.

    Raises ``forms.ValidationError`` with a message in the page's language.
    """
    try:
        number = parse_number(text)
    except ValueError:
        raise forms.ValidationError(
            _("Skriv målet som et tal, fx 5 eller 2,5."), code="not_a_number"
        ) from None
    if number is None:
        return None
    if kind == PROPORTION:
        if not 0 <= number <= 100:
            raise forms.ValidationError(
                _("Et mål for en andel er en procent mellem 0 og 100."), code="range"
            )
        return round(number / 100, 8)
    if number < 0:
        raise forms.ValidationError(_("Et mål i dage kan ikke være negativt."), code="range")
    return number


def target_as_text(target: float | None, kind: str) -> str:
    if target is None:
        return ""
    return format_number(target * 100 if kind == PROPORTION else target)


# --- the indicators a department follows ------------------------------------------------------


class IndicatorsForm(forms.Form):
    """One row per indicator the department may follow: follow it, its place, its target."""

    def __init__(
        self,
        data=None,
        *,
        definitions: Sequence[IndicatorDefinition],
        chosen: dict[int, tuple[int, float | None]],
        summary: str = Department.Summary.ROLLING_12,
    ) -> None:
        """``chosen``: definition id -> (position, target) of what the department follows;
        ``summary``: what its tiles show by default."""
        super().__init__(data, prefix="ind")
        self.fields["summary"] = forms.ChoiceField(
            choices=Department.Summary.choices,
            initial=summary,
            required=False,  # left out: unchanged
            label=_("Flisernes tal"),
            help_text=_("Med månedens SPC bagved; måned, kvartal og år kan stadig vælges."),
            widget=forms.RadioSelect,
        )
        # Followed indicators first, in the department's order; then the others.
        ranked = sorted(
            enumerate(definitions),
            key=lambda item: chosen[item[1].pk][0] if item[1].pk in chosen else 1000 + item[0],
        )
        self.definitions = [definition for _index, definition in ranked]
        for rank, definition in enumerate(self.definitions):
            pk = definition.pk
            position, target = chosen.get(pk, (None, None))
            self.fields[f"follow_{pk}"] = forms.BooleanField(
                required=False, initial=position is not None, label=_("Følg")
            )
            self.fields[f"position_{pk}"] = forms.IntegerField(
                min_value=1,
                max_value=999,
                required=False,
                initial=rank + 1,
                label=_("Rækkefølge"),
                widget=forms.NumberInput(attrs={"class": "position", "size": 3}),
            )
            self.fields[f"target_{pk}"] = forms.CharField(
                required=False,
                max_length=20,
                initial=target_as_text(target, definition.kind),
                label=_("Mål"),
                widget=forms.TextInput(attrs={"inputmode": "decimal", "class": "target"}),
            )

    def rows(self) -> list[dict]:
        """Per definition its bound fields, for the template."""
        return [
            {
                "definition": d,
                "follow": self[f"follow_{d.pk}"],
                "position": self[f"position_{d.pk}"],
                "target": self[f"target_{d.pk}"],
                "unit": "%" if d.kind == PROPORTION else _("dage"),
                "default_target": target_as_text(d.default_target, d.kind),
            }
            for d in self.definitions
        ]

    def clean(self):
        cleaned = super().clean()
        for definition in self.definitions:
            name = f"target_{definition.pk}"
            if name in self.errors:
                continue
            try:
                cleaned[name] = target_from_text(cleaned.get(name, ""), definition.kind)
            except forms.ValidationError as error:
                self.add_error(name, error)
        return cleaned

    def clean_summary(self) -> str:
        return self.cleaned_data.get("summary") or self.fields["summary"].initial

    def chosen(self) -> list[tuple[IndicatorDefinition, float | None]]:
        """The followed definitions in the order asked for (ties: the order shown)."""
        data = self.cleaned_data
        picked = [
            (data.get(f"position_{d.pk}") or 999, index, d)
            for index, d in enumerate(self.definitions)
            if data.get(f"follow_{d.pk}")
        ]
        return [(d, data.get(f"target_{d.pk}")) for _pos, _index, d in sorted(picked)]


# --- the department's own indicator: the rule builder -----------------------------------------

RULE_PARTS = ("population", "missing", "event")


def rule_fields(profile: str = "dccg") -> dict[str, rules.FieldSpec]:
    return rules.fields_for_profile(get_profile(profile))


def _human_path(path: str) -> str:
    """ "population.all[1].value" -> "condition 2" (the rule's name is the form field's)."""
    parts = re.findall(r"(?:all|any)\[(\d+)\]", path)
    if not parts:
        return ""
    return " › ".join(_("betingelse %(n)s") % {"n": int(n) + 1} for n in parts)


def rule_messages(errors: Sequence[rules.RuleError]) -> list[str]:
    """Rule errors as sentences in the page's language, each naming the condition it is in."""
    lang = language()
    out = []
    for error in errors:
        where = _human_path(error.path)
        text = error.en if lang == "en" else error.da
        out.append(f"{where[:1].upper()}{where[1:]}: {text}" if where else text)
    return out


class RuleField(forms.CharField):
    """A rule as JSON text (the rule builder writes it; without JavaScript it can be typed)."""

    widget = forms.Textarea(attrs={"rows": 3, "class": "rule-json", "spellcheck": "false"})

    def to_python(self, value):
        text = super().to_python(value)
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError:
            raise forms.ValidationError(
                _("Reglen kunne ikke læses (ugyldig JSON)."), code="json"
            ) from None

    def prepare_value(self, value):
        if isinstance(value, dict | list):
            return json.dumps(value, ensure_ascii=False)
        return value


class OwnIndicatorForm(forms.Form):
    """A department's own indicator from rule parts; ``draft=True`` for the live preview, where
    the names may still be blank."""

    name_da = forms.CharField(label=gettext_lazy("Navn (dansk)"), max_length=200)
    name_en = forms.CharField(label=gettext_lazy("Navn (engelsk)"), max_length=200)
    kind = forms.ChoiceField(
        label=gettext_lazy("Type"), choices=IndicatorDefinition.Kind.choices, initial=PROPORTION
    )
    direction = forms.ChoiceField(
        label=gettext_lazy("Retning"),
        choices=IndicatorDefinition.Direction.choices,
        initial=IndicatorDefinition.Direction.LOWER,
    )
    target = forms.CharField(
        label=gettext_lazy("Mål"),
        required=False,
        max_length=20,
        help_text=gettext_lazy("En andel i procent (fx 5 eller 2,5), et måltal i dage."),
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    population = RuleField(
        label=gettext_lazy("Population (hvilke operationer tæller med)"),
        required=False,
        initial=json.dumps(rules.EVERY_ROW),
    )
    missing = RuleField(
        label=gettext_lazy("Manglende (udelades af nævneren og tælles)"),
        required=False,
        initial=json.dumps(rules.NO_ROW),
    )
    event = RuleField(label=gettext_lazy("Hændelse (tælleren)"), required=False)
    measure_from = forms.ChoiceField(label=gettext_lazy("Dage fra"), required=False)
    measure_to = forms.ChoiceField(label=gettext_lazy("Dage til"), required=False)

    def __init__(
        self,
        data=None,
        *,
        department: Department,
        registry: str = "dccg",
        draft: bool = False,
        **kwargs,
    ):
        super().__init__(data, prefix="own", **kwargs)
        self.department = department
        self.registry = registry  # the indicator belongs to it and uses its fields
        self.draft = draft
        self.fields_spec = rule_fields(registry)
        lang = language()
        dates = [
            (f.name, f.label_en if lang == "en" else f.label_da)
            for f in self.fields_spec.values()
            if f.kind == "date"
        ]
        self.fields["measure_from"].choices = [("", "–"), *dates]
        self.fields["measure_to"].choices = [("", "–"), *dates]
        if draft:
            self.fields["name_da"].required = self.fields["name_en"].required = False

    def _rule(self, name: str, *, default: dict | None) -> dict | None:
        value = self.cleaned_data.get(name)
        if value is None:
            return default
        errors = rules.validate_rule(value, self.fields_spec, name)
        if errors:
            raise forms.ValidationError(rule_messages(errors))
        return value

    def clean_population(self):
        return self._rule("population", default=dict(rules.EVERY_ROW))

    def clean_missing(self):
        return self._rule("missing", default=dict(rules.NO_ROW))

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind == PROPORTION and "event" not in self.errors:
            event = cleaned.get("event")
            if not event or event in ({"all": []}, {"any": []}):
                self.add_error("event", _("Angiv hændelsen (tælleren): mindst én betingelse."))
            else:
                errors = rules.validate_rule(event, self.fields_spec, "event")
                if errors:
                    self.add_error("event", rule_messages(errors))
            cleaned["measure"] = None
        elif kind == MEASURE:
            pair = [cleaned.get("measure_from"), cleaned.get("measure_to")]
            errors = rules.validate_measure({"days": pair}, self.fields_spec, "measure")
            if not all(pair):
                self.add_error("measure_to", _("Vælg de to datoer, som dagene tælles imellem."))
            elif errors:
                self.add_error("measure_to", rule_messages(errors))
            cleaned["measure"] = {"days": pair}
            cleaned["event"] = None
        if kind and "target" not in self.errors:
            try:
                cleaned["target"] = target_from_text(cleaned.get("target", ""), kind)
            except forms.ValidationError as error:
                self.add_error("target", error)
        return cleaned

    def definition_kwargs(self) -> dict:
        """What ``create_department_indicator`` takes, from the cleaned form."""
        data = self.cleaned_data
        return {
            "name_da": data.get("name_da") or "",
            "name_en": data.get("name_en") or "",
            "kind": data["kind"],
            "population": data["population"],
            "missing": data["missing"],
            "event": data.get("event"),
            "measure": data.get("measure"),
            "direction": data["direction"],
            "default_target": data.get("target"),
        }

    def draft_definition(self) -> IndicatorDefinition:
        """An unsaved definition of the department, for the preview."""
        return IndicatorDefinition(
            profile=self.registry, department=self.department, **self.definition_kwargs()
        )

    def all_messages(self) -> dict[str, list[str]]:
        """Errors by field name (``__all__`` for the form's own), for the preview's answer."""
        return {name: [str(m) for m in messages] for name, messages in self.errors.items()}


def builder_schema(profile: str = "dccg") -> dict:
    """What the rule builder's script needs, every text already in the page's language."""
    lang = language()
    fields = []
    for item in rules.describe_fields(rule_fields(profile)):
        label = item["label_en"] if lang == "en" else item["label_da"]
        choices = [
            {"value": c, "label": (_("ja") if c else _("nej")) if isinstance(c, bool) else str(c)}
            for c in item["choices"]
        ]
        fields.append({**item, "label": label, "choices": choices})
    return {
        "fields": fields,
        "days_ops": list(rules.schema.DAYS_OPS),
        "ops": {
            "eq": _("er"),
            "ne": _("er ikke"),
            "in": _("er en af"),
            "not_in": _("er ingen af"),
            "lt": "<",
            "le": "≤",
            "gt": ">",
            "ge": "≥",
            "startswith": _("begynder med"),
            "blank": _("er tom"),
            "not_blank": _("er udfyldt"),
        },
        "text": {
            "all": _("Alle betingelser skal gælde"),
            "any": _("Mindst én betingelse skal gælde"),
            "add": _("Tilføj betingelse"),
            "remove": _("Fjern betingelse"),
            "days": _("Dage mellem to datoer"),
            "days_from": _("fra"),
            "days_to": _("til"),
            "field": _("Felt"),
            "operator": _("Operator"),
            "value": _("Værdi"),
            "none_all": _("Ingen betingelser: alle operationer tæller med."),
            "none_any": _("Ingen betingelser: ingen operationer."),
            "list_hint": _("Flere tal adskilles med semikolon, fx 3; 4; 5"),
            "advanced": _("Reglen er for indviklet til byggeren; ret den som tekst."),
            "preview_wait": _("Beregner …"),
            "move_up": _("Flyt op"),
            "move_down": _("Flyt ned"),
            "preview_error": _("Forhåndsvisningen kunne ikke beregnes."),
        },
    }


# --- change markers ---------------------------------------------------------------------------


class ChangeMarkerForm(forms.ModelForm):
    definitions = forms.ModelMultipleChoiceField(
        queryset=IndicatorDefinition.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=gettext_lazy("Gælder indikatorerne (ingen valgt: alle)"),
    )

    class Meta:
        model = ChangeMarker
        fields = ["date", "label", "note"]
        widgets = {
            "date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "note": forms.Textarea(attrs={"rows": 2}),
        }
        labels = {
            "date": gettext_lazy("Dato for ændringen"),
            "label": gettext_lazy("Hvad blev ændret"),
            "note": gettext_lazy("Note"),
        }

    def __init__(self, data=None, *, definitions: Sequence[IndicatorDefinition], **kwargs):
        super().__init__(data, prefix="marker", **kwargs)
        field = self.fields["definitions"]
        field.queryset = IndicatorDefinition.objects.filter(pk__in=[d.pk for d in definitions])
        lang = language()
        field.label_from_instance = lambda d: d.name(lang)
