"""Feed tokens (leveringsnøgler): the one door for making, revoking and checking them.

A registry's (or a region's) machine client delivers extracts with a bearer token
(``POST /api/v1/registries/<slug>/extracts``, dashboards/views/feeds.py). A token is made here,
printed once by ``manage.py add_feed_token`` and never kept: the database holds its sha256 only,
so a token is checked by hashing what the client sends and looking the digest up. A revoked
token is kept (its uses stay in the audit log) but opens nothing. Making, revoking and every use
are audited (``feed_token_changed``, ``feed_token_used``); the token itself is never written
anywhere but the command's output.
"""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from departments import audit
from departments.models import AuditAction, AuditEvent
from indicators.models import FeedToken, Registry
from indicators.registry import catalog

PREFIX = "kpf_"
# A header value longer than this is no token of ours: it is not even hashed.
MAX_TOKEN_LENGTH = 200


class FeedTokenError(Exception):
    """A token cannot be made or revoked; ``da`` and ``en`` say why."""

    def __init__(self, da: str, en: str) -> None:
        self.da, self.en = da, en
        super().__init__(en)

    def __str__(self) -> str:
        return f"{self.da} / {self.en}"


def digest_of(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def create_token(registry_slug: str, name: str, user=None) -> tuple[FeedToken, str]:
    """Make a token that may deliver extracts of ``registry_slug``: the stored row and the
    token itself, which is shown once and kept nowhere. Raises ``catalog.UnknownRegistry`` for
    a registry that is not installed, ``FeedTokenError`` for a name already used."""
    catalog.spec(registry_slug)
    name = name.strip()
    if not name or len(name) > FeedToken._meta.get_field("name").max_length:
        raise FeedTokenError(
            "Navnet skal være 1-100 tegn.", "The name must be 1-100 characters long."
        )
    registry = Registry.objects.get(slug=registry_slug)
    raw = new_token()
    with transaction.atomic():
        if FeedToken.objects.select_for_update().filter(name=name).exists():
            raise FeedTokenError(
                f"Der findes allerede en leveringsnøgle med navnet {name!r}; intet er ændret.",
                f"A feed token named {name!r} already exists; nothing changed.",
            )
        token = FeedToken.objects.create(
            registry=registry, name=name, digest=digest_of(raw), created_by=user
        )
        audit.record(
            None,
            AuditAction.FEED_TOKEN_CHANGED,
            user=user,
            target=f"feed_token:{token.pk}",
            detail={"change": "created", "name": name, "registry": registry.slug},
        )
    return token, raw


def revoke(name: str, user=None) -> FeedToken:
    """Revoke the token named ``name`` (from now on it opens nothing); ``FeedTokenError`` if
    there is none. Revoking a revoked token changes nothing and writes nothing."""
    with transaction.atomic():
        token = (
            FeedToken.objects.select_for_update()
            .select_related("registry")
            .filter(name=name.strip())
            .first()
        )
        if token is None:
            raise FeedTokenError(
                f"Der findes ingen leveringsnøgle med navnet {name!r}.",
                f"There is no feed token named {name!r}.",
            )
        if token.revoked_at is not None:
            return token
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(
            None,
            AuditAction.FEED_TOKEN_CHANGED,
            user=user,
            target=f"feed_token:{token.pk}",
            detail={"change": "revoked", "name": token.name, "registry": token.registry.slug},
        )
    return token


def check_registry(name: str, registry_slug: str | None) -> None:
    """With ``--registry`` given too, the token named ``name`` must be that registry's."""
    if not registry_slug:
        return
    token = FeedToken.objects.select_related("registry").filter(name=name.strip()).first()
    if token is not None and token.registry.slug != registry_slug:
        raise FeedTokenError(
            f"Leveringsnøglen {name!r} hører til {token.registry.slug}, ikke {registry_slug}; "
            "intet er ændret.",
            f"The feed token {name!r} belongs to {token.registry.slug}, not {registry_slug}; "
            "nothing changed.",
        )


def authenticate(raw: str | None) -> FeedToken | None:
    """The active token whose sha256 is that of ``raw``; None for anything else (no token,
    an unknown one, a revoked one)."""
    if not raw or len(raw) > MAX_TOKEN_LENGTH:
        return None
    return (
        FeedToken.objects.select_related("registry")
        .filter(digest=digest_of(raw), revoked_at__isnull=True)
        .first()
    )


def from_authorization(header: str | None) -> FeedToken | None:
    """The active token an ``Authorization: Bearer <token>`` header carries, or None."""
    scheme, _, raw = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return authenticate(raw.strip())


def record_use(token: FeedToken, request, what: str, *, extract=None, **detail) -> None:
    """Audit one use of ``token`` (``what``: upload, status, ...) and note when it was last used.
    Never pass row values, file contents or the token itself in ``detail``."""
    now = timezone.now()
    FeedToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
    audit.record(
        request,
        AuditAction.FEED_TOKEN_USED,
        target=f"feed_token:{token.pk}",
        detail={
            "name": token.name,
            "registry": token.registry.slug,
            "what": what,
            "extract": extract.pk if extract is not None else None,
            **detail,
        },
    )


def still_active(token: FeedToken) -> bool:
    """Not revoked since it was checked (a long upload may outlast it)."""
    return FeedToken.objects.filter(pk=token.pk, revoked_at__isnull=True).exists()


def delivered_by(token: FeedToken, extract) -> bool:
    """Whether the token delivered the extract, or was answered with it (a repeat of an earlier
    delivery): only then may it follow the extract's import. Another client's deliveries and
    the coordinators' uploads are none of its business."""
    if extract.feed_token_id == token.pk:
        return True
    return AuditEvent.objects.filter(
        action=AuditAction.FEED_TOKEN_USED,
        target=f"feed_token:{token.pk}",
        detail__what="upload",
        detail__extract=extract.pk,
    ).exists()
