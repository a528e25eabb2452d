"""The app's state: URL query parameters <-> widget values <-> :class:`~lightviz.config.Config`.

The query parameters are named like the CLI's options and take the same values (``arch`` with the
zoo's names, ``alpha``, ``rho`` or ``resolution``, ``groups``, ``classes``, ``settings``: the
edited table, written compactly as ``v1.<base64url JSON>`` by :func:`lightviz.zoo.table.encode_url`)
plus the counting options (``unit`` = ``macs`` | ``flops``, ``elementwise`` = ``0`` | ``1``). The
widget keys are the same names, so tests and links drive the same thing.

Every value goes through :func:`lightviz.make_config`, the one place where input is checked. A
value that it rejects, or that is not on a slider's grid, is replaced by the nearest valid value
(a number out of range is clamped, an off-grid number snaps to the nearest stop) or, where there
is no nearest value (NaN, text, an unknown architecture), by the default; each replacement gives a
:class:`Notice` that the app shows. :func:`parse_query` and :meth:`AppState.to_query` are plain
functions; :func:`sidebar` is the Streamlit part.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import (
    asdict,
    dataclass,
    replace,  # noqa: I001  (kept apart: a separate line merges cleanly)
)

from .config import (
    ALPHA_MAX,
    ALPHA_MIN,
    BASE_RESOLUTION,
    CLASSES_MAX,
    CLASSES_MIN,
    DEFAULT_PRECISION,
    PRECISIONS,
    Config,
    parse_precision,
)
from .configure import ARCH_LIST_HINT, make_config
from .tradeoff import ALPHA_STEP, ALPHA_STOPS, RESOLUTION_STOPS
from .zoo import REGISTRY, ArchField
from .zoo.table import decode_url, encode_url

# Zoo name -> display name ("ResNet-50"), read from each Arch (plugins included).
ARCH_LABELS = ArchField("label")

DEFAULT_ARCH = "mobilenet_v2"
# The sliders' stops (α 0.25, 0.30, ... 2.00; input sides 32, 40, ... 512 px) are the Pareto
# grid's too: one definition, in lightviz.tradeoff. rho is kept to 4 decimals so that
# round(224 * rho) gives the side back exactly.
RHO_STOPS = tuple(round(r / BASE_RESOLUTION, 4) for r in RESOLUTION_STOPS)
UNITS = ("macs", "flops")
UNIT_LABELS = {"macs": "MACs", "flops": "FLOPs"}
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")

# The query parameters (and widget keys) this module owns, in URL order.
PARAMS = ("arch", "alpha", "rho", "groups", "classes", "settings", "unit", "elementwise", "dtype")


@dataclass(frozen=True)
class Notice:
    """One value in the URL that was replaced: which parameter, what it said, why, and what the
    app uses instead."""

    param: str
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class AppState:
    """The sidebar's values: always valid (a Config can be made from them)."""

    arch: str = DEFAULT_ARCH
    alpha: float = 1.0
    rho: float = 1.0
    groups: int | None = None  # a variant: only for the archs that declare it
    classes: int = 1000
    unit: str = "macs"
    elementwise: bool = False
    settings: tuple | None = None  # the edited table (Config.settings); None = the paper's
    dtype: str = DEFAULT_PRECISION  # the precision deployed: bytes, memory, latency, top-1

    @property
    def resolution(self) -> int:
        return round(BASE_RESOLUTION * self.rho)

    def config(self) -> Config:
        return make_config(self.arch, self.alpha, self.rho, groups=self.groups,
                           classes=self.classes, settings=self.settings)

    def to_query(self) -> dict[str, str]:
        """The query parameters of this state (options at their default are left out)."""
        q = {"arch": self.arch, "alpha": _num(self.alpha), "rho": _num(self.rho)}
        if self.groups is not None:
            q["groups"] = str(self.groups)
        if self.classes != 1000:
            q["classes"] = str(self.classes)
        if self.settings is not None:
            q["settings"] = encode_url(self.settings, self.config())
        if self.unit != "macs":
            q["unit"] = self.unit
        if self.elementwise:
            q["elementwise"] = "1"
        if self.dtype != DEFAULT_PRECISION:
            q["dtype"] = self.dtype
        return q

    def widget_values(self) -> dict[str, object]:
        values = asdict(self)
        if values["groups"] is None:
            values.pop("groups")
        return values


def _num(x: float) -> str:
    return f"{x:g}"


def show_value(raw: str, limit: int = 40) -> str:
    """``raw`` quoted for a message, shortened when long."""
    text = raw if len(raw) <= limit else raw[: limit - 1] + "\u2026"
    return repr(text)


def _plain(raw: str) -> bool:
    """ASCII without underscores: Python's float() would read '1_0' as 10 and Arabic-Indic
    digits as numbers, which a URL should not rely on."""
    return raw.isascii() and "_" not in raw


_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _float(raw: str) -> float | None:
    try:
        return float(raw)
    except (TypeError, ValueError, OverflowError):
        return None


def _check(**kwargs) -> str | None:
    """make_config's message for these values, or None if they are valid."""
    arch = kwargs.pop("arch", DEFAULT_ARCH)
    try:
        make_config(arch, **kwargs)
    except ValueError as exc:
        return str(exc)
    return None


class IntRange:
    """Every whole number from ``lo`` to ``hi``: the stops of an integer parameter."""

    def __init__(self, lo: int, hi: int):
        self.lo, self.hi = lo, hi


def nearest(value: float, stops) -> float:
    """The stop closest to ``value`` (the lower one on a tie); ``stops`` is a sequence or an
    :class:`IntRange`."""
    if isinstance(stops, IntRange):
        return float(min(max(math.ceil(value - 0.5), stops.lo), stops.hi))
    value = min(max(value, min(stops)), max(stops))  # clamp first: 1e308 is nearest the top
    return min(stops, key=lambda s: (abs(s - value), s))


def _number_param(name: str, raw: str, default: float, stops, check, describe
                  ) -> tuple[float, str | None]:
    """A number from the URL, checked by make_config (``check(raw)`` gives its message or None).

    Not a finite number (nan, inf) -> the default. Rejected by make_config (out of range, not
    whole, not an allowed group count) -> the nearest allowed stop; so is a decimal too long for
    a float (``?rho=999...`` with hundreds of digits, which ``float`` reads as inf: it is a
    number, only out of range). Accepted but off the slider's grid -> the nearest stop. Returns
    the value and the notice text (None when ``raw`` was used as is)."""
    if not _plain(raw):
        return default, (f"{name} {show_value(raw)} is not a plain number (ASCII digits only): "
                         f"using the default, {describe(default)}")
    problem = _shorten(check(raw), raw)
    value = _float(raw)
    if value is not None and math.isinf(value) and _DECIMAL.fullmatch(raw.strip()):
        value = math.copysign(sys.float_info.max, value)  # clamped below to the nearest end
        lo, hi = ((stops.lo, stops.hi) if isinstance(stops, IntRange) else (min(stops), max(stops)))
        problem = (f"{name} {show_value(raw)} is out of range: allowed {describe(lo)} to "
                   f"{describe(hi)}")
    if value is None or not math.isfinite(value):
        problem = problem or f"{name} must be a finite number, got {show_value(raw)}"
        return default, f"{problem}: using the default, {describe(default)}"
    snapped = nearest(value, stops)
    if problem:
        return snapped, f"{problem}: using the nearest allowed value, {describe(snapped)}"
    if not math.isclose(snapped, value, rel_tol=0, abs_tol=1e-9):
        return snapped, (f"{name} {show_value(raw)} falls between the slider's steps: "
                         f"using the nearest, {describe(snapped)}")
    return snapped, None


def _describe_rho(rho: float) -> str:
    return f"{rho:g} ({round(BASE_RESOLUTION * rho)} px)"


def _shorten(message: str | None, raw: str) -> str | None:
    """make_config's message with a long raw value shortened (a URL can carry kilobytes)."""
    return message.replace(repr(raw), show_value(raw)) if message else message


def _arch_param(raw: str, default: str) -> tuple[str, str | None]:
    problem = _shorten(_check(arch=raw), raw)
    if problem is None:
        return raw, None
    if raw.isascii():  # "ResNet-50", "mobilenetv2": the nearest valid value is obvious
        squeezed = "".join(ch for ch in raw.lower() if ch.isalnum())
        for arch in REGISTRY:
            if squeezed and squeezed == arch.replace("_", ""):
                return arch, f"arch {show_value(raw)} read as {arch}"
    problem = problem.replace(ARCH_LIST_HINT, "")  # the menu lists them on the page
    return default, f"{problem}: using the default, {default}"


def _last(params: Mapping[str, Sequence[str]], name: str, notices: list[Notice]) -> str | None:
    values = list(params.get(name) or ())
    if not values:
        return None
    if len(values) > 1:
        notices.append(Notice(name, f"{name} was given {len(values)} times: using the last one, "
                                    f"{show_value(values[-1])}"))
    return values[-1]


class _Query:
    """The query parameters read one name at a time (each with ``prefix``), with the notices."""

    def __init__(self, params: Mapping[str, Sequence[str]], prefix: str):
        self.params, self.prefix = params, prefix
        self.notices: list[Notice] = []

    def get(self, name: str) -> str | None:
        """The last value given for ``name``, or None."""
        return _last(self.params, self.prefix + name, self.notices)

    def note(self, name: str, text: str | None) -> None:
        """A notice about ``name`` when there is ``text``."""
        if text:
            # with a prefix, say which parameter of the URL it was: "b_alpha: alpha must be ..."
            prefix = self.prefix
            self.notices.append(Notice(prefix + name, f"{prefix}{name}: {text}" if prefix else text))


def _read_arch(q: _Query, default: str) -> str:
    """The architecture from ``arch``."""
    raw = q.get("arch")
    arch, text = (default, None) if raw is None else _arch_param(raw, default)
    q.note("arch", text)
    return arch


def _read_alpha(q: _Query, default: float) -> float:
    """The width multiplier from ``alpha``."""
    alpha, raw = default, q.get("alpha")
    if raw is not None:
        alpha, text = _number_param("alpha", raw, default, ALPHA_STOPS,
                                    lambda r: _check(alpha=r), _num)
        q.note("alpha", text)
    return alpha


def _read_rho(q: _Query, defaults: AppState) -> float:
    """The resolution multiplier from ``rho``, else from ``resolution`` (in px)."""
    rho, raw, raw_res = defaults.rho, q.get("rho"), q.get("resolution")
    if raw is not None:
        if raw_res is not None:
            q.note("resolution", f"both rho and resolution were given: using rho and ignoring "
                                 f"resolution {show_value(raw_res)}")
        rho, text = _number_param("rho", raw, defaults.rho, RHO_STOPS,
                                  lambda r: _check(rho=r), _describe_rho)
        q.note("rho", text)
    elif raw_res is not None:
        res, text = _number_param("resolution", raw_res, defaults.resolution, RESOLUTION_STOPS,
                                  lambda r: _check(resolution=r), lambda v: f"{v:g} px")
        q.note("resolution", text)
        rho = RHO_STOPS[RESOLUTION_STOPS.index(int(res))]
    return rho


def _read_groups(q: _Query, arch: str, default: int | None) -> int | None:
    """The group count from ``groups``, for the archs that declare it (None for the others)."""
    groups, raw = None, q.get("groups")
    variant = REGISTRY[arch].variant("groups")
    if variant is not None:
        groups = REGISTRY[arch].pick("groups", default)
        if raw is not None:
            value, text = _number_param("groups", raw, groups, variant.values,
                                        lambda r: _check(arch=arch, groups=r), lambda v: f"{v:g}")
            groups = int(value)
            q.note("groups", text)
    elif raw is not None:
        q.note("groups", f"{_check(arch=arch, groups=raw)}: ignoring groups={show_value(raw)}")
    return groups


def _read_classes(q: _Query, default: int) -> int:
    """The number of classes from ``classes``."""
    classes, raw = default, q.get("classes")
    if raw is not None:
        value, text = _number_param("classes", raw, default,
                                    IntRange(CLASSES_MIN, CLASSES_MAX),
                                    lambda r: _check(classes=r), lambda v: f"{v:g}")
        classes = int(value)
        q.note("classes", text)
    return classes


def _read_unit(q: _Query, default: str) -> str:
    """The counting unit from ``unit`` (macs or flops)."""
    unit, raw = default, q.get("unit")
    if raw is not None:
        if raw.strip().lower() in UNITS:
            unit = raw.strip().lower()
        else:
            q.note("unit", f"unit {show_value(raw)} is not one of {', '.join(UNITS)}: using {unit}")
    return unit


def _read_elementwise(q: _Query, default: bool) -> bool:
    """Whether elementwise ops are counted, from ``elementwise`` (a bare ``?elementwise`` is on)."""
    elementwise, raw = default, q.get("elementwise")
    if raw is not None:
        word = raw.strip().lower()
        if word in TRUE_WORDS or word == "":  # a bare ?elementwise switches it on
            elementwise = True
        elif word in FALSE_WORDS:
            elementwise = False
        else:
            q.note("elementwise", f"elementwise {show_value(raw)} is not 1 or 0: using "
                                  f"{int(elementwise)}")
    return elementwise


def _read_dtype(q: _Query, default: str) -> str:
    """The deployed precision from ``dtype`` (fp32, fp16, int8)."""
    dtype, raw = default, q.get("dtype")
    if raw is not None:
        try:
            dtype = parse_precision(raw)
        except ValueError:
            q.note("dtype", f"dtype {show_value(raw)} is not one of {', '.join(PRECISIONS)}: "
                            f"using {dtype}")
    return dtype


def _read_settings(q: _Query, arch: str, alpha: float, rho: float, groups: int | None,
                   classes: int) -> tuple | None:
    """The edited table from ``settings``, checked against the rest of the configuration."""
    settings, raw = None, q.get("settings")
    if raw is not None and raw != "":
        try:
            settings = make_config(arch, alpha, rho, groups=groups, classes=classes,
                                   settings=decode_url(raw)).settings
        except ValueError as exc:
            q.note("settings", f"{_shorten(str(exc), raw)}: using the paper's table")
    return settings


def parse_query(params: Mapping[str, Sequence[str]], prefix: str = "",
                defaults: AppState = AppState()) -> tuple[AppState, list[Notice]]:
    """A valid :class:`AppState` from query parameters (``name -> every value given``) and a
    notice for each value that was replaced. Only the names in :data:`PARAMS` (and
    ``resolution``, the CLI's alternative to ``rho``), each with ``prefix``, are read: other
    parameters belong to other pages and are left alone."""
    q = _Query(params, prefix)
    arch = _read_arch(q, defaults.arch)
    alpha = _read_alpha(q, defaults.alpha)
    rho = _read_rho(q, defaults)
    groups = _read_groups(q, arch, defaults.groups)
    classes = _read_classes(q, defaults.classes)
    unit = _read_unit(q, defaults.unit)
    elementwise = _read_elementwise(q, defaults.elementwise)
    settings = _read_settings(q, arch, alpha, rho, groups, classes)
    dtype = _read_dtype(q, defaults.dtype)
    state = AppState(arch, alpha, rho, groups, classes, unit, elementwise, settings, dtype)
    state.config()  # valid by construction: this raises loudly if that ever stops being true
    return state, q.notices


# ----------------------------------------------------------------------------- Streamlit part

def query_lists(query_params) -> dict[str, list[str]]:
    """``st.query_params`` as ``name -> every value given``."""
    return {name: list(query_params.get_all(name)) for name in query_params}


def sync_query_params(query_params, want: Mapping[str, str], names: Sequence[str]) -> None:
    """Make the URL hold exactly ``want`` for ``names`` (one value each); leave other
    parameters alone. Writes only what differs, so a rerun with nothing new sends nothing."""
    for name in names:
        if name in want:
            if query_params.get_all(name) != [want[name]]:
                query_params[name] = want[name]
        elif name in query_params:
            del query_params[name]


def state_from_widgets(ss, prefix: str = "") -> AppState:
    """The :class:`AppState` of the widgets' values (snapped to the sliders' grids)."""
    arch = ss[prefix + "arch"]
    given = ss.get(prefix + "groups")
    groups = REGISTRY[arch].pick("groups", None if given is None else int(given))
    state = AppState(
        arch=arch,
        alpha=nearest(float(ss[prefix + "alpha"]), ALPHA_STOPS),
        rho=nearest(float(ss[prefix + "rho"]), RHO_STOPS),
        groups=groups,
        classes=int(ss.get(prefix + "classes", 1000)),
        unit=ss.get(prefix + "unit", "macs"),
        elementwise=bool(ss.get(prefix + "elementwise", False)),
        dtype=ss.get(prefix + "dtype") or DEFAULT_PRECISION,
    )
    return _with_settings(state, ss, prefix)


def set_settings(ss, settings: tuple | None, arch: str, groups: int | None,
                 prefix: str = "") -> None:
    """Keep an edited table (a Config's ``settings``) in session state, for ``arch`` and
    ``groups``: another architecture, or another group count, starts from the paper's table."""
    ss[prefix + "settings"] = settings
    ss[prefix + "_settings_for"] = (arch, groups)


def _with_settings(state: AppState, ss, prefix: str) -> AppState:
    """``state`` with the session's edited table when it belongs to its architecture and groups
    and is valid at its alpha (an alpha can make a ShuffleNet table's widths collide: then the
    paper's table, and the Design page says why)."""
    settings = ss.get(prefix + "settings")
    if settings is None or ss.get(prefix + "_settings_for") != (state.arch, state.groups):
        return state
    try:
        settings = make_config(state.arch, state.alpha, state.rho, groups=state.groups,
                               classes=state.classes, settings=settings).settings
    except ValueError:
        return state
    return replace(state, settings=settings)


def seed_from_url(ss, st_query_params, prefix: str = "", defaults: AppState = AppState()
                  ) -> list[Notice]:
    """Once per session (per ``prefix``): read the URL into the widgets' session state; return
    the notices (also kept in session state, with the state they describe)."""
    flag = f"_lightviz_url_read{prefix}"
    if flag not in ss:
        state, notices = parse_query(query_lists(st_query_params), prefix, defaults)
        for name, value in state.widget_values().items():
            ss[prefix + name] = value
        set_settings(ss, state.settings, state.arch, state.groups, prefix)
        ss[flag] = True
        ss[f"_lightviz_notices{prefix}"] = (state, notices)
    return ss[f"_lightviz_notices{prefix}"][1]


def pending_notices(ss, current: AppState, prefix: str = "") -> list[Notice]:
    """The URL notices, while the state is still the one they describe: once the user moves a
    widget the notices have done their job and disappear."""
    first, notices = ss.get(f"_lightviz_notices{prefix}", (None, []))
    return list(notices) if first == current else []


def _rho_label(rho: float) -> str:
    return f"{rho:.3f} \u00b7 {round(BASE_RESOLUTION * rho)} px"


def config_widgets(prefix: str = "", persist: str | None = None) -> None:
    """The architecture, groups, alpha and rho widgets (keys ``prefix + name``), in the current
    container. Their values must already be in session state (see :func:`seed_from_url`)."""
    import streamlit as st

    ss = st.session_state
    st.selectbox(
        "Architecture", tuple(REGISTRY), key=prefix + "arch", format_func=ARCH_LABELS.get,
        persist_state=persist,
        help="The network family and its variant (ResNet depth). The URL uses the zoo "
             "names: resnet50, mobilenet_v2, shufflenet_v1 ...",
    )
    for variant in REGISTRY[ss[prefix + "arch"]].variants:  # e.g. ShuffleNet v1's groups
        if ss.get(prefix + variant.name) not in variant.values:
            ss[prefix + variant.name] = variant.default
        st.segmented_control(
            variant.label, variant.values, key=prefix + variant.name,
            required=True, default=None, persist_state=persist, help=variant.help or None,
        )
    st.slider(
        "Width multiplier \u03b1", ALPHA_MIN, ALPHA_MAX, step=ALPHA_STEP, key=prefix + "alpha",
        format="%.2f", persist_state=persist,
        help="Scales the channels of every layer. Params and MACs grow about as \u03b1\u00b2 "
             "(channel counts are rounded, so the curve has steps).",
    )
    st.select_slider(
        "Resolution multiplier \u03c1", RHO_STOPS, key=prefix + "rho", format_func=_rho_label,
        persist_state=persist,
        help="Scales the input side: input = round(224 \u00d7 \u03c1) pixels. MACs grow "
             "about as \u03c1\u00b2; the params do not change.",
    )
    res = round(BASE_RESOLUTION * float(ss[prefix + "rho"]))
    st.caption(f"Input image: 3 \u00d7 {res} \u00d7 {res} pixels (\u03c1 \u00d7 224).")


def sidebar(device_selector: Callable[[], object] | None = None
            ) -> tuple[Config, AppState, list[Notice]]:
    """The sidebar's widgets, seeded from the URL on a session's first run and written back to
    it on every run; ``device_selector`` draws its widget below the precision (the app's
    "Latency on", :func:`lightviz.views.latency_on.selector`: a view, so the state does not
    import it). Returns the Config, the state and the notices still to show."""
    import streamlit as st

    ss = st.session_state
    seed_from_url(ss, st.query_params)
    with st.sidebar:
        config_widgets()
        st.radio(
            "Count the cost in", UNITS, key="unit", format_func=UNIT_LABELS.get, horizontal=True,
            help="MACs = multiply-accumulates of convolutions and the classifier (the papers' "
                 "'Mult-Adds' or 'FLOPs'). FLOPs = 2 \u00d7 MACs.",
        )
        st.toggle(
            "Add the elementwise work to FLOPs", key="elementwise",
            help="Batch norm, activations, residual adds, pooling and SE scaling, counted per "
                 "output element. MACs never include them.",
        )
        st.segmented_control(
            "Deployed in", PRECISIONS, key="dtype", required=True, default=None,
            help="The precision the network runs in on the device: fp32, fp16, or int8 "
                 "(quantized). Params and MACs do not change; weight and activation bytes, the "
                 "deployment memory, latency and top-1 do.",
        )
        if device_selector is not None:
            device_selector()
        with st.expander("Advanced"):
            st.number_input(
                "Classes", min_value=CLASSES_MIN, max_value=CLASSES_MAX, step=1, key="classes",
                help="Outputs of the classifier (ImageNet: 1000). Changes the last layer only.",
            )
    state = state_from_widgets(ss)
    sync_query_params(st.query_params, state.to_query(), PARAMS + ("resolution",))
    return state.config(), state, pending_notices(ss, state)


def precision() -> str:
    """The sidebar's deployed precision for any view (fp32, fp16, int8)."""
    import streamlit as st

    return st.session_state.get("dtype") or DEFAULT_PRECISION


def counting_options() -> tuple[str, bool]:
    """The sidebar's counting options for any view: ("macs" | "flops", elementwise)."""
    import streamlit as st

    return st.session_state.get("unit", "macs"), bool(st.session_state.get("elementwise", False))
