"""The library's version: the one place it is set (packaging reads it statically from here).

A module of its own, importing nothing, so that the file writers can record it
without importing the package root (and with it the Network class).
"""

__version__ = "0.1.0"
