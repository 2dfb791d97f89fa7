"""The late-delivery banner's data (indicators.services.deliveries), for coordinators only."""

from __future__ import annotations

from functools import cached_property

from django.utils import translation


class LateDeliveries:
    """The late registries of the departments the user coordinates, read on first use: the
    banner in ``base.html`` asks only after ``portal_access.coordinates`` (no query of its own),
    so a page costs a coordinator one query and anyone else none."""

    def __init__(self, user):
        self._user = user

    @cached_property
    def registries(self) -> list[dict]:
        from indicators.services.deliveries import late_for_coordinator

        language = translation.get_language() or "da"
        return [
            {
                "slug": d.slug,
                "name": d.display_name(language),
                "age_days": d.age_days,
                "expected_every_days": d.expected_every_days,
            }
            for d in late_for_coordinator(self._user)
        ]

    def __bool__(self) -> bool:
        return bool(self.registries)

    def __iter__(self):
        return iter(self.registries)


def late_deliveries(request) -> dict:
    return {"late_deliveries": LateDeliveries(getattr(request, "user", None))}
