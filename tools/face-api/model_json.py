#!/usr/bin/env python3
"""Writes a TF.js layers model.json for one @vladmandic/face-api network (docs/tfjs.md).

face-api ships each network as a bare TF.js weights manifest (NAME-weights_manifest.json plus NAME.bin,
uint8-quantised): the layers are code in its TypeScript sources, not a topology in the file. This script
writes that code down as a Keras functional topology, transcribed from face-api 1.7.15's src/ (the file
each builder follows is named in it), and keeps the manifest as it is except for the last part of each
weight name, which becomes Keras's ("filters" -> "kernel", "depthwise_filter" -> "depthwise_kernel", ...).
The shard bytes are not touched: dkm reads and dequantises the published ones.

usage: model_json.py NET MANIFEST OUT_DIR   (NET: tiny_face_detector, face_landmark_68_tiny,
       face_landmark_68, face_expression, age_gender); writes OUT_DIR/model.json next to the copied NET_model.bin
"""
import json
import sys

KERAS_WEIGHT = {"filters": "kernel", "weights": "kernel", "bias": "bias",
                "depthwise_filter": "depthwise_kernel", "pointwise_filter": "pointwise_kernel"}


class Graph:
    def __init__(self, name, height, width):
        self.name = name
        self.layers = [{"class_name": "InputLayer", "name": "input",
                        "config": {"name": "input", "batch_input_shape": [None, height, width, 3]},
                        "inbound_nodes": []}]

    def add(self, cls, name, inputs, **config):
        config["name"] = name
        self.layers.append({"class_name": cls, "name": name, "config": config,
                            "inbound_nodes": [[[i, 0, 0, {}] for i in inputs]] if inputs else []})
        return name

    def conv(self, name, x, filters, kernel, strides=1, padding="same", activation="linear"):
        return self.add("Conv2D", name, [x], filters=filters, kernel_size=[kernel, kernel],
                        strides=[strides, strides], padding=padding, activation=activation, use_bias=True)

    def sepconv(self, name, x, filters, strides=1, padding="same", activation="linear"):
        return self.add("SeparableConv2D", name, [x], filters=filters, kernel_size=[3, 3],
                        strides=[strides, strides], padding=padding, depth_multiplier=1,
                        activation=activation, use_bias=True)

    def topology(self):
        return {"class_name": "Model", "config": {"name": self.name, "layers": self.layers,
                                                  "input_layers": [["input", 0, 0]],
                                                  "output_layers": [[self.layers[-1]["name"], 0, 0]]}}


def tiny_face_detector():
    """src/tinyYolov2/TinyYolov2Base.ts runMobilenet with src/tinyFaceDetector/TinyFaceDetector.ts's config
    (first layer a plain conv, filters 16..512, no conv6/conv7); the default input size 416."""
    g = Graph("tiny_face_detector", 416, 416)
    x = g.conv("conv0", "input", 16, 3, padding="valid")  # convLayer(x, conv0, 'valid')
    x = g.add("LeakyReLU", "conv0/leaky", [x], alpha=0.1)  # leaky(): relu(x - 0.1 x) + 0.1 x
    for i, filters in enumerate([32, 64, 128, 256, 512], start=1):
        x = g.add("MaxPooling2D", f"pool{i - 1}", [x], pool_size=[2, 2], strides=[2, 2], padding="same")
        # src/tinyYolov2/depthwiseSeparableConv.ts: pad 1, separable conv 'valid', bias, leaky
        x = g.add("ZeroPadding2D", f"conv{i}/pad", [x], padding=[[1, 1], [1, 1]])
        x = g.sepconv(f"conv{i}", x, filters, padding="valid")
        x = g.add("LeakyReLU", f"conv{i}/leaky", [x], alpha=0.1)
    x = g.add("MaxPooling2D", "pool5", [x], pool_size=[2, 2], strides=[1, 1], padding="same")
    g.conv("conv8", x, 25, 1, padding="valid")  # 5 anchors x (4 box + 1 score)
    return g


def dense_block(g, name, x, filters, convs, first):
    """src/faceFeatureExtractor/denseBlock.ts (denseBlock3 for 3 convs, denseBlock4 for 4): each conv's
    output is added to all earlier ones; the first is a plain conv on the network input."""
    if first:
        out1 = g.conv(f"{name}/conv0", x, filters, 3, strides=2, activation="relu")
    else:
        out1 = g.sepconv(f"{name}/conv0", x, filters, strides=2, activation="relu")
    outs = [out1, g.sepconv(f"{name}/conv1", out1, filters)]
    for k in range(2, convs):
        s = g.add("Add", f"{name}/sum{k}", outs)
        s = g.add("Activation", f"{name}/relu{k}", [s], activation="relu")
        outs.append(g.sepconv(f"{name}/conv{k}", s, filters))
    s = g.add("Add", f"{name}/sum{convs}", outs)
    return g.add("Activation", f"{name}/out", [s], activation="relu")


def face_net(name, blocks, pool, classes):
    """src/faceFeatureExtractor/{Tiny,}FaceFeatureExtractor.ts (112 x 112 input, dense blocks, average pool)
    then src/faceProcessor/FaceProcessor.ts's fully connected layer "fc"."""
    g = Graph(name, 112, 112)
    x = "input"
    for i, filters in enumerate([32, 64, 128, 256][:blocks]):
        x = dense_block(g, f"dense{i}", x, filters, 3 if blocks == 3 else 4, first=i == 0)
    x = g.add("AveragePooling2D", "pool", [x], pool_size=[pool, pool], strides=[2, 2], padding="valid")
    x = g.add("Flatten", "flatten", [x])
    g.add("Dense", "fc", [x], units=classes, activation="linear", use_bias=True)
    return g


def age_gender():
    """src/xception/TinyXception.ts with 2 main blocks (src/ageGenderNet/AgeGenderNet.ts) on a 112 x 112 input,
    then a 7x7 average and the two heads fc/age (1) and fc/gender (2, softmax)."""
    g = Graph("age_gender", 112, 112)

    def relu(name, x):
        return g.add("Activation", name, [x], activation="relu")

    def reduction(name, x, filters, activate_input=True):
        out = relu(f"{name}/relu_in", x) if activate_input else x
        out = g.sepconv(f"{name}/separable_conv0", out, filters)
        out = g.sepconv(f"{name}/separable_conv1", relu(f"{name}/relu0", out), filters)
        out = g.add("MaxPooling2D", f"{name}/pool", [out], pool_size=[3, 3], strides=[2, 2], padding="same")
        return g.add("Add", f"{name}/sum", [out, g.conv(f"{name}/expansion_conv", x, filters, 1, strides=2)])

    def main(name, x):
        out = x
        for k in range(3):
            out = g.sepconv(f"{name}/separable_conv{k}", relu(f"{name}/relu{k}", out), 128)
        return g.add("Add", f"{name}/sum", [out, x])

    x = g.conv("entry_flow/conv_in", "input", 32, 3, strides=2, activation="relu")
    x = reduction("entry_flow/reduction_block_0", x, 64, activate_input=False)
    x = reduction("entry_flow/reduction_block_1", x, 128)
    for i in range(2):
        x = main(f"middle_flow/main_block_{i}", x)
    x = reduction("exit_flow/reduction_block", x, 256)
    x = g.sepconv("exit_flow/separable_conv", x, 512, activation="relu")
    x = g.add("AveragePooling2D", "pool", [x], pool_size=[7, 7], strides=[2, 2], padding="valid")
    x = g.add("Flatten", "flatten", [x])
    g.add("Dense", "fc/age", [x], units=1, activation="linear", use_bias=True)
    g.add("Dense", "fc/gender", [x], units=2, activation="softmax", use_bias=True)
    return g


NETS = {
    "age_gender": age_gender,
    "tiny_face_detector": tiny_face_detector,
    "face_landmark_68_tiny": lambda: face_net("face_landmark_68_tiny", 3, 14, 136),
    "face_landmark_68": lambda: face_net("face_landmark_68", 4, 7, 136),
    "face_expression": lambda: face_net("face_expression", 4, 7, 7),
}


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in NETS:
        sys.exit(__doc__)
    net, manifest_path, out_dir = sys.argv[1:]
    with open(manifest_path) as f:
        manifest = json.load(f)
    for group in manifest:
        for w in group["weights"]:
            scope, _, last = w["name"].rpartition("/")
            w["name"] = f"{scope}/{KERAS_WEIGHT[last]}"
    model = {"format": "layers-model", "generatedBy": f"dkm tools/face-api/model_json.py {net}",
             "convertedBy": "@vladmandic/face-api@1.7.15 weights manifest",
             "modelTopology": {"keras_version": "2.x", "backend": "tensorflow",
                               "model_config": NETS[net]().topology()},
             "weightsManifest": manifest}
    with open(f"{out_dir}/model.json", "w") as f:
        json.dump(model, f, indent=1)


if __name__ == "__main__":
    main()
