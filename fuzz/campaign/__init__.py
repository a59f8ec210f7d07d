"""Campaigns: `pagefuzz fuzz` from start to resume. The campaign's directory and lock (campaign),
its findings store (store) and summary (summary), the known findings of the corpus (known), the
fuzz target every engine calls (target), minimisation (minimize), the engines (engines: atheris
through libfuzzer and differential_fuzzer, hypothesis, random, PCT in pct, the smoke engine
trivial_fuzzer) and the workers and their supervisor (worker, supervisor)."""
