"""The seven standard indicators of indicators.md, exactly as written there.

"At most 30 days after" is ``days <= 30`` (the boundary day counts). The importer refuses a
reoperation, death or readmission dated before the date it is counted from (the profile's date
orders), so no lower bound is needed.
"""

from django.db import migrations

ALL_ROWS = {"all": []}
NONE = {"any": []}
DISCHARGE_BLANK = {"field": "discharge_date", "op": "blank"}


def _within_30_days(start, end):
    return {"days": [start, end], "op": "le", "value": 30}


STANDARD = [
    {
        "slug": "major_complication",
        "name_da": "Større komplikation",
        "name_en": "Major complication",
        "description_da": "Andel operationer med en komplikation af Clavien-Dindo-grad IIIa "
        "eller højere inden for 30 dage. Operationer uden grad tælles som manglende.",
        "description_en": "Share of operations with a complication of Clavien-Dindo grade IIIa "
        "or higher within 30 days. Operations without a grade are counted as missing.",
        "kind": "proportion",
        "population": ALL_ROWS,
        "missing": {"field": "clavien_dindo", "op": "blank"},
        "event": {
            "field": "clavien_dindo",
            "op": "in",
            "value": ["IIIa", "IIIb", "IVa", "IVb", "V"],
        },
    },
    {
        "slug": "anastomotic_leak",
        "name_da": "Anastomoselækage",
        "name_en": "Anastomotic leak",
        "description_da": "Andel operationer med anastomose, hvor anastomosen lækkede. "
        "Uoplyst lækage tælles som manglende.",
        "description_en": "Share of operations with an anastomosis in which it leaked. "
        "An unknown leak status is counted as missing.",
        "kind": "proportion",
        "population": {"field": "anastomosis", "op": "eq", "value": True},
        "missing": {"field": "anastomotic_leak", "op": "blank"},
        "event": {"field": "anastomotic_leak", "op": "eq", "value": True},
    },
    {
        "slug": "reoperation_30d",
        "name_da": "Reoperation inden for 30 dage",
        "name_en": "Reoperation within 30 days",
        "description_da": "Andel operationer fulgt af en reoperation højst 30 dage efter.",
        "description_en": "Share of operations followed by a reoperation at most 30 days later.",
        "kind": "proportion",
        "population": ALL_ROWS,
        "missing": NONE,
        "event": _within_30_days("operation_date", "reoperation_date"),
    },
    {
        "slug": "mortality_30d",
        "name_da": "30-dages dødelighed",
        "name_en": "30-day mortality",
        "description_da": "Andel operationer hvor patienten døde højst 30 dage efter.",
        "description_en": "Share of operations after which the patient died within 30 days.",
        "kind": "proportion",
        "population": ALL_ROWS,
        "missing": NONE,
        "event": _within_30_days("operation_date", "death_date"),
    },
    {
        "slug": "prolonged_stay",
        "name_da": "Forlænget indlæggelse",
        "name_en": "Prolonged stay",
        "description_da": "Andel operationer med mere end 10 dage fra operation til "
        "udskrivelse. Ukendt udskrivelse tælles som manglende.",
        "description_en": "Share of operations with more than 10 days from operation to "
        "discharge. An unknown discharge is counted as missing.",
        "kind": "proportion",
        "population": ALL_ROWS,
        "missing": DISCHARGE_BLANK,
        "event": {"days": ["operation_date", "discharge_date"], "op": "gt", "value": 10},
    },
    {
        "slug": "readmission_30d",
        "name_da": "Genindlæggelse inden for 30 dage",
        "name_en": "Readmission within 30 days",
        "description_da": "Andel udskrevne patienter genindlagt højst 30 dage efter "
        "udskrivelsen. Døde på eller før udskrivelsen tælles ikke med; ukendt udskrivelse "
        "tælles som manglende.",
        "description_en": "Share of discharged patients readmitted at most 30 days after "
        "discharge. Patients dead on or before discharge are left out; an unknown discharge "
        "is counted as missing.",
        "kind": "proportion",
        # Not dead on or before discharge; a blank discharge stays in (as missing).
        "population": {
            "any": [
                {"field": "death_date", "op": "blank"},
                DISCHARGE_BLANK,
                {"days": ["discharge_date", "death_date"], "op": "gt", "value": 0},
            ]
        },
        "missing": DISCHARGE_BLANK,
        "event": _within_30_days("discharge_date", "readmission_date"),
    },
    {
        "slug": "length_of_stay",
        "name_da": "Postoperativ liggetid",
        "name_en": "Postoperative length of stay",
        "description_da": "Dage fra operation til udskrivelse (median). Ukendt udskrivelse "
        "tælles som manglende.",
        "description_en": "Days from operation to discharge (median). An unknown discharge is "
        "counted as missing.",
        "kind": "measure",
        "population": ALL_ROWS,
        "missing": DISCHARGE_BLANK,
        "measure": {"days": ["operation_date", "discharge_date"]},
    },
]


def create_standard(apps, schema_editor):
    IndicatorDefinition = apps.get_model("indicators", "IndicatorDefinition")
    for position, spec in enumerate(STANDARD, start=1):
        IndicatorDefinition.objects.update_or_create(
            slug=spec["slug"],
            defaults={
                **spec,
                "profile": "dccg",
                "department": None,
                "direction": "lower",
                "default_target": None,
                "min_denominator": 5,
                "position": position,
                "is_active": True,
            },
        )


def remove_standard(apps, schema_editor):
    IndicatorDefinition = apps.get_model("indicators", "IndicatorDefinition")
    IndicatorDefinition.objects.filter(
        slug__in=[spec["slug"] for spec in STANDARD], department=None
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("indicators", "0002_definitions_results")]

    operations = [migrations.RunPython(create_standard, remove_standard)]
