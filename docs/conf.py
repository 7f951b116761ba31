"""Sphinx configuration for flask-allcot-privacy."""

project = "flask-allcot-privacy"
author = "The flask-allcot-privacy developers"
copyright = "2026, The flask-allcot-privacy developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.intersphinx"]
intersphinx_mapping: dict[str, tuple[str, None]] = {}
html_theme = "alabaster"
nitpicky = False
exclude_patterns = ["_build"]
