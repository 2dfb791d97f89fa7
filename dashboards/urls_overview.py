from django.urls import path

from dashboards.views import overview, settings, settings_own, settings_preview

urlpatterns = [
    # A coordinator's settings for one department (GET the page; POST one of its forms, named
    # by the "action" field), the rule builder's live preview, and the recompute's state.
    path("departments/<str:code>/settings/", settings.settings_page, name="department_settings"),
    path(
        "departments/<str:code>/settings/own/<slug:slug>/",
        settings_own.own_indicator_page,
        name="own_indicator",
    ),
    path(
        "departments/<str:code>/settings/preview/",
        settings_preview.settings_preview,
        name="department_settings_preview",
    ),
    path(
        "departments/<str:code>/settings/computation/",
        settings.settings_computation,
        name="department_settings_computation",
    ),
    # Leadership's overview across the departments in their scope.
    path("overview/", overview.overview, name="overview"),
    # Cancer pathway times (kræftpakke) for the same scope.
    path("overview/pathways/", overview.pathways, name="overview_pathways"),
]
