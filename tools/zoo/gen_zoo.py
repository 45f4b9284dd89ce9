#!/usr/bin/env python3
"""Writes the model zoo specs (models/zoo/*.json, format dkm-model/1, docs/model-spec.md).

The specs are committed; this script is how they were made and how to remake them after a format change:
    python3 tools/zoo/gen_zoo.py            # rewrite models/zoo/*.json
    python3 tools/zoo/gen_zoo.py --check    # exit 1 if a committed spec differs from what it would write
Standard library only. Layer names follow the reference implementations (torchvision, Caffe, the WRN
code) so that weights exported from them match "<layer>.weight". The totals are checked by the C++ tests
(tests/models/test_model_zoo.cpp) against ../shared/reference/zoo.md.
"""
import json
import pathlib
import sys

ZOO = pathlib.Path(__file__).resolve().parents[2] / "models" / "zoo"


class Net:
    """Appends layers; each takes the previous layer as input unless `inputs` says otherwise."""

    def __init__(self, name, description, input_shape, weight_bits=16, act_bits=16):
        self.head = {"format": "dkm-model/1", "name": name, "description": description,
                     "input": list(input_shape), "batch": 1, "weight_bits": weight_bits, "act_bits": act_bits}
        self.layers = []
        self.last = "input"

    def add(self, name, type_, inputs=None, **fields):
        layer = {"name": name, "type": type_}
        if inputs is not None and list(inputs) != [self.last]:
            layer["inputs"] = list(inputs)
        layer.update(fields)
        self.layers.append(layer)
        self.last = name
        return name

    def conv(self, name, out, kernel, inputs=None, **fields):
        return self.add(name, "conv2d", inputs, out_channels=out, kernel=kernel, **fields)

    def text(self):
        def one_line(value):
            return json.dumps(value, separators=(", ", ": "))
        lines = [f"  {one_line(k)}: {one_line(v)}," for k, v in self.head.items()]
        body = ",\n".join("    " + one_line(layer) for layer in self.layers)
        return "{\n" + "\n".join(lines) + '\n  "layers": [\n' + body + "\n  ]\n}\n"


def lenet5():
    n = Net("lenet5", "LeNet-5, Caffe variant (examples/mnist/lenet.prototxt): conv 20@5x5, maxpool 2, "
            "conv 50@5x5, maxpool 2, fc 800->500, relu, fc 500->10", (1, 28, 28))
    n.conv("conv1", 20, 5)
    n.add("pool1", "maxpool", kernel=2)
    n.conv("conv2", 50, 5)
    n.add("pool2", "maxpool", kernel=2)
    n.add("ip1", "linear", out_features=500)
    n.add("relu1", "relu")
    n.add("ip2", "linear", out_features=10)
    return n


def wrn_16_4():
    n = Net("wrn-16-4", "Wide ResNet 16-4 for CIFAR-10 (pre-activation blocks, dropout 0.3, conv bias on); "
            "its 16 conv layers in the order of the Deep k-Means code: conv1, then per stage "
            "block1.conv1, block1.conv2, block1.shortcut, block2.conv1, block2.conv2. Stages 2 and 3 "
            "downsample in block1.conv2 and block1.shortcut, which gives the MAC total of zoo.md",
            (3, 32, 32))
    n.conv("conv1", 16, 3, padding=1)
    for stage, width in ((1, 64), (2, 128), (3, 256)):
        stride = 1 if stage == 1 else 2
        for block in (1, 2):
            p = f"stage{stage}.block{block}"
            x = n.last
            n.add(f"{p}.bn1", "batchnorm")
            pre = n.add(f"{p}.relu1", "relu")
            n.conv(f"{p}.conv1", width, 3, padding=1)
            n.add(f"{p}.bn2", "batchnorm")
            n.add(f"{p}.relu2", "relu")
            n.add(f"{p}.dropout", "dropout", rate=0.3)
            s = stride if block == 1 else 1
            conv2 = n.conv(f"{p}.conv2", width, 3, padding=1, **({"stride": s} if s != 1 else {}))
            if block == 1:
                short = n.conv(f"{p}.shortcut", width, 1, inputs=[pre], **({"stride": s} if s != 1 else {}))
                n.add(f"{p}.add", "add", inputs=[conv2, short])
            else:
                n.add(f"{p}.add", "add", inputs=[conv2, x])
    n.add("bn", "batchnorm")
    n.add("relu", "relu")
    n.add("avgpool", "avgpool", **{"global": True})
    n.add("flatten", "flatten")
    n.add("fc", "linear", out_features=10)
    return n


def alexnet():
    n = Net("alexnet", "AlexNet, Caffe bvlc_alexnet: groups 2 in conv2/4/5, 227x227 input (the variant of the "
            "Deep k-Means paper and the Eyeriss energy tool); LRN layers left out (no weights, no MACs)",
            (3, 227, 227))
    n.conv("conv1", 96, 11, stride=4)
    n.add("relu1", "relu")
    n.add("pool1", "maxpool", kernel=3, stride=2, ceil_mode=True)
    n.conv("conv2", 256, 5, padding=2, groups=2)
    n.add("relu2", "relu")
    n.add("pool2", "maxpool", kernel=3, stride=2, ceil_mode=True)
    n.conv("conv3", 384, 3, padding=1)
    n.add("relu3", "relu")
    n.conv("conv4", 384, 3, padding=1, groups=2)
    n.add("relu4", "relu")
    n.conv("conv5", 256, 3, padding=1, groups=2)
    n.add("relu5", "relu")
    n.add("pool5", "maxpool", kernel=3, stride=2, ceil_mode=True)
    for i, out in ((6, 4096), (7, 4096)):
        n.add(f"fc{i}", "linear", out_features=out)
        n.add(f"relu{i}", "relu")
        n.add(f"drop{i}", "dropout", rate=0.5)
    n.add("fc8", "linear", out_features=1000)
    return n


def vgg16():
    n = Net("vgg16", "VGG-16 (configuration D), torchvision layout without batch norm", (3, 224, 224))
    for block, (width, convs) in enumerate(((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)), start=1):
        for i in range(1, convs + 1):
            n.conv(f"conv{block}_{i}", width, 3, padding=1)
            n.add(f"relu{block}_{i}", "relu")
        n.add(f"pool{block}", "maxpool", kernel=2)
    n.add("flatten", "flatten")
    for i, out in ((6, 4096), (7, 4096)):
        n.add(f"fc{i}", "linear", out_features=out)
        n.add(f"relu{i}", "relu")
        n.add(f"drop{i}", "dropout", rate=0.5)
    n.add("fc8", "linear", out_features=1000)
    return n


def conv_bn(n, prefix, out, kernel, act="relu", inputs=None, **fields):
    """torchvision's BasicConv2d / Conv2dNormActivation: conv without bias, batch norm, activation."""
    n.conv(f"{prefix}.conv", out, kernel, inputs=inputs, bias=False, **fields)
    n.add(f"{prefix}.bn", "batchnorm")
    return n.add(f"{prefix}.{act}", act) if act else n.last


def googlenet():
    n = Net("googlenet", "GoogLeNet (Inception v1) without auxiliary heads, torchvision's batch-norm variant "
            "(3x3 conv in the \"5x5\" branch, ceil-mode pooling)", (3, 224, 224))
    conv_bn(n, "conv1", 64, 7, stride=2, padding=3)
    n.add("maxpool1", "maxpool", kernel=3, stride=2, ceil_mode=True)
    conv_bn(n, "conv2", 64, 1)
    conv_bn(n, "conv3", 192, 3, padding=1)
    n.add("maxpool2", "maxpool", kernel=3, stride=2, ceil_mode=True)

    def inception(name, b1, b2r, b2, b3r, b3, b4):
        x = n.last
        o1 = conv_bn(n, f"{name}.branch1", b1, 1, inputs=[x])
        conv_bn(n, f"{name}.branch2.0", b2r, 1, inputs=[x])
        o2 = conv_bn(n, f"{name}.branch2.1", b2, 3, padding=1)
        conv_bn(n, f"{name}.branch3.0", b3r, 1, inputs=[x])
        o3 = conv_bn(n, f"{name}.branch3.1", b3, 3, padding=1)
        n.add(f"{name}.branch4.0", "maxpool", inputs=[x], kernel=3, stride=1, padding=1, ceil_mode=True)
        o4 = conv_bn(n, f"{name}.branch4.1", b4, 1)
        n.add(f"{name}.concat", "concat", inputs=[o1, o2, o3, o4])

    inception("inception3a", 64, 96, 128, 16, 32, 32)
    inception("inception3b", 128, 128, 192, 32, 96, 64)
    n.add("maxpool3", "maxpool", kernel=3, stride=2, ceil_mode=True)
    inception("inception4a", 192, 96, 208, 16, 48, 64)
    inception("inception4b", 160, 112, 224, 24, 64, 64)
    inception("inception4c", 128, 128, 256, 24, 64, 64)
    inception("inception4d", 112, 144, 288, 32, 64, 64)
    inception("inception4e", 256, 160, 320, 32, 128, 128)
    n.add("maxpool4", "maxpool", kernel=2, stride=2, ceil_mode=True)
    inception("inception5a", 256, 160, 320, 32, 128, 128)
    inception("inception5b", 384, 192, 384, 48, 128, 128)
    n.add("avgpool", "avgpool", **{"global": True})
    n.add("flatten", "flatten")
    n.add("dropout", "dropout", rate=0.2)
    n.add("fc", "linear", out_features=1000)
    return n


def resnet(name, blocks, bottleneck, description):
    n = Net(name, description, (3, 224, 224))
    n.conv("conv1", 64, 7, stride=2, padding=3, bias=False)
    n.add("bn1", "batchnorm")
    n.add("relu", "relu")
    n.add("maxpool", "maxpool", kernel=3, stride=2, padding=1)
    channels = 64
    for stage, (width, count) in enumerate(zip((64, 128, 256, 512), blocks), start=1):
        for b in range(count):
            p = f"layer{stage}.{b}"
            stride = 2 if stage > 1 and b == 0 else 1
            x = n.last
            out = width * (4 if bottleneck else 1)
            if bottleneck:  # v1.5: the stride sits on the 3x3 conv
                n.conv(f"{p}.conv1", width, 1, bias=False)
                n.add(f"{p}.bn1", "batchnorm")
                n.add(f"{p}.relu1", "relu")
                n.conv(f"{p}.conv2", width, 3, padding=1, bias=False, **({"stride": stride} if stride != 1 else {}))
                n.add(f"{p}.bn2", "batchnorm")
                n.add(f"{p}.relu2", "relu")
                n.conv(f"{p}.conv3", out, 1, bias=False)
                main = n.add(f"{p}.bn3", "batchnorm")
            else:
                n.conv(f"{p}.conv1", width, 3, padding=1, bias=False, **({"stride": stride} if stride != 1 else {}))
                n.add(f"{p}.bn1", "batchnorm")
                n.add(f"{p}.relu1", "relu")
                n.conv(f"{p}.conv2", width, 3, padding=1, bias=False)
                main = n.add(f"{p}.bn2", "batchnorm")
            shortcut = x
            if stride != 1 or channels != out:
                n.conv(f"{p}.downsample.0", out, 1, inputs=[x], bias=False, **({"stride": stride} if stride != 1 else {}))
                shortcut = n.add(f"{p}.downsample.1", "batchnorm")
            n.add(f"{p}.add", "add", inputs=[main, shortcut])
            n.add(f"{p}.relu", "relu")
            channels = out
    n.add("avgpool", "avgpool", **{"global": True})
    n.add("flatten", "flatten")
    n.add("fc", "linear", out_features=1000)
    return n


def mobilenet_v2():
    n = Net("mobilenet_v2", "MobileNetV2 (width 1.0), torchvision layout: inverted residuals with depthwise "
            "3x3 convs, ReLU6, linear bottlenecks", (3, 224, 224))
    conv_bn(n, "features.0", 32, 3, act="relu6", stride=2, padding=1)
    channels, index = 32, 1
    for t, c, count, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                           (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)):
        for i in range(count):
            stride = s if i == 0 else 1
            p = f"features.{index}.conv"
            x = n.last
            hidden = channels * t
            part = 0
            if t != 1:
                conv_bn(n, f"{p}.{part}", hidden, 1, act="relu6")
                part += 1
            conv_bn(n, f"{p}.{part}", hidden, 3, act="relu6", padding=1, groups=hidden,
                    **({"stride": stride} if stride != 1 else {}))
            n.conv(f"{p}.{part + 1}", c, 1, bias=False)
            out = n.add(f"{p}.{part + 2}", "batchnorm")
            if stride == 1 and channels == c:
                n.add(f"features.{index}.add", "add", inputs=[out, x])
            channels, index = c, index + 1
    conv_bn(n, f"features.{index}", 1280, 1, act="relu6")
    n.add("avgpool", "avgpool", **{"global": True})
    n.add("flatten", "flatten")
    n.add("classifier.0", "dropout", rate=0.2)
    n.add("classifier.1", "linear", out_features=1000)
    return n


def squeezenet1_0():
    n = Net("squeezenet1_0", "SqueezeNet 1.0, torchvision layout (fire modules, ceil-mode max pooling)",
            (3, 224, 224))
    n.conv("features.0", 96, 7, stride=2)
    n.add("features.1", "relu")
    n.add("features.2", "maxpool", kernel=3, stride=2, ceil_mode=True)

    def fire(i, squeeze, e1, e3):
        p = f"features.{i}"
        n.conv(f"{p}.squeeze", squeeze, 1)
        s = n.add(f"{p}.squeeze_activation", "relu")
        n.conv(f"{p}.expand1x1", e1, 1, inputs=[s])
        a = n.add(f"{p}.expand1x1_activation", "relu")
        n.conv(f"{p}.expand3x3", e3, 3, inputs=[s], padding=1)
        b = n.add(f"{p}.expand3x3_activation", "relu")
        n.add(f"{p}.concat", "concat", inputs=[a, b])

    fire(3, 16, 64, 64)
    fire(4, 16, 64, 64)
    fire(5, 32, 128, 128)
    n.add("features.6", "maxpool", kernel=3, stride=2, ceil_mode=True)
    fire(7, 32, 128, 128)
    fire(8, 48, 192, 192)
    fire(9, 48, 192, 192)
    fire(10, 64, 256, 256)
    n.add("features.11", "maxpool", kernel=3, stride=2, ceil_mode=True)
    fire(12, 64, 256, 256)
    n.add("classifier.0", "dropout", rate=0.5)
    n.conv("classifier.1", 1000, 1)
    n.add("classifier.2", "relu")
    n.add("classifier.3", "avgpool", **{"global": True})
    n.add("flatten", "flatten")
    return n


MODELS = [
    lenet5, wrn_16_4, alexnet, vgg16, googlenet,
    lambda: resnet("resnet18", (2, 2, 2, 2), False, "ResNet-18, torchvision layout"),
    lambda: resnet("resnet50", (3, 4, 6, 3), True,
                   "ResNet-50 v1.5 (stride 2 on the 3x3 conv of the bottleneck), torchvision layout"),
    mobilenet_v2, squeezenet1_0,
]


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for make in MODELS:
        net = make()
        path = ZOO / f"{net.head['name']}.json"
        text = net.text()
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.write_text(text)
    if stale:
        print("out of date:", ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
