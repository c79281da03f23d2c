"""Reading a search as typed: phrases, alternatives and exclusions, the spellings a word or
number stands for (transliterated names, grouped digits), and the query each database's full-text
index takes (PostgreSQL tsquery, SQLite FTS5 MATCH). No database access here; app.services.search
runs the queries."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

MAX_QUERY = 1000
"""Characters of a search kept (a longer paste is cut, not refused)."""
MAX_TERMS = 64
"""Words and phrases of one search that are used (the rest are dropped)."""
MAX_SPELLINGS = 8
"""Spellings one word or number stands for at most."""
MAX_PHRASE_FORMS = 32
"""Spellings of a whole phrase at most (FTS5 needs each as its own phrase)."""

NAME_ENDINGS = ("yy", "iy", "ii", "yi", "ij", "yj", "y")
"""Endings that transliterations of one Slavic name use interchangeably (longest first)."""

TEXT_SEARCH_CONFIG = "peacetalks_search"
"""PostgreSQL text search configuration: English stemming without stop words."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_CURLY_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"'})
_WORD = re.compile(r"[^\W_]+")
# Characters that are quoting syntax in a tsquery or an FTS5 query; as text they only separate.
_QUOTING = re.compile(r"[\"'`\\\u2018\u2019\u201c\u201d]")
_GROUPED_NUMBER = re.compile(r"[0-9]{1,3}(?:[,. \u00a0\u2009\u202f][0-9]{3})+")
_PLAIN_NUMBER = re.compile(r"[0-9]{4,15}")
_EDGE_PUNCTUATION = re.compile(r"^[^\w]+|[^\w]+$")


Chunk = tuple[str, ...]
"""One word as typed (lowercase), then the other spellings it stands for."""
Phrase = tuple[Chunk, ...]
"""Words that must appear in this order."""


@dataclass(slots=True)
class ParsedQuery:
    """A search as clauses: every clause must match; a clause is alternatives (each a phrase)."""

    clauses: list[list[Phrase]] = field(default_factory=list)
    excluded: list[Phrase] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    """The words to highlight in results: as typed and every spelling searched for."""

    @property
    def empty(self) -> bool:
        return not self.clauses and not self.excluded


def clean(query: str) -> str:
    """The query without control characters (NUL breaks PostgreSQL), cut to MAX_QUERY."""
    return _CONTROL.sub(" ", query)[:MAX_QUERY].strip()


def name_spellings(word: str) -> list[str]:
    """A lowercase word and, for a name with a variant ending (Zelensky), its other spellings."""
    for ending in NAME_ENDINGS:
        if word.endswith(ending):
            stem = word[: -len(ending)]
            if len(stem) >= 3 and stem.isascii() and stem.isalpha() and stem[-1] not in "aeiouy":
                return [word, *(stem + other for other in NAME_ENDINGS if other != ending)]
            break
    return [word]


def number_spellings(chunk: str) -> list[str] | None:
    """Every writing of a number of 4+ digits (plain, or grouped by , . or space); else None."""
    core = _EDGE_PUNCTUATION.sub("", chunk)
    if not (_GROUPED_NUMBER.fullmatch(core) or _PLAIN_NUMBER.fullmatch(core)):
        return None
    digits = re.sub(r"[^0-9]", "", core)
    head = len(digits) % 3 or 3
    groups = [digits[:head], *(digits[i : i + 3] for i in range(head, len(digits), 3))]
    writings = [digits, ",".join(groups), ".".join(groups), " ".join(groups)]
    return list(dict.fromkeys([core, *writings]))


def _chunk(word: str) -> Chunk:
    numbers = number_spellings(word)
    if numbers is not None:
        return tuple(numbers)
    # The word's parts alternate with what separates them ("zelensky-led": zelensky, -, led).
    parts = re.split(r"([^\W_]+)", word.lower())
    options = [name_spellings(part) if i % 2 else [part] for i, part in enumerate(parts)]
    combos = itertools.islice(itertools.product(*options), MAX_SPELLINGS)
    return tuple("".join(combo) for combo in combos)


def _merge_digit_groups(words: list[str]) -> list[str]:
    # Inside a phrase, "800 000" is one number written with a space.
    merged: list[str] = []
    for word in words:
        if (
            merged
            and re.fullmatch(r"[0-9]{3}", word)
            and re.fullmatch(r"[0-9]{1,3}(?: [0-9]{3})*", merged[-1])
        ):
            merged[-1] += " " + word
        else:
            merged.append(word)
    return merged


def _phrase(raw: str) -> tuple[Phrase, list[str]]:
    """The phrase a typed term stands for, and the words to highlight for it."""
    words = _merge_digit_groups([w for w in _QUOTING.sub(" ", raw).split() if _WORD.search(w)])
    phrase = tuple(_chunk(word) for word in words)
    terms: list[str] = []
    for word, chunk in zip(words, phrase, strict=True):
        if number_spellings(word) is not None:
            terms.extend(chunk)
        else:
            terms.extend(_WORD.findall(word.lower()))
            terms.extend(w for spelling in chunk for w in _WORD.findall(spelling))
    return phrase, terms


def parse(query: str) -> ParsedQuery:
    """Parse web-search syntax into clauses; never fails."""
    parsed = ParsedQuery()
    pending_or = False
    used = 0
    # A phone keyboard's curly quotes open and close a phrase too.
    for match in _TOKEN.finditer(clean(query).translate(_CURLY_QUOTES)):
        negate, quoted, bare = match.group(1), match.group(2), match.group(3)
        if bare is not None and bare.upper() == "OR":
            pending_or = bool(parsed.clauses)
            continue
        if bare is not None and bare.startswith("-") and len(bare) > 1:
            negate, bare = "-", bare[1:]
        phrase, terms = _phrase(quoted if quoted is not None else bare or "")
        if not phrase:
            continue
        used += 1
        if used > MAX_TERMS:
            break
        if negate:
            parsed.excluded.append(phrase)
            pending_or = False
            continue
        parsed.terms.extend(terms)
        if pending_or:
            parsed.clauses[-1].append(phrase)
            pending_or = False
        else:
            parsed.clauses.append([phrase])
    parsed.terms = list(dict.fromkeys(parsed.terms))
    return parsed


def _tsquery_phrase(phrase: Phrase) -> str:
    # Each spelling is a quoted string that PostgreSQL's own parser splits as it split the text.
    chunks = []
    for chunk in phrase:
        spellings = [f"'{spelling}'" for spelling in chunk]
        chunks.append(spellings[0] if len(spellings) == 1 else "(" + " | ".join(spellings) + ")")
    return "(" + " <-> ".join(chunks) + ")"


_LETTERS = re.compile(r"[^\W\d_]{1,64}")
MAX_PAIR_FORMS = 16
"""Spellings of one pair of neighbouring words at most for narrowing by word pairs."""


def phrase_pairs(clauses: list[list[Phrase]]) -> list[list[str]]:
    """PostgreSQL: the pairs of neighbouring plain words (letters only) of the phrases every
    match must hold, each as its spellings ("security guarantees", "securityy guarantees", ...),
    so that a match's word pairs (quotes.phrase_vector) must hold one spelling of every pair.
    A clause of alternatives gives none: any one of them may match."""
    pairs: list[list[str]] = []
    for clause in clauses:
        if len(clause) != 1:
            continue
        for first, second in itertools.pairwise(clause[0]):
            if not all(_LETTERS.fullmatch(word) for word in (*first, *second)):
                continue
            if len(first) * len(second) <= MAX_PAIR_FORMS:
                pairs.append([f"{a} {b}" for a in first for b in second])
    return pairs


def tsquery(clauses: list[list[Phrase]], excluded: list[Phrase]) -> str:
    """A to_tsquery() expression in which every user word is a quoted string (nothing to inject)."""
    parts = ["(" + " | ".join(_tsquery_phrase(p) for p in clause) + ")" for clause in clauses]
    parts.extend("!" + _tsquery_phrase(phrase) for phrase in excluded)
    return " & ".join(parts)


def _fts5_phrase(phrase: Phrase) -> str:
    forms = [
        '"' + " ".join(combo).replace('"', '""') + '"'
        for combo in itertools.islice(itertools.product(*phrase), MAX_PHRASE_FORMS)
    ]
    return forms[0] if len(forms) == 1 else "(" + " OR ".join(forms) + ")"


def fts5_match(clauses: list[list[Phrase]], excluded: list[Phrase] | None = None) -> str:
    """An FTS5 MATCH expression in which every user word is a quoted string (nothing to inject)."""
    parts = []
    for clause in clauses:
        alternatives = [_fts5_phrase(phrase) for phrase in clause]
        parts.append(
            alternatives[0] if len(alternatives) == 1 else "(" + " OR ".join(alternatives) + ")"
        )
    positive = " AND ".join(parts)
    if excluded:
        return f"({positive}) NOT ({' OR '.join(_fts5_phrase(p) for p in excluded)})"
    return positive
