"""The fuzzing engines a campaign can run, named once (the `--engine` choices).

Adding one: its loop in fuzz/campaign/worker.py (an in-process engine, listed in WORKER_ENGINES) or
its own target script like atheris', the command that starts it in fuzz/campaign/supervisor.py, and
its name here.
"""

from typing import Final

#: Every engine, in the order `--help` lists them.
ENGINES: Final = ("atheris", "hypothesis", "random", "pct")
DEFAULT_ENGINE: Final = "atheris"
#: The engines `python -m pagefuzz.fuzz.campaign.worker` runs; atheris runs
#: fuzz/campaign/differential_fuzzer.py under
#: libFuzzer instead.
WORKER_ENGINES: Final = ("random", "hypothesis", "pct")
