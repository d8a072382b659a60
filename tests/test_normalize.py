"""The normaliser: one rule per case, and the same line written two ways reduces to one form."""

from __future__ import annotations

import time

import pytest

from service.normalize import is_descriptive, looks_like_prose, normalize, simplify


def sig(text: str) -> str:
    return normalize(text).signature


@pytest.mark.parametrize(
    ("one", "other"),
    [
        # drive paths: the folders differ, the file is the same
        (
            r"ERROR: Failed to start C:\WINDOWS\MS\SMS\CLICOMP\SWDist32\bin\smswiz32.exe",
            r"ERROR: Failed to start D:\WINNT\MS\SMS\CLICOMP\bin\smswiz32.exe",
        ),
        # UNC paths with other servers, shares and more segments
        (
            r"The CAP base release (from \\SMSPDC20\CAP_PET\clicomp.box\base) is 2.00.1380.1",
            r"The CAP base release (from \\NYCSRV07\CAP_NYC\x\y\clicomp.box\base) is 2.00.1380.9",
        ),
        # site codes, one or several
        ("No COMPVER.INI found for site SEC", "No COMPVER.INI found for site A01"),
        ("Could not reach sites ABC", "Could not reach sites ABC, DEF and XY1"),
        # versions of any length
        ("Base client files are version 2.0.1493.2005", "Base client files are version 2.0.1380"),
        # GUIDs
        (
            "Policy {3A1B2C3D-1111-2222-3333-444455556666} is not valid",
            "Policy {00000000-AAAA-BBBB-CCCC-DDDDEEEEFFFF} is not valid",
        ),
        # dates and times inside the message
        ("Job started 2001-07-26 14:22:53", "Job started 12/31/1999 23:59"),
        # large machine-specific numbers
        (
            "Allocated handle 0x0045FA30 for request 123456789",
            "Allocated handle 0x99AB12 for request 42424242",
        ),
        # user accounts
        (r"Access check failed for CORP\jsmith", r"Access check failed for EUROPE\admin2"),
        # IP addresses and host names
        (
            "Cannot connect to server SMSPDC20 at 10.1.2.3",
            "Cannot connect to server NYCSRV07 at 192.168.0.10",
        ),
        # case, spacing and trailing ~ do not count
        (
            "Lic Client - Not launching until CCIM indicates that it's safe to do so~",
            "lic client -   not launching until ccim indicates that it's safe to do so",
        ),
    ],
)
def test_instance_data_does_not_change_the_signature(one: str, other: str) -> None:
    assert sig(one) == sig(other)


@pytest.mark.parametrize(
    "spelling", ["2147942405", "0x80070005", "-2147024891", "80070005", "0X80070005"]
)
def test_one_hresult_written_any_way_is_one_code(spelling: str) -> None:
    normal = normalize(f"Failed to write the cache file, error {spelling}")
    assert normal.codes == ("0x80070005",)
    assert normal.signature == sig("Failed to write the cache file, error 0x80070005")


def test_error_codes_that_define_the_problem_survive() -> None:
    assert sig("Failed with error 0x80070005") != sig("Failed with error 0x80070002")
    assert sig("Win32 Error: 5") != sig("Win32 Error: 2")
    # a small hex code and its decimal spelling are the same code
    assert sig("Error launching (#0x5)") == sig("Error launching (#5)")


def test_file_names_stay_as_evidence() -> None:
    normal = normalize(r"ERROR: Failed to start C:\WINDOWS\MS\SMS\bin\smsmon32.exe")
    assert "smsmon32.exe" in normal.terms
    assert "<path>" in normal.signature
    assert sig(r"Failed to start C:\x\smsmon32.exe") != sig(r"Failed to start C:\x\smswiz32.exe")


def test_terms_leave_out_placeholders_and_stop_words() -> None:
    normal = normalize("No COMPVER.INI found for site SEC - defaulting to 2.00.0000.0000")
    assert normal.terms == ("compver.ini", "found", "site", "defaulting")


def test_simplify_keeps_words_and_drops_only_case_spacing_and_tildes() -> None:
    assert simplify("  ERROR:  Unable  to open~~ ") == "error: unable to open"


def test_prose_is_told_from_log_lines() -> None:
    assert looks_like_prose("our clients never get the software advertisements any more")
    assert not looks_like_prose("0x80070005 C:\\x\\y.exe (#5)")


@pytest.mark.parametrize(
    "line",
    [
        "A" * 100_000,
        "\\" * 50_000 + "x",
        "(" * 20_000 + ")" * 20_000,
        "<" * 30_000 + ">" * 30_000,
        "site " * 20_000,
        "1." * 40_000,
        "C:\\" + "a\\" * 30_000,
        "-" * 60_000 + "9" * 30,
    ],
)
def test_adversarial_lines_are_normalised_quickly(line: str) -> None:
    # Not a timing assertion on speed, a guard against catastrophic backtracking: a quadratic
    # or exponential pattern takes minutes on these inputs, a linear one milliseconds.
    started = time.process_time()
    normalize(line)
    assert time.process_time() - started < 2.0


@pytest.mark.parametrize(
    ("line", "descriptive"),
    [
        ("    Machine Name: LAB-PC-07", True),
        ("Service Pack = 3", True),
        ("*----> Thread Summary <----*", True),
        ("  318 winword.exe", True),
        ("Error: Access is denied", False),
        ("Return code: 1603", False),
        ("Status: 0x80070005", False),
        ("C4127: conditional expression is constant.", False),
        ("Description : The thread used up its stack.", False),
        ("Failed to enumerate sites", False),
    ],
)
def test_lines_that_describe_a_machine_are_told_from_lines_that_report(
    line: str, descriptive: bool
) -> None:
    assert is_descriptive(line) is descriptive


@pytest.mark.parametrize(
    ("article", "log"),
    [
        (
            r"Cannot open the remote file \\<server>\SMS_SITE\2_4O7PRI.PCK, Win32 error = 32.",
            r"Cannot open the remote file \\CORPDC1\SMS_SITE\2_4O7PRI.PCK, Win32 error = 32.",
        ),
        (
            r"Unable to find file License.txt under <Package_folder>\..\..\Smssetup",
            r"Unable to find file License.txt under D:\pkg\x86\..\..\Smssetup",
        ),
    ],
)
def test_a_placeholder_inside_a_path_is_part_of_the_path(article: str, log: str) -> None:
    assert normalize(article).signature == normalize(log).signature


def test_a_placeholder_before_a_colon_is_not_a_drive() -> None:
    assert normalize("Error <code>: the copy failed").signature == "error <x> the copy failed"


def test_the_signature_stop_words_change_only_with_the_line_keys_format() -> None:
    # Stored line keys are hashes of signatures, which leave these words out; an existing store
    # rebuilds its keys only when LINE_KEYS_FORMAT changes, so the two must change together.
    import hashlib

    from service.article_text import LINE_KEYS_FORMAT
    from service.stop_words import SIGNATURE_STOP_WORDS

    words = hashlib.sha256(" ".join(sorted(SIGNATURE_STOP_WORDS)).encode()).hexdigest()[:12]
    assert (LINE_KEYS_FORMAT, words) == (14, "0713722309cb")
