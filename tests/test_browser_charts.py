"""Chart pages in a real browser: upload with per-file progress, editor save, storage delete."""

import io
import zipfile

import pytest
from django.test import Client

from charts import sync
from charts.models import Chart
from tests.charts_support import make_song_folder

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def staff_page(live_server, chromium, curator):
    client = Client()
    client.force_login(curator)
    context = chromium.new_context()
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                          "url": live_server.url}])
    page = context.new_page()
    page.errors = []
    page.on("console", lambda msg: msg.type == "error" and page.errors.append(msg.text))
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.base = live_server.url
    yield page
    context.close()


@pytest.fixture
def eager_celery():
    from songhub.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def library(webdav):
    make_song_folder(webdav.files / "Songs" / "Band" / "Fire_aaaa", "Fire", "Band", notes=32)
    sync.run()
    return webdav.files / "Songs"


def song_zip(tmp_path, title, size_pad=0) -> bytes:
    folder = make_song_folder(tmp_path / title, title, "Band", notes=20,
                              audio=b"OggS" + b"\x01" * size_pad)
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_STORED) as archive:
        for f in folder.iterdir():
            archive.write(f, f"{title}/{f.name}")
    return data.getvalue()


def test_upload_shows_progress_per_file_then_results(staff_page, library, eager_celery,
                                                     tmp_path):
    page = staff_page
    page.goto(page.base + "/charts/upload")
    page.evaluate("""() => {  // record every value each file's progress bar is given
      window.seen = [];
      const desc = Object.getOwnPropertyDescriptor(HTMLProgressElement.prototype, "value");
      Object.defineProperty(HTMLProgressElement.prototype, "value", {
        set(v) {
          const item = this.closest("li");
          if (item) window.seen.push([item.querySelector("strong").textContent, v]);
          desc.set.call(this, v);
        },
        get() { return desc.get.call(this); },
      });
    }""")
    page.set_input_files("#file-input", [
        {"name": "water.zip", "mimeType": "application/zip",
         "buffer": song_zip(tmp_path, "Water", size_pad=3 * 2**20)},
        {"name": "junk.zip", "mimeType": "application/zip", "buffer": b"not a zip"},
    ])
    page.wait_for_selector("li.upload-item[data-state=done]")
    page.wait_for_selector("li.upload-item[data-state=failed]")
    done = page.locator("li.upload-item[data-state=done]")
    assert "1 added" in done.locator(".status").inner_text()
    assert done.locator("progress").evaluate("p => p.value") == 100
    assert done.locator("a").inner_text() == "Band – Water"
    failed = page.locator("li.upload-item[data-state=failed] .status").inner_text()
    assert "Not a .zip" in failed
    seen = page.evaluate("window.seen.filter(s => s[0] === 'water.zip').map(s => s[1])")
    assert 100 in seen and len(set(seen)) >= 2  # the bar moved, it did not just jump to done
    assert Chart.objects.filter(title="Water").exists()
    assert [e for e in page.errors if "400" not in e] == []


def test_editor_saves_song_ini_and_shows_errors_inline(staff_page, library):
    page = staff_page
    chart = Chart.objects.get(title="Fire")
    page.goto(f"{page.base}/charts/{chart.pk}/edit")
    page.fill("#f-year", "someday")
    page.click("#save")
    assert page.locator(".field-error[data-field=year]").inner_text() == "A whole number."
    page.fill("#f-year", "2019")
    page.fill("#f-name", "Fire (Live)")
    page.click("#save")
    page.wait_for_url(f"**/charts/{chart.pk}/")
    assert page.locator("#chart-title").inner_text() == "Fire (Live)"
    ini = (library / "Band" / "Fire_aaaa" / "song.ini").read_text()
    assert "name = Fire (Live)" in ini and "year = 2019" in ini and "charter = Someone" in ini
    assert [e for e in page.errors if "400" not in e] == []  # the 400 is the invalid form


def test_storage_browser_deletes_after_confirmation(staff_page, library):
    page = staff_page
    page.goto(page.base + "/charts/browser#Songs%2FBand")
    row = page.locator("tr[data-path='Songs/Band/Fire_aaaa']")
    row.wait_for()
    assert page.locator("#crumbs a").all_inner_texts() == ["root", "Songs", "Band"]
    page.once("dialog", lambda dialog: dialog.dismiss())
    row.locator("button.delete").click()
    assert (library / "Band" / "Fire_aaaa").exists()  # dismissed: nothing happens
    page.once("dialog", lambda dialog: dialog.accept())
    row.locator("button.delete").click()
    page.wait_for_function("document.getElementById('browser-status').textContent.includes('Deleted')")
    row.wait_for(state="detached")
    assert page.locator("#browser-status").inner_text() == "Deleted Songs/Band/Fire_aaaa"
    assert not (library / "Band" / "Fire_aaaa").exists() and Chart.objects.count() == 0
    assert page.errors == []
