"""Feed tokens: how a registry's (or a region's) machine client delivers extracts by itself."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from indicators.models.extracts import Registry


class FeedToken(models.Model):
    """A bearer token that may deliver extracts of one registry, and read their import state.

    Only the token's sha256 is kept: the token itself is printed once, when it is made. A
    revoked token is kept (its uses stay in the audit log) but opens nothing.
    """

    registry = models.ForeignKey(Registry, on_delete=models.PROTECT, related_name="feed_tokens")
    name = models.CharField(_("navn"), max_length=100, unique=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("oprettet"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(_("tilbagekaldt"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("sidst brugt"), null=True, blank=True)

    class Meta:
        ordering = ["registry", "name"]
        verbose_name = _("leveringsnøgle")
        verbose_name_plural = _("leveringsnøgler")

    def __str__(self) -> str:
        return f"{self.registry.slug}: {self.name}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
