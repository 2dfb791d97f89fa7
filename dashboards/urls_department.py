from django.urls import path

from dashboards.views import api, department, feeds, indicator, patients

urlpatterns = [
    path("departments/", department.department_switch, name="department_switch"),
    path("departments/<str:code>/", department.department_dashboard, name="department_dashboard"),
    path("departments/<str:code>/status/", department.department_status, name="department_status"),
    path(
        "departments/<str:code>/indicators/<slug:slug>/",
        indicator.indicator_detail,
        name="indicator_detail",
    ),
    path(
        "departments/<str:code>/indicators/<slug:slug>/data.csv",
        indicator.indicator_csv,
        name="indicator_csv",
    ),
    path(
        "departments/<str:code>/indicators/<slug:slug>/patients/",
        patients.indicator_patients,
        name="indicator_patients",
    ),
    path("api/v1/results", api.results, name="api_results"),
    # A registry's machine client: delivers extracts and follows their import with a feed
    # token, never a session (dashboards/views/feeds.py, docs/deliveries.md).
    path(
        "api/v1/registries/<slug:registry>/extracts",
        feeds.registry_extracts,
        name="api_registry_extracts",
    ),
    path(
        "api/v1/registries/<slug:registry>/extracts/<int:pk>",
        feeds.registry_extract,
        name="api_registry_extract",
    ),
]
