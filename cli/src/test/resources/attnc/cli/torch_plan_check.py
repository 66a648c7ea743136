"""Checks exported torch packages without torch or a GPU: for several GPUs and shapes, the
package's _plan.py picks a module, evaluates every grid, block, shared size, tile-list length and
tensor map of the manifest, and packs every entry's arguments by name; each packed list is
compared with the entry's .param list in the PTX itself (names, types, order), and each module's
.target with the architecture its variant claims; ragged batches are planned as _ragged.py plans them
(each sequence's lists, the entry, the classifier per sequence). _cuda.Launch is called with a stand-in
driver to check the argument array it hands cuLaunchKernel. Prints one line per package; exit 1 on a failure.

Usage: python3 torch_plan_check.py PACKAGE_DIR...
"""
import builtins
import importlib.util
import json
import os
import re
import symtable
import sys

CAPABILITIES = [(8, 0), (8, 6), (8, 9), (9, 0), (10, 0), (12, 0)]
SHAPES = [dict(B=2, H=8, Hkv=2, Nq=1000, Nkv=1000), dict(B=1, H=4, Hkv=4, Nq=77, Nkv=300), dict(B=3, H=2, Hkv=1, Nq=1, Nkv=4096),
          dict(B=1, H=16, Hkv=16, Nq=4096, Nkv=4096), dict(B=2, H=32, Hkv=8, Nq=4, Nkv=1000), dict(B=1, H=8, Hkv=1, Nq=16, Nkv=300),
          dict(B=1, H=8, Hkv=2, Nq=8, Nkv=2000)]
PTX_TYPES = {".u64": "u64", ".s32": "s32", ".f32": "f32"}


def load_plan(directory):
    spec = importlib.util.spec_from_file_location("_plan_under_test", os.path.join(directory, "_plan.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ptx_entries(path):
    """entry name -> [(type, name)] of its .param list, and the module's .target."""
    text = open(path).read()
    target = re.search(r"^\.target\s+(\S+)", text, re.M).group(1)
    entries = {}
    for m in re.finditer(r"\.entry\s+(\w+)\s*\((.*?)\)", text, re.S):
        params = []
        for line in m.group(2).split(","):
            line = line.strip()
            tm = re.match(r"\.param\s+\.align\s+64\s+\.b8\s+(\w+)\[128\]", line)
            if tm:
                params.append(("CUtensorMap", tm.group(1)))
                continue
            pm = re.match(r"\.param\s+(\.\w+)\s+(\w+)", line)
            params.append((PTX_TYPES[pm.group(1)], pm.group(2)))
        entries[m.group(1)] = params
    return entries, target


def check_packed(packed, arguments, ptx, entry, label):
    want = ptx[entry]
    got = [(kind, a["name"]) for (kind, _), a in zip(packed, arguments)]
    if got != want:
        raise AssertionError(f"{label}: packed {got} but the PTX's {entry} takes {want}")


def positive(values, label):
    if not all(isinstance(x, int) and x > 0 for x in values):
        raise AssertionError(f"{label}: {values} are not positive ints")


def tensor_maps(specs, label):
    """A stand-in per tensor-map argument, after checking each map's dims, strides and box."""
    maps = {}
    for spec, tensor, dims, strides, box in specs:
        positive(dims + strides + box, f"{label} tensor map {tensor}")
        if any(x % 16 for x in strides):
            raise AssertionError(f"{label}: tensor map {tensor} strides {strides} are not multiples of 16 bytes")
        maps[spec["argument"]] = object()
    return maps


def check_decode(plan, kernel, k, s, capability, pointers, params, modules, label):
    """A decode step as the runtime plans it: the module (packed where the group's rows fit), the
    splits, and the classifier's, the decode entry's and the merge's arguments against the PTX."""
    d = k["decode"]
    variant = kernel.decode_variant(capability, s)
    packed = variant["mode"] == "split_packed"
    if packed != (isinstance(d["packed"], dict) and (s.H // s.Hkv) * s.Nq <= variant["block_m"]):
        raise AssertionError(f"{label}: decode chose {variant['mode']}")
    rows = (s.H // s.Hkv) * s.Nq if packed else s.Nq
    if variant["warp_keys"] != (rows <= min(v["block_m"] for v in d["variants"] if v["warp_keys"])):
        raise AssertionError(f"{label}: decode chose warp_keys {variant['warp_keys']} for {rows} rows a block")
    if variant["arch"] not in ("sm_90", "sm_80") or (capability[0] < 9 and variant["arch"] != "sm_80"):
        raise AssertionError(f"{label}: decode chose {variant['arch']}")
    splits = kernel.decode_splits(variant, s, 132, 3)
    tiles = kernel.decode_tiles(variant, s)
    if not 1 <= splits <= tiles.width - 1:
        raise AssertionError(f"{label}: {splits} splits for {tiles.width - 1} kv tiles")
    if plan.evaluate(d["tile_list"]["length"].split(",")[0], kernel.decode_env(variant, s)) != tiles.length:
        raise AssertionError(f"{label}: decode tile list of {tiles.length} ints, manifest says {d['tile_list']['length']}")
    ptx = modules[variant["file"]]
    entry = d["entries"][variant["mode"]]
    classify, launch = kernel.decode_values(variant, s, pointers, params)
    packed_args = plan.pack(entry["arguments"], launch, variant["mode"])
    check_packed(packed_args, entry["arguments"], ptx, entry["entry"], label)
    by_name = dict(zip([a["name"] for a in entry["arguments"]], [value for _, value in packed_args]))
    want_h, want_nq = (s.Hkv, (s.H // s.Hkv) * s.Nq) if packed else (s.H, s.Nq)
    if (by_name["p_H"], by_name["p_Nq"]) != (want_h, want_nq):
        raise AssertionError(f"{label}: the {variant['mode']} entry runs with H = {by_name['p_H']}, Nq = {by_name['p_Nq']}")
    launches = 1
    if d["tile_list"]["builder"] == "classifier":
        check_packed(plan.pack(entry["arguments"], classify, "classify"), entry["arguments"], ptx, d["tile_list"]["classifier"]["entry"], label)
        grid, block, _ = kernel.decode_classifier_launch(variant, s)
        positive(grid + block, f"{label} decode classify")
        launches += 1
    grid, block, _ = kernel.decode_launch(variant, s, splits)
    positive(grid + block, f"{label} decode")
    if grid[2] != splits:
        raise AssertionError(f"{label}: decode grid {grid} for {splits} splits")
    if isinstance(d["paged"], dict):
        # paged_decode: the paged twin, its block table and lengths, its lists a sequence each.
        pv = kernel.decode_variant(capability, s, paged=True)
        if pv["mode"] != variant["mode"] + "_paged":
            raise AssertionError(f"{label}: paged decode chose {pv['mode']} beside {variant['mode']}")
        pe = d["entries"][pv["mode"]]
        pointers = {**pointers, "block_table": 1 << 26, "kv_lengths": 1 << 27}
        pclassify, plaunch = kernel.decode_values(pv, s, pointers, params, (4, 10))
        check_packed(plan.pack(pe["arguments"], plaunch, pv["mode"]), pe["arguments"], modules[pv["file"]], pe["entry"], label)
        if d["tile_list"]["builder"] == "classifier":
            check_packed(plan.pack(pe["arguments"], pclassify, "classify"), pe["arguments"], modules[pv["file"]], d["tile_list"]["classifier"]["entry"], label)
        if kernel.decode_tiles(pv, s).slots_b != s.B:
            raise AssertionError(f"{label}: paged lists are a sequence each")
        launches += 1
    merge = d["entries"]["merge"]
    values = kernel.merge_values(s, {"partial_out": 1 << 22, "partial_lse": 1 << 23, "out": 1 << 24, "lse": 1 << 25,
                                     **{n: v for n, v in pointers.items() if n.startswith("in_")}}, params, splits)
    check_packed(plan.pack(merge["arguments"], values, "merge"), merge["arguments"], ptx, merge["entry"], label)
    grid, block, _ = kernel.merge_launch(s)
    positive(grid + block, f"{label} merge")
    return launches + 1


# Ragged batches: sequences with and without queries or keys, Nq above and below Nkv, GQA and not.
RAGGED_BATCHES = [dict(H=8, Hkv=2, queries=[300, 0, 17, 129], keys=[300, 600, 0, 129], page=16),
                  dict(H=4, Hkv=4, queries=[1000], keys=[4096], page=1), dict(H=2, Hkv=1, queries=[5, 64, 0], keys=[0, 64, 0], page=256)]


def check_ragged(plan, kernel, k, capability, head_dim, extra, pointers, params, modules, label):
    """A ragged batch as _ragged.py plans it: the module for this GPU, where each sequence's lists go,
    the entry's arguments and grid, and each sequence's classifier launch, against the PTX."""
    r = k["ragged"]
    if isinstance(r, str):
        if kernel.ragged_refusal() != r or not r.startswith("unsupported: "):
            raise AssertionError(f"{label}: a refused ragged section reads {r!r}")
        return 0
    variant = kernel.ragged_variant(capability, head_dim, head_dim)
    if (capability[0] < 9 and variant["arch"] != "sm_80") or (capability[0] >= 10 and variant["arch"] == "sm_90a"):
        raise AssertionError(f"{label}: ragged prefill chose {variant['arch']}")
    ptx, entry, rule = modules[variant["file"]], r["entry"], r["tile_list"]
    launches = 0
    for batch in RAGGED_BATCHES:
        queries, keys, H = batch["queries"], batch["keys"], batch["H"]
        B = len(queries)
        s = plan.Sizes(B, H, batch["Hkv"], max(queries), max(keys), head_dim, head_dim, extra)
        values = kernel.ragged_values(variant, s, pointers, params, batch["page"].bit_length() - 1, 9)
        if (values["p_Nq"], values["p_Nkv"], values["p_query_offset"]) != (max(queries), max(keys), max(0, max(keys) - max(queries))):
            raise AssertionError(f"{label}: the entry's launch sizes {values['p_Nq']}, {values['p_Nkv']}, {values['p_query_offset']}")
        check_packed(plan.pack(entry["arguments"], values, "ragged"), entry["arguments"], ptx, entry["entry"], label)
        regions, length = kernel.ragged_regions(variant, H, queries, keys)
        slots_h = H if rule["per_head"] else 1
        offset, entries = 0, 0
        for (b, at, blocks, width), nq, nkv in zip(regions, [q for q in queries if q], [n for q, n in zip(queries, keys) if q]):
            if (at, blocks, width) != (offset, -(-nq // variant["block_m"]), -(-nkv // variant["block_n"]) + 1) or queries[b] != nq:
                raise AssertionError(f"{label}: sequence {b}'s lists at {at}, {blocks} query blocks of width {width}")
            offset += slots_h * blocks * width
            entries += H * blocks
            if rule["builder"] == "classifier" and nkv:
                grid, block, _ = kernel.ragged_classifier_launch(variant, B, H, nq)
                if grid != [blocks, (B if rule["per_batch"] else 1) * slots_h, 1]:
                    raise AssertionError(f"{label}: sequence {b}'s classifier grid {grid}")
                positive(grid + block, f"{label} ragged classify")
                own = kernel.ragged_classifier_values(variant, values, nq, nkv, 1 << 29, {"p_in_" + n: 1 << 30 for n in r["per_sequence_inputs"]})
                check_packed(plan.pack(entry["arguments"], own, "ragged classify"), entry["arguments"], ptx, rule["classifier"]["entry"], label)
                launches += 1
        if length != offset or len(regions) != len([q for q in queries if q]):
            raise AssertionError(f"{label}: {length} ints of lists for {len(regions)} sequences")
        grid, block, shared = kernel.ragged_launch(variant, entries)
        if grid != [entries, 1, 1] or block != [variant["threads"], 1, 1] or shared != variant["shared_bytes"]:
            raise AssertionError(f"{label}: ragged launch {grid} {block} {shared}")
        launches += 1
    return launches


def check_names(directory):
    """Every name a function or class body of the package's Python reads is defined: a parameter or local, an
    enclosing function's, the module's own or a builtin. Paths only the GPU reaches (the paged decode) are
    otherwise never run here; a name lost in a refactoring fails there at its first call."""
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(directory, name), encoding="utf-8") as f:
            top = symtable.symtable(f.read(), name, "exec")
        defined = set(dir(builtins)) | {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported() or s.is_namespace()}
        tables = list(top.get_children())
        while tables:
            table = tables.pop()
            tables.extend(table.get_children())
            for s in table.get_symbols():
                if s.is_referenced() and s.is_global() and s.get_name() not in defined:
                    raise AssertionError(f"{name}: {table.get_type()} {table.get_name()} (line {table.get_lineno()}) reads {s.get_name()!r}, "
                                         "defined nowhere")


def check_package(directory):
    check_names(directory)
    plan = load_plan(directory)
    manifest = json.load(open(os.path.join(directory, "manifest.json")))
    kernel = plan.Kernel(manifest["kernel"], manifest["params"], manifest["inputs"])
    k = manifest["kernel"]
    # The backward, and for a pattern with input gradients the one giving q, k and v's only, each planned as the runtime does.
    backwards = [(k["backward"], kernel)]
    if "backward_operands" in k:
        backwards.append((k["backward_operands"], plan.Kernel({**k, "backward": k["backward_operands"]}, manifest["params"], manifest["inputs"])))
    modules = {}
    ragged = k["ragged"]["variants"] if isinstance(k["ragged"], dict) else []
    for v in k["variants"] + [v for bw, _ in backwards for v in bw["variants"]] + k["decode"]["variants"] + ragged:
        entries, target = ptx_entries(os.path.join(directory, v["file"]))
        if target != v["arch"]:
            raise AssertionError(f"{v['file']}: .target {target} but the manifest says {v['arch']}")
        modules[v["file"]] = entries
    params = {p["name"]: {"int": 7, "float": 0.5, "bool": True}[p["type"]] for p in manifest["params"]}
    launches = 0
    for capability in CAPABILITIES:
        for head_dim in sorted({v["head_dim"] for v in k["variants"]}):
            for shape in SHAPES:
                extra = {}
                for i in manifest["inputs"]:
                    for d in i["shape"]:
                        if re.fullmatch(r"[A-Za-z_]\w*", d) and d not in ("B", "H", "Hkv", "Nq", "Nkv", "D", "Dv", "Q0"):
                            extra[d] = 3
                s = plan.Sizes(shape["B"], shape["H"], shape["Hkv"], shape["Nq"], shape["Nkv"], head_dim, head_dim, extra)
                label = f"{os.path.basename(os.path.normpath(directory))} sm_{capability[0]}{capability[1]} D={head_dim} {shape}"
                pointers = {n: 4096 * (j + 1) for j, n in enumerate(plan.BACKWARD_TENSORS + plan.FORWARD_TENSORS + plan.RAGGED_TENSORS)}
                pointers.update({"in_" + i["name"]: 1 << 20 for i in manifest["inputs"]})
                pointers.update({"grad_" + n: 1 << 21 for n in kernel.gradient_inputs})

                variant = plan.choose(k["variants"], capability, head_dim, head_dim, label)
                expected_arch = "sm_90a" if capability == (9, 0) else "sm_90" if capability[0] >= 9 else "sm_80"
                if variant["arch"] not in (expected_arch, "sm_90", "sm_80") or (capability[0] < 9 and variant["arch"] != "sm_80"):
                    raise AssertionError(f"{label}: chose {variant['arch']}")
                if capability[0] >= 10 and variant["arch"] == "sm_90a":
                    raise AssertionError(f"{label}: sm_90a code chosen for a GPU that cannot run it")
                tiles = kernel.forward_tiles(variant, s)
                env = kernel.forward_env(variant, s)
                if plan.evaluate(k["tile_list"]["length"], env) != tiles.length:
                    raise AssertionError(f"{label}: forward tile list of {tiles.length} ints, manifest says {k['tile_list']['length']}")
                values = kernel.forward_values(variant, s, pointers, params)
                maps = tensor_maps(kernel.tensor_map_specs(variant, s), label)
                arguments = kernel.forward_arguments(variant)
                packed = plan.pack(arguments, values, "attention", maps)
                check_packed(packed, arguments, modules[variant["file"]], k["entry"], label)
                grid, block, shared = kernel.forward_launch(variant, s)
                positive(grid + block, label)
                launches += 1
                if kernel.classifies:
                    check_packed(packed, arguments, modules[variant["file"]], k["tile_list"]["classifier"]["entry"], label)
                    grid, block, shared = kernel.classifier_launch(variant, s)
                    positive(grid + block, label)
                    launches += 1

                for bw, bk in backwards:
                    bvariant = plan.choose(bw["variants"], capability, head_dim, head_dim, label)
                    # sm_90a's wgmma backward where it was exported (D = 64 and 128), else mma.sync for sm_90 / sm_80.
                    wgmma = capability == (9, 0) and any(v["arch"] == "sm_90a" and v["head_dim"] == head_dim for v in bw["variants"])
                    if bvariant["arch"] != ("sm_90a" if wgmma else "sm_90" if capability[0] >= 9 else "sm_80"):
                        raise AssertionError(f"{label}: backward chose {bvariant['arch']}")
                    bmaps = tensor_maps(bk.backward_tensor_map_specs(bvariant, s), f"{label} backward")
                    if wgmma != bool(bmaps):
                        raise AssertionError(f"{label}: the backward variant {bvariant['file']} has {len(bmaps)} tensor maps")
                    btiles = bk.backward_tiles(bvariant, s)
                    benv = bk.backward_env(bvariant, s)
                    if plan.evaluate(bw["tile_list"]["length"].split(",")[0], benv) != btiles.length:
                        raise AssertionError(f"{label}: backward tile list of {btiles.length} ints, manifest says {bw['tile_list']['length']}")
                    bvalues = bk.backward_values(bvariant, s, pointers, params)
                    for name, entry in bw["entries"].items():
                        vals = bk.main_values(bvalues) if name in ("main", "classify") else bvalues
                        arguments = bk.backward_arguments(name, bvariant)
                        if bk is not kernel and any(a["name"].startswith("p_grad_") for a in arguments):
                            raise AssertionError(f"{label}: the q/k/v-only backward's {name} takes an input gradient")
                        packed = plan.pack(arguments, vals, name, bmaps)
                        check_packed(packed, arguments, modules[bvariant["file"]], entry["entry"], label)
                        if name in ("main", "classify") and bk.transforms_output and dict(zip([a["name"] for a in arguments], packed))["p_dout"][1] != pointers["dout_eff"]:
                            raise AssertionError(f"{label}: {name} must read dout_eff")
                        grid, block, shared = bk.backward_launch(name, bvariant, s)
                        positive(grid + block, f"{label} {name}")
                        launches += 1
                if kernel.decodes(s):
                    launches += check_decode(plan, kernel, k, s, capability, pointers, params, modules, label)
            launches += check_ragged(plan, kernel, k, capability, head_dim, extra, pointers, params, modules,
                                     f"{os.path.basename(os.path.normpath(directory))} sm_{capability[0]}{capability[1]} D={head_dim} ragged")
    for bad in [(7, 5), (6, 1)]:
        try:
            plan.choose(k["variants"], bad, 64, 64, "old GPU")
            raise AssertionError(f"sm_{bad[0]}{bad[1]} was not refused")
        except plan.PlanError as e:
            if "8.0" not in str(e):
                raise AssertionError(f"unclear refusal: {e}")
    return f"ok {os.path.basename(os.path.normpath(directory))}: {len(modules)} modules, {launches} launches planned"


def check_launch(directory):
    """_cuda.Launch's argument array, call after call: each tensor's address of this call, the
    constants as given, a tensor map encoded once per address and reused."""
    spec = importlib.util.spec_from_file_location("_cuda_under_test", os.path.join(directory, "_cuda.py"))
    cuda = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cuda)
    ctypes = cuda.ctypes
    encoded, seen = [], []

    class Driver:
        def tensor_map(self, spec, address, dims, strides, box):
            encoded.append(address)
            tmap = cuda.TensorMap()
            ctypes.c_uint64.from_address(tmap.address).value = address
            return tmap

        def launch_kernel(self, function, grid, block, shared, stream, pointers, label):
            read = [ctypes.c_uint64, ctypes.c_int32, ctypes.c_float, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint64]
            seen.append([kind.from_address(p).value for kind, p in zip(read, pointers)])

    fixed = cuda.TensorMap()
    ctypes.c_uint64.from_address(fixed.address).value = 99
    arguments = [("u64", cuda.Address("q")), ("s32", -3), ("f32", 0.5), ("CUtensorMap", "map_k"), ("u64", 7), ("CUtensorMap", fixed)]
    launch = cuda.Launch(Driver(), None, (1, 1, 1), (128, 1, 1), 0, arguments, {"map_k": ({}, "k", [8], [], [8])}, "check")
    for q, k in [(111, 222), (333, 222), (333, 444)]:
        launch(0, {"q": q, "k": k})
    want = [[111, -3, 0.5, 222, 7, 99], [333, -3, 0.5, 222, 7, 99], [333, -3, 0.5, 444, 7, 99]]
    if seen != want or encoded != [222, 444]:
        raise AssertionError(f"Launch passed {seen} (want {want}), encoded maps for {encoded} (want [222, 444])")


def main():
    failed = 0
    if sys.argv[1:]:
        try:
            check_launch(sys.argv[1])
            print("ok Launch")
        except Exception as e:
            failed += 1
            print(f"FAIL Launch: {type(e).__name__}: {e}")
    for directory in sys.argv[1:]:
        try:
            print(check_package(directory))
        except Exception as e:
            failed += 1
            print(f"FAIL {os.path.basename(os.path.normpath(directory))}: {type(e).__name__}: {e}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
