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
        if path == LAYOUT and what == "raw HTML in the page":
            continue  # the one exception, checked below
        assert not re.search(pattern, text), f"{path.name}: {what}"


LAYOUT = ROOT / "lightviz" / "views" / "layout.py"


def test_the_one_raw_html_is_constant_css_and_an_escaped_label():
    """views/layout.py injects the page's CSS and the phone's configuration button (a script
    opens the sidebar: Streamlit strips inline handlers). Nothing a user types reaches it: the
    CSS and script are constants, and the one value in the markup, the network's name, is
    escaped."""
    from lightviz import make_config
    from lightviz.configure import network_label
    from lightviz.views import layout

    text = LAYOUT.read_text(encoding="utf-8")
    assert len(re.findall(r"\bst\.html\(", text)) == 1
    assert "unsafe_allow_html" not in text and "components.html(" not in text
    markup = layout.config_button_html(network_label(make_config("mobilenet_v2")))
    values = re.findall(r"<b>(.*?)</b>", markup)
    assert values == ["MobileNet v2 \u03b1 1 \u00b7 224 px"]
    hostile = layout.config_button_html("<img src=x onerror=alert(1)>")
    assert "<img" not in hostile and "&lt;img src=x onerror=alert(1)&gt;" in hostile


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
