"""Late data noticed (docs/deliveries.md): how old each registry's newest extract is, in
``/healthz``, in a banner for the coordinators of the departments with rows in a late registry,
and in one e-mail per late episode, sent through a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import socket
import threading

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from departments.models import AuditEvent, Department, Role
from indicators.models import Computation, Extract, Registry
from indicators.registry.importer import import_path
from indicators.registry.profile_file import SHIPPED as REGISTRIES
from indicators.registry.profile_file import load_profile, load_profile_data
from indicators.services import deliveries
from indicators.services.registries import install_directory, install_profile
from qualityportal.env import env_int_map
from tests.departments.people import A, B, person
from tests.factories import kept_for_module
from tests.indicators.extract_files import csv_text, with_change
from tests.indicators.test_registries import SMALL

pytestmark = pytest.mark.django_db

SHIPPED = REGISTRIES / "dccg.toml"
C = "4202999"  # a department of the Køge hospital with no rows in any registry


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker, tmp_path_factory):
    """A DCCG extract with rows of departments A and B, and the people around them."""
    with kept_for_module(django_db_blocker):
        path = tmp_path_factory.mktemp("deliveries") / "dccg.csv"
        path.write_text(csv_text(), encoding="utf-8")
        extract = import_path(path).extract
        assert extract.status == "done" and extract.is_current, extract.message_en
        a, b = Department.objects.get(code=A), Department.objects.get(code=B)
        c = Department.objects.create(code=C, name="Afdeling uden data", hospital=a.hospital)
        people = {
            "coordinator_a": person("koord-a@example.dk", Role.COORDINATOR, a),
            "coordinator_b": person("koord-b@example.dk", Role.COORDINATOR, b),
            "coordinator_c": person("koord-c@example.dk", Role.COORDINATOR, c),
            "clinician_a": person("klin-a@example.dk", Role.CLINICIAN, a),
            "gone_a": person("gone-a@example.dk", Role.COORDINATOR, a, is_active=False),
            "invalid_a": person("ikke-en-adresse", Role.COORDINATOR, a),
        }
        yield {"extract": extract, "departments": {"a": a, "b": b, "c": c}, **people}


@pytest.fixture
def world(built, db, settings):
    settings.DELIVERY_EXPECTED_EVERY_DAYS = {}
    settings.CELERY_TASK_ALWAYS_EAGER = True  # /healthz's broker check: in-process
    return built


def dccg() -> Registry:
    return Registry.objects.get(slug="dccg")


def age(days: float) -> None:
    """Every DCCG extract uploaded ``days`` ago."""
    Extract.objects.filter(registry__slug="dccg").update(
        uploaded_at=timezone.now() - dt.timedelta(days=days)
    )


def health(client) -> dict:
    response = client.get("/healthz", secure=True)
    assert response.status_code == 200, response.content  # late data is no outage
    return {entry["slug"]: entry for entry in response.json()["registries"]}


def new_extract(tmp_path, alder: str = "78") -> Extract:
    path = tmp_path / f"dccg-{alder}.csv"
    path.write_text(csv_text(with_change(0, alder=alder)), encoding="utf-8")
    extract = import_path(path).extract
    assert extract.status == "done", extract.message_en
    return extract


# --- the interval: the profile, the server ----------------------------------------------------


def test_installing_a_profile_stores_its_expected_interval():
    text = SMALL.format(version=1, opr_kind="date", extra_column="", extra_indicator="")
    spec = load_profile("expected_every_days = 3\n" + text)
    assert spec.expected_every_days == 3 and spec.as_dict()["expected_every_days"] == 3
    install_profile(spec)
    assert Registry.objects.get(slug="hofte").expected_every_days == 3
    # A later version without the key: never late again.
    install_profile(load_profile(text.replace("version = 1", "version = 2")))
    assert Registry.objects.get(slug="hofte").expected_every_days is None


def test_the_shipped_profiles_expect_dccg_weekly_and_kraeftpakke_daily(world):
    assert dccg().expected_every_days == 7
    assert Registry.objects.get(slug="kraeftpakke").expected_every_days == 1


def test_a_database_with_dccg_version_1_upgrades_at_migrate(world):
    """What ``migrate`` does to a database installed before the interval: version 1 (the file
    without the key) is upgraded to the shipped file, its data recomputed."""
    shipped = load_profile(SHIPPED.read_text(encoding="utf-8"))
    data = shipped.as_dict()
    del data["expected_every_days"]
    old = load_profile_data({**data, "version": 1})
    registry = dccg()
    registry.profiles.all().delete()
    registry.profiles.create(version=1, digest=old.digest, content=old.as_dict())
    Registry.objects.filter(pk=registry.pk).update(version=1, expected_every_days=None)
    queued = Computation.objects.filter(registry=registry, status="queued").count()
    done = {i.registry.slug: i for i in install_directory(via="migrate")}
    assert (done["dccg"].action, done["dccg"].version) == ("upgraded", shipped.version)
    assert dccg().expected_every_days == 7
    assert Computation.objects.filter(registry=registry, status="queued").count() == queued + 1
    # Run again: the same file changes nothing.
    assert {i.registry.slug: i.action for i in install_directory()}["dccg"] == "unchanged"


def test_the_server_overrides_the_profile(world, settings):
    registry = dccg()
    assert deliveries.expected_every_days(registry) == 7
    settings.DELIVERY_EXPECTED_EVERY_DAYS = {"dccg": 30}
    assert deliveries.expected_every_days(registry) == 30
    settings.DELIVERY_EXPECTED_EVERY_DAYS = {"dccg": 0}  # not watched
    assert deliveries.expected_every_days(registry) is None
    registry.expected_every_days = None
    settings.DELIVERY_EXPECTED_EVERY_DAYS = {"dccg": 2}
    assert deliveries.expected_every_days(registry) == 2


def test_the_override_comes_from_the_environment(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setenv("X_DAYS", " dccg=7, kraeftpakke = 1 ,")
    assert env_int_map("X_DAYS", {}) == {"dccg": 7, "kraeftpakke": 1}
    monkeypatch.setenv("X_DAYS", "")
    assert env_int_map("X_DAYS", {"a": 1}) == {"a": 1}
    for bad in ("dccg", "dccg=", "=7", "dccg=-1", "dccg=1.5", "dccg=7,dccg=8"):
        monkeypatch.setenv("X_DAYS", bad)
        with pytest.raises(ImproperlyConfigured, match="X_DAYS"):
            env_int_map("X_DAYS", {})


# --- /healthz ------------------------------------------------------------------------------------


def test_healthz_lists_every_registry_with_its_age_and_lateness(client, world):
    registries = health(client)
    assert set(registries) >= {"dccg", "kraeftpakke"}
    fresh = registries["dccg"]
    assert (fresh["age_days"], fresh["expected_every_days"], fresh["late"]) == (0.0, 7, False)
    uploaded = world["extract"].uploaded_at
    assert dt.datetime.fromisoformat(fresh["newest_extract_at"]) == uploaded
    # No extract at all, and one expected every day: late.
    assert registries["kraeftpakke"] == {
        "slug": "kraeftpakke",
        "newest_extract_at": None,
        "age_days": None,
        "expected_every_days": 1,
        "late": True,
    }
    age(7.5)
    old = health(client)["dccg"]
    assert (old["age_days"], old["late"]) == (7.5, True)


def test_healthz_says_what_the_server_overrides(client, world, settings):
    age(10)
    settings.DELIVERY_EXPECTED_EVERY_DAYS = {"dccg": 30, "kraeftpakke": 0}
    registries = health(client)
    assert (registries["dccg"]["expected_every_days"], registries["dccg"]["late"]) == (30, False)
    assert registries["dccg"]["age_days"] == 10.0
    kp = registries["kraeftpakke"]
    assert (kp["expected_every_days"], kp["late"]) == (None, False)


def test_healthz_reads_every_registry_in_one_query(client, world):
    client.get("/healthz", secure=True)
    with CaptureQueriesContext(connection) as queries:
        client.get("/healthz", secure=True)
    assert len(queries) == 2, [q["sql"] for q in queries]  # SELECT 1, and the registries


def test_a_repeated_delivery_or_a_failed_extract_does_not_make_data_newer(client, world):
    age(8)
    # The same file delivered again counts on its extract; it is not newer data.
    Extract.objects.filter(registry__slug="dccg").update(
        deliveries=2, last_delivered_at=timezone.now()
    )
    Extract.objects.create(
        registry=dccg(), file_name="broken.csv", sha256="0" * 64, status=Extract.Status.FAILED
    )
    entry = health(client)["dccg"]
    assert (entry["age_days"], entry["late"]) == (8.0, True)


# --- the banner ----------------------------------------------------------------------------------


def page(client, user) -> str:
    client.force_login(user)
    code = user.roles.get().department.code
    response = client.get(reverse("department_dashboard", args=[code]))
    assert response.status_code == 200
    return response.content.decode()


def banner(html: str) -> bool:
    return "late-deliveries" in html


def test_a_coordinator_of_a_late_registrys_department_sees_a_banner(client, world):
    age(9)
    for who in ("coordinator_a", "coordinator_b"):
        html = page(client, world[who])
        assert banner(html) and 'data-registry="dccg"' in html
        assert "Forsinket levering" in html and "9,0 dage gammelt" in html
        assert "hver 7. dag" in html and reverse("extract_list") in html
        # kræftpakke is late too (no extract), but these departments have no rows in it.
        assert 'data-registry="kraeftpakke"' not in html


def test_no_banner_for_clinicians_coordinators_elsewhere_or_fresh_data(client, world, settings):
    age(9)
    assert not banner(page(client, world["clinician_a"]))
    assert not banner(page(client, world["coordinator_c"]))
    age(1)
    assert not banner(page(client, world["coordinator_a"]))
    # The server may stop watching a registry.
    age(9)
    settings.DELIVERY_EXPECTED_EVERY_DAYS = {"dccg": 0}
    assert not banner(page(client, world["coordinator_a"]))


def test_the_banner_follows_the_data_not_the_episode_mark(client, world, tmp_path):
    age(9)
    Registry.objects.filter(slug="dccg").update(late_since=timezone.now())
    new_extract(tmp_path)  # delivered; no check has run yet
    assert not banner(page(client, world["coordinator_a"]))


def queries_of(client, user, settings, processor: bool) -> int:
    processors = [
        p
        for p in settings.TEMPLATES[0]["OPTIONS"]["context_processors"]
        if processor or p != "indicators.context_processors.late_deliveries"
    ]
    if not processor:
        # Without the banner's data the template must not ask for it: render as before.
        settings.TEMPLATES = [
            {**settings.TEMPLATES[0], "OPTIONS": {"context_processors": processors}}
        ]
    client.force_login(user)
    code = user.roles.get().department.code
    url = reverse("department_dashboard", args=[code])
    client.get(url)  # warm
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize(("who", "extra"), [("coordinator_a", 1), ("clinician_a", 0)])
def test_the_banner_costs_a_coordinator_one_query_and_anyone_else_none(
    client, world, settings, who, extra
):
    settings.REGISTRY_PROFILE_RECHECK_SECONDS = 3600
    age(9)
    templates = settings.TEMPLATES
    with_banner = queries_of(client, world[who], settings, processor=True)
    without = queries_of(client, world[who], settings, processor=False)
    settings.TEMPLATES = templates
    assert with_banner - without == extra


# --- the check and its e-mail --------------------------------------------------------------------


class Inbox:
    """What the SMTP server received: (envelope recipients, parsed message) each."""

    def __init__(self) -> None:
        self.port = 0
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append((sorted(envelope.rcpt_tos), parsed))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(settings):
    """A real SMTP server on 127.0.0.1; the portal sends to it with Django's SMTP backend."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.port = controller.port
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "kvalitetsportal@example.dk"
    yield inbox
    controller.stop()


def late_events() -> int:
    return AuditEvent.objects.filter(action="delivery_late", target="registry:dccg").count()


TOLD = ["koord-a@example.dk", "koord-b@example.dk"]


def test_one_email_per_late_episode_to_the_registrys_coordinators(world, smtp, tmp_path):
    before = late_events()
    assert "dccg" not in deliveries.check_late().late
    assert smtp.messages == [] and dccg().late_since is None

    age(8)
    checked = deliveries.check_late()
    assert "dccg" in checked.started and "dccg" in checked.notified
    [(recipients, message)] = smtp.messages
    # Not the clinician, not the coordinator of a department without rows, not the inactive
    # coordinator, not an address that is none.
    assert recipients == TOLD
    assert message["From"] == "kvalitetsportal@example.dk"
    assert "Forsinket levering" in message["Subject"] and "Late delivery" in message["Subject"]
    text = message.get_content()
    assert text.index("Data fra DCCG") < text.index("Data from DCCG")  # Danish first
    assert "8,0 dage gammelt" in text and "8,0 days old" in text
    assert "mindst hver 7. dag" in text and "at least every 7 days" in text
    assert reverse("extract_list") in text
    registry = dccg()
    assert registry.late_since is not None and registry.late_notified_at is not None
    assert late_events() == before + 1

    # Checked again, and again: told already.
    deliveries.check_late()
    deliveries.check_late()
    assert len(smtp.messages) == 1 and late_events() == before + 1

    # A new extract ends the episode as it becomes current (the importer says so), before any
    # check; later late again is a new one: a second e-mail.
    new_extract(tmp_path)
    assert (dccg().late_since, dccg().late_notified_at) == (None, None)
    checked = deliveries.check_late()
    assert "dccg" not in checked.late and "dccg" not in checked.started
    assert len(smtp.messages) == 1
    age(10)
    deliveries.check_late()
    assert len(smtp.messages) == 2 and smtp.messages[1][0] == TOLD
    assert "10,0 dage gammelt" in smtp.messages[1][1].get_content()
    assert late_events() == before + 2


def test_a_mail_server_that_is_down_is_tried_again_at_the_next_check(world, smtp, settings):
    before = late_events()
    age(8)
    settings.EMAIL_PORT = free_port()  # nothing listens there
    checked = deliveries.check_late()  # no crash
    assert "dccg" in checked.started and "dccg" in checked.failed
    registry = dccg()
    assert registry.late_since is not None and registry.late_notified_at is None
    assert late_events() == before + 1
    # The server is back: the same episode's one e-mail goes now, and only once.
    settings.EMAIL_PORT = smtp.port
    checked = deliveries.check_late()
    assert "dccg" in checked.notified and "dccg" not in checked.started
    deliveries.check_late()
    assert [r for r, _m in smtp.messages] == [TOLD]
    assert dccg().late_notified_at is not None
    assert late_events() == before + 1  # one episode, audited once


def test_a_checker_that_finds_the_episode_claimed_sends_nothing(world, smtp):
    age(8)
    claimed = timezone.now()
    Registry.objects.filter(slug="dccg").update(late_since=claimed, late_notified_at=claimed)
    checked = deliveries.check_late()
    assert "dccg" in checked.late and "dccg" not in checked.started + checked.notified
    assert smtp.messages == []


def test_the_importer_hook_ends_an_episode_at_once(world, tmp_path):
    age(8)
    late = timezone.now()
    Registry.objects.filter(slug="dccg").update(late_since=late, late_notified_at=late)
    assert deliveries.delivered(dccg().pk) is True  # still late: nothing changes
    assert dccg().late_since == late
    new_extract(tmp_path)
    assert deliveries.delivered(dccg().pk) is False
    assert (dccg().late_since, dccg().late_notified_at) == (None, None)


def test_the_command_and_the_beat_task(world, settings):
    from qualityportal.celery import app

    schedule = settings.CELERY_BEAT_SCHEDULE["check-late-deliveries"]
    assert schedule["task"] == "indicators.tasks.check_deliveries_task"
    assert schedule["task"] in app.tasks and schedule["schedule"] == 15 * 60
    age(8)
    out = io.StringIO()
    call_command("check_deliveries", stdout=out)
    lines = {line.split(":")[0]: line for line in out.getvalue().splitlines()}
    assert "LATE" in lines["dccg"] and "notified" in lines["dccg"] and "8.0" in lines["dccg"]
    assert len(mail.outbox) == 1 and sorted(mail.outbox[0].to) == TOLD
    from indicators.tasks import check_deliveries_task

    assert check_deliveries_task.apply().get()["late"] == ["dccg", "kraeftpakke"]
    assert len(mail.outbox) == 1


def test_an_extract_that_changed_nothing_leaves_the_registry_late(world, client, tmp_path):
    age(9)
    assert health(client)["dccg"]["late"] is True
    # Delivered today, but no valid row: the dashboards still show the old numbers.
    path = tmp_path / "ingen-gyldige.csv"
    path.write_text(csv_text(with_change(0, opr_dato="32-13-2023")[:1]), encoding="utf-8")
    nothing = import_path(path).extract
    assert nothing.status == "done" and nothing.rows_imported == 0
    entry = health(client)["dccg"]
    assert entry["late"] is True and entry["age_days"] >= 9


def test_a_registry_name_with_a_line_break_still_gives_a_one_line_subject(world):
    Registry.objects.filter(slug="dccg").update(name="DCCG\nBcc: alle@example.dk")
    delivery = next(d for d in deliveries.deliveries() if d.slug == "dccg")
    subject, _body = deliveries.message(delivery)
    assert "\n" not in subject and "Bcc: alle@example.dk" in subject
