"""What the page header may show a user: links only to what they may open."""

from __future__ import annotations

from functools import cached_property

from django.utils.functional import SimpleLazyObject

from departments import access
from departments.models import Role


class _Access:
    """Evaluated on first use in a template, so a page that does not ask costs no query."""

    def __init__(self, user):
        self._user = user

    @cached_property
    def coordinates(self) -> bool:
        """May open the extract pages (coordinator of some department). A coordinator role
        always names its department (a database constraint), so the role alone decides, from
        the roles already read for the other links: no query of its own."""
        return Role.COORDINATOR in access.roles_of(self._user)

    @cached_property
    def is_admin(self) -> bool:
        return access.is_admin(self._user)

    @cached_property
    def sees_overview(self) -> bool:
        return access.sees_overview(self._user)


def portal_access(request) -> dict:
    return {"portal_access": SimpleLazyObject(lambda: _Access(request.user))}
