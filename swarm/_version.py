"""swarm's version, for the package and for the modules below it (the package's own
``swarm/__init__.py`` imports every layer, so no module may import it)."""
__version__ = "0.3.0"
