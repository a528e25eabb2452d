"""Bad input everywhere, at the command line: every generated argument list ends in a valid
result (exit 0) or one line on stderr and exit status 2, never a traceback."""

import pytest
from cli_support import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lightviz

NASTY_NUMBERS = ["nan", "NaN", "inf", "-inf", "1e308", "-1e308", "1e-320", "0", "-0", "-1", "0x10",
                 "1_000", "  2 ", "", "٣", "½", "1e", "--", "9" * 400, "0.2499999", "2.0000001",
                 "31.5", "512.4", "512.6", "1/2", "None", "true"]
numbers = st.one_of(
    st.sampled_from(NASTY_NUMBERS),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-10**30, max_value=10**30).map(str),
    st.floats(min_value=0, max_value=3).map(lambda x: f"{x:.3f}"),
    st.text(max_size=40),
)
archs = st.one_of(st.sampled_from(lightviz.ARCHS), st.text(max_size=30),
                  st.sampled_from(["ResNet18", "resnet", "mobilenet_v3", "../../etc/passwd", "résnet18"]))
options = st.lists(
    st.tuples(st.sampled_from(["--alpha", "--rho", "--resolution", "--groups", "--classes", "--format",
                               "--elementwise", "--bogus", "-x"]), numbers),
    max_size=5,
)


def _argv(arch, opts):
    argv = ["profile", arch]
    for flag, value in opts:
        argv += [flag] if flag == "--elementwise" else [flag, value]
    return argv


@settings(max_examples=500, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(arch=archs, opts=options)
def test_profile_never_crashes(arch, opts):
    code, out, err = run_cli(_argv(arch, opts))
    if code == 0:
        assert out and not err
    else:
        assert code == 2, (code, err)
        assert err.startswith("lightviz: error: ") and err.count("\n") == 1, err
        assert "Traceback" not in err


@pytest.mark.parametrize("arch", lightviz.ARCHS)
def test_extreme_valid_configurations_profile_and_build(arch):
    """alpha 0.25 at 32 x 32 and alpha 2.0 at 512 x 512 work for every family and group."""
    groups = (1, 2, 3, 4, 8) if arch == "shufflenet_v1" else (None,)
    for g in groups:
        opts = {"groups": g} if g else {}
        small = lightviz.profile(arch, 0.25, resolution=32, **opts)
        large = lightviz.profile(arch, 2.0, resolution=512, **opts)
        assert 0 < small.macs < large.macs and small.layers.out_h.min() >= 1
    import torch

    model = lightviz.build(arch, 0.25, **opts).eval()
    with torch.inference_mode():
        assert model(torch.randn(2, 3, 32, 32)).shape == (2, 1000)
