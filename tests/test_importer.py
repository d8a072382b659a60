"""Importing articles: both formats, archives, idempotence, bad files, and the `kb import` CLI."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from service.cli import main as kb_main
from service.config import PROJECT_ROOT
from service.importer import ImportProblem, parse_article
from tests.helpers import built_then_stored_only, make_config

# Written for these tests in the shape of the archive: front matter, tab-indented text,
# underlined headings, a log line wrapped at 80 columns and an SMS trailer.
ARCHIVE_ARTICLE = """---
layout: page
title: "Q251070: SMS: Copylog.tcf Does Not Show Site that Updated Logon Point"
permalink: /kb/251/Q251070/
---

## Q251070: SMS: Copylog.tcf Does Not Show Site that Updated Logon Point

{% raw %}

\tArticle: Q251070
\tProduct(s): Microsoft Systems Management Server
\tVersion(s): winnt:2.0
\tOperating System(s):
\tKeyword(s): kbsms200 kbfix
\tLast Modified: 12-MAR-2001
\t
\t-------------------------------------------------------------------------------
\tThe information in this article applies to:
\t
\t- Microsoft Systems Management Server version 2.0
\t-------------------------------------------------------------------------------
\t
\tSYMPTOMS
\t========
\t
\tThe logon point records the wrong site in its copy log. The Logon Server
\tManager log shows:
\t
\tCopylog.tcf entry for X86.BIN\\CLICORE.EXE was written by site ABC although the
\tfile came from another site  $$<SMS_NT_LOGON_SERVER_MANAGER><Mon Mar 12
\t10:01:02.333 2001 Pacific Standard Time><thread=230 (0xE6)>
\t
\tCAUSE
\t=====
\t
\tThe Logon Server Manager rewrites every entry of the copy log on each cycle.
\t
\tRESOLUTION
\t==========
\t
\tTo resolve this problem, apply the update:
\t
\t1. Stop the SMS_EXECUTIVE service on the site server.
\t
\t2. Replace Smsnt.dll with the updated file and start the service
\t   again.
\t
\tWARNING: Do not apply the update to a Service Pack 2 site.
\t
\tMORE INFORMATION
\t================
\t
\tSee also Q264630 and the service pack article Q249077.
\t
\tAdditional query words: prodsms copylog
\t
\t======================================================================
\tKeywords          : kbsms200 kbfix kbbug
\tTechnology        : kbSMSSearch
\tVersion           : winnt:2.0
\t
\t=============================================================================

{% endraw %}
"""

PLAIN_ARTICLE = """SMS: SP1:Copylog.tcf Does Not Show Site that Updated Logon Point (249077)



The information in this article applies to:

  \u2022 Microsoft Systems Management Server 2.0 SP1

This article was previously published under Q249077

SYMPTOMS

On Service Pack 1 sites the copy log names the wrong site.

Smsnt.log

Copylog.tcf was updated by site DEF for component CLICORE

CAUSE

Service Pack 1 carries the same Logon Server Manager code as the original release.

RESOLUTION

  1. Apply the Service Pack 1 update on each site server.
  2. Restart the SMS_EXECUTIVE service.

Modification Type:MajorLast Reviewed:3/1/2004
Keywords:kbfix kbsms200sp1 KB249077
"""

NOT_AN_ARTICLE = "just some notes\nwithout a title line\n"
NO_NUMBER = (
    '---\nlayout: page\ntitle: "Something"\n---\n\n{% raw %}\n\tno header here\n{% endraw %}\n'
)


def test_the_archive_format_becomes_linked_records() -> None:
    doc = parse_article(ARCHIVE_ARTICLE, "Q251070/README.md")
    assert doc["id"] == "251070"
    assert doc["title"] == "SMS: Copylog.tcf Does Not Show Site that Updated Logon Point"
    assert doc["applies_to"] == [
        {"product": "Microsoft Systems Management Server", "version": "2.0"}
    ]
    assert {"kbsms200", "kbfix", "kbbug"} <= set(doc["keywords"])
    assert str(doc["last_reviewed"]) == "2001-03-12"
    assert [s["key"] for s in doc["sections"]] == [
        "symptoms",
        "cause",
        "resolution",
        "more_information",
    ]
    # the wrapped log line is joined back into one symptom, trailer and all
    [symptom] = doc["symptoms"]
    assert symptom["text"].startswith("Copylog.tcf entry for X86.BIN\\CLICORE.EXE was written")
    assert symptom["text"].endswith("<thread=230 (0xE6)>")
    assert "file came from another site" in symptom["text"]
    assert doc["causes"][0]["text"].startswith("The Logon Server Manager rewrites")
    [workaround] = doc["workarounds"]
    assert [s["text"] for s in workaround["steps"]] == [
        "Stop the SMS_EXECUTIVE service on the site server.",
        "Replace Smsnt.dll with the updated file and start the service again.",
    ]
    assert workaround["warnings"] == ["WARNING: Do not apply the update to a Service Pack 2 site."]
    assert {r["article_id"] for r in doc["related"]} == {"264630", "249077"}
    # the footer is not article text
    assert all("Additional query words" not in s["body"] for s in doc["sections"])


def test_the_plain_format_becomes_linked_records() -> None:
    doc = parse_article(PLAIN_ARTICLE, "249077.txt")
    assert doc["id"] == "249077"
    assert doc["applies_to"] == [
        {"product": "Microsoft Systems Management Server", "version": "2.0 SP1"}
    ]
    assert doc["modification_type"] == "Major"
    assert str(doc["last_reviewed"]) == "2004-03-01"
    [symptom] = doc["symptoms"]
    assert symptom["text"] == "Copylog.tcf was updated by site DEF for component CLICORE"
    assert symptom["log_files"] == ["Smsnt.log"]
    assert [s["number"] for s in doc["workarounds"][0]["steps"]] == [1, 2]


def test_fragments_of_a_quoted_log_are_not_symptoms() -> None:
    # What wrapping leaves on lines of their own has nothing to recognise a log by; a short
    # line with an error code, an error constant or a numbered error has.
    quoted = (
        "Copylog.tcf was updated by site DEF for component CLICORE\n\n"
        "8:55:04 AM 260 (0x104)\n\nProperties]\n\n"
        "http://support.example.com/kb/articles/c2002568.asp\n\nHRESULT: 0x80070005\n\n"
        "Line: 221\n\nError : WBEM_E_FAILED\n\nWin32 error = 3"
    )
    text = PLAIN_ARTICLE.replace(
        "Copylog.tcf was updated by site DEF for component CLICORE", quoted
    )
    doc = parse_article(text, "249077.txt")
    assert [s["text"] for s in doc["symptoms"]] == [
        "Copylog.tcf was updated by site DEF for component CLICORE",
        "HRESULT: 0x80070005",
        "Error : WBEM_E_FAILED",
        "Win32 error = 3",
    ]


@pytest.mark.parametrize(
    ("text", "reason"),
    [("", "empty"), (NOT_AN_ARTICLE, "first line"), (NO_NUMBER, "article number")],
)
def test_unparseable_texts_say_why(text: str, reason: str) -> None:
    with pytest.raises(ImportProblem, match=reason):
        parse_article(text, "bad")


def archive_with(tmp_path: Path, files: dict[str, str]) -> Path:
    path = tmp_path / "articles.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for name, text in files.items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def run_cli(config, *args: str, capsys) -> tuple[int, str]:
    import os

    os.environ["KB_DATA"] = str(config.kb_data)
    # A store in PostgreSQL is named by the environment; --home names only the local files.
    if config.database_url:
        os.environ["KB_DATABASE_URL"] = config.database_url
    if args[:1] == ("import",):
        # In process, at the test's own priority: the default lowers it, and may run the import
        # in a child process, whose output capsys would not see (tested on its own below).
        args = ("import", "--nice", "0", *args[1:])
    try:
        code = kb_main(["--home", str(config.kb_home), *args])
    finally:
        del os.environ["KB_DATA"]
        os.environ.pop("KB_DATABASE_URL", None)
    return code, capsys.readouterr().out


def test_kb_import_reads_archives_skips_bad_files_and_is_idempotent(
    make_app, tmp_path, capsys
) -> None:
    config = make_config(tmp_path)
    archive = archive_with(
        tmp_path,
        {
            "kb/251/Q251070/README.md": ARCHIVE_ARTICLE,
            "kb/249/Q249077/README.md": PLAIN_ARTICLE,
            "kb/999/broken/README.md": NO_NUMBER,
            "kb/264/Q264630/README.md": ARCHIVE_ARTICLE.replace("251070", "264630"),
            "kb/notes.bin": "not an article file",
        },
    )
    code, out = run_cli(config, "import", "--json", str(archive), capsys=capsys)
    summary = json.loads(out)
    assert code == 0
    assert (summary["imported"], summary["skipped"], summary["kept"]) == (2, 1, 1)
    assert summary["problems"][0]["file"].endswith("broken/README.md")
    code, out = run_cli(config, "import", "--json", str(archive), capsys=capsys)
    again = json.loads(out)
    assert (again["imported"], again["updated"], again["unchanged"]) == (0, 0, 2)

    app = make_app(config)
    client = app.test_client()
    # the curated seed won over the imported copy, and its related links now resolve
    seed = client.get("/v1/articles/264630").get_json()
    assert seed["source"] == "curated"
    resolved = {r["article_id"] for r in seed["related"] if r["in_store"]}
    assert resolved == {"251070", "249077"}
    assert "/v1/articles/251070" in seed["links"]["related"]
    imported = client.get("/v1/articles/251070").get_json()
    assert "264630" in {r["article_id"] for r in imported["related"] if r["in_store"]}
    # and imported articles are matched like curated ones
    body = client.get(
        "/v1/match",
        query_string={"line": "Copylog.tcf was updated by site XYZ for component CLICORE"},
    ).get_json()
    assert body["matches"][0]["article_id"] == "249077"


def test_kb_import_reads_directories_and_reports_missing_paths(tmp_path, capsys) -> None:
    config = make_config(tmp_path)
    folder = tmp_path / "articles"
    (folder / "nested").mkdir(parents=True)
    (folder / "nested" / "251070.md").write_text(ARCHIVE_ARTICLE)
    (folder / "249077.txt").write_text(PLAIN_ARTICLE, encoding="utf-16")
    code, out = run_cli(
        config, "import", "--json", str(folder), str(tmp_path / "missing"), capsys=capsys
    )
    summary = json.loads(out)
    assert summary["imported"] == 2
    assert summary["failed"] == 1
    assert code == 1


def kb_env(config) -> dict[str, str]:
    import os

    return {**os.environ, "KB_HOME": str(config.kb_home), "KB_DATA": str(config.kb_data)}


def test_kb_import_from_a_shell_runs_at_low_priority_and_reports_as_usual(
    make_app, tmp_path
) -> None:
    # Started as a shell starts it, inside the caller's session: where autogroups are on, the
    # import moves to a session of its own (see lower_priority); its output and exit status
    # are the command's own either way.
    import subprocess
    import sys

    config = make_config(tmp_path)
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "251070.md").write_text(ARCHIVE_ARTICLE)
    (folder / "249077.txt").write_text(PLAIN_ARTICLE)
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "import", "--json", str(folder)],
        env=kb_env(config),
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["imported"] == 2
    app = make_app(config)
    assert app.test_client().get("/v1/articles/251070").status_code == 200


def test_lower_priority_lowers_a_session_it_leads(tmp_path) -> None:
    import subprocess
    import sys

    from service.importer_cli import autogroups_enabled

    if not autogroups_enabled():
        pytest.skip("this kernel does not group processes by session")
    code = (
        "import os; from pathlib import Path; from service.importer_cli import lower_priority;"
        "before = os.nice(0); lower_priority(3);"
        "print(os.nice(0) - before, Path('/proc/self/autogroup').read_text().split()[-1])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,
    )
    assert done.returncode == 0, done.stderr
    own, session = done.stdout.split()
    assert own == "3"
    assert int(session) >= 3


def test_cli_validate_build_and_check(tmp_path, capsys) -> None:
    config = make_config(tmp_path)
    code, out = run_cli(config, "validate", capsys=capsys)
    assert code == 0 and "valid" in out
    code, out = run_cli(config, "build", capsys=capsys)
    assert code == 0 and "264630: created" in out
    code, out = run_cli(config, "build", capsys=capsys)
    assert "264630: unchanged" in out
    code, out = run_cli(config, "check", "--json", capsys=capsys)
    report = json.loads(out)
    assert report["index_was_behind"] is False
    assert report["articles"] == 2


def test_kb_check_repairs_an_index_that_lags_the_store(tmp_path, capsys) -> None:

    config = built_then_stored_only(tmp_path, parse_article(PLAIN_ARTICLE), "imported")
    code, out = run_cli(config, "check", "--json", capsys=capsys)
    report = json.loads(out)
    assert report["index_was_behind"] is True
    assert report["documents_reindexed"] > 0
    code, out = run_cli(config, "check", "--json", capsys=capsys)
    assert json.loads(out)["index_was_behind"] is False


def numbered_articles(folder: Path, first: int, count: int) -> Path:
    """`count` plain-format articles numbered from `first`, each with its own log line."""
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(first, first + count):
        text = PLAIN_ARTICLE.replace("249077", str(number)).replace(
            "site DEF for component CLICORE", f"site DEF for component CLI{number}"
        )
        (folder / f"{number}.txt").write_text(text)
    return folder


@pytest.mark.parametrize(("every_seconds", "index_commits"), [(0.0, 4), (3600.0, 1)])
def test_an_import_indexes_in_batches_at_most_so_often(
    make_app, tmp_path, monkeypatch, every_seconds: float, index_commits: int
) -> None:
    # Each index commit makes every server worker start its caches over: a batch is indexed
    # when it is full and the last one is old enough, the rest at the end.
    from service import importer
    from service.kb import KnowledgeBase

    config = make_config(tmp_path)
    knowledge = KnowledgeBase(config)
    knowledge.build()
    # a store larger than the import, so the import is indexed batch by batch
    importer.run_import(knowledge, [numbered_articles(tmp_path / "first", 700000, 12)], None, 1)
    monkeypatch.setattr(importer, "INDEX_BATCH", 2)
    monkeypatch.setattr(importer, "INDEX_EVERY_SECONDS", every_seconds)
    # Each article committed on its own: what the index may take in after each.
    monkeypatch.setattr(importer, "WRITE_BATCH", 1)
    commits = []
    update = knowledge.index.update_articles
    monkeypatch.setattr(
        knowledge.index,
        "update_articles",
        lambda store, writes, created=(): (
            commits.append(len(writes)) or update(store, writes, created)
        ),
    )
    summary = importer.run_import(
        knowledge, [numbered_articles(tmp_path / "more", 710000, 7)], None, 1
    )
    assert summary.counts["imported"] == 7
    assert len(commits) == index_commits and sum(commits) == 7
    assert not knowledge.index_lags()
    app = make_app(config)
    body = (
        app.test_client()
        .get(
            "/v1/match",
            query_string={"line": "Copylog.tcf was updated by site XYZ for component CLI710006"},
        )
        .get_json()
    )
    assert body["matches"][0]["article_id"] == "710006"
    knowledge.close()


# -- symptoms: the messages and log lines an article quotes ---------------------------------


def archive_article(title: str, body: str, number: str = "900123") -> str:
    """A made-up article in the archive's shape: front matter, header, tab-indented body."""
    header = (
        f"Article: Q{number}\nProduct(s): Microsoft Widget Server\nVersion(s): 2.0\n"
        "Operating System(s):\nKeyword(s): kbwidget\nLast Modified: 01-FEB-2001\n\n"
        + "-"
        * 79
        + "\nThe information in this article applies to:\n\n"
        "- Microsoft Widget Server version 2.0\n" + "-" * 79 + "\n\n"
    )
    footer = "\n\nAdditional query words: widget\n\n" + "=" * 70 + "\nKeywords : kbwidget\n"
    text = "\n".join("\t" + line for line in (header + body + footer).split("\n"))
    return (
        f'---\nlayout: page\ntitle: "Q{number}: {title}"\n---\n\n{{% raw %}}\n{text}\n'
        "{% endraw %}\n"
    )


def symptom_texts(doc: dict) -> list[str]:
    return [s["text"] for s in doc["symptoms"]]


def test_a_message_after_an_introduction_is_a_symptom_with_its_wrapped_line_joined() -> None:
    # A message reads like a sentence; indented under "...the following error message:" it is
    # the message, not the article's prose.
    body = """SYMPTOMS
========

When you start the widget agent, the job does not complete and Widget.log records
the following error message:

  The widget catalog could not be opened because the catalog server did not
  answer in time.

The agent then stops.
"""
    doc = parse_article(archive_article("Widget Agent Stops", body))
    [symptom] = doc["symptoms"]
    assert symptom["text"] == (
        "The widget catalog could not be opened because the catalog server did not answer in time."
    )
    assert symptom["kind"] == "error_message"
    assert symptom["log_files"] == ["Widget.log"]


def test_an_introduction_without_a_colon_still_introduces_the_indented_message() -> None:
    body = """SYMPTOMS
========

When you open the console, you may receive the following error message

  Cannot reach the widget server. Check the network connection and try again.

CAUSE
=====

The console looks for the server before the network is up.
"""
    doc = parse_article(archive_article("Console Cannot Reach Server", body))
    assert symptom_texts(doc) == [
        "Cannot reach the widget server. Check the network connection and try again."
    ]


def test_log_lines_sharing_a_first_word_are_joined_only_where_wrapped() -> None:
    # "... the lock on the work queue from" + "AGENTSVC." is one log line the archive wrapped at
    # 80 columns; the lines around it, long or short, are lines of their own.
    body = """SYMPTOMS
========

Agent.log shows the following entries:

Widget Agent Manager ==> Initializing .....
Widget Agent Manager ==> Timed out waiting for the agent service semaphore.
Widget Agent Manager ==> Failed to obtain the lock on the work queue from
AGENTSVC.
Widget Agent Manager ==> Exiting .........
"""
    doc = parse_article(archive_article("Agent Exits at Startup", body))
    assert symptom_texts(doc) == [
        "Widget Agent Manager ==> Initializing .....",
        "Widget Agent Manager ==> Timed out waiting for the agent service semaphore.",
        "Widget Agent Manager ==> Failed to obtain the lock on the work queue from AGENTSVC.",
        "Widget Agent Manager ==> Exiting .........",
    ]
    assert {s["kind"] for s in doc["symptoms"]} == {"log_line"}


def test_a_line_ending_mid_sentence_is_joined_to_the_next() -> None:
    body = """SYMPTOMS
========

You receive the following error message:

  An error occurred while preparing to run the job for widget "<WID00001>". The
  operating system reported error 1326. The user name or password is wrong.
"""
    doc = parse_article(archive_article("Job Does Not Run", body))
    assert symptom_texts(doc) == [
        'An error occurred while preparing to run the job for widget "<WID00001>". The '
        "operating system reported error 1326. The user name or password is wrong."
    ]


def test_messages_quoted_inside_sentences_are_symptoms() -> None:
    body = """SYMPTOMS
========

When you start the computer, you receive the following error message: "Bad or
missing widget interpreter". Later the console reports the error "Access is denied"
when you open a catalog.
"""
    doc = parse_article(archive_article("Widget Console Fails at Startup", body))
    assert symptom_texts(doc) == ["Bad or missing widget interpreter", "Access is denied"]
    assert {s["kind"] for s in doc["symptoms"]} == {"error_message"}


def test_quoted_names_labels_and_paths_are_not_symptoms() -> None:
    body = """SYMPTOMS
========

For more information, view the "Restoring the Widget Registry" Help topic. Click
"Restart the computer in safe mode" and then click Yes. The error message names
the folder "C:\\Program Files\\Widget Server", and the box that reads "Use this
server as a catalog server" is cleared. Type "rem" (without quotation marks).
"""
    doc = parse_article(archive_article("Catalog Server Option Is Cleared", body))
    assert symptom_texts(doc) == []


def test_the_message_a_title_names_is_a_symptom_of_the_first_issue() -> None:
    body = """SYMPTOMS
========

The widget console stops when it opens a large catalog.
"""
    doc = parse_article(archive_article("Err Msg: Cannot Open the Widget Catalog", body))
    [symptom] = doc["symptoms"]
    assert symptom["text"] == "Cannot Open the Widget Catalog"
    assert symptom["issue_id"] == "900123-1"
    assert symptom["kind"] == "error_message"
    quoted = parse_article(
        archive_article("FIX: Error Message &quot;Widget Not Found&quot; When Opening Form", body)
    )
    assert quoted["title"] == 'FIX: Error Message "Widget Not Found" When Opening Form'
    assert symptom_texts(quoted) == ["Widget Not Found"]
    lower = parse_article(archive_article('Widget Companion err msg "Missing Widget Map"', body))
    assert symptom_texts(lower) == ["Missing Widget Map"]
    stop = parse_article(archive_article("Err Msg: Stop 0x0000003f NO_more_widget_PTES", body))
    assert symptom_texts(stop) == ["Stop 0x0000003f NO_more_widget_PTES"]
    # a title that says an error occurs, without naming it, names no message
    plain = parse_article(archive_article("Error Message When You Open a Widget", body))
    assert symptom_texts(plain) == []


def test_a_title_message_the_text_quotes_in_full_is_not_repeated() -> None:
    body = """SYMPTOMS
========

When you open a large catalog, you receive the following error message:

  Cannot open the widget catalog because it is larger than 2 GB.
"""
    doc = parse_article(archive_article("Err Msg: Cannot Open the Widget Catalog...", body))
    assert symptom_texts(doc) == ["Cannot open the widget catalog because it is larger than 2 GB."]


def test_the_description_of_an_event_is_the_symptom_not_its_fields() -> None:
    body = """SYMPTOMS
========

The following event is logged in the application log:

  Event ID: 5057
  Source: Widget Catalog Service
  Type: Error
  Category: None
  Description: The widget catalog service could not load the catalog index
  because the index file is damaged.
"""
    doc = parse_article(archive_article("Event ID 5057 at Catalog Start", body))
    [symptom] = doc["symptoms"]
    assert symptom["text"] == (
        "The widget catalog service could not load the catalog index because the index "
        "file is damaged."
    )


def test_each_event_of_a_block_gives_its_description() -> None:
    # Fields first and the event ID among them; two events in one block; an event whose
    # message follows its ID line without a "Description:" field.
    body = """SYMPTOMS
========

The backup stops, and the following two events are logged in the application log:

  Event Type: Error
  Event Source: WidgetStore
  Event Category: Backup
  Event ID: 105
  Description: WidgetStore (123) The store has stopped the backup with error
  -1032.
  Event Type: Error
  Event Source: WidgetStore
  Event ID: 145
  Description: WidgetStore (123) The store could not access the file called
  C:\\Widget\\Data\\store.log.

You may also receive the following error message:

  Event ID: 3013 Source: Rdr
  "The redirector has timed out to \\\\WIDGETSRV."
"""
    doc = parse_article(archive_article("Widget Backup Stops with Error 1032", body))
    assert symptom_texts(doc) == [
        "WidgetStore (123) The store has stopped the backup with error -1032.",
        "WidgetStore (123) The store could not access the file called C:\\Widget\\Data\\store.log.",
        "The redirector has timed out to \\\\WIDGETSRV.",
    ]


def test_messages_listed_with_or_between_them_are_each_a_symptom() -> None:
    body = """SYMPTOMS
========

You may receive one of the following error messages:

  - Widget service subkey already exists

-or-

  - Unable to remove the widget name provider
"""
    doc = parse_article(archive_article("Widget Service Will Not Reinstall", body))
    assert symptom_texts(doc) == [
        "Widget service subkey already exists",
        "Unable to remove the widget name provider",
    ]


def test_steps_code_listings_and_prose_are_not_symptoms() -> None:
    body = """SYMPTOMS
========

The widget agent fails to start after the upgrade and logs an error.

When this error occurs, the agent writes the following to its settings:

  [Widget]
  CatalogPath=C:\\Widget\\Catalog
  HKEY_LOCAL_MACHINE\\Software\\Widget\\Agent

The following files are updated by the fix:

  Date      Time   Version    Size     File name
  --------------------------------------------------
  03-12-01  10:01a 2.0.120.1  123,456  Widgetag.dll
  03-12-01  10:01a 2.0.120.1   45,312  Widgetsv.exe

To see the error, type the following code in the console:

  Dim Catalog As Object
  Set Catalog = OpenCatalog("main");

To reproduce the error, follow these steps:

1. Start the widget console and open the main catalog on the server
   that runs the agent.
2. Click Refresh.

The error message appears because the agent reads an old setting. This is a
problem in the agent and not in the console, and it occurs on every server.

NOTE: The error is logged only when logging is turned on for the widget agent.

For more information, see the following article in the Knowledge Base:

  Q123456 How to Turn On Widget Agent Logging

The agent logs an error when its settings read:

  [Widget Agent]
  LogLevel=<any number, but not 0>
  Catalog Directory = REG_SZ C:\\Widget\\Catalog
"""
    doc = parse_article(archive_article("Widget Agent Fails After Upgrade", body))
    assert symptom_texts(doc) == []


def test_section_keys_are_valid_whatever_the_heading() -> None:
    # Headings numbered or starting with a digit, repeated or very long, make keys the record
    # schema accepts: starting with a letter, short, unique in the article.
    body = """SUMMARY
=======

Notes on the widget server release.

3. NOTES ON MEMORY
==================

The server needs 16 MB.

32-BIT DISK ACCESS
==================

Turn it on.

32-BIT DISK ACCESS
==================

Turn it off for old disks.

//  6   ==> 06 * 4096 =  24576
==============================

A heading underlined by accident.
"""
    doc = parse_article(archive_article("Widget Server Release Notes", body))
    keys = [s["key"] for s in doc["sections"]]
    assert keys == ["summary", "notes_on_memory", "bit_disk_access", "bit_disk_access_2", "section"]


def test_text_before_an_empty_heading_and_a_quoted_banner_are_kept() -> None:
    # An application note quotes its banner between rules of '='; the text before an empty
    # SUMMARY heading is the article's only text. Neither is dropped as header or footer.
    body = """The widget index command creates an index in which only one record appears for
each key value.

SUMMARY
=======

"""
    doc = parse_article(archive_article("Unique Widget Indexes", body))
    assert "only one record appears" in doc["sections"][0]["body"]
    banner = """SUMMARY
=======

======================================================================
   Widget Support Application Note (Text File)
                WN0001: WIDGET COMPATIBILITY TESTING
======================================================================

This application note explains how to test a widget driver.
"""
    note = parse_article(archive_article("Widget Compatibility Testing", banner))
    assert "how to test a widget driver" in note["sections"][0]["body"]


def test_an_article_published_as_a_title_alone_is_imported_and_found_by_its_title(
    make_app, tmp_path, capsys
) -> None:
    # A few archive articles have no text after the header but their title and the products
    # they apply to; a helpdesk still wants them found.
    empty = archive_article("Widget Sockets Stop FD_READ Notification", "SUMMARY\n=======\n\n")
    doc = parse_article(empty)
    assert doc["issues"][0]["title"] == "Widget Sockets Stop FD_READ Notification"
    assert "Microsoft Widget Server version 2.0" in doc["sections"][0]["body"]

    config = make_config(tmp_path)
    archive = archive_with(tmp_path, {"kb/900/Q900123/README.md": empty})
    code, out = run_cli(config, "import", "--json", str(archive), capsys=capsys)
    assert code == 0
    assert (json.loads(out)["imported"], json.loads(out)["skipped"]) == (1, 0)
    client = make_app(config).test_client()
    body = client.get(
        "/v1/match", query_string={"line": "widget sockets stop FD_READ notification"}
    ).get_json()
    assert body["matches"][0]["article_id"] == "900123"


# -- remediation: steps as the article numbers them --------------------------------------------


def remedy_workarounds(body: str) -> list[dict]:
    """The workarounds of a made-up article whose RESOLUTION section is `body`."""
    text = (
        "SYMPTOMS\n========\n\nThe widget agent stops when the catalog is rebuilt.\n\n"
        "RESOLUTION\n==========\n\n" + body
    )
    return parse_article(archive_article("Widget Agent Stops", text))["workarounds"]


def step_texts(workaround: dict) -> list[str]:
    return [s["text"] for s in workaround["steps"]]


def test_two_numbered_procedures_are_two_workarounds_each_numbered_from_one() -> None:
    body = """To resolve this problem, use one of the following methods.

How to Use the Widget Installer:

1. Copy Wfix.exe to a folder on the widget server.

2. Run Wfix.exe and follow the prompts.

How to Install the Widget Fix by Hand:

To install the fix by hand:

1. Stop the Widget Agent service.

2. Replace Widgetag.dll in the Widget\\Bin folder.

3. Start the Widget Agent service.
"""
    first, second = remedy_workarounds(body)
    assert [s["number"] for s in first["steps"]] == [1, 2]
    assert step_texts(first)[1] == "Run Wfix.exe and follow the prompts."
    assert [s["number"] for s in second["steps"]] == [1, 2, 3]
    assert step_texts(second)[0] == "Stop the Widget Agent service."
    # the label before the second procedure names it; its introduction describes it
    assert second["title"] == "Resolution: How to Install the Widget Fix by Hand"
    assert second["description"] == "To install the fix by hand:"
    assert "by Hand" not in first["description"]


def test_underlined_sub_headings_name_their_procedures() -> None:
    body = """Use the method for your version of the widget server.

Widget Server 2.0
-----------------

1. Open the Widget console.

2. Click Agents, and then click Reset.

Widget Server 1.5
-----------------

1. Run Wreset.exe on the widget server.
"""
    intro, newer, older = remedy_workarounds(body)
    assert intro["steps"] == [] and intro["description"].startswith("Use the method")
    assert newer["title"] == "Resolution: Widget Server 2.0"
    assert step_texts(newer) == ["Open the Widget console.", "Click Agents, and then click Reset."]
    assert older["title"] == "Resolution: Widget Server 1.5"
    assert step_texts(older) == ["Run Wreset.exe on the widget server."]


def test_a_registry_edit_keeps_its_key_values_and_lettered_ways_inside_its_step() -> None:
    body = """WARNING: Editing the registry wrongly can stop the widget server from starting.

1. Start Registry Editor and locate the following registry key:

  HKEY_LOCAL_MACHINE\\Software\\Widget\\Agent

2. Set these values:

  Retries: 3
  Interval: 500

3. If the Retries value does not exist, create it.

Using Regedit:

  a. Right-click the Agent key, and then click New, DWORD Value.

  b. Type Retries, and then press ENTER.

Using Regedt32:

  a. On the Edit menu, click Add Value.

  b. Type Retries in the Value Name box.

     NOTE: The data type is REG_DWORD.

Quit Registry Editor when you are done, and then restart the widget agent.
"""
    [workaround] = remedy_workarounds(body)
    assert workaround["warnings"] == [
        "WARNING: Editing the registry wrongly can stop the widget server from starting."
    ]
    one, two, three = workaround["steps"]
    assert one["text"] == (
        "Start Registry Editor and locate the following registry key:\n\n"
        "HKEY_LOCAL_MACHINE\\Software\\Widget\\Agent"
    )
    # values listed one a line stay one a line
    assert two["text"] == "Set these values:\n\nRetries: 3\nInterval: 500"
    paragraphs = three["text"].split("\n\n")
    assert paragraphs[0] == "If the Retries value does not exist, create it."
    assert paragraphs[1:] == [
        "Using Regedit:",
        "a. Right-click the Agent key, and then click New, DWORD Value.",
        "b. Type Retries, and then press ENTER.",
        "Using Regedt32:",
        "a. On the Edit menu, click Add Value.",
        "b. Type Retries in the Value Name box.",
    ]
    assert three["notes"] == ["NOTE: The data type is REG_DWORD."]
    # the sentence after the procedure closes it: it is not a step's
    assert "Quit Registry Editor" in workaround["description"]
    assert all("Quit" not in s["text"] for s in workaround["steps"])


def test_a_file_table_and_a_reference_after_the_steps_are_not_in_a_step() -> None:
    body = """1. Stop the Widget Agent service.

2. Replace Widgetag.dll with the updated file.

The updated file has the following attributes:

  Date      Time    Version     Size     File name
  ------------------------------------------------
  03/12/01  10:01a  2.0.120.1   123,456  Widgetag.dll
  03/12/01  10:01a  2.0.120.1    45,312  Widgetsv.exe

For more information, see the following article in the Knowledge Base:

  Q123456 How to Obtain Widget Server Updates
"""
    [workaround] = remedy_workarounds(body)
    assert step_texts(workaround) == [
        "Stop the Widget Agent service.",
        "Replace Widgetag.dll with the updated file.",
    ]
    paragraphs = workaround["description"].split("\n\n")
    # the table is one paragraph, its rows one a line
    assert paragraphs[1] == (
        "Date      Time    Version     Size     File name\n"
        + "-" * 48
        + "\n03/12/01  10:01a  2.0.120.1   123,456  Widgetag.dll\n"
        "03/12/01  10:01a  2.0.120.1    45,312  Widgetsv.exe"
    )
    assert paragraphs[2:] == [
        "For more information, see the following article in the Knowledge Base:",
        "Q123456 How to Obtain Widget Server Updates",
    ]


def test_a_table_indented_under_a_step_stays_one_block_in_it() -> None:
    body = """1. Check that the widget server has these files:

  File name       Version
  -------------   ---------
  Widgetag.dll    2.0.120.1
  Widgetsv.exe    2.0.120.1

2. Restart the widget server.
"""
    [workaround] = remedy_workarounds(body)
    first, second = step_texts(workaround)
    assert first.split("\n\n") == [
        "Check that the widget server has these files:",
        "File name       Version\n-------------   ---------\n"
        "Widgetag.dll    2.0.120.1\nWidgetsv.exe    2.0.120.1",
    ]
    assert second == "Restart the widget server."


def test_text_between_two_steps_belongs_to_the_step_before_it() -> None:
    body = """1. Stop the widget agent by typing:

  wagent /stop

Note that the switch differs on earlier versions.

For more information, see the following article in the Knowledge Base:

  Q123457 Widget Agent Command-Line Switches

2. Delete the Widget\\Cache folder.
"""
    [workaround] = remedy_workarounds(body)
    first, second = workaround["steps"]
    assert first["text"].split("\n\n") == [
        "Stop the widget agent by typing:",
        "wagent /stop",
        "For more information, see the following article in the Knowledge Base:",
        "Q123457 Widget Agent Command-Line Switches",
    ]
    assert first["notes"] == ["Note that the switch differs on earlier versions."]
    assert second["text"] == "Delete the Widget\\Cache folder."
    assert workaround["description"] == ""


def test_steps_numbered_under_a_bullet_of_the_plain_format_are_steps() -> None:
    doc = parse_article(PLAIN_SEED, "264630.txt")
    [issue1] = [w for w in doc["workarounds"] if w["issue_ids"] == ["249100-1"]]
    assert [s["number"] for s in issue1["steps"]] == [1, 2]
    assert issue1["steps"][0]["text"] == (
        "Edit the Widget.ini file on the server.\n\nCatalog=XXX\n\nwhere XXX is the catalog name."
    )
    assert issue1["steps"][1]["notes"] == ["NOTE: Change the file back after the upgrade."]


PLAIN_SEED = """Widget Catalog Does Not Update (249100)

The information in this article applies to:

  \u2022 Microsoft Widget Server 2.0

SYMPTOMS

Issue 1

The widget catalog is not updated.

WORKAROUND

Issue 1

  \u2022 Updating the server first does not repair the catalog on clients that already have it.
  \u2022 If the update cannot be applied for some time, edit the Widget.ini file:
    1. Edit the Widget.ini file on the server.

      Catalog=XXX

      where XXX is the catalog name.
    2. Make the file read-only.

      NOTE: Change the file back after the upgrade.

Modification Type:MajorLast Reviewed:3/1/2004
"""


def test_an_article_the_store_refuses_is_reported_and_the_rest_of_its_batch_kept(
    tmp_path, monkeypatch
) -> None:
    from service import importer
    from service.kb import KnowledgeBase

    knowledge = KnowledgeBase(make_config(tmp_path))
    knowledge.build()
    save = knowledge.store.save_article

    def save_or_fail(document, **kwargs):
        write = save(document, **kwargs)
        if document["id"] == "720002":
            # Written, then refused: what the store had written of it must be undone too.
            raise RuntimeError("constraint failed while saving")
        return write

    monkeypatch.setattr(knowledge.store, "save_article", save_or_fail)
    try:
        summary = importer.run_import(
            knowledge, [numbered_articles(tmp_path / "batch", 720000, 5)], None, 1
        )
    finally:
        monkeypatch.undo()
    assert summary.counts["imported"] == 4 and summary.counts["failed"] == 1
    [problem] = summary.problems
    assert problem["file"].endswith("720002.txt")
    assert problem["reason"] == "the store refused it: constraint failed while saving"
    assert knowledge.store.article_text("720002") is None
    assert all(knowledge.store.article_text(str(n)) for n in (720000, 720001, 720003, 720004))
    assert not knowledge.index_lags()
    knowledge.close()


# A web server's log quoted with the archive's wraps: as many lines start with the address
# as with the wrapped request's tail, so two first words are equally common.
WRAPPED_ACCESS_LOG = """SYMPTOMS
========

The widget server's access log records requests such as the following:

  192.168.40.7 - - [14/Mar/2001:09:12:44 -0500] "GET /widgets/catalog.asp::$DATA
  HTTP/1.0" 200 5121
  192.168.40.7 - - [14/Mar/2001:09:13:02 -0500] "GET /widgets/catalog.asp::$DATA
  HTTP/1.0" 304 87
  192.168.40.7 - - [14/Mar/2001:09:40:19 -0500] "GET /widgets/catalog.asp::$DATA
  HTTP/1.0" 200 4410

The server then returns the page's source.
"""


def test_an_article_is_read_the_same_in_every_process() -> None:
    # Which first word marks a record must not depend on the order a set gives in one process
    # (string hashing differs per process): two imports of one article would store other
    # records, and two nodes of one knowledge base would answer differently.
    script = (
        "import json, sys; from service.importer import parse_article; "
        "print(json.dumps(parse_article(sys.stdin.read())['symptoms']))"
    )
    article = archive_article("Widget Server Returns Page Source", WRAPPED_ACCESS_LOG)
    answers = set()
    for seed in range(8):
        done = subprocess.run(
            [sys.executable, "-c", script],
            input=article,
            capture_output=True,
            text=True,
            check=True,
            cwd=PROJECT_ROOT,
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
        )
        answers.add(done.stdout)
    assert len(answers) == 1
    texts = [s["text"] for s in json.loads(answers.pop())]
    assert (
        '192.168.40.7 - - [14/Mar/2001:09:12:44 -0500] "GET /widgets/catalog.asp::$DATA HTTP/1.0" 200 5121'
        in texts
    )
