"""Who may see what: the one place access to department data is decided.

Every page, API answer, export and task that touches a department's data asks here, and every
read of department data is scoped by the user through :func:`departments_for` (or
:func:`restrict`), never fetched by id alone.

Needs, from least to most:

- ``"aggregate"``: the department's aggregated results (dashboard, indicator pages, overview).
  Clinicians and coordinators of the department; leadership whose scope (the country, a region
  or a hospital) includes it.
- ``"patients"``: the department's patient rows (patient lists). Its own clinicians and
  coordinators only; never leadership.
- ``"coordinate"``: uploading extracts, choosing indicators and targets, the department's own
  indicators, change markers. Its coordinators only.

The admin role manages users, roles, regions and reads the audit log; it grants no department
data. A Django superuser counts as an admin, not as staff of any department.

**404 or 403.** A department the user may not know about at all (no role of theirs reaches it,
or no such code) is *not found* (404), exactly like a department that does not exist, so a
probe cannot tell the two apart. A department the user does see at some level, asked for at a
level they lack (leadership asking for a patient list, a clinician for the settings), is
*forbidden* (403): the page exists for them to know about, and a plain "no" is more helpful than
pretending it is missing. Pages that belong to no department (the overview, extracts, the audit
log) answer 403 to a logged-in user without the role; anonymous visitors are sent to log in.
"""

from __future__ import annotations

from typing import Literal

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from departments.models import Department, Role, RoleAssignment

Need = Literal["aggregate", "patients", "coordinate"]
NEEDS: tuple[str, ...] = ("aggregate", "patients", "coordinate")

# The department roles that carry each need; leadership adds "aggregate" through its scope.
_DEPARTMENT_ROLES: dict[str, tuple[str, ...]] = {
    "aggregate": (Role.CLINICIAN, Role.COORDINATOR),
    "patients": (Role.CLINICIAN, Role.COORDINATOR),
    "coordinate": (Role.COORDINATOR,),
}


def _active(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def _check_need(need: str) -> None:
    if need not in _DEPARTMENT_ROLES:
        raise ValueError(f"unknown need {need!r}; use one of {', '.join(NEEDS)}")


def _assignments(user, *roles: str) -> QuerySet[RoleAssignment]:
    return RoleAssignment.objects.filter(user=user, role__in=roles)


def roles_of(user) -> set[str]:
    """The role names the user holds anywhere (empty for anonymous or inactive users)."""
    if not _active(user):
        return set()
    cached = getattr(user, "_portal_roles", None)
    if cached is None:
        cached = set(RoleAssignment.objects.filter(user=user).values_list("role", flat=True))
        user._portal_roles = cached  # one query per request object, not per check
    return cached


def leadership_scope(user) -> QuerySet[Department]:
    """Departments whose aggregated results the user sees as leadership (none without the role).

    A leadership role without a hospital or region covers the whole country.
    """
    if not _active(user):
        return Department.objects.none()
    leaders = _assignments(user, Role.LEADERSHIP)
    nationwide = leaders.filter(hospital__isnull=True, region__isnull=True)
    return Department.objects.filter(
        Q(Exists(nationwide))
        | Q(hospital__in=leaders.filter(hospital__isnull=False).values("hospital"))
        | Q(hospital__region__in=leaders.filter(region__isnull=False).values("region"))
    )


def departments_for(user, need: Need) -> QuerySet[Department]:
    """The departments whose data at level ``need`` the user may see; lazy, composable."""
    _check_need(need)
    if not _active(user):
        return Department.objects.none()
    own = _assignments(user, *_DEPARTMENT_ROLES[need]).filter(department=OuterRef("pk"))
    condition = Q(Exists(own))
    if need == "aggregate":
        condition |= Q(pk__in=leadership_scope(user).values("pk"))
    return Department.objects.filter(condition).select_related("hospital__region")


def restrict(queryset: QuerySet, user, need: Need, *, field: str = "department") -> QuerySet:
    """``queryset`` narrowed to rows whose ``field`` is a department the user may see."""
    return queryset.filter(**{f"{field}__in": departments_for(user, need).values("pk")})


def can(user, need: Need, department: Department | None = None) -> bool:
    """May the user do ``need`` in ``department``; with no department: in any department."""
    allowed = departments_for(user, need)
    if department is not None:
        allowed = allowed.filter(pk=department.pk)
    return allowed.exists()


def get_department_for(user, code: str, need: Need) -> Department:
    """The department with ``code`` if the user may have ``need`` there.

    Raises ``Http404`` when the department is outside every scope of the user (or does not
    exist) and ``PermissionDenied`` when the user sees it, but not at the level ``need``.
    """
    _check_need(need)
    # The scope's ids are fetched once per request object (exact_scope): every department page
    # asks again, and building the scope's query costs more than running it.
    department = (
        Department.objects.filter(pk__in=exact_scope(user), code=code)
        .select_related("hospital__region")
        .first()
    )
    if department is None:
        raise Http404("No such department")
    if need != "aggregate" and not can(user, need, department):
        raise PermissionDenied
    return department


def is_admin(user) -> bool:
    """Administrators: the admin role, or a Django superuser."""
    if not _active(user):
        return False
    return bool(user.is_superuser) or Role.ADMIN in roles_of(user)


def is_leadership(user) -> bool:
    return Role.LEADERSHIP in roles_of(user)


def sees_overview(user) -> bool:
    """The cross-department overview is for leadership."""
    return is_leadership(user)


def require_admin(user) -> None:
    if not is_admin(user):
        raise PermissionDenied


def require(user, need: Need, department: Department | None = None) -> None:
    """Raise ``PermissionDenied`` unless :func:`can`; for pages that are not one department's."""
    if not can(user, need, department):
        raise PermissionDenied


def needs_second_factor(user) -> bool:
    """Roles that see patient rows: the ones a setting can require TOTP for."""
    return bool(roles_of(user) & {Role.CLINICIAN, Role.COORDINATOR})


def exact_scope(user) -> frozenset[int]:
    """The departments whose aggregated results the user sees exactly: their own staff roles and
    their leadership scope. Everything pooled beyond them (the national ``ALL``) reaches the
    user only as ``indicators.disclosure`` protects it (docs/privacy.md)."""
    if not _active(user):
        return frozenset()
    cached = getattr(user, "_portal_exact_scope", None)
    if cached is None:
        cached = frozenset(departments_for(user, "aggregate").values_list("pk", flat=True))
        user._portal_exact_scope = cached
    return cached


def refused_row_codes(user) -> set[str] | None:
    """The department codes whose refused rows the user may read: None (all of them) for an
    administrator; else the departments the user coordinates. A refused row still holds what
    the file said of a patient, so it stays with the department it names."""
    if is_admin(user):
        return None
    return set(departments_for(user, "coordinate").values_list("code", flat=True))


def require_extract_reader(user) -> None:
    """Extract reports (and the refused rows in them) are for coordinators and administrators."""
    if not (is_admin(user) or can(user, "coordinate")):
        raise PermissionDenied
