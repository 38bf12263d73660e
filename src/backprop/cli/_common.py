"""Former home of the sub-commands' helpers, kept so that old imports keep working.

The helpers now live in modules with one job each: :mod:`.arguments` (argparse
building blocks), :mod:`.datasets` (the data the flags name), :mod:`.output`
(tables, JSON), :mod:`.progress` (the progress display) and :mod:`.interrupt`
(Ctrl-C). Import from those.
"""

from __future__ import annotations

from .arguments import (
    add_data_arguments,
    add_download_arguments,
    add_label_column_argument,
    add_parser,
    column,
    int_list,
    resolve_sizes,
)
from .datasets import has_rows, idx_name, load_dataset, reject_nonfinite
from .interrupt import StopOnInterrupt
from .output import (
    check_out_path,
    emit_json,
    format_seconds,
    format_table,
    jsonable,
    percent,
    print_table,
    write_text,
)
from .progress import Progress

__all__ = [
    "Progress",
    "StopOnInterrupt",
    "add_data_arguments",
    "add_download_arguments",
    "add_label_column_argument",
    "add_parser",
    "check_out_path",
    "column",
    "emit_json",
    "format_seconds",
    "format_table",
    "has_rows",
    "idx_name",
    "int_list",
    "jsonable",
    "load_dataset",
    "percent",
    "print_table",
    "reject_nonfinite",
    "resolve_sizes",
    "write_text",
]
