"""Product and version names as people type them, matched to the names the articles use.

Articles name products in full ("Microsoft Systems Management Server") and versions as their
authors wrote them ("2.0 SP2", "6.5 Service Pack 4", "3.5 3.51 4.0"); people type "SMS" and
"2.0 sp2". This module says which of the store's names a filter stands for:

- a product filter stands for every product whose name holds its words in order, case, spacing
  and punctuation aside ("systems management", "Source Safe" for "SourceSafe"), the maker's
  name optional; and for every product it abbreviates: the initials of the name ("SMS"), an
  acronym the name holds in brackets, or an entry of `data/product_abbreviations.yaml`;
- a version filter is read as releases and service packs: "2.0 Service Pack 2", "2.0 SP2" and
  "2.00 sp2" are one version; a release without a service pack ("2.0") stands for the release
  and each of its service packs, a service pack alone ("SP2") for that pack of any release.

`catalog` lists the store's products with their versions and article counts (`/v1/products`);
`product_filter` turns the filters of a request into a `ProductFilter`.
"""

from __future__ import annotations

import difflib
import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

import yaml

from service.kb import KnowledgeBase

ABBREVIATIONS_FILE = Path(__file__).parent / "data" / "product_abbreviations.yaml"
# Words of a query that name the maker rather than the product ("Microsoft SMS", "MS Exchange").
MAKER_WORDS = frozenset({"microsoft", "ms"})
# Words left out of a name's initials.
MINOR_WORDS = frozenset({"a", "an", "and", "for", "in", "of", "on", "the", "to", "x"})
# A name gives initials when it has this many significant words (two letters at least).
INITIALS_WORDS = (2, 5)
# A query shorter than this matches whole words only; longer, the start of a word too
# ("Systems Manag"), as a search box does.
PREFIX_MIN_CHARS = 3
# Known products or versions offered when a filter names none.
CLOSEST = 3
CLOSEST_VERSIONS = 5
# Where the knowledge base's per-revision cache keeps the product names.
_NAMES_KEY = "products:names"
# Up to this many writes since the catalog was made, it is made again on the next request;
# more (a bulk import), and it is made again at most this often.
CATALOG_FEW_WRITES = 20
CATALOG_REFRESH_SECONDS = 10.0

_WORD = re.compile(r"[a-z0-9]+")
_BRACKETED = re.compile(r"\(([^()]*)\)")
# A release ("2.0", "4.0a", "3.51") not glued to a word before it ("Win95" is a name; "v2.0"
# is a release), and a service pack or release ("SP2", "Service Pack 2", "SR-1").
_VERSION_TOKEN = re.compile(
    r"(?P<pack>(?<![a-z])(?:sp|service\s*pack|sr|service\s*release))[\s.\-]*"
    r"(?P<number>\d+[a-z]?(?![a-z]))"
    r"|(?:(?<=\bv)|(?<![a-z0-9.]))(?P<release>\d+(?:\.\d+)*(?:[a-z](?![a-z]))?)",
    re.IGNORECASE,
)


def words(text: str) -> tuple[str, ...]:
    """The words of a name, lowercased, without punctuation."""
    return tuple(_WORD.findall(text.casefold()))


def squashed(text: str) -> str:
    """A name with case, spacing and punctuation taken out, for comparing spellings."""
    return "".join(words(text))


@lru_cache(maxsize=1)
def known_abbreviations() -> dict[str, tuple[str, ...]]:
    """The table of abbreviations: as written -> the phrases (squashed) it stands for."""
    table = yaml.safe_load(ABBREVIATIONS_FILE.read_text(encoding="utf-8")) or {}
    return {str(short): tuple(squashed(p) for p in phrases) for short, phrases in table.items()}


def _in_words(query: str, name_words: tuple[str, ...], *, prefix: bool) -> bool:
    """Whether `query` (squashed) is some of `name_words` in a row, joined; with `prefix`, the
    start of such a run is enough (from a word's start, `PREFIX_MIN_CHARS` letters or more)."""
    if not query:
        return False
    for start in range(len(name_words)):
        rest = "".join(name_words[start:])
        if not rest.startswith(query):
            continue
        if prefix and len(query) >= PREFIX_MIN_CHARS:
            return True
        joined = ""
        for word in name_words[start:]:
            joined += word
            if joined == query:
                return True
            if len(joined) >= len(query):
                break
    return False


@dataclass(frozen=True)
class ProductName:
    """One product name of the store, with the short names it answers to."""

    name: str
    words: tuple[str, ...]
    # Squashed short names -> as shown ("sms" -> "SMS").
    aliases: dict[str, str] = field(hash=False, compare=False)

    @classmethod
    def of(cls, name: str) -> ProductName:
        name_words = words(name)
        aliases: dict[str, str] = {}
        # An acronym in brackets ("Open Database Connectivity (ODBC)").
        for inside in _BRACKETED.findall(name):
            if len(words(inside)) == 1 and len(squashed(inside)) >= 2:
                aliases.setdefault(squashed(inside), inside.strip())
        significant = [
            w
            for w in words(_BRACKETED.sub(" ", name))
            if w not in MAKER_WORDS and w not in MINOR_WORDS and not w.isdigit()
        ]
        low, high = INITIALS_WORDS
        if low <= len(significant) <= high:
            initials = "".join(w[0] for w in significant)
            aliases.setdefault(initials, initials.upper())
        for short, phrases in known_abbreviations().items():
            if any(_in_words(p, name_words, prefix=False) for p in phrases):
                aliases.setdefault(squashed(short), short)
        return cls(name, name_words, aliases)

    def answers_to(self, query: tuple[str, ...]) -> bool:
        """Whether a product filter's words stand for this product."""
        if not query:
            return False
        whole = "".join(query)
        if whole in self.aliases:
            return True
        core = [w for w in query if w not in MAKER_WORDS]
        rest = [w for w in core if w not in self.aliases]
        if core and not rest:
            # Nothing but its short names and the maker's ("Microsoft SMS").
            return True
        if rest and _in_words("".join(rest), self.words, prefix=True):
            return True
        return _in_words(whole, self.words, prefix=True)

    def likeness(self, query: str) -> float:
        """How alike a query (words joined by spaces) and this name or its short names are."""
        candidates = [
            " ".join(self.words),
            " ".join(w for w in self.words if w not in MAKER_WORDS),
            *self.aliases,
        ]
        return max(difflib.SequenceMatcher(None, query, c).ratio() for c in candidates)


# -- versions -------------------------------------------------------------------------------


def _release(written: str) -> str:
    """A release number without zeros that say nothing: "4.00" and "4.0" are "4", "3.50" is
    "3.5"; a letter after it stays ("4.0a" -> "4a")."""
    letter = written[-1] if written[-1].isalpha() else ""
    parts = (written[:-1] if letter else written).split(".")
    while len(parts) > 1:
        last = parts[-1].rstrip("0")
        if last:
            parts[-1] = last
            break
        parts.pop()
    return ".".join(parts) + letter


@lru_cache(maxsize=4096)
def version_keys(text: str) -> tuple[tuple[str, str], ...]:
    """The versions a version string names, as (key, how it is shown): "2.0 Service Pack 2"
    -> (("2 sp2", "2.0 SP2"),); "3.5 3.51 4.0" names three. Parts that name another
    product's version ("winnt:4.0") are left out. A string with no release or service pack
    in it ("Gold") is one version, its key the string squashed."""
    found: list[tuple[str, str]] = []
    kept: list[str] = []
    for segment in text.split(";"):
        if ":" in segment:
            continue
        kept.append(segment)
        release: tuple[str, str] | None = None
        for token in _VERSION_TOKEN.finditer(segment):
            if token["release"]:
                written = token["release"]
                release = (_release(written.lower()), written)
                found.append(release)
                continue
            kind = "sr" if token["pack"].lower().startswith(("sr", "service r")) else "sp"
            pack = f"{kind}{token['number'].lower()}"
            shown = f"{kind.upper()}{token['number']}"
            if release is None:
                found.append((pack, shown))
            else:
                entry = (f"{release[0]} {pack}", f"{release[1]} {shown}")
                # "2.0 SP1" is one version, not the release and its pack.
                if found and found[-1] == release:
                    found[-1] = entry
                else:
                    found.append(entry)
    if not found:
        plain = squashed(" ".join(kept))
        if plain:
            found.append((plain, " ".join(" ".join(kept).split())))
    return tuple(dict.fromkeys(found))


def _is_pack(key: str) -> bool:
    return re.fullmatch(r"s[pr]\d+[a-z]?", key) is not None


def version_covers(asked: str, key: str) -> bool:
    """Whether the asked version (a key) stands for a version an article names (a key)."""
    if asked == key:
        return True
    if _is_pack(asked):
        return key.endswith(" " + asked)
    return " " not in asked and key.startswith(asked + " ")


def _version_order(key: str) -> tuple[tuple[tuple[int, int | str], ...], str, int, str]:
    """Versions oldest first: releases by their numbers, each before its service packs."""
    release, _, pack = key.partition(" ")
    if _is_pack(release):
        release, pack = "", release
    parts = tuple(
        (0, int(part)) if part.isdigit() else (1, part)
        for part in re.findall(r"\d+|[a-z]+", release)
    )
    number = re.search(r"\d+", pack)
    return parts, pack[:2], int(number.group()) if number else 0, pack


# -- the catalog ----------------------------------------------------------------------------


@dataclass
class ProductEntry:
    """A product of the store: its articles and versions."""

    name: ProductName
    articles: int
    # version key -> (as shown, articles naming it)
    versions: dict[str, tuple[str, int]]
    # Each version string the articles write -> its keys.
    written: dict[str, tuple[str, ...]]


@dataclass
class Catalog:
    products: list[ProductEntry]
    _listing: list[dict[str, Any]] | None = field(default=None, repr=False)

    def listing(self) -> list[dict[str, Any]]:
        """The products as `/v1/products` lists them (made once per catalog)."""
        if self._listing is None:
            self._listing = self._made_listing()
        return self._listing

    def _made_listing(self) -> list[dict[str, Any]]:
        return [
            {
                "product": entry.name.name,
                "articles": entry.articles,
                "aliases": sorted(
                    set(entry.name.aliases.values()), key=lambda alias: (alias.casefold(), alias)
                ),
                "versions": [
                    {"version": shown, "articles": count}
                    for key, (shown, count) in sorted(
                        entry.versions.items(), key=lambda item: _version_order(item[0])
                    )
                ],
            }
            for entry in self.products
        ]

    def entries(self, names: Iterable[str] | None) -> list[ProductEntry]:
        if names is None:
            return self.products
        wanted = set(names)
        return [e for e in self.products if e.name.name in wanted]


def build_catalog(
    version_counts: Iterable[tuple[str, str, int]], product_counts: dict[str, int]
) -> Catalog:
    """The catalog from (product, version as written, articles) counts and the articles per
    product. Counted in the store, so a catalog costs a grouping query and work per distinct
    version string (a few thousand), not per article: it is made again after every write."""
    by_written: dict[str, dict[str, int]] = {}
    for product, version, count in version_counts:
        by_written.setdefault(product, {})[version] = count
    entries = []
    for product, written in by_written.items():
        per_version: Counter[str] = Counter()
        shown: dict[str, Counter[str]] = {}
        keys_of: dict[str, tuple[str, ...]] = {}
        for version, count in written.items():
            keys = version_keys(version)
            keys_of[version] = tuple(key for key, _ in keys)
            # An article naming one product twice, with two strings of one version, counts
            # twice here: rare, and a listing's count, not a filter's decision.
            for key, how in keys:
                per_version[key] += count
                shown.setdefault(key, Counter())[how] += count
        versions = {
            key: (shown[key].most_common(1)[0][0], count) for key, count in per_version.items()
        }
        articles = product_counts.get(product, 0)
        entries.append(ProductEntry(ProductName.of(product), articles, versions, keys_of))
    entries.sort(key=lambda e: e.name.name.casefold())
    return Catalog(entries)


@dataclass
class _Built:
    revision: int
    at: float
    catalog: Catalog


# The catalog each knowledge base of this process last built. Not in the explain cache: that
# one drops every entry a write does not name and keeps only its newest entries, and a catalog
# costs a count over every product row (some 0.3 s on a 60,000-article store).
_built: WeakKeyDictionary[KnowledgeBase, _Built] = WeakKeyDictionary()


def catalog(kb: KnowledgeBase) -> Catalog:
    """The store's products, versions and article counts.

    Made again when the store has changed: at once after a few writes (an article put through
    the API is listed on the next request), and at most every CATALOG_REFRESH_SECONDS while a
    bulk import writes hundreds of articles a second, which would otherwise make every request
    pay for a new count.
    """
    revision = kb.store.revision()
    built = _built.get(kb)
    if built is not None:
        if built.revision == revision:
            return built.catalog
        bulk = revision - built.revision > CATALOG_FEW_WRITES
        if bulk and time.monotonic() - built.at < CATALOG_REFRESH_SECONDS:
            return built.catalog
    made = build_catalog(kb.store.product_version_counts(), kb.store.product_counts())
    _built[kb] = _Built(revision, time.monotonic(), made)
    return made


def products_listing(kb: KnowledgeBase, product: str | None) -> dict[str, Any]:
    """The `/v1/products` body: every product, or those `product` stands for, and the
    closest known ones when it stands for none."""
    listing = catalog(kb).listing()
    closest: dict[str, Any] = {}
    if product is not None:
        names = product_names(kb)
        wanted = set(resolve_product(names, product))
        listing = [p for p in listing if p["product"] in wanted]
        if not wanted:
            closest["closest_products"] = closest_products(names, product)
    return {"total": len(listing), "products": listing, **closest}


def product_names(kb: KnowledgeBase) -> list[ProductName]:
    """The store's product names with their short names, read once per store revision (one
    pass over an index: some 30 ms on a 60,000-article store)."""
    cache = kb.explain_cache()
    found = cache.get(_NAMES_KEY)
    if found is None:
        found = [ProductName.of(name) for name in kb.store.product_names()]
        cache[_NAMES_KEY] = found
    return found


def resolve_product(names: list[ProductName], product: str) -> list[str]:
    """The store's product names a product filter stands for, in the store's order."""
    query = words(product)
    return [p.name for p in names if p.answers_to(query)]


def closest_products(names: list[ProductName], product: str) -> list[str]:
    """The known products most like a filter that names none of them, most alike first."""
    query = " ".join(words(product))
    if not query:
        return []
    scored = sorted(((-p.likeness(query), p.name) for p in names), key=lambda s: s)
    return [name for _, name in scored[:CLOSEST]]


# -- filters --------------------------------------------------------------------------------


@dataclass
class ProductFilter:
    """The `product` and `version` filters of one request, resolved against the store."""

    product: str | None
    version: str | None
    # The store's names the product filter stands for; None without a product filter.
    names: frozenset[str] | None
    # The versions the version filter names, as keys; None without a version filter.
    versions: tuple[str, ...] | None
    _version_seen: dict[str, bool] = field(default_factory=dict, repr=False)

    def product_ok(self, name: str) -> bool:
        return self.names is None or name in self.names

    def version_ok(self, written: str) -> bool:
        """Whether a version string an article writes is one the filter stands for."""
        if self.versions is None:
            return True
        seen = self._version_seen.get(written)
        if seen is None:
            keys = [key for key, _ in version_keys(written)]
            seen = any(version_covers(a, k) for a in self.versions for k in keys)
            # One request's cache: bounded by the versions of the articles it looks at.
            self._version_seen[written] = seen
        return seen

    def allows(self, rows: Iterable[tuple[str, str]]) -> bool:
        """Whether an article with these (product, version) rows passes: both filters on one
        row, as "SMS 2.0" means SMS at version 2.0."""
        return any(self.product_ok(p) and self.version_ok(v) for p, v in rows)

    def hidden_by(self, rows: list[tuple[str, str]]) -> list[str]:
        """The filters that leave out an article with these rows: `product` when it names
        none of them; `version` when none of them (of the product asked for, if named) is of
        the version asked for."""
        by = []
        of_product = [r for r in rows if self.product_ok(r[0])]
        if self.names is not None and not of_product:
            by.append("product")
        if self.versions is not None and not any(
            self.version_ok(v) for _, v in (of_product or rows)
        ):
            by.append("version")
        return by


def product_filter(
    kb: KnowledgeBase, product: str | None, version: str | None
) -> ProductFilter | None:
    """The request's filters resolved against the store; None when it gives neither."""
    if not product and not version:
        return None
    names = frozenset(resolve_product(product_names(kb), product)) if product else None
    versions = tuple(key for key, _ in version_keys(version)) if version else None
    return ProductFilter(product, version, names, versions)


def stored_names(
    kb: KnowledgeBase, product: str | None, version: str | None
) -> tuple[list[str] | None, list[str] | None]:
    """The product names and version strings, as the store holds them, that a request's
    filters stand for (None: that filter is not given), for a query on the stored rows."""
    found = product_filter(kb, product, version)
    if found is None:
        return None, None
    names = sorted(found.names) if found.names is not None else None
    if found.versions is None:
        return names, None
    written = {
        text
        for entry in catalog(kb).entries(found.names)
        for text in entry.written
        if found.version_ok(text)
    }
    return names, sorted(written)


def describe_filter(
    kb: KnowledgeBase,
    found: ProductFilter,
    hidden: int,
    hidden_by: Iterable[str],
    *,
    what: str = "issue",
    best_hidden: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """The `filters` part of an answer: what each filter was taken to mean, how many `what`s
    the paste or query found that the filters left out and which filter did, the known names
    nearest a filter that names nothing, and a sentence saying so. `best_hidden`: the
    (product, version) rows of the best match left out, which the sentence names."""
    described: dict[str, Any] = {"hidden_matches": hidden, "hidden_by": sorted(set(hidden_by))}
    if found.product is not None:
        described["product"] = found.product
        described["products"] = sorted(found.names or (), key=str.casefold)
        if not found.names:
            described["closest_products"] = closest_products(product_names(kb), found.product)
    if found.version is not None:
        described["version"] = found.version
        entries = catalog(kb).entries(found.names)
        shown = {
            key: how
            for entry in entries
            for key, (how, _) in entry.versions.items()
            if any(version_covers(asked, key) for asked in found.versions or ())
        }
        described["versions"] = [shown[key] for key in sorted(shown, key=_version_order)]
        if not shown:
            described["closest_versions"] = _closest_versions(entries, found.version)
    described["note"] = _note(described, what, best_hidden or [])
    return described


def _closest_versions(entries: list[ProductEntry], version: str) -> list[str]:
    """The known versions (of the products asked for) most like one that names none."""
    asked = " ".join(how for _, how in version_keys(version)).casefold() or version.casefold()
    known = {how for e in entries for how, _ in e.versions.values()}
    scored = sorted(
        (-difflib.SequenceMatcher(None, asked, how.casefold()).ratio(), how) for how in known
    )
    return [how for _, how in scored[:CLOSEST_VERSIONS]]


def _applies_to(rows: list[tuple[str, str]]) -> str:
    """(product, version) rows as people write them: "SMS 2.0, 2.0 SP1; Windows NT 4.0"."""
    versions: dict[str, list[str]] = {}
    for product, version in rows:
        versions.setdefault(product, [])
        if version and version not in versions[product]:
            versions[product].append(version)
    return "; ".join(f"{p} {', '.join(v)}".strip() for p, v in versions.items())


def _note(described: dict[str, Any], what: str, best_hidden: list[tuple[str, str]]) -> str:
    """One sentence or two for people on what the filters did; empty when they matched known
    names and left nothing out."""
    parts: list[str] = []
    if "closest_products" in described:
        closest = ", ".join(described["closest_products"])
        parts.append(
            f"No known product answers to product={described['product']}"
            + (f"; the closest: {closest}." if closest else ".")
        )
    if "closest_versions" in described:
        closest = ", ".join(described["closest_versions"])
        of = " or ".join(described.get("products") or [])
        parts.append(
            f"No article{' of ' + of if of else ''} names version {described['version']}"
            + (f"; the closest: {closest}." if closest else ".")
        )
    hidden = described["hidden_matches"]
    if hidden:
        by = " and ".join(f"{name}={described[name]}" for name in described["hidden_by"])
        leave = " and ".join(described["hidden_by"])
        one = hidden == 1
        sentence = (
            f"{hidden} matching {what}{'' if one else 's'} left out by {by}: "
            f"leave out {leave} to see {'it' if one else 'them'}"
        )
        applies = _applies_to(best_hidden)
        if applies:
            sentence += f" ({'it is' if one else 'the best is'} about {applies})"
        parts.append(sentence + ".")
    return " ".join(parts)
