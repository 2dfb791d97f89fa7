"""Writes on the ground floor: places and people."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction

from departments import audit
from departments.models import (
    AuditAction,
    Department,
    Hospital,
    Region,
    Role,
    RoleAssignment,
    RoleSource,
    User,
)


@dataclass(frozen=True)
class DepartmentRecord:
    """A department as a registry extract names it."""

    hospital_code: str
    hospital_name: str
    code: str
    name: str


def upsert_departments(records: Iterable[DepartmentRecord]) -> dict[str, Department]:
    """Create or rename hospitals and departments; returns every department by code.

    A name is only overwritten by a non-blank one, so an extract with blank names does not erase
    names an earlier extract gave. A department is in the region of its hospital's row, which
    data/hospitals.csv gave or an administrator set (departments/hospitals.py). A hospital code
    that table does not have is added without a region, for an administrator to set in the admin.
    """
    hospitals = {h.code: h for h in Hospital.objects.all()}
    departments = {d.code: d for d in Department.objects.select_related("hospital")}
    with transaction.atomic():
        for rec in records:
            hospital = hospitals.get(rec.hospital_code)
            if hospital is None:
                hospital = Hospital.objects.create(
                    code=rec.hospital_code, name=rec.hospital_name, region=None
                )
                hospitals[hospital.code] = hospital
            elif rec.hospital_name and hospital.name != rec.hospital_name:
                hospital.name = rec.hospital_name
                hospital.save(update_fields=["name"])
            department = departments.get(rec.code)
            if department is None:
                department = Department.objects.create(
                    code=rec.code, name=rec.name, hospital=hospital
                )
                departments[department.code] = department
            elif (
                rec.name and department.name != rec.name
            ) or department.hospital_id != hospital.pk:
                department.name = rec.name or department.name
                department.hospital = hospital
                department.save(update_fields=["name", "hospital"])
    return departments


def _forget_cached_roles(user: User) -> None:
    user.__dict__.pop("_portal_roles", None)


def describe_role(assignment: RoleAssignment) -> dict:
    """A role as the audit log keeps it: by codes, readable after the place is gone."""
    return {
        "role": assignment.role,
        "department": assignment.department.code if assignment.department_id else "",
        "hospital": assignment.hospital.code if assignment.hospital_id else "",
        "region": assignment.region.code if assignment.region_id else "",
        "source": assignment.source,
    }


def grant_role(
    user: User,
    role: Role | str,
    *,
    department: Department | None = None,
    hospital: Hospital | None = None,
    region: Region | None = None,
    source: RoleSource | str = RoleSource.PORTAL,
    request=None,
    via: str = "",
) -> RoleAssignment:
    """Give ``user`` a role at a place; granting the same role twice changes nothing.

    A new role is audited (``role_changed``) with the request's user as the one who granted it,
    or ``via`` (e.g. "add_user") when there is no request.
    """
    with transaction.atomic():
        assignment, created = RoleAssignment.objects.get_or_create(
            user=user,
            role=role,
            department=department,
            hospital=hospital,
            region=region,
            defaults={"source": source},
        )
        if created:
            _forget_cached_roles(user)
            audit.record(
                request,
                AuditAction.ROLE_CHANGED,
                department=department,
                target=user.email,
                detail={"granted": [describe_role(assignment)], "via": via},
            )
    return assignment


def revoke_role(assignment: RoleAssignment, *, request=None, via: str = "") -> None:
    """Take a role away, audited."""
    with transaction.atomic():
        audit.record(
            request,
            AuditAction.ROLE_CHANGED,
            department=assignment.department,
            target=assignment.user.email,
            detail={"revoked": [describe_role(assignment)], "via": via},
        )
        assignment.delete()
        _forget_cached_roles(assignment.user)


@dataclass(frozen=True)
class RoleGrant:
    """A role at a place, named by codes (as a single sign-on claim names it)."""

    role: str
    department: str = ""
    hospital: str = ""
    region: str = ""


def sync_sso_roles(user: User, grants: Iterable[RoleGrant], *, request=None) -> dict:
    """Make the user's single sign-on roles exactly ``grants``; roles given in the portal stay.

    Grants naming a department, hospital or region the portal does not know are skipped and
    returned under "unknown", so a department first seen in a later extract is granted at the
    next login. Returns what was granted, revoked and skipped (also written to the audit log).
    """
    grants = list(dict.fromkeys(grants))
    departments = Department.objects.in_bulk(
        [g.department for g in grants if g.department], field_name="code"
    )
    hospitals = Hospital.objects.in_bulk(
        [g.hospital for g in grants if g.hospital], field_name="code"
    )
    regions = Region.objects.in_bulk([g.region for g in grants if g.region], field_name="code")
    wanted: dict[tuple, RoleGrant] = {}
    unknown: list[RoleGrant] = []
    for grant in grants:
        place = (
            departments.get(grant.department) if grant.department else None,
            hospitals.get(grant.hospital) if grant.hospital else None,
            regions.get(grant.region) if grant.region else None,
        )
        if any(
            code and obj is None
            for code, obj in zip(
                (grant.department, grant.hospital, grant.region), place, strict=True
            )
        ):
            unknown.append(grant)
            continue
        key = (grant.role, *(obj.pk if obj else None for obj in place))
        wanted[key] = place

    granted: list[dict] = []
    revoked: list[dict] = []
    with transaction.atomic():
        existing = {
            (a.role, a.department_id, a.hospital_id, a.region_id): a
            for a in RoleAssignment.objects.filter(user=user).select_related(
                "department", "hospital", "region"
            )
        }
        for key, assignment in existing.items():
            if assignment.source == RoleSource.SSO and key not in wanted:
                revoked.append(describe_role(assignment))
                assignment.delete()
        for key, (department, hospital, region) in wanted.items():
            if key in existing:
                continue  # already held, from the portal or an earlier login
            assignment = RoleAssignment.objects.create(
                user=user,
                role=key[0],
                department=department,
                hospital=hospital,
                region=region,
                source=RoleSource.SSO,
            )
            granted.append(describe_role(assignment))
        _forget_cached_roles(user)
        if granted or revoked:
            audit.record(
                request,
                AuditAction.ROLE_CHANGED,
                user=user,
                target=user.email,
                detail={"granted": granted, "revoked": revoked, "via": "sso"},
            )
    return {"granted": granted, "revoked": revoked, "unknown": unknown}


def confirm_email(user) -> None:
    """An account an administrator made (the admin, ``add_user``, the demo) has its address
    confirmed by that administrator: allauth then lets its owner set up two-factor."""
    from allauth.account.models import EmailAddress

    EmailAddress.objects.update_or_create(
        user=user,
        email__iexact=user.email,
        defaults={"email": user.email, "verified": True, "primary": True},
    )
