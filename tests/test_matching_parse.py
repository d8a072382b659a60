"""The parse step: a paste's text into log records, each normalised once."""

from __future__ import annotations

import pytest

from service.matching import PasteTooLarge, parse
from service.normalize import is_descriptive, normalize, signature_key, simplify

SMS_LINE = (
    "Failed to copy C:\\WINNT\\MS\\SMS\\CORE\\BIN\\ccim32.dll, error 5"
    "  $$<CCIM32><Thu Jul 26 14:22:07.512 2001 Pacific Standard Time><thread=1600 (0x640)>"
)


def test_each_record_comes_with_its_normalised_form() -> None:
    paste = parse(f"Ccim32.log:\n{SMS_LINE}\nsomething else went wrong\n", max_lines=10)
    assert [line.number for line in paste.lines] == [2, 3]
    assert paste.log_files == ["Ccim32.log"]
    assert paste.physical_lines == 3
    for line in paste.lines:
        assert line.normal == normalize(line.message)
        assert line.signature == line.normal.signature
    assert "$$<" not in paste.lines[0].message


def test_log_file_headers_are_not_records() -> None:
    paste = parse("Ccim32.log:\n", max_lines=10)
    assert paste.lines == []
    assert paste.log_files == ["Ccim32.log"]


def test_a_line_knows_its_exact_key_and_whether_it_describes() -> None:
    line = parse("The client is installed on drive C:", max_lines=10).lines[0]
    assert line.exact_key == signature_key(simplify(line.message))
    assert line.descriptive is is_descriptive(line.message)


def test_more_lines_than_allowed_is_too_large() -> None:
    with pytest.raises(PasteTooLarge, match="more than 3 lines"):
        parse("a\nb\nc\nd\n", max_lines=3)
    assert len(parse("a\nb\nc\n", max_lines=3).lines) == 3


def test_lines_cut_to_the_allowed_length_are_listed() -> None:
    paste = parse("short\n" + "x" * 50 + "\n", max_lines=10, max_line_chars=20)
    assert paste.truncated == [2]
    assert len(paste.lines[1].message) == 20
