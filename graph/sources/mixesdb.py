"""MixesDB through its MediaWiki API (MIXESDB_API_URL): `list=search` with the target's
search query, then `action=parse&prop=wikitext` per page. Polite: see graph.resilience."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from django.conf import settings

from ..parsers import mixesdb as wikitext
from ..resilience import PoliteClient
from . import Fetched, Hit


class MixesDB:
    name = "mixesdb"

    def __init__(self):
        url = settings.MIXESDB_API_URL
        parts = urlsplit(url)
        self.api_path = parts.path or "/api.php"
        self.site = f"{parts.scheme}://{parts.netloc}"
        self.client = PoliteClient("mixesdb", self.site, settings.GRAPH_REQUEST_INTERVAL_SECONDS)

    def search(self, query: str, limit: int = 5) -> list[Hit]:
        body = self.client.get(self.api_path, {
            "action": "query", "list": "search", "srsearch": query, "srlimit": limit,
            "srwhat": "text", "format": "json", "formatversion": "2"})
        return [Hit(str(item["pageid"]), item["title"])
                for item in (body.get("query") or {}).get("search", [])[:limit]]

    def fetch(self, hit: Hit) -> Fetched | None:
        body = self.client.get(self.api_path, {
            "action": "parse", "pageid": hit.external_id, "prop": "wikitext|revid",
            "format": "json", "formatversion": "2"})
        page = body.get("parse")
        if not page:
            return None
        text = page.get("wikitext") or ""
        if isinstance(text, dict):  # formatversion=1 servers
            text = text.get("*", "")
        setlist = wikitext.parse(text, page_title=page.get("title", hit.title))
        setlist.url = f"{self.site}/w/{quote(page.get('title', hit.title).replace(' ', '_'))}"
        return Fetched(setlist, text, "mixesdb", str(page.get("pageid", hit.external_id)),
                       str(page.get("revid", "")))
