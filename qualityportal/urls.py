from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from departments import account_views
from qualityportal.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Before allauth's own: a mail server that is down gets a message, not a 500.
    path(
        "accounts/password/reset/",
        account_views.password_reset,
        name="account_reset_password",
    ),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("", include("departments.urls")),
    path("", include("dashboards.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
