"""Personal data (PIPL): the one place that finds phone and ID numbers and masks or hashes them.

The pipeline masks in DuckDB (a SQL expression per field, see `field_sql`) and, for the few texts it
handles in Python (undecodable lines, unmapped code values), with `mask_free_text`. Both use the
same patterns, written once here for RE2 and Python `re` alike: no lookaround (RE2 has none), and
\\b is ASCII-only in RE2, so Python compiles them with re.ASCII; a Chinese character beside a number
is then a boundary in both. The \\b at each end is what spares dates, times, amounts, postcodes and
ticket numbers: a phone-shaped run inside a longer number, or glued to letters (QX13…), is not
taken. \\b does not see full-width digits as digits, so they (and the ID check letter) are made
half-width before matching.

What counts as personal, and what does not:
- mainland mobiles in any common writing (138 1234 5678, 138-1234-5678, +86/0086/86-, full-width,
  in brackets), landlines *with* their area code (0512-67891234, (0512)67891234, +86-512-…),
  18- and 15-digit resident ID numbers (spaced or not, trailing X), longer unbroken runs (bank
  cards), and US-style numbers for 311-type exports;
- service numbers are not a person: 400-/800- numbers, 95xxx and 12345 hotlines stay as written.
  A landline written without its area code (6789 1234) cannot be told from a count or a date and
  is left alone.
- Names: a name field (`pii: mask`) keeps its first character. In free text a name is masked only
  where it stands right before a phone number (张三 13812345678, 王先生：138…, 李四电话138…): the
  number is what makes it a contact, and names elsewhere in prose cannot be found without a model
  and would cost the text its meaning. The name keeps its surname: 张三 13812345678 → 张* ***.
"""

from __future__ import annotations

import re

# `pii:` kinds a contract field may declare (pipelines/contracts.yaml explains each).
PII_KINDS = {"hash", "mask", "text", "id"}
MASK = "***"

FULL_WIDTH = "０１２３４５６７８９Ｘｘ"
HALF_WIDTH = "0123456789Xx"
_SEP = "[-. \u3000\uff0d\u2013\u2014]?"  # at most one separator between digit groups (hyphens, dot, spaces)
_OPEN, _CLOSE, _PLUS = "[(\uff08]", "[)\uff09]", "[+\uff0b]"
_CHINA_CODE = rf"(?:{_PLUS}86|\b0086|\b86|{_OPEN}{_PLUS}?86{_CLOSE}){_SEP}"
# 138 1234 5678, 138-1234-5678, +86 13812345678, 0086-138…, (+86)138…
_MOBILE = rf"(?:{_CHINA_CODE}|\b)1[3-9][0-9](?:{_SEP}[0-9]{{4}}){{2}}\b"
# 0512-6789 1234, (0512)67891234, 021 6789 1234, +86 21 6789 1234, 86-512-…: only with the area code.
# An area code starts with 0 (1–3 digits after it), so 400-/800- service numbers never qualify here.
_AREA_CODE = (
    rf"(?:{_OPEN}0[1-9][0-9]{{1,2}}{_CLOSE}|\b0[1-9][0-9]{{1,2}}"
    rf"|(?:{_PLUS}|\b00)86{_SEP}{_OPEN}?[1-9][0-9]{{1,2}}{_CLOSE}?|\b86-[1-9][0-9]{{1,2}})"
)
_LANDLINE = rf"{_AREA_CODE}{_SEP}[2-9][0-9]{{2,3}}{_SEP}[0-9]{{4}}\b"
# 212-555-0199, (212) 555-0199, +1 212 555 0199, 1-212-555-0199. Unprefixed, the groups must be joined
# by hyphens or dots: "300 500 1000" in a Chinese ticket is three amounts. 400 and 800 are left out as
# area codes: 400-800-1234 is a Chinese company's service line (and 800 a toll-free one), not a person.
_NANP_AREA = "(?:[235-79][0-9]{2}|[48](?:0[1-9]|[1-9][0-9]))"
_NANP = "[2-9][0-9]{2}"
_US = (
    rf"(?:(?:{_PLUS}1{_SEP}|\b1[-. ])?{_OPEN}{_NANP_AREA}{_CLOSE}{_SEP}{_NANP}{_SEP}[0-9]{{4}}\b"
    rf"|{_PLUS}1{_SEP}{_NANP_AREA}{_SEP}{_NANP}{_SEP}[0-9]{{4}}\b"
    rf"|\b(?:1[-.])?{_NANP_AREA}[-.]{_NANP}[-.][0-9]{{4}}\b)"
)
PHONE_PATTERN = rf"(?:[Tt][Ee][Ll]:)?(?:{_MOBILE}|{_LANDLINE}|{_US})"
# 18 digits (320502 19900101 1234 grouped 6-8-4 or 6-4-4-4), the old 15 digits (6 + yymmdd + 3, the date
# checked so a 15-digit serial rarely qualifies, grouped 6-6-3 or not), and any longer unbroken run.
ID_NUMBER_PATTERN = (
    rf"(?:\b[0-9]{{6}}{_SEP}[0-9]{{4}}{_SEP}[0-9]{{4}}{_SEP}[0-9]{{3}}[0-9Xx]\b"
    rf"|\b[0-9]{{6}}{_SEP}[0-9]{{2}}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01]){_SEP}[0-9]{{3}}\b"
    rf"|\b[0-9]{{18,}}\b)"
)
PII_TEXT_PATTERN = f"{ID_NUMBER_PATTERN}|{PHONE_PATTERN}"

# The most common surnames cover most of the population. Left out are those that are also everyday words
# before a number (白天, 高新区, 常用, 方便, 于, 向, 金额, 万元…): masking them would cost the text, not a name.
# A name is two or three characters, then maybe a label (电话, 手机…) and a colon, space or bracket.
COMMON_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范廖贾夏韦付邹孟熊秦邱尹薛闫段雷侯陶贺顾郝龚邵钱覃戴莫孔汤葛施洪倪牛柳"
)
_HAN = "[\u4e00-\u9fff]"
_LABEL = "(?:联系电话|联系方式|电话|手机|手机号|座机|电|tel|TEL|Tel)?"
_NAME_GAP = "([:：,， (（\u3000]?" + _LABEL + "[:：]?[ \u3000]?)"
NAME_BEFORE_PHONE_PATTERN = f"([{COMMON_SURNAMES}]){_HAN}{{1,2}}{_NAME_GAP}(?:{PHONE_PATTERN})"

_PII_TEXT = re.compile(PII_TEXT_PATTERN, re.ASCII)
_NAME_BEFORE_PHONE = re.compile(NAME_BEFORE_PHONE_PATTERN, re.ASCII)
_TO_HALF_WIDTH = str.maketrans(FULL_WIDTH, HALF_WIDTH)
_HAN_RUN = re.compile(f"({_HAN}){_HAN}+")
# A hashed phone is keyed by its national number: +86 / 0086 / 86 and tel: are writing, not identity.
# Applied after everything but digits and letters is gone; the one group that matched is kept.
_PHONE_KEY = r"^(?:[Tt][Ee][Ll])?(?:(?:00)?86)?(1[3-9][0-9]{9})$|^[Tt][Ee][Ll]([0-9]+)$"


def mask_free_text(text: str) -> str:
    """The text with every phone and ID number replaced by ***, and a name right before a phone cut to
    its surname; full-width digits (and Ｘ) come back half-width."""
    half = text.translate(_TO_HALF_WIDTH)
    return _PII_TEXT.sub(MASK, _NAME_BEFORE_PHONE.sub(rf"\1*\2{MASK}", half))


def mask_unreadable_line(text: str) -> str:
    """A line that could not be parsed into fields (bad bytes, wrong field count): its columns are
    unknown, so a name cannot be told from a category. Numbers are masked as in free text, and every
    run of Chinese characters keeps only its first: enough to recognise the line in the export."""
    return _HAN_RUN.sub(lambda m: m.group(1) + "*" * (len(m.group(0)) - 1), mask_free_text(text))


def sql_literal(value: str) -> str:
    """`value` as a SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def _half_width_sql(value: str) -> str:
    # translate() costs a few microseconds a row; only the rare value with a full-width character pays it.
    has_full_width = " OR ".join(f"contains({value}, {sql_literal(c)})" for c in FULL_WIDTH)
    return (
        f"CASE WHEN {has_full_width} THEN translate({value}, {sql_literal(FULL_WIDTH)}, {sql_literal(HALF_WIDTH)}) "
        f"ELSE {value} END"
    )


def _hash_sql(key: str) -> str:
    # Letters only: a hash can then never look like a phone or ID number to a later scan.
    return f"translate(sha256($salt || {key})[:16], '0123456789', 'ghijklmnop')"


def text_sql(value: str) -> str:
    """SQL for mask_free_text over a text value."""
    half = _half_width_sql(value)
    names = f"regexp_replace({half}, {sql_literal(NAME_BEFORE_PHONE_PATTERN)}, '\\1*\\2{MASK}', 'g')"
    # Most text holds no number to mask: one search tells, and only the rest pays for the two rewrites.
    return (
        f"CASE WHEN regexp_matches({half}, {sql_literal(PII_TEXT_PATTERN)}) "
        f"THEN regexp_replace({names}, {sql_literal(PII_TEXT_PATTERN)}, {sql_literal(MASK)}, 'g') ELSE {half} END"
    )


def field_sql(kind: str | None, value: str) -> str:
    """SQL that masks a text value according to a field's pii kind (salt bound as $salt).

    hash: the salted hash of the value (a phone keyed by its national number), for joins and dedup;
    mask: the first character kept (names); text: free text, phone and ID numbers masked;
    id: an identifier that is kept unless it carries a phone or ID number, in which case the whole
    value becomes its salted hash — the same in every table, so a ticket's events still find it.
    """
    if kind == "hash":
        # One caller, one hash: full-width digits, separators, +86 and tel: do not change the key.
        digits = f"regexp_replace({_half_width_sql(value)}, '[^0-9A-Za-z]', '', 'g')"
        return _hash_sql(f"regexp_replace({digits}, {sql_literal(_PHONE_KEY)}, '\\1\\2')")
    if kind == "mask":
        return f"left({value}, 1) || repeat('*', greatest(length({value}) - 1, 1))"
    if kind == "text":
        return text_sql(value)
    if kind == "id":
        half = _half_width_sql(value)
        return (
            f"CASE WHEN regexp_matches({half}, {sql_literal(PII_TEXT_PATTERN)}) THEN {_hash_sql(half)} ELSE {value} END"
        )
    return value
