"""Storage: every SQL statement of the service, behind methods of plain values.

- `Store` (store.py): the articles and their records (records.py, articles.py), full-text
  search (search.py), feedback and what it taught (feedback.py), the revision and its write
  log (revisions.py), and the rows the index is made from (indexing.py);
- `ActivityDatabase` (activity.py): recent matches and content gaps, in a file of their own;
- `lines` (lines.py): the line index files of each index generation;
- files.py: read-only peeks at, and copies of, a store file from outside the service.
"""

from service.storage.activity import ActivityDatabase, MatchRecord
from service.storage.articles import content_hash
from service.storage.connection import StorageError
from service.storage.files import StorePeek, copy_store, peek_store, stored_article_ids
from service.storage.records import RECORD_TABLES, ArticleNotFound
from service.storage.revisions import Write
from service.storage.store import Store

__all__ = [
    "RECORD_TABLES",
    "ActivityDatabase",
    "ArticleNotFound",
    "MatchRecord",
    "StorageError",
    "Store",
    "StorePeek",
    "Write",
    "content_hash",
    "copy_store",
    "peek_store",
    "stored_article_ids",
]
