"""`python -m pagefuzz`: the same as the `pagefuzz` command."""

from pagefuzz._cli import main

raise SystemExit(main())
