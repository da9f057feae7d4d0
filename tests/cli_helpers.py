"""Running the real ``wfm`` entry point in-process for tests (shared by the CLI test files)."""

from __future__ import annotations

import pytest

from wfm.cli import main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``wfm argv`` through ``wfm.cli.main``: (exit code, stdout, stderr)."""
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
