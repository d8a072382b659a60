"""Answers as people read them: Markdown for chat, plain text for an 80-column terminal.

The renderers take the same dictionaries the JSON API returns (a match response, a full
article, an issue with its records inlined), so every form of an answer comes from one matcher
and one store. Only the first few confident matches are shown in full; the rest get a line each,
because a chat message or a terminal screen is read top-down and the first answer is what helps.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable
from typing import Any

from service.links import article_page, issue_page
from service.matching.rank import CONFIDENT
from service.records import article_issues

WIDTH = 80
# Matches shown with causes and steps; the others are listed one line each.
FULL_MATCHES = 3

MARKDOWN = "text/markdown"
PLAIN = "text/plain"
TEXT_MEDIA = (MARKDOWN, PLAIN)
# How an answer names each kind of error code.
CODE_KINDS = {
    "win32": "Win32",
    "net": "NET",
    "ntstatus": "NTSTATUS",
    "hresult": "HRESULT",
    "bugcheck": "stop code",
    "sms": "SMS status message",
}

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


# -- helpers ----------------------------------------------------------------------------------


def _shared(item: dict[str, Any]) -> str:
    """Says when a matched line is not this article's alone: the paste's other lines decide."""
    count = item.get("shared_by", 1)
    if count <= 1:
        return ""
    what = "articles" if item.get("source") == "article_text" else "issues"
    return f", said by {count} {what}"


def _all_shared(match: dict[str, Any]) -> str:
    """For a match listed in one line: says when every line it matched others say too."""
    lines = match["matched_lines"]
    if not lines or min(item.get("shared_by", 1) for item in lines) <= 1:
        return ""
    return f" (its lines are{_shared(min(lines, key=lambda i: i.get('shared_by', 1)))[1:]})"


def _md(text: str) -> str:
    """Text with Markdown's active characters escaped, so a title never turns into markup."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def _code(text: str) -> str:
    """An inline code span that survives backticks inside the text."""
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _md_text(text: str) -> list[str]:
    """Prose as Markdown paragraphs, with the articles' bullet lines kept as a list."""
    out: list[str] = []
    for paragraph in _paragraphs(text):
        lines = [
            f"- {_md(line.strip()[1:].strip())}" if line.strip().startswith("•") else _md(line)
            for line in paragraph.splitlines()
        ]
        out += ["\n".join(lines), ""]
    return out


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text or "") if p.strip()]


def _wrap(text: str, indent: str | None = None, first: str | None = None) -> list[str]:
    """Wrap each paragraph to 80 columns; `first` leads the very first line.

    Without an explicit `indent`, later lines hang under the text of the first one.
    """
    if indent is None:
        indent = " " * len(first or "")
    lines: list[str] = []
    for n, paragraph in enumerate(_paragraphs(text)):
        if n:
            lines.append("")
        # Lines of a paragraph that look like a command or a file entry keep their shape.
        for raw in paragraph.splitlines():
            lead = first if (first is not None and not lines) else indent
            lines.extend(
                textwrap.wrap(
                    raw.strip(),
                    width=WIDTH,
                    initial_indent=lead,
                    subsequent_indent=indent,
                    break_long_words=True,
                    break_on_hyphens=False,
                )
                or [lead.rstrip()]
            )
    return lines


def _url(base_url: str, path: str | None) -> str:
    return f"{base_url.rstrip('/')}{path}" if path else ""


def _shown(matches: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Split matches into those shown in full and those listed one line each."""
    full = [m for m in matches[:FULL_MATCHES] if m["confidence"] >= CONFIDENT]
    if not full and matches:
        full = matches[:1]
    return full, matches[len(full) :]


def _filter_note(body: dict[str, Any]) -> str:
    """What the product and version filters left out, when they left anything out; with no
    match shown the hint says it already."""
    return (body.get("filters") or {}).get("note", "")


def _issue_label(match: dict[str, Any]) -> str:
    return f"KB{match['article_id']} issue {match['issue_id']}"


def _sureness(match: dict[str, Any]) -> str:
    """The confidence as people read it: the number and whether the answer is sure of it."""
    return f"confidence {match['confidence']:.2f}, {match['certainty']}"


def _page(base_url: str, match: dict[str, Any]) -> str:
    """The address of a match's issue page (the answer's `page_url`, on the same base)."""
    return _url(base_url, issue_page(match["issue_id"]))


# -- match ------------------------------------------------------------------------------------


def match_markdown(body: dict[str, Any], base_url: str) -> str:
    """A `/v1/match` answer as Markdown: top issues, evidence, causes, numbered steps."""
    out: list[str] = []
    matches = body["matches"]
    summary = (
        f"{body['records_read']} log record(s) read ({body['format']}), "
        f"{body['matched_lines']} matched, {body['unmatched_lines']} matched nothing."
    )
    if not matches:
        out += ["## No known issue matched", "", summary, "", _md(body.get("hint", ""))]
        return "\n".join(out).rstrip() + "\n"
    full, others = _shown(matches)
    out += [f"_{summary}_", ""]
    if _filter_note(body):
        out += [f"> {_md(_filter_note(body))}", ""]
    brief = body.get("detail") == "brief"
    for rank, match in enumerate(full, 1):
        block = _brief_block_markdown if brief else _match_block_markdown
        out += block(rank, match, base_url)
    if others:
        out += ["### Other candidates", ""]
        for match in others:
            link = _page(base_url, match)
            out.append(
                f"- [{_md(match['title'])}]({link}) ({_issue_label(match)}, "
                f"{_sureness(match)}{_all_shared(match)})"
            )
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _brief_block_markdown(rank: int, match: dict[str, Any], base_url: str) -> list[str]:
    """A match as a ticket or a chat message needs it: how sure and why, at most three lines,
    the fixes by title with their steps, and the page to read the rest on."""
    out = [
        f"**{rank}. {_md(match['title'])}**  ",
        f"{_issue_label(match)}, {_sureness(match)}: {_md(match['confidence_reason'])}",
        "",
    ]
    lines = [f"- line {item['line']}: {_code(item['text'])}" for item in match["matched_lines"]]
    lines += _codes_markdown(match)
    if lines:
        out += [*lines, ""]
    if match["fixes"]:
        out += ["Fix:", ""]
        for n, fix in enumerate(match["fixes"], 1):
            out.append(f"{n}. {_md(fix['title'])}")
            out += [f"   - {_md(step)}" for step in fix["steps"]]
        out.append("")
    out += [f"More: {_page(base_url, match)}", ""]
    return out


def _match_block_markdown(rank: int, match: dict[str, Any], base_url: str) -> list[str]:
    article_link = _url(base_url, article_page(match["article_id"]))
    issue_link = _page(base_url, match)
    out = [
        f"## {rank}. {_md(match['title'])}",
        "",
        f"[KB{match['article_id']}]({article_link}): {_md(match['article_title'])}  ",
        f"Issue [`{match['issue_id']}`]({issue_link}), confidence **{match['confidence']:.2f}, "
        f"{match['certainty']}** (score {match['score']:g}): {_md(match['confidence_reason'])}",
        "",
    ]
    evidence = match["matched_lines"]
    if evidence or match.get("matched_terms"):
        out += ["**Why it matched**", ""]
        for item in evidence:
            out.append(
                f"- line {item['line']} ({item['match']}{_shared(item)}): {_code(item['text'])}"
            )
        if match.get("matched_terms"):
            terms = ", ".join(_code(t) for t in match["matched_terms"])
            out.append(f"- words shared with the article: {terms}")
        out += _codes_markdown(match)
        out.append("")
    out += _records_markdown(
        match["causes"], match["remediation"], match["related_articles"], base_url
    )
    out += [f"Full article: {article_link}", ""]
    return out


def _codes_markdown(match: dict[str, Any]) -> list[str]:
    """A line per error code of the matched lines: the code, its name and what it means."""
    out = []
    for code in match.get("error_codes", []):
        name, said = _code_text(code)
        named = f" {_code(name)}" if name else ""
        out.append(f"- error {_code(code['code'])}{named} {_md(said)}")
    return out


def _codes_text(match: dict[str, Any]) -> list[str]:
    """`_codes_markdown` for a terminal."""
    out: list[str] = []
    for code in match.get("error_codes", []):
        name, said = _code_text(code)
        out += _wrap(" ".join(filter(None, (name, said))), first=f"  error {code['code']} ")
    return out


def _code_text(code: dict[str, Any]) -> tuple[str | None, str]:
    """An error code's name, and what follows it on its line: "(Win32): Access is denied..."."""
    kind = CODE_KINDS.get(code.get("kind", ""), code.get("kind", ""))
    return code.get("name"), f"({kind}): {code.get('meaning') or 'not a well-known code'}"


def _records_markdown(
    causes: list[dict[str, Any]],
    workarounds: list[dict[str, Any]],
    related: Iterable[dict[str, Any]] = (),
    base_url: str = "",
) -> list[str]:
    out: list[str] = []
    if causes:
        out += ["**Causes**", ""]
        out += [f"- {_md(' '.join(_paragraphs(c['text'])))}" for c in causes]
        out.append("")
    if workarounds:
        out += ["**What fixes it**", ""]
        for n, workaround in enumerate(workarounds, 1):
            out += _workaround_markdown(n, workaround)
    related = list(related)
    if related:
        out += ["**Related articles**", ""]
        for item in related:
            name = f"KB{item['article_id']}"
            if item.get("in_store"):
                # Only articles the knowledge base has get a link: the others have no page.
                name = f"[{name}]({_url(base_url, article_page(item['article_id']))})"
            out.append(f"- {name}: {_md(item.get('title') or '')}".rstrip(": "))
        out.append("")
    return out


def _workaround_markdown(n: int, workaround: dict[str, Any]) -> list[str]:
    out = [f"{n}. **{_md(workaround['title'])}**", ""]
    indent = "   "
    steps = workaround.get("steps", [])
    for condition in workaround.get("preconditions", []):
        out += [f"{indent}_When:_ {_md(condition)}", ""]
    if not steps and workaround.get("description"):
        for paragraph in _paragraphs(workaround["description"]):
            out += [*_md_block(paragraph, indent), ""]
    for warning in workaround.get("warnings", []):
        out += [f"{indent}> **Warning:** {_md(warning)}", ""]
    if steps:
        for step in steps:
            paragraphs = _paragraphs(step["text"])
            out.append(f"{indent}{step['number']}. {_md(paragraphs[0]) if paragraphs else ''}")
            for paragraph in paragraphs[1:]:
                out += ["", *_md_block(paragraph, f"{indent}   ")]
            for warning in step.get("warnings", []):
                out += ["", f"{indent}   > **Warning:** {_md(warning)}"]
        out.append("")
    return out


def _md_block(paragraph: str, indent: str) -> list[str]:
    """A paragraph of a fix: a table or a listing (its lines kept) as a code block, so that
    Markdown does not run its rows together; other text as it is."""
    lines = paragraph.splitlines()
    if len(lines) == 1 or all(line.lstrip().startswith("•") for line in lines):
        return [f"{indent}{line}" for line in _md_text(paragraph)[0].splitlines()]
    fence = "````" if "```" in paragraph else "```"
    return [
        f"{indent}{fence}",
        *(f"{indent}{line}" for line in lines),
        f"{indent}{fence}",
    ]


def match_text(body: dict[str, Any], base_url: str) -> str:
    """A `/v1/match` answer as plain text within 80 columns, for a terminal."""
    matches = body["matches"]
    out = [
        f"{body['records_read']} record(s) read ({body['format']}); "
        f"{body['matched_lines']} matched, {body['unmatched_lines']} matched nothing."
    ]
    if not matches:
        out += [""] + _wrap(body.get("hint", ""))
        return "\n".join(out) + "\n"
    if _filter_note(body):
        out += [""] + _wrap(_filter_note(body))
    full, others = _shown(matches)
    brief = body.get("detail") == "brief"
    for rank, match in enumerate(full, 1):
        out += ["", "=" * WIDTH]
        out += _wrap(match["title"], first=f"{rank}. ")
        out += [f"   {_issue_label(match)}  {_sureness(match)}"]
        out += _wrap(match["confidence_reason"], first="   Because: ", indent="   ")
        out.append(f"   {_page(base_url, match)}")
        if brief:
            out += _brief_text(match)
            continue
        if match["matched_lines"]:
            out += ["", "Why it matched:"]
            for item in match["matched_lines"]:
                head = f"  line {item['line']:>4} {item['match']:<10} "
                out += _wrap(item["text"] + _shared(item), indent=" " * len(head), first=head)
        out += _codes_text(match)
        out += _records_text(match["causes"], match["remediation"])
    if others:
        out += ["", "Other candidates:"]
        for match in others:
            head = f"  {match['confidence']:.2f} {match['certainty']} {_issue_label(match)}: "
            out += _wrap(match["title"] + _all_shared(match), indent="    ", first=head)
    return "\n".join(out) + "\n"


def _brief_text(match: dict[str, Any]) -> list[str]:
    out: list[str] = []
    if match["matched_lines"]:
        out += ["", "Why it matched:"]
        for item in match["matched_lines"]:
            head = f"  line {item['line']:>4} "
            out += _wrap(item["text"], indent=" " * len(head), first=head)
    out += _codes_text(match)
    if match["fixes"]:
        out += ["", "What fixes it:"]
        for n, fix in enumerate(match["fixes"], 1):
            out += _wrap(fix["title"], first=f"  {n}. ")
            for step in fix["steps"]:
                out += _wrap(step, first="     - ")
    return out


def _records_text(causes: list[dict[str, Any]], workarounds: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    if causes:
        out += ["", "Causes:"]
        for cause in causes:
            out += _wrap(" ".join(_paragraphs(cause["text"])), first="  - ")
    if workarounds:
        out += ["", "What fixes it:"]
        for n, workaround in enumerate(workarounds, 1):
            out += _wrap(workaround["title"], first=f"  {n}. ")
            for condition in workaround.get("preconditions", []):
                out += _wrap(condition, first="     When: ")
            steps = workaround.get("steps", [])
            if not steps and workaround.get("description"):
                out += _wrap(workaround["description"], indent="     ")
            for warning in workaround.get("warnings", []):
                out += _wrap(warning, first="     WARNING: ")
            for step in steps:
                out += _wrap(step["text"], first=f"     {step['number']:>2}. ")
                for warning in step.get("warnings", []):
                    out += _wrap(warning, first="         WARNING: ")
    return out


# -- records ----------------------------------------------------------------------------------


def _symptom_lines(symptoms: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in symptoms if s.get("kind") != "condition"]


def issue_markdown(issue: dict[str, Any], base_url: str) -> str:
    """An issue with its symptoms, causes and workarounds inlined, as Markdown."""
    out = [
        f"# {_md(issue['title'])}",
        "",
        f"[KB{issue['article_id']}]({_url(base_url, article_page(issue['article_id']))}): "
        f"{_md(issue['article_title'])}, issue `{issue['id']}`",
        "",
    ]
    out += _md_text(issue.get("description", ""))
    out += _symptoms_markdown(issue.get("symptoms", []))
    out += _records_markdown(issue.get("causes", []), issue.get("workarounds", []))
    out.append(f"Source: {_url(base_url, issue_page(issue['id']))}")
    return "\n".join(out).rstrip() + "\n"


def _symptoms_markdown(symptoms: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    conditions = [s for s in symptoms if s.get("kind") == "condition"]
    lines = _symptom_lines(symptoms)
    if conditions:
        out += ["**Symptoms**", ""] + [f"- {_md(s['text'])}" for s in conditions] + [""]
    if lines:
        out += ["**Log lines**", ""]
        for symptom in lines:
            where = f" ({', '.join(symptom['log_files'])})" if symptom.get("log_files") else ""
            out.append(f"- {_code(symptom['text'])}{_md(where)}")
        out.append("")
    return out


def issue_text(issue: dict[str, Any], base_url: str) -> str:
    """An issue with its records inlined, as plain text within 80 columns."""
    out = _wrap(issue["title"])
    out += [
        f"KB{issue['article_id']} issue {issue['id']}",
        _url(base_url, issue_page(issue["id"])),
        "",
    ]
    out += _wrap(issue.get("description", ""))
    out += _symptoms_text(issue.get("symptoms", []))
    out += _records_text(issue.get("causes", []), issue.get("workarounds", []))
    return "\n".join(out) + "\n"


def _symptoms_text(symptoms: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    lines = _symptom_lines(symptoms)
    conditions = [s for s in symptoms if s.get("kind") == "condition"]
    if conditions:
        out += ["", "Symptoms:"]
        for symptom in conditions:
            out += _wrap(symptom["text"], indent="    ", first="  - ")
    if lines:
        out += ["", "Log lines:"]
        for symptom in lines:
            where = f" [{', '.join(symptom['log_files'])}]" if symptom.get("log_files") else ""
            out += _wrap(symptom["text"] + where, indent="    ", first="  - ")
    return out


def article_markdown(article: dict[str, Any], base_url: str) -> str:
    """A full article as Markdown: what it applies to, its issues with their fixes."""
    out = [f"# KB{article['id']}: {_md(article['title'])}", ""]
    applies = ", ".join(f"{a['product']} {a['version']}".strip() for a in article["applies_to"])
    if applies:
        out += [f"Applies to: {_md(applies)}", ""]
    if article.get("summary"):
        out += _md_text(article["summary"])
    for issue in article_issues(article):
        out += [f"## Issue {issue['number']}: {_md(issue['title'])}", ""]
        out += _md_text(issue.get("description", ""))
        out += _symptoms_markdown(issue["symptoms"])
        out += _records_markdown(issue["causes"], issue["workarounds"])
    out += _records_markdown([], [], article.get("related", []), base_url)
    out.append(f"Source: {_url(base_url, article_page(article['id']))}")
    return "\n".join(out).rstrip() + "\n"


def article_text(article: dict[str, Any], base_url: str) -> str:
    """A full article as plain text within 80 columns."""
    out = _wrap(f"KB{article['id']}: {article['title']}")
    applies = ", ".join(f"{a['product']} {a['version']}".strip() for a in article["applies_to"])
    if applies:
        out += _wrap(applies, indent="            ", first="Applies to: ")
    out.append(_url(base_url, article_page(article["id"])))
    if article.get("summary"):
        out += [""] + _wrap(article["summary"])
    for issue in article_issues(article):
        out += ["", "=" * WIDTH]
        out += _wrap(f"Issue {issue['number']}: {issue['title']}")
        out += _symptoms_text(issue["symptoms"])
        out += _records_text(issue["causes"], issue["workarounds"])
    related = article.get("related", [])
    if related:
        out += ["", "Related articles:"]
        for item in related:
            out += _wrap(
                item.get("title") or "", indent="    ", first=f"  KB{item['article_id']}: "
            )
    return "\n".join(out) + "\n"


RENDERERS = {
    "match": {MARKDOWN: match_markdown, PLAIN: match_text},
    "article": {MARKDOWN: article_markdown, PLAIN: article_text},
    "issue": {MARKDOWN: issue_markdown, PLAIN: issue_text},
}
