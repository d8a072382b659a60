"""Error codes in log lines: found where a line says it reports one, named from the table."""

from __future__ import annotations

import pytest

from service.error_codes import KINDS, find_codes, table

ACCESS_DENIED = ("win32", "ERROR_ACCESS_DENIED")


def decoded(line: str) -> list[tuple[str, str, str | None]]:
    return [(c.code, c.kind, c.name) for c in find_codes(line)]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # Win32 errors, said in the words logs use
        ("Unable to open the service control manager. Win32 Error: 5", [("5", *ACCESS_DENIED)]),
        ("Widget agent - Error launching (#0x5)  C:\\W\\AGENT.EXE>", [("0x5", *ACCESS_DENIED)]),
        ("Widget::ResolvePending returned 123  WIDGET", [("123", "win32", "ERROR_INVALID_NAME")]),
        ("Register widget; return code =5", [("5", *ACCESS_DENIED)]),
        (
            "Error 1069: the widget service did not start",
            [("1069", "win32", "ERROR_SERVICE_LOGON_FAILED")],
        ),
        ("connect failed, GetLastError() = 1722", [("1722", "win32", "RPC_S_SERVER_UNAVAILABLE")]),
        ("Widget upload failed with error 10061", [("10061", "win32", "WSAECONNREFUSED")]),
        # NET errors: 2100-2999 are the LAN Manager's
        ("System error 2186 has occurred.", [("2186", "net", "NERR_ServiceCtlTimeout")]),
        ("NET HELPMSG 2221", [("2221", "net", "NERR_UserNotFound")]),
        ("Error 2182", [("2182", "net", "NERR_ServiceInstalled")]),
        # HRESULTs, however written; a Win32 one is named from the Win32 list
        ("write failed, hr=0x80070005", [("0x80070005", "hresult", "E_ACCESSDENIED")]),
        ("write failed, error -2147024891", [("-2147024891", "hresult", "E_ACCESSDENIED")]),
        ("write failed 80070005", [("80070005", "hresult", "E_ACCESSDENIED")]),
        ("open failed 0x80070002", [("0x80070002", "hresult", "ERROR_FILE_NOT_FOUND")]),
        ("query failed 0x80004005", [("0x80004005", "hresult", "E_FAIL")]),
        ("WMI query failed 0x80041010", [("0x80041010", "hresult", "WBEM_E_INVALID_CLASS")]),
        ("call failed, error 0x80990001", [("0x80990001", "hresult", None)]),
        # NTSTATUS and stop codes
        (
            "widget.exe exited with 0xC0000005",
            [("0xC0000005", "ntstatus", "STATUS_ACCESS_VIOLATION")],
        ),
        ("loader says 0xc000007b", [("0xc000007b", "ntstatus", "STATUS_INVALID_IMAGE_FORMAT")]),
        (
            "*** STOP: 0x0000007B (0xF741B84C,0xC0000034,0x00000000,0x00000000)",
            [
                ("0x0000007B", "bugcheck", "INACCESSIBLE_BOOT_DEVICE"),
                ("0xC0000034", "ntstatus", "STATUS_OBJECT_NAME_NOT_FOUND"),
            ],
        ),
        ("STOP 0xC000021A", [("0xC000021A", "bugcheck", "STATUS_SYSTEM_PROCESS_TERMINATED")]),
        # SMS status message IDs, only where the line says it is one
        ("Received status message 10006 for the widget", [("10006", "sms", "Program failed")]),
        ("Message ID: 10018", [("10018", "sms", "Advertisement rejected (platform)")]),
        # one code written twice is listed once, as first written
        ("error 5, then error 0x5, then Win32 Error: 5", [("5", *ACCESS_DENIED)]),
    ],
)
def test_codes_are_found_and_named(line: str, expected: list) -> None:
    assert decoded(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        "The query returned 5 rows",
        "Copied 5 files to \\\\WIDGET\\share",
        "Listening on port 2186",
        "Thread 0xF741B84C started",
        "Message ID: 2302",
        "status message 10099 arrived",
        "SQL Err #10007 Sev 5: general error",
        "Win32 Error: 0",
        "5 errors were found",
        "Elapsed: 1 hr 5 min",
        "Registered class {80004005-1234-5678-9ABC-DEF012345678}",
    ],
)
def test_numbers_that_are_not_codes_are_left_alone(line: str) -> None:
    assert decoded(line) == []


def test_every_code_has_a_kind_a_name_and_a_meaning() -> None:
    rows = table()
    assert {kind for kind, _ in rows} == set(KINDS)
    assert all(name.strip() and meaning.strip() for name, meaning in rows.values())
    assert rows[("win32", 5)][0] == "ERROR_ACCESS_DENIED"
    assert rows[("net", 2186)][0] == "NERR_ServiceCtlTimeout"


def test_a_line_of_many_keywords_without_codes_still_gives_its_code() -> None:
    line = "error: " * 2_000 + "Win32 Error: 5"
    assert decoded(line) == [("5", *ACCESS_DENIED)]
