"""Places and people for tests: departments A (Køge) and B (Vejle), users holding roles."""

from __future__ import annotations

from departments.models import Department, Hospital, Region, Role, User
from departments.services import grant_role

PASSWORD = "Et-godt-kodeord-2026"
A = "4202200"  # Kirurgisk Afdeling, Køge (Region Sjælland)
B = "6630220"  # Kirurgisk Afdeling, Vejle (Region Syddanmark)
_PLACES = {
    A: ("4202", "Sjællands Universitetshospital, Køge", "1085", "Kirurgisk Afdeling, Køge"),
    B: ("6630", "Sygehus Lillebælt, Vejle", "1083", "Kirurgisk Afdeling, Vejle"),
}
_REGIONS = {"1085": "Region Sjælland", "1083": "Region Syddanmark"}


def department(code: str = A) -> Department:
    """Department A or B, created as an extract would create it, in its region."""
    hospital_code, hospital_name, region_code, name = _PLACES[code]
    # The regions come from a data migration, but a transactional test empties every table.
    region, _ = Region.objects.get_or_create(
        code=region_code, defaults={"name": _REGIONS[region_code]}
    )
    hospital, _ = Hospital.objects.get_or_create(
        code=hospital_code, defaults={"name": hospital_name, "region": region}
    )
    found, _ = Department.objects.get_or_create(
        code=code, defaults={"name": name, "hospital": hospital}
    )
    return found


def person(email: str, role: Role | str | None = None, *places, **user_fields) -> User:
    """A user with ``role`` at each of ``places`` (departments, or a hospital/region)."""
    user = User.objects.create_user(email, PASSWORD, **user_fields)
    if role is not None:
        for place in places or (None,):
            kind = type(place).__name__.lower() if place is not None else None
            grant_role(user, role, **({kind: place} if kind else {}))
    return user
