"""The versions of operate_on_page_range under test, and the registry that names them."""

from pagefuzz.impls.registry import REGISTRY, get_version, version_names

__all__ = ["REGISTRY", "get_version", "version_names"]
