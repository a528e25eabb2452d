"""Nothing a user types may reach code or files on the host; the server ships locked down."""

import re
from pathlib import Path

import pytest

from lightviz.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "lightviz").rglob("*.py")) + [ROOT / "app.py"]

FORBIDDEN = {
    r"\bpickle\b|\bcloudpickle\b|\bdill\b|\bmarshal\.loads?\b|\bshelve\b": "unpickling",
    r"\btorch\.load\b|\btorch\.jit\.load\b": "loading a torch file (it unpickles)",
    r"(?<![\w.`])eval\(|(?<![\w.`])exec\(|\b__import__\(": "eval/exec/__import__",
    r"\byaml\.load\(": "yaml.load",
    r"unsafe_allow_html\s*=\s*True|\bst\.html\(|components\.html\(": "raw HTML in the page",
    r"shell\s*=\s*True|os\.system\(|os\.popen\(": "a shell",
}


@pytest.mark.parametrize("path", [p for p in SOURCES if p.exists()],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_code_paths_from_user_input(path):
    text = path.read_text(encoding="utf-8")
    for pattern, what in FORBIDDEN.items():
        assert not re.search(pattern, text), f"{path.name}: {what}"


def test_dynamic_imports_name_constants_only():
    """The CLI imports its plugin modules by fixed names, never by user text."""
    text = (ROOT / "lightviz" / "cli.py").read_text()
    assert re.findall(r"importlib\.import_module\((\w+)\)", text) == ["name"]
    assert "for name in PLUGINS:" in text


def _streamlit_config():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import toml as tomllib  # streamlit depends on it
        return tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    return tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())


def test_streamlit_production_settings():
    cfg = _streamlit_config()
    server = cfg["server"]
    assert server["address"] == "127.0.0.1"
    assert server["enableXsrfProtection"] is True
    assert server["fileWatcherType"] == "none"
    assert server["runOnSave"] is False
    assert server.get("headless") is True
    assert cfg["browser"]["gatherUsageStats"] is False
    assert cfg["client"]["showErrorDetails"] in ("none", "type", False)


def test_app_command_binds_to_localhost_unless_asked():
    args = build_parser().parse_args(["app"])
    assert args.address == "127.0.0.1" and not args.lan
    assert build_parser().parse_args(["app", "--lan"]).lan
