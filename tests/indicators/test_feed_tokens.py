"""Feed tokens: ``manage.py add_feed_token`` makes one (printed once, kept as its sha256 only)
and revokes one; both audited, refusals change nothing (indicators.services.feed_tokens)."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError

from departments.models import AuditEvent
from indicators.models import FeedToken
from indicators.services import feed_tokens

pytestmark = pytest.mark.django_db


def add_feed_token(*args: str) -> str:
    out = io.StringIO()
    call_command("add_feed_token", *args, stdout=out)
    return out.getvalue()


def token_of(output: str) -> str:
    """The contract: the token is the last word of the last line of output."""
    return output.strip().splitlines()[-1].split()[-1]


def test_the_command_prints_the_token_once_as_the_last_word_and_keeps_only_its_sha256():
    output = add_feed_token("--registry", "dccg", "--name", "rkkp-dccg")
    raw = token_of(output)
    assert raw.startswith("kpf_") and len(raw) > 40
    assert output.count(raw) == 1
    token = FeedToken.objects.get()
    assert (token.name, token.registry.slug) == ("rkkp-dccg", "dccg")
    assert token.digest == hashlib.sha256(raw.encode()).hexdigest()
    assert token.is_active and token.last_used_at is None
    assert feed_tokens.authenticate(raw) == token
    # The token itself is nowhere in the database: not in the token's row, not in the audit.
    rows = [*FeedToken.objects.values_list(), *AuditEvent.objects.values_list()]
    assert raw not in json.dumps(rows, default=str)
    event = AuditEvent.objects.get(action="feed_token_changed")
    assert event.target == f"feed_token:{token.pk}" and event.user is None
    assert event.detail == {"change": "created", "name": "rkkp-dccg", "registry": "dccg"}


def test_two_tokens_are_different():
    first = token_of(add_feed_token("--registry", "dccg", "--name", "a"))
    second = token_of(add_feed_token("--registry", "kraeftpakke", "--name", "b"))
    assert first != second
    assert feed_tokens.authenticate(second).registry.slug == "kraeftpakke"


def test_an_unknown_registry_is_refused_in_danish_and_english_and_nothing_changes():
    with pytest.raises(CommandError) as refused:
        add_feed_token("--registry", "hoftebrud", "--name", "x")
    assert "ikke installeret" in str(refused.value) and "not installed" in str(refused.value)
    assert not FeedToken.objects.exists()
    assert not AuditEvent.objects.filter(action="feed_token_changed").exists()


def test_a_name_already_used_is_refused_and_nothing_changes():
    raw = token_of(add_feed_token("--registry", "dccg", "--name", "rkkp"))
    with pytest.raises(CommandError) as refused:
        add_feed_token("--registry", "kraeftpakke", "--name", "rkkp")
    assert "allerede" in str(refused.value) and "already exists" in str(refused.value)
    assert FeedToken.objects.get().registry.slug == "dccg"
    assert feed_tokens.authenticate(raw) is not None
    assert AuditEvent.objects.filter(action="feed_token_changed").count() == 1


def test_registry_and_name_are_needed():
    with pytest.raises(CommandError, match="--registry"):
        add_feed_token("--name", "x")


def test_revoke_closes_the_token_for_good_and_is_audited():
    raw = token_of(add_feed_token("--registry", "dccg", "--name", "rkkp"))
    output = add_feed_token("--revoke", "rkkp")
    assert "tilbagekaldt" in output and "revoked" in output
    token = FeedToken.objects.get()
    assert token.revoked_at is not None and not token.is_active
    assert feed_tokens.authenticate(raw) is None
    changes = AuditEvent.objects.filter(action="feed_token_changed").order_by("pk")
    assert [e.detail["change"] for e in changes] == ["created", "revoked"]
    assert changes[1].target == f"feed_token:{token.pk}"
    # Again: still revoked, nothing more written.
    add_feed_token("--revoke", "rkkp")
    assert AuditEvent.objects.filter(action="feed_token_changed").count() == 2


def test_revoking_an_unknown_name_is_an_error():
    with pytest.raises(CommandError) as refused:
        add_feed_token("--revoke", "nobody")
    assert "ingen leveringsnøgle" in str(refused.value) and "no feed token" in str(refused.value)
    assert not AuditEvent.objects.filter(action="feed_token_changed").exists()


def test_revoke_may_name_the_registry_but_only_the_tokens_own():
    add_feed_token("--registry", "dccg", "--name", "rkkp")
    with pytest.raises(CommandError) as refused:
        add_feed_token("--revoke", "rkkp", "--registry", "kraeftpakke")
    assert "hører til dccg" in str(refused.value) and "belongs to dccg" in str(refused.value)
    assert FeedToken.objects.get(name="rkkp").is_active
    assert "revoked" in add_feed_token("--revoke", "rkkp", "--registry", "dccg")
    assert not FeedToken.objects.get(name="rkkp").is_active


def test_the_command_exits_1_for_an_unknown_name(capsys):
    with pytest.raises(SystemExit) as exit_:
        execute_from_command_line(["manage.py", "add_feed_token", "--revoke", "nobody"])
    assert exit_.value.code == 1
    assert "no feed token" in capsys.readouterr().err


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer ", "Basic dXNlcjpwdw==", "Bearer kpf_nope", "Bearer " + "x" * 5000],
)
def test_anything_but_an_active_token_authenticates_as_nobody(header):
    feed_tokens.create_token("dccg", "rkkp")
    assert feed_tokens.from_authorization(header) is None


def test_the_scheme_is_read_whatever_its_case():
    token, raw = feed_tokens.create_token("dccg", "rkkp")
    assert feed_tokens.from_authorization(f"bearer {raw}") == token
    assert feed_tokens.from_authorization(f"Bearer  {raw} ") == token


def test_the_admin_lists_tokens_read_only_and_revokes_them_but_never_shows_or_makes_one(client):
    from tests.departments.people import person

    token, raw = feed_tokens.create_token("dccg", "rkkp")
    admin = person("admin@example.dk", is_staff=True, is_superuser=True)
    client.force_login(admin)
    listing = client.get("/admin/indicators/feedtoken/")
    assert listing.status_code == 200 and "rkkp" in listing.content.decode()
    page = client.get(f"/admin/indicators/feedtoken/{token.pk}/change/")
    assert page.status_code == 200
    assert raw not in page.content.decode() and raw not in listing.content.decode()
    assert client.get("/admin/indicators/feedtoken/add/").status_code == 403
    assert client.post(f"/admin/indicators/feedtoken/{token.pk}/delete/").status_code == 403
    client.post(
        "/admin/indicators/feedtoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    token.refresh_from_db()
    assert token.revoked_at is not None and feed_tokens.authenticate(raw) is None
    revoked = AuditEvent.objects.get(action="feed_token_changed", detail__change="revoked")
    assert revoked.user == admin
