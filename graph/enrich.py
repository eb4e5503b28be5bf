"""Metadata enrichment: the seed's delegation contract (5.1.5), in-process.

`enrich(track_id, artist_name, track_title, existing_spotify_id=None, existing_isrc=None)`
returns `{track_id, status: completed|partial|failed, sources_used, metadata_acquired:
{spotify_id, isrc, bpm, key}, cached, timestamp}` and writes what it found onto the gold track
(only into empty fields). Sources: Spotify search with an app (client-credentials) token from
the listening app's configured credentials, and MusicBrainz (≤ 1 request/s, User-Agent).

Resilience: answers are cached in Redis for GRAPH_ENRICH_CACHE_SECONDS (hits and misses are
counted for the hit rate), each source has a circuit breaker (graph.resilience), a source
failure is written to the dead-letter table (`EnrichmentFailure`) for `retry_dead_letters`.

`propose_for_entry` may suggest an artist/title for an unidentified line, but only on a unique
high-confidence MusicBrainz match; the proposal waits for a curator (never applied silently).
"""

from __future__ import annotations

import logging

import requests
from django.conf import settings
from django.core.cache import cache
from django.db.models import F
from django.utils import timezone

from listening.spotify import configured_apps, endpoint_name, record_call

from .identity import camelot, is_valid_artist, normalise
from .models import CurationRule, EnrichmentFailure, Track
from .resilience import Breaker, PoliteClient, SourceError

logger = logging.getLogger(__name__)

PITCHES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
STATS_KEYS = ("graph:enrich:hits", "graph:enrich:misses")
MIN_PROPOSAL_SCORE = 95


def _cache_key(artist: str, title: str) -> str:
    return "graph:enrich:v1:" + normalise(f"{artist}|{title}").replace(" ", "_")[:200]


def enrich(track_id: int, artist_name: str, track_title: str,
           existing_spotify_id: str | None = None, existing_isrc: str | None = None) -> dict:
    result, errors = _run(track_id, artist_name, track_title, existing_spotify_id, existing_isrc)
    if errors:
        EnrichmentFailure.objects.create(
            track_id=track_id if Track.objects.filter(pk=track_id).exists() else None,
            request={"track_id": track_id, "artist_name": artist_name, "track_title": track_title,
                     "existing_spotify_id": existing_spotify_id, "existing_isrc": existing_isrc},
            error="; ".join(errors)[:2000])
    return result


def _run(track_id, artist_name, track_title, existing_spotify_id=None,
         existing_isrc=None) -> tuple[dict, list[str]]:
    """One enrichment: the contract's answer and the source errors (empty: all sources
    answered, so the answer is cached)."""
    key = _cache_key(artist_name, track_title)
    cached = cache.get(key)
    if cached is not None:
        _count(STATS_KEYS[0])
        _apply(track_id, cached["metadata_acquired"])
        return {**cached, "track_id": track_id, "cached": True, "timestamp": _now()}, []
    _count(STATS_KEYS[1])
    meta = {"spotify_id": existing_spotify_id or None, "isrc": existing_isrc or None,
            "bpm": None, "key": None}
    used, errors = [], []
    if configured_apps():
        try:
            if _spotify(artist_name, track_title, meta):
                used.append("spotify")
        except SourceError as exc:
            errors.append(f"spotify: {exc}")
    try:
        if _musicbrainz(artist_name, track_title, meta):
            used.append("musicbrainz")
    except SourceError as exc:
        errors.append(f"musicbrainz: {exc}")
    acquired = [name for name, value in meta.items() if value]
    status = "completed" if meta["spotify_id"] and meta["isrc"] else \
        "partial" if acquired else "failed"
    result = {"track_id": track_id, "status": status, "sources_used": used,
              "metadata_acquired": meta, "cached": False, "timestamp": _now()}
    if not errors:  # a complete answer (even "nothing found") is worth remembering
        cache.set(key, {k: v for k, v in result.items() if k != "track_id"},
                  settings.GRAPH_ENRICH_CACHE_SECONDS)
    _apply(track_id, meta)
    return result, errors


def _now() -> str:
    return timezone.now().isoformat()


def _count(key: str) -> None:
    if not cache.add(key, 1, timeout=None):
        cache.incr(key)


def statistics() -> dict:
    hits, misses = (cache.get(k) or 0 for k in STATS_KEYS)
    return {"cache_hits": hits, "cache_misses": misses,
            "cache_hit_rate": round(hits / (hits + misses), 3) if hits + misses else None,
            "breakers": {name: Breaker(name).state() for name in ("spotify-app", "musicbrainz")},
            "dead_letters": EnrichmentFailure.objects.filter(resolved_at__isnull=True).count()}


def _apply(track_id: int, meta: dict) -> None:
    """Fill only empty fields of the track: curated or earlier data is never overwritten."""
    track = Track.objects.filter(pk=track_id).first()
    if track is None:
        return
    changed = ["enriched_at"]
    track.enriched_at = timezone.now()
    for field, value in (("spotify_id", meta.get("spotify_id")), ("isrc", meta.get("isrc")),
                         ("key", meta.get("key"))):
        if value and not getattr(track, field):
            setattr(track, field, value[:getattr(Track, field).field.max_length])
            changed.append(field)
    if meta.get("bpm") and track.bpm is None:
        track.bpm, changed = meta["bpm"], changed + ["bpm"]
    if track.key and not track.camelot:
        track.camelot, changed = camelot(track.key), changed + ["camelot"]
    track.save(update_fields=changed)


# -- Spotify (client credentials) ----------------------------------------------------------
def _spotify_token(session: requests.Session) -> str:
    token = cache.get("graph:spotify-app-token")
    if token:
        return token
    app = configured_apps()[0]
    try:
        response = session.post(f"{settings.SPOTIFY_ACCOUNTS_URL}/api/token",
                                data={"grant_type": "client_credentials"},
                                auth=(app.client_id, app.client_secret),
                                timeout=settings.SPOTIFY_TIMEOUT_SECONDS)
    except (requests.ConnectionError, requests.Timeout) as exc:
        record_call("/api/token", "error")
        raise SourceError(f"Spotify accounts unreachable: {exc}") from exc
    record_call("/api/token", response.status_code)
    if response.status_code != 200:
        raise SourceError(f"Spotify refused the app credentials: HTTP {response.status_code}")
    body = response.json()
    cache.set("graph:spotify-app-token", body["access_token"],
              max(60, int(body.get("expires_in", 3600)) - 60))
    return body["access_token"]


class _SpotifyApp(PoliteClient):
    def get(self, path, params=None):
        record_call(endpoint_name(path), "sent")  # PoliteClient retries; status in its log
        self.headers["Authorization"] = f"Bearer {_spotify_token(self.session)}"
        return super().get(path, params)


def _spotify(artist: str, title: str, meta: dict) -> bool:
    client = _SpotifyApp("spotify-app", settings.SPOTIFY_API_URL, 0,
                         timeout=settings.SPOTIFY_TIMEOUT_SECONDS)
    if not meta["spotify_id"]:
        body = client.get("/v1/search", {"q": f'artist:"{artist}" track:"{title}"',
                                         "type": "track", "limit": 5})
        items = (body.get("tracks") or {}).get("items") or []
        match = next((t for t in items if normalise(t.get("name")) == normalise(title)), None)
        if match is None:
            return False
        meta["spotify_id"] = match["id"]
        meta["isrc"] = meta["isrc"] or (match.get("external_ids") or {}).get("isrc")
    features = client.get(f"/v1/audio-features/{meta['spotify_id']}")
    if features:
        meta["bpm"] = round(float(features["tempo"]), 1) if features.get("tempo") else None
        if features.get("key") is not None and 0 <= int(features["key"]) < 12:
            meta["key"] = f"{PITCHES[int(features['key'])]} " \
                          f"{'Major' if features.get('mode') == 1 else 'Minor'}"
    return True


# -- MusicBrainz ---------------------------------------------------------------------------
def _mb_client() -> PoliteClient:
    return PoliteClient("musicbrainz", settings.MUSICBRAINZ_API_URL,
                        settings.GRAPH_REQUEST_INTERVAL_SECONDS)


def _mb_search(query: str) -> list[dict]:
    body = _mb_client().get("/recording", {"query": query, "fmt": "json", "limit": 5})
    return body.get("recordings") or []


def _mb_artist(recording: dict) -> str:
    return "".join(c.get("name", "") + c.get("joinphrase", "")
                   for c in recording.get("artist-credit") or [])


def _musicbrainz(artist: str, title: str, meta: dict) -> bool:
    query = f'recording:"{title}" AND artist:"{artist}"'
    for recording in _mb_search(query):
        if int(recording.get("score") or 0) >= 90 and \
                normalise(recording.get("title")) == normalise(title):
            isrcs = recording.get("isrcs") or []
            if isrcs and not meta["isrc"]:
                meta["isrc"] = isrcs[0]
            return True
    return False


def propose_for_entry(raw_line: str, title: str) -> CurationRule | None:
    """A *proposed* rule for an unidentified line when MusicBrainz has exactly one recording
    of this title with score ≥ 95 and a valid artist. It waits for a curator to accept it."""
    key = normalise(raw_line)
    if not title.strip() or CurationRule.objects.filter(raw_key=key).exists():
        return None
    strong = [r for r in _mb_search(f'recording:"{title}"')
              if int(r.get("score") or 0) >= MIN_PROPOSAL_SCORE
              and normalise(r.get("title")) == normalise(title)]
    if len(strong) != 1 or not is_valid_artist(_mb_artist(strong[0])):
        return None
    return CurationRule.objects.create(
        raw_key=key, raw_line=raw_line, artist=_mb_artist(strong[0]), title=strong[0]["title"],
        status=CurationRule.Status.PROPOSED, source="musicbrainz",
        confidence=int(strong[0]["score"]) / 100)


def retry_dead_letters(limit: int = 100) -> dict:
    """Retry unresolved failures, oldest first: a run without source errors resolves the row,
    another failure records the new error and counts the attempt."""
    retried = resolved = 0
    for failure in EnrichmentFailure.objects.filter(resolved_at__isnull=True).order_by(
            "last_attempt_at")[:limit]:
        r = failure.request
        _, errors = _run(r["track_id"], r["artist_name"], r["track_title"],
                         r.get("existing_spotify_id"), r.get("existing_isrc"))
        retried += 1
        update = {"attempts": F("attempts") + 1, "last_attempt_at": timezone.now()}
        if errors:
            update["error"] = "; ".join(errors)[:2000]
        else:
            update["resolved_at"] = timezone.now()
            resolved += 1
        EnrichmentFailure.objects.filter(pk=failure.pk).update(**update)
    return {"retried": retried, "resolved": resolved}
