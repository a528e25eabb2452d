"""Bad input everywhere, in the address bar: 500 generated URLs through Streamlit's AppTest, and
generated ``lightviz bench`` argument lists.

Each URL carries random query parameters for every name the app reads (``arch``, ``alpha``,
``rho``, ``resolution``, ``groups``, ``classes``, ``unit``, ``elementwise``, Compare's ``b_*``,
Diagrams' ``block``) and names it does not know, with NaN, inf, huge, negative and off-grid
numbers, unknown names, repeated keys (several values), non-ASCII and control characters, HTML
and very long values, opened on a random page. Every case must end in a valid page:

* no exception and no error box;
* every value that was not used as given (replaced, clamped, snapped, ignored, repeated) has a
  visible notice naming its parameter;
* the widgets hold a valid configuration, the rewritten URL holds exactly that configuration
  (reopening it gives no notice), and the page shows that configuration's numbers.

The examples are derandomized (the same 500 on every run) so CI is deterministic. A fresh
AppTest spends most of its first run scanning installed packages for Streamlit components (see
``scan_components_once``); with that scan done once, a run costs the app's own work, about
0.03-0.1 s, and the 500 URLs take well under a minute on two shared cores.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
from cli_support import run_cli
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as hs
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from lightviz import ARCHS, count, make_config
from lightviz.config import CLASSES_MAX, CLASSES_MIN
from lightviz.state import ALPHA_STOPS, ARCH_LABELS, PARAMS, RHO_STOPS, parse_query
from lightviz.views import fmt_count
from lightviz.zoo.shufflenet_v1 import GROUPS as SHUFFLENET_V1_GROUPS

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
TIMEOUT = 60  # seconds per AppTest run: generous, the machine is shared
N_URLS = int(os.environ.get("LIGHTVIZ_FUZZ_URLS", "500"))  # more for a soak run, never fewer in CI

# url path -> what the page is; "" is the default page, an unknown path shows the default page
PAGES = ("", "explore", "compare", "paper", "diagrams", "latency", "no-such-page")
A_NAMES = PARAMS + ("resolution",)
B_NAMES = ("b_arch", "b_alpha", "b_rho", "b_groups", "b_resolution")
OTHER_NAMES = ("block", "b_classes", "b_unit", "b_elementwise", "page", "embed",
               "embed_options", "explore_tab", "latency_budget", "", "ALPHA", "alpha ", "\u03b1",
               "__proto__", "arch[]", "x" * 300)

NASTY_NUMBERS = [
    "nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e308", "-1e308", "1e309", "1e-320", "0",
    "-0", "-1", "-0.5", "0x10", "1_000", "  0.5 ", "", " ", "\u0663", "\u00bd", "1e", "--", "+1",
    "9" * 400, "1" * 5000, "0.2499999", "2.0000001", "0.33", "0.3", "0.5000000000001", "31.5",
    "512.4", "512.6", "1/2", "None", "null", "true", "[]", "{}", "0,5", "1.", ".5", "5e-1",
    "\uff10.\uff15", "0.5\x00", "0.5\n", "2", "0.25", "8", "3", "5", "1000", "100000", "100001",
]
NASTY_TEXT = [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "**bold** `code` $x$",
    "'; DROP TABLE x; --", "../../etc/passwd", "/etc/passwd", "%00", "%zz", "\x00", "\r\n",
    "\u202eevil", "\U0001f600", "e\u0301", "r\u00e9snet50", "\u0440esnet50", "ResNet-50",
    "MOBILENET_V2", "mobilenetv2", "shufflenet v1", "ghostnet ", "__import__('os')",
    "{{7*7}}", "${7*7}", "a" * 10_000, "\u00e9" * 3000, "stage2.0", "conv2_x.0", "stem", "head",
    "stage2.0.conv_dw", "macs", "flops", "FLOPs", "yes", "off", "maybe", "1", "0",
]
VALID = {
    "arch": list(ARCHS),
    "alpha": [f"{a:g}" for a in ALPHA_STOPS[::5]],
    "rho": [f"{r:g}" for r in RHO_STOPS[::6]],
    "resolution": ["32", "96", "128", "160", "224", "320", "512"],
    "groups": [str(g) for g in SHUFFLENET_V1_GROUPS],
    "classes": ["1", "10", "100", "1000", "100000"],
    "unit": ["macs", "flops"],
    "elementwise": ["0", "1", ""],
}

value_text = hs.one_of(
    hs.sampled_from(NASTY_NUMBERS),
    hs.sampled_from(NASTY_TEXT),
    hs.floats(allow_nan=True, allow_infinity=True).map(repr),
    hs.floats(min_value=-1, max_value=3, allow_nan=False).map(lambda x: f"{x:.4g}"),
    hs.integers(min_value=-10**40, max_value=10**40).map(str),
    hs.text(max_size=24),
)


def _values_for(name: str):
    base = name[2:] if name.startswith("b_") else name
    valid = VALID.get(base)
    one = hs.one_of(hs.sampled_from(valid), value_text) if valid else value_text
    # mostly one value; sometimes the key repeated (?alpha=0.5&alpha=x)
    return hs.lists(one, min_size=1, max_size=3)


@hs.composite
def urls(draw):
    """(page, query) with query = name -> every value given, as a browser would send it."""
    page = draw(hs.sampled_from(PAGES))
    names = draw(hs.lists(hs.sampled_from(A_NAMES + B_NAMES + OTHER_NAMES), max_size=7,
                          unique=True))
    if draw(hs.booleans()):
        names += draw(hs.lists(hs.text(max_size=12), max_size=2, unique=True))
    query: dict[str, list[str]] = {}
    for name in names:
        if name in query:
            continue
        query[name] = draw(_values_for(name))
    return page, query


@pytest.fixture(scope="module", autouse=True)
def scan_components_once():
    """Every new AppTest scans the metadata of every installed distribution for Streamlit
    components (``BidiComponentManager.discover_and_register_components``): here, with about
    130 distributions, 0.36 s of a 0.4 s run, against 0.03 s for the app's script itself. The
    app uses no custom component, so the scan is made once and its answer reused."""
    from streamlit.components.v2 import manifest_scanner

    found = manifest_scanner.scan_component_manifests()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(manifest_scanner, "scan_component_manifests", lambda *a, **k: list(found))
        yield


# ----------------------------------------------------------------------------- the oracle

def _plain_float(raw: str) -> float | None:
    """``raw`` as a number the way a URL may write one (ASCII, no underscores), else None."""
    if not raw.isascii() or "_" in raw:
        return None
    try:
        x = float(raw)
    except (ValueError, OverflowError):
        return None
    return x if math.isfinite(x) else None


def _same_number(raw: str, used: float) -> bool:
    x = _plain_float(raw)
    return x is not None and abs(x - used) <= 1e-9


TRUE_WORDS, FALSE_WORDS = {"1", "true", "yes", "on", ""}, {"0", "false", "no", "off"}


def replaced(query: dict[str, list[str]], state, prefix: str = "") -> list[str]:
    """The parameters whose value the app could not use as given, judged from the URL and the
    configuration the page ended with (not from the app's own notices)."""
    out = []

    def given(name):
        return query.get(prefix + name)

    for name in ("arch", "alpha", "rho", "resolution", "groups", "classes", "unit", "elementwise"):
        values = given(name)
        if not values:
            continue
        if prefix and name in ("classes", "unit", "elementwise"):
            continue  # B's classes and counting options follow A's: not part of B's state
        raw = values[-1]
        if len(values) > 1:
            bad = True
        elif name == "arch":
            bad = raw != state.arch
        elif name == "alpha":
            bad = not _same_number(raw, state.alpha)
        elif name == "rho":
            bad = not _same_number(raw, state.rho)
        elif name == "resolution":
            bad = bool(given("rho")) or not _same_number(raw, state.resolution)
        elif name == "groups":
            bad = state.groups is None or not _same_number(raw, state.groups)
        elif name == "classes":
            bad = not _same_number(raw, state.classes)
        elif name == "unit":
            bad = raw.strip().lower() != state.unit
        else:
            word = raw.strip().lower()
            meaning = True if word in TRUE_WORDS else False if word in FALSE_WORDS else None
            bad = meaning is not state.elementwise
        if bad:
            out.append(prefix + name)
    return out


def widget_state(at: AppTest, prefix: str = ""):
    """The configuration the widgets hold, checked to be on the sliders' grids."""
    from lightviz.state import AppState

    arch = at.selectbox(key=prefix + "arch").value
    assert arch in ARCHS, arch
    alpha = at.slider(key=prefix + "alpha").value
    assert alpha in ALPHA_STOPS, alpha
    rho = at.select_slider(key=prefix + "rho").value
    assert rho in RHO_STOPS, rho
    groups = None
    if arch == "shufflenet_v1":
        groups = next(b for b in at.get("button_group") if b.key == prefix + "groups").value
        assert groups in SHUFFLENET_V1_GROUPS, groups
    if prefix:
        return AppState(arch, alpha, rho, groups)
    classes = at.number_input(key="classes").value
    assert CLASSES_MIN <= classes <= CLASSES_MAX and classes == int(classes)
    unit = at.radio(key="unit").value
    elementwise = at.toggle(key="elementwise").value
    assert unit in ("macs", "flops") and elementwise in (True, False)
    return AppState(arch, alpha, rho, groups, int(classes), unit, bool(elementwise))


def run_url(page: str, query: dict[str, list[str]]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for name, values in query.items():
        at.query_params[name] = values if len(values) > 1 else values[0]
    if page:
        # st.Page(callable, url_path=...) is identified by the hash of its url path
        at._page_hash = calc_hash(page)
    return at.run()


def check_page(page: str, query: dict[str, list[str]], at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    warnings = [w.value for w in at.warning]
    top = next((w for w in warnings if w.startswith("Some values in the link")), "")

    state = widget_state(at)
    cfg = state.config()  # valid
    kind = page if page in PAGES[1:-1] else "explore"
    event(f"page: {kind}")
    event(f"values replaced: {min(len(replaced(query, state)), 3)}{'+' if len(replaced(query, state)) >= 3 else ''}")
    for name in replaced(query, state):
        lines = [ln for ln in top.splitlines() if name in ln]
        assert lines, f"{name}={query[name]!r} became {state} without a notice: {warnings}"
    assert len(top) < 4000, "long values are shortened in the notice"

    # the URL now holds exactly this configuration: reopening it gives no notice
    final = {k: [str(v)] for k, v in at.query_params.items() if k in A_NAMES}
    again, notes = parse_query(final)
    assert again == state and not notes, (final, notes)

    if kind == "explore":
        assert ARCH_LABELS[cfg.arch] in at.header[0].value
        prof = count(cfg, elementwise=state.elementwise)
        exact = next(c.value for c in at.caption if " params \u00b7 " in c.value)
        assert f"**{prof.params:,}** params" in exact and f"**{prof.macs:,}** MACs" in exact
        assert f"**{prof.flops:,}** FLOPs" in exact
    elif kind == "compare":
        b = widget_state(at, "b_")
        b_cfg = make_config(b.arch, b.alpha, b.rho, groups=b.groups, classes=cfg.classes)
        b_notes = "\n".join(w for w in warnings if w.startswith("b_"))
        for name in replaced(query, b, "b_"):
            assert name in b_notes, f"{name}={query[name]!r} became {b} without a notice"
        shown = {m.label: m.value for m in at.metric}
        assert shown["Params of B"] == fmt_count(count(b_cfg).params)
        assert at.query_params["b_arch"] == b.arch
    elif kind == "paper":
        assert at.dataframe
    elif kind == "diagrams":
        blocks = set(count(cfg).layers["block"])
        shown = at.query_params["block"]
        assert shown in blocks
        asked = (query.get("block") or [None])[-1]
        if asked is not None and asked != shown:
            assert any(w.startswith("block ") for w in warnings), (asked, shown, warnings)
    elif kind == "latency":
        assert at.header[0].value == "Latency"
        assert not at.button(key="latency_measure").disabled


@settings(max_examples=N_URLS, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.filter_too_much])
@given(urls())
def test_any_url_gives_a_valid_page(url):
    page, query = url
    check_page(page, query, run_url(page, query))


# The Diagrams page replaces an unknown ``block`` (a block of another architecture, a typo)
# with its default block, and says so.
@pytest.mark.parametrize("query", [{"block": "nonsense"},
                                   {"arch": "resnet18", "block": "stage3.1"}])
def test_unknown_block_gives_a_notice(query):
    at = run_url("diagrams", {k: [v] for k, v in query.items()})
    assert not at.exception and not at.error
    assert at.query_params["block"] != query["block"]
    assert any("block" in w.value for w in at.warning), "no notice for the replaced block"


# Compare seeds B with A's rho on the slider's grid (160 px is 0.714285..., the stop 0.7143),
# so B's notices survive: ?resolution=160&b_alpha=nan says that b_alpha was replaced.
@pytest.mark.parametrize("query", [{"resolution": ["160"], "b_alpha": ["nan"]},
                                   {"rho": ["0.1429"], "b_groups": ["1"]}])
def test_compare_b_notices_when_a_is_off_the_rho_grid(query):
    at = run_url("compare", query)
    assert not at.exception and not at.error
    name = next(k for k in query if k.startswith("b_"))
    assert any(w.value.startswith(name) for w in at.warning), [w.value for w in at.warning]


# ----------------------------------------------------------------------------- lightviz bench

BENCH_VALID = {
    "--device": ["cpu", "cuda", "cuda:0", "cuda:-1", "cuda:99", "mps", "gpu", "CPU", "cpu:0"],
    "--dtype": ["fp32", "fp16", "bf16", "int8", "FP16", "float16", "half"],
    "--batch": ["1", "8", "1024", "1025", "0", "2.5"],
    "--threads": ["1", "2", "0", "999", ""],
    "--mode": ["eager", "cudagraph", "graph", "EAGER"],
    "--budget": ["0.05", "0.2", "600", "601", "0.01"],
    "--lock-timeout": ["1", "600", "0", "-1"],
    "--energy": ["30", "0", "-5"],
    "--alpha": VALID["alpha"], "--rho": VALID["rho"], "--resolution": VALID["resolution"],
    "--groups": VALID["groups"], "--classes": VALID["classes"],
    "--format": ["json", "table", "xml"],
    "--bogus": ["1"],
}
BENCH_FLAGS = ["--channels-last", "--layers", "--samples"]
bench_values = hs.one_of(hs.sampled_from(NASTY_NUMBERS), hs.sampled_from(NASTY_TEXT[:20]),
                         hs.text(max_size=16))
bench_option = hs.sampled_from(sorted(BENCH_VALID)).flatmap(
    lambda flag: hs.tuples(hs.just(flag), hs.one_of(hs.sampled_from(BENCH_VALID[flag]),
                                                    hs.sampled_from(BENCH_VALID[flag]),
                                                    bench_values)))


def _bench_argv(arch, opts, flags):
    argv = ["bench", arch]
    for flag, value in opts:
        argv += [flag, value]
    argv += flags
    # A measurement is not what this test is about: make every list invalid in at least one
    # value the CLI checks before measuring, so nothing is timed (each case takes ~1 ms).
    return argv + ["--budget", "0"]


@settings(max_examples=500, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(arch=hs.one_of(hs.sampled_from(ARCHS), hs.sampled_from(ARCHS), hs.sampled_from(ARCHS),
                     hs.sampled_from(NASTY_TEXT[:20]), hs.text(max_size=12)),
       opts=hs.lists(bench_option, max_size=6),
       flags=hs.lists(hs.sampled_from(BENCH_FLAGS), max_size=2, unique=True))
def test_bench_arguments_never_crash(arch, opts, flags):
    code, out, err = run_cli(_bench_argv(arch, opts, flags))
    assert code == 2, (code, err)
    assert out == ""
    assert err.startswith("lightviz: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(lock_timeout=bench_values, energy=hs.one_of(hs.none(), bench_values))
def test_bench_timeouts_and_energy_never_crash(lock_timeout, energy):
    """The values checked after the setup (``--lock-timeout``, ``--energy``): a valid setup for
    a configuration that no host can hold (ResNet-50 2x at 512 px, batch 1024), so every case
    stops with one line and status 2 before anything is built: a bad value, no power rails
    (energy off a Jetson) or the memory refusal."""
    argv = ["bench", "resnet50", "--alpha", "2", "--resolution", "512", "--batch", "1024",
            "--threads", "1", "--budget", "0.05", "--lock-timeout", lock_timeout]
    if energy is not None:
        argv += ["--energy", energy]
    code, out, err = run_cli(argv)
    assert code == 2, (code, err)
    assert out == "" and err.startswith("lightviz: error: ") and err.count("\n") == 1, err
