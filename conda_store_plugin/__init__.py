"""conda-store-plugin: reproducible environment builds and lockfiles for conda."""

__version__ = "0.1.0"
