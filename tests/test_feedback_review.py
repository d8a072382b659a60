"""Nobody steers the answers for everyone: feedback is reviewed, learned lines are specific and
weigh less, doubts never hide an issue, request ids are the server's, stats keep no secrets."""

from __future__ import annotations

import pytest

from service.learning import distinctive
from service.normalize import normalize
from tests.helpers import outside_sql
from tests.test_feedback import PASTE

# The store these tests write to is a SQLite file, then a PostgreSQL database.
pytestmark = pytest.mark.usefixtures("backend")

TOKEN = "reviewer-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# Lines no article says: an attacker's, or a log format's routine lines.
GENERIC = [
    "Policy agent is evaluating machine policy assignments for this cycle",
    "Client health evaluation started for the scheduled maintenance window",
    "Software update scan completed and reported state messages to the server",
    "Location services refreshed the list of management points for the site",
    "Inventory task queued the hardware and software inventory actions",
]
# Pastes other users send: each answered by what its articles say.
OTHERS = [
    "Trying to open IPC connection with APM...  CCIM32\n"
    'Component "Remote Control" moved from index 0 to 6  CCIM32\n',
    "Inventory Agent failed to write the cache file, error 0x80070005\n",
]


@pytest.fixture()
def app(make_app, fresh_config):
    return make_app(fresh_config, api_tokens=[TOKEN])


@pytest.fixture()
def client(app):
    return app.test_client()


def answers(client, pastes: list[str]) -> list[list[tuple[str, float]]]:
    """What each paste gets, with each other user's pastes and the generic lines added."""
    out = []
    for paste in pastes:
        for extra in ("", "\n".join(GENERIC) + "\n"):
            body = client.post("/v1/match", data=paste + extra, content_type="text/plain")
            out.append([(m["issue_id"], m["score"]) for m in body.get_json()["matches"]])
    return out


def feedback(client, address: str = "127.0.0.1", **verdict):
    return client.post("/v1/feedback", json=verdict, environ_base={"REMOTE_ADDR": address})


def paste(client, lines: list[str], address: str) -> None:
    """Send a paste of `lines` as the client at `address`."""
    client.post(
        "/v1/match",
        data="\n".join(lines) + "\n",
        content_type="text/plain",
        environ_base={"REMOTE_ADDR": address},
    )


def approve(client, feedback_id: int) -> dict:
    response = client.post(f"/v1/feedback/{feedback_id}/approve", headers=AUTH)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_an_anonymous_verdict_changes_no_ones_answer(client) -> None:
    before = answers(client, OTHERS)
    log = "\n".join(GENERIC) + "\nTrying to open IPC connection with APM...  CCIM32\n"
    for helpful in (True, False, True):
        response = feedback(client, log=log, issue_id="900001-1", helpful=helpful)
        assert response.status_code == 201
        assert response.get_json()["feedback"]["status"] == "pending"
        assert response.get_json()["learned_symptoms"] == []
    assert answers(client, OTHERS) == before


def test_lines_that_many_pastes_had_are_never_learned_even_when_approved(client) -> None:
    # A log format's routine lines: every client's paste has them.
    for n in range(5):
        paste(client, GENERIC, f"10.1.0.{n}")
    before = answers(client, OTHERS)
    specific = "Cache compaction left orphaned delta segments behind on the volume"
    log = "\n".join([*GENERIC, specific, "Inventory Agent failed to write the cache file"])
    verdict = feedback(client, log=log, issue_id="900001-1", helpful=True).get_json()
    pending = client.get("/v1/feedback/pending", headers=AUTH).get_json()["items"]
    # Only the line specific to this paste is proposed, and only it is learned.
    assert pending[0]["lines"] == [normalize(specific).signature]
    learned = approve(client, verdict["feedback"]["id"])["learned_symptoms"]
    assert [r["text"] for r in learned] == [normalize(specific).signature]
    assert answers(client, OTHERS) == before


def test_even_an_approved_verdict_does_not_outvote_the_articles(client) -> None:
    # The worst case: on a server that has seen none of these lines yet, a reviewer approves
    # a verdict that teaches an unrelated issue a log format's routine lines.
    firsts = [a[0][0] for a in answers(client, OTHERS)]
    verdict = feedback(client, log="\n".join(GENERIC), issue_id="264630-2", helpful=True)
    learned = approve(client, verdict.get_json()["feedback"]["id"])["learned_symptoms"]
    assert len(learned) == len(GENERIC)
    after = answers(client, OTHERS)
    # Other users' pastes that carry those lines are still answered by their own articles.
    assert [a[0][0] for a in after] == firsts
    alone = client.post("/v1/match", data="\n".join(GENERIC), content_type="text/plain")
    assert alone.get_json()["matches"][0]["confidence"] < 0.3


def test_content_gaps_sent_back_as_one_paste_teach_nothing(client) -> None:
    gap_lines = GENERIC[:3]
    for n in range(6):
        paste(client, gap_lines, f"10.2.0.{n}")
    gaps = client.get("/v1/stats", headers=AUTH).get_json()["content_gaps"]
    assert {g["line"] for g in gaps} == {normalize(line).signature for line in gap_lines}
    before = answers(client, OTHERS)
    verdict = feedback(
        client, log="\n".join(g["line"] for g in gaps), issue_id="264630-2", helpful=True
    ).get_json()
    assert approve(client, verdict["feedback"]["id"])["learned_symptoms"] == []
    assert answers(client, OTHERS) == before


def test_doubts_change_nothing_until_approved_and_then_lower_without_hiding(client) -> None:
    symptom = "Trying to open IPC connection with APM...  CCIM32\n"

    def first_score() -> tuple[str, float]:
        body = client.post("/v1/match", data=symptom, content_type="text/plain").get_json()
        return body["matches"][0]["issue_id"], body["matches"][0]["score"]

    issue, score = first_score()
    assert issue == "264630-1"
    ids = [
        feedback(client, log=symptom, issue_id="264630-1", helpful=False).get_json()["feedback"][
            "id"
        ]
        for _ in range(3)
    ]
    assert first_score() == (issue, score)
    for feedback_id in ids:
        assert approve(client, feedback_id)["penalised_lines"] == 1
    # Three approved doubts on the article's own line: lowered, by at most a quarter, and
    # still the answer, since nothing else in the paste points anywhere.
    lowered = first_score()
    assert lowered[0] == "264630-1"
    assert lowered[1] == pytest.approx(score / 4)


def test_a_quorum_of_distinct_clients_applies_a_line_and_one_client_never_does(
    make_app,
    fresh_config,
) -> None:
    app = make_app(fresh_config, api_tokens=[TOKEN], feedback_quorum=2)
    client = app.test_client()
    specific = "Cache compaction left orphaned delta segments behind on the volume"
    log = f"Inventory Agent failed to write the cache file, error 0x80070005\n{specific}\n"
    for _ in range(3):
        body = feedback(client, "10.3.0.1", log=log, issue_id="900001-1", helpful=True)
        assert body.get_json()["learned_symptoms"] == []
    quiet = client.get("/v1/match", query_string={"line": specific}).get_json()
    assert quiet["matches"] == []
    agreed = feedback(client, "10.3.0.2", log=log, issue_id="900001-1", helpful=True)
    body = agreed.get_json()
    assert body["feedback"]["status"] == "approved"
    assert [r["text"] for r in body["learned_symptoms"]] == [normalize(specific).signature]
    found = client.get("/v1/match", query_string={"line": specific}).get_json()
    top = found["matches"][0]
    assert top["issue_id"] == "900001-1"
    # Learned evidence alone counts less than an article's own line would.
    own = client.get(
        "/v1/match",
        query_string={"line": "Inventory Agent failed to write the cache file, error 0x80070005"},
    ).get_json()["matches"][0]
    assert top["score"] < own["score"]


def test_a_quorum_of_one_is_refused(monkeypatch) -> None:
    from service.config import Config

    monkeypatch.setenv("KB_FEEDBACK_QUORUM", "1")
    with pytest.raises(SystemExit, match="KB_FEEDBACK_QUORUM"):
        Config.from_env()


def test_review_needs_a_token_and_happens_once(client) -> None:
    verdict = feedback(client, log=PASTE, issue_id="900001-1", helpful=True).get_json()
    path = f"/v1/feedback/{verdict['feedback']['id']}"
    assert client.get("/v1/feedback/pending").status_code == 401
    assert client.post(f"{path}/approve").status_code == 401
    bad = {"Authorization": "Bearer nope"}
    assert client.post(f"{path}/approve", headers=bad).status_code == 401
    rejected = client.post(f"{path}/reject", headers=AUTH)
    assert rejected.status_code == 200
    assert rejected.get_json()["feedback"]["status"] == "rejected"
    assert rejected.get_json()["learned_symptoms"] == []
    again = client.post(f"{path}/approve", headers=AUTH)
    assert again.status_code == 409
    assert again.mimetype == "application/problem+json"
    assert client.post("/v1/feedback/424242/approve", headers=AUTH).status_code == 404
    assert client.get("/v1/feedback/pending", headers=AUTH).get_json()["items"] == []


def test_pending_verdicts_are_paged(client) -> None:
    for _ in range(3):
        feedback(client, log=PASTE, issue_id="900001-1", helpful=False)
    first = client.get("/v1/feedback/pending?limit=2", headers=AUTH).get_json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = client.get(first["links"]["next"], headers=AUTH).get_json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert rest["items"][0]["id"] > first["items"][1]["id"]


def test_kb_feedback_lists_approves_and_rejects(
    make_app, fresh_config, capsys, monkeypatch
) -> None:
    from service.cli import main

    app = make_app(fresh_config, api_tokens=[TOKEN])
    client = app.test_client()
    ids = [
        feedback(client, log=PASTE, issue_id="900001-1", helpful=True).get_json()["feedback"]["id"]
        for _ in range(2)
    ]
    home = str(fresh_config.kb_home)
    monkeypatch.setenv("KB_DATA", str(fresh_config.kb_data))
    if fresh_config.database_url:
        monkeypatch.setenv("KB_DATABASE_URL", fresh_config.database_url)
    assert main(["--home", home, "feedback", "pending"]) == 0
    listed = capsys.readouterr().out
    assert f"#{ids[0]}" in listed and "would learn 3 line(s)" in listed
    assert main(["--home", home, "feedback", "approve", str(ids[0])]) == 0
    assert "3 line(s) learned" in capsys.readouterr().out
    assert main(["--home", home, "feedback", "reject", str(ids[1])]) == 0
    assert main(["--home", home, "feedback", "approve", str(ids[1]), "99999"]) == 1
    errors = capsys.readouterr().err
    assert "rejected already" in errors and "no such feedback" in errors


def test_short_routine_lines_are_never_learned() -> None:
    # Three words of sixteen characters and more were enough once: an honest click on a
    # paste full of routine lines taught them all.
    lines = [
        normalize(t)
        for t in (
            "Sleeping for 60 seconds now",
            "Starting service thread pool",
            "Delta report checksum mismatch detected, discarding partial inventory",
        )
    ]
    assert distinctive(lines) == [
        "delta report checksum mismatch detected discarding partial inventory"
    ]


def test_a_clients_request_id_never_replaces_anothers_match(client) -> None:
    victim = client.post("/v1/match", data=PASTE, content_type="text/plain")
    victim_id = victim.get_json()["request_id"]
    # The attacker's paste names the victim's id: the server gives it an id of its own.
    attacker = client.post(
        "/v1/match",
        data="\n".join(GENERIC) + "\n",
        content_type="text/plain",
        headers={"X-Request-ID": victim_id},
    )
    assert attacker.get_json()["request_id"] != victim_id
    assert attacker.headers["X-Correlation-ID"] == victim_id
    verdict = feedback(client, request_id=victim_id, issue_id="900001-1", helpful=True).get_json()
    learned = approve(client, verdict["feedback"]["id"])["learned_symptoms"]
    assert [r["text"] for r in learned] == [
        "inventory cache quota exceeded on volume d while saving delta report",
        "agent scheduler postponed hardware scan after repeated write failures",
        "delta report checksum mismatch detected discarding partial inventory",
    ]


def test_stats_keep_no_secrets_names_or_single_clients_lines(client) -> None:
    lines = [
        "Login failed: Server=sqlprod01;Database=SMS_P01;User ID=smsadmin;Password=Hunter2!",
        "Logon failure for user bob at the remote console session",
        "Access check failed: user jdoe on wks0412 denied by the broker",
    ]
    paste(client, lines, "127.0.0.1")
    anonymous = client.get("/v1/stats").get_json()
    assert "content_gaps" not in anonymous
    # One client's paste: not shown even to a token holder.
    assert client.get("/v1/stats", headers=AUTH).get_json()["content_gaps"] == []
    for n in range(2):
        paste(client, lines, f"10.4.0.{n}")
    gaps = [g["line"] for g in client.get("/v1/stats", headers=AUTH).get_json()["content_gaps"]]
    assert sorted(gaps) == sorted(
        [
            "login failed server <secret> database <secret> user id <secret> password <secret>",
            "logon failure for user <user> at the remote console session",
            "access check failed user <user> on <host> denied by the broker",
        ]
    )
    rows = outside_sql(
        client.application.extensions["activity"].path, "SELECT evidence, unmatched FROM matches"
    )
    stored = " ".join(text for row in rows for text in row)
    for private in ("hunter2", "sqlprod01", "smsadmin", "bob", "jdoe", "wks0412"):
        assert private not in " ".join(gaps) and private not in stored


def test_one_client_cannot_fill_the_review_queue(client, monkeypatch) -> None:
    from service import feedback as feedback_module

    monkeypatch.setattr(feedback_module, "MAX_PENDING_PER_CLIENT", 2)
    for _ in range(2):
        assert feedback(client, log=PASTE, issue_id="900001-1", helpful=True).status_code == 201
    refused = feedback(client, log=PASTE, issue_id="900001-1", helpful=True)
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    assert "wait for review" in refused.get_json()["detail"]
    # Another client is not held up by the first one's queue.
    assert (
        feedback(client, "10.5.0.1", log=PASTE, issue_id="900001-1", helpful=True).status_code
        == 201
    )


def test_behind_a_trusted_proxy_clients_are_told_apart_by_their_forwarded_address(
    make_app,
    fresh_config,
) -> None:
    app = make_app(fresh_config, api_tokens=[TOKEN], feedback_quorum=2, trust_proxy=1)
    client = app.test_client()
    specific = "Cache compaction left orphaned delta segments behind on the volume"
    log = f"Inventory Agent failed to write the cache file, error 0x80070005\n{specific}\n"

    def verdict(forwarded: str) -> dict:
        return client.post(
            "/v1/feedback",
            json={"log": log, "issue_id": "900001-1", "helpful": True},
            headers={"X-Forwarded-For": forwarded},
        ).get_json()

    # Two clients behind the one proxy address make a quorum of two.
    assert verdict("198.51.100.7")["learned_symptoms"] == []
    assert len(verdict("198.51.100.8")["learned_symptoms"]) == 1


def test_without_a_trusted_proxy_a_forwarded_address_is_ignored(make_app, fresh_config) -> None:
    app = make_app(fresh_config, api_tokens=[TOKEN], feedback_quorum=2)
    client = app.test_client()
    specific = "Cache compaction left orphaned delta segments behind on the volume"
    log = f"Inventory Agent failed to write the cache file, error 0x80070005\n{specific}\n"
    for forwarded in ("198.51.100.7", "198.51.100.8", "198.51.100.9"):
        body = client.post(
            "/v1/feedback",
            json={"log": log, "issue_id": "900001-1", "helpful": True},
            headers={"X-Forwarded-For": forwarded},
        ).get_json()
        assert body["learned_symptoms"] == []
