"""The terms of ticket text: `fct_ticket_term`, one row per ticket and term, which hot topics count.

Chinese text has no spaces, so terms come from word segmentation with jieba (its dictionary ships in
the package; nothing is downloaded). What makes a term is data, in `warehouse/vocabulary/`:

- governance phrases (停车位, 噪音扰民 …) are added to the dictionary so they are cut whole;
- the street's register (community, grid and compound names, read from the release being built) is
  added as place names: a place is cut whole and is never a term;
- a word is a term when it is at least `min_length` characters of Chinese script, is not a stop word,
  and its dictionary part of speech is not excluded (place and organisation names, numerals, time
  and function words: `rules.yaml`).

jieba runs without its HMM guesser: a run of characters not in the dictionary stays single characters
(dropped), instead of becoming a made-up word from a place or person name (西地省 → 西 地 省, not 西地).
This is also three times faster. Each distinct text is cut once per build, and with a cache folder
(the home's `cache/`) once per vocabulary: the next build cuts only the texts it has not seen (`TermCache`),
and adds the governance phrases and places with the frequencies the first one found for them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import duckdb
import jieba
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pa_dataset
import pyarrow.parquet as pq

from warehouse.documents import load_yaml

VOCABULARY = files("warehouse") / "vocabulary"
RULES_SOURCE = Path(__file__).read_bytes()  # the cutting rules below, as the term cache's fingerprint reads them
CHINESE = re.compile(r"[\u4e00-\u9fff]+")
# The register's names, read from the marts built before this table (see `register_places`).
REGISTER_SQL = """
    SELECT name FROM dim_community
    UNION SELECT name FROM dim_grid
    UNION SELECT compound FROM stg_grid_unit
"""
# What fct_ticket_term is cut from: the tickets' text and the register's names.
INPUTS = frozenset({"fct_ticket", "dim_community", "dim_grid", "stg_grid_unit"})
# A ticket's terms are cut from these columns of its own row alone (given the register).
ROWS_OF = ("fct_ticket", "ticket_id", ("title", "content"))

jieba.setLogLevel(logging.WARNING)


def _words(text: str) -> list[str]:
    """The words of a vocabulary file: whitespace-separated, `#` starts a comment line."""
    return [word for line in text.splitlines() if not line.lstrip().startswith("#") for word in line.split()]


@dataclass(frozen=True)
class Vocabulary:
    governance: tuple[str, ...]
    stop_words: frozenset[str]
    excluded_tags: frozenset[str]
    min_length: int
    place_suffixes: tuple[str, ...]
    function_tags: tuple[str, ...]
    title_suffixes: tuple[str, ...]

    @classmethod
    def load(cls, folder=VOCABULARY) -> Vocabulary:
        rules = load_yaml((folder / "rules.yaml").read_text(encoding="utf-8"))
        return cls(
            governance=tuple(_words((folder / "governance.txt").read_text(encoding="utf-8"))),
            stop_words=frozenset(_words((folder / "stopwords.txt").read_text(encoding="utf-8"))),
            excluded_tags=frozenset(rules["excluded_tags"]),
            min_length=int(rules["min_length"]),
            place_suffixes=tuple(rules["place_suffixes"]),
            function_tags=tuple(rules["function_tags"]),
            title_suffixes=tuple(rules["title_suffixes"]),
        )


# In a term cache's folder: the words and frequencies its segmenter added (TermCache.added_words).
ADDED_WORDS = "added-words.json"
# One line of jieba's dictionary: word, frequency, part of speech (the last may be missing).
DICTIONARY_LINE = re.compile(r"^(\S+) (\d+)(?: (\S+))?", re.M)
# Up to this many characters of text to cut, the words found in the text are cheaper than the whole dictionary
# (0.24 s for 170 000 characters of real messages, against 0.35 s for the whole prefix dictionary).
RESTRICTED_CHARACTERS = 200_000
# Pieces of the text up to this length are listed; a longer word is looked for in the text itself.
SHORT_PIECE = 4


@functools.lru_cache(maxsize=1)
def _dictionary_lines() -> tuple[list[tuple[str, str, str]], int]:
    """jieba's main dictionary as (word, frequency, part of speech) triples, with its total frequency, read once
    per process."""
    with jieba.get_dict_file() as lines:
        triples = DICTIONARY_LINE.findall(lines.read().decode("utf-8"))
    return triples, sum(int(frequency) for _, frequency, _ in triples)


@functools.lru_cache(maxsize=1)
def _dictionary() -> tuple[dict[str, int], int, dict[str, str]]:
    """jieba's whole dictionary, read once per process: (its prefix dictionary, total frequency, part of speech
    of each word).

    Built here rather than by `Tokenizer.initialize`, which keeps the prefix dictionary in a cache file: a
    copy of the package's word list (famous people's names among them), written where the home's files are
    checked for personal data.
    """
    triples, total = _dictionary_lines()
    return _prefix_dictionary(triples), total, {word: tag for word, _, tag in triples if tag}


def _prefix_dictionary(triples: Iterable[tuple[str, str, str]]) -> dict[str, int]:
    """jieba's prefix dictionary (`Tokenizer.gen_pfdict`) of these words: each word's frequency, and 0 for each
    prefix of a word that is not a word itself."""
    frequencies: dict[str, int] = {}
    for word, frequency, _ in triples:
        frequencies[word] = int(frequency)
    for word in list(frequencies):
        for end in range(1, len(word)):
            frequencies.setdefault(word[:end], 0)
    return frequencies


def _dictionary_for(texts: Iterable[str]) -> tuple[dict[str, int], int, dict[str, str]]:
    """The part of jieba's dictionary that cutting `texts` can read: the words found in them, with their prefixes.

    jieba looks up only pieces of the text it cuts: a piece is in the prefix dictionary exactly when it is a
    prefix of a word, and a word it can reach is a piece of the text, whose prefixes come with it. So the cut of
    any of `texts` is the cut with the whole dictionary (the total frequency is the whole one's), and a night's
    few hundred new texts need no prefix dictionary of jieba's 350 000 words. Many texts take the whole one."""
    texts = [text for text in texts if text]
    if sum(map(len, texts)) > RESTRICTED_CHARACTERS:
        return _dictionary()
    triples, total = _dictionary_lines()
    pieces = {
        text[start : start + length]
        for text in texts
        for length in range(1, SHORT_PIECE + 1)
        for start in range(len(text) - length + 1)
    }
    joined = "\n".join(texts)  # no word holds a line break
    found = [
        triple
        for triple in triples
        if (word := triple[0]) in pieces
        or (len(word) > SHORT_PIECE and word[:SHORT_PIECE] in pieces and word in joined)
    ]
    return _prefix_dictionary(found), total, {word: tag for word, _, tag in found if tag}


class Segmenter:
    """Cuts text into terms with the vocabulary and a street's place names (see the module's docstring).

    Given `texts`, it cuts those alone (and any text made of their pieces), with the part of jieba's
    dictionary they need (`_dictionary_for`)."""

    def __init__(
        self,
        vocabulary: Vocabulary,
        places: Iterable[str] = (),
        texts: Iterable[str] | None = None,
        added: list[tuple[str, int]] | None = None,
    ) -> None:
        self.vocabulary = vocabulary
        self.places = frozenset(place for place in places if place)
        if texts is None:
            frequencies, total, tags = _dictionary()
        else:  # the added phrases' own pieces are looked up as they are added
            frequencies, total, tags = _dictionary_for([*texts, *vocabulary.governance, *self.places])
        self.tokenizer = jieba.Tokenizer()
        # Copies: adding the vocabulary and the places below changes them.
        self.tokenizer.FREQ, self.tokenizer.total = dict(frequencies), total
        self.tokenizer.initialized = True
        self.tags = dict(tags)
        # Each phrase is added with a frequency that cuts it whole, given the phrases added before it (in this
        # order). That frequency costs a cut of the phrase; `added`, the words and frequencies an earlier
        # segmenter added for the same phrases (`self.added`), spares the cuts: 0.35 s for a district's places.
        phrases = [*((phrase, "gov") for phrase in vocabulary.governance), *((p, "ns") for p in sorted(self.places))]
        known = [freq for _, freq in added] if added and [w for w, _ in added] == [p for p, _ in phrases] else None
        self.added: list[tuple[str, int]] = []
        for index, (phrase, tag) in enumerate(phrases):
            freq = known[index] if known else self.tokenizer.suggest_freq(phrase, tune=False) + 1
            self.tokenizer.add_word(phrase, freq=freq)
            self.tags[phrase] = tag
            self.added.append((phrase, freq))

    def is_term(self, word: str) -> bool:
        vocabulary = self.vocabulary
        return (
            len(word) >= vocabulary.min_length
            and CHINESE.fullmatch(word) is not None
            and word not in vocabulary.stop_words
            and word not in self.places
            and self.tags.get(word) not in vocabulary.excluded_tags
            and not any(word.endswith(title) and word != title for title in vocabulary.title_suffixes)
        )

    def _ends_a_place(self, word: str, previous: str) -> bool:
        """`word` ends in a place suffix right after a lone content character or a place: the end of a name.

        A name the dictionary does not know comes out of the cut as lone characters (丽 发 新城, 伊 景园);
        a known one as a place word (中海 国际). Ordinary text puts function words (的 在 和) there.
        """
        if not word.endswith(self.vocabulary.place_suffixes):
            return False
        tag = self.tags.get(previous, "")
        if len(previous) == 1:
            return CHINESE.fullmatch(previous) is not None and not tag.startswith(self.vocabulary.function_tags)
        return tag == "ns"

    def _starts_a_place(self, following: str) -> bool:
        """The next word is a lone place suffix: this word is a place's name (博乐|街, 秋碧|巷)."""
        return len(following) == 1 and following in self.vocabulary.place_suffixes

    def terms(self, text: str | None) -> list[str]:
        """The distinct terms of `text`, in order of first appearance."""
        if not text:
            return []
        words = list(self.tokenizer.cut(text, HMM=False))
        found: dict[str, None] = {}
        for index, word in enumerate(words):
            previous = words[index - 1] if index else ""
            following = words[index + 1] if index + 1 < len(words) else ""
            if self.is_term(word) and not self._ends_a_place(word, previous) and not self._starts_a_place(following):
                found.setdefault(word)
        return list(found)


def register_places(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [name for (name,) in con.execute(REGISTER_SQL).fetchall() if name]


def fingerprint(places: Iterable[str], folder=VOCABULARY) -> str:
    """What a text's terms depend on besides the text: jieba's version, this module's rules (its source), the
    vocabulary files, the places. A new rule in code cuts every text again, as a new stop word does."""
    digest = hashlib.sha256(jieba.__version__.encode())
    digest.update(RULES_SOURCE)
    for name in ("governance.txt", "stopwords.txt", "rules.yaml"):
        digest.update((folder / name).read_bytes())
    digest.update("\n".join(sorted(set(places))).encode("utf-8"))
    return digest.hexdigest()[:16]


class TermCache:
    """Terms of texts already cut, by the text's digest, for one vocabulary fingerprint: a folder of Parquet
    parts in the cache folder, `ticket-terms-<key>/` (other fingerprints' are stale and removed).

    A build looks up the digests of its own texts only, and adds one part holding the texts it cut: a night
    neither reads the terms of every text ever cut nor writes them again. Past MAX_PARTS parts, they are merged
    into one. Losing it, or a damaged part, costs one slower build, nothing else."""

    MAX_PARTS = 16

    def __init__(self, folder: Path, key: str) -> None:
        self.folder = folder / f"ticket-terms-{key}"
        self.added: dict[bytes, list[str]] = {}

    @staticmethod
    def digest(text: str) -> bytes:
        return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()

    def _parts(self) -> list[Path]:
        return sorted(self.folder.glob("*.parquet")) if self.folder.is_dir() else []

    def lookup(self, digests: Iterable[bytes]) -> dict[bytes, list[str]]:
        """The terms of the texts among `digests` that were cut before."""
        parts = self._parts()
        if not parts:
            return {}
        wanted = pa.array(list(digests), pa.binary(16))
        try:
            table = pa_dataset.dataset(parts, format="parquet").to_table(filter=pc.field("digest").isin(wanted))
        except (OSError, pa.ArrowException, KeyError, ValueError):  # damaged: this build cuts its texts again
            shutil.rmtree(self.folder, ignore_errors=True)
            return {}
        return dict(zip(table["digest"].to_pylist(), table["terms"].to_pylist(), strict=True))

    def put(self, digest: bytes, terms: list[str]) -> None:
        self.added[digest] = terms

    def added_words(self) -> list[tuple[str, int]] | None:
        """The words and frequencies a segmenter of this fingerprint added to jieba's dictionary (Segmenter.added),
        as kept by `keep_added_words`; None when none are kept or the file does not read."""
        try:
            words = json.loads((self.folder / ADDED_WORDS).read_text(encoding="utf-8"))
            return [(str(word), int(freq)) for word, freq in words]
        except (OSError, ValueError, TypeError):
            return None

    def keep_added_words(self, words: list[tuple[str, int]]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._replace(ADDED_WORDS, lambda path: path.write_text(json.dumps(words, ensure_ascii=False), "utf-8"))

    def save(self) -> None:
        """One part more with the texts cut since the cache was opened (none: nothing written); merged parts past
        MAX_PARTS; other fingerprints' caches removed."""
        if self.added:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._write(
                pa.table(
                    {
                        "digest": pa.array(list(self.added), pa.binary(16)),
                        "terms": pa.array(list(self.added.values()), pa.list_(pa.string())),
                    }
                )
            )
            self.added = {}
            parts = self._parts()
            if len(parts) > self.MAX_PARTS:
                self._write(pa_dataset.dataset(parts, format="parquet").to_table())
                for part in parts:  # after the merged part is in place: a crash leaves rows twice, none lost
                    part.unlink(missing_ok=True)
        for stale in self.folder.parent.glob("ticket-terms-*"):
            if stale == self.folder:
                continue
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            else:  # a single file, as caches were kept before parts
                stale.unlink(missing_ok=True)

    def _write(self, table: pa.Table) -> None:
        self._replace(f"part-{time.time_ns()}-{os.getpid()}.parquet", lambda path: pq.write_table(table, path))

    def _replace(self, name: str, write: Callable[[Path], object]) -> None:
        """Write the file `name` of this cache whole or not at all: beside it, then renamed over it."""
        temporary = self.folder / f".{name}.{os.getpid()}.tmp"
        write(temporary)
        os.replace(temporary, self.folder / name)


def ticket_terms(con: duckdb.DuckDBPyConnection, cache_dir: Path | None = None) -> pa.Table:
    """fct_ticket_term for the release being built: (ticket_id, term) for each term of a ticket's title and text."""
    places = register_places(con)
    cache = TermCache(cache_dir, fingerprint(places)) if cache_dir is not None else None
    rows = con.execute(
        "SELECT ticket_id, concat_ws('。', title, content) AS text FROM fct_ticket ORDER BY ticket_id"
    ).fetchall()
    texts = dict.fromkeys(text for _, text in rows)  # templated and repeated complaints: each text once
    digests = {text: TermCache.digest(text or "") for text in texts} if cache is not None else {}
    known = cache.lookup(digests.values()) if cache is not None else {}
    cut: dict[str, list[str]] = {
        text: known[digests[text]] for text in texts if cache is not None and digests[text] in known
    }
    new = [text for text in texts if text not in cut]
    if new:  # a segmenter with the part of the dictionary the new texts need
        added = cache.added_words() if cache is not None else None
        segmenter = Segmenter(Vocabulary.load(), places, texts=new, added=added)
        if cache is not None and segmenter.added != added:
            cache.keep_added_words(segmenter.added)
        for text in new:
            cut[text] = segmenter.terms(text)
            if cache is not None:
                cache.put(digests[text], cut[text])
    ticket_ids: list[str] = []
    terms: list[str] = []
    for ticket_id, text in rows:
        for term in cut[text]:
            ticket_ids.append(ticket_id)
            terms.append(term)
    if cache is not None:
        cache.save()
    return pa.table({"ticket_id": pa.array(ticket_ids, pa.string()), "term": pa.array(terms, pa.string())})
