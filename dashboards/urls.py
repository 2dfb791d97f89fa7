from django.urls import path

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
]
