"""Account pages the portal changes from allauth's: password reset when mail is down."""

from __future__ import annotations

from allauth.account import views as allauth_views
from django.utils.translation import gettext_lazy as _

from departments.adapters import MailNotSent

MAIL_DOWN = _(
    "E-mailen kunne ikke sendes lige nu, fordi portalens mailserver ikke svarer. "
    "Prøv igen om lidt, eller kontakt portalens administrator."
)


class PasswordResetView(allauth_views.PasswordResetView):
    """allauth's password reset, which tells the user when the e-mail cannot go (not a 500)."""

    def form_valid(self, form):
        try:
            return super().form_valid(form)
        except MailNotSent:
            # The same answer for an address with or without an account: no enumeration.
            form.add_error(None, MAIL_DOWN)
            return self.render_to_response(self.get_context_data(form=form), status=503)


password_reset = PasswordResetView.as_view()
