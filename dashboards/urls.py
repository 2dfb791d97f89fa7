from django.urls import include, path

from dashboards.views import extracts, home

urlpatterns = [
    path("", home.home, name="home"),
    path("extracts/", extracts.extract_list, name="extract_list"),
    path("extracts/upload/", extracts.extract_upload, name="extract_upload"),
    path("extracts/<int:pk>/", extracts.extract_detail, name="extract_detail"),
    path("extracts/<int:pk>/status/", extracts.extract_status, name="extract_status"),
    path("extracts/<int:pk>/refused.csv", extracts.extract_refused_csv, name="extract_refused_csv"),
    path(
        "extracts/<int:pk>/make-current/",
        extracts.extract_make_current,
        name="extract_make_current",
    ),
    # The department's own pages and the API (dashboards/urls_department.py) and the
    # coordinator's settings and the leadership overview (dashboards/urls_overview.py).
    path("", include("dashboards.urls_department")),
    path("", include("dashboards.urls_overview")),
]
