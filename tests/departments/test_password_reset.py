"""Password reset when the mail server is down: a clear answer in both languages, not a 500."""

from __future__ import annotations

import logging
import socket
from urllib.parse import urlencode

import pytest

from tests.departments.people import person

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def mail_server_down(settings):
    """The real SMTP backend, aimed at a port that is bound (so nobody else takes it) but never
    listens: every connection is refused, as when the mail server is down."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = closed.getsockname()
        yield


def ask_for_a_reset(client, email: str, language: str = "da"):
    return client.post(
        "/accounts/password/reset/",
        urlencode({"email": email}),  # as a browser sends the form
        content_type="application/x-www-form-urlencoded",
        HTTP_ACCEPT_LANGUAGE=language,
    )


def test_with_the_mail_server_down_the_page_says_so_and_logs_no_address(
    client, mail_server_down, caplog
):
    person("karen@example.dk")
    with caplog.at_level(logging.ERROR):
        response = ask_for_a_reset(client, "karen@example.dk")
    assert response.status_code == 503
    assert "E-mailen kunne ikke sendes lige nu" in response.content.decode()
    assert "e-mail account/email/password_reset_key not sent: ConnectionRefusedError" in (
        caplog.text
    )
    assert "karen@example.dk" not in caplog.text


def test_the_message_is_in_english_for_an_english_reader(client, mail_server_down):
    person("karen@example.dk")
    response = ask_for_a_reset(client, "karen@example.dk", language="en")
    assert response.status_code == 503
    assert "The e-mail could not be sent just now" in response.content.decode()


def test_an_address_without_an_account_gets_the_same_answer(client, mail_server_down, caplog):
    person("karen@example.dk")
    known = ask_for_a_reset(client, "karen@example.dk")
    with caplog.at_level(logging.ERROR):
        unknown = ask_for_a_reset(client, "nobody@example.dk")
    assert unknown.status_code == known.status_code == 503
    assert "E-mailen kunne ikke sendes lige nu" in unknown.content.decode()
    assert "nobody@example.dk" not in caplog.text


def test_with_the_mail_server_up_the_reset_mail_goes_out(client, mailoutbox):
    person("karen@example.dk")
    response = ask_for_a_reset(client, "karen@example.dk")
    assert response.status_code == 302
    assert [m.to for m in mailoutbox] == [["karen@example.dk"]]
