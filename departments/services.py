"""Writes on the ground floor: places and people."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction

from departments.models import Department, Hospital, Region, Role, RoleAssignment, User
from departments.regions import HOSPITAL_REGIONS


@dataclass(frozen=True)
class DepartmentRecord:
    """A department as a registry extract names it."""

    hospital_code: str
    hospital_name: str
    code: str
    name: str


def upsert_departments(
    records: Iterable[DepartmentRecord], regions_by_hospital: dict[str, str] | None = None
) -> dict[str, Department]:
    """Create or rename hospitals and departments; returns every department by code.

    A name is only overwritten by a non-blank one, so an extract with blank names does not erase
    names an earlier extract gave. A new hospital is placed in its region from
    ``regions_by_hospital`` (default: the known SKS codes); the region stays editable in the admin.
    """
    regions_by_hospital = HOSPITAL_REGIONS if regions_by_hospital is None else regions_by_hospital
    regions = {region.name: region for region in Region.objects.all()}
    hospitals = {h.code: h for h in Hospital.objects.all()}
    departments = {d.code: d for d in Department.objects.select_related("hospital")}
    with transaction.atomic():
        for rec in records:
            hospital = hospitals.get(rec.hospital_code)
            if hospital is None:
                hospital = Hospital.objects.create(
                    code=rec.hospital_code,
                    name=rec.hospital_name,
                    region=regions.get(regions_by_hospital.get(rec.hospital_code, "")),
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


def grant_role(
    user: User,
    role: Role | str,
    *,
    department: Department | None = None,
    hospital: Hospital | None = None,
    region: Region | None = None,
) -> RoleAssignment:
    """Give ``user`` a role at a place; granting the same role twice changes nothing."""
    assignment, _ = RoleAssignment.objects.get_or_create(
        user=user, role=role, department=department, hospital=hospital, region=region
    )
    return assignment
