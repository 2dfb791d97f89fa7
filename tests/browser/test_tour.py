"""A first day in the portal, in Chromium: every page a new user meets, in Danish and English,
on a desktop (1280 px) and a tablet (820 px). Each page fits its width (nothing scrolls the
page sideways), logs no script error, and is kept as a screenshot in var/screenshots/tour-*.

The world is built once for the whole tour (a live-server test empties the tables after it).
"""

from __future__ import annotations

import pytest

from departments.models import Department, Role
from departments.services import grant_role
from indicators.models import IndicatorDefinition
from indicators.services import settings_actions
from indicators.services.definitions import set_target
from tests.browser.conftest import log_in, screenshot
from tests.dashboards.test_overview import build_world
from tests.departments.people import PASSWORD, A, person

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = (1280, 820)
LANGUAGES = {"da": "da-DK", "en": "en-GB"}


def pages(own_slug: str) -> dict[str, str]:
    department = f"/departments/{A}"
    return {
        "dashboard": f"{department}/",
        "indicator": f"{department}/indicators/major_complication/",
        "patients": f"{department}/indicators/major_complication/patients/?period=2024-01..2024-12",
        "settings": f"{department}/settings/",
        "own-indicator": f"{department}/settings/own/{own_slug}/",
        "overview": "/overview/",
        "extracts": "/extracts/",
        "password": "/accounts/password/change/",
        "not-found": "/departments/9999999/",
        "forbidden": "/audit/",
    }


@pytest.fixture
def everyone(tmp_path, eager_tasks):
    """Køge's clinician and coordinator who also leads the whole country (one login)."""
    build_world(tmp_path)
    koege = Department.objects.get(code=A)
    user = person("alle@example.dk", Role.CLINICIAN, koege)
    grant_role(user, Role.COORDINATOR, department=koege)
    grant_role(user, Role.LEADERSHIP)
    own = settings_actions.add_own_indicator(
        koege,
        user=user,
        name_da="Større komplikation, ASA 3+",
        name_en="Major complication, ASA 3+",
        population={"all": [{"field": "asa", "op": "ge", "value": 3}]},
        missing={"any": [{"field": "clavien_dindo", "op": "blank"}]},
        event={"all": [{"field": "clavien_dindo", "op": "in", "value": ["IIIb", "IVa", "V"]}]},
    )
    # Køge's own target for major complications: the tile judges the process against it.
    major = IndicatorDefinition.objects.get(slug="major_complication")
    set_target(koege, major, 0.15)
    return user, own


def test_every_page_of_the_first_day_fits_and_speaks_both_languages(
    chromium, live_server, settings, everyone
):
    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    user, own = everyone
    for lang, locale in LANGUAGES.items():
        for width in WIDTHS:
            context = chromium.new_context(viewport={"width": width, "height": 900}, locale=locale)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
            page.on(
                "console",
                lambda msg, errors=errors: errors.append(msg.text) if msg.type == "error" else None,
            )
            page.base = live_server.url
            log_in(page, user.email, PASSWORD)
            for name, path in pages(own.slug).items():
                page.goto(page.base + path)
                page.wait_for_load_state("networkidle")
                assert page.evaluate("document.documentElement.lang") == lang, (name, lang)
                scroll = page.evaluate("document.documentElement.scrollWidth")
                assert scroll <= width, f"{name} scrolls sideways at {width} px ({lang})"
                screenshot(page, f"tour-{name}-{lang}-{width}")
            # A denied request is an expected 403 in the console; nothing else may be.
            assert [e for e in errors if "403" not in e and "404" not in e] == [], (lang, width)
            context.close()


def test_the_tiles_icons_say_in_words_what_they_mean(page, everyone):
    user, _own = everyone
    log_in(page, user.email, PASSWORD)
    page.goto(f"{page.base}/departments/{A}/")
    icons = page.locator(".tile .mdc")
    assert icons.count() >= 11  # a variation icon on every tile, assurance where a target is
    for i in range(icons.count()):
        title = icons.nth(i).get_attribute("title")
        assert ": " in title and len(title) > 20  # the class and the rule, in words
    words = page.locator(".tile .mdc-words li")
    assert words.count() >= icons.count()
    texts = " ".join(words.all_inner_texts())
    assert "Almindelig variation" in texts or "Forbedring" in texts or "Bekymring" in texts
    # A target: an assurance verdict beside the variation, in words.
    major = page.locator("article.tile", has=page.locator("#tile-major_complication"))
    assert major.locator("[data-mdc=pass], [data-mdc=fail], [data-mdc=inconsistent]").count() == 1
    assert "Mål: højst 15,0 %" in major.inner_text()
    assert major.locator(".mdc-words li").count() == 2
    leak = page.locator("article.tile", has=page.locator("#tile-anastomotic_leak_rectum"))
    assert "Mål (landsstandard): højst 10,0 %" in leak.inner_text()  # DCCG's, by default
    assert "Seneste 12 måneder" in page.locator(".tile-period").first.inner_text()
    screenshot(page, "tile-icons")
    assert page.console_errors == []


def test_error_pages_are_in_the_portals_frame_with_a_way_back(page, everyone):
    user, _own = everyone
    page.goto(f"{page.base}/departments/{A}/")  # anonymous: to the login page, not an error
    assert "/accounts/login/" in page.url
    log_in(page, user.email, PASSWORD)
    response = page.goto(f"{page.base}/departments/9999999/")
    assert response.status == 404
    assert page.locator("header.topbar").count() == 1
    assert page.locator("main h1").inner_text() == "Siden findes ikke"
    page.click("text=Til forsiden")
    page.wait_for_load_state("networkidle")
    assert page.url.rstrip("/").endswith(f"/departments/{A}")
    response = page.goto(f"{page.base}/audit/")
    assert response.status == 403 and page.locator("header.topbar").count() == 1
    assert page.locator("a.btn", has_text="Til forsiden").count() == 1
    screenshot(page, "error-403")


def test_the_account_menu_leads_to_password_e_mail_and_two_factor(page, everyone):
    user, _own = everyone
    log_in(page, user.email, PASSWORD)
    for link, heading in (
        ("Adgangskode", "Skift adgangskode"),
        ("E-mail", "E-mail"),
        ("Tofaktorgodkendelse", "Tofaktorgodkendelse"),
    ):
        page.click("details.accountmenu summary")
        page.click(f"details.accountmenu a:text-is('{link}')")
        page.wait_for_load_state("networkidle")
        assert heading.lower() in page.locator("main").inner_text().lower(), link
    screenshot(page, "account-two-factor")
    assert page.console_errors == []
