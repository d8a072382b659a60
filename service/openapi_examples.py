"""Examples of the contract's requests and answers, taken from the seed article KB264630.

`service.openapi` places them; `tests/test_contract.py` checks every JSON one against the
schema it illustrates, so an example cannot drift from the answers it shows.
"""

from __future__ import annotations

from service import limits
from service.decoding import CHARSET_NAMES
from service.errors import HEADERS_TOO_LARGE, URI_TOO_LONG

METRICS_TEXT = (
    "# HELP kb_http_requests_total HTTP requests answered\n"
    "# TYPE kb_http_requests_total counter\n"
    'kb_http_requests_total{method="GET",route="/v1/match",status="200"} 42.0\n'
)

HEALTH = {"status": "ok"}

READY = {
    "status": "ready",
    "checks": {
        "store": {"ok": True, "articles": 2821, "revision": 2821},
        "index": {
            "ok": True,
            "documents": 11529,
            "articles": 2821,
            "revision": 2821,
            "behind": 0,
            "stalled_seconds": 0.0,
            "import_running": False,
        },
    },
}

NOT_READY = {
    "status": "not ready",
    "checks": {
        "store": {"ok": True, "articles": 35315, "revision": 35315},
        "index": {
            "ok": False,
            "documents": 20117,
            "articles": 4894,
            "revision": 4894,
            "behind": 30421,
            "stalled_seconds": 75.5,
            "import_running": False,
            "error": "The index misses 30421 writes the store has (more than 5000); "
            "`kb check` repairs it if no import is running.",
        },
    },
}

OPENAPI_JSON = {
    "openapi": "3.1.0",
    "info": {"title": "KB log-match service", "version": "1.0.0"},
    "paths": {},
}

DOCS_HTML = (
    "<!doctype html>\n"
    '<html lang="en">\n'
    "<head>\n"
    '<meta charset="utf-8">\n'
    "<title>KB log-match service: API reference</title>\n"
    "..."
)

ARTICLE_PAGE = {
    "items": [
        {
            "id": "264630",
            "title": "SMS 2.0 SP1 and SP2 Interoperability Issues When Required Updates Are "
            "Not Applied",
            "summary": "When you apply Service Pack 2 (SP2) for Systems Management Server "
            "(SMS) 2.0, you may experience the following issues:",
            "source": "curated",
            "modification_type": "Minor",
            "last_reviewed": "2006-04-26",
            "updated_at": "2026-11-25T09:39:10+00:00",
            "applies_to": [
                {"product": "Microsoft Systems Management Server", "version": "2.0"},
                {"product": "Microsoft Systems Management Server", "version": "2.0 SP1"},
            ],
            "keywords": ["kbfix", "kbprb", "kbsms200preSP2", "KB264630"],
            "issue_ids": ["264630-1", "264630-2"],
            "page_url": "http://127.0.0.1:8000/articles/264630",
            "links": {
                "self": "/v1/articles/264630",
                "issues": ["/v1/issues/264630-1", "/v1/issues/264630-2"],
            },
        }
    ],
    "next_cursor": None,
    "links": {"self": "/v1/articles"},
}

ARTICLE = {
    "id": "264630",
    "title": "SMS 2.0 SP1 and SP2 Interoperability Issues When Required Updates Are Not Applied",
    "summary": "When you apply Service Pack 2 (SP2) for Systems Management Server (SMS) 2.0, you "
    "may experience the following issues:",
    "source": "curated",
    "modification_type": "Minor",
    "last_reviewed": "2006-04-26",
    "updated_at": "2026-11-25T09:39:10+00:00",
    "applies_to": [{"product": "Microsoft Systems Management Server", "version": "2.0"}],
    "keywords": ["kbfix", "kbprb"],
    "issue_ids": ["264630-1"],
    "page_url": "http://127.0.0.1:8000/articles/264630",
    "links": {
        "self": "/v1/articles/264630",
        "issues": ["/v1/issues/264630-1"],
        "related": [],
        "referenced_by": [],
    },
    "aliases": ["KB264630", "Q264630"],
    "sections": [
        {
            "key": "cause",
            "heading": "CAUSE",
            "body": "These issues can occur if both of the following conditions are true: ...",
        }
    ],
    "related": [
        {
            "article_id": "251070",
            "title": "SMS: Copylog.tcf Does Not Show Site that Updated Logon Point",
            "reason": "Issue 1 (Copylog.tcf): update required on SMS 2.0 (No Service Pack) "
            "sites before upgrading to SP2.",
            "in_store": False,
            "links": {},
        }
    ],
    "referenced_by": [],
    "issues": [
        {
            "id": "264630-1",
            "article_id": "264630",
            "article_title": "SMS 2.0 SP1 and SP2 Interoperability Issues When Required "
            "Updates Are Not Applied",
            "number": 1,
            "title": "Copylog.tcf rewritten by an SP1 site leaves clients in a mixed SP1/SP2 "
            "installation",
            "description": "When multiple sites control a domain and SMS sites are not "
            "upgraded simultaneously, ...",
            "symptom_ids": ["264630-1-s10"],
            "cause_ids": ["264630-c1"],
            "workaround_ids": ["264630-w2"],
            "page_url": "http://127.0.0.1:8000/issues/264630-1",
            "links": {
                "self": "/v1/issues/264630-1",
                "article": "/v1/articles/264630",
                "symptoms": ["/v1/symptoms/264630-1-s10"],
                "causes": ["/v1/causes/264630-c1"],
                "workarounds": ["/v1/workarounds/264630-w2"],
            },
        }
    ],
    "symptoms": [
        {
            "id": "264630-1-s10",
            "article_id": "264630",
            "issue_id": "264630-1",
            "kind": "log_line",
            "text": "ERROR: The Client Service is not authorized to run this application! (5)~",
            "log_files": ["Clisvc.log"],
            "occurrences": 1,
            "links": {
                "self": "/v1/symptoms/264630-1-s10",
                "issue": "/v1/issues/264630-1",
                "article": "/v1/articles/264630",
            },
        }
    ],
    "causes": [
        {
            "id": "264630-c1",
            "article_id": "264630",
            "issue_ids": ["264630-1"],
            "text": "Issue 1: on SMS 2.0 (No Service Pack) sites, the required update 251070 "
            "was not installed before you upgraded to SP2 for SMS. ...",
            "missing_update": "251070",
            "applies_to_sites": "SMS 2.0 (No Service Pack) sites",
            "links": {
                "self": "/v1/causes/264630-c1",
                "article": "/v1/articles/264630",
                "issues": ["/v1/issues/264630-1"],
            },
        }
    ],
    "workarounds": [
        {
            "id": "264630-w2",
            "article_id": "264630",
            "issue_ids": ["264630-1"],
            "title": "Remotely edit Copylog.tcf on the PDC to point Clicore.exe at the SP2 site",
            "description": "If for some reason the updates cannot be applied to remote "
            "systems ..., you can remotely edit the Copylog.tcf file:",
            "preconditions": [
                "The updates cannot be applied to remote systems for some period of time ..."
            ],
            "warnings": [],
            "steps": [
                {
                    "id": "264630-w2-1",
                    "number": 1,
                    "text": "Edit the Copylog.tcf file on the primary domain "
                    "controller (PDC) ... and modify the following line\n"
                    "\n"
                    "X86.BIN\\CLICORE.EXE=XXX\n"
                    "\n"
                    "where XXX is the site code for the SP2 site.",
                    "warnings": [],
                    "notes": [],
                }
            ],
            "links": {
                "self": "/v1/workarounds/264630-w2",
                "article": "/v1/articles/264630",
                "issues": ["/v1/issues/264630-1"],
            },
        }
    ],
}

ARTICLE_INPUT = {
    "id": "900100",
    "title": "Inventory agent cannot write its cache",
    "applies_to": [{"product": "Test Product", "version": "1.0"}],
    "issues": [
        {"id": "900100-1", "number": 1, "title": "Agent stops", "description": "The agent stops."}
    ],
    "symptoms": [
        {
            "id": "900100-1-s01",
            "issue_id": "900100-1",
            "kind": "log_line",
            "text": "Inventory Agent failed to write the cache file, error 0x80070005",
        }
    ],
    "workarounds": [
        {
            "id": "900100-w1",
            "issue_ids": ["900100-1"],
            "title": "Grant write permission",
            "steps": [{"number": 1, "text": "Give the agent's account Modify permission."}],
        }
    ],
}

ARTICLE_TEXT = "SMS: Example Article (900200)\n\nSYMPTOMS\n\nThe agent stops.\n"

ISSUE_PAGE = {
    "items": [
        {
            "id": "264630-2",
            "article_id": "264630",
            "article_title": "SMS 2.0 SP1 and SP2 Interoperability Issues When Required "
            "Updates Are Not Applied",
            "number": 2,
            "title": "SP1 sites keep attempting remote installation on SP2 clients",
            "description": "When two sites share site boundaries and both sites use Remote "
            "Installation, SP1 sites are unable to install SP1 components onto "
            "SP2 clients. ...",
            "symptom_ids": ["264630-2-s01", "264630-2-s02"],
            "cause_ids": ["264630-c3", "264630-c4", "264630-c5"],
            "workaround_ids": ["264630-w3"],
            "page_url": "http://127.0.0.1:8000/issues/264630-2",
            "links": {
                "self": "/v1/issues/264630-2",
                "article": "/v1/articles/264630",
                "symptoms": ["/v1/symptoms/264630-2-s01", "/v1/symptoms/264630-2-s02"],
                "causes": ["/v1/causes/264630-c3", "/v1/causes/264630-c4", "/v1/causes/264630-c5"],
                "workarounds": ["/v1/workarounds/264630-w3"],
            },
        }
    ],
    "next_cursor": "264630-2",
    "links": {
        "self": "/v1/issues?limit=1&cursor=264630-1",
        "next": "/v1/issues?limit=1&cursor=264630-2",
    },
}

ISSUE = {
    "id": "264630-2",
    "article_id": "264630",
    "article_title": "SMS 2.0 SP1 and SP2 Interoperability Issues When Required Updates Are Not "
    "Applied",
    "number": 2,
    "title": "SP1 sites keep attempting remote installation on SP2 clients",
    "description": "When two sites share site boundaries and both sites use Remote Installation, "
    "SP1 sites are unable to install SP1 components onto SP2 clients. ...",
    "symptom_ids": ["264630-2-s01", "264630-2-s02"],
    "cause_ids": ["264630-c3", "264630-c4", "264630-c5"],
    "workaround_ids": ["264630-w3", "264630-w4", "264630-w5", "264630-w6"],
    "page_url": "http://127.0.0.1:8000/issues/264630-2",
    "links": {
        "self": "/v1/issues/264630-2",
        "article": "/v1/articles/264630",
        "symptoms": ["/v1/symptoms/264630-2-s01", "/v1/symptoms/264630-2-s02"],
        "causes": ["/v1/causes/264630-c3", "/v1/causes/264630-c4", "/v1/causes/264630-c5"],
        "workarounds": [
            "/v1/workarounds/264630-w3",
            "/v1/workarounds/264630-w4",
            "/v1/workarounds/264630-w5",
            "/v1/workarounds/264630-w6",
        ],
    },
}

SYMPTOM_PAGE = {
    "items": [
        {
            "id": "264630-1-s01",
            "article_id": "264630",
            "issue_id": "264630-1",
            "kind": "condition",
            "text": 'Components are in a "Repair Pending" state.',
            "log_files": [],
            "occurrences": 1,
            "links": {
                "self": "/v1/symptoms/264630-1-s01",
                "issue": "/v1/issues/264630-1",
                "article": "/v1/articles/264630",
            },
        },
        {
            "id": "264630-1-s02",
            "article_id": "264630",
            "issue_id": "264630-1",
            "kind": "condition",
            "text": "The Software Advertisement Program Wizard and Manager are unable to run.",
            "log_files": [],
            "occurrences": 1,
            "links": {
                "self": "/v1/symptoms/264630-1-s02",
                "issue": "/v1/issues/264630-1",
                "article": "/v1/articles/264630",
            },
        },
    ],
    "next_cursor": "264630-1-s02",
    "links": {"self": "/v1/symptoms?limit=2", "next": "/v1/symptoms?limit=2&cursor=264630-1-s02"},
}

SYMPTOM = {
    "id": "264630-1-s05",
    "article_id": "264630",
    "issue_id": "264630-1",
    "kind": "log_line",
    "text": "Could not register CCIM (could be initial install); AppRegister return code =5",
    "log_files": ["Wn_logon.log", "Wnmanual.log"],
    "occurrences": 1,
    "links": {
        "self": "/v1/symptoms/264630-1-s05",
        "issue": "/v1/issues/264630-1",
        "article": "/v1/articles/264630",
    },
}

CAUSE_PAGE = {
    "items": [
        {
            "id": "264630-c5",
            "article_id": "264630",
            "issue_ids": ["264630-1", "264630-2"],
            "text": "All SMS sites in a domain are not or were not upgraded beginning with the "
            "central parent site within several hours of each other. ...",
            "missing_update": None,
            "applies_to_sites": None,
            "links": {
                "self": "/v1/causes/264630-c5",
                "article": "/v1/articles/264630",
                "issues": ["/v1/issues/264630-1", "/v1/issues/264630-2"],
            },
        }
    ],
    "next_cursor": None,
    "links": {"self": "/v1/causes?cursor=264630-c4"},
}

CAUSE = {
    "id": "264630-c1",
    "article_id": "264630",
    "issue_ids": ["264630-1"],
    "text": 'Issue 1: on SMS 2.0 (No Service Pack) sites, the required update 251070 "SMS: '
    'Copylog.tcf Does Not Show Site that Updated Logon Point" was not installed before '
    "you upgraded to SP2 for SMS ...",
    "missing_update": "251070",
    "applies_to_sites": "SMS 2.0 (No Service Pack) sites",
    "links": {
        "self": "/v1/causes/264630-c1",
        "article": "/v1/articles/264630",
        "issues": ["/v1/issues/264630-1"],
    },
}

WORKAROUND_PAGE = {
    "items": [
        {
            "id": "264630-w1",
            "article_id": "264630",
            "issue_ids": ["264630-1"],
            "title": "Apply the Copylog.tcf updates (251070 / 249077) before upgrading to SP2",
            "description": "Applying the update after a client is in the mixed state does not "
            "repair the clients that are in a mixed state. ...",
            "preconditions": [],
            "warnings": [
                "Applying the update after a client is in the mixed state does not "
                "repair the clients that are in a mixed state."
            ],
            "steps": [],
            "links": {
                "self": "/v1/workarounds/264630-w1",
                "article": "/v1/articles/264630",
                "issues": ["/v1/issues/264630-1"],
            },
        }
    ],
    "next_cursor": "264630-w1",
    "links": {
        "self": "/v1/workarounds?limit=1",
        "next": "/v1/workarounds?limit=1&cursor=264630-w1",
    },
}

WORKAROUND = {
    "id": "264630-w6",
    "article_id": "264630",
    "issue_ids": ["264630-1", "264630-2"],
    "title": "Plan the SP2 upgrade so that all SMS 2.0 sites are upgraded within 2 to 3 hours",
    "description": "If the SMS 2.0 sites are all going to be upgraded within a 2-hour to 3-hour "
    "period, it is unlikely for mixed installations to occur on clients. ...",
    "preconditions": [],
    "warnings": [],
    "steps": [
        {
            "id": "264630-w6-1",
            "number": 1,
            "text": "Upgrade all SMS 2.0 sites within a 2-hour to 3-hour period, so that mixed "
            "installations on clients are unlikely to occur.",
            "warnings": [],
            "notes": [],
        },
        {
            "id": "264630-w6-2",
            "number": 2,
            "text": "If the updates cannot be applied to all sites quickly, consider a weekend "
            "upgrade.",
            "warnings": [],
            "notes": [],
        },
    ],
    "links": {
        "self": "/v1/workarounds/264630-w6",
        "article": "/v1/articles/264630",
        "issues": ["/v1/issues/264630-1", "/v1/issues/264630-2"],
    },
}

PASTE_TEXT = (
    "Clisvc.log\n"
    "ERROR: The Client Service is not authorized to run this application! (5)~\n"
    "*** Client Configuration Installation Manager - Error launching (#0x5)  "
    "C:\\WINNT\\MS\\SMS\\CORE\\BIN\\CLISVCL.EXE>\n"
    "Base client files are version 2.0.1493.2005\n"
)

PASTE_BYTES = "ERROR: The Client Service is not authorized to run this application! (5)~\n"

PASTE_JSON = {
    "log": "Clisvc.log\n"
    "ERROR: The Client Service is not authorized to run this application! (5)~\n"
    "Base client files are version 2.0.1493.2005\n",
    "limit": 1,
}

MATCHED = {
    "request_id": "6f1c2a9e0b7d4c3f8e5a1b2c3d4e5f60",
    "detail": "full",
    "lines_read": 4,
    "records_read": 3,
    "format": "plain",
    "log_files": ["Clisvc.log"],
    "matched_lines": 3,
    "unmatched_lines": 0,
    "truncated_lines": [],
    "matches": [
        {
            "article_id": "264630",
            "issue_id": "264630-1",
            "title": "Copylog.tcf rewritten by an SP1 site leaves clients in a mixed SP1/SP2 "
            "installation",
            "article_title": "SMS 2.0 SP1 and SP2 Interoperability Issues When Required "
            "Updates Are Not Applied",
            "page_url": "http://127.0.0.1:8000/issues/264630-1",
            "score": 2.7725,
            "confidence": 0.937,
            "certainty": "sure",
            "confidence_reason": "2 lines matched (2 exact), said by this issue alone; the paste "
            "names its log file Clisvc.log",
            "matched_lines": [
                {
                    "line": 2,
                    "text": "ERROR: The Client Service is not authorized to run "
                    "this application! (5)",
                    "symptom_id": "264630-1-s10",
                    "symptom_text": "ERROR: The Client Service is not authorized "
                    "to run this application! (5)~",
                    "match": "exact",
                    "similarity": 1.0,
                    "learned": False,
                    "source": "symptom",
                    "shared_by": 1,
                },
                {
                    "line": 4,
                    "text": "Base client files are version 2.0.1493.2005",
                    "symptom_id": "264630-1-s14",
                    "symptom_text": "Base client files are version 2.0.1493.2005",
                    "match": "exact",
                    "similarity": 1.0,
                    "learned": False,
                    "source": "symptom",
                    "shared_by": 1,
                },
            ],
            "matched_terms": [],
            "text_coverage": 0.0,
            "log_files": ["Clisvc.log"],
            "error_codes": [],
            "causes": [
                {
                    "id": "264630-c1",
                    "article_id": "264630",
                    "issue_ids": ["264630-1"],
                    "text": "Issue 1: on SMS 2.0 (No Service Pack) sites, the required "
                    "update 251070 was not installed before you upgraded to SP2 "
                    "for SMS. ...",
                    "missing_update": "251070",
                    "applies_to_sites": "SMS 2.0 (No Service Pack) sites",
                    "links": {
                        "self": "/v1/causes/264630-c1",
                        "article": "/v1/articles/264630",
                        "issues": ["/v1/issues/264630-1"],
                    },
                }
            ],
            "remediation": [
                {
                    "id": "264630-w6",
                    "article_id": "264630",
                    "issue_ids": ["264630-1", "264630-2"],
                    "title": "Plan the SP2 upgrade so that all SMS 2.0 sites are "
                    "upgraded within 2 to 3 hours",
                    "description": "If the SMS 2.0 sites are all going to be "
                    "upgraded within a 2-hour to 3-hour period, it "
                    "is unlikely for mixed installations to occur on "
                    "clients. ...",
                    "preconditions": [],
                    "warnings": [],
                    "steps": [
                        {
                            "id": "264630-w6-1",
                            "number": 1,
                            "text": "Upgrade all SMS 2.0 sites within a 2-hour "
                            "to 3-hour period, so that mixed "
                            "installations on clients are unlikely to "
                            "occur.",
                            "warnings": [],
                            "notes": [],
                        }
                    ],
                    "links": {
                        "self": "/v1/workarounds/264630-w6",
                        "article": "/v1/articles/264630",
                        "issues": ["/v1/issues/264630-1", "/v1/issues/264630-2"],
                    },
                }
            ],
            "related_articles": [
                {
                    "article_id": "251070",
                    "title": "SMS: Copylog.tcf Does Not Show Site that Updated Logon Point",
                    "reason": "Issue 1 (Copylog.tcf): update required on SMS "
                    "2.0 (No Service Pack) sites before upgrading to "
                    "SP2.",
                    "in_store": False,
                    "links": {},
                }
            ],
            "links": {"issue": "/v1/issues/264630-1", "article": "/v1/articles/264630"},
        }
    ],
}

MATCHED_BRIEF = {
    "request_id": "6f1c2a9e0b7d4c3f8e5a1b2c3d4e5f60",
    "detail": "brief",
    "lines_read": 4,
    "records_read": 3,
    "format": "plain",
    "log_files": ["Clisvc.log"],
    "matched_lines": 3,
    "unmatched_lines": 0,
    "truncated_lines": [],
    "matches": [
        {
            "article_id": "264630",
            "issue_id": "264630-1",
            "title": "Copylog.tcf rewritten by an SP1 site leaves clients in a mixed SP1/SP2 "
            "installation",
            "score": 3.0,
            "confidence": 0.95,
            "certainty": "sure",
            "confidence_reason": "3 lines matched (3 exact), said by this issue alone; the paste "
            "names its log file Clisvc.log",
            "page_url": "http://127.0.0.1:8000/issues/264630-1",
            "matched_lines": [
                {
                    "line": 4,
                    "text": "Base client files are version 2.0.1493.2005",
                    "symptom_id": "264630-1-s14",
                    "symptom_text": "Base client files are version 2.0.1493.2005",
                    "match": "exact",
                    "similarity": 1.0,
                    "learned": False,
                    "source": "symptom",
                    "shared_by": 1,
                }
            ],
            "error_codes": [],
            "fixes": [
                {
                    "title": "Apply the Copylog.tcf updates (251070 / 249077) before upgrading "
                    "to SP2",
                    "steps": [],
                },
                {
                    "title": "Remotely edit Copylog.tcf on the PDC to point Clicore.exe at the "
                    "SP2 site",
                    "steps": [
                        "Edit the Copylog.tcf file on the primary domain controller (PDC) in "
                        "the \\\\PDC\\SMSLOGON\\Config...",
                        "Change the permissions on the Copylog.tcf file to Read Only and assign "
                        "Full Control permission...",
                        "Upgrade all sites to SP2, which repairs and upgrades the clients when "
                        "they are in the mixed...",
                    ],
                },
            ],
            "links": {"issue": "/v1/issues/264630-1", "article": "/v1/articles/264630"},
        }
    ],
}

NOT_MATCHED = {
    "request_id": "6f1c2a9e0b7d4c3f8e5a1b2c3d4e5f60",
    "detail": "full",
    "lines_read": 1,
    "records_read": 1,
    "format": "plain",
    "log_files": [],
    "matched_lines": 0,
    "unmatched_lines": 1,
    "truncated_lines": [],
    "matches": [],
    "hint": "No known issue matched. Paste more of the log (the lines around the first error help "
    "most), include the log file names, or describe the problem in words at "
    "/v1/search?q=...",
}

FILTERED_OUT = {
    **NOT_MATCHED,
    "matched_lines": 1,
    "unmatched_lines": 0,
    "hint": "1 matching issue left out by version=3.0: leave out version to see it (it is "
    "about Microsoft Systems Management Server 2.0, 2.0 SP1).",
    "filters": {
        "product": "SMS",
        "products": ["Microsoft Systems Management Server"],
        "version": "3.0",
        "versions": [],
        "closest_versions": ["2.0", "1.0", "2.0 SP1"],
        "hidden_matches": 1,
        "hidden_by": ["version"],
        "note": "No article of Microsoft Systems Management Server names version 3.0; the "
        "closest: 2.0, 1.0, 2.0 SP1. 1 matching issue left out by version=3.0: leave out "
        "version to see it (it is about Microsoft Systems Management Server 2.0, 2.0 SP1).",
    },
}

LINE_MATCHED = {
    "request_id": "6f1c2a9e0b7d4c3f8e5a1b2c3d4e5f60",
    "detail": "full",
    "lines_read": 1,
    "records_read": 1,
    "format": "plain",
    "log_files": [],
    "matched_lines": 1,
    "unmatched_lines": 0,
    "truncated_lines": [],
    "matches": [
        {
            "article_id": "264630",
            "issue_id": "264630-1",
            "title": "Copylog.tcf rewritten by an SP1 site leaves clients in a mixed SP1/SP2 "
            "installation",
            "article_title": "SMS 2.0 SP1 and SP2 Interoperability Issues When Required "
            "Updates Are Not Applied",
            "page_url": "http://127.0.0.1:8000/issues/264630-1",
            "score": 0.6778,
            "confidence": 0.492,
            "certainty": "not sure",
            "confidence_reason": "1 line matched (1 partial), said by this issue alone",
            "matched_lines": [
                {
                    "line": 1,
                    "text": "ERROR: Failed to start "
                    "D:\\WINNT\\MS\\SMS\\CLICOMP\\SWDist32\\bin\\smswiz32.exe "
                    "error 0x80070005",
                    "symptom_id": "264630-1-s08",
                    "symptom_text": "ERROR: Failed to start "
                    "C:\\WINDOWS\\MS\\SMS\\CLICOMP\\SWDist32\\bin\\smswiz32.exe",
                    "match": "partial",
                    "similarity": 0.941,
                    "learned": False,
                    "source": "symptom",
                    "shared_by": 1,
                }
            ],
            "matched_terms": [],
            "text_coverage": 0.0,
            "log_files": [],
            "error_codes": [
                {
                    "code": "0x80070005",
                    "kind": "hresult",
                    "name": "E_ACCESSDENIED",
                    "meaning": "Access is denied (Win32 error 5 as an HRESULT).",
                }
            ],
            "causes": [],
            "remediation": [],
            "related_articles": [],
            "links": {"issue": "/v1/issues/264630-1", "article": "/v1/articles/264630"},
        }
    ],
}

SEARCH_RESULTS = {
    "query": "clicore copylog",
    "total": 1,
    "results": [
        {
            "article_id": "264630",
            "title": "SMS 2.0 SP1 and SP2 Interoperability Issues When Required Updates Are "
            "Not Applied",
            "score": 0.2626,
            "snippet": "file to indicate that it supplied the logon point's **Clicore** "
            "file, even though it did not copy the file. The incorrect SP1 "
            "Clicore.exe",
            "links": {"article": "/v1/articles/264630"},
        }
    ],
    "issues": [
        {
            "issue_id": "264630-1",
            "article_id": "264630",
            "title": "Copylog.tcf rewritten by an SP1 site leaves clients in a mixed SP1/SP2 "
            "installation",
            "score": 1.0,
            "matched_words": ["clicore", "copylog"],
            "page_url": "http://127.0.0.1:8000/issues/264630-1",
            "links": {"issue": "/v1/issues/264630-1", "article": "/v1/articles/264630"},
        }
    ],
}

PRODUCTS = {
    "total": 1,
    "products": [
        {
            "product": "Microsoft Systems Management Server",
            "articles": 2820,
            "aliases": ["SMS"],
            "versions": [
                {"version": "1.2", "articles": 947},
                {"version": "2.0", "articles": 1312},
                {"version": "2.0 SP1", "articles": 381},
                {"version": "2.0 SP2", "articles": 305},
            ],
        }
    ],
}

FEEDBACK_BODY = {
    "request_id": "6f1c2a9e0b7d4c3f8e5a1b2c3d4e5f60",
    "issue_id": "264630-1",
    "helpful": True,
    "comment": "Editing Copylog.tcf fixed the clients.",
}

FEEDBACK_PENDING = {
    "feedback": {
        "id": 12,
        "created_at": "2026-11-25T10:50:27+00:00",
        "issue_id": "264630-1",
        "helpful": True,
        "request_id": "6f1c2a9e0b7d4c3f8e5a1b2c3d4e5f60",
        "comment": "Editing Copylog.tcf fixed the clients.",
        "status": "pending",
        "reviewed_at": None,
    },
    "learned_symptoms": [],
    "penalised_lines": 0,
    "links": {"issue": "/v1/issues/264630-1"},
}

PENDING_PAGE = {
    "items": [
        {
            "id": 12,
            "created_at": "2026-11-25T10:50:27+00:00",
            "issue_id": "264630-1",
            "helpful": True,
            "request_id": "6f1c2a9e0b7d4c3f8e5a1b2c3d4e5f60",
            "comment": "Editing Copylog.tcf fixed the clients.",
            "status": "pending",
            "reviewed_at": None,
            "lines": ["clicore.exe copy from <path> failed with 0x80070005"],
            "links": {
                "approve": "/v1/feedback/12/approve",
                "reject": "/v1/feedback/12/reject",
                "issue": "/v1/issues/264630-1",
            },
        }
    ],
    "next_cursor": None,
    "links": {"self": "/v1/feedback/pending"},
}

FEEDBACK_APPROVED = {
    "feedback": {
        "id": 12,
        "created_at": "2026-11-25T10:50:27+00:00",
        "issue_id": "264630-1",
        "helpful": True,
        "request_id": "6f1c2a9e0b7d4c3f8e5a1b2c3d4e5f60",
        "comment": "Editing Copylog.tcf fixed the clients.",
        "status": "approved",
        "reviewed_at": "2026-11-25T11:02:13+00:00",
    },
    "learned_symptoms": [
        {
            "id": "264630-1-l01",
            "issue_id": "264630-1",
            "text": "clicore.exe copy from <path> failed with 0x80070005",
            "feedback_id": 12,
            "created_at": "2026-11-25T11:02:13+00:00",
            "links": {
                "self": "/v1/issues/264630-1/learned/264630-1-l01",
                "issue": "/v1/issues/264630-1",
            },
        }
    ],
    "penalised_lines": 0,
    "links": {"issue": "/v1/issues/264630-1"},
}

FEEDBACK_REJECTED = {
    "feedback": {
        "id": 13,
        "created_at": "2026-11-25T10:52:40+00:00",
        "issue_id": "264630-2",
        "helpful": False,
        "request_id": None,
        "comment": "not this one",
        "status": "rejected",
        "reviewed_at": "2026-11-25T11:02:20+00:00",
    },
    "learned_symptoms": [],
    "penalised_lines": 0,
    "links": {"issue": "/v1/issues/264630-2"},
}

STATS = {
    "pastes": 1520,
    "pastes_unmatched": 212,
    "top_issues": [
        {
            "issue_id": "264630-1",
            "article_id": "264630",
            "title": "Copylog.tcf rewritten by an SP1 site leaves clients in a mixed "
            "SP1/SP2 installation",
            "count": 311,
            "first_matched": "2026-11-02T08:12:40+00:00",
            "last_matched": "2026-11-25T10:50:27+00:00",
            "links": {"issue": "/v1/issues/264630-1"},
        }
    ],
    "feedback": {
        "total": 40,
        "helpful": 31,
        "not_helpful": 9,
        "pending": 4,
        "learned_symptoms": 57,
    },
    "content_gaps": [
        {
            "line": "wuauclt detection cycle aborted with 0x8024402c",
            "count": 17,
            "clients": 6,
            "first_seen": "2026-11-20T14:03:11+00:00",
            "last_seen": "2026-11-25T09:41:02+00:00",
        }
    ],
}

ARTICLE_WRITTEN = {
    "id": "900100",
    "title": "Inventory agent cannot write its cache",
    "summary": "",
    "source": "api",
    "modification_type": None,
    "last_reviewed": None,
    "updated_at": "2026-11-25T10:40:00+00:00",
    "applies_to": [{"product": "Test Product", "version": "1.0"}],
    "keywords": [],
    "issue_ids": ["900100-1"],
    "aliases": ["KB900100", "Q900100"],
    "sections": [],
    "related": [],
    "referenced_by": [],
    "issues": [
        {
            "id": "900100-1",
            "article_id": "900100",
            "article_title": "Inventory agent cannot write its cache",
            "number": 1,
            "title": "Agent stops",
            "description": "The agent stops.",
            "symptom_ids": ["900100-1-s01"],
            "cause_ids": [],
            "workaround_ids": [],
            "page_url": "http://127.0.0.1:8000/issues/900100-1",
            "links": {
                "self": "/v1/issues/900100-1",
                "article": "/v1/articles/900100",
                "symptoms": ["/v1/symptoms/900100-1-s01"],
                "causes": [],
                "workarounds": [],
            },
        }
    ],
    "symptoms": [
        {
            "id": "900100-1-s01",
            "article_id": "900100",
            "issue_id": "900100-1",
            "kind": "log_line",
            "text": "Inventory Agent failed to write the cache file, error 0x80070005",
            "log_files": [],
            "occurrences": 1,
            "links": {
                "self": "/v1/symptoms/900100-1-s01",
                "issue": "/v1/issues/900100-1",
                "article": "/v1/articles/900100",
            },
        }
    ],
    "causes": [],
    "workarounds": [],
    "page_url": "http://127.0.0.1:8000/articles/900100",
    "links": {
        "self": "/v1/articles/900100",
        "issues": ["/v1/issues/900100-1"],
        "related": [],
        "referenced_by": [],
    },
}

PROBLEM_UNAUTHORIZED = {
    "type": "/problems/unauthorized",
    "title": "Authentication required",
    "status": 401,
    "detail": "This write needs Authorization: Bearer <token>.",
    "instance": "/v1/articles/900100",
}

PROBLEM_UNPROCESSABLE = {
    "type": "/problems/validation-failed",
    "title": "Validation failed",
    "status": 422,
    "detail": "The JSON body is not a valid paste: log.",
    "instance": "/v1/match",
    "errors": [{"field": "log", "message": "Missing data for required field."}],
}

PROBLEM_BAD_REQUEST = {
    "type": "/problems/bad-request",
    "title": "Bad request",
    "status": 400,
    "detail": "Invalid parameter(s): limit.",
    "instance": "/v1/articles",
    "errors": [
        {
            "field": "limit",
            "message": "Must be greater than or equal to 1 and less than or equal to "
            f"{limits.PAGE_LIMIT_MAX}.",
        }
    ],
}

PROBLEM_METRICS_UNAUTHORIZED = {
    "type": "/problems/unauthorized",
    "title": "Authentication required",
    "status": 401,
    "detail": "Metrics need Authorization: Bearer <the token in KB_METRICS_TOKEN>.",
    "instance": "/metrics",
}

PROBLEM_METRICS_ELSEWHERE = {
    "type": "/problems/not-found",
    "title": "Not found",
    "status": 404,
    "detail": "Nothing is served at /metrics on this port.",
    "instance": "/metrics",
}

PROBLEM_NOT_FOUND = {
    "type": "/problems/not-found",
    "title": "Not found",
    "status": 404,
    "detail": "No article has the id '999'. List them at /v1/articles or follow the links of an "
    "article.",
    "instance": "/v1/articles/999",
}

PROBLEM_METHOD_NOT_ALLOWED = {
    "type": "/problems/method-not-allowed",
    "title": "Method not allowed",
    "status": 405,
    "detail": "DELETE is not allowed here; use GET, HEAD.",
    "instance": "/v1/articles",
}

# Refused by the server before the request was read: no `instance`.
PROBLEM_URI_TOO_LONG = {
    "type": "/problems/uri-too-long",
    "title": "Request line too long",
    "status": 414,
    "detail": URI_TOO_LONG,
}

PROBLEM_HEADERS_TOO_LARGE = {
    "type": "/problems/header-fields-too-large",
    "title": "Request headers too large",
    "status": 431,
    "detail": HEADERS_TOO_LARGE,
}

PROBLEM_NOT_ACCEPTABLE = {
    "type": "/problems/not-acceptable",
    "title": "Not acceptable",
    "status": 406,
    "detail": "This endpoint answers with application/json. Send Accept: application/json (got "
    "'text/html').",
    "instance": "/v1/articles",
}

PROBLEM_BODY_TOO_LARGE = {
    "type": "/problems/payload-too-large",
    "title": "Request body too large",
    "status": 413,
    "detail": "The request body is larger than the server accepts. Send a smaller part of the log.",
    "instance": "/v1/match",
}

PROBLEM_TOO_MANY_LINES = {
    "type": "/problems/payload-too-large",
    "title": "Request body too large",
    "status": 413,
    "detail": f"The paste is too large: the paste has more than {limits.MAX_PASTE_LINES} lines; "
    "send the part around "
    "the error (or raise KB_MAX_PASTE_LINES on the server).",
    "instance": "/v1/match",
}

PROBLEM_TOO_SLOW = {
    "type": "/problems/payload-too-large",
    "title": "Request body too large",
    "status": 413,
    "detail": "The paste is too large: matching it takes longer than the "
    f"{limits.MATCH_BUDGET_MS} ms one request is "
    "given (time ran out while looking up whole lines); send fewer lines, such as the "
    "few hundred around the first error (or raise KB_MATCH_BUDGET_MS on the server).",
    "instance": "/v1/match",
}

PROBLEM_MEDIA_TYPE = {
    "type": "/problems/unsupported-media-type",
    "title": "Unsupported media type",
    "status": 415,
    "detail": 'Cannot read a paste sent as image/png. Send the log as text/plain, or JSON {"log": '
    '"..."} as application/json.',
    "instance": "/v1/match",
}

PROBLEM_CHARSET = {
    "type": "/problems/unsupported-media-type",
    "title": "Unsupported media type",
    "status": 415,
    "detail": "The body is declared as charset='punycode', which is not accepted. Send it in "
    f"{CHARSET_NAMES}, or name no charset: UTF-8 is assumed, and UTF-16 or UTF-32 is read by "
    "its BOM.",
    "instance": "/v1/match",
    "errors": [
        {
            "field": "charset",
            "message": f"must be one of {CHARSET_NAMES}",
        }
    ],
}

PROBLEM_TOO_MANY_REQUESTS = {
    "type": "/problems/too-many-requests",
    "title": "Too many requests",
    "status": 429,
    "detail": "Too many requests from this client: the limit is 120 per minute. Try again in 1 s.",
    "instance": "/v1/match",
}

PROBLEM_INTERNAL = {
    "type": "/problems/internal-error",
    "title": "Internal server error",
    "status": 500,
    "detail": "The server failed to answer this request. It has been logged.",
    "instance": "/v1/match",
}
