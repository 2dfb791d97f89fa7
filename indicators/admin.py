from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from indicators.models import FeedToken
from indicators.services import feed_tokens


@admin.register(FeedToken)
class FeedTokenAdmin(admin.ModelAdmin):
    """Feed tokens, read and revoked here; made only by ``manage.py add_feed_token``, which
    prints the token once. The database holds its sha256, so nothing here can show a token."""

    list_display = ["name", "registry", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["registry", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name"]
    fields = [
        "name",
        "registry",
        "digest",
        "created_at",
        "created_by",
        "last_used_at",
        "revoked_at",
    ]
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # A token's uses stay in the audit log by its id: revoke it, never delete it.
        return False

    @admin.action(description=_("Tilbagekald valgte leveringsnøgler / Revoke selected tokens"))
    def revoke(self, request, queryset):
        revoked = 0
        for token in queryset.filter(revoked_at__isnull=True):
            feed_tokens.revoke(token.name, user=request.user)
            revoked += 1
        self.message_user(
            request,
            ngettext(
                "%(count)d leveringsnøgle tilbagekaldt.",
                "%(count)d leveringsnøgler tilbagekaldt.",
                revoked,
            )
            % {"count": revoked},
            messages.SUCCESS,
        )
