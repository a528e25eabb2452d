"""Generate golden parameter / MAC counts from the canonical reference builders.

This script is NOT run by CI (CI cannot install torchvision/timm).  It was run
once, by hand, in a separate virtualenv outside the repository:

    python3 -m venv /work/refvenv
    /work/refvenv/bin/pip install torch==2.14.1 torchvision==0.29.1 timm   # timm 1.0.31 resolved
    /work/refvenv/bin/python tests/golden/make_golden.py      # from the repo root

Versions that produced the committed files: torch 2.14.1, torchvision 0.29.1,
timm 1.0.31 (also recorded under "generated_with" in reference_counts.json).

Outputs (next to this script):
  reference_counts.json           params / MACs for the whole (arch, alpha, resolution) grid
  layers_<arch>_<alpha>.txt       per-layer dumps (Conv2d / Linear / BatchNorm2d, forward order)
  custom_counts.json              params / MACs of random edited tables (issue 12, "Design your
                                  own"): 100 per family that torchvision or timm can build, in
                                  lightviz's settings terms; `make_golden.py --custom` writes
                                  only this file (seeded: the same tables every run)

Convention:
  params = sum(p.numel() for p in model.parameters())
  macs   = torch.utils.flop_counter.FlopCounterMode total / 2 for a 1x3xRxR input,
           model in eval mode (so BatchNorm, activations, pooling, adds are not counted;
           only conv / linear (addmm/mm) are).

Models are built on the 'meta' device for the grid (counts do not depend on weight
values); the alpha=1.0 entries are cross-checked against a real CPU build/forward.
"""
import json
import os
import sys
from functools import partial

import timm
import torch
import torch.nn as nn
import torchvision
from timm.models import efficientnet as timm_effnet
from timm.models import ghostnet as timm_ghostnet
from torch.utils.flop_counter import FlopCounterMode
from torchvision.models import mobilenet_v2 as tv_mobilenet_v2
from torchvision.models import resnet as tv_resnet
from torchvision.models import shufflenet_v2_x0_5, shufflenet_v2_x1_0, shufflenet_v2_x1_5, shufflenet_v2_x2_0

HERE = os.path.dirname(os.path.abspath(__file__))
RESOLUTIONS = (96, 160, 224, 320)


def make_divisible(v, d=8, min_value=None):
    min_value = min_value or d
    new_v = max(min_value, int(v + d / 2) // d * d)
    if new_v < 0.9 * v:
        new_v += d
    return new_v


class WidthResNet(tv_resnet.ResNet):
    """torchvision ResNet with slimmable-style width multiplier alpha.

    stem width = make_divisible(64*alpha, 8); stage i planes = make_divisible(64*alpha*2**i, 8);
    block expansion unchanged; fc in = planes[3] * expansion.
    """

    def __init__(self, block, layers, alpha, num_classes=1000):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.dilation = 1
        self.groups = 1
        self.base_width = 64
        stem = make_divisible(64 * alpha, 8)
        planes = [make_divisible(64 * alpha * 2 ** i, 8) for i in range(4)]
        self.inplanes = stem
        self.conv1 = nn.Conv2d(3, stem, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, planes[0], layers[0])
        self.layer2 = self._make_layer(block, planes[1], layers[1], stride=2)
        self.layer3 = self._make_layer(block, planes[2], layers[2], stride=2)
        self.layer4 = self._make_layer(block, planes[3], layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(planes[3] * block.expansion, num_classes)


RESNETS = {
    'resnet18': (tv_resnet.BasicBlock, [2, 2, 2, 2], tv_resnet.resnet18),
    'resnet34': (tv_resnet.BasicBlock, [3, 4, 6, 3], tv_resnet.resnet34),
    'resnet50': (tv_resnet.Bottleneck, [3, 4, 6, 3], tv_resnet.resnet50),
}
SHUFFLE = {0.5: shufflenet_v2_x0_5, 1.0: shufflenet_v2_x1_0,
           1.5: shufflenet_v2_x1_5, 2.0: shufflenet_v2_x2_0}


def build(arch, alpha, num_classes):
    """Return (model, builder_string)."""
    if arch in RESNETS:
        block, layers, fn = RESNETS[arch]
        if alpha == 1.0:
            return fn(num_classes=num_classes), f'torchvision.models.{arch}(num_classes={num_classes})'
        return (WidthResNet(block, layers, alpha, num_classes),
                f'WidthResNet(torchvision.models.resnet.{block.__name__}, {layers}, alpha={alpha}, '
                f'num_classes={num_classes}) [subclass of torchvision ResNet, make_divisible(64*alpha*2**i, 8)]')
    if arch == 'mobilenet_v2':
        return (tv_mobilenet_v2(width_mult=alpha, num_classes=num_classes),
                f'torchvision.models.mobilenet_v2(width_mult={alpha}, num_classes={num_classes})')
    if arch == 'shufflenet_v2':
        fn = SHUFFLE[alpha]
        return fn(num_classes=num_classes), f'torchvision.models.{fn.__name__}(num_classes={num_classes})'
    if arch == 'mobilenet_v1':
        m = timm_effnet._gen_mobilenet_v1('mobilenetv1_100', channel_multiplier=alpha, num_classes=num_classes)
        return m, (f"timm.models.efficientnet._gen_mobilenet_v1('mobilenetv1_100', "
                   f"channel_multiplier={alpha}, num_classes={num_classes})  [head_conv=False]")
    if arch == 'ghostnet':
        m = timm_ghostnet._create_ghostnet('ghostnet_100', width=alpha, num_classes=num_classes)
        return m, (f"timm.models.ghostnet._create_ghostnet('ghostnet_100', width={alpha}, "
                   f"num_classes={num_classes})  [version='v1']")
    raise ValueError(arch)


GRID = {
    'resnet18': (0.25, 0.5, 0.75, 1.0, 1.5, 2.0),
    'resnet34': (0.25, 0.5, 0.75, 1.0, 1.5, 2.0),
    'resnet50': (0.25, 0.5, 0.75, 1.0, 1.5, 2.0),
    'mobilenet_v2': (0.25, 0.35, 0.5, 0.75, 1.0, 1.3, 1.4, 1.5, 2.0),
    'shufflenet_v2': (0.5, 1.0, 1.5, 2.0),
    'mobilenet_v1': (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0),
    'ghostnet': (0.25, 0.5, 0.75, 1.0, 1.3, 1.5, 2.0),
}
EXTRA_10 = [('mobilenet_v2', 1.0, 224), ('resnet18', 1.0, 224)]


def count(model, res, device):
    model.eval()
    params = sum(p.numel() for p in model.parameters())
    x = torch.zeros(1, 3, res, res, device=device)
    fc = FlopCounterMode(display=False)
    with torch.no_grad(), fc:
        model(x)
    flops = fc.get_total_flops()
    assert flops % 2 == 0
    return params, flops // 2


def count_entry(arch, alpha, res, classes, device='meta'):
    with torch.device(device):
        model, builder = build(arch, alpha, classes)
    params, macs = count(model, res, device)
    return dict(arch=arch, alpha=alpha, resolution=res, classes=classes,
                params=params, macs=macs, builder=builder)


# ---------------------------------------------------------------- layer dumps
def layer_dump(arch, alpha, res=224):
    torch.manual_seed(0)
    model, builder = build(arch, alpha, 1000)
    model.eval()
    rows = []

    def hook(name):
        def fn(mod, inp, out):
            i = tuple(inp[0].shape)
            o = tuple(out.shape)
            if isinstance(mod, nn.Conv2d):
                rows.append(f'{name}  Conv2d  in={mod.in_channels} out={mod.out_channels} '
                            f'k={tuple(mod.kernel_size)} s={tuple(mod.stride)} p={tuple(mod.padding)} '
                            f'g={mod.groups} bias={"yes" if mod.bias is not None else "no"} '
                            f'in_shape={i} out_shape={o}')
            elif isinstance(mod, nn.Linear):
                rows.append(f'{name}  Linear  in={mod.in_features} out={mod.out_features} '
                            f'bias={"yes" if mod.bias is not None else "no"} in_shape={i} out_shape={o}')
            else:
                extra = ''
                if type(mod) is not nn.BatchNorm2d:  # timm BatchNormAct2d (BN + fused act)
                    extra = f' [{type(mod).__name__}, act={type(getattr(mod, "act", None)).__name__}]'
                rows.append(f'{name}  BatchNorm2d  ch={mod.num_features} affine={mod.affine}'
                            f'{extra} in_shape={i} out_shape={o}')
        return fn

    handles = [m.register_forward_hook(hook(n)) for n, m in model.named_modules()
               if isinstance(m, (nn.Conv2d, nn.Linear, nn.BatchNorm2d))]
    params, macs = count(model, res, 'cpu')  # runs forward once -> fills rows
    for h in handles:
        h.remove()
    lines = [f'# {arch} alpha={alpha} resolution={res} classes=1000',
             f'# builder: {builder}',
             f'# params={params} macs={macs}',
             f'# torch {torch.__version__} torchvision {torchvision.__version__} timm {timm.__version__}',
             '# columns: module-name type channels kernel stride padding groups bias input-shape output-shape',
             ]
    if arch in ('ghostnet', 'mobilenet_v1'):
        acts = sorted({f'{type(m).__module__}.{type(m).__name__}' for m in model.modules()
                       if isinstance(m, (nn.ReLU, nn.ReLU6, nn.Hardsigmoid, nn.Hardswish, nn.Sigmoid,
                                         nn.SiLU, nn.GELU, nn.Identity))
                       or 'act' in type(m).__name__.lower() or 'sigmoid' in type(m).__name__.lower()})
        lines.append(f'# activation / gate module types present: {acts}')
    if arch == 'ghostnet':
        ses = [(n, m) for n, m in model.named_modules() if type(m).__name__ == 'SqueezeExcite']
        lines.append(f'# SqueezeExcite modules: {len(ses)}; class {type(ses[0][1]).__module__}.SqueezeExcite')
        lines.append('#   SE: x * gate(conv_expand(act1(conv_reduce(mean_hw(x))))), '
                     'reduce ch = timm make_divisible(mid_chs*0.25, divisor=4), both 1x1 convs have bias')
        for n, m in ses:
            lines.append(f'#   {n}: in={m.conv_reduce.in_channels} reduce={m.conv_reduce.out_channels} '
                         f'act1={type(m.act1).__name__} gate={type(m.gate).__name__} '
                         f'reduce_bias={m.conv_reduce.bias is not None} expand_bias={m.conv_expand.bias is not None}')
        lines.append(f'# conv_head bias: {"yes" if model.conv_head.bias is not None else "no"} '
                     f'(conv_head {model.conv_head.in_channels}->{model.conv_head.out_channels}, act2='
                     f'{type(model.act2).__name__}); classifier={type(model.classifier).__name__}')
        lines.append('# GhostModule: init=ceil(out/2) 1x1 conv+BN(+ReLU), cheap=3x3 dw conv (groups=init)+BN(+ReLU), '
                     'concat, slice to out; ghost2 uses act=Identity. dw conv+BN only when stride>1. '
                     'shortcut = dw kxk(stride)+BN+1x1+BN when in!=out or stride>1.')
    lines += rows
    fname = os.path.join(HERE, f'layers_{arch}_{alpha}.txt')
    with open(fname, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print('wrote', fname, len(rows), 'layers')


def main():
    entries = []
    for arch, alphas in GRID.items():
        for alpha in alphas:
            for res in RESOLUTIONS:
                e = count_entry(arch, float(alpha), res, 1000)
                entries.append(e)
    for arch, alpha, res in EXTRA_10:
        entries.append(count_entry(arch, alpha, res, 10))

    # Cross-checks: real CPU build at alpha 1.0 / 224 matches meta build.
    for e in entries:
        if e['alpha'] == 1.0 and e['resolution'] == 224:
            c = count_entry(e['arch'], 1.0, 224, e['classes'], device='cpu')
            assert (c['params'], c['macs']) == (e['params'], e['macs']), (e, c)
    # WidthResNet(alpha=1) == torchvision resnet.
    for arch, (block, layers, fn) in RESNETS.items():
        for res in RESOLUTIONS:
            with torch.device('meta'):
                a = count(WidthResNet(block, layers, 1.0), res, 'meta')
                b = count(fn(), res, 'meta')
            assert a == b, (arch, res, a, b)
    # Published numbers the task pinned.
    expect = {'resnet18': (11689512, 1814073344), 'resnet34': (21797672, 3663761408),
              'resnet50': (25557032, 4089184256), 'mobilenet_v1': (4231976, 568740352),
              'mobilenet_v2': (3504872, 300774272), 'shufflenet_v2': (2278604, 144907992),
              'ghostnet': (5182508, 141150512)}
    for e in entries:
        if e['alpha'] == 1.0 and e['resolution'] == 224 and e['classes'] == 1000:
            assert (e['params'], e['macs']) == expect[e['arch']], e
    # registered timm variants agree with the direct builder calls
    for name, arch, alpha in [('mobilenetv1_100', 'mobilenet_v1', 1.0), ('mobilenetv1_125', 'mobilenet_v1', 1.25),
                              ('ghostnet_050', 'ghostnet', 0.5), ('ghostnet_100', 'ghostnet', 1.0),
                              ('ghostnet_130', 'ghostnet', 1.3)]:
        with torch.device('meta'):
            m = timm.create_model(name)
        got = count(m, 224, 'meta')
        e = next(e for e in entries if (e['arch'], e['alpha'], e['resolution'], e['classes'])
                 == (arch, alpha, 224, 1000))
        assert got == (e['params'], e['macs']), (name, got, e)

    entries.sort(key=lambda e: (e['arch'], e['alpha'], e['resolution'], e['classes']))
    out = {
        'generated_with': {'torch': torch.__version__, 'torchvision': torchvision.__version__,
                           'timm': timm.__version__},
        'convention': ('params = sum(p.numel() for p in model.parameters()); macs = '
                       'torch.utils.flop_counter.FlopCounterMode total / 2 on a 1x3xRxR input in eval mode'),
        'entries': entries,
    }
    path = os.path.join(HERE, 'reference_counts.json')
    with open(path, 'w') as f:
        json.dump(out, f, indent=1)
        f.write('\n')
    print('wrote', path, len(entries), 'entries')

    for arch, alpha in [('mobilenet_v1', 0.5), ('mobilenet_v1', 1.0), ('ghostnet', 0.5),
                        ('ghostnet', 1.0), ('mobilenet_v2', 0.35)]:
        layer_dump(arch, alpha)


# ------------------------------------------------------- random edited tables (issue 12)
CUSTOM_SEED = 12
CUSTOM_PER_FAMILY = 100
CUSTOM_RESOLUTIONS = (96, 128, 160, 224)


class TableResNet(tv_resnet.ResNet):
    """torchvision's ResNet with its stage widths (``planes``) given: the blocks, the layout and
    the layer builder are torchvision's own (``_make_layer``); only the widths, fixed in
    ``ResNet.__init__``, come from the table. lightviz's rule: at alpha 1 the widths as given,
    else ``make_divisible(w * alpha, 8)``; the 64-wide stem scales with ``make_divisible``."""

    def __init__(self, block, layers, widths, alpha, num_classes=1000):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.dilation = 1
        self.groups = 1
        self.base_width = 64
        stem = make_divisible(64 * alpha, 8)
        planes = [w if alpha == 1.0 else make_divisible(w * alpha, 8) for w in widths]
        self.inplanes = stem
        self.conv1 = nn.Conv2d(3, stem, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, planes[0], layers[0])
        self.layer2 = self._make_layer(block, planes[1], layers[1], stride=2)
        self.layer3 = self._make_layer(block, planes[2], layers[2], stride=2)
        self.layer4 = self._make_layer(block, planes[3], layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(planes[3] * block.expansion, num_classes)


def mobilenet_v1_table(stem, layers, alpha, num_classes=1000):
    """timm's ``_gen_mobilenet_v1`` with the block definitions written from the table: one
    ``dsa_r1_k3_s{s}_c{c}`` stage per row, ``stem_size`` from the table (the rest as timm)."""
    from timm.layers import make_divisible as _  # noqa: F401  (timm present)
    from timm.models._efficientnet_builder import decode_arch_def, resolve_act_layer, resolve_bn_args, round_channels
    arch_def = [[f'dsa_r1_k3_s{s}_c{c}'] for c, s in layers]
    kwargs = {'num_classes': num_classes}
    model_kwargs = dict(
        block_args=decode_arch_def(arch_def, depth_multiplier=1.0, fix_first_last=False, group_size=None),
        num_features=0, stem_size=stem, fix_stem=False,
        round_chs_fn=partial(round_channels, multiplier=alpha),
        norm_layer=partial(nn.BatchNorm2d, **resolve_bn_args(kwargs)),
        act_layer=resolve_act_layer(kwargs, 'relu6'), **kwargs)
    return timm_effnet._create_effnet('mobilenetv1_100', False, **model_kwargs)


def _strides(rng, rows, fixed):
    """A stride per row, 1 or 2, keeping fixed x product <= 32."""
    budget = 32 // fixed
    out = []
    for _ in range(rows):
        s = 2 if (budget >= 2 and rng.random() < 0.35) else 1
        budget //= s
        out.append(s)
    return out


def _blocks(rng, rows, most=64):
    """Blocks per row (1 to 4), at most ``most`` in all."""
    n = [rng.randint(1, 4) for _ in range(rows)]
    while sum(n) > most:
        n[n.index(max(n))] -= 1
    return n


def random_tables(rng):
    """(arch, alpha, resolution, groups, settings, builder thunk, builder text) per case."""
    cases = []
    res = lambda: rng.choice(CUSTOM_RESOLUTIONS)  # noqa: E731
    for _ in range(CUSTOM_PER_FAMILY):  # MobileNetV2: torchvision, inverted_residual_setting
        rows = rng.randint(1, 9)
        t = [rng.choice((1, 1, 2, 3, 4, 6, 1.5, 2.5)) for _ in range(rows)]
        c = [rng.randint(1, 400) for _ in range(rows)]
        layers = [[t[j], c[j], n, s] for j, (n, s) in enumerate(zip(_blocks(rng, rows), _strides(rng, rows, 2)))]
        alpha = rng.choice((0.35, 0.5, 0.75, 1.0, 1.0, 1.3))
        cases.append(('mobilenet_v2', alpha, res(), None, {'layers': layers},
                      partial(tv_mobilenet_v2, width_mult=alpha, inverted_residual_setting=layers),
                      f'torchvision.models.MobileNetV2(width_mult={alpha}, inverted_residual_setting=settings.layers)'))
    for arch, block, n_cases in (('resnet18', tv_resnet.BasicBlock, 40), ('resnet34', tv_resnet.BasicBlock, 20),
                                 ('resnet50', tv_resnet.Bottleneck, 40)):
        for i in range(n_cases):  # ResNet: half torchvision ResNet(block, layers), half edited widths too
            layers = [rng.randint(1, 6) for _ in range(4)]
            if i % 2 == 0:
                cases.append((arch, 1.0, res(), None, {'layers': layers},
                              partial(tv_resnet.ResNet, block, layers),
                              f'torchvision.models.resnet.ResNet({block.__name__}, settings.layers)'))
            else:
                widths = [rng.randint(1, 300) for _ in range(4)]
                alpha = rng.choice((0.5, 1.0, 1.0, 1.5))
                cases.append((arch, alpha, res(), None, {'layers': layers, 'widths': widths},
                              partial(TableResNet, block, layers, widths, alpha),
                              f'TableResNet({block.__name__}, settings.layers, settings.widths, alpha={alpha}) '
                              f'[torchvision ResNet and _make_layer, widths from the table]'))
    for _ in range(CUSTOM_PER_FAMILY):  # ShuffleNetV2: torchvision, stages_repeats / stages_out_channels
        repeats = [rng.randint(1, 10) for _ in range(3)]
        widths = [rng.randint(1, 64)] + [2 * rng.randint(1, 300) for _ in range(3)] + [rng.randint(1, 2048)]
        cases.append(('shufflenet_v2', 1.0, res(), None, {'repeats': repeats, 'widths': widths},
                      partial(torchvision.models.ShuffleNetV2, repeats, widths),
                      'torchvision.models.ShuffleNetV2(settings.repeats, settings.widths)'))
    for _ in range(CUSTOM_PER_FAMILY):  # GhostNet: timm GhostNet(cfgs, width)
        n_stages = rng.randint(1, 6)
        strides = _strides(rng, n_stages, 2)
        cfgs = []
        for st in range(n_stages):
            rows = []
            for j in range(rng.randint(1, 4)):
                rows.append([rng.choice((1, 3, 5, 7)), rng.randint(1, 600), rng.randint(1, 200),
                             rng.choice((0, 0, 0.25, 0.5, 1)), strides[st] if j == 0 else 1])
            cfgs.append(rows)
        alpha = rng.choice((0.5, 0.75, 1.0, 1.0, 1.3))
        cases.append(('ghostnet', alpha, res(), None, {'layers': cfgs},
                      partial(timm_ghostnet.GhostNet, cfgs, width=alpha),
                      f"timm.models.ghostnet.GhostNet(settings.layers, width={alpha})  [version='v1']"))
    for _ in range(CUSTOM_PER_FAMILY):  # MobileNet v1: timm's block definitions
        rows = rng.randint(1, 20)
        layers = [[rng.randint(1, 1100), s] for s in _strides(rng, rows, 2)]
        stem = rng.randint(1, 64)
        alpha = rng.choice((0.25, 0.5, 0.75, 1.0, 1.0, 1.25))
        cases.append(('mobilenet_v1', alpha, res(), None, {'stem': stem, 'layers': layers},
                      partial(mobilenet_v1_table, stem, layers, alpha),
                      f"timm _gen_mobilenet_v1 with arch_def [['dsa_r1_k3_s{{s}}_c{{c}}'] per row], "
                      f"stem_size=settings.stem, channel_multiplier={alpha}"))
    return cases


def main_custom():
    import random
    rng = random.Random(CUSTOM_SEED)
    entries = []
    for arch, alpha, res, groups, settings, thunk, builder in random_tables(rng):
        with torch.device('meta'):
            model = thunk()
        params, macs = count(model, res, 'meta')
        entries.append(dict(arch=arch, alpha=alpha, resolution=res, groups=groups,
                            settings=settings, params=params, macs=macs, builder=builder))
    # the paper's tables through the same builders give the committed canonical counts
    with torch.device('meta'):
        assert count(mobilenet_v1_table(32, [[64, 1], [128, 2], [128, 1], [256, 2], [256, 1], [512, 2]]
                                        + [[512, 1]] * 5 + [[1024, 2], [1024, 1]], 1.0), 224, 'meta') \
            == (4231976, 568740352)
        assert count(TableResNet(tv_resnet.BasicBlock, [2, 2, 2, 2], [64, 128, 256, 512], 1.0), 224,
                     'meta') == (11689512, 1814073344)
    out = {
        'generated_with': {'torch': torch.__version__, 'torchvision': torchvision.__version__,
                           'timm': timm.__version__},
        'convention': ('params = sum(p.numel() for p in model.parameters()); macs = '
                       'torch.utils.flop_counter.FlopCounterMode total / 2 on a 1x3xRxR input in eval mode'),
        'seed': CUSTOM_SEED,
        'entries': entries,
    }
    path = os.path.join(HERE, 'custom_counts.json')
    with open(path, 'w') as f:
        f.write('{\n' + ',\n'.join(f' {json.dumps(k)}: {json.dumps(v)}' for k, v in out.items()
                                   if k != 'entries'))
        f.write(',\n "entries": [\n' + ',\n'.join('  ' + json.dumps(e) for e in entries) + '\n ]\n}\n')
    print('wrote', path, len(entries), 'entries')


if __name__ == '__main__':
    if sys.argv[1:] == ['--custom']:
        sys.exit(main_custom())
    sys.exit(main())
