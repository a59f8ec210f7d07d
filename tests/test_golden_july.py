"""Hand-traced cases of the July 2004 era (corpus/examples/j*.json).

Every value below was worked out by hand from kernel-model-2004-07.md (rules J1-J34, JR1-JR7;
the project's second kernel-semantics spec, kept outside this repository), kernel-model.md for
what carries over, and docs/model.md ("Eras"), *before* the era's implementation was run: sixteen
of the cases by a session that had only the specs and the mails, and could not run the code.
The working, step by step and rule by rule, is in each case's `notes`; the values are each
request's result and the step it completed in (the drain is step len(steps)), the kernel BUGs in
the order they happen, and the pages not on disk when each request completed. Each case's
`expect` (checks per version and the differential classes) is checked by tests/test_corpus.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pagefuzz._casefile import load_case
from pagefuzz._replay import replay_json

EXAMPLES = Path(__file__).resolve().parent.parent / "corpus" / "examples"

#: case -> version -> {requests: name -> [result, completed_at], bugs, not_on_disk}.
FACTS: dict[str, dict[str, dict[str, Any]]] = {
    "j10-storm-shifted-ranges": {
        "p17": {
            "requests": {"W": [4096, 0], "A": [4096, 4], "B": [4096, 4]},
            "bugs": [],
            "not_on_disk": {"W": [2], "B": [1]},
        },
        "p19": {
            "requests": {"W": [4096, 0], "A": [4096, 4], "B": [4096, 4]},
            "bugs": [],
            "not_on_disk": {"W": [2], "B": [1]},
        },
        "y2005": {
            "requests": {"W": [4096, 0], "A": [4096, 4], "B": [4096, 4]},
            "bugs": [],
            "not_on_disk": {"W": [2]},
        },
    },
    "j10-unrelated-unlock-kick": {
        "p17": {"requests": {"A": [4096, 2]}, "bugs": [], "not_on_disk": {"A": [0]}},
        "p19": {"requests": {"A": [4096, 2]}, "bugs": [], "not_on_disk": {"A": [0]}},
        "y2005": {"requests": {"A": [4096, 3]}, "bugs": [], "not_on_disk": {}},
    },
    "j13-whole-file-sweep": {
        "p17": {
            "requests": {"W": [4096, 0], "A": [1, 2], "T": [4096, 5]},
            "bugs": [],
            "not_on_disk": {"W": [2]},
        },
        "p19": {
            "requests": {"W": [4096, 0], "A": [1, 2], "T": [4096, 5]},
            "bugs": [],
            "not_on_disk": {"W": [2]},
        },
        "y2005": {
            "requests": {"W": [4096, 0], "A": [1, 2], "T": [4096, 5]},
            "bugs": [],
            "not_on_disk": {"W": [2]},
        },
    },
    "j14-range-stops-beyond-end": {
        "p17": {
            "requests": {"W": [4096, 0], "T": [8192, 8], "U": [4096, 6]},
            "bugs": [],
            "not_on_disk": {"W": [2]},
        },
        "p19": {
            "requests": {"W": [4096, 0], "T": [8192, 8], "U": [4096, 6]},
            "bugs": [],
            "not_on_disk": {"W": [2]},
        },
        "y2005": {
            "requests": {"W": [4096, 0], "T": [8192, 8], "U": [4096, 6]},
            "bugs": [],
            "not_on_disk": {"W": [2]},
        },
    },
    "j17-as-eio-after-break": {
        "p17": {
            "requests": {"W": [4096, 0], "A": [-5, 3]},
            "bugs": ["complete-with-queued-wait", "wake-completed-iocb"],
            "not_on_disk": {"W": [0], "A": [0]},
        },
        "p19": {
            "requests": {"W": [4096, 0], "A": [-5, 3]},
            "bugs": ["complete-with-queued-wait", "wake-completed-iocb"],
            "not_on_disk": {"W": [0], "A": [0]},
        },
        "y2005": {
            "requests": {"W": [4096, 0], "A": [-5, 3]},
            "bugs": ["complete-with-queued-wait", "wake-completed-iocb"],
            "not_on_disk": {"W": [0], "A": [0]},
        },
    },
    "j17-bug40701-paused-walk": {
        "p17": {
            "requests": {"A": [8192, 5]},
            "bugs": ["complete-with-queued-wait", "wake-completed-iocb"],
            "not_on_disk": {"A": [2]},
        },
        "p19": {"requests": {"A": [8192, 6]}, "bugs": [], "not_on_disk": {}},
        "y2005": {"requests": {"A": [8192, 6]}, "bugs": [], "not_on_disk": {}},
    },
    "j17-partial-count-unaligned": {
        "p17": {
            "requests": {"W": [4096, 0], "A": [4096, 4]},
            "bugs": ["complete-with-queued-wait", "wake-completed-iocb"],
            "not_on_disk": {"W": [1], "A": [1]},
        },
        "p19": {
            "requests": {"W": [4096, 0], "A": [4096, 5]},
            "bugs": [],
            "not_on_disk": {"W": [1]},
        },
        "y2005": {
            "requests": {"W": [4096, 0], "A": [4096, 5]},
            "bugs": [],
            "not_on_disk": {"W": [1]},
        },
    },
    "j18-fix-loses-partial-pos": {
        "p17": {
            "requests": {"W": [4096, 0], "A": [8192, 7]},
            "bugs": [],
            "not_on_disk": {"W": [1]},
        },
        "p19": {
            "requests": {"W": [4096, 0], "A": [8192, 6]},
            "bugs": [],
            "not_on_disk": {"W": [1], "A": [1]},
        },
        "y2005": {
            "requests": {"W": [4096, 0], "A": [8192, 7]},
            "bugs": [],
            "not_on_disk": {"W": [1]},
        },
    },
    "j19-as-eio-stolen": {
        "p17": {"requests": {"A": [8192, 4], "T": [-5, 3]}, "bugs": [], "not_on_disk": {}},
        "p19": {"requests": {"A": [8192, 4], "T": [-5, 3]}, "bugs": [], "not_on_disk": {}},
        "y2005": {"requests": {"A": [8192, 4], "T": [-5, 3]}, "bugs": [], "not_on_disk": {}},
    },
    "j19-eio-overwritten-sync": {
        "p17": {"requests": {"T": [8192, 2]}, "bugs": [], "not_on_disk": {}},
        "p19": {"requests": {"T": [8192, 2]}, "bugs": [], "not_on_disk": {}},
        "y2005": {"requests": {"T": [-5, 1]}, "bugs": [], "not_on_disk": {"T": [1]}},
    },
    "j22-three-page-kipos-shift": {
        "p17": {"requests": {"A": [8192, 2]}, "bugs": [], "not_on_disk": {"A": [1]}},
        "p19": {"requests": {"A": [8192, 2]}, "bugs": [], "not_on_disk": {"A": [1]}},
        "y2005": {"requests": {"A": [8192, 3]}, "bugs": [], "not_on_disk": {}},
    },
    "j22-two-page-kipos-shift": {
        "p17": {"requests": {"A": [8192, 1]}, "bugs": [], "not_on_disk": {"A": [1]}},
        "p19": {"requests": {"A": [8192, 1]}, "bugs": [], "not_on_disk": {"A": [1]}},
        "y2005": {"requests": {"A": [8192, 2]}, "bugs": [], "not_on_disk": {}},
    },
    "j25-i-sem-blocks-aio": {
        "p17": {
            "requests": {"W": [4096, 0], "T": [4096, 8], "A": [4096, 8]},
            "bugs": [],
            "not_on_disk": {"W": [0]},
        },
        "p19": {
            "requests": {"W": [4096, 0], "T": [4096, 8], "A": [4096, 8]},
            "bugs": [],
            "not_on_disk": {"W": [0]},
        },
        "y2005": {
            "requests": {"W": [4096, 0], "T": [4096, 8], "A": [4096, 8]},
            "bugs": [],
            "not_on_disk": {"W": [0]},
        },
    },
    "j31-sticky-error-replaces-retry": {
        "p17": {
            "requests": {"W": [4096, 0], "A": [4096, 4]},
            "bugs": [],
            "not_on_disk": {"W": [0]},
        },
        "p19": {
            "requests": {"W": [4096, 0], "A": [4096, 4]},
            "bugs": [],
            "not_on_disk": {"W": [0]},
        },
        "y2005": {
            "requests": {"W": [4096, 0], "A": [-5, 3]},
            "bugs": ["complete-with-queued-wait", "wake-completed-iocb"],
            "not_on_disk": {"W": [0], "A": [0]},
        },
    },
    "j8-filtered-sync-waiter": {
        "p17": {
            "requests": {"T": [4096, 4], "A": [4096, 3]},
            "bugs": [],
            "not_on_disk": {"A": [1]},
        },
        "p19": {
            "requests": {"T": [4096, 4], "A": [4096, 3]},
            "bugs": [],
            "not_on_disk": {"A": [1]},
        },
        "y2005": {"requests": {"T": [4096, 4], "A": [4096, 5]}, "bugs": [], "not_on_disk": {}},
    },
    "j9-lock-waiters-fifo": {
        "p17": {"requests": {"A": [4096, 4]}, "bugs": [], "not_on_disk": {}},
        "p19": {"requests": {"A": [4096, 4]}, "bugs": [], "not_on_disk": {}},
        "y2005": {"requests": {"A": [4096, 4]}, "bugs": [], "not_on_disk": {}},
    },
    "jr4-as-eio-off": {
        "p17": {"requests": {"A": [4096, 1]}, "bugs": [], "not_on_disk": {}},
        "p19": {"requests": {"A": [4096, 1]}, "bugs": [], "not_on_disk": {}},
        "y2005": {"requests": {"A": [4096, 1]}, "bugs": [], "not_on_disk": {}},
    },
    "jr4-as-eio-on": {
        "p17": {"requests": {"A": [-5, 1]}, "bugs": [], "not_on_disk": {}},
        "p19": {"requests": {"A": [-5, 1]}, "bugs": [], "not_on_disk": {}},
        "y2005": {"requests": {"A": [-5, 1]}, "bugs": [], "not_on_disk": {}},
    },
}


def _bug_kind(what: str) -> str:
    """A BUG's kind from its words (the record's JSON keeps the words)."""
    if what.startswith("aio_complete of"):
        return "complete-with-queued-wait"
    if "wakes the entry of completed iocb" in what:
        return "wake-completed-iocb"
    if "which is not locked" in what:
        return "unlock-unlocked-page"
    if "while one is in flight" in what:
        return "writeback-in-flight"
    return what


@pytest.mark.parametrize("name", sorted(FACTS))
def test_hand_traced_facts_of_the_july_2004_era(name: str) -> None:
    """The facts of each case in p17, p19 and y2005, as traced by hand (see the case's notes)."""
    case = load_case(EXAMPLES / f"{name}.json")
    assert case.config.era == "2004-07"
    got = replay_json(case)["versions"]
    assert list(got) == ["p17", "p19", "y2005"]  # the era's default versions
    for version, want in FACTS[name].items():
        v = got[version]
        requests = {r: [x["result"], x["completed_at"]] for r, x in v["requests"].items()}
        assert requests == want["requests"], version
        assert [_bug_kind(b["what"]) for b in v["kernel_bugs"]] == want["bugs"], version
        not_on_disk = {
            r: x["not_on_disk_at_completion"]
            for r, x in v["requests"].items()
            if x["not_on_disk_at_completion"]
        }
        assert not_on_disk == want["not_on_disk"], version


def test_every_rule_of_the_addendum_has_a_case() -> None:
    """Issue 19's fidelity list: each rule group of the addendum is exercised by at least one
    hand-traced case (the rule numbers are named in the cases' notes)."""
    notes = " ".join(load_case(EXAMPLES / f"{name}.json").notes for name in FACTS)
    for rule in (
        "J2",
        "J3",
        "J4",
        "J5",
        "J6",
        "J7",
        "J8",
        "J9",
        "J10",
        "J11",
        "J13",
        "J14",
        "J17",
        "J18",
        "J19",
        "J21",
        "J22",
        "J24",
        "J25",
        "J26",
        "J31",
        "J32",
        "JR4",
    ):
        assert rule in notes, rule
