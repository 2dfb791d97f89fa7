"""DCCG's published standards as default targets, on indicators split where the standard splits.

The seven indicators of 0003 keep their slugs, rules and (no) targets: the standards are set for
narrower populations, so they get indicators of their own (docs/indicators.md):
- anastomotic leak after colon resection at most 3 %, after rectal resection at most 10 %;
- 30-day mortality after elective surgery at most 2 %, 90-day mortality at most 3 %.
A department can override the target (DepartmentIndicator.target) like any other.
"""

from django.db import migrations

LEAK = {"field": "anastomotic_leak", "op": "eq", "value": True}
LEAK_BLANK = {"field": "anastomotic_leak", "op": "blank"}
ELECTIVE = {"field": "priority", "op": "eq", "value": "elektiv"}
NONE = {"any": []}


def _leak_after(site: str) -> dict:
    return {
        "all": [
            {"field": "anastomosis", "op": "eq", "value": True},
            {"field": "site", "op": "eq", "value": site},
        ]
    }


def _death_within(days: int) -> dict:
    return {"days": ["operation_date", "death_date"], "op": "le", "value": days}


STANDARDS = [
    {
        "slug": "anastomotic_leak_colon",
        "name_da": "Anastomoselækage efter koloncancer",
        "name_en": "Anastomotic leak after colon cancer surgery",
        "description_da": "Andel operationer for koloncancer med anastomose, hvor anastomosen "
        "lækkede. DCCG's standard: højst 3 %.",
        "description_en": "Share of colon cancer operations with an anastomosis in which it "
        "leaked. DCCG's standard: at most 3 %.",
        "population": _leak_after("kolon"),
        "missing": LEAK_BLANK,
        "event": LEAK,
        "default_target": 0.03,
    },
    {
        "slug": "anastomotic_leak_rectum",
        "name_da": "Anastomoselækage efter rektumcancer",
        "name_en": "Anastomotic leak after rectal cancer surgery",
        "description_da": "Andel operationer for rektumcancer med anastomose, hvor anastomosen "
        "lækkede. DCCG's standard: højst 10 %.",
        "description_en": "Share of rectal cancer operations with an anastomosis in which it "
        "leaked. DCCG's standard: at most 10 %.",
        "population": _leak_after("rektum"),
        "missing": LEAK_BLANK,
        "event": LEAK,
        "default_target": 0.10,
    },
    {
        "slug": "mortality_30d_elective",
        "name_da": "30-dages dødelighed efter elektiv operation",
        "name_en": "30-day mortality after elective surgery",
        "description_da": "Andel elektive operationer hvor patienten døde højst 30 dage efter. "
        "DCCG's standard: højst 2 %.",
        "description_en": "Share of elective operations after which the patient died within "
        "30 days. DCCG's standard: at most 2 %.",
        "population": ELECTIVE,
        "missing": NONE,
        "event": _death_within(30),
        "default_target": 0.02,
    },
    {
        "slug": "mortality_90d_elective",
        "name_da": "90-dages dødelighed efter elektiv operation",
        "name_en": "90-day mortality after elective surgery",
        "description_da": "Andel elektive operationer hvor patienten døde højst 90 dage efter. "
        "DCCG's standard: højst 3 %. De seneste 90 dages operationer er endnu ikke fulgt op.",
        "description_en": "Share of elective operations after which the patient died within "
        "90 days. DCCG's standard: at most 3 %. The last 90 days' operations are not yet "
        "fully followed up.",
        "population": ELECTIVE,
        "missing": NONE,
        "event": _death_within(90),
        "default_target": 0.03,
    },
]


def create(apps, schema_editor):
    IndicatorDefinition = apps.get_model("indicators", "IndicatorDefinition")
    for position, spec in enumerate(STANDARDS, start=8):
        IndicatorDefinition.objects.update_or_create(
            slug=spec["slug"],
            defaults={
                **spec,
                "profile": "dccg",
                "department": None,
                "kind": "proportion",
                "direction": "lower",
                "min_denominator": 5,
                "position": position,
                "is_active": True,
            },
        )


def remove(apps, schema_editor):
    IndicatorDefinition = apps.get_model("indicators", "IndicatorDefinition")
    IndicatorDefinition.objects.filter(
        slug__in=[spec["slug"] for spec in STANDARDS], department=None
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("indicators", "0007_partition_functions")]

    operations = [migrations.RunPython(create, remove)]
