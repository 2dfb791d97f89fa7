"""The home page sends each user to what fits their role."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse

from departments import access

OVERVIEW_PATH = "/overview/"


def _overview_url() -> str:
    try:
        return reverse("overview")
    except NoReverseMatch:  # the overview's URL module names it; the path is agreed
        return OVERVIEW_PATH


@login_required
def home(request):
    """Clinicians and coordinators: their (first) department; leadership: the overview;
    administrators: the audit log; anyone else: a page saying they have no role yet."""
    user = request.user
    own = access.departments_for(user, "patients").order_by("name", "code").first()
    if own is not None:
        return redirect("department_dashboard", code=own.code)
    if access.sees_overview(user):
        return redirect(_overview_url())
    if access.is_admin(user):
        return redirect("audit_list")
    return render(request, "dashboards/home.html")
