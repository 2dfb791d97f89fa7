"""``python manage.py add_feed_token --registry SLUG --name NAME`` / ``--revoke NAME``.

Makes a feed token (leveringsnøgle) with which a registry's machine client delivers extracts
(``POST /api/v1/registries/<slug>/extracts``, docs/deliveries.md), and prints it once: the last
word of the last line of output. Only its sha256 is kept. ``--revoke NAME`` revokes one. Both are
audited (indicators.services.feed_tokens); an unknown registry, a name already used or an
unknown token to revoke exits 1 with Danish / English on stderr and nothing changed.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from indicators.registry import catalog
from indicators.services import feed_tokens


class Command(BaseCommand):
    help = (
        "Opret eller tilbagekald en leveringsnøgle til et registers maskinklient. "
        "/ Make or revoke a feed token for a registry's machine client."
    )

    def add_arguments(self, parser):
        parser.add_argument("--registry", help="the installed registry's slug, e.g. dccg")
        parser.add_argument("--name", help="a name for the token, unique, e.g. rkkp-dccg-2026")
        parser.add_argument("--revoke", metavar="NAME", help="revoke the token of this name")

    def handle(self, *args, registry: str | None, name: str | None, revoke: str | None, **opts):
        if revoke is not None:
            if name and name != revoke:
                raise CommandError(
                    "--revoke tager ingen anden --name. / --revoke takes no other --name."
                )
            try:
                feed_tokens.check_registry(revoke, registry)
                token = feed_tokens.revoke(revoke)
            except feed_tokens.FeedTokenError as refused:
                raise CommandError(str(refused)) from None
            self.stdout.write(
                f"Leveringsnøglen {token.name!r} ({token.registry.slug}) er tilbagekaldt. "
                f"/ The feed token {token.name!r} ({token.registry.slug}) is revoked."
            )
            return
        if not registry or not name:
            raise CommandError(
                "Angiv --registry og --name (eller --revoke NAVN). "
                "/ Give --registry and --name (or --revoke NAME)."
            )
        try:
            token, raw = feed_tokens.create_token(registry, name)
        except catalog.UnknownRegistry as unknown:
            raise CommandError(f"{unknown.da} / {unknown.en}") from None
        except feed_tokens.FeedTokenError as refused:
            raise CommandError(str(refused)) from None
        self.stdout.write(
            f"Leveringsnøgle {token.name!r} til {token.registry.slug} er oprettet. Den vises kun "
            "denne ene gang: gem den nu. / Feed token "
            f"{token.name!r} for {token.registry.slug} made. It is shown only this once: keep "
            "it now."
        )
        self.stdout.write(f"Nøgle / token: {raw}")
