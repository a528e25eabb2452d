"""lightviz's version, in a module of its own so that any module can name it without importing
the package's public API (and through it the zoo)."""

__version__ = "0.1.0"
