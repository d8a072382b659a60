"""The README's examples, run as written against a live `kb serve`.

Every `curl` command of the README's fenced shell blocks is run by bash from the project's
directory, in the README's order, against a server started as the README starts one (a token
in `KB_API_TOKENS`); only the address is changed, to the free port the server got. Each must
exit 0 and answer what its request asks for: JSON that is not a problem, Markdown, plain text,
YAML or an empty 204. Commands that assign a variable from a curl answer (`REQUEST_ID=$(curl
...)`) are run too, and the value kept for the commands after them.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess

import pytest

from service.config import PROJECT_ROOT
from tests.helpers import kb_serve, make_config

README = PROJECT_ROOT / "README.md"
README_ADDRESS = "127.0.0.1:8000"
# Bounds: the README stays a README, and a command that hangs fails rather than stalls.
MAX_COMMANDS = 60
COMMAND_SECONDS = 30
SHELL_BLOCK = re.compile(r"^```(?:sh|bash|shell)\n(.*?)^```", re.MULTILINE | re.DOTALL)
ASSIGNMENT = re.compile(r"^([A-Z_][A-Z0-9_]*)=\$\((curl\b.*)\)$", re.DOTALL)
# The format each sample log is in, as the match answer names it.
FORMATS = {
    "examples/Ccim32.log": "sms2",
    "examples/Smscli.log": "sms1",
    "examples/Clisvc-cmtrace.log": "cmtrace",
    "examples/Launch32-utf16.log": "sms2",
}


def shell_commands(text: str) -> list[str]:
    """The commands of the fenced shell blocks, continuation lines joined, comments and
    blank lines left out."""
    commands: list[str] = []
    for block in SHELL_BLOCK.findall(text):
        pending = ""
        for line in block.splitlines():
            joined = pending + line
            if joined.rstrip().endswith("\\"):
                pending = joined.rstrip()[:-1] + " "
                continue
            pending = ""
            stripped = joined.strip()
            if stripped and not stripped.startswith("#"):
                commands.append(stripped)
    return commands


def curl_examples(text: str) -> list[str]:
    """The commands that talk to the server: curl commands, and assignments from one."""
    return [c for c in shell_commands(text) if c.startswith("curl ") or ASSIGNMENT.match(c)]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    """`kb serve` on a free port over the project's curated articles, with a token: (port,
    token)."""
    root = tmp_path_factory.mktemp("readme")
    config = make_config(root, with_test_articles=False)
    token = secrets.token_urlsafe(24)
    with kb_serve(config, root, KB_API_TOKENS=token) as port:
        yield port, token


def _run(command: str, port: int, variables: dict[str, str]) -> subprocess.CompletedProcess:
    env = {**os.environ, **variables}
    return subprocess.run(
        ["bash", "-c", command.replace(README_ADDRESS, f"127.0.0.1:{port}")],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        timeout=COMMAND_SECONDS,
        check=False,
    )


def _check_answer(command: str, output: bytes) -> None:
    """The answer is of the kind the command asks for, and not an error."""
    text = output.decode("utf-8", errors="replace")
    if "-X DELETE" in command:
        assert text == "", f"{command}: a DELETE answers 204, no body; got {text[:300]}"
        return
    if "/openapi.yaml" in command:
        assert text.startswith("openapi:"), f"{command}: not the YAML contract: {text[:300]}"
        return
    if "Accept: text/markdown" in command or "Accept: text/plain" in command:
        assert text.strip(), f"{command}: an empty answer"
        assert not text.lstrip().startswith("{"), f"{command}: JSON, not text: {text[:300]}"
        if "/v1/match" in command:
            assert "264630" in text, f"{command}: the seed's issue is not in {text[:500]}"
        return
    body = json.loads(text)
    assert isinstance(body, dict), f"{command}: not a JSON object: {text[:300]}"
    assert not ("status" in body and "title" in body and "type" in body), (
        f"{command}: a problem: {body}"
    )
    if "/v1/match" in command:
        if "version=3.0" in command:
            # The README's example of a filter that leaves the match out, as it describes it.
            assert body["matches"] == []
            assert body["filters"]["hidden_matches"] == 1
            assert body["filters"]["hidden_by"] == ["version"]
            assert "left out by version=3.0" in body["hint"]
        else:
            assert body["matches"][0]["issue_id"] == "264630-1", f"{command}: {text[:500]}"
        for name in re.findall(r"@(\S+)", command):
            assert body["format"] == FORMATS[name], f"{command}: read as {body['format']}"


def test_every_curl_example_of_the_readme_runs_and_answers_as_documented(served) -> None:
    port, token = served
    commands = curl_examples(README.read_text(encoding="utf-8"))
    assert 10 <= len(commands) <= MAX_COMMANDS
    variables = {"TOKEN": token}
    for command in commands:
        assigned = ASSIGNMENT.match(command)
        if assigned:
            name = assigned.group(1)
            done = _run(f'{command}\nprintf %s "${name}"', port, variables)
            assert done.returncode == 0, f"{command}: {done.stderr.decode()}"
            variables[name] = done.stdout.decode().strip()
            assert variables[name], f"{command}: set {name} to nothing"
            continue
        done = _run(command, port, variables)
        assert done.returncode == 0, f"{command}: exit {done.returncode}: {done.stderr.decode()}"
        _check_answer(command, done.stdout)


def test_every_file_the_examples_send_is_in_the_project() -> None:
    sent = {
        name
        for command in curl_examples(README.read_text(encoding="utf-8"))
        for name in re.findall(r"@(\S+)", command)
    }
    assert set(FORMATS) <= sent
    for name in sent:
        assert (PROJECT_ROOT / name).is_file(), name
        assert name.startswith("examples/"), name


def test_the_token_is_set_up_before_it_is_used_and_commands_are_linux_ones() -> None:
    text = README.read_text(encoding="utf-8")
    assert text.index("KB_API_TOKENS=$TOKEN") < text.index('"Authorization: Bearer $TOKEN"')
    assert text.index("export TOKEN=") < text.index("KB_API_TOKENS=$TOKEN")
    assert "PORT=" in text
    # macOS's `open` is not a Linux command.
    assert not [c for c in shell_commands(text) if c.split()[0] == "open"]
