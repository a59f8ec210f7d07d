"""The explorer: every schedule of a bound, breadth-first, with a certificate of what it closed.
The bound and its alphabet (space), the search (search), its per-version tables and state
digests (tables), its jobs and parallel runners (jobs), and the certificate (certificate)."""
