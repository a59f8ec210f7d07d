"""`pagefuzz bench`: the parts measured (parts), the comparison against a baseline commit in a
temporary worktree (speed, which runs probe in each tree), the mutation benchmark over the
mutants of benchmarks/mutants.toml (mutation) and the Markdown page (render)."""
