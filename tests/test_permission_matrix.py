"""Every URL the project defines, for every kind of user, GET and POST: the expected answer.

The URLs are read from the resolver (the project's, and every urlconf it includes: allauth, the
Django admin, i18n, each app's), so a new view cannot escape: a pattern without a row in
``EXPECTED`` (or an admin rule), or with a path parameter ``fill()`` has no value for, fails by
name. Every answer of the walk is scanned for the fixture extract's raw CPR numbers.

Outcomes (``outcome_of``):

- ``ok``: 200.
- ``redirect``: 301/302/303 to anywhere but a login page (a POST endpoint that did its work,
  allauth sending a logged-in user onwards, the admin's "no such object" answer).
- ``login``: 302 to ``/accounts/login/`` (the portal's login; anonymous visitors).
- ``admin_login``: 302 to ``/admin/login/`` (the Django admin's own login, for anyone who is not
  staff: that is how the admin answers, whatever the portal's roles).
- ``unauthorized`` 401 (allauth's page for a failed single sign-on), ``forbidden`` 403,
  ``not_found`` 404, ``not_allowed`` 405.

A 403 from the CSRF check is reported as ``csrf`` and never expected: every POST carries a valid
token, so a 403 in the table is always about access.

The access rule (departments/access.py): a department outside every scope of the user is 404,
a department the user sees but not at the level needed is 403; pages that belong to no
department answer 403 to a logged-in user without the role and send anonymous visitors to log
in.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RegexPattern, RoutePattern

from tests.departments.people import A, B

ROLES = (
    "anonymous", "clinician_A", "clinician_B", "coordinator_A", "leadership", "leadership_B",
    "admin",
)  # fmt: skip
METHODS = ("GET", "POST")
OUTCOMES = {
    "ok",
    "redirect",
    "login",
    "admin_login",
    "unauthorized",
    "forbidden",
    "not_found",
    "not_allowed",
}


def expect(default: str, **per_role: str) -> dict[str, str]:
    """One outcome per role: ``default`` for every role not named. A leader of B's region
    (``leadership_B``) answers as the nationwide leader does, except that A's department lies
    outside its scope: where B's clinician is told A is not found, so is it."""
    unknown = set(per_role) - set(ROLES)
    assert not unknown, f"unknown roles {unknown}"
    row = {role: per_role.get(role, default) for role in ROLES}
    if "leadership_B" not in per_role:
        outside = row["clinician_B"] == "not_found" and row["leadership"] != "not_found"
        row["leadership_B"] = "not_found" if outside else row["leadership"]
    assert set(row.values()) <= OUTCOMES, row
    return row


def same(outcome: str) -> dict[str, str]:
    return expect(outcome)


# Shorthands for the usual shapes.
LOGGED_IN = {"clinician_A", "clinician_B", "coordinator_A", "leadership", "admin"}


def logged_in(outcome: str, anonymous: str = "login") -> dict[str, str]:
    return expect(outcome, anonymous=anonymous)


def get_only(get: dict[str, str]) -> dict[str, dict[str, str]]:
    """A view behind ``login_required`` + ``require_GET``: POST is 405 once logged in."""
    return {"GET": get, "POST": logged_in("not_allowed", anonymous=get["anonymous"])}


COORDINATORS_ONLY = expect("forbidden", anonymous="login", coordinator_A="ok")
ADMINS_ONLY = expect("forbidden", anonymous="login", admin="ok")
EXTRACT_READERS = expect("forbidden", anonymous="login", coordinator_A="ok", admin="ok")

# --------------------------------------------------------------------------------------------
# The table: URL name (namespace:name) or, for an unnamed pattern, its route.
# --------------------------------------------------------------------------------------------
EXPECTED: dict[str, dict[str, dict[str, str]]] = {
    # Load balancer's health check: public, GET only.
    "healthz": {"GET": same("ok"), "POST": same("not_allowed")},
    "set_language": {"GET": same("redirect"), "POST": same("redirect")},
    # The portal ------------------------------------------------------------------------------
    # Home sends each user on to what fits them (a department, the overview, the audit log).
    "home": {"GET": logged_in("redirect"), "POST": logged_in("redirect")},
    "department_switch": get_only(logged_in("ok")),
    "department_status": get_only(
        expect("ok", anonymous="login", clinician_B="not_found", admin="not_found")
    ),
    "indicator_csv": get_only(
        expect("ok", anonymous="login", clinician_B="not_found", admin="not_found")
    ),
    # The API answers JSON: 401 rather than a login page; admin holds no department data.
    "api_results": {
        "GET": expect("ok", anonymous="unauthorized", clinician_B="not_found", admin="forbidden"),
        "POST": same("not_allowed"),
    },
    "department_settings_preview": {
        "GET": logged_in("not_allowed"),
        "POST": expect(
            "forbidden",
            anonymous="login",
            coordinator_A="ok",
            clinician_B="not_found",
            admin="not_found",
        ),
    },
    "department_settings_computation": get_only(
        expect(
            "forbidden",
            anonymous="login",
            coordinator_A="ok",
            clinician_B="not_found",
            admin="not_found",
        )
    ),
    # Administrators read extract reports (every department's refused rows) but neither upload
    # nor roll back.
    "extract_list": get_only(EXTRACT_READERS),
    # The upload form re-renders with errors for an empty POST: access granted.
    "extract_upload": {"GET": COORDINATORS_ONLY, "POST": COORDINATORS_ONLY},
    "extract_detail": get_only(EXTRACT_READERS),
    "extract_status": get_only(EXTRACT_READERS),
    "extract_refused_csv": get_only(EXTRACT_READERS),
    "extract_make_current": {
        "GET": logged_in("not_allowed"),
        # Without "confirm" the answer is the page of what would change.
        "POST": expect("forbidden", anonymous="login", coordinator_A="ok"),
    },
    # A registry's machine client, by feed token only: a session (any role's) opens nothing,
    # and the token is checked before the method or the registry (tests/dashboards/
    # test_feed_api.py has the token's own answers).
    "api_registry_extracts": {"GET": same("unauthorized"), "POST": same("unauthorized")},
    "api_registry_extract": {"GET": same("unauthorized"), "POST": same("unauthorized")},
    "audit_list": get_only(ADMINS_ONLY),
    "audit_export": get_only(ADMINS_ONLY),
    # allauth: accounts ------------------------------------------------------------------------
    # A logged-in user asking for the login page is sent on to the portal.
    "account_login": {
        "GET": logged_in("redirect", anonymous="ok"),
        "POST": logged_in("redirect", anonymous="ok"),
    },
    # GET asks "log out?"; POST logs out and goes to the front page.
    "account_logout": {"GET": logged_in("ok", anonymous="redirect"), "POST": same("redirect")},
    "account_inactive": {"GET": same("ok"), "POST": same("not_allowed")},
    # No open sign-up: the page only says so.
    "account_signup": {
        "GET": logged_in("redirect", anonymous="ok"),
        "POST": logged_in("redirect", anonymous="ok"),
    },
    "account_reauthenticate": {"GET": logged_in("ok"), "POST": logged_in("ok")},
    # An empty POST (no address, no action) changes nothing and returns to the page.
    "account_email": {"GET": logged_in("ok"), "POST": logged_in("redirect")},
    "account_email_verification_sent": {"GET": same("ok"), "POST": same("not_allowed")},
    "account_change_password": {"GET": logged_in("ok"), "POST": logged_in("ok")},
    # Every matrix user has a password, so "set password" sends them to "change password".
    "account_set_password": {"GET": logged_in("redirect"), "POST": logged_in("redirect")},
    "account_reset_password": {"GET": same("ok"), "POST": same("ok")},
    "account_reset_password_done": {"GET": same("ok"), "POST": same("not_allowed")},
    "account_reset_password_from_key": {"GET": same("ok"), "POST": same("ok")},
    "account_reset_password_from_key_done": {"GET": same("ok"), "POST": same("not_allowed")},
    # Login by code is off: nothing pending, so back to the login page (or on to the portal).
    "account_confirm_login_code": {
        "GET": logged_in("redirect", anonymous="login"),
        "POST": logged_in("redirect", anonymous="login"),
    },
    # An unknown key: GET shows "this link is invalid", POST has nothing to confirm.
    "account_confirm_email": {"GET": same("ok"), "POST": same("not_found")},
    # allauth: two-factor authentication ------------------------------------------------------
    "mfa_index": {"GET": logged_in("ok"), "POST": logged_in("not_allowed")},
    # Only during a login waiting for its second factor; otherwise to login, or to the portal.
    "mfa_authenticate": {
        "GET": logged_in("redirect", anonymous="login"),
        "POST": logged_in("redirect", anonymous="login"),
    },
    "mfa_reauthenticate": {"GET": logged_in("redirect"), "POST": logged_in("redirect")},
    # Activating TOTP asks for the password again first (a fresh login session does not count).
    "mfa_activate_totp": {"GET": logged_in("redirect"), "POST": logged_in("redirect")},
    # Nothing to deactivate or view without an authenticator.
    "mfa_deactivate_totp": {"GET": logged_in("not_found"), "POST": logged_in("not_found")},
    "mfa_view_recovery_codes": {
        "GET": logged_in("not_found"),
        "POST": logged_in("not_allowed"),
    },
    "mfa_generate_recovery_codes": {"GET": logged_in("redirect"), "POST": logged_in("redirect")},
    "mfa_download_recovery_codes": {
        "GET": logged_in("not_found"),
        "POST": logged_in("not_found"),
    },
    # allauth: single sign-on --------------------------------------------------------------------
    "socialaccount_login_cancelled": {"GET": same("ok"), "POST": same("not_allowed")},
    "socialaccount_login_error": {"GET": same("unauthorized"), "POST": same("not_allowed")},
    # No pending SSO sign-up in the session: back to the login page.
    "socialaccount_signup": {"GET": same("login"), "POST": same("login")},
    "socialaccount_connections": {"GET": logged_in("ok"), "POST": logged_in("ok")},
    "accounts/social/login/cancelled/": {"GET": same("redirect"), "POST": same("redirect")},
    "accounts/social/login/error/": {"GET": same("redirect"), "POST": same("redirect")},
    "accounts/social/signup/": {"GET": same("redirect"), "POST": same("redirect")},
    "accounts/social/connections/": {"GET": same("redirect"), "POST": same("redirect")},
    # The test settings configure no identity provider: its login and callback do not exist.
    "openid_connect_login": {"GET": same("not_found"), "POST": same("not_found")},
    "openid_connect_callback": {"GET": same("not_found"), "POST": same("not_found")},
}


# Pages the issue describes that are being built while this table is written, keyed by their
# route with converter types dropped (``departments/<code>/``). A new page whose route matches
# one is held to it; give it a row in EXPECTED, by name, when it lands. From the issue and the
# access rule: a clinician of A sees A's dashboard, indicator pages and patient lists; B's
# clinician is told A's department is not found; leadership sees aggregates but is refused
# patient lists; only A's coordinator opens A's settings; the overview is leadership's; the
# admin role grants no department data.
DEPARTMENT_PAGE = get_only(
    expect("ok", anonymous="login", clinician_B="not_found", admin="not_found")
)
ANTICIPATED: dict[str, dict[str, dict[str, str]]] = {
    "departments/<code>/": DEPARTMENT_PAGE,
    "departments/<code>/indicators/<slug>/": DEPARTMENT_PAGE,
    "departments/<code>/indicators/<slug>/patients/": get_only(
        expect(
            "ok",
            anonymous="login",
            clinician_B="not_found",
            leadership="forbidden",
            admin="not_found",
        )
    ),
    "departments/<code>/settings/": {
        method: expect(
            "forbidden",
            anonymous="login",
            coordinator_A="ok",
            clinician_B="not_found",
            admin="not_found",
        )
        for method in METHODS
    },
    # A's own indicator, read and edited: A's coordinator only.
    "departments/<code>/settings/own/<slug>/": {
        method: expect(
            "forbidden",
            anonymous="login",
            coordinator_A="ok",
            clinician_B="not_found",
            admin="not_found",
        )
        for method in METHODS
    },
    "overview/": get_only(expect("forbidden", anonymous="login", leadership="ok")),
    "overview/pathways/": get_only(expect("forbidden", anonymous="login", leadership="ok")),
}


def _plain_route(route: str) -> str:
    return re.sub(r"<(?:[^>:]+:)?([^>]+)>", r"<\1>", route)


# The Django admin: its own rules, the same for every model, so they are rules and not rows.
# Only staff reach it (the admin role, which add_user makes staff and superuser); everyone else,
# whatever their portal roles, gets the admin's own login page.
ADMIN_MODEL_VIEWS = ("changelist", "add", "history", "delete", "change")


def admin_expected(name: str, route: str, method: str, exists: bool) -> dict[str, str] | None:
    """The expected row for a Django admin URL; None for one these rules do not know."""
    if not route.startswith("admin/"):
        return None
    get = method == "GET"

    def staff(outcome: str) -> dict[str, str]:
        return expect("admin_login", admin=outcome)

    match name:
        case "admin:login":
            # Staff asking for the admin login by GET go to the index; a POST is a login attempt.
            return expect("ok", admin="redirect") if get else same("ok")
        case "admin:logout":
            # Django sends anyone who is not staff from the logout URL to the admin index.
            return expect("redirect", admin="not_allowed" if get else "ok")
        case "admin:index" | "admin:app_list" | "admin:password_change":
            return staff("ok")
        case "admin:password_change_done" | "admin:jsi18n":
            return staff("ok" if get else "not_allowed")
        case "admin:autocomplete":
            # Without its query parameters the autocomplete refuses even staff.
            return staff("forbidden" if get else "not_allowed")
        case "admin:view_on_site":
            return staff("not_found")  # a department has no page of its own to show
        case "":
            if route.endswith("(?P<url>.*)$"):
                return staff("not_found")  # the admin's catch-all: no such admin page
            if route.endswith("/<path:object_id>/"):
                return staff("redirect")  # the old form of a change URL: sent on to it
            return None
    view = name.rsplit("_", 1)[-1]
    if name == "admin:auth_user_password_change":
        view = "change"
    elif not name.startswith("admin:") or view not in ADMIN_MODEL_VIEWS:
        return None
    # Read-only in the admin: the audit log (never added to, changed or deleted), the second
    # factors (whose secrets nobody reads or edits; an admin may delete one for a lost phone)
    # and the feed tokens (made by a command that shows the token once; revoked, never deleted).
    read_only = name.startswith(
        (
            "admin:departments_auditevent_",
            "admin:mfa_authenticator_",
            "admin:indicators_feedtoken_",
        )
    )
    no_delete = name.startswith(("admin:departments_auditevent_", "admin:indicators_feedtoken_"))
    if read_only and (view == "add" or (view == "change" and not get)):
        return staff("forbidden")
    if no_delete and view == "delete":
        return staff("forbidden")
    if view in ("changelist", "add"):
        return staff("ok")
    # An object that does not exist: the admin says so and returns to its index.
    return staff("ok" if exists else "redirect")


# --------------------------------------------------------------------------------------------
# Path parameters: the value each kwarg takes in the walk.
# --------------------------------------------------------------------------------------------
@dataclass
class World:
    extract_id: int
    bystander_id: int
    department_ct: int
    department_id: int
    admin_objects: dict[str, str]  # "app_label/model" -> pk of an existing object


OWN_SLUG = "egen-akutte"


def fill(param: str, route: str, world: World) -> str | None:
    """The value of ``param`` in ``route``; None if the walk does not know it."""
    admin_model = re.match(r"admin/(\w+)/(\w+)/", route)
    values = {
        "code": A,
        "pk": str(world.extract_id),
        "slug": "major_complication",
        "indicator": "major_complication",
        "period": "2023-03",
        "year": "2023",
        "id": str(world.bystander_id),
        "content_type_id": str(world.department_ct),
        "app_label": "departments",
        "url": "no-such-page/",
        "key": "nokey",
        "uidb36": "0",
        "provider_id": "sso",
        "registry": "dccg",
    }
    if param == "slug" and "settings/own/" in route:
        return OWN_SLUG
    if param == "object_id":
        if route.startswith("admin/r/"):
            return str(world.department_id)
        if admin_model:
            return world.admin_objects.get(f"{admin_model[1]}/{admin_model[2]}", "0")
    return values.get(param)


# --------------------------------------------------------------------------------------------
# The walk
# --------------------------------------------------------------------------------------------
@dataclass
class Endpoint:
    key: str  # the table's key: namespace:name, or the route of an unnamed pattern
    name: str
    route: str
    path: str | None
    problem: str = ""


_ROUTE_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<parameter>[^>]+)>")


def _regex_to_path(regex: str, values: dict[str, str]) -> str:
    """A regex pattern with its named groups filled in; raises if anything regex is left."""
    regex = regex.removeprefix("^").removesuffix("$").removesuffix(r"\Z")
    out, i = [], 0
    while i < len(regex):
        if regex.startswith("(?P<", i):
            name = regex[i + 4 : regex.index(">", i)]
            depth, j = 0, i
            while True:  # skip to the group's closing parenthesis
                if regex[j] == "\\":
                    j += 2
                    continue
                depth += {"(": 1, ")": -1}.get(regex[j], 0)
                j += 1
                if depth == 0:
                    break
            if name not in values:
                raise KeyError(name)
            out.append(values[name])
            i = j
        elif regex[i] == "\\":
            out.append(regex[i + 1])
            i += 2
        else:
            out.append(regex[i])
            i += 1
    path = "".join(out)
    if re.search(r"[()\[\]*+?|^$]", path):
        raise ValueError(f"cannot turn {regex!r} into a path")
    return path


def _piece(pattern, route: str, world: World) -> str:
    if isinstance(pattern, RoutePattern):

        def value(match):
            found = fill(match["parameter"], route, world)
            if found is None:
                raise KeyError(match["parameter"])
            return found

        return _ROUTE_PARAM.sub(value, str(pattern))
    if isinstance(pattern, RegexPattern):
        names = re.findall(r"\(\?P<(\w+)>", pattern.regex.pattern)
        values = {name: fill(name, route, world) for name in names}
        missing = [name for name, found in values.items() if found is None]
        if missing:
            raise KeyError(missing[0])
        return _regex_to_path(pattern.regex.pattern, values)
    raise TypeError(f"unknown pattern type {type(pattern).__name__}")


def _joined(levels) -> str:
    """The route as Django's ``ResolverMatch.route`` spells it (inner "^" anchors dropped)."""
    route = str(levels[0])
    for level in levels[1:]:
        route += str(level).removeprefix("^")
    return route


def endpoints(world: World) -> Iterator[Endpoint]:
    def walk(patterns, chain: list, namespace: str) -> Iterator[Endpoint]:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                yield from walk(entry.url_patterns, [*chain, entry.pattern], inner)
                continue
            assert isinstance(entry, URLPattern)
            levels = [*chain, entry.pattern]
            route = "".join(str(level) for level in levels)
            name = f"{namespace}{entry.name}" if entry.name else ""
            key = name if entry.name else route
            try:
                path = "/" + "".join(_piece(level, route, world) for level in levels)
            except KeyError as missing:
                yield Endpoint(key, name, route, None, f"cannot fill parameter {missing}")
                continue
            except ValueError as exc:
                yield Endpoint(key, name, route, None, str(exc))
                continue
            match = resolve(path)
            if match.route != _joined(levels):
                problem = f"{path} resolves to {match.route!r}, not to this pattern"
                yield Endpoint(key, name, route, path, problem)
                continue
            yield Endpoint(key, name, route, path)

    yield from walk(get_resolver().url_patterns, [], "")


def outcome_of(response) -> str:
    code = response.status_code
    if code == 200:
        return "ok"
    if code in (301, 302, 303, 307, 308):
        target = urlsplit(response["Location"]).path
        if target == "/accounts/login/":
            return "login"
        if target == "/admin/login/":
            return "admin_login"
        return "redirect"
    if code == 403:
        return "csrf" if response.get(CSRF_MARKER) else "forbidden"
    return {401: "unauthorized", 404: "not_found", 405: "not_allowed"}.get(code, f"status {code}")


CSRF_MARKER = "X-Test-CSRF-Failure"


def csrf_failure(request, reason=""):
    """The test's CSRF failure view: marks the 403 so it cannot pass for an access refusal."""
    from django.http import HttpResponseForbidden

    response = HttpResponseForbidden(reason)
    response[CSRF_MARKER] = "1"
    return response


def body_of(response) -> str:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    return raw.decode("utf-8", errors="replace") + response.get("Location", "")


# --------------------------------------------------------------------------------------------
# The fixture world: two departments, an extract with known CPR numbers, one user per role.
# --------------------------------------------------------------------------------------------
def fixture_cprs() -> set[str]:
    from tests.indicators.extract_files import CPRS, SAMPLE

    with SAMPLE.open(encoding="utf-8", newline="") as handle:
        found = {row["cpr"].replace("-", "") for row in csv.DictReader(handle, delimiter=";")}
    digits = found | set(CPRS)
    # 300 operations; a few patients were operated on twice.
    assert len(digits) > 250 and all(len(cpr) == 10 and cpr.isdigit() for cpr in digits)
    return digits | {f"{cpr[:6]}-{cpr[6:]}" for cpr in digits}


def build_world(tmp_path) -> tuple[World, dict[str, object]]:
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from allauth.socialaccount.models import SocialAccount
    from django.contrib.contenttypes.models import ContentType

    from departments.models import AuditEvent, Department, Hospital, Region, Role, User
    from indicators.registry.importer import import_path
    from indicators.services import computations
    from indicators.services.definitions import create_department_indicator
    from indicators.services.feed_tokens import create_token
    from tests.departments.people import department, person
    from tests.indicators.extract_files import ROWS, SAMPLE, csv_text

    # An extract with refused rows (their CPR numbers stay in the file) and the 300-row sample,
    # which becomes the current one.
    small = tmp_path / "with-refused.csv"
    rows = [*ROWS, dict(ROWS[0], asa="9"), dict(ROWS[1], koen="X")]
    small.write_text(csv_text(rows), encoding="utf-8")
    refused = import_path(small).extract
    assert refused.rows_rejected == 2
    sample = import_path(SAMPLE).extract
    assert sample.rows_imported == 300
    # Results, so that every page shows numbers (and the walk can look for small ones).
    assert computations.recompute(sample.registry, reason="matrix").status == "done"
    a, b = department(A), department(B)

    users = {
        "clinician_A": person("clinician-a@example.dk", Role.CLINICIAN, a),
        "clinician_B": person("clinician-b@example.dk", Role.CLINICIAN, b),
        "coordinator_A": person("coordinator-a@example.dk", Role.COORDINATOR, a),
        "leadership": person("leadership@example.dk", Role.LEADERSHIP),
        "leadership_B": person("leadership-b@example.dk", Role.LEADERSHIP, b.hospital.region),
        "admin": person("admin@example.dk", Role.ADMIN, is_staff=True, is_superuser=True),
    }
    # A's own indicator, for the page that reads and edits it.
    create_department_indicator(
        a,
        slug=OWN_SLUG,
        name_da="Akutte",
        name_en="Emergencies",
        event={"field": "priority", "op": "eq", "value": "akut"},
    )
    # Someone for the admin's object pages to show, holding what the admin lists.
    bystander = person("bystander@example.dk")
    group = Group.objects.create(name="Kvalitetsteam")
    email = EmailAddress.objects.create(user=bystander, email=bystander.email, primary=True)
    totp = Authenticator.objects.create(user=bystander, type="totp", data={"secret": "x"})
    social = SocialAccount.objects.create(user=bystander, provider="sso", uid="bystander")
    audit_event = AuditEvent.objects.create(action="login_failed", user_email="x@example.dk")
    feed_token, _raw = create_token("dccg", "matrix-feed")
    objects = {
        "auth/group": group.pk,
        "account/emailaddress": email.pk,
        "mfa/authenticator": totp.pk,
        "socialaccount/socialaccount": social.pk,
        "departments/region": Region.objects.first().pk,
        "departments/hospital": Hospital.objects.first().pk,
        "departments/department": a.pk,
        "departments/user": bystander.pk,
        "departments/auditevent": audit_event.pk,
        "indicators/feedtoken": feed_token.pk,
    }
    world = World(
        extract_id=refused.pk,
        bystander_id=bystander.pk,
        department_ct=ContentType.objects.get_for_model(Department).pk,
        department_id=a.pk,
        admin_objects={key: str(pk) for key, pk in objects.items()},
    )
    assert {f"{m._meta.app_label}/{m._meta.model_name}" for m in apps.get_models()} >= set(objects)
    assert User.objects.filter(is_superuser=True).count() == 1
    return world, users


def expected_for(endpoint: Endpoint, method: str, world: World) -> dict[str, str] | None:
    row = EXPECTED.get(endpoint.key) or ANTICIPATED.get(_plain_route(endpoint.route))
    if row is not None:
        return row[method]
    model = re.match(r"admin/(\w+)/(\w+)/", endpoint.route)
    exists = bool(model) and f"{model[1]}/{model[2]}" in world.admin_objects
    if endpoint.name == "admin:auth_user_password_change":
        exists = True
    return admin_expected(endpoint.name, endpoint.route, method, exists)


class Session:
    """One client per role, logged in once and again if a request logged it out."""

    def __init__(self, role: str, user):
        self.role, self.user = role, user
        self.client = Client(enforce_csrf_checks=True)
        if user is not None:
            self.client.force_login(user)
        # Any page with a form hands out the CSRF cookie.
        self.client.get("/accounts/password/reset/")
        assert "csrftoken" in self.client.cookies

    def request(self, method: str, path: str):
        if method == "GET":
            response = self.client.get(path)
        else:
            token = self.client.cookies["csrftoken"].value
            response = self.client.post(path, {}, HTTP_X_CSRFTOKEN=token)
        if self.user is not None and "_auth_user_id" not in self.client.session:
            self.client.force_login(self.user)  # e.g. after POSTing to a logout URL
        return response


@pytest.fixture
def world(db, tmp_path, settings, eager_tasks):
    from django.core.cache import cache

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SOCIALACCOUNT_PROVIDERS = {}
    settings.MFA_REQUIRED_FOR_PATIENT_ROLES = False
    settings.CSRF_FAILURE_VIEW = f"{__name__}.csrf_failure"
    cache.clear()  # allauth's rate limits count in the cache
    return build_world(tmp_path)


def test_every_url_pattern_has_an_expected_outcome_and_a_path():
    stub = World(1, 1, 1, 1, {})
    problems = []
    for endpoint in endpoints(stub):
        if endpoint.problem:
            problems.append(f"{endpoint.key}: {endpoint.problem}")
        for method in METHODS:
            if expected_for(endpoint, method, stub) is None:
                problems.append(f"{endpoint.key} ({endpoint.route}): no row in EXPECTED")
                break
    assert problems == [], "\n".join(problems)


def test_the_table_names_only_patterns_that_exist():
    keys = {endpoint.key for endpoint in endpoints(World(1, 1, 1, 1, {}))}
    assert sorted(set(EXPECTED) - keys) == []


def test_a_post_without_the_csrf_token_is_refused(world):
    _world, users = world
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["coordinator_A"])
    response = client.post("/extracts/upload/")
    assert outcome_of(response) == "csrf"


# Query strings some pages need to show their real content rather than send the user on.
QUERIES = {"indicator_patients": "?period=2023-03", "api_results": "?department=4202200"}


def count_patterns(numerator, denominator) -> set[str]:
    """How a result's counts read in a page, a CSV, a hover text or the API."""
    if numerator is None:
        return {f'"numerator": null, "denominator": {denominator},'}
    return {
        f"{numerator} af {denominator}",
        f"{numerator}/{denominator}",
        f'"numerator": {numerator}, "denominator": {denominator},',
    }


def says(body: str, pattern: str) -> bool:
    """``pattern`` in ``body`` as whole numbers ("0 af 1" is not in "0 af 11")."""
    if pattern not in body:
        return False
    return re.search(rf"(?<![\d,./]){re.escape(pattern)}(?![\d,/])", body) is not None


def unseeable(users: dict) -> dict[str, set[str]]:
    """Per role, the small results of departments outside its scope as they would read if a
    page gave them away: none may appear in any answer to that role (docs/privacy.md). Patterns
    the role may legitimately meet (its own scope, the pool as it may see it) are left out."""
    from departments import access
    from indicators.models import Result
    from indicators.services.disclosure import pool_as_seen
    from indicators.services.selectors import current_computation

    computation = current_computation("dccg")
    assert computation is not None, "the world has results"
    results = list(
        Result.objects.filter(computation=computation, department__isnull=False).values(
            "department_id", "numerator", "denominator"
        )
    )
    found = {}
    for role, user in users.items():
        if role == "admin":
            continue  # holds no department's data: the walk's outcomes show it gets none
        scope = access.exact_scope(user)
        allowed, hidden = set(), set()
        for row in results:
            patterns = count_patterns(row["numerator"], row["denominator"])
            small = any(0 < (row[k] or 0) < 5 for k in ("numerator", "denominator"))
            if row["department_id"] in scope:
                allowed |= patterns
            elif small:
                hidden |= patterns
        for row in pool_as_seen(computation, scope).values():
            if isinstance(row["denominator"], int):
                numerator = row["numerator"] if isinstance(row["numerator"], int) else "x"
                allowed |= count_patterns(numerator, row["denominator"])
        found[role] = hidden - allowed
    return found


def test_every_url_for_every_role_answers_as_expected_and_shows_no_cpr_number(world):
    world, users = world
    cprs = fixture_cprs()
    hidden = unseeable(users)
    assert hidden["clinician_B"] and hidden["leadership_B"], {k: len(v) for k, v in hidden.items()}
    overheard: list[str] = []
    sessions = {role: Session(role, users.get(role)) for role in ROLES}
    mismatches: list[str] = []
    leaks: list[str] = []
    walked = 0
    for endpoint in endpoints(world):
        if endpoint.path is None:
            mismatches.append(f"{endpoint.key}: {endpoint.problem}")
            continue
        for method in METHODS:
            expected = expected_for(endpoint, method, world)
            observed = {}
            for role in ROLES:
                try:
                    path = endpoint.path + QUERIES.get(endpoint.key, "")
                    response = sessions[role].request(method, path)
                except Exception as exc:  # a 500: report it with the rest
                    observed[role] = f"error {type(exc).__name__}: {exc}"
                    continue
                walked += 1
                observed[role] = outcome_of(response)
                body = body_of(response)
                leaked = sorted(cpr for cpr in cprs if cpr in body)
                if leaked:
                    leaks.append(f"{method} {endpoint.path} as {role}: {leaked[:3]}")
                told = sorted(p for p in hidden.get(role, ()) if says(body, p))
                if told:
                    at = body.index(told[0])
                    overheard.append(
                        f"{method} {endpoint.path} as {role}: {told[:3]} in "
                        f"…{body[max(0, at - 200) : at + 60]}…"
                    )
            if expected is None:
                mismatches.append(
                    f"{endpoint.key} ({endpoint.route}): no row in EXPECTED; "
                    f"{method} answered {observed}"
                )
                continue
            for role in ROLES:
                if observed[role] != expected[role]:
                    mismatches.append(
                        f"{method} {endpoint.path} [{endpoint.key}] as {role}: "
                        f"expected {expected[role]}, got {observed[role]}"
                    )
    assert walked > 500
    assert leaks == [], "CPR numbers in answers:\n" + "\n".join(leaks)
    assert overheard == [], "small numbers outside the scope:\n" + "\n".join(overheard)
    assert mismatches == [], f"{len(mismatches)} unexpected answers:\n" + "\n".join(mismatches)
