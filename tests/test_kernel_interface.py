"""Versions call only the kernel interface (sim/kernel.py's `Kernel`), never the simulator's
bookkeeping: mypy holds the package's versions to it (they are typed `k: Kernel`); this test holds
every other version pagefuzz ships or tests with to it, by reading their code: the tests' mutants
and misbehaving versions, the examples, the C bridge's callbacks, and the methods the mutation
benchmark compiles from its changes. It also checks that the world provides every call the
interface declares, with the same parameters."""

from __future__ import annotations

import ast
import inspect
import sys
from pathlib import Path

import pytest

from pagefuzz.fuzz.bench.mutation import mutants
from pagefuzz.impls import cbuild, cversion
from pagefuzz.impls.fixed import Fixed
from pagefuzz.sim.kernel import Kernel
from pagefuzz.sim.world import World

ROOT = Path(__file__).resolve().parents[1]

#: Every call the interface declares.
DECLARED = sorted(name for name in vars(Kernel) if not name.startswith("_"))


def kernel_uses(tree: ast.AST) -> set[str]:
    """The attributes read from a name `k` anywhere in `tree` (a version's kernel is its `k`)."""
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "k"
    }


def test_the_interface_is_the_2004_calls_and_nothing_of_the_bookkeeping() -> None:
    """Exactly the kernel functions a 2004 operate_on_page_range, page_writer, page_waiter or a
    hand-queued wait entry calls, and those the July 2004 era's sync_page_range and wait walks
    call (a tagged lookup, AS_EIO, KIF_SYNCED, the range write-out, the metadata step, the
    wait-bit wait): no event log, no scheduler, no queue list, no device."""
    assert DECLARED == [
        "add_wait_queue",
        "bug",
        "filemap_fdatawrite_range",
        "generic_osync_inode",
        "kiocb_try_sync",
        "lock_page",
        "page_cache_get",
        "page_cache_release",
        "page_waitqueue",
        "pagevec_lookup",
        "pagevec_lookup_next",
        "pagevec_lookup_tag",
        "pagevec_release",
        "test_and_clear_bit",
        "test_clear_page_dirty",
        "unlock_page",
        "wait_on_page_writeback",
        "wait_on_page_writeback_bit",
        "wait_on_page_writeback_wq",
        "wait_table_size",
        "writepage",
    ]


@pytest.mark.parametrize("name", DECLARED)
def test_the_world_provides_each_call_with_its_parameters(name: str) -> None:
    declared = list(inspect.signature(getattr(Kernel, name)).parameters)
    provided = list(inspect.signature(getattr(World, name)).parameters)
    # The world's functions name their first parameter k (the world), the protocol self.
    assert provided[1:] == declared[1:]


FILES = sorted(
    [
        *(ROOT / "impls").glob("*.py"),
        ROOT / "tests" / "mutants.py",
        ROOT / "tests" / "misbehaving.py",
        *(ROOT / "examples" / "versions").glob("*.py"),
    ]
)


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_versions_and_the_c_bridge_call_only_the_interface(path: Path) -> None:
    used = kernel_uses(ast.parse(path.read_text()))
    assert used <= set(DECLARED), sorted(used - set(DECLARED))


def test_the_check_sees_a_call_outside_the_interface() -> None:
    """The reading above is not vacuous: a version reaching into the world is seen."""
    source = "def page_waiter(self, k, ctx, page):\n    k.waits.queues[0].add(ctx.io_wait)\n"
    assert kernel_uses(ast.parse(source)) - set(DECLARED) == {"waits"}
    assert kernel_uses(ast.parse(inspect.getsource(Fixed))) == {
        "pagevec_lookup_next",
        "pagevec_release",
    }


def test_the_benchmark_mutants_changed_methods_call_only_the_interface() -> None:
    """A mutant's method is compiled from Fixed's source with its change applied; a change to a
    kernel function (`kernel`) is the kernel's own code and may use the world."""
    built = sys.modules[next(iter(mutants().values())).__module__]
    checked = 0
    for cls in mutants().values():
        change = cls.change  # type: ignore[attr-defined]
        if change.kernel:
            continue
        source = built.changed_source(built.source_of(getattr(Fixed, change.method)), change)
        used = kernel_uses(ast.parse(source))
        assert used <= set(DECLARED), (cls.name, sorted(used - set(DECLARED)))
        checked += 1
    assert checked >= 10


def test_the_c_abi_is_declared_once_in_kernel_h() -> None:
    """Each call from C into the world is declared in kernel.h only: the cdef's `extern
    "Python"` lines are made from its prototypes, and the bridge has a callback for each, no
    more. A prototype added to kernel.h without a callback (or the reverse) stops the build with
    one line naming it."""
    header = cbuild.kernel_header()
    calls = cversion.callback_prototypes(header)
    assert "pf_cb_lookup" in calls and len(calls) == 16
    assert calls["pf_cb_lookup"] == (
        "struct pagevec *pvec, unsigned long start, unsigned nr, pgoff_t *next"
    )
    made = cversion.cdef(header)
    for name, parameters in calls.items():
        assert f'extern "Python" int {name}({parameters});' in made
    assert made.count('extern "Python"') == 16
    extra = header.replace(
        "static int pf_cb_bug(",
        "static int pf_cb_trylock_page(struct page *page);\nstatic int pf_cb_bug(",
    )
    with pytest.raises(cbuild.CBuildError) as info:
        cversion.cdef(extra)
    assert str(info.value) == (
        "kernel.h and impls/cversion.py disagree on the calls into the world: "
        "['pf_cb_trylock_page']"
    )
