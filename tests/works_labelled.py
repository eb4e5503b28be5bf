"""A labelled set for the song-identity matcher: things of the four kinds named the way each
source names them, and pairs marked same work / different work, near-misses included (live
versions, remixes, edits, acoustic takes, covers by other artists, same title by someone else).

Each base song yields a chord sheet, a Spotify track, a chart and a graph track with the quirks
of their sources, plus versions and covers that must stay apart.
"""

BASE = [  # (title, artist as the chord sheet writes it, how Spotify lists the artists)
    ("Amazing Grace (My Chains Are Gone)", "Chris Tomlin", ["Chris Tomlin"]),
    ("10,000 Reasons (Bless the Lord)", "Matt Redman", ["Matt Redman"]),
    ("How Great Is Our God", "Chris Tomlin", ["Chris Tomlin"]),
    ("Oceans (Where Feet May Fail)", "Hillsong UNITED", ["Hillsong UNITED"]),
    ("Cornerstone", "Hillsong Worship", ["Hillsong Worship"]),
    ("Bohemian Rhapsody", "Queen", ["Queen"]),
    ("Don't Stop Me Now", "Queen", ["Queen"]),
    ("Hey Jude", "The Beatles", ["The Beatles"]),
    ("Let It Be", "The Beatles", ["The Beatles"]),
    ("Wonderwall", "Oasis", ["Oasis"]),
    ("Hallelujah", "Leonard Cohen", ["Leonard Cohen"]),
    ("Hotel California", "Eagles", ["Eagles"]),
    ("Sweet Child O' Mine", "Guns N' Roses", ["Guns N' Roses"]),
    ("Smells Like Teen Spirit", "Nirvana", ["Nirvana"]),
    ("Africa", "TOTO", ["TOTO"]),
    ("Take On Me", "a-ha", ["a-ha"]),
    ("Dancing Queen", "ABBA", ["ABBA"]),
    ("Mr. Brightside", "The Killers", ["The Killers"]),
    ("Viva la Vida", "Coldplay", ["Coldplay"]),
    ("Yellow", "Coldplay", ["Coldplay"]),
    ("Rolling in the Deep", "Adele", ["Adele"]),
    ("Shape of You", "Ed Sheeran", ["Ed Sheeran"]),
    ("Perfect", "Ed Sheeran", ["Ed Sheeran"]),
    ("Despacito", "Luis Fonsi feat. Daddy Yankee", ["Luis Fonsi", "Daddy Yankee"]),
    ("Señorita", "Shawn Mendes & Camila Cabello", ["Shawn Mendes", "Camila Cabello"]),
    ("Malamente", "Rosalía", ["ROSALÍA"]),
    ("Café Niño", "Ana Belén", ["Ana Belén"]),
    ("Strobe", "deadmau5", ["deadmau5"]),
    ("Levels", "Avicii", ["Avicii"]),
    ("Titanium", "David Guetta feat. Sia", ["David Guetta", "Sia"]),
    ("One More Time", "Daft Punk", ["Daft Punk"]),
    ("Around the World", "Daft Punk", ["Daft Punk"]),
    ("Sandstorm", "Darude", ["Darude"]),
    ("Born Slippy .NUXX", "Underworld", ["Underworld"]),
    ("Blue Monday", "New Order", ["New Order"]),
    ("Through the Fire and Flames", "DragonForce", ["DragonForce"]),
    ("Free Bird", "Lynyrd Skynyrd", ["Lynyrd Skynyrd"]),
    ("Stairway to Heaven", "Led Zeppelin", ["Led Zeppelin"]),
    ("Back in Black", "AC/DC", ["AC/DC"]),
    ("Everlong", "Foo Fighters", ["Foo Fighters"]),
]

# Spotify's ways of writing the same recording, used in turn
SPOTIFY_SAME = ["{t}", "{t} - Remastered 2011", "{t} - 2009 Remaster", "{t} - Single Version",
                "{t} (Remastered)", "{t} - Mono"]
COVER_ARTISTS = ["Pentatonix", "Postmodern Jukebox", "Boyce Avenue", "Kidz Bop Kids"]


def catalog():
    """(things, pairs). things: {name: (kind, title, artists, extra)}; pairs: (a, b, same?)."""
    things, pairs = {}, []
    for n, (title, sheet_artist, spotify_artists) in enumerate(BASE):
        p = f"s{n}"
        things[f"{p}.song"] = ("song", title, sheet_artist, {})
        things[f"{p}.spotify"] = ("spotify", SPOTIFY_SAME[n % len(SPOTIFY_SAME)].format(t=title),
                                  spotify_artists, {"id": f"sp{n:020d}"})
        chart_title = title.upper() if n % 3 == 0 else title
        chart_artist = sheet_artist.replace("The ", "") if n % 2 else sheet_artist
        if n % 4 == 1:
            chart_title = f"<color=#ffcc00>{chart_title}</color>"
        things[f"{p}.chart"] = ("chart", chart_title, chart_artist, {})
        graph_title = f"{title} (Original Mix)" if n % 2 == 0 else title
        things[f"{p}.graph"] = ("graph", graph_title, spotify_artists,
                                {"spotify_id": f"sp{n:020d}" if n % 5 == 0 else "",
                                 "isrc": f"USABC{n:07d}"})
        # near-misses: other recordings and other songs
        things[f"{p}.live"] = ("spotify", f"{title} - Live at Wembley", spotify_artists,
                               {"id": f"lv{n:020d}"})
        things[f"{p}.remix"] = ("graph", f"{title} (Kaskade Remix)", spotify_artists,
                                {"isrc": f"USREM{n:07d}"})
        things[f"{p}.cover"] = ("chart", title, COVER_ARTISTS[n % len(COVER_ARTISTS)], {})
        things[f"{p}.acoustic"] = ("song", f"{title} (Acoustic)", sheet_artist, {})
        pairs += [(f"{p}.song", f"{p}.spotify", True), (f"{p}.song", f"{p}.chart", True),
                  (f"{p}.song", f"{p}.graph", True), (f"{p}.spotify", f"{p}.chart", True),
                  (f"{p}.spotify", f"{p}.graph", True),
                  (f"{p}.song", f"{p}.live", False), (f"{p}.song", f"{p}.remix", False),
                  (f"{p}.song", f"{p}.cover", False), (f"{p}.spotify", f"{p}.acoustic", False),
                  (f"{p}.graph", f"{p}.remix", False)]
    # hard cases the matcher is known to miss or must not merge
    things["h.newton"] = ("song", "Amazing Grace", "Newton, John", {})
    things["h.newton2"] = ("spotify", "Amazing Grace", ["John Newton"], {"id": "hn" + "0" * 20})
    things["h.traditional"] = ("song", "Amazing Grace", "", {})
    things["h.other"] = ("chart", "Amazing Grace", "Judy Collins", {})
    things["h.sameTitle"] = ("song", "Yellow", "Katy B", {})
    pairs += [("h.newton", "h.newton2", True), ("h.traditional", "h.other", False),
              ("h.sameTitle", "s19.song", False), ("h.newton2", "h.other", False)]
    return things, pairs
