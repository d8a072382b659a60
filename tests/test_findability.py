"""Any line an article says finds it over HTTP, not only what became a symptom record."""

from __future__ import annotations

import pytest

from tests.helpers import make_config, running_app

TOKEN = "findability-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def article(number: str, title: str, body: str, symptoms: list[str] = ()) -> dict:
    """A made-up article whose text is all in one section, with optional symptom records."""
    issue = f"{number}-1"
    return {
        "id": number,
        "title": title,
        "applies_to": [{"product": "Widget Server", "version": "2.0"}],
        "issues": [{"id": issue, "number": 1, "title": title}],
        "symptoms": [
            {"id": f"{issue}-s{i:02d}", "issue_id": issue, "kind": "log_line", "text": text}
            for i, text in enumerate(symptoms, start=1)
        ],
        "sections": [{"key": "more_information", "heading": "MORE INFORMATION", "body": body}],
    }


ARTICLES = [
    article(
        "910001",
        "Widget agent exits when it cannot get its semaphore",
        "If the widget agent starts while the service is busy, the log shows:\n\n"
        "Widget Manager ==> Timed out waiting for the widget service semaphore.\n"
        "Widget Manager ==> Failed to get control of the semaphore from\n"
        "WIDGETSVC.\n\nRestart the agent after the job completes.",
    ),
    article(
        "910002",
        "Widget console reports a corrupt catalog",
        'When you open the console, you receive the error "Widget catalog is corrupt or '
        'unreadable" and the console closes.',
    ),
    article(
        "910003",
        "Catalog errors after a disk fills up",
        'The console may say "Widget catalog is corrupt or unreadable" when the disk that '
        "holds the catalog is full; the catalog writer also logs Catalog flush aborted on "
        "volume index rebuild.",
    ),
    article(
        "910004",
        "Catalog errors after an upgrade",
        'After an upgrade the console may say "Widget catalog is corrupt or unreadable", and '
        "the upgrade log records:\n\nSchema conversion stopped at widget table revision 12",
    ),
    article(
        "910005",
        "Widget agent cannot start an application from a package",
        "The agent displays: Could not start <application>. The shared widget package could "
        "not be found.",
    ),
    article(
        "910006",
        "Widget rules are not replicated",
        "The replication log records the object it could not copy:\n\n"
        "Object: Widget Package Rule File",
    ),
    article(
        "910007",
        "Widget loader cannot open a file it was given",
        "The loader log records:\n\nUnable to open the widget file <filename>.",
    ),
    article(
        "910008",
        "A Zorbix Quantel card stops the widget agent",
        "The agent log ends with:\n\nZorbix Quantel widget card driver installed",
    ),
    article(
        "910009",
        "Widget replication between two domains fails",
        "The replication log records:\n\n"
        "Widget replication from domain <source domain> to domain <target domain> failed.",
    ),
    article(
        "910010",
        "A widget relay cannot be added twice",
        "Adding the relay again fails, and the console shows:\n\n"
        "The relay <xxx> is already a widget relay in site BBB",
    ),
    article(
        "910011",
        "Widget host stops with an application error",
        "The widget host closes, and a dialog box shows:\n\n"
        "  WIDGETHOST.EXE - Application Error\n"
        "  The widget call at <address> referenced memory at <memory\n"
        "  address>.\n"
        "  The memory could not be written.",
    ),
    article(
        "910012",
        "Widget host stops after an update",
        "The widget host closes with:\n\n"
        "The widget call at 0x00419767 referenced memory at 0x00000004.",
    ),
    article(
        "910013",
        "Widget agents cannot connect to their broker",
        "The agent log records:\n\nCannot connect to the widget broker server",
    ),
    article(
        "910014",
        "Widget counters are missing",
        "The loader log records:\n\nCannot connect the widget broker to D:\\BIN\\WIDGPERF.dll",
    ),
    article(
        "910018",
        "Widget poller scans too rarely",
        "The poller log repeats:\n\nWidget poller sleeping for 60 seconds before the next scan",
    ),
    article(
        "910019",
        "Widget scheduler leaves a job queued",
        'The scheduler log records "Job halted" and the job stays in the queue.',
    ),
    article(
        "910022",
        "Widget purger logs a warning for each empty file",
        "The purger log records the file it could not remove.",
        symptoms=["WARNING - Purge of empty widget file K7QX2ZP9.wdg failed, code = 2"],
    ),
    article(
        "910025",
        "Widget install jobs fail on some workstations",
        "The site server logs:\n\nThe widget install job has failed on workstation <machine name>",
    ),
    article(
        "910026",
        "Zorbix card loses its route table",
        "The relay log shows the card's routine polling, then the loss:\n\n"
        "Zorbix relay poller sleeping for 60 seconds\nZorbix route table dropped by the card",
    ),
    article(
        "910027",
        "Widget console cannot reach its server",
        "The console log records:\n\nError connecting to the widget server",
    ),
    article(
        "910028",
        "Widget relay agent fails after a name change",
        "The relay log records:\n\nWidget relay agent could not start on \\\\<server name>",
    ),
    article(
        "910029",
        "Widget relay agent fails on hubs",
        "The console shows:\n\nWidget relay agent could not start on \\\\<hub name>.",
    ),
    article(
        "910030",
        "Widget relay agent fails after an upgrade",
        "After the upgrade the agent log records:\n\nWidget relay agent could not start on\n"
        "\\\\<server name>.\n\nReinstall the agent.",
    ),
    article(
        "910031",
        "Switching widget consoles is unreliable",
        'A second attempt may end in a "cannot reach widget hub" message, forcing you to '
        "restart the console.",
    ),
    article(
        "910032",
        "Widget console cannot reach a hub over a slow link",
        "The console shows:\n\nCannot reach widget hub <hub name>.",
    ),
    article(
        "910033",
        "Troubleshooting widget faults in any program",
        "The message names the program and the module:\n\n"
        "<program> caused a widget fault in module <module name> at",
    ),
    article(
        "910034",
        "Widget faults in multimedia programs",
        "The message reads:\n\n<Program> caused a widget fault in module <filename> at",
    ),
    article(
        "910035",
        "Widget fault opening a signed message",
        "Opening the message, the client reports:\n\n"
        "<program> caused a widget fault in module WIDGMAPI32.DLL at",
    ),
    article(
        "910021",
        "Widget jobs stop when the queue is full",
        'A full queue stops each new job: the scheduler shows "Job halted" for it.',
    ),
    {
        **article("910020", "Widget service starts slowly when jobs are queued", "See above."),
        "issues": [
            {
                "id": "910020-1",
                "number": 1,
                "title": "Widget service starts slowly when jobs are queued",
                "description": "Every time the widget service starts, users get a long wait: "
                "a job that halted before is started again first. Any idea of the cause is in "
                "the service log.",
            }
        ],
    },
    # "several" stems as "sever" does: the issues' texts use it, and the line's other words.
    *(
        article(
            number,
            f"Several widgets cannot connect to a broker: {topic}",
            "See the product documentation.",
        )
        for number, topic in (("910015", "errors"), ("910016", "delays"), ("910017", "gaps"))
    ),
]
# Lines any clean log of the made-up product has; every article quotes them.
BOILERPLATE = [
    "Widget service started successfully",
    "Reading widget configuration from the registry",
    "Widget heartbeat sent to the site server",
]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    config = make_config(tmp_path_factory.mktemp("findability"), api_tokens=[TOKEN])
    with running_app(config) as app:
        client = app.test_client()
        numbers = [f"{920000 + i}" for i in range(12)]
        boiler = [
            article(
                n, f"Unrelated widget topic {n}", "A clean log reads:\n\n" + "\n".join(BOILERPLATE)
            )
            for n in numbers
        ]
        for document in ARTICLES + boiler:
            response = client.put(f"/v1/articles/{document['id']}", json=document, headers=AUTH)
            assert response.status_code in (200, 201), response.get_data(as_text=True)
        yield client


def match(client, text: str) -> dict:
    response = client.post("/v1/match", data=text.encode(), content_type="text/plain")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_a_line_the_article_says_but_no_symptom_records_finds_it(client) -> None:
    body = match(client, "Widget Manager ==> Timed out waiting for the widget service semaphore.")
    top = body["matches"][0]
    assert top["article_id"] == "910001"
    line = top["matched_lines"][0]
    assert line["source"] == "article_text"
    assert line["symptom_id"] is None
    assert "semaphore" in line["symptom_text"]


def test_a_message_the_article_wrapped_matches_the_whole_pasted_line(client) -> None:
    paste = "Widget Manager ==> Failed to get control of the semaphore from WIDGETSVC."
    assert match(client, paste)["matches"][0]["article_id"] == "910001"


def test_a_message_quoted_inside_a_sentence_is_contained(client) -> None:
    body = match(
        client,
        "users get Widget Manager ==> Timed out waiting for the widget service semaphore every morning",
    )
    top = body["matches"][0]
    assert top["article_id"] == "910001"
    assert top["matched_lines"][0]["match"] == "contained"


def test_one_misspelt_word_still_matches_at_a_lower_quality(client) -> None:
    exact = match(client, "Widget Manager ==> Timed out waiting for the widget service semaphore.")
    typo = match(client, "Widget Manager ==> Timed out waiting for the widget service semaphroe.")
    assert typo["matches"][0]["article_id"] == "910001"
    assert typo["matches"][0]["matched_lines"][0]["match"] == "typo"
    assert typo["matches"][0]["score"] < exact["matches"][0]["score"]


def test_a_misspelt_lead_in_is_put_right_though_the_text_after_it_is_found(client) -> None:
    # "Widget Package Rule File" after the lead-in is found as it is, but only the whole
    # line, its misspelt word put right, is what the article says.
    body = match(client, "Objcet: Widget Package Rule File")
    top = body["matches"][0]
    assert top["article_id"] == "910006"
    assert top["matched_lines"][0]["match"] == "typo"


@pytest.mark.parametrize(
    ("paste", "how"),
    [
        ("Error Unable to open the widget file NYC46784 after reboot", "contained"),
        # In a long log, where words are not put right by the issues' vocabulary.
        (
            "\n".join(
                [
                    *(f"Widget poll {n} finished" for n in range(30)),
                    "Unable to opne the widget file A0138410.",
                ]
            ),
            "typo",
        ),
    ],
)
def test_a_value_where_the_article_wrote_a_placeholder_matches_inside_more_words_or_a_typo(
    client, paste: str, how: str
) -> None:
    top = match(client, paste)["matches"][0]
    assert top["article_id"] == "910007"
    assert [line["match"] for line in top["matched_lines"]] == [how]


def test_the_word_no_article_uses_is_the_one_put_right_before_rare_names(client) -> None:
    # "Zorbix" and "Quantel" are rare but spelt as the article spells them; "drivr" is the slip.
    noise = [f"Widget poll {n} finished" for n in range(30)]
    paste = "\n".join([*noise, "Zorbix Quantel widget card drivr installed"])
    top = match(client, paste)["matches"][0]
    assert top["article_id"] == "910008"
    assert [line["match"] for line in top["matched_lines"]] == ["typo"]


def test_several_values_where_the_article_wrote_placeholders_match_in_a_log(client) -> None:
    paste = (
        "<![LOG[Widget replication from domain NYC49852 to domain A0102137 failed.]LOG]!>"
        '<time="15:24:49.378+480" date="02-25-2008" component="Replication" context="" '
        'type="1" thread="5042" file="replication.cpp:605">'
    )
    top = match(client, paste)["matches"][0]
    assert top["article_id"] == "910009"
    assert [line["match"] for line in top["matched_lines"]] == ["normalised"]


@pytest.mark.parametrize(
    ("paste", "article_id"),
    [
        (
            "The site server keeps logging The relay SRV01 is already a widget relay in site "
            "A01 since yesterday",
            "910010",
        ),
        (
            "after the upgrade users see Widget replication from domain NYC49852 to domain "
            "A0102137 failed, any idea",
            "910009",
        ),
    ],
)
def test_a_message_with_values_inside_a_typed_sentence_is_contained(
    client, paste: str, article_id: str
) -> None:
    top = match(client, paste)["matches"][0]
    assert top["article_id"] == article_id
    assert [line["match"] for line in top["matched_lines"]] == ["contained"]


def test_values_match_placeholders_beside_articles_quoting_other_values(client) -> None:
    # One article wrote placeholders (the second cut by the wrap), another real addresses:
    # the line is both, and the two are answered.
    body = match(client, "The widget call at 0x423ecccc referenced memory at 0x5244e940.")
    assert {m["article_id"] for m in body["matches"]} == {"910011", "910012"}


@pytest.mark.parametrize(
    ("paste", "article_id"),
    [
        # The slip makes the stem of a word the issues use ("several").
        ("Cannot connect to the widget broker sever", "910013"),
        # The slip is in a file's name.
        ("Cannot connect the widget broker to D:\\BIN\\WIDGPFRF.dll", "910014"),
    ],
)
def test_a_misspelt_word_the_vocabulary_hides_is_put_right(
    client, paste: str, article_id: str
) -> None:
    top = match(client, paste)["matches"][0]
    assert top["article_id"] == article_id
    assert [line["match"] for line in top["matched_lines"]] == ["typo"]


def test_a_message_the_log_repeats_with_other_numbers_counts_once(client) -> None:
    once = match(client, "Widget poller sleeping for 60 seconds before the next scan")
    paste = "\n".join(
        f"Widget poller sleeping for {n} seconds before the next scan" for n in (60, 120, 45)
    )
    repeated = match(client, paste)
    assert repeated["matches"][0]["article_id"] == once["matches"][0]["article_id"] == "910018"
    assert repeated["matches"][0]["score"] == once["matches"][0]["score"]
    # The repeats are still shown as evidence.
    assert len(repeated["matches"][0]["matched_lines"]) > 1


def test_a_value_where_the_article_wrote_a_placeholder_matches(client) -> None:
    body = match(client, "Could not start WINWORD. The shared widget package could not be found.")
    assert body["matches"][0]["article_id"] == "910005"


def test_the_words_around_a_quoted_message_do_not_outweigh_the_article_quoting_it(client) -> None:
    # The message is short and two articles quote it, so it counts for little alone; the
    # sentence around it is the asker's, and a third article happens to use all its words.
    paste = "getting 'Job halted' every time the widget service starts, any idea?"
    top = match(client, paste)["matches"][:2]
    assert {m["article_id"] for m in top} == {"910019", "910021"}
    assert [m["matched_lines"][0]["match"] for m in top] == ["contained", "contained"]


def test_a_message_quoted_in_a_sentence_with_other_values_is_found(client) -> None:
    # Another file name than the symptom's, and the asker's words around the quotation: the
    # whole line resembles no symptom, the quoted message does.
    paste = (
        "since the nightly backup our operators keep getting 'WARNING - Purge of empty widget "
        "file M3RT8WQ1.wdg failed, code = 2' every time the service starts, any idea?"
    )
    top = match(client, paste)["matches"][0]
    assert top["article_id"] == "910022"
    assert top["matched_lines"][0]["match"] == "partial"


@pytest.mark.parametrize(
    "paste",
    [
        # "KESTREL" is a host name no article uses: in a typed line it may stand where the
        # article wrote "<machine name>", as a value with digits would.
        "The site server keeps logging The widget install job has failed on workstation "
        "KESTREL since yesterday",
        # "RELAY-02" is two tokens, a word the articles use and a number: together they stand
        # for "<machine name>".
        "users keep getting The widget install job has failed on workstation RELAY-02 today",
    ],
)
def test_a_name_where_the_article_wrote_a_placeholder_matches_in_a_sentence(
    client, paste: str
) -> None:
    top = match(client, paste)["matches"][0]
    assert top["article_id"] == "910025"
    assert top["matched_lines"][0]["match"] == "contained"


def test_a_message_several_articles_quote_returns_them_all_and_says_it_is_shared(client) -> None:
    body = match(client, "Widget catalog is corrupt or unreadable")
    found = [m["article_id"] for m in body["matches"]]
    assert set(found[:3]) == {"910002", "910003", "910004"}
    assert all(m["matched_lines"][0]["shared_by"] == 3 for m in body["matches"][:3])
    assert all(m["confidence"] < 0.5 for m in body["matches"][:3])


def test_another_line_of_the_paste_decides_between_articles_sharing_a_message(client) -> None:
    paste = (
        "Widget catalog is corrupt or unreadable\n"
        "Schema conversion stopped at widget table revision 7\n"
    )
    assert match(client, paste)["matches"][0]["article_id"] == "910004"


def test_boilerplate_lines_alone_never_make_a_confident_answer(client) -> None:
    paste = "\n".join(BOILERPLATE * 3 + [f"{line} again" for line in BOILERPLATE])
    body = match(client, paste)
    assert all(m["confidence"] < 0.5 for m in body["matches"])


def test_an_article_deleted_is_no_longer_found_by_its_text(client) -> None:
    document = article("910099", "Short-lived article", "Gizmo frobnicator overheated badly")
    assert client.put("/v1/articles/910099", json=document, headers=AUTH).status_code == 201
    assert (
        match(client, "Gizmo frobnicator overheated badly")["matches"][0]["article_id"] == "910099"
    )
    assert client.delete("/v1/articles/910099", headers=AUTH).status_code == 204
    assert all(
        m["article_id"] != "910099"
        for m in match(client, "Gizmo frobnicator overheated badly")["matches"]
    )


def test_the_plain_text_answer_says_a_line_is_shared(client) -> None:
    response = client.post(
        "/v1/match",
        data=b"Widget catalog is corrupt or unreadable",
        content_type="text/plain",
        headers={"Accept": "text/plain"},
    )
    assert response.status_code == 200
    assert "said by 3 articles" in response.get_data(as_text=True)


def test_a_report_header_an_article_quotes_does_not_make_a_confident_answer(client) -> None:
    header = [
        "*----> Gadget Report <----*",
        "Machine Name: LAB-PC-07",
        "Operator Name: jdoe",
        "Memory Banks: 4",
        "Board Revision: C",
    ]
    document = article("910120", "Gadget report shows a crash", "\n".join(header))
    assert client.put("/v1/articles/910120", json=document, headers=AUTH).status_code == 201
    body = match(client, "\n".join(header))
    assert body["matches"][0]["article_id"] == "910120"
    assert body["matches"][0]["confidence"] < 0.5


def test_a_paste_made_to_maximise_the_extra_searches_is_answered(client) -> None:
    # Every line distinct, 40 tokens, quoted parts and unknown words: each would ask for
    # hundreds of runs, slots and spellings; the per-paste caps keep the work bounded.
    lines = [
        f"zqx{i}word 'quoted widget text number {i}' "
        + " ".join(f"tok{i}x{j}" for j in range(30))
        + ' "another quoted part here"'
        for i in range(400)
    ]
    lines.append("Widget Manager ==> Timed out waiting for the widget service semaphore.")
    body = match(client, "\n".join(lines))
    assert body["records_read"] == 401
    assert body["matches"][0]["article_id"] == "910001"


def test_a_short_paste_made_to_maximise_the_runs_with_values_is_answered(client) -> None:
    # A typed paste's lines have their runs with values tried with slots: 19 distinct lines of
    # 40 tokens whose words and values alternate, so that nearly every run has one or two
    # values, and no line is found whole. The line and token caps keep the work bounded.
    def word(i: int, j: int) -> str:
        return "zq" + chr(97 + i) + chr(97 + j % 26) + chr(97 + j // 26)

    lines = [
        " ".join(f"{1000 * i + j}" if j % 3 == 2 else word(i, j) for j in range(39))
        for i in range(19)
    ]
    lines.append("Widget Manager ==> Timed out waiting for the widget service semaphore.")
    body = match(client, "\n".join(lines))
    assert body["records_read"] == 20
    assert body["matches"][0]["article_id"] == "910001"


def test_a_routine_line_an_article_quotes_does_not_outweigh_the_error_beside_it(client) -> None:
    # Alone, the routine line finds the article quoting it; beside a line that reports a
    # problem, the article explaining the problem comes first.
    routine = "Zorbix relay poller sleeping for 60 seconds"
    assert match(client, routine)["matches"][0]["article_id"] == "910026"
    paste = "\n".join([routine, "Error connecting to the widget server", routine])
    ranked = [m["article_id"] for m in match(client, paste)["matches"]]
    assert ranked[:2] == ["910027", "910026"]


def test_a_piece_one_article_wrapped_apart_does_not_outweigh_the_whole_line_others_say(
    client,
) -> None:
    # 910030's wrap leaves "... could not start on" as a line of its own; the three articles
    # all say the whole message, and none is told apart by the piece.
    body = match(client, "users see Widget relay agent could not start on \\\\HUB01 every morning")
    top = body["matches"][:3]
    assert {m["article_id"] for m in top} == {"910028", "910029", "910030"}
    assert len({m["score"] for m in top}) == 1


def test_a_quoted_message_with_a_value_matches_the_article_writing_it_with_a_placeholder_first(
    client,
) -> None:
    # 910031 quotes the message's words without the name; 910032 writes the whole message.
    body = match(client, 'I get "Cannot reach widget hub HUB-07" when I start the console')
    assert [m["article_id"] for m in body["matches"][:2]] == ["910032", "910031"]


def test_a_line_with_two_values_finds_the_article_naming_one_of_them_first(client) -> None:
    # Two articles write both values as placeholders; one names the module the paste names.
    body = match(client, "A0170178 caused a widget fault in module WIDGMAPI32.DLL at")
    ranked = [m["article_id"] for m in body["matches"]]
    assert ranked[0] == "910035"
    assert set(ranked[1:3]) == {"910033", "910034"}
