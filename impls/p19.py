"""`p19`: patch 17's wait walk with patch 19 applied ("Fix math error in AIO wait on
writeback", Chris Mason, SUSE bug 40701; J18): `curr` and the partial page count are gone, so
an async wait returns -EIOCBRETRY, an error, or the whole range's page count. Everything else,
the lock/unlock pair included, is patch 17's.
"""

from pagefuzz.impls.p17 import P17


class P19(P17):
    name = "p19"
    summary = "July 2004 patch 19 (SUSE bug 40701): no partial count, -EIOCBRETRY kept"
    stateless = True  # all its state is in the world (sim/storm.py)

    partial_count = False
