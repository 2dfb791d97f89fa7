"""Built parts of pages (tiles, figures) kept in Django's cache: Redis in production (CACHE_URL),
in-process memory under `make run` and wherever CACHE_URL is unset.

A part is keyed by everything it is built from: the current computation (its id and when it
finished, so that a new computation, or a database restored under the same ids, never meets an
old entry), the department or the departments shown, the page's parameters, the language and
whether the viewer sees exact small counts; and the code that builds it (:func:`code_version`).
Nothing is ever invalidated: a new computation, or a deploy, makes new keys, and the old entries
expire.

Access is decided before any lookup (departments.access); a key says what is shown, and the
same part is shown to whoever may see it.

The cache only saves work: when Redis cannot be reached, parts are built and shown as if
nothing were cached, and the page still shows the current results.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable, Hashable, Mapping
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError

from indicators.models import Computation

logger = logging.getLogger(__name__)

TIMEOUT = 24 * 60 * 60  # the results change only with a new computation; a day bounds the rest
# What builds the parts: their code, templates and translations, and the statistics they use.
SOURCES = (
    ("dashboards", "**/*.py"),
    ("templates", "**/*.html"),
    ("locale", "**/*.mo"),
    ("indicators", "**/*.py"),
    ("departments", "*.py"),
)

K = TypeVar("K", bound=Hashable)


def stamp(computation: Computation) -> tuple[int, str]:
    """The computation in a key: its id, and when it finished."""
    finished = computation.finished_at.isoformat() if computation.finished_at else ""
    return computation.pk, finished


@functools.cache
def code_version() -> str:
    """A digest of the :data:`SOURCES`, so that a deploy that changes how a part is built or
    shown never serves a part the old code built."""
    digest = hashlib.sha256()
    for folder, pattern in SOURCES:
        for path in sorted((settings.BASE_DIR / folder).glob(pattern)):
            digest.update(path.relative_to(settings.BASE_DIR).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def key(kind: str, *parts: Any) -> str:
    """A key for ``parts``: ints, strings, floats, booleans, dates, None and tuples of them
    (their repr is the same in every process; sets' is not)."""
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()
    return f"dashboards:{kind}:{code_version()}:{digest}"


def _unless_down(call: Callable[[], Any], fallback: Any) -> Any:
    try:
        return call()
    except (RedisError, OSError) as exc:
        logger.warning("page cache unavailable, building the page: %s", exc)
        return fallback


def get_or_build(name: str | None, build: Callable[[], Any]) -> Any:
    """The part cached under ``name``, else built and cached (``name`` None: built, not kept)."""
    if name is None:
        return build()
    found = _unless_down(lambda: cache.get(name), None)
    if found is None:
        found = build()
        _unless_down(lambda: cache.set(name, found, TIMEOUT), None)
    return found


def get_or_build_many(
    names: Mapping[K, str | None], build: Callable[[list[K]], dict[K, Any]]
) -> dict[K, Any]:
    """The part of every item of ``names``: those cached, and the others built together by one
    call of ``build`` (items named None are built and not kept)."""
    cached = _unless_down(lambda: cache.get_many([n for n in names.values() if n is not None]), {})
    found = {item: cached[n] for item, n in names.items() if n is not None and n in cached}
    missing = [item for item in names if item not in found]
    if missing:
        built = build(missing)
        keep = {names[item]: built[item] for item in missing if names[item] is not None}
        if keep:
            _unless_down(lambda: cache.set_many(keep, TIMEOUT), None)
        found.update(built)
    return found
