"""Run the lightviz command in-process and capture what it prints (for the fuzz tests)."""

import io
from contextlib import redirect_stderr, redirect_stdout

from lightviz.cli import main


def run_cli(argv):
    """``(exit status, stdout, stderr)`` of ``lightviz ARGV``."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse --help and friends
            code = exc.code
    return code, out.getvalue(), err.getvalue()
