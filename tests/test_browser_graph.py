"""The graph page in headless chromium over a real daphne: drawing, click vs drag, multi-select,
every key, the live update, teardown, and the frontend layer of the artist rule."""

import pytest

from graph import etl
from graph.models import Artist, Track, TrackArtist, Transition
from graph.parsers import parse
from tests.helpers import Daphne, subprocess_env

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.postgres,
              pytest.mark.django_db(transaction=True)]


def imp(text, external_id):
    etl.import_setlist(parse(text, "text"), source="file", payload=text, fmt="text",
                       external_id=external_id)


@pytest.fixture(scope="module")
def daphne(django_db_setup, tmp_path_factory):
    """One daphne for the module (a start costs ~3 s): it reads each test's rows live."""
    folder = tmp_path_factory.mktemp("graph-daphne")
    server = Daphne(subprocess_env(folder), folder / "daphne.log").wait_ready()
    yield server
    server.stop()


@pytest.fixture
def server(daphne):
    imp("DJ: One\nA - Alpha\nB - Beta\nC - Gamma\nD - Delta\n", "1")
    imp("DJ: Two\nA - Alpha\nB - Beta\nE - Epsilon\n", "2")
    return daphne


def smuggle_invalid_node():
    """An "Unknown Artist" node and its edges written straight into gold, past the ETL."""
    bad = Track.objects.create(title="Mystery", artist_key="unknown artist", title_key="mystery")
    TrackArtist.objects.create(track=bad, role="primary", artist=Artist.objects.create(
        name="Unknown Artist", name_key="unknown artist"))
    alpha = Track.objects.get(title="Alpha")
    Transition.objects.create(from_track=alpha, to_track=bad, occurrences=50, setlists=50, djs=50,
                              first_seen="2020-01-01", last_seen="2020-01-01")
    return bad.pk


def open_graph(page, server):
    page.goto(f"{server.url}/graph/")
    page.wait_for_function("window.songhubGraph && document.getElementById('graph-app')"
                           ".dataset.loads >= '1'")
    if page.evaluate("window.songhubGraph.layoutRunning()"):
        page.keyboard.press("Space")  # pause the layout so nodes stay where we click
    page.wait_for_function("!window.songhubGraph.layoutRunning()")


def node_point(page, title):
    """Where `title` is drawn, once it stays put for 150 ms: under load a late layout step or
    reload can still move nodes after the layout reports paused, and a click then misses."""
    import time

    deadline, last = time.monotonic() + 5, None
    while True:
        point = drawn_at(page, title)
        if point == last or time.monotonic() > deadline:
            return point
        last = point
        page.wait_for_timeout(150)


def drawn_at(page, title):
    return page.evaluate("""(title) => {
        const app = window.songhubGraph, g = app.graph;
        const key = g.findNode((k, a) => a.track.title === title);
        const at = app.renderer.framedGraphToViewport(app.renderer.getNodeDisplayData(key));
        const rect = document.getElementById('graph-canvas').getBoundingClientRect();
        return {key, x: rect.left + at.x, y: rect.top + at.y};
    }""", title)


def titles(page):
    return set(page.evaluate("window.songhubGraph.graph.mapNodes((k, a) => a.track.title)"))


def selected_titles(page):
    return set(page.evaluate("window.songhubGraph.selected().map(k => "
                             "window.songhubGraph.graph.getNodeAttribute(k, 'track').title)"))


def test_it_draws_the_graph_without_invalid_nodes_from_the_database(server, page):
    smuggle_invalid_node()
    open_graph(page, server)
    assert titles(page) == {"Alpha", "Beta", "Gamma", "Delta", "Epsilon"}
    assert page.evaluate("window.songhubGraph.graph.size") == 4
    assert page.errors == []


def test_the_frontend_drops_invalid_nodes_even_if_the_api_sends_them(server, page):
    def tamper(route):
        response = route.fetch()
        body = response.json()
        body["nodes"] += [
            {"id": 900001, "title": "Ghost", "artists": [{"name": "VA @ Club", "role": "primary"}]},
            {"id": 900002, "title": "ID", "artists": [{"name": "Real", "role": "primary"}]},
            {"id": 900003, "title": "Nameless", "artists": []}]
        body["edges"].append({"from": body["nodes"][0]["id"], "to": 900001, "occurrences": 1,
                              "setlists": 1, "djs": 1})
        route.fulfill(response=response, json=body)

    page.route("**/api/graph?*", tamper)
    open_graph(page, server)
    assert titles(page) == {"Alpha", "Beta", "Gamma", "Delta", "Epsilon"}
    assert page.evaluate("window.songhubGraph.graph.size") == 4


def test_a_click_selects_and_a_drag_moves_without_selecting(server, page):
    open_graph(page, server)
    beta = node_point(page, "Beta")
    page.mouse.move(beta["x"] + 2, beta["y"] + 2)
    page.mouse.down()
    page.mouse.move(beta["x"] + 4, beta["y"] + 4)  # < 5 px: still a click
    page.mouse.up()
    assert selected_titles(page) == {"Beta"}
    page.wait_for_selector("#graph-next li")
    assert "Alpha" not in page.inner_text("#graph-next") and "Gamma" in page.inner_text("#graph-next")
    page.keyboard.press("Escape")
    gamma = node_point(page, "Gamma")
    page.mouse.move(gamma["x"], gamma["y"])
    page.mouse.down()
    page.mouse.move(gamma["x"] + 40, gamma["y"] + 30, steps=5)
    page.mouse.up()
    assert selected_titles(page) == set()
    moved = node_point(page, "Gamma")
    assert abs(moved["x"] - gamma["x"] - 40) < 3 and abs(moved["y"] - gamma["y"] - 30) < 3
    assert page.get_attribute("#graph-app", "data-last-gesture") == "drag"


def test_the_hit_area_extends_ten_pixels_beyond_the_node(server, page):
    open_graph(page, server)
    radius = page.evaluate("(() => { const app = window.songhubGraph; const k = app.graph.findNode("
                           "(k, a) => a.track.title === 'Delta'); return app.renderer.scaleSize("
                           "app.renderer.getNodeDisplayData(k).size); })()")
    delta = node_point(page, "Delta")
    page.mouse.click(delta["x"] + radius + 8, delta["y"])
    assert selected_titles(page) == {"Delta"}
    page.keyboard.press("Escape")
    page.wait_for_timeout(400)  # beyond the 150 ms debounce, with room for a loaded machine
    page.mouse.click(delta["x"] + radius + 14, delta["y"])
    assert selected_titles(page) == set()


def test_ctrl_click_toggles_and_shift_click_adds_the_path(server, page):
    open_graph(page, server)
    for title in ("Alpha",):
        p = node_point(page, title)
        page.mouse.click(p["x"], p["y"])
    page.wait_for_timeout(400)  # beyond the 150 ms debounce, with room for a loaded machine
    delta = node_point(page, "Delta")
    page.keyboard.down("Shift")
    page.mouse.click(delta["x"], delta["y"])
    page.keyboard.up("Shift")
    assert selected_titles(page) == {"Alpha", "Beta", "Gamma", "Delta"}
    page.wait_for_timeout(400)  # beyond the 150 ms debounce, with room for a loaded machine
    beta = node_point(page, "Beta")
    page.keyboard.down("Control")
    page.mouse.click(beta["x"], beta["y"])
    assert selected_titles(page) == {"Alpha", "Gamma", "Delta"}
    page.wait_for_timeout(400)  # beyond the 150 ms debounce, with room for a loaded machine
    page.mouse.click(beta["x"], beta["y"])
    page.keyboard.up("Control")
    assert selected_titles(page) == {"Alpha", "Beta", "Gamma", "Delta"}


CLICK = """([x, y]) => {
    const canvas = document.getElementById('graph-canvas');
    const init = {clientX: x, clientY: y, button: 0, bubbles: true, pointerId: 1};
    canvas.dispatchEvent(new PointerEvent('pointerdown', init));
    window.dispatchEvent(new PointerEvent('pointerup', init));
}"""


def test_clicks_within_150_ms_are_debounced(server, page):
    """Both clicks are dispatched in one script turn (microseconds apart), so the machine's
    load cannot stretch the gap past 150 ms; the control waits and the same click counts."""
    open_graph(page, server)
    alpha, beta = node_point(page, "Alpha"), node_point(page, "Beta")
    page.evaluate(f"(points) => {{ const click = {CLICK}; "
                  "points.forEach(p => click(p)); }", [[alpha["x"], alpha["y"]],
                                                       [beta["x"], beta["y"]]])
    assert selected_titles(page) == {"Alpha"}
    page.wait_for_timeout(400)
    page.evaluate(CLICK, [beta["x"], beta["y"]])
    assert selected_titles(page) == {"Beta"}


def test_each_key(server, page):
    open_graph(page, server)
    assert page.get_attribute("#graph-app", "data-layout") == "paused"
    page.keyboard.press("Space")
    assert page.get_attribute("#graph-app", "data-layout") == "running"
    assert page.evaluate("window.songhubGraph.layoutRunning()")
    page.keyboard.press("D")
    page.wait_for_function("document.getElementById('graph-debug').textContent.includes('fps')")
    assert "nodes 5" in page.inner_text("#graph-debug") and "edges 4" in page.inner_text("#graph-debug")
    page.keyboard.press("d")
    assert page.is_hidden("#graph-debug")
    page.keyboard.press("h")
    assert page.is_visible("#graph-help")
    page.keyboard.press("h")
    assert page.is_hidden("#graph-help")
    page.keyboard.press("Control+a")
    assert len(selected_titles(page)) == 5
    page.keyboard.press("Escape")
    assert selected_titles(page) == set()


def test_graph_updated_reloads_the_open_page(server, page):
    open_graph(page, server)
    page.wait_for_function("document.getElementById('graph-app').dataset.live === 'open'")
    imp("DJ: Three\nE - Epsilon\nF - Zeta\n", "3")
    page.wait_for_function("window.songhubGraph.graph.order === 6", timeout=10000)
    assert "Zeta" in titles(page)


def test_the_layout_stops_by_itself_once_settled(server, page):
    page.goto(f"{server.url}/graph/")
    page.wait_for_function("window.songhubGraph && window.songhubGraph.layoutRunning()")
    page.wait_for_function("!window.songhubGraph.layoutRunning()", timeout=15000)
    assert page.get_attribute("#graph-app", "data-layout") == "paused"


def test_leaving_the_page_tears_everything_down(server, page):
    open_graph(page, server)
    page.keyboard.press("Space")
    assert page.evaluate("window.songhubGraph.activeListeners()") > 0
    page.evaluate("window.dispatchEvent(new PageTransitionEvent('pagehide'))")
    assert page.evaluate("window.songhubGraph.activeListeners()") == 0
    assert not page.evaluate("window.songhubGraph.layoutRunning()")
    assert page.get_attribute("#graph-app", "data-live") == "closed"
