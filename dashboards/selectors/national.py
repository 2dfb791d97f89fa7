"""The national pool (``ALL``) as the viewer may see it, cached per computation and scope."""

from __future__ import annotations

from collections.abc import Iterable

from dashboards import cache
from indicators.disclosure import Key
from indicators.models import Computation
from indicators.services.disclosure import pool_as_seen, threshold


def national_results(computation: Computation | None, scope: Iterable[int]) -> dict[Key, dict]:
    """``indicators.services.disclosure.pool_as_seen``, kept in the page cache: the same scope
    sees the same pool until a new computation."""
    if computation is None:
        return {}
    scope = tuple(sorted(set(scope)))
    name = cache.key("national", cache.stamp(computation), scope, threshold())
    return cache.get_or_build(name, lambda: pool_as_seen(computation, scope))
