"""Pastes for benchmarks, drawn from a store: log excerpts, one-line lookups and prose.

`make_paste` is the simple generator `bench/load.py` uses. `PasteMaker` is what
`bench/bench_match.py` and `bench/bench_import.py` use: it reads the store's quoted lines once and
makes every paste distinct (which KB lines, which noise, which instance values, which log format),
because a paste sent twice measures the server's caches rather than its matching.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from typing import Generic, TypeVar

from service.kb import KnowledgeBase
from service.normalize import parse_line

NOISE = [
    "Sleeping for {n} seconds...",
    "Waiting for changes to the site control file",
    "Checking for new instructions in {path}",
    "Processed {n} files from the inbox",
    "Heartbeat sent to site server {host}",
    "Reading configuration from HKLM\\Software\\Microsoft\\SMS\\Components",
    "Thread {n} exited normally",
    "Found {n} pending jobs",
    "Connection established with {host} on port {n}",
    "Component status message {n} reported",
]

# More varied noise for PasteMaker: the lines around an error in a real log are mostly routine.
ROUTINE = NOISE + [
    "Retrying in {n} ms, attempt {small} of 9",
    "Opened file {path} for reading",
    "Closed handle {hex} after {n} bytes",
    "Policy {guid} is up to date",
    "User {user} logged on from {ip}",
    "Site {site}: {n} objects enumerated in {small} passes",
    "Polling {host} for status, next poll in {small} minutes",
    "Service {service} state changed to RUNNING",
    "Queue {service} has {n} items, {small} in progress",
    "Sent {n} bytes to {ip}:{port}",
    "Loaded module {module} version {version}",
    "Scheduling job {guid} for {host}",
    "Cache hit ratio {small}.{n} percent",
    "Transaction {n} committed",
    "Verifying signature of {path}",
    "No changes detected since last cycle ({n} s)",
]
COMPONENTS = [
    "SMS_EXECUTIVE",
    "SMS_DISTRIBUTION_MANAGER",
    "SMS_INVENTORY_DATA_LOADER",
    "SMS_CLIENT_CONFIG_MANAGER",
    "SMS_SITE_COMPONENT_MANAGER",
    "SMS_HIERARCHY_MANAGER",
    "SMS_DISCOVERY_DATA_MANAGER",
    "CCIM32",
    "CLIENTSVC",
    "SMS_MP_CONTROL_MANAGER",
]
SERVICES = ["Spooler", "W3SVC", "MSSQLSERVER", "Netlogon", "DHCPServer", "SMS_SITE_COMPONENT"]
MODULES = ["smsprov.dll", "baseobj.dll", "clicore.exe", "wbemcore.dll", "ntdll.dll", "mfc42.dll"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
# Log formats the service reads, with the share of pastes written in each.
FORMATS = {"sms2": 5, "cmtrace": 3, "timestamped": 2}
# A known line longer than this is left out of one-line lookups: it would make a URL past the
# request-line limit of gunicorn (4094 bytes) once percent-encoded.
LOOKUP_MAX_CHARS = 600
# Messages longer than this are not what a person quotes in a sentence.
QUOTE_MAX_CHARS = 300
# Numbers of three or more digits that stand alone (counts, ids, sizes) vary between systems;
# shorter ones, versions and hex codes are more often the error itself, so they are kept.
INSTANCE_NUMBER = re.compile(r"(?<![\w.])\d{3,}(?![\w.])")
IPV4 = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")
TITLE_WORD = re.compile(r"[A-Za-z][A-Za-z0-9.+'-]*[A-Za-z0-9]")
# Title words a person would not repeat when describing the problem.
STOP_WORDS_TEXT = (
    "a an and are as at be by can cannot does for from how if in into is it its may not of on "
    "or the to when with without you your using use after before during error message problem "
    "fix info information"
)
STOP_WORDS = frozenset(STOP_WORDS_TEXT.split())

T = TypeVar("T")


def _known_lines(kb: KnowledgeBase, count: int, rng: random.Random) -> list[str]:
    total = kb.store.count("symptoms")
    lines = []
    for _ in range(count):
        text = kb.store.quoted_line_at(rng.randrange(max(1, total)))
        if text:
            lines.append(text)
    return lines


def make_paste(kb: KnowledgeBase, lines: int, rng: random.Random) -> str:
    """`lines` lines in SMS 2.0 format: about one in ten quotes a KB symptom, the rest noise."""
    known = _known_lines(kb, max(1, lines // 10), rng)
    out = []
    for i in range(lines):
        if known and (i % 10 == 3 or lines == 1):
            message = known.pop()
        else:
            message = rng.choice(NOISE).format(
                n=rng.randint(1, 5000),
                host=f"SRV{rng.randint(1, 99):02d}",
                path=f"C:\\SMS\\inboxes\\job{rng.randint(1, 99)}.box",
            )
        out.append(
            f"{message}  $$<SMS_COMPONENT><Thu Jul 26 14:22:{i % 60:02d}.512 2001 "
            f"Pacific Standard Time><thread={rng.randint(100, 4000)} (0x{rng.randint(256, 4095):X})>"
        )
    return "\n".join(out)


@dataclass(frozen=True)
class KnownLine:
    """A line an article quotes, as a log would show it: the message and what wrote it."""

    message: str
    component: str | None
    article_id: str
    kind: str


class Deck(Generic[T]):
    """Items dealt in a shuffled order without repeats until all are dealt, then reshuffled.

    `cycles` counts the reshuffles, so a benchmark can say how often its lines came round again
    (a small store has fewer quoted lines than a long run of big pastes needs).
    """

    def __init__(self, items: list[T], rng: random.Random) -> None:
        if not items:
            raise ValueError("nothing to deal: the store has no quoted lines")
        self._items = list(items)
        self._rng = rng
        self._order: list[T] = []
        self.cycles = 0
        self.dealt = 0

    def __len__(self) -> int:
        return len(self._items)

    def draw(self) -> T:
        if not self._order:
            if self.dealt:
                self.cycles += 1
            self._order = self._items[:]
            self._rng.shuffle(self._order)
        self.dealt += 1
        return self._order.pop()


class StoreSample:
    """What pastes are made of, read once from a store: quoted lines, titles and products."""

    def __init__(self, kb: KnowledgeBase) -> None:
        seen: set[str] = set()
        self.lines: list[KnownLine] = []
        self.quotable: dict[str, list[str]] = {}
        for article_id, kind, text in kb.store.quoted_lines():
            # Quoted lines keep their log trailer in the store; the message alone is what a
            # paste in another format (or a person) would show.
            message, component, _ = parse_line(text)
            if not message or message in seen:
                continue
            seen.add(message)
            self.lines.append(KnownLine(message, component, article_id, kind))
            if len(message) <= QUOTE_MAX_CHARS:
                self.quotable.setdefault(article_id, []).append(message)
        self.titles = kb.store.titles("articles")
        self.products: dict[str, str] = kb.store.first_products()
        self.articles = kb.store.count("articles")


class PasteMaker:
    """Distinct pastes from a `StoreSample` and a seeded RNG: the same seed gives the same run.

    Every paste made is remembered by its digest and made again on a clash, so no two requests
    of a benchmark send the same text.
    """

    def __init__(self, sample: StoreSample, rng: random.Random) -> None:
        self.sample = sample
        self.rng = rng
        self.known = Deck(sample.lines, rng)
        self.prose_articles = Deck(sorted(sample.quotable), rng)
        lookups = [line.message for line in sample.lines if len(line.message) <= LOOKUP_MAX_CHARS]
        self.lookups = Deck(lookups, rng)
        self._seen: set[bytes] = set()

    # -- distinct texts --------------------------------------------------------------------

    def _distinct(self, make) -> str:
        for _ in range(100):
            text = make()
            digest = hashlib.blake2b(text.encode(), digest_size=16).digest()
            if digest not in self._seen:
                self._seen.add(digest)
                return text
        raise RuntimeError("could not make a paste unlike the earlier ones")

    @property
    def made(self) -> int:
        """How many distinct texts this maker has handed out."""
        return len(self._seen)

    # -- log excerpts ----------------------------------------------------------------------

    def log_paste(self, lines: int) -> str:
        """`lines` lines of one log format: about one in ten quotes a KB line, the rest routine."""
        return self._distinct(lambda: self._log_paste(lines))

    def lookup_lines(self, count: int) -> list[str]:
        """`count` distinct KB lines for GET lookups, dealt from their own deck."""
        out: list[str] = []
        chosen: set[str] = set()
        while len(out) < min(count, len(self.lookups)):
            line = self.lookups.draw()
            if line not in chosen:
                chosen.add(line)
                out.append(line)
        return out

    def _log_paste(self, lines: int) -> str:
        rng = self.rng
        log_format = rng.choices(list(FORMATS), weights=list(FORMATS.values()))[0]
        # Where the quoted lines go: spread through the paste, never in the same place twice.
        known_at = set(rng.sample(range(lines), max(1, lines // 10)))
        clock = rng.randint(0, 86_399_000)  # ms since midnight
        date = (rng.randint(1997, 2004), rng.randint(1, 12), rng.randint(1, 28))
        thread = rng.randint(100, 4000)
        # A log file is mostly written by one component; quoted lines keep their own.
        writer = rng.choice(COMPONENTS)
        out = []
        for i in range(lines):
            if i in known_at:
                known = self.known.draw()
                message, component = self._vary(known.message), known.component
            else:
                message, component = self._routine(), None
            if rng.random() < 0.2:
                thread = rng.randint(100, 4000)
            clock += rng.randint(0, 2500)
            component = component or writer
            out.append(self._format(log_format, message, component, clock, date, thread))
        return "\n".join(out)

    def _routine(self) -> str:
        rng = self.rng
        return rng.choice(ROUTINE).format(
            n=rng.randint(1, 99_999),
            small=rng.randint(1, 9),
            host=f"{rng.choice(['SRV', 'SMS', 'DC', 'WKS'])}{rng.randint(1, 999):03d}",
            path=f"C:\\SMS\\inboxes\\{rng.choice(['auth', 'dataldr', 'ccr', 'despoolr'])}.box"
            f"\\{rng.randint(0, 0xFFFFFF):08X}.{rng.choice(['MIF', 'SIC', 'CFG', 'INS'])}",
            hex=f"0x{rng.randint(0, 0xFFFF):04X}",
            guid=f"{{{rng.getrandbits(128):032X}}}",
            user=f"DOMAIN{rng.randint(1, 9)}\\user{rng.randint(1, 9999)}",
            ip=self._ip(),
            port=rng.randint(1024, 65535),
            site=f"{rng.choice('ABCDEFGHKLMNPRSTX')}{rng.randint(0, 99):02d}",
            service=rng.choice(SERVICES),
            module=rng.choice(MODULES),
            version=f"{rng.randint(1, 5)}.{rng.randint(0, 9)}.{rng.randint(0, 9999)}",
        )

    def _ip(self) -> str:
        rng = self.rng
        return f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"

    def _vary(self, message: str) -> str:
        """Half the time, the line as another system would log it: other ids, counts, addresses."""
        if self.rng.random() < 0.5:
            return message
        message = IPV4.sub(lambda _m: self._ip(), message)
        return INSTANCE_NUMBER.sub(
            lambda m: str(self.rng.randint(10 ** (len(m.group()) - 1), 10 ** len(m.group()) - 1)),
            message,
        )

    def _format(
        self,
        log_format: str,
        message: str,
        component: str,
        clock_ms: int,
        date: tuple[int, int, int],
        thread: int,
    ) -> str:
        year, month, day = date
        seconds, ms = divmod(clock_ms % 86_400_000, 1000)
        hours, rest = divmod(seconds, 3600)
        minutes, secs = divmod(rest, 60)
        time_of_day = f"{hours:02d}:{minutes:02d}:{secs:02d}.{ms:03d}"
        if log_format == "sms2":
            weekday = DAYS[(year + month + day) % 7]
            return (
                f"{message}  $$<{component}><{weekday} {MONTHS[month - 1]} {day:02d} "
                f"{time_of_day} {year} Pacific Standard Time><thread={thread} (0x{thread:X})>"
            )
        if log_format == "cmtrace":
            return (
                f'<![LOG[{message}]LOG]!><time="{time_of_day}+480" '
                f'date="{month:02d}-{day:02d}-{year}" component="{component}" context="" '
                f'type="1" thread="{thread}" file="{component.lower()}.cpp:{thread % 900 + 100}">'
            )
        return f"{year}-{month:02d}-{day:02d} {time_of_day} {message}"

    # -- prose -----------------------------------------------------------------------------

    def prose(self) -> tuple[str, str]:
        """A person describing a problem in 2 to 14 lines, quoting one or two of its messages.

        Returns the text and the article whose messages and title words it uses.
        """
        article_id = self.prose_articles.draw()
        return self._distinct(lambda: self._prose(article_id)), article_id

    def _prose(self, article_id: str) -> str:
        rng = self.rng
        sample = self.sample
        messages = sample.quotable[article_id]
        quoted = rng.sample(messages, min(len(messages), rng.choice([1, 1, 2])))
        words = [
            w
            for w in TITLE_WORD.findall(sample.titles.get(article_id, ""))
            if w.lower() not in STOP_WORDS and len(w) > 2
        ]
        start = rng.randrange(max(1, len(words) - 2))
        topic = " ".join(words[start : start + rng.randint(2, 3)]) or "the update"
        product = sample.products.get(article_id) or "the server"
        values = {
            "product": product,
            "topic": topic,
            "action": rng.choice(ACTIONS),
            "when": rng.choice(WHEN),
            "who": rng.choice(WHO),
            "n": rng.randint(2, 40),
            "m": rng.randint(41, 900),
            "name": rng.choice(NAMES),
        }
        # Units are lines before any merging: an opener, the quotes, fillers and a closer.
        units = [rng.choice(OPENERS).format(**values)]
        for message in quoted:
            template = rng.choice(QUOTES)
            units.extend(part.format(message=message, **values) for part in template)
        target = rng.randint(2, 14)
        closer = rng.choice(CLOSERS).format(**values)
        fillers = rng.sample(FILLERS, len(FILLERS))
        while len(units) + 1 < target and fillers:
            # A filler never splits a quote from the sentence that introduces it.
            spots = [i for i in range(1, len(units) + 1) if not units[i - 1].endswith(":")]
            units.insert(rng.choice(spots), fillers.pop().format(**values))
        if len(units) < target:
            units.append(closer)
        while len(units) > target:
            # People also write several sentences on one line.
            i = rng.randrange(len(units) - 1)
            units[i : i + 2] = [f"{units[i]} {units[i + 1]}"]
        return "\n".join(units)


OPENERS = [
    "Since this morning the clients at our branch office fail to {action}.",
    "Hi all, since {when} we have a problem with {product} on {n} of our servers.",
    "After we applied the latest service pack {when}, {product} started to misbehave.",
    "We are seeing intermittent failures in {product} that seem to involve {topic}.",
    "Hello, {who} reported that they cannot {action} any more.",
    "Our {product} installation stopped working {when}, something around {topic}.",
    "I need help with {product}: {n} machines out of {m} fail to {action}.",
    "Since {when}, every time we try to {action} it fails.",
]
QUOTES = [
    ['The event log shows: "{message}"'],
    ["We get this error:", "{message}"],
    ['In the log file I found "{message}" many times.'],
    ["The exact message is:", '"{message}"'],
    ['Users see "{message}" and then nothing happens.'],
    ["Here is what the log says:", "{message}"],
]
FILLERS = [
    "We already rebooted the server twice and reinstalled the client on one machine.",
    "It started after we applied the latest updates {when}.",
    "About {n} of our {m} workstations are affected, the rest look fine.",
    "Nothing changed in the network as far as I know.",
    "I searched for {topic} but found nothing that fits.",
    "The same setup works at our head office.",
    "It mostly hits {who}, the others are fine.",
    "We tried running it as an administrator with the same result.",
    "The problem comes back after about {n} minutes.",
    "Disk space and memory on the server look normal.",
    "Our vendor thinks it has something to do with {topic}.",
    "I checked the permissions on the share and they look right.",
    "This is {product}, with all service packs we could find.",
    "Restarting the service helps for a while, then it fails again.",
]
CLOSERS = [
    "Any idea what is causing this?",
    "Thanks in advance for any pointers. {name}",
    "Has anyone seen this before?",
    "What should we check next?",
    "Is there a fix for this? Regards, {name}",
]
ACTIONS = [
    "connect to the site server",
    "install the client software",
    "report their hardware inventory",
    "start the service",
    "open the administrator console",
    "receive the new package",
    "log on to the domain",
    "replicate with the parent site",
    "send mail to external recipients",
    "print from the terminal server",
]
WHEN = ["Monday", "yesterday", "last week", "the weekend", "this morning", "the upgrade"]
WHO = ["the help desk", "accounting", "our field engineers", "the night shift", "two users"]
NAMES = ["Peter", "Anna", "J. Smith", "Tom", "Maria", "Raj"]
