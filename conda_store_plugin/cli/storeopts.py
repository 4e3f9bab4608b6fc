"""Options and text helpers shared by the store verbs (build, list, history, ...)."""

from __future__ import annotations

import argparse


def add_store_option(parser: argparse.ArgumentParser) -> None:
    """``--store DIR`` (every store verb)."""
    parser.add_argument(
        "--store", metavar="DIR",
        help="Store directory (default: $CONDA_STORE_DIR, else the `store_dir` conda "
             "setting, else ~/.conda/store).")


def add_env_argument(parser: argparse.ArgumentParser, *, build: bool = True,
                     optional: bool = False) -> None:
    """The ``ENV`` / ``ENV[@BUILD]`` positional argument."""
    metavar = "ENV[@BUILD]" if build else "ENV"
    parser.add_argument(
        "environment", metavar=metavar, nargs="?" if optional else None,
        help="Environment: NAME (in your namespace) or NAMESPACE/NAME"
             + (", optionally @BUILD." if build else "."))


def human_bytes(n: int | None) -> str:
    """``1.5 MiB``."""
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def short_time(text: str | None) -> str:
    """``2025-01-31 12:00`` from an ISO time; ``-`` for none."""
    if not text:
        return "-"
    return text.replace("T", " ")[:16]


def table(rows: list[list[str]], headers: list[str]) -> str:
    """Left-aligned columns, two spaces apart."""
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=True)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines) + "\n"
