"""Versions from outside the package and how they run: a `py:`/`c:` spec parsed once into a
`VersionSpec` that builds its version (spec), and the process that hosts an untrusted version,
its fork server and the watching of it (isolation, forkserver)."""
