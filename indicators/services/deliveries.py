"""Late data noticed: is a registry's newest extract older than the registry expects?

A registry expects an extract every ``expected_every_days`` days: its profile file says so, and
the server's ``DELIVERY_EXPECTED_EVERY_DAYS`` (``{slug: days}``) overrides it (0: not watched);
:func:`expected_every_days` is the one place that decides. The age is that of the registry's
newest extract with status done (``Extract.uploaded_at``: the same file delivered again does not
make the data newer). Late: an interval is set, and there is no done extract or it is older.

Told three ways: ``/healthz`` lists every registry (:func:`deliveries`), coordinators of the
departments with current rows in a late registry see a banner on their pages
(:func:`late_for_coordinator`), and :func:`check_late` (Celery beat every 15 minutes, and the
``check_deliveries`` command) sends them one e-mail per late episode. ``Registry.late_since``
marks the episode (claimed atomically: two checkers never both send); ``late_notified_at`` is
set once the e-mail went, so a mail server that was down is tried again at the next check. The
next extract ends the episode: :func:`check_late` clears it, and so does :func:`delivered`,
which the importer calls when an extract becomes current. The banner and ``/healthz`` use the
computed lateness, never ``late_since`` alone. See docs/deliveries.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone

from departments import audit
from departments.models import AuditAction, Role, User
from indicators.models import CurrentRows, Extract, Registry
from qualityportal.formatting import number

logger = logging.getLogger(__name__)

DAY_SECONDS = 24 * 60 * 60
_FIELDS = ("pk", "slug", "name", "name_en", "expected_every_days", "late_since", "late_notified_at")


def expected_every_days(registry: Registry) -> int | None:
    """How often the registry expects an extract, in days; None: never late. The server's
    ``DELIVERY_EXPECTED_EVERY_DAYS`` wins over the profile (0 there turns the watch off)."""
    override = getattr(settings, "DELIVERY_EXPECTED_EVERY_DAYS", None) or {}
    if registry.slug in override:
        return int(override[registry.slug]) or None
    return registry.expected_every_days or None


@dataclass(frozen=True)
class Delivery:
    """How fresh one registry's data is, at ``now``."""

    registry_id: int
    slug: str
    name: str
    name_en: str
    newest_extract_at: datetime | None
    expected_every_days: int | None
    late_since: datetime | None
    late_notified_at: datetime | None
    now: datetime

    @property
    def age_days(self) -> float | None:
        if self.newest_extract_at is None:
            return None
        return max(0.0, (self.now - self.newest_extract_at).total_seconds() / DAY_SECONDS)

    @property
    def late(self) -> bool:
        if self.expected_every_days is None:
            return False
        if self.newest_extract_at is None:
            return True
        return self.now - self.newest_extract_at > timedelta(days=self.expected_every_days)

    def display_name(self, language: str) -> str:
        return self.name_en if language.startswith("en") and self.name_en else self.name

    def as_health(self) -> dict:
        """The registry's entry in ``/healthz``."""
        age = self.age_days
        return {
            "slug": self.slug,
            "newest_extract_at": (
                self.newest_extract_at.isoformat() if self.newest_extract_at else None
            ),
            "age_days": None if age is None else round(age, 1),
            "expected_every_days": self.expected_every_days,
            "late": self.late,
        }


# An extract counts as delivered data when it is done with valid rows and not held for a
# coordinator's confirmation: one that changed nothing leaves the portal's numbers as old as they
# were.
COUNTS = Q(status=Extract.Status.DONE, rows_imported__gt=0, awaiting_confirmation=False)


def _newest_done():
    return Max(
        "extracts__uploaded_at",
        filter=Q(
            extracts__status=Extract.Status.DONE,
            extracts__rows_imported__gt=0,
            extracts__awaiting_confirmation=False,
        ),
    )


def _delivery(row: dict, now: datetime) -> Delivery:
    registry = Registry(
        pk=row["pk"], slug=row["slug"], expected_every_days=row["expected_every_days"]
    )
    return Delivery(
        registry_id=row["pk"],
        slug=row["slug"],
        name=row["name"],
        name_en=row["name_en"],
        newest_extract_at=row["newest"],
        expected_every_days=expected_every_days(registry),
        late_since=row["late_since"],
        late_notified_at=row["late_notified_at"],
        now=now,
    )


def deliveries(now: datetime | None = None, *, registry_ids=None) -> list[Delivery]:
    """Every registry's delivery state (or those of ``registry_ids``), by slug: one query."""
    now = now or timezone.now()
    registries = Registry.objects.all()
    if registry_ids is not None:
        registries = registries.filter(pk__in=registry_ids)
    rows = registries.annotate(newest=_newest_done()).order_by("slug").values(*_FIELDS, "newest")
    return [_delivery(row, now) for row in rows]


def late_for_coordinator(user, now: datetime | None = None) -> list[Delivery]:
    """The late registries in which a department the user coordinates has current rows: one
    query (the page banner). Nothing, and no query, for anyone who is not signed in."""
    if user is None or not user.is_authenticated or not user.is_active:
        return []
    now = now or timezone.now()
    coordinated = CurrentRows.objects.filter(
        registry=OuterRef("pk"),
        department__roles__user=user,
        department__roles__role=Role.COORDINATOR,
    )
    newest = (
        Extract.objects.filter(COUNTS, registry=OuterRef("pk"))
        .order_by("-uploaded_at")
        .values("uploaded_at")[:1]
    )
    rows = (
        Registry.objects.filter(Exists(coordinated))
        .annotate(newest=Subquery(newest))
        .order_by("slug")
        .values(*_FIELDS, "newest")
    )
    return [d for d in (_delivery(row, now) for row in rows) if d.late]


def coordinators(registry: Registry) -> list[str]:
    """The e-mail addresses told of a late registry: active users who coordinate a department
    with current rows in it, each once, invalid addresses left out."""
    emails = (
        User.objects.filter(
            is_active=True,
            roles__role=Role.COORDINATOR,
            roles__department__in=CurrentRows.objects.filter(registry=registry).values(
                "department"
            ),
        )
        .order_by("email")
        .values_list("email", flat=True)
        .distinct()
    )
    valid = []
    for email in emails:
        try:
            validate_email(email)
        except ValidationError:
            logger.warning("late delivery of %s: %r is no e-mail address", registry.slug, email)
            continue
        valid.append(email)
    return valid


# --- the check ---------------------------------------------------------------------------------


@dataclass
class Checked:
    """What one :func:`check_late` saw and did (slugs)."""

    late: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)  # a new late episode, audited
    notified: list[str] = field(default_factory=list)  # the e-mail went
    failed: list[str] = field(default_factory=list)  # the e-mail did not go; tried next time
    unheard: list[str] = field(default_factory=list)  # no coordinator to tell yet; next time
    cleared: list[str] = field(default_factory=list)  # no longer late
    busy: list[str] = field(default_factory=list)  # an import held the registry; next time


def check_late(now: datetime | None = None) -> Checked:
    """Look at every registry once: start (claim, audit, e-mail) a late episode, send the
    e-mail an earlier check could not, end the episode of a registry no longer late. Safe to run
    twice at once: one e-mail per episode."""
    now = now or timezone.now()
    checked = Checked()
    for delivery in deliveries(now):
        if delivery.late:
            checked.late.append(delivery.slug)
            if delivery.late_since is not None and delivery.late_notified_at is not None:
                continue  # told already
        elif delivery.late_since is None and delivery.late_notified_at is None:
            continue
        _settle(delivery.registry_id, now, checked)
    return checked


def _settle(registry_id: int, now: datetime, checked: Checked) -> None:
    """Claim or end the registry's episode under its lock, then, after the commit, send the
    e-mail: a slow mail server never holds an import up, and a failed commit never sends."""
    send = None
    with transaction.atomic():
        # The registry's row is the import lock: while an import holds it, wait for the next
        # check (the import may well end the lateness) rather than for the import.
        registry = Registry.objects.select_for_update(skip_locked=True).filter(pk=registry_id)
        registry = registry.first()
        if registry is None:
            slug = Registry.objects.filter(pk=registry_id).values_list("slug", flat=True)
            checked.busy.extend(slug)
            return
        [delivery] = deliveries(now, registry_ids=[registry_id])  # as it is under the lock
        if not delivery.late:
            if _clear(registry_id):
                checked.cleared.append(registry.slug)
            return
        if delivery.late_since is None:
            claimed = Registry.objects.filter(pk=registry_id, late_since__isnull=True).update(
                late_since=now, late_notified_at=None
            )
            if not claimed:
                return  # another checker has this episode
            checked.started.append(registry.slug)
            audit.record(
                None,
                AuditAction.DELIVERY_LATE,
                target=f"registry:{registry.slug}",
                detail={"via": "check_deliveries", **delivery.as_health()},
            )
            send = (registry, delivery, now)
        elif delivery.late_notified_at is None:
            send = (registry, delivery, delivery.late_since)
    if send is None:
        return
    registry, delivery, episode = send
    sent = _notify(registry, delivery)
    if sent is True:
        # Only this episode's (a new delivery may have ended it meanwhile), and only once.
        Registry.objects.filter(
            pk=registry_id, late_since=episode, late_notified_at__isnull=True
        ).update(late_notified_at=timezone.now())
        checked.notified.append(registry.slug)
    else:
        (checked.failed if sent is False else checked.unheard).append(registry.slug)


def _clear(registry_id: int) -> bool:
    return bool(
        Registry.objects.filter(pk=registry_id)
        .filter(Q(late_since__isnull=False) | Q(late_notified_at__isnull=False))
        .update(late_since=None, late_notified_at=None)
    )


def delivered(registry_id: int) -> bool:
    """Called by the importer when an extract of the registry became current: end a late
    episode at once if the registry is no longer late (not waiting for the next check). True
    when the registry is still late (an old extract made current again)."""
    found = deliveries(registry_ids=[registry_id])
    if not found:
        return False
    if found[0].late:
        return True
    if found[0].late_since is not None or found[0].late_notified_at is not None:
        _clear(registry_id)
    return False


# --- the e-mail --------------------------------------------------------------------------------


def _notify(registry: Registry, delivery: Delivery) -> bool | None:
    """Send the one e-mail of the episode: True when it went; False when the mail server did
    not take it, None when there is no coordinator to tell (the next check tries again)."""
    recipients = coordinators(registry)
    if not recipients:
        logger.debug("late delivery of %s: no coordinator to tell yet", registry.slug)
        return None
    subject, body = message(delivery)
    try:
        EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, recipients).send()
    except Exception as exc:  # SMTP down, refused, timed out: told next time
        logger.warning(
            "late delivery of %s: the e-mail to %d coordinator(s) was not sent (%s: %s); "
            "the next check tries again",
            registry.slug,
            len(recipients),
            type(exc).__name__,
            exc,
        )
        return False
    logger.info("late delivery of %s: %d coordinator(s) told", registry.slug, len(recipients))
    return True


def _days_da(n: int) -> str:
    return "dag" if n == 1 else f"{n}. dag"


def _days_en(n: int) -> str:
    return "day" if n == 1 else f"{n} days"


def message(delivery: Delivery) -> tuple[str, str]:
    """The e-mail's subject and text: Danish first, then English."""
    every = delivery.expected_every_days
    name_da, name_en = delivery.display_name("da"), delivery.display_name("en")
    link = reverse("extract_list")
    if delivery.newest_extract_at is None:
        newest_da = "Der er endnu ikke leveret et færdigt udtræk fra registeret."
        newest_en = "No finished extract has been delivered from the registry yet."
    else:
        when = timezone.localtime(delivery.newest_extract_at).strftime("%d-%m-%Y %H:%M")
        age = number(delivery.age_days, 1)  # Danish notation in both languages, as the pages
        newest_da = f"Det nyeste færdige udtræk er fra {when} og er {age} dage gammelt."
        newest_en = f"The newest finished extract is from {when} and is {age} days old."
    # One line, whatever a registry's name holds (a line break would be refused by the mail).
    subject = " ".join(f"Forsinket levering: {name_da} / Late delivery: {name_en}".split())
    body = (
        f"Data fra {name_da} er forsinket.\n\n"
        f"{newest_da}\n"
        f"Portalen forventer et nyt udtræk mindst hver {_days_da(every)}.\n"
        "Indtil et nyt udtræk er indlæst, viser portalen de ældre tal.\n\n"
        f"Se udtrækkene i portalen under Udtræk ({link}).\n"
        "Du får denne e-mail som kvalitetskoordinator for en afdeling, der har data i "
        "registeret; den sendes én gang, til der igen er leveret.\n"
        "\n-- English --\n\n"
        f"Data from {name_en} is late.\n\n"
        f"{newest_en}\n"
        f"The portal expects a new extract at least every {_days_en(every)}.\n"
        "Until a new extract has been imported, the portal shows the older numbers.\n\n"
        f"See the extracts in the portal under Extracts ({link}).\n"
        "You receive this e-mail as the quality coordinator of a department with data in the "
        "registry; it is sent once, until the registry delivers again.\n"
    )
    return subject, body
