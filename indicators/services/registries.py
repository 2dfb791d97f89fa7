"""Installing a registry from its profile file: the one door (``add_registry``, ``migrate``).

``install_profile`` checks the file (profile-format.md), then in one transaction holding the
registry's lock: records the profile version, makes or widens the registry's row table
(``indicators.registry.storage``), installs its standard indicators and, for an upgrade of a
registry with data, queues the recompute once it commits. A refused file changes nothing; the
same file again changes nothing; a changed file needs a higher version.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from departments import audit
from indicators import rules
from indicators.models import Extract, IndicatorDefinition, Registry, RegistryProfile
from indicators.registry import catalog, storage
from indicators.registry.profile_file import ProfileError, ProfileRefused, ProfileSpec, load_profile

logger = logging.getLogger(__name__)

INSTALLED, UPGRADED, UNCHANGED = "installed", "upgraded", "unchanged"


@dataclass(frozen=True)
class Installed:
    registry: Registry
    version: int
    action: str  # installed | upgraded | unchanged
    added_columns: tuple[str, ...] = ()

    def line(self) -> str:
        """The one line ``add_registry`` prints, Danish / English."""
        name = f"{self.registry.slug} version {self.version}"
        da = {INSTALLED: "installeret", UPGRADED: "opgraderet", UNCHANGED: "uændret"}[self.action]
        en = {INSTALLED: "installed", UPGRADED: "upgraded", UNCHANGED: "unchanged"}[self.action]
        return f"{name}: {da} / {en} ({self.registry.name})"


def registries_dir() -> Path:
    return Path(getattr(settings, "REGISTRIES_DIR", settings.BASE_DIR / "registries"))


def read_profile_file(path: Path) -> ProfileSpec:
    """Read and check a profile file; ``ProfileRefused`` with every problem."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        da = f"Filen kan ikke læses som UTF-8-tekst ({type(exc).__name__})."
        en = f"The file cannot be read as UTF-8 text ({type(exc).__name__})."
        raise ProfileRefused([ProfileError("file", da, en)]) from None
    return load_profile(text)


def install_file(path: Path, *, user=None, via: str = "cli") -> Installed:
    return install_profile(read_profile_file(path), user=user, source=Path(path).name, via=via)


def install_directory(path: Path | None = None, *, via: str = "migrate") -> list[Installed]:
    """Install every ``*.toml`` of the directory (the shipped ``registries/``). A file older
    than what is installed (an administrator installed a newer version) is left, and said."""
    done = []
    for file in sorted(Path(path or registries_dir()).glob("*.toml")):
        spec = read_profile_file(file)
        installed = Registry.objects.filter(slug=spec.slug).values_list("version", flat=True)
        if installed and installed[0] > spec.version:
            logger.info(
                "%s: version %s installed, the file has %s", file, installed[0], spec.version
            )
            continue
        done.append(install_profile(spec, source=file.name, via=via))
    return done


def install_profile(
    spec: ProfileSpec, *, user=None, source: str = "", via: str = "cli"
) -> Installed:
    with transaction.atomic():
        registry, _ = Registry.objects.get_or_create(
            slug=spec.slug, defaults={"name": spec.name_da, "name_en": spec.name_en}
        )
        registry = Registry.objects.select_for_update().get(pk=registry.pk)
        latest = registry.profiles.order_by("-version").first()
        if latest is not None and latest.digest == spec.digest:
            return Installed(registry, latest.version, UNCHANGED)
        if latest is not None and spec.version <= latest.version:
            da = (
                f"Registeret {spec.slug} har allerede version {latest.version} med et andet "
                f"indhold; en ændret fil skal have en højere version end {latest.version}."
            )
            en = (
                f"The registry {spec.slug} already has version {latest.version} with other "
                f"contents; a changed file needs a version higher than {latest.version}."
            )
            raise ProfileRefused([ProfileError("version", da, en)])
        table = storage.table_name(spec.slug)
        profile = spec.profile()
        _check_table(table, spec)
        _check_indicator_slugs(spec)
        _check_own_indicators(spec)
        RegistryProfile.objects.create(
            registry=registry,
            version=spec.version,
            digest=spec.digest,
            content=spec.as_dict(),
            source=source[:255],
            installed_by=user,
        )
        Registry.objects.filter(pk=registry.pk).update(
            name=spec.name_da,
            name_en=spec.name_en,
            version=spec.version,
            row_table=table,
            expected_every_days=spec.expected_every_days,
        )
        registry.refresh_from_db()
        added = storage.ensure_table(table, profile)
        _install_indicators(spec)
        action = INSTALLED if latest is None else UPGRADED
        audit.record(
            None,
            "registry_installed",
            user=user,
            target=f"registry:{spec.slug}",
            detail={
                "via": via,
                "action": action,
                "version": spec.version,
                "previous": latest.version if latest else None,
                "digest": spec.digest,
                "file": source,
                "columns_added": added if latest else [],
            },
        )
        if Extract.objects.filter(registry=registry, is_current=True).exists():
            _queue_recompute(registry.pk, spec.version)  # sent once this commits
        transaction.on_commit(lambda: catalog.forget(spec.slug))
    catalog.forget(spec.slug)
    return Installed(registry, spec.version, action, tuple(added if latest else ()))


def _queue_recompute(registry_id: int, version: int) -> None:
    from indicators.tasks import queue_recompute

    queue_recompute(registry_id, reason=f"registerprofil version {version}")


def _check_table(table: str, spec: ProfileSpec) -> None:
    """A stored field keeps its kind: a version that changes it names a new field instead."""
    changes = dict(
        (field, (old, new)) for field, old, new in storage.type_changes(table, spec.profile())
    )
    problems = []
    for i, column in enumerate(spec.columns):
        if column.field in changes:
            old, new = changes[column.field]
            problems.append(
                ProfileError(
                    f"columns[{i}].kind",
                    f"Feltet {column.field!r} er gemt som {_FAMILY_DA[old]}; en ny version må ikke "
                    f"gøre det til {_FAMILY_DA[new]}. Giv kolonnen et nyt 'field'.",
                    f"The field {column.field!r} is stored as {_FAMILY_EN[old]}; a new version may "
                    f"not make it {_FAMILY_EN[new]}. Give the column a new 'field'.",
                )
            )
    problems += _dropped_choices(table, spec)
    if problems:
        raise ProfileRefused(problems)


def _dropped_choices(table: str, spec: ProfileSpec) -> list[ProfileError]:
    """A choice's stored values stay: rows already stored with a value the new version no
    longer has would read as blank (and silently leave every count they were in)."""
    stored = storage.existing_columns(table) or {}
    problems = []
    for i, column in enumerate(spec.columns):
        if column.kind != "choice" or stored.get(column.field) != "text":
            continue
        kept = {str(v) for v in column.choices.values()}
        gone = sorted(set(storage.distinct_values(table, column.field)) - kept)
        if gone:
            shown = ", ".join(repr(v) for v in gone[:5])
            problems.append(
                ProfileError(
                    f"columns[{i}].choices",
                    f"Gemte rækker har værdier, som den nye version ikke har: {shown}. Behold "
                    "dem som gemte værdier (en stavemåde kan pege på dem).",
                    f"Stored rows have values the new version does not have: {shown}. Keep them "
                    "as stored values (a spelling may point to them).",
                )
            )
    return problems


_FAMILY_DA = {"number": "et tal", "boolean": "ja/nej", "date": "en dato", "text": "tekst",
              "json": "JSON"}  # fmt: skip
_FAMILY_EN = {"number": "a number", "boolean": "yes/no", "date": "a date", "text": "text",
              "json": "JSON"}  # fmt: skip


def _check_indicator_slugs(spec: ProfileSpec) -> None:
    """A standard indicator may not take the slug of a department's own indicator."""
    own = set(
        IndicatorDefinition.objects.filter(profile=spec.slug, department__isnull=False)
        .filter(slug__in=[i.slug for i in spec.indicators])
        .values_list("slug", flat=True)
    )
    problems = [
        ProfileError(
            f"indicators[{i}].slug",
            f"Slug'en {ind.slug!r} bruges allerede af en afdelings egen indikator.",
            f"The slug {ind.slug!r} is already used by a department's own indicator.",
        )
        for i, ind in enumerate(spec.indicators)
        if ind.slug in own
    ]
    if problems:
        raise ProfileRefused(problems)


def _check_own_indicators(spec: ProfileSpec) -> None:
    """Departments' own indicators must still read: a version that takes away a field one of
    them uses is refused (the department would lose its indicator without a word)."""
    fields = rules.fields_for_profile(spec.profile())
    problems = []
    own = IndicatorDefinition.objects.filter(
        profile=spec.slug, department__isnull=False, is_active=True
    ).select_related("department")
    for definition in own:
        found = [*rules.validate_rule(definition.population, fields, "population"),
                 *rules.validate_rule(definition.missing, fields, "missing")]  # fmt: skip
        if definition.event is not None:
            found += rules.validate_rule(definition.event, fields, "event")
        if definition.measure is not None:
            found += rules.validate_measure(definition.measure, fields, "measure")
        if found:
            where = f"{definition.department.code}/{definition.slug}"
            problems.append(
                ProfileError(
                    "columns",
                    f"Afdelingens egen indikator {where} bruger felter, som den nye version ikke "
                    f"har ({found[0].da}); behold felterne, eller lad afdelingen rette den først.",
                    f"The department's own indicator {where} uses fields the new version does "
                    f"not have ({found[0].en}); keep the fields, or let the department change it "
                    "first.",
                )
            )
    if problems:
        raise ProfileRefused(problems)


def _install_indicators(spec: ProfileSpec) -> None:
    """The profile's standard indicators, as it says; those it no longer has are retired (kept,
    inactive: results and history stay readable)."""
    now = timezone.now()
    existing = {
        d.slug: d
        for d in IndicatorDefinition.objects.filter(profile=spec.slug, department__isnull=True)
    }
    for position, indicator in enumerate(spec.indicators, start=1):
        values = {
            "name_da": indicator.name_da,
            "name_en": indicator.name_en,
            "description_da": indicator.description_da,
            "description_en": indicator.description_en,
            "kind": indicator.kind,
            "population": indicator.population,
            "missing": indicator.missing,
            "event": indicator.event,
            "measure": indicator.measure,
            "direction": indicator.better,
            "default_target": indicator.target,
            "is_active": True,
        }
        definition = existing.get(indicator.slug)
        if definition is None:
            IndicatorDefinition.objects.create(
                profile=spec.slug, slug=indicator.slug, position=position, **values
            )
        elif any(getattr(definition, k) != v for k, v in values.items()):
            for name, value in values.items():
                setattr(definition, name, value)
            definition.updated_at = now
            definition.save()
    kept = {i.slug for i in spec.indicators}
    retired = [slug for slug in existing if slug not in kept]
    IndicatorDefinition.objects.filter(
        profile=spec.slug, department__isnull=True, slug__in=retired
    ).update(is_active=False, updated_at=now)
