"""How to launch this package's kernels, read from its manifest (the "kernel" section that
`attnc export --target ptx` writes): which module variant fits a GPU and head dim, each entry's
grid, block and shared memory, and each argument's value, found by the argument's name.

Pure Python (no torch, no GPU): the launcher in _op.py supplies sizes, device pointers and tensor
maps; everything here can be checked on any machine.
"""
import ast
import fractions
import math

FORWARD_TENSORS = ("q", "k", "v", "out", "lse", "pre_out", "tiles")
# The decode entry's own merge (decode.merging): 0 for each leaves it to the merge entry, launched after it.
DECODE_MERGE = ("merge_counters", "merged_out", "merged_lse", "merged_pre_out")
BACKWARD_TENSORS = ("q", "k", "v", "dout", "out", "pre_out", "dout_eff", "lse", "delta", "dq", "dk", "dv", "row_grads", "tiles")
RAGGED_TENSORS = ("block_table", "kv_lengths", "query_starts", "work", "input_offsets")


class PlanError(RuntimeError):
    """The manifest and this runtime disagree, or no kernel fits this GPU or head dim."""


# -- expressions of the manifest ("ceil(Nq / block_m)", "B * H", "[2*D, 2*D*Nq]") ------------------

_OPERATORS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
              ast.Div: lambda a, b: fractions.Fraction(a) / b, ast.FloorDiv: lambda a, b: a // b}
_FUNCTIONS = {"ceil": math.ceil, "floor": math.floor, "max": max, "min": min}
_compiled = {}


def _compile(text):
    """An evaluator for one expression of the manifest: names, integers, + - * / //, ceil/floor/min/max.
    Division is exact (ceil(Nq / block_m) is the ceiling of the true quotient)."""
    def build(node):
        if isinstance(node, ast.Expression):
            return build(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return lambda env, value=node.value: value
        if isinstance(node, ast.Name):
            def name(env, key=node.id):
                if key not in env:
                    raise PlanError(f"the manifest's expression '{text}' names '{key}', which this runtime does not provide")
                return env[key]
            return name
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            op, left, right = _OPERATORS[type(node.op)], build(node.left), build(node.right)
            return lambda env: op(left(env), right(env))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS and not node.keywords:
            fn, args = _FUNCTIONS[node.func.id], [build(a) for a in node.args]
            return lambda env: fn(*[a(env) for a in args])
        raise PlanError(f"this runtime cannot evaluate the manifest's expression '{text}'")

    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        raise PlanError(f"the manifest's expression '{text}' is not one this runtime reads") from None
    return build(tree)


def evaluate(text, env):
    """The integer value of a manifest expression (or a plain integer) under `env`."""
    if isinstance(text, int):
        return text
    fn = _compiled.get(text)
    if fn is None:
        fn = _compiled[text] = _compile(text)
    value = fn(env)
    if isinstance(value, fractions.Fraction):
        if value.denominator != 1:
            raise PlanError(f"the manifest's expression '{text}' is not an integer here ({value})")
        value = int(value)
    return value


def evaluate_list(text, env):
    """'[D, Nq, B*H]' -> [64, 1000, 32]."""
    inner = text.strip()
    if not (inner.startswith("[") and inner.endswith("]")):
        raise PlanError(f"the manifest's list '{text}' is not bracketed")
    return [evaluate(part, env) for part in inner[1:-1].split(",")]


# -- choosing a module ---------------------------------------------------------------------------

def architectures(capability, forced=None):
    """The module architectures a GPU of compute capability (major, minor) runs, best first.
    sm_90a code runs on sm_90 itself only; sm_80 and sm_90 PTX is compiled for any later GPU."""
    major, minor = capability
    if major < 8:
        raise PlanError(f"attnc's kernels need an NVIDIA GPU of compute capability 8.0 (Ampere) or newer; this one is {major}.{minor}")
    if (major, minor) == (9, 0):
        available = ["sm_90a", "sm_90", "sm_80"]
    elif major >= 9:
        available = ["sm_90", "sm_80"]
    else:
        available = ["sm_80"]
    if forced:
        if forced not in available:
            raise PlanError(f"ATTNC_TORCH_ARCH={forced} does not run on a GPU of compute capability {major}.{minor} (it runs {available})")
        return [forced]
    return available


def choose(variants, capability, head_dim, value_dim, what, forced=None):
    """The variant of `variants` (manifest dicts) for this GPU and head dims."""
    dims = sorted({v["head_dim"] for v in variants})
    for arch in architectures(capability, forced):
        for v in variants:
            if v["arch"] == arch and v["head_dim"] == head_dim and v["value_dim"] == value_dim:
                return v
    if value_dim != head_dim:
        raise PlanError(f"{what}: the exported kernels take D == Dv; got D = {head_dim}, Dv = {value_dim}")
    raise PlanError(f"{what}: no exported kernel for head dim {head_dim} on this GPU; exported head dims: {dims}")


# -- arguments by name ---------------------------------------------------------------------------

class Sizes:
    """The sizes of one launch and what follows from them for the forward's and the backward's tilings."""

    def __init__(self, B, H, Hkv, Nq, Nkv, D, Dv, extra=None):
        self.B, self.H, self.Hkv, self.Nq, self.Nkv, self.D, self.Dv = B, H, Hkv, Nq, Nkv, D, Dv
        self.query_offset = max(0, Nkv - Nq)  # bottom-right alignment, as attnc's Java launcher
        self.extra = dict(extra or {})

    def key(self):
        return (self.B, self.H, self.Hkv, self.Nq, self.Nkv, self.D, self.Dv, tuple(sorted(self.extra.items())))

    def env(self):
        return {"B": self.B, "H": self.H, "Hkv": self.Hkv, "Nq": self.Nq, "Nkv": self.Nkv, "D": self.D, "Dv": self.Dv,
                "Q0": self.query_offset, **self.extra}


class TileList:
    """One tiling's list geometry: `rows` rows of `width` ints, per the manifest's layout."""

    def __init__(self, rows, width, slots_b, slots_h):
        self.rows, self.width, self.slots_b, self.slots_h = rows, width, slots_b, slots_h

    @property
    def length(self):
        return self.rows * self.width

    @property
    def slot_stride_b(self):
        return self.slots_h if self.slots_b > 1 else 0

    @property
    def slot_stride_h(self):
        return 1 if self.slots_h > 1 else 0


class Kernel:
    """The manifest's "kernel" section with the launch rules of every entry."""

    def __init__(self, kernel, params, inputs):
        self.k = kernel
        self.params = params          # [{"name", "type", ...}] of the manifest
        self.inputs = inputs          # [{"name", "dtype", "shape"}]
        self.tile_rule = kernel["tile_list"]
        self.backward = kernel.get("backward")
        self.decode = kernel.get("decode")
        self.ragged = kernel.get("ragged")
        self.full_bit = self.tile_rule["full_bit"]
        # Plain attributes, not properties: torch.compile traces code that reads them.
        self.writes_lse = bool(kernel["writes_lse"])
        self.transforms_output = "p_pre_out" in [a["name"] for a in kernel["arguments"]]
        self.classifies = self.tile_rule["builder"] == "classifier"

    # forward -----------------------------------------------------------------------------------

    def forward_arguments(self, variant):
        return variant.get("arguments", self.k["arguments"])

    def forward_tiles(self, variant, s):
        block_m, block_n = variant["block_m"], variant["block_n"]
        slots_b = s.B if self.tile_rule["per_batch"] else 1
        slots_h = s.H if self.tile_rule["per_head"] else 1
        query_blocks, kv_tiles = -(-s.Nq // block_m), -(-s.Nkv // block_n)
        return TileList(slots_b * slots_h * query_blocks, kv_tiles + 1, slots_b, slots_h)

    def forward_env(self, variant, s):
        t = self.forward_tiles(variant, s)
        return {**s.env(), **{k: v for k, v in variant.items() if isinstance(v, int)},
                "slots": t.slots_b * t.slots_h, "kv_tiles": t.width - 1}

    def forward_launch(self, variant, s):
        """(grid, block, shared bytes) of the attention entry."""
        env = self.forward_env(variant, s)
        return ([evaluate(g, env) for g in self.k["grid"]], [evaluate(b, env) for b in self.k["block"]], variant["shared_bytes"])

    def classifier_launch(self, variant, s):
        c = self.tile_rule["classifier"]
        env = self.forward_env(variant, s)
        return ([evaluate(g, env) for g in c["grid"]], [evaluate(b, env) for b in c["block"]], evaluate(c["shared_bytes"], env))

    def forward_values(self, variant, s, pointers, params):
        """Every forward argument's value by name: `pointers` maps tensor names (q, k, v, out, lse,
        pre_out, tiles, in_<input>) to device addresses (0 for none), `params` param names to values."""
        t = self.forward_tiles(variant, s)
        values = {"p_" + name: pointers.get(name, 0) for name in FORWARD_TENSORS}
        values.update({"p_in_" + i["name"]: pointers["in_" + i["name"]] for i in self.inputs})
        values.update({"p_B": s.B, "p_H": s.H, "p_Hkv": s.Hkv, "p_Nq": s.Nq, "p_Nkv": s.Nkv, "p_query_offset": s.query_offset,
                       "p_kv_tiles": t.width - 1, "p_slots_h": t.slots_h, "p_slot_stride_b": t.slot_stride_b,
                       "p_slot_stride_h": t.slot_stride_h})
        values.update({"p_size_" + n: v for n, v in s.extra.items()})
        values.update(param_values(self.params, params))
        return values

    def tensor_map_specs(self, variant, s):
        """(spec, tensor name, dims, strides in bytes, box) of each tensor map the variant takes."""
        env = self.forward_env(variant, s)
        return [(m, m["tensor"], evaluate_list(m["dims"], env), evaluate_list(m["strides_bytes"], env), evaluate_list(m["box"], env))
                for m in variant.get("tensor_maps", [])]

    # backward ----------------------------------------------------------------------------------
    def backward_entries(self):
        return self.backward["entries"]

    @property
    def backward_classifies(self):
        return "classify" in self.backward["entries"]

    @property
    def gradient_inputs(self):
        """Names of the inputs the backward gives a gradient for, in the manifest's order."""
        return [g[len("p_grad_"):] for g in self.backward["gradients"] if g.startswith("p_grad_")]

    def backward_tiles(self, variant, s):
        slots_b = s.B if self.tile_rule["per_batch"] else 1
        slots_h = s.H if self.tile_rule["per_head"] else 1
        q_tiles, kv_tiles = -(-s.Nq // variant["block_q"]), -(-s.Nkv // variant["block_kv"])
        return TileList(slots_b * slots_h * kv_tiles, q_tiles + 1, slots_b, slots_h)

    def backward_env(self, variant, s):
        t = self.backward_tiles(variant, s)
        return {**s.env(), **{k: v for k, v in variant.items() if isinstance(v, int)},
                "slots": t.slots_b * t.slots_h, "q_tiles": t.width - 1, "kv_tiles": t.rows // (t.slots_b * t.slots_h)}

    def backward_arguments(self, entry, variant):
        """An entry's arguments: a wgmma variant lists its own for main and classify (they take its tensor maps)."""
        if entry in ("main", "classify") and "arguments" in variant:
            return variant["arguments"]
        return self.backward["entries"][entry]["arguments"]

    def backward_tensor_map_specs(self, variant, s):
        """(spec, tensor name, dims, strides in bytes, box) of each tensor map the backward variant takes."""
        env = self.backward_env(variant, s)
        return [(m, m["tensor"], evaluate_list(m["dims"], env), evaluate_list(m["strides_bytes"], env), evaluate_list(m["box"], env))
                for m in variant.get("tensor_maps", [])]

    def backward_launch(self, entry, variant, s):
        e = self.backward["entries"][entry]
        env = self.backward_env(variant, s)
        return ([evaluate(g, env) for g in e["grid"]], [evaluate(b, env) for b in e["block"]], evaluate(e["shared_bytes"], env))

    def backward_values(self, variant, s, pointers, params):
        """Every backward argument's value by name; `pointers` as for forward_values, with the
        backward's tensors (dout, delta, dq, dk, dv, row_grads, dout_eff, grad_<input>, ...)."""
        t = self.backward_tiles(variant, s)
        values = {"p_" + name: pointers.get(name, 0) for name in BACKWARD_TENSORS}
        values.update({"p_in_" + i["name"]: pointers["in_" + i["name"]] for i in self.inputs})
        values.update({"p_grad_" + n: pointers["grad_" + n] for n in self.gradient_inputs})
        values.update({"p_B": s.B, "p_H": s.H, "p_Hkv": s.Hkv, "p_Nq": s.Nq, "p_Nkv": s.Nkv, "p_query_offset": s.query_offset,
                       "p_rows": s.B * s.H * s.Nq, "p_q_tiles": t.width - 1, "p_kv_tiles": t.rows // (t.slots_b * t.slots_h),
                       "p_slots_h": t.slots_h, "p_slot_stride_b": t.slot_stride_b, "p_slot_stride_h": t.slot_stride_h})
        values.update({"p_size_" + n: v for n, v in s.extra.items()})
        values.update(param_values(self.params, params))
        return values

    def main_values(self, values):
        """The main and classify entries of a pattern with an output transform read dO after it
        (dout_eff, which the delta entry writes) where they take p_dout."""
        if any(a["name"] == "p_dout_eff" for a in self.backward["entries"].get("delta", {}).get("arguments", [])):
            return {**values, "p_dout": values["p_dout_eff"]}
        return values


    # decode ------------------------------------------------------------------------------------
    def decodes(self, s):
        """Whether attnc's launcher would decode these sizes (a few queries a head over many keys)
        with a module exported for their head dims."""
        d = self.decode
        return (d is not None and s.Nq <= d["max_queries"] and s.Nkv >= d["min_keys"] and s.D == s.Dv
                and any(v["head_dim"] == s.D for v in d["variants"]))

    def decode_variant(self, capability, s, forced=None, paged=False):
        """The decode module for this GPU (its paged twin when `paged`): GQA-packed where the
        manifest allows it and a group's heads x queries fit one block's rows, else one block a head;
        of a mode's variants, the one whose warps share the rows (warp_keys) where the rows fit it."""
        for mode in ("split_packed_paged", "split_paged") if paged else ("split_packed", "split"):
            packed = mode.startswith("split_packed")
            rows = (s.H // s.Hkv) * s.Nq if packed else s.Nq
            variants = [v for v in self.decode["variants"] if v["mode"] == mode
                        and (rows <= v["block_m"] or not (packed or v.get("warp_keys")))]
            if not variants:
                continue
            return choose(sorted(variants, key=lambda v: not v.get("warp_keys")), capability, s.D, s.Dv, f"decode ({mode})", forced)
        raise PlanError(f"the manifest describes no {'paged' if paged else 'contiguous'} decode module")

    def decode_tiles(self, variant, s):
        """The decode lists, built with the caller's sizes whether the entry runs packed or not;
        a paged launch's sequences each have lists of their own."""
        t = self.decode["tile_list"]
        slots_b = s.B if t["per_batch"] or variant["mode"].endswith("paged") else 1
        slots_h = s.H if t["per_head"] else 1
        query_blocks, kv_tiles = -(-s.Nq // variant["block_m"]), -(-s.Nkv // variant["block_n"])
        return TileList(slots_b * slots_h * query_blocks, kv_tiles + 1, slots_b, slots_h)

    def decode_env(self, variant, s, splits=1):
        t = self.decode_tiles(variant, s)
        return {**s.env(), **{k: v for k, v in variant.items() if isinstance(v, int)},
                "slots": t.slots_b * t.slots_h, "kv_tiles": t.width - 1, "splits": splits}

    def decode_splits(self, variant, s, multiprocessors, resident):
        """One wave: as many blocks as the device holds at once (`resident` a multiprocessor, the
        driver's occupancy), at most the kv tiles; any count from 1 to kv_tiles is correct."""
        grid, _, _ = self.decode_launch(variant, s, 1)
        blocks = grid[0] * grid[1]
        return max(1, min(multiprocessors * max(1, resident) // blocks, self.decode_tiles(variant, s).width - 1))

    def decode_launch(self, variant, s, splits):
        """(grid, block, shared bytes) of the decode entry of `variant`'s mode."""
        e = self.decode["entries"][variant["mode"]]
        env = self.decode_env(variant, s, splits)
        return ([evaluate(g, env) for g in e["grid"]], [evaluate(b, env) for b in e["block"]], evaluate(e["shared_bytes"], env))

    def decode_classifier_launch(self, variant, s):
        c = self.decode["tile_list"]["classifier"]
        env = self.decode_env(variant, s)
        return ([evaluate(g, env) for g in c["grid"]], [evaluate(b, env) for b in c["block"]], evaluate(c["shared_bytes"], env))

    def merge_launch(self, s):
        e = self.decode["entries"]["merge"]
        env = s.env()
        return ([evaluate(g, env) for g in e["grid"]], [evaluate(b, env) for b in e["block"]], evaluate(e["shared_bytes"], env))

    def decode_values(self, variant, s, pointers, params, pages=None):
        """(the classifier's values, the decode entry's): every argument by name; `pointers` as for
        forward_values, with out and lse the partial buffers (and block_table, kv_lengths when
        paged, `pages` = (page_shift, max_pages)). The classifier takes the caller's sizes; a packed
        entry runs with H := Hkv, Nq := group x Nq and packed_nq := Nq."""
        t = self.decode_tiles(variant, s)
        values = {"p_" + name: pointers.get(name, 0) for name in FORWARD_TENSORS + ("block_table", "kv_lengths") + DECODE_MERGE}
        if pages is not None:
            values.update({"p_page_shift": pages[0], "p_max_pages": pages[1]})
        values.update({"p_in_" + i["name"]: pointers["in_" + i["name"]] for i in self.inputs})
        values.update({"p_B": s.B, "p_H": s.H, "p_Hkv": s.Hkv, "p_Nq": s.Nq, "p_Nkv": s.Nkv, "p_query_offset": s.query_offset,
                       "p_kv_tiles": t.width - 1, "p_slots_h": t.slots_h, "p_slot_stride_b": t.slot_stride_b,
                       "p_slot_stride_h": t.slot_stride_h, "p_packed_nq": s.Nq})
        values.update({"p_size_" + n: v for n, v in s.extra.items()})
        values.update(param_values(self.params, params))
        launch = dict(values)
        if variant["mode"].startswith("split_packed"):
            launch.update({"p_H": s.Hkv, "p_Nq": (s.H // s.Hkv) * s.Nq})
        return values, launch

    def merge_values(self, s, pointers, params, splits):
        """The merge entry's arguments by name: the partials, the output's out, lse and pre_out
        (float32), the inputs a sink or output transform reads, the caller's sizes and the splits."""
        values = {"p_partial_out": pointers["partial_out"], "p_partial_lse": pointers["partial_lse"], "p_out": pointers["out"],
                  "p_lse": pointers.get("lse", 0), "p_pre_out": pointers.get("pre_out", 0), "p_B": s.B, "p_H": s.H, "p_Hkv": s.Hkv,
                  "p_Nq": s.Nq, "p_Nkv": s.Nkv, "p_query_offset": s.query_offset, "p_splits": splits}
        values.update({"p_in_" + i["name"]: pointers["in_" + i["name"]] for i in self.inputs})
        values.update({"p_size_" + n: v for n, v in s.extra.items()})
        values.update(param_values(self.params, params))
        return values

    # ragged prefill ----------------------------------------------------------------------------
    def ragged_refusal(self):
        """Why this package runs no ragged prefill (the manifest's reason), or None."""
        if self.ragged is None:
            return "its manifest has no ragged section: it was exported by an attnc without one"
        return self.ragged if isinstance(self.ragged, str) else None

    def ragged_variant(self, capability, head_dim, value_dim, forced=None):
        return choose(self.ragged["variants"], capability, head_dim, value_dim, "ragged prefill", forced)

    def ragged_slots_h(self, H):
        return H if self.ragged["tile_list"]["per_head"] else 1

    def ragged_regions(self, variant, H, query_counts, kv_lengths):
        """Where each sequence's tile lists go in p_tiles, as the classifier writes them: for each
        sequence b with queries, (b, offset in ints, query blocks, row width = ceil(kv_lengths[b] /
        block_n) + 1), its slots_h x query blocks lists in rows from offset (slot s, query block x at
        row s * query blocks + x); and the ints in all."""
        slots_h, regions, offset = self.ragged_slots_h(H), [], 0
        for b, (nq, nkv) in enumerate(zip(query_counts, kv_lengths)):
            if nq == 0:
                continue
            blocks, width = -(-nq // variant["block_m"]), -(-nkv // variant["block_n"]) + 1
            regions.append((b, offset, blocks, width))
            offset += slots_h * blocks * width
        return regions, offset

    def ragged_values(self, variant, s, pointers, params, page_shift, max_pages):
        """The entry's arguments by name, as attnc's launcher passes them: `s` holds the largest Nq and
        Nkv of the sequences (each block replaces them with its own); `pointers` maps tensor names (as
        forward_values, and block_table, kv_lengths, query_starts, work, input_offsets) to addresses."""
        slots_h = self.ragged_slots_h(s.H)
        values = {"p_" + name: pointers.get(name, 0) for name in FORWARD_TENSORS + RAGGED_TENSORS}
        values.update({"p_in_" + i["name"]: pointers["in_" + i["name"]] for i in self.inputs})
        values.update({"p_B": s.B, "p_H": s.H, "p_Hkv": s.Hkv, "p_Nq": s.Nq, "p_Nkv": s.Nkv, "p_query_offset": s.query_offset,
                       "p_kv_tiles": -(-s.Nkv // variant["block_n"]), "p_slots_h": slots_h, "p_slot_stride_b": slots_h if s.B > 1 else 0,
                       "p_slot_stride_h": 1 if slots_h > 1 else 0, "p_page_shift": page_shift, "p_max_pages": max_pages})
        values.update({"p_size_" + n: v for n, v in s.extra.items()})
        values.update(param_values(self.params, params))
        return values

    def ragged_classifier_values(self, variant, values, nq, nkv, tiles, inputs):
        """The classifier's arguments for one sequence of `nq` queries and `nkv` keys: the entry's
        `values` with that sequence's sizes, its lists written from address `tiles`, and `inputs`
        (p_in_<name> -> the address of its copy of each per-sequence input)."""
        return {**values, **inputs, "p_Nq": nq, "p_Nkv": nkv, "p_query_offset": max(0, nkv - nq),
                "p_kv_tiles": -(-nkv // variant["block_n"]), "p_tiles": tiles}

    def ragged_launch(self, variant, entries):
        """(grid, block, shared bytes) of the entry over a work list of `entries` entries."""
        e = self.ragged["entry"]
        env = {**{k: v for k, v in variant.items() if isinstance(v, int)}, "entries": entries}
        return ([evaluate(g, env) for g in e["grid"]], [evaluate(b, env) for b in e["block"]], evaluate(e["shared_bytes"], env))

    def ragged_classifier_launch(self, variant, B, H, nq):
        """(grid, block, shared bytes) of one sequence's classifier launch (`nq` its queries)."""
        t = self.ragged["tile_list"]
        c = t["classifier"]
        env = {**{k: v for k, v in variant.items() if isinstance(v, int)}, "Nq_b": nq,
               "slots": (B if t["per_batch"] else 1) * self.ragged_slots_h(H)}
        return ([evaluate(g, env) for g in c["grid"]], [evaluate(b, env) for b in c["block"]], evaluate(c["shared_bytes"], env))


def param_values(specs, params):
    out = {}
    for p in specs:
        value = params[p["name"]]
        out["p_param_" + p["name"]] = int(bool(value)) if p["type"] == "bool" else value
    return out


def pack(arguments, values, entry, tensor_maps=None):
    """The (type, value) pairs of an entry's arguments, in order, from values by name."""
    packed = []
    for a in arguments:
        name, kind = a["name"], a["type"]
        if kind == "CUtensorMap":
            if tensor_maps is None or name not in tensor_maps:
                raise PlanError(f"{entry}: no tensor map for argument {name}")
            packed.append((kind, tensor_maps[name]))
        elif name in values:
            packed.append((kind, values[name]))
        else:
            raise PlanError(f"{entry} takes argument {name} ({a.get('meaning', '')}), which this runtime does not know: "
                            "the package's runtime and its manifest come from different attnc versions")
    return packed
