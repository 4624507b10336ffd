"""English names for Korean place names: the extract's own ``name:en``, else a transliteration.

Korean road names follow the Revised Romanization road-name form: the specific part is
romanized and capitalised, the generic part kept as a hyphenated suffix (``올림픽로`` →
"Olympic-ro", ``송파대로46길`` → "Songpa-daero 46-gil", ``올림픽로35나길`` → "Olympic-ro 35na-gil").
The romanization itself is the ``koroman`` package's (Revised Romanization with its pronunciation
rules: ``종로`` → "jongno"); this module only splits names into parts and adds what the extract
teaches:

- a name that some OSM element carries with ``name:en`` gets that English name everywhere
  (``송파대로`` ways without ``name:en`` become "Songpa-daero" like the ones with it);
- the specific part of a road name learned that way is reused (``올림픽`` → "Olympic" from
  "Olympic-ro", so the unmapped ``올림픽공원북2문`` becomes "Olympic Park North Gate 2", not the
  literal "Ollimpik");
- generic place words (park, gate, bridge, underpass, crossroad...) are translated from the
  small :data:`PLACE_WORDS` glossary; the rest is transliterated.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import koroman

HANGUL = re.compile(r"[\uac00-\ud7a3]")
ROAD_NAME = re.compile(
    r"^(?P<base>.+?)(?P<kind>대로|로|길)(?:(?P<number>\d+)(?P<sub>[가-힣]?)길)?$"
)
ROAD_KINDS = {"대로": "daero", "로": "ro", "길": "gil"}
ENGLISH_ROAD = re.compile(r"^(?P<base>.+?)-(?:daero|ro|gil)\b")
DIRECTIONS = {"동": "East", "서": "West", "남": "South", "북": "North"}
GATE = re.compile(r"(?P<side>[동서남북])(?P<number>\d*)문$")
PLACE_WORDS = (
    ("지하차도", "Underpass"),
    ("고가차도", "Overpass"),
    ("사거리", "Crossroad"),
    ("삼거리", "Junction"),
    ("오거리", "Five-way Junction"),
    ("교차로", "Intersection"),
    ("분기점", "Junction"),
    ("나들목", "Interchange"),
    ("대교", "Bridge"),
    ("남단", "South End"),
    ("북단", "North End"),
    ("동단", "East End"),
    ("서단", "West End"),
    ("입구", "Entrance"),
    ("정문", "Main Gate"),
    ("공원", "Park"),
    ("호수", "Lake"),
    ("병원", "Hospital"),
    ("역", "Station"),
)
"""Generic place words at the end of a Korean name and their English (longest first)."""
WORDS = dict(PLACE_WORDS)


@dataclass
class Glossary:
    """English names learned from an extract's ``name`` / ``name:en`` pairs.

    ``names`` maps a whole Korean name to its English name; ``parts`` maps the specific part
    of a Korean road name to the specific part of its English name (``올림픽`` → "Olympic").
    """

    names: dict[str, str] = field(default_factory=dict)
    parts: dict[str, str] = field(default_factory=dict)

    @classmethod
    def learn(cls, pairs: Iterable[tuple[str, str]]) -> Glossary:
        """A glossary from (Korean name, English name) pairs; the most frequent English
        name of a Korean name wins (ties: alphabetical)."""
        counts: dict[str, Counter[str]] = {}
        for korean, english in pairs:
            if korean and english and HANGUL.search(korean) and not HANGUL.search(english):
                counts.setdefault(korean.strip(), Counter())[english.strip()] += 1
        names = {k: min(c, key=lambda e: (-c[e], e)) for k, c in sorted(counts.items())}
        parts: dict[str, str] = {}
        for korean, english in names.items():
            road, match = ROAD_NAME.match(korean), ENGLISH_ROAD.match(english)
            if road and match:
                parts.setdefault(road["base"], match["base"])
        return cls(names, parts)

    def english(self, name: str) -> str:
        """The English name of ``name`` (unchanged when it has no Hangul)."""
        name = name.strip()
        if not HANGUL.search(name):
            return name
        if name in self.names:
            return self.names[name]
        name = re.sub(r"\[(.+?)\]", lambda m: f" ({self._word(m[1])})", name)
        return " ".join(self._word(token) for token in name.split()).replace("( ", "(")

    def _word(self, token: str) -> str:
        if not HANGUL.search(token):
            return token
        if token in self.names:
            return self.names[token]
        if token in DIRECTIONS:
            return DIRECTIONS[token]
        if token in WORDS:
            return WORDS[token]
        road = ROAD_NAME.match(token)
        if road:
            return self._road(road)
        gate = GATE.search(token)
        if gate and gate.start() > 0:
            number = f" {gate['number']}" if gate["number"] else ""
            head = self._word(token[: gate.start()])
            return f"{head} {DIRECTIONS[gate['side']]} Gate{number}"
        for korean, english in PLACE_WORDS:
            if token.endswith(korean) and len(token) > len(korean):
                return f"{self._word(token[: -len(korean)])} {english}"
        return self._specific(token)

    def _road(self, match: re.Match[str]) -> str:
        text = f"{self._specific(match['base'])}-{ROAD_KINDS[match['kind']]}"
        if match["number"]:
            sub = koroman.romanize(match["sub"]) if match["sub"] else ""
            text += f" {match['number']}{sub}-gil"
        return text

    def _specific(self, korean: str) -> str:
        if korean in self.parts:
            return self.parts[korean]
        return koroman.romanize(korean).capitalize()
