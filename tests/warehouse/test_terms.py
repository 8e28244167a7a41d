"""fct_ticket_term's build step: every ticket's terms, each text cut once per vocabulary, the cut kept in the
home's cache between builds and dropped when the vocabulary or the register changes."""

from __future__ import annotations

import itertools

import duckdb
import pyarrow.parquet as pq
import pytest

import warehouse.terms as terms_module
from warehouse.terms import Segmenter, TermCache, Vocabulary, ticket_terms


def _release(places: list[str], texts: dict[str, tuple[str | None, str | None]]) -> duckdb.DuckDBPyConnection:
    """The marts ticket_terms reads: the register's names and the tickets' titles and texts."""
    con = duckdb.connect()
    con.execute("CREATE TABLE dim_community (name VARCHAR)")
    con.execute("CREATE TABLE dim_grid (name VARCHAR)")
    con.execute("CREATE TABLE stg_grid_unit (compound VARCHAR)")
    for place in places:
        con.execute("INSERT INTO dim_community VALUES (?)", [place])
    con.execute("CREATE TABLE fct_ticket (ticket_id VARCHAR, title VARCHAR, content VARCHAR)")
    for ticket_id, (title, content) in texts.items():
        con.execute("INSERT INTO fct_ticket VALUES (?, ?, ?)", [ticket_id, title, content])
    return con


TEXTS = {
    "hotline:1": ("关于停车位的诉求", "金鸡苑地下车库停车位被外来车辆占用"),
    "hotline:2": (None, "金鸡苑地下车库停车位被外来车辆占用"),  # the same complaint, no title
    "forum:3": ("噪音扰民", "夜间施工噪音扰民，影响休息"),
    "grid:4": (None, None),
}


def _rows(table) -> set[tuple[str, str]]:
    return set(zip(table["ticket_id"].to_pylist(), table["term"].to_pylist(), strict=True))


def test_each_ticket_gets_the_terms_of_its_title_and_text(tmp_path):
    table = ticket_terms(_release(["金鸡苑"], TEXTS), tmp_path)
    rows = _rows(table)
    assert len(rows) == table.num_rows  # one row per ticket and term
    by_ticket = {ticket: {term for t, term in rows if t == ticket} for ticket in TEXTS}
    assert {"停车位", "车辆"} <= by_ticket["hotline:1"] and "金鸡苑" not in by_ticket["hotline:1"]
    assert {"停车位", "车辆"} <= by_ticket["hotline:2"]
    assert {"噪音扰民", "夜间施工"} <= by_ticket["forum:3"]
    assert by_ticket["grid:4"] == set()


def test_a_second_build_cuts_no_text_it_has_seen_and_a_changed_register_cuts_again(tmp_path, monkeypatch):
    first = ticket_terms(_release(["金鸡苑"], TEXTS), tmp_path)
    (kept,) = tmp_path.glob("ticket-terms-*")

    def refuse(*_args, **_kwargs):
        raise AssertionError("a text seen before was cut again")

    with monkeypatch.context() as patch:
        patch.setattr(terms_module, "Segmenter", refuse)
        again = ticket_terms(_release(["金鸡苑"], TEXTS), tmp_path)
    assert _rows(again) == _rows(first)
    # A new place in the register changes what a text's terms are: cut again, the old cache dropped.
    assert ("forum:3", "夜间施工") in _rows(first)
    renamed = ticket_terms(_release(["金鸡苑", "夜间施工"], TEXTS), tmp_path)
    assert ("forum:3", "夜间施工") not in _rows(renamed)
    (current,) = tmp_path.glob("ticket-terms-*")
    assert current != kept


def test_a_change_to_the_cutting_rules_in_code_cuts_every_text_again(tmp_path, monkeypatch):
    ticket_terms(_release(["金鸡苑"], TEXTS), tmp_path)
    (kept,) = tmp_path.glob("ticket-terms-*")
    monkeypatch.setattr(terms_module, "RULES_SOURCE", terms_module.RULES_SOURCE + b"# a new rule")
    ticket_terms(_release(["金鸡苑"], TEXTS), tmp_path)
    (current,) = tmp_path.glob("ticket-terms-*")
    assert current != kept


def test_a_damaged_cache_costs_a_slower_build_not_a_failed_one(tmp_path):
    first = ticket_terms(_release([], TEXTS), tmp_path)
    (kept,) = tmp_path.glob("ticket-terms-*")
    (part,) = kept.glob("*.parquet")
    part.write_bytes(b"not parquet")
    assert _rows(ticket_terms(_release([], TEXTS), tmp_path)) == _rows(first)


def test_a_build_adds_a_part_with_only_the_texts_it_cut_and_parts_past_the_limit_merge(tmp_path, monkeypatch):
    """A night brings a few new texts: it writes them alone, not every text ever cut again; the parts are
    merged once there are more than MAX_PARTS, and every text is still found."""
    monkeypatch.setattr(terms_module.TermCache, "MAX_PARTS", 2)
    texts = dict(TEXTS)
    ticket_terms(_release(["金鸡苑"], texts), tmp_path)
    (folder,) = tmp_path.glob("ticket-terms-*")
    for number, text in enumerate(["小区门口垃圾桶满溢无人清运", "楼道堆放杂物堵塞消防通道"], start=5):
        texts[f"grid:{number}"] = (None, text)
        ticket_terms(_release(["金鸡苑"], texts), tmp_path)
        if number == 5:
            newest = max(folder.glob("*.parquet"))
            assert pq.read_table(newest)["digest"].to_pylist() == [TermCache.digest(text)]
    assert len(list(folder.glob("*.parquet"))) == 1  # three parts, merged into one
    assert pq.read_table(next(folder.glob("*.parquet"))).num_rows == len(texts)  # each text once

    def refuse(*_args, **_kwargs):
        raise AssertionError("a text seen before was cut again")

    monkeypatch.setattr(terms_module, "Segmenter", refuse)
    rows = _rows(ticket_terms(_release(["金鸡苑"], texts), tmp_path))
    assert ("grid:6", "消防通道") in rows and ("grid:5", "垃圾桶") in rows


def test_vocabulary_files_are_read_as_words_with_comments():
    vocabulary = Vocabulary.load()
    assert "停车位" in vocabulary.governance and "我们" in vocabulary.stop_words
    assert not any(word.startswith("#") for word in vocabulary.stop_words | set(vocabulary.governance))
    assert "ns" in vocabulary.excluded_tags and vocabulary.min_length == 2


@pytest.fixture(scope="module")
def segmenter():
    return Segmenter(Vocabulary.load())


@pytest.mark.parametrize("text", ["", None, "。。。", "12345 67890", "ＡＢＣ abc"])
def test_text_with_no_words_has_no_terms(segmenter, text):
    assert segmenter.terms(text) == []


def test_the_whole_dictionary_is_the_prefix_dictionary_jieba_builds():
    import jieba

    frequencies, total = jieba.Tokenizer.gen_pfdict(jieba.get_dict_file())
    ours, our_total, tags = terms_module._dictionary()
    assert our_total == total and ours == frequencies
    assert tags["北京"] == "ns" and tags["的"] == "uj"  # read from the same file's third column


def _real_texts(realdata, count: int) -> list[str]:
    """Citizens' messages from the real export: title and text, as a ticket's text is put together."""
    import openpyxl

    sheet = openpyxl.load_workbook(realdata / "messages" / "messages_2019.xlsx", read_only=True).active
    rows = sheet.iter_rows(min_row=2, values_only=True)
    return ["。".join(str(value) for value in (row[2], row[4]) if value) for row in itertools.islice(rows, count)]


def test_a_segmenter_for_a_nights_texts_cuts_them_as_the_whole_dictionary_does(segmenter, realdata):
    """A night's segmenter holds only the dictionary's words found in its texts; each text comes out the same."""
    hostile = [
        "ＡＢＣ停车位abc123",
        "中华人民共和国国务院办公厅",
        "“噪音”扰民！！！😀",
        "的的的的",
        "人工智能机器学习",
        "请劳动和社会保障部职业技能鉴定中心核实",
    ]  # the longest word jieba knows (16)
    texts = [*_real_texts(realdata, 400), *hostile]
    places = ["澳韵社区", "金鸡苑"]
    whole = Segmenter(Vocabulary.load(), places)
    night = Segmenter(Vocabulary.load(), places, texts=texts)
    assert len(night.tokenizer.FREQ) < len(whole.tokenizer.FREQ) / 4
    assert night.tokenizer.total == whole.tokenizer.total
    for text in texts:
        assert night.tokenizer.lcut(text, HMM=False) == whole.tokenizer.lcut(text, HMM=False), text
        assert night.terms(text) == whole.terms(text), text


def test_many_texts_take_the_whole_dictionary(monkeypatch):
    monkeypatch.setattr(terms_module, "RESTRICTED_CHARACTERS", 10)
    many = Segmenter(Vocabulary.load(), texts=["金鸡苑地下车库停车位被外来车辆占用"])
    assert len(many.tokenizer.FREQ) >= len(terms_module._dictionary()[0])


def test_a_nights_segmenter_adds_the_words_an_earlier_one_kept_without_cutting_them(tmp_path, monkeypatch):
    """The frequencies that cut the governance phrases and places whole cost a cut of each: a build keeps them
    beside its terms, and the next build with new texts adds them as they are. Its cuts are the same."""
    places = ["澳韵社区", "金鸡苑", "金鸡苑东区", "星湖街"]
    first = ticket_terms(_release(places, TEXTS), tmp_path)
    (folder,) = tmp_path.glob("ticket-terms-*")
    kept = TermCache(tmp_path, folder.name.removeprefix("ticket-terms-")).added_words()
    assert [word for word, _ in kept][-len(places) :] == sorted(places)
    fresh = Segmenter(Vocabulary.load(), places)
    assert kept == fresh.added  # what a segmenter computes for the same phrases

    def no_cut(*_args, **_kwargs):
        raise AssertionError("a phrase was cut for its frequency again")

    texts = {**TEXTS, "forum:5": ("澳韵社区星湖街路灯不亮", "金鸡苑东区门口的路灯坏了")}
    with monkeypatch.context() as patch:
        patch.setattr(terms_module.jieba.Tokenizer, "suggest_freq", no_cut)
        night = _rows(ticket_terms(_release(places, texts), tmp_path))
    assert _rows(first) <= night
    new_terms = {term for ticket, term in night if ticket == "forum:5"}
    assert new_terms == set(fresh.terms("。".join(texts["forum:5"]))) and "路灯" in new_terms


def test_kept_words_for_other_phrases_or_damaged_are_not_used(tmp_path):
    places = ["金鸡苑", "星湖街"]
    fresh = Segmenter(Vocabulary.load(), places)
    other = Segmenter(Vocabulary.load(), ["澳韵社区"]).added
    assert Segmenter(Vocabulary.load(), places, added=other).added == fresh.added
    changed = [(word, freq + 1000) for word, freq in fresh.added[:-1]]  # one phrase short: not these phrases
    assert Segmenter(Vocabulary.load(), places, added=changed).added == fresh.added
    cache = TermCache(tmp_path, "x")
    cache.folder.mkdir()
    (cache.folder / terms_module.ADDED_WORDS).write_text('{"not": "a list of pairs"', encoding="utf-8")
    assert cache.added_words() is None
