"""Reading real pastes: encodings, line endings and the log formats SMS and ConfigMgr write."""

from __future__ import annotations

import codecs

import pytest

from service.decoding import DecodeError, decode_text
from service.normalize import parse_line, parse_paste

SMS2 = (
    "Trying to open IPC connection with APM...  CCIM32  $$<CCIM32><Thu Jul 26 14:22:53.512 2001 "
    "Pacific Standard Time><thread=1600 (0x640)>"
)


@pytest.mark.parametrize(
    ("line", "message", "component", "kind"),
    [
        (SMS2, "Trying to open IPC connection with APM...", "CCIM32", "sms2"),
        (
            "Waiting for the trigger file~  $$<SMS_SCHEDULER><Wed Nov 06 08:49:37 1996~><thread=D7>",
            "Waiting for the trigger file",
            "SMS_SCHEDULER",
            "sms1",
        ),
        (
            "Sending message to ABC $$<SMS_REPLICATION><06-07-2015 13:11:09.448-600>"
            "<thread=6708 (0x1A34)>",
            "Sending message to ABC",
            "SMS_REPLICATION",
            "configmgr",
        ),
        (
            '<![LOG[Failed to download policy]LOG]!><time="13:11:09.448-600" date="06-07-2015" '
            'component="PolicyAgent" context="" type="3" thread="6708" file="policyagent.cpp:12">',
            "Failed to download policy",
            "PolicyAgent",
            "cmtrace",
        ),
        (
            'Component "Remote Control" moved from index 0 to 6  CCIM32',
            'Component "Remote Control" moved from index 0 to 6',
            "CCIM32",
            "plain",
        ),
        ("ERROR: Unable to connect.~~  CCIM32", "ERROR: Unable to connect.", "CCIM32", "plain"),
        ("2001-07-26 14:22:53,512 ERROR: disk full", "ERROR: disk full", None, "timestamped"),
        ("[07/26/2001 14:22:53] Service started", "Service started", None, "timestamped"),
        (
            "Jul 26 14:22:53 host sshd[1]: session opened",
            "host sshd[1]: session opened",
            None,
            "timestamped",
        ),
    ],
)
def test_formats_are_recognised_and_trailers_removed(line, message, component, kind) -> None:
    assert parse_line(line) == (message, component, kind)


def test_cmtrace_messages_spanning_lines_are_joined() -> None:
    text = (
        '<![LOG[Failed to run the program\r\nbecause the file was missing]LOG]!><time="1" '
        'date="2" component="Exec" context="" type="3" thread="1" file="exec.log">\r\n'
        '<![LOG[Next record]LOG]!><time="1" date="2" component="Exec" context="" type="1" '
        'thread="1" file="exec.log">\r\n'
    )
    paste = parse_paste(text)
    assert [r.message for r in paste.lines] == [
        "Failed to run the program\nbecause the file was missing",
        "Next record",
    ]
    assert [r.number for r in paste.lines] == [1, 3]
    assert paste.format == "cmtrace"
    assert paste.log_files == ["exec.log"]


def test_header_lines_name_the_log_file_of_the_lines_below() -> None:
    paste = parse_paste("Ccim32.log:\n\tTrying to open IPC connection\n\nClisvc.log\nStarted\n")
    headers = [r for r in paste.lines if r.is_header]
    assert [h.message for h in headers] == ["Ccim32.log", "Clisvc.log"]
    records = [r for r in paste.lines if not r.is_header]
    assert [(r.message, r.log_file, r.number) for r in records] == [
        ("Trying to open IPC connection", "Ccim32.log", 2),
        ("Started", "Clisvc.log", 5),
    ]
    assert paste.log_files == ["Ccim32.log", "Clisvc.log"]


def test_blank_lines_and_line_endings() -> None:
    paste = parse_paste("one\r\n\r\ntwo\rthree\n")
    assert [r.message for r in paste.lines] == ["one", "two", "three"]
    assert paste.physical_lines == 4


@pytest.mark.parametrize(
    "body",
    [
        b"Trying to open IPC connection",
        codecs.BOM_UTF8 + b"Trying to open IPC connection",
        codecs.BOM_UTF16_LE + "Trying to open IPC connection".encode("utf-16-le"),
        codecs.BOM_UTF16_BE + "Trying to open IPC connection".encode("utf-16-be"),
        "Trying to open IPC connection".encode("utf-16-le"),
    ],
)
def test_encodings_windows_tools_write_are_decoded(body: bytes) -> None:
    assert decode_text(body) == "Trying to open IPC connection"


def test_undecodable_bytes_are_reported_with_their_offset() -> None:
    with pytest.raises(DecodeError) as caught:
        decode_text(b"abc\xff\xfedef\xc3")
    assert caught.value.offset == 3
    assert decode_text(b"caf\xe9", "windows-1252") == "caf\u00e9"
