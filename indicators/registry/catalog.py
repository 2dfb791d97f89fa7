"""The installed registries and their profiles: what the database holds, read for everyone else.

A profile is installed from its file (``indicators.services.registries.install_profile``) and
kept as checked data (``RegistryProfile``); every part of the portal that needs a registry's
columns, fields or standard indicators asks here. Reading is cheap: the parsed profile is kept
per process, keyed by its digest, and checked against the database at most every few seconds
(an install in this process forgets it at once).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from indicators.registry.profile_file import ProfileSpec, load_profile_data
from indicators.registry.profiles import Profile

# How long a process trusts the profile it read before asking whether a newer one was
# installed (``REGISTRY_PROFILE_RECHECK_SECONDS``): an upgrade reaches every process within it.
_RECHECK_SECONDS = 5.0
_lock = threading.Lock()
_specs: dict[str, tuple[float, ProfileSpec]] = {}  # slug -> (checked at, spec)
_parsed: dict[str, ProfileSpec] = {}  # digest -> spec


class UnknownRegistry(KeyError):
    def __init__(self, slug: str, known: list[str]) -> None:
        self.slug, self.known = slug, known
        super().__init__(f"unknown registry {slug!r} (installed: {', '.join(known) or 'none'})")

    @property
    def da(self) -> str:
        known = ", ".join(self.known) or "ingen"
        return f"Registeret {self.slug!r} er ikke installeret (installerede: {known})."

    @property
    def en(self) -> str:
        known = ", ".join(self.known) or "none"
        return f"The registry {self.slug!r} is not installed (installed: {known})."


def forget(slug: str | None = None) -> None:
    """Drop what this process keeps (all registries, or one): the next read asks the database."""
    with _lock:
        if slug is None:
            _specs.clear()
        else:
            _specs.pop(slug, None)


def spec(slug: str) -> ProfileSpec:
    """The installed (newest) profile of a registry; ``UnknownRegistry`` if there is none."""
    now = time.monotonic()
    with _lock:
        kept = _specs.get(slug)
    if kept is not None and now - kept[0] < _recheck_seconds():
        return kept[1]
    from indicators.models import RegistryProfile

    digest = (
        RegistryProfile.objects.filter(registry__slug=slug)
        .order_by("-version")
        .values_list("digest", flat=True)
        .first()
    )
    if digest is None:
        raise UnknownRegistry(slug, slugs())
    found = _parsed.get(digest)
    if found is None:
        content = RegistryProfile.objects.get(registry__slug=slug, digest=digest).content
        found = load_profile_data(content)
        _parsed[digest] = found
    with _lock:
        _specs[slug] = (now, found)
    return found


def _recheck_seconds() -> float:
    from django.conf import settings

    return float(getattr(settings, "REGISTRY_PROFILE_RECHECK_SECONDS", _RECHECK_SECONDS))


def profile(slug: str) -> Profile:
    """The importer's view of an installed registry."""
    return spec(slug).profile()


def slugs() -> list[str]:
    """Every installed registry's slug, alphabetically."""
    from indicators.models import Registry

    return list(
        Registry.objects.filter(version__gt=0).order_by("slug").values_list("slug", flat=True)
    )


@dataclass(frozen=True)
class Entry:
    slug: str
    name_da: str
    name_en: str
    version: int

    def name(self, language: str) -> str:
        return self.name_en if language.startswith("en") and self.name_en else self.name_da


def entries() -> list[Entry]:
    """Every installed registry in the order installed (DCCG first), for choices and headings
    (names in both languages)."""
    from indicators.models import Registry

    return [
        Entry(r.slug, r.name, r.name_en or r.name, r.version)
        for r in Registry.objects.filter(version__gt=0).order_by("pk")
    ]
