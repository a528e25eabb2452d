"""Hostile tables (issue 12): 500 generated ``--settings`` values at the command line and 500
``settings=`` values in the address bar, plus hostile cells in the Design page's editor.

At the command line every case ends in a result (exit 0) or one line and exit 2; in the app in a
notice (link) or the error box beside the table (editor), and the paper's table or the last
valid one; never an exception. The cases are seeded mutations of each family's table of the
paper: wrong types (text, null, booleans, lists, objects), out-of-range and non-finite numbers
(NaN, Infinity, 1e308, 10^30), fractional counts, rows of the wrong length, too many rows or
blocks, total strides over 32, widths that overflow the parameter cap, unknown keys, a
non-object table, 100 000 nested brackets, integers of 5000 digits and texts over the size
limit; in the link also bad base64, unknown versions and non-UTF-8 bytes.
"""

from __future__ import annotations

import base64
import json
import math
import random

import pytest
from cli_support import run_cli
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash
from test_fuzz_app import APP, TIMEOUT, scan_components_once  # noqa: F401  (fixture)

import lightviz
from lightviz.configure import make_config
from lightviz.state import parse_query
from lightviz.views.design import editor_key
from lightviz.zoo import REGISTRY
from lightviz.zoo.table import encode_url

N_CASES = 500
ARCHS = list(REGISTRY.builtin)
HOSTILE = [None, True, False, "6", "", "x" * 1000, "\u0663", -1, 0, 0.5, 1.5, 3, 4, 7, 4097,
           10**30, -10**30, 1e308, -1e308, math.nan, math.inf, -math.inf, [], {}, [[]],
           [1, 2], {"t": 6}, "NaN", 2**63, 1e-320, 65, 4096]


def _leaves(value, path=()):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, path + (i,))
    else:
        yield path


def _set(table, path, value):
    node = table
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value


def _lists(value, path=()):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _lists(v, path + (k,))
    elif isinstance(value, list):
        yield path
        for i, v in enumerate(value):
            yield from _lists(v, path + (i,))


def _get(table, path):
    for p in path:
        table = table[p]
    return table


def hostile_case(rng: random.Random):
    """(arch, groups, alpha, settings text) of one generated case."""
    arch = rng.choice(ARCHS)
    groups = rng.choice((1, 2, 3, 4, 8)) if arch == "shufflenet_v1" else None
    alpha = rng.choice((0.25, 0.5, 1.0, 1.0, 1.0, 2.0))
    cfg = make_config(arch, alpha, groups=groups)
    table = json.loads(json.dumps(REGISTRY[arch].table.default(cfg)))
    kind = rng.randrange(12)
    if kind == 0:  # not an object, or not JSON
        return arch, groups, alpha, rng.choice(
            ['[1, 2]', '6', '"layers"', 'null', 'true', '{', '{"layers": [1,]}', '{} {}',
             '\ufeff{}', '{"layers": NaN}', "{'layers': []}", '{"a": 1'])
    if kind == 1:  # resource attacks
        return arch, groups, alpha, rng.choice([
            '{"layers": ' + "[" * 100_000 + "]" * 100_000 + "}",
            '{"layers": [[' + "9" * 5000 + ', 1]]}',
            '{"layers": [' + ",".join(["[6, 4096, 64, 1]"] * 3000) + "]}",
            '{"layers": "' + "a" * 70_000 + '"}'])
    mutations = rng.randint(1, 3)
    for _ in range(mutations):
        what = rng.randrange(8)
        leaves = list(_leaves(table))
        lists = [p for p in _lists(table) if p]
        if what <= 2 and leaves:  # one cell becomes hostile
            _set(table, rng.choice(leaves), rng.choice(HOSTILE))
        elif what == 3 and lists:  # a list grows a lot (blocks, rows)
            p = rng.choice(lists)
            node = _get(table, p)
            if node:
                node.extend([node[-1]] * rng.choice((1, 10, 70)))
        elif what == 4 and lists:  # a row too short, too long, or empty
            p = rng.choice(lists)
            node = _get(table, p)
            rng.choice((lambda n: n.clear(), lambda n: n.append(1), lambda n: n and n.pop()))(node)
        elif what == 5:  # unknown key
            table[rng.choice(("Layers", "layers ", "stem2", "__proto__", "widths"))] = [1]
        elif what == 6 and leaves:  # every stride 2, every width at the top
            for path in leaves:
                if rng.random() < 0.5:
                    _set(table, path, rng.choice((2, 4096)))
        elif what == 7 and lists:  # a whole row replaced
            _set(table, rng.choice(lists), rng.choice(HOSTILE))
    return arch, groups, alpha, json.dumps(table)


def _cases():
    rng = random.Random(12)
    return [hostile_case(rng) for _ in range(N_CASES)]


CASES = _cases()


def test_the_cases_are_hostile_enough():
    """Most cases are refused, some still build (a mutation can leave a valid table)."""
    refused = 0
    for arch, groups, alpha, text in CASES:
        try:
            make_config(arch, alpha, groups=groups, settings=json.loads(text))
        except (ValueError, RecursionError):
            refused += 1
    assert 0.6 * N_CASES < refused < N_CASES


def test_cli_500_hostile_tables_one_line_and_exit_2():
    outcomes = {0: 0, 2: 0}
    for i, (arch, groups, alpha, text) in enumerate(CASES):
        cmd = ("profile", "diagram")[i % 2]
        argv = [cmd, arch, "--alpha", str(alpha), "--settings", text]
        if cmd == "profile":
            argv += ["--format", "json"]
        if groups is not None:
            argv += ["--groups", str(groups)]
        code, out, err = run_cli(argv)
        assert code in (0, 2), (argv[:2], text[:200], code, err[-500:])
        outcomes[code] += 1
        if code == 0:
            assert out and not err
        else:
            assert err.startswith("lightviz: error: ") and err.count("\n") == 1, err[:300]
            assert "Traceback" not in err and len(err) < 600
    assert outcomes[0] and outcomes[2]


def test_bench_refuses_hostile_tables_before_measuring():
    """bench checks the table through the same door (only refused tables here: a valid one
    would start a measurement)."""
    seen = 0
    for arch, groups, alpha, text in CASES[:120]:
        try:
            make_config(arch, alpha, groups=groups, settings=json.loads(text))
            continue
        except (ValueError, RecursionError):
            pass
        argv = ["bench", arch, "--alpha", str(alpha), "--settings", text]
        argv += ["--groups", str(groups)] if groups is not None else []
        code, out, err = run_cli(argv)
        assert code == 2 and err.startswith("lightviz: error: ") and err.count("\n") == 1, err
        seen += 1
    assert seen > 50


def _url_values(rng):
    """500 ``settings=`` values: the hostile tables in the link's own form, and broken forms."""
    out = []
    for arch, groups, alpha, text in CASES:
        body = base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
        form = rng.randrange(10)
        if form == 0:
            body = body[: rng.randrange(len(body) + 1)] + rng.choice(("!", "%", "=", "\u00e9", " "))
        elif form == 1:
            body = base64.urlsafe_b64encode(b"\xff\xfe" + text.encode()[:50]).decode()
        prefix = rng.choice(("v1.", "v1.", "v1.", "v1.", "v2.", "", "V1.", "v1"))
        out.append((arch, groups, alpha, prefix + body))
    return out


URLS = _url_values(random.Random(13))


def test_url_500_hostile_tables_give_a_notice_and_the_papers_table():
    for arch, groups, alpha, raw in URLS:
        query = {"arch": [arch], "alpha": [f"{alpha:g}"], "settings": [raw]}
        if groups is not None:
            query["groups"] = [str(groups)]
        state, notices = parse_query(query)
        cfg = state.config()  # always valid
        names = [n.param for n in notices]
        if state.settings is None:
            assert names == ["settings"] or _canonical(raw, cfg), (raw[:80], notices)
        else:  # accepted: the link written back is the same table
            assert not notices and state.to_query()["settings"] == encode_url(state.settings, cfg)
        for n in notices:
            assert "\n" not in n.message and len(n.message) < 600


def _canonical(raw, cfg):
    """Whether ``raw`` is a valid link whose table equals the paper's (stored as None)."""
    from lightviz.zoo.table import decode_url

    try:
        return make_config(cfg.arch, cfg.alpha, groups=cfg.groups,
                           settings=decode_url(raw)).settings is None
    except (ValueError, RecursionError):
        return False


@pytest.mark.parametrize("chunk", range(5))
def test_url_hostile_tables_in_the_app_never_raise(chunk):
    """The same 500 links opened in the app (Design page), 100 per chunk."""
    for arch, groups, alpha, raw in URLS[chunk::5]:
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        at.query_params["arch"] = arch
        at.query_params["alpha"] = f"{alpha:g}"
        at.query_params["settings"] = raw
        if groups is not None:
            at.query_params["groups"] = str(groups)
        at._page_hash = calc_hash("design")
        at.run()
        assert not at.exception, (raw[:80], [e.message for e in at.exception])
        assert not at.error, (raw[:80], [e.value for e in at.error])
        custom = "settings" in at.query_params
        assert custom or any("settings" in w.value for w in at.warning) or _canonical(
            raw, make_config(arch, alpha, groups=groups)), raw[:80]


CELLS = [None, "", "x", -1, 0, 0.5, 3, 1e308, -1e308, 10**20, 4097, 65, 2, 1, 4096, 64]


def test_hostile_cells_in_the_editor_give_the_error_box_never_an_exception():
    rng = random.Random(14)
    for i in range(60):
        arch = ARCHS[i % len(ARCHS)]
        table = REGISTRY[arch].table
        groups = REGISTRY[arch].pick("groups")
        cols = [c.name for c in table.columns if c.kind != "text"]
        rows = len(table.rows(table.default(make_config(arch, groups=groups)))[0])
        edits = {rng.randrange(rows): {rng.choice(cols): rng.choice(CELLS)}
                 for _ in range(rng.randint(1, 3))}
        state = {"edited_rows": edits, "deleted_rows": [], "added_rows": []}
        if table.dynamic and rng.random() < 0.3:
            state["added_rows"] = [{c: rng.choice(CELLS) for c in cols}]
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        at.query_params["arch"] = arch
        at._page_hash = calc_hash("design")
        at.run()
        at.session_state[editor_key(arch, groups)] = state
        at.run()
        assert not at.exception, (arch, state, [e.message for e in at.exception])
        assert len(at.error) <= 1
        if at.error:
            assert at.error[0].value.startswith("The edited table cannot be built")
        p = lightviz.count(make_config(arch, groups=groups, settings=at.session_state["settings"])
                           if at.session_state["settings"] is not None else
                           make_config(arch, groups=groups))
        assert p.macs > 0
