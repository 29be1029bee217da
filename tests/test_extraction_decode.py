"""Decoding: UTF-8 / GBK / GB18030 / Big5 x (header only, meta only, wrong, none)."""

from __future__ import annotations

import pytest

from newswatch.extraction.decode import decode_html, fix_mojibake

ZH_S = "人工智能的发展是当前科技领域最受关注的话题之一，在这个过程中，我们看到了很多新的公司。"
ZH_T = "人工智慧的發展是當前科技領域最受關注的話題之一，在這個過程中，我們看到了很多新的公司。"
# (name, text, codec that produces the bytes, wrong meta label, wrong header label)
ENCODINGS = [
    ("utf-8", ZH_S, "utf-8", "gb2312", "iso-8859-1"),
    ("gbk", ZH_S, "gbk", "utf-8", "iso-8859-1"),
    ("gb18030", ZH_S + "𠮷𪚥", "gb18030", "utf-8", "utf-8"),  # ext-B: not in GBK
    ("big5", ZH_T, "big5", "gb2312", "utf-8"),
]


def page(text: str, meta: str | None) -> str:
    m = f'<meta http-equiv="Content-Type" content="text/html; charset={meta}">' if meta else ""
    return f"<html><head>{m}<title>Title</title></head><body><p>{text}</p></body></html>"


@pytest.mark.parametrize("mode", ["header", "meta", "wrong-meta", "wrong-header", "none"])
@pytest.mark.parametrize("name,text,codec,wrong_meta,wrong_header", ENCODINGS,
                         ids=[e[0] for e in ENCODINGS])
def test_decoding(name, text, codec, wrong_meta, wrong_header, mode):
    meta = {"meta": codec, "wrong-meta": wrong_meta}.get(mode)
    header = {"header": codec, "wrong-header": wrong_header}.get(mode)
    body = page(text, meta).encode(codec)
    decoded, used = decode_html(body, header)
    assert text in decoded
    assert used in {"utf-8": ("utf-8",), "gbk": ("gb18030",), "gb18030": ("gb18030",),
                    "big5": ("big5hkscs", "big5", "cp950")}[name]


def test_big5_declared_as_gb2312_is_not_read_as_gb18030():
    body = page(ZH_T * 3, "gb2312").encode("big5")
    assert body.decode("gb18030", "replace").count("\ufffd") < 5  # the trap: it "works"
    decoded, used = decode_html(body, "gb2312")
    assert ZH_T in decoded and used.startswith("big5")


def test_bom_wins_and_is_removed():
    decoded, used = decode_html(b"\xef\xbb\xbf" + page(ZH_S, "gbk").encode("utf-8"), "gbk")
    assert used == "utf-8" and decoded.startswith("<html>") and ZH_S in decoded


def test_latin1_page_stays_latin():
    text = "Le modèle été entraîné à Paris, déjà très utilisé."
    decoded, used = decode_html(page(text, "iso-8859-1").encode("cp1252"), None)
    assert text in decoded and used == "cp1252"


def test_truncated_utf8_still_utf8():
    body = page(ZH_S * 20, None).encode("utf-8")[:-2]
    decoded, used = decode_html(body + "的".encode()[:2], None)
    assert used == "utf-8" and ZH_S in decoded


@pytest.mark.parametrize("body", [b"", b"\x00\x01\x02\xff\xfe\xfa", bytes(range(256)) * 4])
def test_garbage_never_raises(body):
    text, codec = decode_html(body, "no-such-charset")
    assert isinstance(text, str) and codec


def test_fix_mojibake():
    pytest.importorskip("ftfy")
    broken = "中文字符，模型发布".encode().decode("latin-1")
    assert fix_mojibake("AI " + broken) == "AI 中文字符，模型发布"
    assert fix_mojibake("Ã©tÃ© Ã©crit") == "été écrit"
    assert fix_mojibake("plain text, déjà vu") == "plain text, déjà vu"


# --- single-byte Western pages (issue 9 item 14) -------------------------------------------
EN_ELLIPSIS = "The model was released today\u2026 and the benchmarks followed within hours."
# an ordinary page is a few kilobytes of ASCII markup and text around the odd non-ASCII byte
FILLER = "<p>Researchers compared the new system with earlier ones on public tests.</p>" * 40


@pytest.mark.parametrize("label", ["windows-1252", "iso-8859-1"])
@pytest.mark.parametrize("where", ["meta", "header"])
def test_declared_single_byte_beats_utf8_with_a_cut_character(label, where):
    # one 0x85 byte ("…" in windows-1252) in an otherwise ASCII page: not UTF-8 with a cut
    # character, the declaration is right
    body = page(FILLER + EN_ELLIPSIS, label if where == "meta" else None).encode("cp1252")
    assert body.count(b"\x85") == 1
    decoded, used = decode_html(body, label if where == "header" else None)
    assert EN_ELLIPSIS in decoded and "\ufffd" not in decoded
    assert used == "cp1252"


def test_utf8_page_with_a_cut_character_declared_latin1_stays_utf8():
    # a server default "iso-8859-1" header on a UTF-8 page cut short: the bytes win
    text = "Déjà vu: le modèle a été entraîné à Paris — très utilisé. " * 10
    body = page(FILLER + text, None).encode("utf-8") + "é".encode()[:1]
    decoded, used = decode_html(body, "iso-8859-1")
    assert used == "utf-8" and text in decoded


@pytest.mark.parametrize("text", [
    "Vielä Grüße aus München, sagte er. Das Modell läuft schneller als erwartet.",
    "Le modèle été entraîné à Paris, déjà très utilisé par les équipes.",
    "Vielä",
])
def test_undeclared_western_page_prefers_windows_1252(text):
    decoded, used = decode_html(page(FILLER + text, None).encode("cp1252"), None)
    assert text in decoded and used == "cp1252"


def test_undeclared_cyrillic_page_is_not_read_as_windows_1252():
    text = "Новая модель искусственного интеллекта вышла сегодня, сообщили разработчики."
    decoded, used = decode_html(page(text, None).encode("cp1251"), None)
    assert text in decoded
