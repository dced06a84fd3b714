"""The OCR models as labelcheck runs them: RapidOCR's PP-OCRv4 detector and recogniser with
their per-layer arithmetic folded into the convolutions, the same function in fewer steps.

PaddlePaddle's exporter writes each PP-LCNetV3 block of these models as a convolution, a
learnable scale and shift (an elementwise Mul and Add over the whole feature map), hard-swish
spelled out as four elementwise ops, and another scale and shift. ONNX Runtime fuses none of
them (its Conv+Mul fusion wants the constant as the second input), and the elementwise ops,
which cost as much as the convolutions, also break its blocked memory layout into reorders.
`fold` rewrites the graph: a scale and shift after a convolution goes into its weights and
bias, one before a 1x1 convolution without padding likewise, and hard-swish becomes
``x * HardSigmoid(x)``. Nothing is approximated: the outputs equal the original's up to float
rounding (tests/test_ocr_models.py compares them). Measured in docs/BENCHMARKS.md.

The rewritten files are made from the models in the ``rapidocr`` wheel on first use (about a
second) and kept in the user's cache folder; nothing is downloaded. Where that folder cannot be
written, the wheel's files are used as they are: slower, with the same results.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections import defaultdict
from functools import cache
from pathlib import Path

log = logging.getLogger(__name__)

FOLD_VERSION = 2  # part of the cached files' names: a change to `fold` makes new files
FOLD_KEY = "labelcheck.fold"  # metadata entry of a folded model: its FOLD_VERSION
SOURCES = {"det": "ch_PP-OCRv4_det_mobile.onnx", "rec": "ch_PP-OCRv4_rec_mobile.onnx"}


@cache
def model_paths() -> dict[str, Path]:
    """The detector's and the recogniser's files to load ("det", "rec"): the folded ones in
    the cache folder, made now if missing, or the wheel's own where they cannot be made."""
    from importlib.metadata import version

    import rapidocr
    from platformdirs import user_cache_dir

    wheel = Path(rapidocr.__file__).parent / "models"
    folder = Path(user_cache_dir("labelcheck", appauthor=False)) / "ocr-models"
    tag = f"rapidocr{version('rapidocr')}-fold{FOLD_VERSION}"
    paths = {}
    for task, name in SOURCES.items():
        target = folder / f"{Path(name).stem}-{tag}.onnx"
        try:
            if not target.is_file():
                _write_folded(wheel / name, target)
                _remove_older(target)
            paths[task] = target
        except Exception as error:  # noqa: BLE001 - no onnx, a read-only or full cache, a
            # model this fold cannot check: the wheel's model computes the same, only slower
            log.warning("OCR: using the unfolded %s model (%s)", task, error)
            paths[task] = wheel / name
    return paths


def _remove_older(target: Path) -> None:
    """Folded files of the same model made by another rapidocr or `fold` version."""
    stem = target.name.split("-rapidocr")[0]
    for old in target.parent.glob(f"{stem}-rapidocr*.onnx"):
        if old != target:
            old.unlink(missing_ok=True)


def _write_folded(source: Path, target: Path) -> None:
    """Fold `source` into `target`, written whole or not at all (two workers may race)."""
    import onnx

    target.parent.mkdir(parents=True, exist_ok=True)
    model = fold(onnx.load(source))
    mark = model.metadata_props.add()
    mark.key, mark.value = FOLD_KEY, str(FOLD_VERSION)
    onnx.checker.check_model(model)
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(model.SerializeToString())
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def fold(model):
    """`model` (an ``onnx.ModelProto``, changed in place) with hard-swish as HardSigmoid times
    its input and the scale-and-shift pairs folded into the neighbouring convolutions."""
    graph = _Graph(model)
    graph.hard_swish_to_hard_sigmoid()
    graph.fold_affine_after_conv()
    graph.fold_affine_before_pointwise_conv()
    graph.drop_unused_constants()
    return model


class _Graph:
    """An ONNX graph with its constants as arrays, and the edits `fold` makes."""

    def __init__(self, model):
        from onnx import numpy_helper

        self.graph = model.graph
        self.constants = {init.name: numpy_helper.to_array(init)
                          for init in self.graph.initializer}
        kept = []
        for node in self.graph.node:  # Constant nodes become initializers, to be edited
            if node.op_type == "Constant" and node.attribute[0].name == "value":
                self._set(node.output[0], numpy_helper.to_array(node.attribute[0].t))
            else:
                kept.append(node)
        self._replace_nodes(kept)

    # -- the rewrites -------------------------------------------------------------------------

    def hard_swish_to_hard_sigmoid(self) -> None:
        """``x * Clip(x + 3, 0, 6) / 6`` (five nodes' worth of passes over the feature map)
        becomes ``x * HardSigmoid(x)`` with HardSigmoid's alpha 1/6 and beta 1/2."""
        from onnx import helper

        producer, users = self._producers(), self._users()
        swap = {}
        for div in self.graph.node:
            found = self._hard_swish(div, producer, users)
            if found:
                x, dropped = found
                gate = div.output[0] + "_gate"
                swap[id(div)] = [
                    helper.make_node("HardSigmoid", [x], [gate], alpha=1 / 6, beta=0.5,
                                     name=div.name + "_hard_sigmoid"),
                    helper.make_node("Mul", [x, gate], [div.output[0]], name=div.name + "_mul")]
                swap.update({id(node): [] for node in dropped})
        self._replace_nodes([new for node in self.graph.node
                             for new in swap.get(id(node), [node])])

    def fold_affine_after_conv(self) -> None:
        """Conv -> Mul(a) -> Add(b), a and b single numbers: the convolution's weights times
        a, its bias times a plus b."""
        users, dropped = self._users(), set()
        for conv in list(self.graph.node):
            mul = self._only_user(conv, users, "Mul") if conv.op_type == "Conv" else None
            add = mul and self._only_user(mul, users, "Add")
            if not add or conv.input[1] not in self.constants or len(users[conv.input[1]]) > 1:
                continue
            scale, shift = self._number(mul), self._number(add)
            if scale is None or shift is None:
                continue
            bias = self._bias(conv)
            self._set(conv.input[1], self.constants[conv.input[1]] * scale)
            self._set(conv.input[2], bias * scale + shift)
            conv.output[0] = add.output[0]
            dropped |= {id(mul), id(add)}
        self._replace_nodes([node for node in self.graph.node if id(node) not in dropped])

    def fold_affine_before_pointwise_conv(self) -> None:
        """Mul(c) -> Add(d) -> 1x1 Conv without padding or groups: weights times c, bias plus
        d times the sum of each output channel's weights (exact: no padding to shift)."""
        users, dropped = self._users(), set()
        for mul in list(self.graph.node):
            add = self._only_user(mul, users, "Add") if mul.op_type == "Mul" else None
            scale, shift = (self._number(mul), self._number(add)) if add else (None, None)
            convs = users[add.output[0]] if add else []
            if scale is None or shift is None or not convs or not all(
                    self._is_pointwise(conv, add.output[0], users) for conv in convs):
                continue
            source = next(name for name in mul.input if name not in self.constants)
            for conv in convs:
                weights, bias = self.constants[conv.input[1]], self._bias(conv)
                self._set(conv.input[2], bias + shift * weights.sum(axis=(1, 2, 3)))
                self._set(conv.input[1], weights * scale)
                conv.input[0] = source
            dropped |= {id(mul), id(add)}
        self._replace_nodes([node for node in self.graph.node if id(node) not in dropped])

    def drop_unused_constants(self) -> None:
        """Initializers no node reads any more (the scales, shifts and hard-swish's numbers)."""
        read = {name for node in self.graph.node for name in node.input}
        kept = [init for init in self.graph.initializer if init.name in read]
        del self.graph.initializer[:]
        self.graph.initializer.extend(kept)

    # -- reading the graph --------------------------------------------------------------------

    def _hard_swish(self, div, producer, users):
        """For a Div ending ``x * Clip(x + 3, 0, 6) / 6``: x and the three nodes before it."""
        if div.op_type != "Div" or self._value(div.input[1]) != 6.0:
            return None
        mul = producer.get(div.input[0])
        if mul is None or mul.op_type != "Mul":
            return None
        clips = [producer.get(name) for name in mul.input]
        clip = next((node for node in clips if node is not None and node.op_type == "Clip"), None)
        if clip is None or [self._value(name) for name in clip.input[1:]] != [0.0, 6.0]:
            return None
        x = next(name for name in mul.input if producer.get(name) is not clip)
        add = producer.get(clip.input[0])
        if add is None or add.op_type != "Add" or add.input[0] != x or \
                self._value(add.input[1]) != 3.0:
            return None
        if any(len(users[node.output[0]]) != 1 for node in (add, clip, mul)):
            return None
        return x, (add, clip, mul)

    def _is_pointwise(self, conv, source: str, users) -> bool:
        """A 1x1, ungrouped, unpadded convolution reading `source`, owning its weights."""
        from onnx import helper

        if conv is None or conv.op_type != "Conv" or conv.input[0] != source:
            return False
        weights = self.constants.get(conv.input[1])
        attributes = {a.name: helper.get_attribute_value(a) for a in conv.attribute}
        return (weights is not None and weights.shape[2:] == (1, 1)
                and not any(attributes.get("pads", ())) and attributes.get("group", 1) == 1
                and attributes.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET")
                and len(users[conv.input[1]]) == 1)

    def _only_user(self, node, users, op_type: str):
        """The one node reading `node`'s output, if it is an `op_type`."""
        readers = users[node.output[0]]
        if len(readers) == 1 and readers[0] is not None and readers[0].op_type == op_type:
            return readers[0]
        return None

    def _number(self, node) -> float | None:
        """The single-number constant operand of a two-input node whose other input is not
        constant (a scale or a shift)."""
        values = [self._value(name) for name in node.input]
        if len(values) == 2 and (values[0] is None) != (values[1] is None):
            return values[0] if values[0] is not None else values[1]
        return None

    def _value(self, name: str) -> float | None:
        array = self.constants.get(name)
        return float(array.reshape(-1)[0]) if array is not None and array.size == 1 else None

    def _bias(self, conv):
        """The convolution's bias, made (zeros) if it has none."""
        import numpy as np

        if len(conv.input) < 3 or not conv.input[2]:
            name = conv.output[0] + "_bias"
            self._set(name, np.zeros(self.constants[conv.input[1]].shape[0], np.float32))
            del conv.input[2:]
            conv.input.append(name)
        return self.constants[conv.input[2]]

    def _producers(self) -> dict:
        return {output: node for node in self.graph.node for output in node.output}

    def _users(self) -> defaultdict:
        """Which nodes read each value (None stands for the graph's output)."""
        users: defaultdict = defaultdict(list)
        for node in self.graph.node:
            for name in node.input:
                users[name].append(node)
        for output in self.graph.output:
            users[output.name].append(None)
        return users

    # -- editing ------------------------------------------------------------------------------

    def _set(self, name: str, array) -> None:
        """Give initializer `name` the value `array` (float32), adding it if new."""
        import numpy as np
        from onnx import numpy_helper

        array = np.asarray(array, dtype=np.float32) if array.dtype == np.float64 else array
        self.constants[name] = array
        tensor = numpy_helper.from_array(array, name)
        for init in self.graph.initializer:
            if init.name == name:
                init.CopyFrom(tensor)
                return
        self.graph.initializer.append(tensor)

    def _replace_nodes(self, nodes) -> None:
        del self.graph.node[:]
        self.graph.node.extend(nodes)
