"""The analytics dashboard in a real browser: charts draw, follow the theme, the settings menu
works with its confirmations, zero console errors."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from listening.models import ListeningEvent, Listener, Track

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def dashboard_page(live_server, chromium, django_user_model):
    user = django_user_model.objects.create_user("frank", password="pw-frank-12345")
    listener = Listener.objects.create(spotify_id="frank", user=user, display_name="Frank")
    track = Track.objects.create(id="t" * 22, name="Song", duration_ms=200_000)
    for n in range(40):
        ListeningEvent.objects.create(listener=listener, track=track,
                                      played_at=timezone.now() - timedelta(hours=n * 7))
    client = Client()
    client.force_login(user)
    context = chromium.new_context()
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                          "url": live_server.url}])
    page = context.new_page()
    page.errors = []
    page.on("console", lambda msg: msg.type == "error" and page.errors.append(msg.text))
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.emulate_media(color_scheme="light")
    page.goto(live_server.url + "/analytics/")
    page.wait_for_function("window.songhubCharts && Object.keys(window.songhubCharts).length === 3")
    yield page, listener
    context.close()


def test_charts_render_and_follow_the_theme(dashboard_page):
    page, _ = dashboard_page
    painted = page.evaluate("""() => {
        const canvas = document.getElementById('chart-days');
        const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let ink = 0; for (let i = 3; i < pixels.length; i += 4) if (pixels[i]) ink++;
        return ink;
    }""")
    assert painted > 500, "the plays-per-day chart drew nothing"
    color = "() => window.songhubCharts['chart-days'].options.scales.x.ticks.color"
    light = page.evaluate(color)
    page.click("#theme-toggle")  # auto -> light
    page.click("#theme-toggle")  # light -> dark
    page.wait_for_function(f"({color})() !== '{light}'")
    assert page.evaluate(color) == "#9aa2ae"  # dark theme's --muted
    assert page.locator("#recent tbody tr").count() == 25
    assert page.evaluate("getComputedStyle(document.getElementById('status-dot')).backgroundColor") \
        == "rgb(29, 185, 84)"
    assert page.errors == []


def test_settings_menu_closes_outside_and_actions_confirm(dashboard_page):
    page, listener = dashboard_page
    page.click("#settings-button")
    assert page.locator("#settings-menu").is_visible()
    page.click("h1")
    assert not page.locator("#settings-menu").is_visible()  # outside click closes it

    page.click("#settings-button")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("#stop-service")
    assert Listener.objects.get(pk=listener.pk).enabled  # dismissed: nothing happened

    page.once("dialog", lambda dialog: dialog.accept())  # the menu is still open
    page.click("#stop-service")
    page.wait_for_function("document.getElementById('status-label').textContent.includes('not running')")
    assert not Listener.objects.get(pk=listener.pk).enabled

    page.click("#settings-button")
    page.click("#start-service")
    page.wait_for_function("document.getElementById('status-label').textContent.startsWith('running')")

    page.click("#settings-button")
    page.once("dialog", lambda dialog: dialog.accept("not-my-name"))
    page.click("#delete-user")
    page.wait_for_selector("text=Nothing was deleted")
    assert Listener.objects.filter(pk=listener.pk).exists()  # a wrong confirmation: kept

    page.click("#settings-button")
    page.once("dialog", lambda dialog: dialog.accept("frank"))
    page.click("#delete-user")
    page.wait_for_url("**/")
    assert not Listener.objects.filter(pk=listener.pk).exists()
    assert not listener.user.__class__.objects.filter(username="frank").exists()
    assert page.errors == []


def test_the_import_panel_analyzes_an_upload(dashboard_page, tmp_path):
    import json
    import zipfile

    page, _ = dashboard_page
    path = tmp_path / "my_spotify_data.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("Streaming_History_Audio_2024.json", json.dumps([
            {"ts": "2024-03-01T10:00:00Z", "ms_played": 200000,
             "master_metadata_track_name": "New", "spotify_track_uri": "spotify:track:" + "n" * 22}]))
    page.click("#import-run", force=True, trial=True)  # exists, disabled until analyzed
    assert page.locator("#import-run").is_disabled()
    page.set_input_files("#import-file", str(path))
    page.click("#import-analyze")
    from listening.history_import import run_job
    from listening.models import ImportJob

    for _ in range(100):  # the worker's part, run here once the upload is queued
        job = ImportJob.objects.filter(kind="analyze").first()
        if job:
            break
        page.wait_for_timeout(100)
    run_job(job.pk)
    page.wait_for_function("document.getElementById('import-message').textContent.includes('1 plays')")
    assert json.loads(page.locator("#import-stats").inner_text())["to_import"] == 1
    assert page.locator("#import-run").is_enabled()
    assert page.errors == []


def test_blank_charts_say_there_are_no_plays_in_the_range(live_server, chromium,
                                                          django_user_model):
    user = django_user_model.objects.create_user("gina", password="pw-gina-12345")
    listener = Listener.objects.create(spotify_id="gina", user=user, display_name="Gina",
                                       last_error="Spotify refused the refresh token for gina")
    track = Track.objects.create(id="g" * 22, name="Old song", duration_ms=200_000)
    ListeningEvent.objects.create(listener=listener, track=track,
                                  played_at=timezone.now() - timedelta(days=200))
    client = Client()
    client.force_login(user)
    context = chromium.new_context()
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                          "url": live_server.url}])
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_server.url + "/analytics/")
    note = page.locator('.empty[data-for="chart-artists"]')
    note.wait_for(state="visible")
    assert "No plays in this range" in note.inner_text() and "import" in note.inner_text()
    # three independent requests fill the charts: wait for each one's answer
    page.locator('.empty[data-for="heatmap"]').wait_for(state="visible")
    page.locator('.empty[data-for="chart-days"]').wait_for(state="visible")
    assert not page.locator("#chart-days").is_visible()
    page.select_option("#range", "365")  # widening the range finds the old play
    page.wait_for_function("document.getElementById('chart-days').offsetHeight > 0")
    page.locator('.empty[data-for="chart-tracks"]').wait_for(state="hidden")
    assert note.is_visible()  # the old song has no artist: still truthfully empty
    label = page.locator("#status-label")
    assert label.inner_text().startswith("error")  # polls fail: not a green "running"
    assert "refused the refresh token" in page.locator("#status-error").inner_text()
    assert page.evaluate("getComputedStyle(document.getElementById('status-label'))"
                         ".backgroundColor") == "rgb(225, 0, 0)"
    assert errors == []
    context.close()
