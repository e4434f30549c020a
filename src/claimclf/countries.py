"""ISO 3166-1 alpha-3 codes for the countries an actor span names.

A span names a country when it contains the country's name ("Turkey", "the United States"), its
capital or a metonym for its state ("Ankara", "the Kremlin"), or its people / adjective
("Turkish troops", "the Turkish foreign ministry"). Country names come from ``pycountry`` (the
ISO 3166 database, kept up to date by its maintainers); the project's own small table,
``country_names.tsv``, adds what ISO lacks: the short names news copy uses ("Turkey", "Britain",
"U.S."), demonyms and capitals. Matching is on whole words, case-insensitive (except short
all-capital abbreviations such as "US", which must match their case, so "us" is never the United
States); the first country named wins, and at one place the longest name.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from importlib import resources
from pathlib import Path

TABLE = "country_names.tsv"
_MAX_WORDS = 6
#: phrases that contain a country word but name no country (matched, then skipped)
NOT_COUNTRIES = ("Latin America", "South America", "Central America", "North America", "the Americas",
                 "Congo", "Congo River", "Native American", "Native Americans", "African American",
                 "African Americans", "New Jersey", "New Mexico", "Guinea pig")
_WORD = re.compile(r"[^\W_]+(?:[.'’-][^\W_]+)*\.?", re.UNICODE)


def _fold(text: str) -> str:
    """Lower case, accents removed, curly apostrophes straightened."""
    text = unicodedata.normalize("NFKD", text.replace("’", "'"))
    return "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()


def _words(text: str) -> list[str]:
    """Words of ``text`` with a possessive ``'s`` dropped ("Turkey's" -> "Turkey")."""
    out = []
    for w in _WORD.findall(text.replace("’", "'")):
        if w.lower().endswith("'s"):
            w = w[:-2]
        out.append(w)
    return out


def _key(words: list[str]) -> str:
    # "U.S." and "US", "the Kremlin" and "Kremlin" meet at the same key
    return " ".join(_fold(w).replace(".", "") for w in words)


def _case_sensitive(name: str) -> bool:
    bare = name.replace(".", "")
    return bare.isupper() and len(bare) <= 4


@lru_cache(maxsize=1)
def _index() -> tuple[dict[str, str], dict[str, str]]:
    """(folded name -> code, exact-case abbreviation -> code)."""
    folded: dict[str, str] = {}
    exact: dict[str, str] = {}

    def add(name: str, code: str) -> None:
        name = name.strip()
        if not name:
            return
        words = _words(name)
        if words and _fold(words[0]) == "the":
            words = words[1:]
        if not words:
            return
        if _case_sensitive(name):
            exact.setdefault(" ".join(w.replace(".", "") for w in words), code)
        else:
            folded.setdefault(_key(words), code)

    for name in NOT_COUNTRIES:
        add(name, "")
    # the project's table first: its common names win over ISO's formal ones
    text = resources.files(__package__).joinpath(TABLE).read_text(encoding="utf-8")
    codes = set()
    for line in text.splitlines():
        if not line.strip() or line.startswith("#") or line.startswith("code\t"):
            continue
        cols = line.split("\t")
        code = cols[0].strip()
        codes.add(code)
        for col in cols[1:]:
            for name in col.split("|"):
                add(name, code)
    for c in _iso_countries():
        if c.get("alpha_3") not in codes:  # dependent territories ("Jersey", "Réunion") collide with common words
            continue
        for attr in ("name", "official_name", "common_name"):
            if c.get(attr):
                add(c[attr], c["alpha_3"])
    return folded, exact


def _iso_countries() -> list[dict[str, str]]:
    """ISO 3166-1 entries from pycountry's database file. Read directly: importing pycountry
    itself costs about 90 ms (package metadata), a tenth of predict's start-up."""
    import importlib.util
    import json

    spec = importlib.util.find_spec("pycountry")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        db = Path(folder) / "databases" / "iso3166-1.json"
        if db.is_file():
            return json.loads(db.read_text(encoding="utf-8"))["3166-1"]
    import pycountry  # another layout: ask the library

    return [{k: getattr(c, k, None) for k in ("alpha_3", "name", "official_name", "common_name")}
            for c in pycountry.countries]


def country_code(text: str | None) -> str | None:
    """The ISO 3166-1 alpha-3 code of the first country ``text`` names, or None.

    >>> country_code("the Turkish foreign ministry"), country_code("Ankara"), country_code("NATO")
    ('TUR', 'TUR', None)
    """
    if not text:
        return None
    folded, exact = _index()
    words = _words(text)
    i = 0
    while i < len(words):
        step = 1
        for n in range(min(_MAX_WORDS, len(words) - i), 0, -1):
            chunk = words[i : i + n]
            code = folded.get(_key(chunk))
            if code is None and n <= 2:
                code = exact.get(" ".join(w.replace(".", "") for w in chunk))
            if code == "":  # a phrase that names no country ("Latin America"): skip it
                step = n
                break
            if code is not None:
                return code
        i += step
    return None
