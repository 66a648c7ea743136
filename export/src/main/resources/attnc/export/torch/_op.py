"""The pattern as a PyTorch custom op: `torch.library.custom_op` forward and backward ops with
fake (meta) implementations and an autograd formula, so that the op works in eager mode, under
torch.compile (no graph break; the kernels take any sequence length, so a new one reuses them),
under CUDA graphs and in bf16/fp16 autocast. Kernels launch on torch.cuda.current_stream().

Decisions (see also the package's docstring):
- The kernels read bfloat16 Q, K, V and write a bfloat16 output, bfloat16 gradients of K and V
  (each stored once, rounded to nearest even) and float32 sums for the other gradients. float16
  and float32 tensors are rounded to bfloat16 first; the output comes back in q's dtype and each
  gradient in its tensor's dtype (bfloat16 ones as the kernel wrote them, no copy).
- Q, K, V and dOut are read as contiguous [B, H, N, D] rows on 16-byte boundaries. Q, K and V
  are made contiguous before the op (a permuted projection's views are copied once, not again
  in the backward); a dOut that is not is copied inside. A pattern's inputs are converted to
  their declared dtype and made contiguous before the op (int64 ids to int32, any float to the
  declared float type).
- Tile lists of masks that read no input tensor depend only on the sizes and params: they are
  built once per (device, stream, tiling, sizes, params) and kept (the 64 most recent); never
  while a CUDA graph is being captured (a list built then lives in the graph's memory).
- Tile lists of masks that read inputs (document ids) are kept, besides, per input tensor: while
  the same tensor objects come back unchanged (torch's version counter, bumped by every in-place
  write through torch), as when every layer of a model is given one batch's ids, forward and
  backward, the lists are built once; ids of another int dtype (int64) are converted once per
  such tensor, not at every call. Writes torch does not see (through `.data` or a raw pointer)
  are not noticed: call `forget_tile_lists()` after them.
- PTX modules load on a device's first call (the driver compiles them for that GPU and caches the
  result on disk); GPUs before sm_80 are refused with a clear error at the first call.
- ATTNC_TORCH_ARCH=sm_80 (or sm_90) picks the mma.sync kernels on a Hopper GPU instead of sm_90a's.
- A forward of at most `decode.max_queries` queries a head over at least `decode.min_keys` keys
  (a decode step) runs the split-KV decode modules, as attnc's Java launcher does: the keys split
  over as many blocks as the GPU holds at once, the partial results merged by their LSE; its
  output is merged in float32 and then cast. ATTNC_TORCH_DECODE=0 runs the forward kernel instead.
- Each launch is planned once per (device, arch, sizes, params) and kept (the 256 most recent):
  the module and grid chosen, the manifest's expressions evaluated, the constant arguments
  converted for ctypes; a call then fills in the tensors' addresses and launches.
- Untraced calls on plain tensors skip the custom op: the same CUDA implementations run under a
  plain autograd.Function (_Eager), since the op's dispatch and autograd wrapping cost the host
  more than short kernels run. Under torch.compile, fake or proxy modes and tensor subclasses
  the op runs; ATTNC_TORCH_EAGER=0 makes every call take it.
"""
import collections
import contextlib
import json
import math
import os
import re
import sys
import threading
import weakref

import torch

from . import _cuda, _plan

FLOATS = (torch.bfloat16, torch.float16, torch.float32)
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16, "int32": torch.int32, "bool": torch.bool}
TILE_CACHE_SIZE = 64
PLAN_CACHE_SIZE = 256
CONVERSIONS_KEPT = 16
REQUIRED = object()

_driver = None
_driver_lock = threading.Lock()


def driver():
    global _driver
    if _driver is None:
        with _driver_lock:
            if _driver is None:
                _driver = _cuda.Driver()
    return _driver


class Input:
    """A tensor the pattern reads: its declared dtype, its shape as a function of the sizes
    (a dict: B, H, Hkv, Nq, Nkv, D, Dv, Q0 and symbolic sizes) and as attnc spells it, and whether
    it gets a gradient."""

    def __init__(self, name, dtype, rank, shape, shape_text, gradient, doc=""):
        self.name, self.dtype, self.rank, self.shape, self.shape_text = name, dtype, rank, shape, shape_text
        self.gradient, self.doc = gradient, doc


class Param:
    def __init__(self, name, type, default=REQUIRED, doc=""):
        self.name, self.type, self.default, self.doc = name, type, default, doc


class Package:
    """One exported pattern: its manifest, its kernels per device, and its two custom ops."""

    def __init__(self, init_file, name, op_name, inputs, params, sizes_from, mask_reads_inputs):
        self.directory = os.path.dirname(os.path.abspath(init_file))
        with open(os.path.join(self.directory, "manifest.json"), encoding="utf-8") as f:
            manifest = json.load(f)
        self.name = name
        self.inputs, self.params = tuple(inputs), tuple(params)
        self.sizes_from = dict(sizes_from)
        self.mask_reads_inputs = mask_reads_inputs
        self.kernel = _plan.Kernel(manifest["kernel"], manifest["params"], manifest["inputs"])
        # Modules without the inputs' gradients, for a backward where none of them requires grad (ALiBi's fixed slopes).
        operands = manifest["kernel"].get("backward_operands")
        self.operands_kernel = self.kernel if operands is None else _plan.Kernel(
            {**manifest["kernel"], "backward": operands}, manifest["params"], manifest["inputs"])
        self.head_dims = sorted({v["head_dim"] for v in manifest["kernel"]["variants"]})
        self.gradient_inputs = self.kernel.gradient_inputs
        self.row_sums = _row_sums(self.kernel)
        self._lock = threading.Lock()
        self._modules = {}
        self._tiles = collections.OrderedDict()
        self._plans = collections.OrderedDict()
        self._stats = collections.Counter()
        self._conversions = collections.OrderedDict()
        self.ops = self._define_ops(op_name)

    # -- the user-facing call (traced by torch.compile: metadata checks only, then the op) ---------
    def attention(self, q, k, v, inputs, params, return_lse):
        B, H, Nq, D, Hkv, Nkv, Dv = self._check_qkv(q, k, v)
        # Outside the op, so that the backward gets the same contiguous tensors rather than copying
        # them again, and torch.compile folds the copy into the kernel that produced them.
        q, k, v = q.contiguous(), k.contiguous(), v.contiguous()
        sizes = self._input_sizes({"B": B, "H": H, "Hkv": Hkv, "Nq": Nq, "Nkv": Nkv, "D": D, "Dv": Dv, "Q0": max(0, Nkv - Nq)}, inputs)
        prepared = [self._prepare_input(spec, t, sizes, q.device) for spec, t in zip(self.inputs, inputs)]
        values = [self._param_value(spec, params[spec.name]) for spec in self.params]
        if return_lse and not self.kernel.writes_lse:
            raise ValueError(f"{self.name}: this pattern's normalisation has no log-sum-exp; call it without return_lse")
        records = self._records_gradients(q, k, v, prepared)
        # The output before its transform is kept only for a backward.
        keep = records and self.kernel.transforms_output
        if _eager(q, k, v, prepared):
            if records:
                out, lse, _ = _Eager.apply(self, keep, q, k, v, *prepared, *values)
            else:
                # Nothing to differentiate (inference, a decode step): the kernels alone, without the Function's
                # wrapping and saved tensors, which cost the host about as much as a short decode kernel runs.
                out, lse, _ = self._forward_cuda(q, k, v, *prepared, *values, False)
        else:
            out, lse, _ = self.ops.forward(q, k, v, *prepared, *values, keep)
        return (out, lse.detach()) if return_lse else out

    def _records_gradients(self, q, k, v, prepared):
        """Whether autograd records this call: grad mode on and q, k, v or an input with a gradient requiring it.
        Plain loops rather than generators: this runs under torch.compile's tracing."""
        if not torch.is_grad_enabled():
            return False
        for t in [q, k, v] + [t for t, spec in zip(prepared, self.inputs) if spec.gradient]:
            if t.requires_grad:
                return True
        return False

    def paged_decode(self, q, k_pages, v_pages, block_table, kv_lengths, inputs, params, return_lse):
        """A decode step over a paged KV cache (see the package's paged_decode); no autograd."""
        paged = self.kernel.decode["paged"] if self.kernel.decode else "unsupported: this package has no decode modules"
        if not isinstance(paged, dict):
            raise ValueError(f"{self.name}: no paged decode for this pattern ({paged})")
        for label, t in (("q", q), ("k_pages", k_pages), ("v_pages", v_pages), ("block_table", block_table), ("kv_lengths", kv_lengths)):
            _expect_tensor(label, t)
        if q.dim() != 4 or k_pages.dim() != 4 or v_pages.dim() != 4:
            raise ValueError(f"{self.name}: q must be [B, H, Nq, D], k_pages [P, page, Hkv, D] and v_pages [P, page, Hkv, Dv]; got shapes "
                             f"{tuple(q.shape)}, {tuple(k_pages.shape)}, {tuple(v_pages.shape)}")
        B, H, Nq, D = q.shape
        P, page, Hkv, Dk = k_pages.shape
        Dv = v_pages.shape[3]
        if tuple(v_pages.shape[:3]) != (P, page, Hkv):
            raise ValueError(f"{self.name}: v_pages {tuple(v_pages.shape)} must match k_pages {tuple(k_pages.shape)} in P, page and Hkv")
        if page < 1 or page > 256 or page & (page - 1):
            raise ValueError(f"{self.name}: the page size (dimension 1 of k_pages, {page}) must be a power of two from 1 to 256")
        if Dk != D or D != Dv or D not in self.head_dims:
            raise ValueError(f"{self.name}: head dims q {D}, k {Dk}, v {Dv}; the exported kernels take D == Dv in {self.head_dims}")
        if Hkv == 0 or H % Hkv:
            raise ValueError(f"{self.name}: q has {H} heads and the pages {Hkv}: H must be a multiple of Hkv")
        if not 1 <= Nq <= self.kernel.decode["max_queries"]:
            raise ValueError(f"{self.name}: a paged decode step takes 1 to {self.kernel.decode['max_queries']} queries a sequence, got Nq = {Nq}")
        if block_table.dim() != 2 or block_table.shape[0] != B or kv_lengths.shape != (B,):
            raise ValueError(f"{self.name}: block_table must be [B, max_pages] and kv_lengths [B] with B = {B} (q's batch); got "
                             f"{tuple(block_table.shape)} and {tuple(kv_lengths.shape)}")
        for label, t in (("q", q), ("k_pages", k_pages), ("v_pages", v_pages)):
            if t.dtype not in FLOATS or t.device.type != "cuda" or t.device != q.device:
                raise ValueError(f"{self.name}: {label} must be a float CUDA tensor on q's device; got {t.dtype} on {t.device}")
        if block_table.dtype.is_floating_point or kv_lengths.dtype.is_floating_point:
            raise TypeError(f"{self.name}: block_table and kv_lengths hold integers; got {block_table.dtype} and {kv_lengths.dtype}")
        # The host needs the lengths (the launch's widest list, each sequence's classifier) and checks the pages a sequence reads.
        lengths = check_pages(self.name, kv_lengths, block_table, page, P)
        Nkv = max(1, max(lengths, default=0))
        sizes = self._input_sizes({"B": B, "H": H, "Hkv": Hkv, "Nq": Nq, "Nkv": Nkv, "D": D, "Dv": Dv, "Q0": max(0, Nkv - Nq)}, inputs)
        prepared = [self._prepare_input(spec, t, sizes, q.device) for spec, t in zip(self.inputs, inputs)]
        param_values = {spec.name: self._param_value(spec, params[spec.name]) for spec in self.params}
        if return_lse and not self.kernel.writes_lse:
            raise ValueError(f"{self.name}: this pattern's normalisation has no log-sum-exp; call it without return_lse")
        s = _plan.Sizes(B, H, Hkv, Nq, Nkv, D, Dv, {n: int(sizes[n]) for n in self.sizes_from})
        out = torch.empty((B, H, Nq, Dv), dtype=torch.float32, device=q.device)
        lse = torch.empty((B, H, Nq) if self.kernel.writes_lse else (0,), dtype=torch.float32, device=q.device)
        pages = (page.bit_length() - 1, block_table.shape[1], block_table.to(device=q.device, dtype=torch.int32).contiguous(),
                 kv_lengths.to(device=q.device, dtype=torch.int32).contiguous(), lengths)
        with torch.no_grad():
            self._decode(_operand(q), _operand(k_pages), _operand(v_pages), prepared, param_values, s, out, lse,
                         torch.empty((0,), dtype=torch.float32, device=q.device), pages)
        out = out.to(q.dtype)
        return (out, lse) if return_lse else out

    def _input_sizes(self, sizes, inputs):
        """`sizes` with the symbolic sizes the inputs carry (sizes_from), each input checked to be a
        tensor of enough dims first. Plain loops: this runs under torch.compile's tracing."""
        for size, (index, axis) in self.sizes_from.items():
            spec, t = self.inputs[index], inputs[index]
            _expect_tensor(spec.name, t)
            if t.dim() <= axis:
                raise ValueError(f"{self.name}: input '{spec.name}' must be {spec.shape_text} ({spec.rank} dims), got shape {tuple(t.shape)}")
            sizes[size] = t.shape[axis]
        return sizes

    def _check_qkv(self, q, k, v):
        for label, t in (("q", q), ("k", k), ("v", v)):
            _expect_tensor(label, t)
            if t.dim() != 4:
                layout = {"q": "[B, H, Nq, D]", "k": "[B, Hkv, Nkv, D]", "v": "[B, Hkv, Nkv, Dv]"}[label]
                raise ValueError(f"{self.name}: {label} must be {layout} (4 dims), got shape {tuple(t.shape)}")
            if t.dtype not in FLOATS:
                raise TypeError(f"{self.name}: {label} is {t.dtype}; the kernels take torch.bfloat16, torch.float16 or torch.float32 "
                                "(all computed in bfloat16)")
            if t.device.type not in ("cuda", "meta"):
                raise ValueError(f"{self.name}: {label} is on {t.device}; attnc's kernels run on CUDA devices")
            if t.device != q.device:
                raise ValueError(f"{self.name}: {label} is on {t.device} but q on {q.device}; put q, k, v and the inputs on one device")
        B, H, Nq, D = q.shape
        Bk, Hkv, Nkv, Dk = k.shape
        Bv, Hv, Nv, Dv = v.shape
        if Bk != B or Bv != B:
            raise ValueError(f"{self.name}: batch sizes differ: q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)} (want [B, H, Nq, D], [B, Hkv, Nkv, D], [B, Hkv, Nkv, Dv])")
        if Hv != Hkv or Nv != Nkv:
            raise ValueError(f"{self.name}: k {tuple(k.shape)} and v {tuple(v.shape)} must agree in Hkv and Nkv")
        if Hkv == 0 or H % Hkv != 0:
            raise ValueError(f"{self.name}: q has {H} heads and k, v {Hkv}: H must be a multiple of Hkv")
        if Dk != D:
            raise ValueError(f"{self.name}: q's head dim is {D} but k's {Dk}")
        if D != Dv or D not in self.head_dims:
            raise ValueError(f"{self.name}: head dims D = {D}, Dv = {Dv}; the exported kernels take D == Dv in {self.head_dims}")
        if Nkv == 0:
            raise ValueError(f"{self.name}: k and v hold no keys (Nkv = 0)")
        return B, H, Nq, D, Hkv, Nkv, Dv

    def _prepare_input(self, spec, t, sizes, device, expected=None, note=""):
        """`t` checked and converted for the kernels: its declared dtype, contiguous, of shape
        `expected` (by default its declared shape at `sizes`; `note` says why it is another)."""
        _expect_tensor(spec.name, t)
        want = DTYPES[spec.dtype]
        if t.device != device:
            raise ValueError(f"{self.name}: input '{spec.name}' is on {t.device} but q on {device}")
        if want.is_floating_point:
            if not t.dtype.is_floating_point:
                raise TypeError(f"{self.name}: input '{spec.name}' is {t.dtype}; it takes floating point values ({spec.dtype})")
        elif want == torch.int32:
            if t.dtype not in (torch.int32, torch.int64, torch.int16, torch.int8, torch.uint8):
                raise TypeError(f"{self.name}: input '{spec.name}' is {t.dtype}; it takes integers (int32; int64 is converted)")
        elif t.dtype != torch.bool:
            raise TypeError(f"{self.name}: input '{spec.name}' is {t.dtype}; it takes torch.bool")
        expected = tuple(spec.shape(sizes)) if expected is None else expected
        fits = t.dim() == len(expected)
        for actual, want_size in zip(t.shape, expected):
            fits = fits and actual == want_size
        if not fits:
            shown = tuple(int(e) if isinstance(e, int) else e for e in expected)
            raise ValueError(f"{self.name}: input '{spec.name}' must be {spec.shape_text} = {shown}{note}, got shape {tuple(t.shape)}")
        if want.is_floating_point or (t.dtype == want and t.is_contiguous()):
            return _as(t, want).contiguous()
        return self._converted_ids(t, want)

    def _converted_ids(self, t, want):
        """An int or bool input in the kernels' dtype, contiguous: while the same tensor comes back unchanged
        (torch's version counter) the same converted tensor, so that the tile lists kept for it are found
        again and it is converted once (int64 document ids, as torch makes them, given every layer and step).
        Only eagerly, on plain tensors, and never while a CUDA graph is captured or warmed up (the copy would
        live in the graph's memory); such inputs have no gradient, so no autograd graph is kept."""
        if _traced() or type(t) not in _PLAIN or (t.is_cuda and not _may_keep(t.device)):
            return t.to(want).contiguous()
        key = (id(t), want)
        with self._lock:
            kept = self._conversions.get(key)
            if kept is not None and kept[0]() is t and kept[1] == t._version:
                self._conversions.move_to_end(key)
                return kept[2]
        converted = t.to(want).contiguous()
        with self._lock:
            self._conversions[key] = (weakref.ref(t), t._version, converted)
            while len(self._conversions) > CONVERSIONS_KEPT:
                self._conversions.popitem(last=False)
        return converted

    def _param_value(self, spec, value):
        if spec.type == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{self.name}: param '{spec.name}' is an int, got {value!r}")
            if not -2**31 <= value < 2**31:
                raise ValueError(f"{self.name}: param '{spec.name}' = {value} does not fit the kernels' 32-bit ints")
            return value
        if spec.type == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{self.name}: param '{spec.name}' is a float, got {value!r}")
            return float(value)
        if not isinstance(value, bool):
            raise TypeError(f"{self.name}: param '{spec.name}' is a bool, got {value!r}")
        return value

    # -- the custom ops ----------------------------------------------------------------------------
    def _define_ops(self, op_name):
        inputs = "".join(f", Tensor in_{i.name}" for i in self.inputs)
        params = "".join(f", {p.type} param_{p.name}" for p in self.params)
        grads = ", ".join(["Tensor"] * (3 + len(self.gradient_inputs)))
        forward = torch.library.custom_op(
            f"attnc::{op_name}_forward", self._forward_cuda, mutates_args=(), device_types="cuda",
            schema=f"(Tensor q, Tensor k, Tensor v{inputs}{params}, bool keep_pre_out) -> (Tensor, Tensor, Tensor)")
        backward = torch.library.custom_op(
            f"attnc::{op_name}_backward", self._backward_cuda, mutates_args=(), device_types="cuda",
            schema=f"(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor pre_out, Tensor dout{inputs}{params}, bool input_grads) -> ({grads})")
        forward.register_fake(self._forward_fake)
        backward.register_fake(self._backward_fake)
        forward.register_autograd(self._autograd_backward, setup_context=self._setup_context)
        ops = collections.namedtuple("Ops", "forward backward forward_def backward_def")
        return ops(forward._opoverload, backward._opoverload, forward, backward)

    def _split(self, args):
        n = len(self.inputs)
        return args[:3], args[3:3 + n], args[3 + n:3 + n + len(self.params)]

    def _forward_fake(self, *args):
        (q, k, v), _, _ = self._split(args)
        keep = args[-1]
        B, H, Nq, _ = q.shape
        Dv = v.shape[-1]
        out = q.new_empty((B, H, Nq, Dv))
        lse = q.new_empty((B, H, Nq) if self.kernel.writes_lse else (0,), dtype=torch.float32)
        pre = q.new_empty((B, H, Nq, Dv) if keep and self.kernel.transforms_output else (0,), dtype=torch.float32)
        return out, lse, pre

    def _backward_fake(self, q, k, v, out, lse, pre_out, dout, *rest):
        inputs, input_grads = rest[:len(self.inputs)], rest[-1]
        grads = [t.new_empty(t.shape if input_grads else (0,)) for t, spec in zip(inputs, self.inputs) if spec.gradient]
        return (q.new_empty(q.shape), k.new_empty(k.shape), v.new_empty(v.shape), *grads)

    def _setup_context(self, ctx, inputs, output):
        (q, k, v), ins, params = self._split(inputs)
        out, lse, pre = output
        ctx.save_for_backward(q, k, v, out, lse, pre, *ins)
        ctx.params = params
        # No zero tensors for the lse and pre-transform outputs nobody differentiates (two fills a step).
        ctx.set_materialize_grads(False)

    def _autograd_backward(self, ctx, dout, dlse, dpre):
        grads = self._gradients(ctx, dout, 0, self.ops.backward)
        return (*grads, *([None] * len(self.params)), None)

    def _gradients(self, ctx, dout, first, backward):
        """Gradients of q, k, v and the inputs, by `backward` (the op or its CUDA implementation);
        the forward's q sits at ctx.needs_input_grad[first]."""
        q, k, v, out, lse, pre, *ins = ctx.saved_tensors
        if dout is None:
            return [None] * (3 + len(self.inputs))
        wanted = False
        for i, spec in enumerate(self.inputs):
            wanted = wanted or (spec.gradient and ctx.needs_input_grad[first + 3 + i])
        grads = backward(q, k, v, out, lse, pre, dout, *ins, *ctx.params, wanted)
        by_input = dict(zip(self.gradient_inputs, grads[3:]))
        return [grads[0], grads[1], grads[2], *[by_input.get(spec.name) if spec.gradient and wanted else None for spec in self.inputs]]

    # -- the CUDA implementations ------------------------------------------------------------------
    def _forward_cuda(self, *args):
        (q, k, v), ins, params = self._split(args)
        keep = args[-1]
        B, H, Nq, D = q.shape
        Dv = v.shape[3]
        dev = q.device
        lse = torch.empty((B, H, Nq) if self.kernel.writes_lse else (0,), dtype=torch.float32, device=dev)
        pre = torch.empty((B, H, Nq, Dv) if keep and self.kernel.transforms_output else (0,), dtype=torch.float32, device=dev)
        if B * H * Nq * Dv == 0:
            return torch.empty((B, H, Nq, Dv), dtype=q.dtype, device=dev), lse, pre
        s = self._sizes(q, k, v, ins)
        param_values = {p.name: value for p, value in zip(self.params, params)}
        qb, kb, vb = _operand(q), _operand(k), _operand(v)
        if self.kernel.decodes(s) and os.environ.get("ATTNC_TORCH_DECODE", "1") != "0":
            merged = torch.empty((B, H, Nq, Dv), dtype=torch.float32, device=dev)
            self._decode(qb, kb, vb, ins, param_values, s, merged, lse, pre)
            return merged.to(q.dtype), lse, pre
        out = torch.empty((B, H, Nq, Dv), dtype=torch.bfloat16, device=dev)
        with _on_device(dev):
            stream = _launch_stream(dev)
            plan = self._forward_plan(dev, s, params, param_values, pre.numel() > 0)
            tiles, fresh = self._tile_list(plan.tiles_key + (stream,), plan.layout.length, dev, ins)
            addresses = {"q": qb.data_ptr(), "k": kb.data_ptr(), "v": vb.data_ptr(), "out": out.data_ptr(), "lse": lse.data_ptr(),
                         "pre_out": pre.data_ptr(), "tiles": tiles.data_ptr(), **{"in_" + spec.name: t.data_ptr() for spec, t in zip(self.inputs, ins)}}
            if fresh:
                self._build_tiles(plan, tiles, s, ins, stream, addresses)
            plan.main(stream, addresses)
        return _as(out, q.dtype), lse, pre

    def _forward_plan(self, dev, s, params, param_values, keeps_pre):
        """The forward's launches for these sizes and params on this device (see _cuda.Launch), kept."""
        forced = _forced_arch()
        key = ("forward", dev.index, forced, s.key(), tuple(params), keeps_pre)
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        kernel, drv = self.kernel, driver()
        variant = _plan.choose(kernel.k["variants"], torch.cuda.get_device_capability(dev), s.D, s.Dv, f"{self.name} forward", forced)
        layout = kernel.forward_tiles(variant, s)
        tiles_key = ("forward", dev.index, variant["file"], s.Nq, s.Nkv, s.B if layout.slots_b > 1 else 0,
                     s.H if layout.slots_h > 1 else 0, tuple(params), tuple(sorted(s.extra.items())))
        marks = {name: _cuda.Address(name) for name in ("q", "k", "v", "out", "tiles", *("in_" + spec.name for spec in self.inputs))}
        if kernel.writes_lse:
            marks["lse"] = _cuda.Address("lse")
        if keeps_pre:
            marks["pre_out"] = _cuda.Address("pre_out")
        values = kernel.forward_values(variant, s, marks, param_values)
        maps = {spec["argument"]: (spec, name, dims, strides, box) for spec, name, dims, strides, box in kernel.tensor_map_specs(variant, s)}
        label = f"{self.name} {kernel.k['entry']}"
        arguments = _plan.pack(kernel.forward_arguments(variant), values, label, {name: name for name in maps})
        launch = lambda entry, grid, block, shared: _cuda.Launch(
            drv, self._function(dev.index, variant["file"], entry, shared), grid, block, shared, arguments, maps, f"{self.name} {entry}")
        classify = None
        if kernel.classifies:
            classify = launch(kernel.tile_rule["classifier"]["entry"], *kernel.classifier_launch(variant, s))
        plan = _ForwardPlan(variant, layout, tiles_key, launch(kernel.k["entry"], *kernel.forward_launch(variant, s)), classify)
        self._keep_plan(key, plan)
        return plan

    def _build_tiles(self, plan, tiles, s, ins, stream, addresses):
        """A forward's or decode's fresh lists: classified on the device, or every tile listed where
        the mask hides nothing; then kept."""
        if plan.classify is not None:
            plan.classify(stream, addresses)
        else:
            _every_tile(tiles, plan.layout.rows, plan.layout.width - 1, plan.variant["block_n"], s.Nkv, None, None, self.kernel.full_bit)
        self._remember(plan.tiles_key + (stream,), tiles, ins)

    def _keep_plan(self, key, plan):
        with self._lock:
            self._plans[key] = plan
            while len(self._plans) > PLAN_CACHE_SIZE:
                self._plans.popitem(last=False)

    def _decode(self, qb, kb, vb, ins, param_values, s, out, lse, pre, pages=None):
        """A few queries a head over many keys: the split-KV decode entry writes fp32 partials per
        chunk of keys (grid z), the merge entry combines them into out, lse and pre_out (fp32).
        `pages`: (page_shift, max_pages, block_table, kv_lengths on the device, kv_lengths as ints)
        for a paged cache, whose sequences each get their own tile lists, built every call."""
        dev = qb.device
        with _on_device(dev):
            stream = _launch_stream(dev)
            plan = self._decode_plan(dev, s, param_values, None if pages is None else pages[:2])
            rows = s.B * s.H * s.Nq
            partial_out = torch.empty((plan.splits, rows, s.Dv), dtype=torch.float32, device=dev)
            partial_lse = torch.empty((plan.splits, rows), dtype=torch.float32, device=dev)
            if pages is None:
                tiles, fresh = self._tile_list(plan.tiles_key + (stream,), plan.layout.length, dev, ins)
            else:
                tiles, fresh = torch.zeros(plan.layout.length, dtype=torch.int32, device=dev), False
            addresses = {"q": qb.data_ptr(), "k": kb.data_ptr(), "v": vb.data_ptr(), "out": partial_out.data_ptr(),
                         "lse": partial_lse.data_ptr(), "tiles": tiles.data_ptr(), "partial_out": partial_out.data_ptr(),
                         "partial_lse": partial_lse.data_ptr(), "merged_out": out.data_ptr(), "merged_lse": lse.data_ptr(),
                         "pre_out": pre.data_ptr() if pre.numel() else 0, **{"in_" + spec.name: t.data_ptr() for spec, t in zip(self.inputs, ins)}}
            if pages is not None:
                addresses.update({"block_table": pages[2].data_ptr(), "kv_lengths": pages[3].data_ptr()})
                self._paged_tiles(plan, s, tiles, pages[4], pages[3], dev, stream, addresses)
            elif fresh:
                self._build_tiles(plan, tiles, s, ins, stream, addresses)
            plan.split(stream, addresses)
            plan.merge(stream, addresses)

    def _decode_plan(self, dev, s, param_values, pages):
        """The decode's launches for these sizes and params (`pages`: (page_shift, max_pages) when
        paged), with the splits from the driver's occupancy; kept."""
        forced = _forced_arch()
        key = ("decode", dev.index, forced, s.key(), tuple(param_values.values()), pages)
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        kernel, drv = self.kernel, driver()
        # The decode modules are mma.sync (sm_80, sm_90): a forced sm_90a means the best there.
        variant = kernel.decode_variant(torch.cuda.get_device_capability(dev), s, None if forced in (None, "sm_90a") else forced,
                                        paged=pages is not None)
        entry = kernel.decode["entries"][variant["mode"]]
        function = self._function(dev.index, variant["file"], entry["entry"], variant["shared_bytes"])
        resident = drv.resident_blocks(function, variant["threads"], variant["shared_bytes"], entry["entry"])
        splits = kernel.decode_splits(variant, s, drv.multiprocessors(dev.index), resident)
        layout = kernel.decode_tiles(variant, s)
        tiles_key = ("decode", dev.index, variant["file"], s.Nq, s.Nkv, s.B if layout.slots_b > 1 else 0,
                     s.H if layout.slots_h > 1 else 0, tuple(param_values.values()), tuple(sorted(s.extra.items())))
        inputs = {"in_" + spec.name: _cuda.Address("in_" + spec.name) for spec in self.inputs}
        marks = {name: _cuda.Address(name) for name in ("q", "k", "v", "out", "lse", "tiles")}
        if pages is not None:
            marks.update({"block_table": _cuda.Address("block_table"), "kv_lengths": _cuda.Address("kv_lengths")})
        classify_values, launch_values = kernel.decode_values(variant, s, {**marks, **inputs}, param_values, pages)
        label = f"{self.name} decode {entry['entry']}"
        classify = None
        if kernel.decode["tile_list"]["builder"] == "classifier":
            c = kernel.decode["tile_list"]["classifier"]
            grid, block, shared = kernel.decode_classifier_launch(variant, s)
            classify = _cuda.Launch(drv, self._function(dev.index, variant["file"], c["entry"], shared), grid, block, shared,
                                    _plan.pack(entry["arguments"], classify_values, label), {}, f"{self.name} {c['entry']}")
        grid, block, shared = kernel.decode_launch(variant, s, splits)
        split = _cuda.Launch(drv, function, grid, block, shared, _plan.pack(entry["arguments"], launch_values, label), {}, label)
        merge = kernel.decode["entries"]["merge"]
        merged = {"partial_out": _cuda.Address("partial_out"), "partial_lse": _cuda.Address("partial_lse"), "out": _cuda.Address("merged_out"),
                  **inputs}
        if kernel.writes_lse:
            merged["lse"] = _cuda.Address("merged_lse")
        if kernel.transforms_output:
            merged["pre_out"] = _cuda.Address("pre_out")
        grid, block, shared = kernel.merge_launch(s)
        label = f"{self.name} {merge['entry']}"
        merge = _cuda.Launch(drv, self._function(dev.index, variant["file"], merge["entry"], shared), grid, block, shared,
                             _plan.pack(merge["arguments"], kernel.merge_values(s, merged, param_values, splits), label), {}, label)
        plan = _DecodePlan(variant, splits, layout, tiles_key, classify, classify_values, split, merge)
        self._keep_plan(key, plan)
        return plan

    def _paged_tiles(self, plan, s, tiles, lengths, lengths_device, dev, stream, addresses):
        """Each sequence's lists in its own slot rows, under its own Nkv and Q0 (decode.tile_list.paged)."""
        kernel, variant, layout = self.kernel, plan.variant, plan.layout
        rows = layout.rows // s.B  # a sequence's rows: slots_h x query blocks
        if plan.classify is None:
            # Every element visible: row [count_b, 0 | F, 1 | F, ...], F unless the tile runs past the sequence's keys.
            index = torch.arange(layout.width - 1, dtype=torch.int32, device=dev)
            n = lengths_device.to(torch.int32)[:, None]
            view = tiles.view(s.B, rows, layout.width)
            view[:, :, 0] = (-(-n // variant["block_n"])).expand(s.B, rows)
            view[:, :, 1:] = (index[None, :] | (((index[None, :] + 1) * variant["block_n"] <= n).to(torch.int32) * kernel.full_bit))[:, None, :]
            return
        c = kernel.decode["tile_list"]["classifier"]
        entry = kernel.decode["entries"][variant["mode"]]
        per_batch = kernel.decode["tile_list"]["per_batch"]
        scratch = torch.zeros(layout.length, dtype=torch.int32, device=dev) if per_batch else None
        grid, block, shared = kernel.decode_classifier_launch(variant, s)
        function = self._function(dev.index, variant["file"], c["entry"], shared)
        label = f"{self.name} {c['entry']}"
        for b, n in enumerate(lengths):
            if n == 0:
                continue  # no keys: count 0, as the zeroed list says
            own = {**plan.classify_values, "p_Nkv": n, "p_query_offset": max(0, n - s.Nq)}
            if per_batch:
                # The mask reads b: classify every slot under this sequence's extents and keep sequence b's rows.
                own["p_tiles"] = scratch.data_ptr()
                own_grid = grid
            else:
                own["p_tiles"] = tiles.data_ptr() + 4 * b * rows * layout.width
                own_grid = [grid[0], layout.slots_h, 1]
            _cuda.Launch(driver(), function, own_grid, block, shared, _plan.pack(entry["arguments"], own, label), {}, label)(stream, addresses)
            if per_batch:
                tiles.view(s.B, rows * layout.width)[b] = scratch.view(s.B, rows * layout.width)[b]

    def _backward_cuda(self, q, k, v, out, lse, pre, dout, *rest):
        ins, params, input_grads = rest[:len(self.inputs)], rest[len(self.inputs):-1], rest[-1]
        kernel = self.kernel if input_grads else self.operands_kernel
        B, H, Nq, D = q.shape
        Hkv, Nkv, Dv = k.shape[1], k.shape[2], v.shape[3]
        dev = q.device
        by_name = {spec.name: (spec, t) for spec, t in zip(self.inputs, ins)}
        pieces = [("dq", (B, H, Nq, D)), ("row_grads", (self.row_sums, B, H, Nq)),
                  ("delta", (B, H, Nq)), *[("grad_" + n, tuple(by_name[n][1].shape) if input_grads else (0,)) for n in self.gradient_inputs]]
        scratch = _float32_scratch(pieces, kernel.backward["zeroed"], dev)
        # dK and dV: the main kernel writes every element of its own allocation of each, in the manifest's dtype.
        key_dtype = DTYPES[kernel.backward["gradient_dtypes"]["p_dk"]]
        scratch["dk"] = torch.empty((B, Hkv, Nkv, D), dtype=key_dtype, device=dev)
        scratch["dv"] = torch.empty((B, Hkv, Nkv, Dv), dtype=key_dtype, device=dev)
        dq, dk, dv = scratch["dq"], scratch["dk"], scratch["dv"]
        grads = [scratch["grad_" + n] for n in self.gradient_inputs]
        if q.numel() and k.numel():
            self._launch_backward(kernel, q, k, v, out, lse, pre, dout, ins, params, scratch, grads if input_grads else [])
        else:
            # No launch: dk and dv, which the main kernel writes whole and so are not zeroed, are zero.
            dk.zero_()
            dv.zero_()
        # Copies, never views of the float32 scratch (a float32 q would get one back): a custom op's outputs may not alias each other.
        # dk and dv are allocations of their own, returned as they are where k and v have their dtype.
        return (dq.to(q.dtype, copy=True), _as(dk, k.dtype), _as(dv, v.dtype),
                *[g.to(by_name[n][1].dtype, copy=True) for n, g in zip(self.gradient_inputs, grads)])

    def _launch_backward(self, kernel, q, k, v, out, lse, pre, dout, ins, params, scratch, grads):
        B, H, Nq, _ = q.shape
        Dv = v.shape[3]
        dev = q.device
        s = self._sizes(q, k, v, ins)
        dout_eff = torch.empty((B, H, Nq, Dv), dtype=torch.bfloat16, device=dev) if kernel.transforms_output else None
        if kernel.transforms_output and not pre.numel():
            raise RuntimeError(f"{self.name}: the forward kept no pre-transform output for the backward (it ran with no input requiring grad)")
        qb, kb, vb, outb, doutb = _operand(q), _operand(k), _operand(v), _operand(out), _operand(dout)
        with _on_device(dev):
            stream = _launch_stream(dev)
            plan = self._backward_plan(kernel, dev, s, params)
            tiles, fresh = self._tile_list(plan.tiles_key + (stream,), plan.layout.length, dev, ins)
            addresses = {"q": qb.data_ptr(), "k": kb.data_ptr(), "v": vb.data_ptr(), "out": outb.data_ptr(), "dout": doutb.data_ptr(),
                         "lse": lse.data_ptr(), "pre_out": pre.data_ptr(), **{name: scratch[name].data_ptr() for name in ("delta", "dq", "dk", "dv", "row_grads")},
                         "tiles": tiles.data_ptr(),
                         "dout_eff": dout_eff.data_ptr() if dout_eff is not None else 0,
                         **{"in_" + spec.name: t.data_ptr() for spec, t in zip(self.inputs, ins)},
                         **{"grad_" + n: g.data_ptr() for n, g in zip(kernel.gradient_inputs, grads)}}
            launches = plan.launches
            if "delta" in launches:
                launches["delta"](stream, addresses)
            if fresh:
                if "classify" in launches:
                    launches["classify"](stream, addresses)
                else:
                    _every_tile(tiles, plan.layout.rows, plan.layout.width - 1, plan.variant["block_q"], s.Nq, plan.variant["block_kv"], s.Nkv,
                                kernel.full_bit)
                self._remember(plan.tiles_key + (stream,), tiles, ins)
            launches["main"](stream, addresses)
            if "rows" in launches:
                launches["rows"](stream, addresses)

    def _backward_plan(self, kernel, dev, s, params):
        """The backward's launches (`kernel`: with or without the inputs' gradients) for these sizes and params, kept."""
        forced = _forced_arch()
        key = ("backward", id(kernel), dev.index, forced, s.key(), tuple(params))
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        drv = driver()
        # A forced sm_90a picks the best backward there: wgmma where it was exported, else mma.sync for sm_90.
        variant = _plan.choose(kernel.backward["variants"], torch.cuda.get_device_capability(dev), s.D, s.Dv,
                               f"{self.name} backward", None if forced in (None, "sm_90a") else forced)
        layout = kernel.backward_tiles(variant, s)
        tiles_key = ("backward", dev.index, variant["file"], s.Nq, s.Nkv, s.B if layout.slots_b > 1 else 0,
                     s.H if layout.slots_h > 1 else 0, tuple(params), tuple(sorted(s.extra.items())))
        names = ["q", "k", "v", "out", "dout", "delta", "dq", "dk", "dv", "row_grads", "tiles", *("in_" + spec.name for spec in self.inputs),
                 *("grad_" + n for n in kernel.gradient_inputs)]
        if kernel.writes_lse:
            names.append("lse")
        if kernel.transforms_output:
            names += ["pre_out", "dout_eff"]
        values = kernel.backward_values(variant, s, {name: _cuda.Address(name) for name in names},
                                        {p.name: value for p, value in zip(self.params, params)})
        main_values = kernel.main_values(values)
        # The wgmma kernel reads dO after the output transform (dout_eff) where main takes p_dout.
        maps = {spec["argument"]: (spec, "dout_eff" if name == "dout" and kernel.transforms_output else name, dims, strides, box)
                for spec, name, dims, strides, box in kernel.backward_tensor_map_specs(variant, s)}
        launches = {}
        entries = kernel.backward_entries()
        for name in [n for n in ("delta", "classify", "main", "rows") if n in entries]:
            e = entries[name]
            grid, block, shared = kernel.backward_launch(name, variant, s)
            label = f"{self.name} {e['entry']}"
            arguments = _plan.pack(kernel.backward_arguments(name, variant), main_values if name in ("main", "classify") else values,
                                   label, {m: m for m in maps})
            launches[name] = _cuda.Launch(drv, self._function(dev.index, variant["file"], e["entry"], shared), grid, block, shared,
                                          arguments, maps, label)
        plan = _BackwardPlan(variant, layout, tiles_key, launches)
        self._keep_plan(key, plan)
        return plan

    # -- kernels, tile lists, sizes ----------------------------------------------------------------
    def _sizes(self, q, k, v, ins):
        extra = {size: int(ins[index].shape[axis]) for size, (index, axis) in self.sizes_from.items()}
        return _plan.Sizes(q.shape[0], q.shape[1], k.shape[1], q.shape[2], k.shape[2], q.shape[3], v.shape[3], extra)

    def _function(self, device_index, file, entry, shared_bytes):
        module = self._modules.get((device_index, file))
        if module is None:
            with self._lock:
                module = self._modules.get((device_index, file))
                if module is None:
                    with open(os.path.join(self.directory, file), "rb") as f:
                        image = f.read()
                    module = {"handle": driver().load_module(image, file), "functions": {}}
                    self._modules[(device_index, file)] = module
                    self._stats["modules_loaded"] += 1
        function = module["functions"].get(entry)
        if function is None:
            function = module["functions"][entry] = driver().function(module["handle"], entry, shared_bytes, file)
        return function

    def _tile_list(self, key, length, device, ins):
        """(tiles, fresh): a kept list for `key` (and, for masks that read inputs, for these unchanged
        input tensors), or a new zeroed one the caller fills."""
        if not torch.cuda.is_current_stream_capturing():
            key = self._full_key(key, ins)
            with self._lock:
                kept = self._tiles.get(key)
                if kept is not None and all(ref() is t for ref, t in zip(kept[1], ins)):
                    self._tiles.move_to_end(key)
                    self._stats["tile_lists_reused"] += 1
                    return kept[0], False
        self._stats["tile_lists_built"] += 1
        return torch.zeros(length, dtype=torch.int32, device=device), True

    def _remember(self, key, tiles, ins):
        if not _may_keep(tiles.device):
            return
        # Weak references: a kept list must not keep its ids alive, and a dead tensor's id may come back.
        refs = tuple(weakref.ref(t) for t in ins) if self.mask_reads_inputs else ()
        with self._lock:
            self._tiles[self._full_key(key, ins)] = (tiles, refs)
            while len(self._tiles) > TILE_CACHE_SIZE:
                self._tiles.popitem(last=False)

    def _full_key(self, key, ins):
        """The lists' key: sizes and params, and for masks that read inputs each input's object and version."""
        return key + tuple((id(t), t._version) for t in ins) if self.mask_reads_inputs else key

    def forget_tile_lists(self):
        """Drops every kept tile list and converted input (after writing a mask's input tensor in a way torch does not count)."""
        with self._lock:
            self._tiles.clear()
            self._conversions.clear()

    def stats(self):
        """Counts since import: PTX modules loaded, tile lists built and reused."""
        return dict(self._stats)


# A forward's launches for one set of sizes and params: `main` and, where lists are classified on
# the device, `classify` (_cuda.Launch both); the tile lists' layout and key, less the stream.
_ForwardPlan = collections.namedtuple("_ForwardPlan", "variant layout tiles_key main classify")
# A backward's: its entries' launches by name (delta, classify, main, rows as the manifest has them).
_BackwardPlan = collections.namedtuple("_BackwardPlan", "variant layout tiles_key launches")
# A decode's: the split entry, the merge, the classifier (None where every element is visible) and
# its values by name, which a paged launch re-targets per sequence.
_DecodePlan = collections.namedtuple("_DecodePlan", "variant splits layout tiles_key classify classify_values split merge")


class _Eager(torch.autograd.Function):
    """The op's eager path: its CUDA implementations under a plain autograd.Function, without the
    custom op's dispatch and autograd wrapping, which cost the host more than a short kernel runs
    (a forward and backward of the sliding window at N = 256: 0.93 ms of host time through the op,
    0.79 ms this way).
    The op stays the path wherever PyTorch traces (torch.compile, fake and proxy modes)."""

    @staticmethod
    def forward(ctx, package, keep, q, k, v, *rest):
        out, lse, pre = package._forward_cuda(q, k, v, *rest, keep)
        ctx.package = package
        package._setup_context(ctx, (q, k, v, *rest, keep), (out, lse, pre))
        ctx.mark_non_differentiable(lse, pre)
        return out, lse, pre

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dout, dlse, dpre):
        package = ctx.package
        grads = package._gradients(ctx, dout, 2, package._backward_cuda)
        return (None, None, *grads, *([None] * len(ctx.params)))


def _eager(q, k, v, inputs):
    """Whether a call may take _Eager: not traced (torch.compile, a fake or proxy mode on the dispatch
    stack), on CUDA (meta tensors take the op's fake implementation) and only plain tensors (a tensor
    subclass may be a tracer's), unless ATTNC_TORCH_EAGER=0."""
    if _traced() or not q.is_cuda or os.environ.get("ATTNC_TORCH_EAGER") == "0":
        return False
    for t in (q, k, v, *inputs):
        if type(t) not in _PLAIN:
            return False
    return True


_PLAIN = (torch.Tensor, torch.nn.Parameter)


def _traced():
    """Whether a tracer sees this call: torch.compile, or a fake or proxy mode on the dispatch stack."""
    return torch.compiler.is_compiling() or bool(torch._C._len_torch_dispatch_stack())


def _may_keep(device):
    """Whether what a call makes on `device` may outlive it: not while a CUDA graph is captured (it would
    live in the graph's memory) nor while torch.compile's graph trees warm a function up (_graph_warmup)."""
    return not (torch.cuda.is_current_stream_capturing() or _graph_warmup(device))


def _expect_tensor(label, t):
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{label} must be a torch.Tensor, got {type(t).__name__}")


def _on_device(dev):
    """A context with `dev` current: nothing to switch, and so no guard to pay for, when it already is."""
    return contextlib.nullcontext() if torch.cuda.current_device() == dev.index else torch.cuda.device(dev)


def _launch_stream(dev):
    """The driver's context for `dev` made current (the launches and module loads that follow need it), and
    the current stream's CUstream there: the raw handle Inductor's own launches read, without building a
    torch.cuda.Stream object each launch. `dev` must be the current device (_on_device)."""
    driver().make_current(dev.index)
    if _RAW_STREAM is not None:
        return _RAW_STREAM(dev.index)
    return torch.cuda.current_stream(dev).cuda_stream


_RAW_STREAM = getattr(torch._C, "_cuda_getCurrentRawStream", None)


def _as(t, dtype):
    """t in `dtype`: t itself when it has it, without a call into torch."""
    return t if t.dtype == dtype else t.to(dtype)


def _operand(t):
    """A bfloat16, contiguous, 16-byte aligned tensor with t's values (t itself when it is one)."""
    if t.dtype != torch.bfloat16:
        t = t.to(torch.bfloat16)
    t = t.contiguous()
    return t if t.data_ptr() % 16 == 0 else t.clone()


def check_pages(name, kv_lengths, block_table, page, P):
    """kv_lengths as a list, each within its row of block_table, every page a sequence reads inside
    the pool of P pages: the paged decode's and the ragged prefill's check, before any launch."""
    lengths = [int(n) for n in kv_lengths.tolist()]
    table = block_table.to(device="cpu", dtype=torch.int64)
    max_pages = block_table.shape[1]
    for b, n in enumerate(lengths):
        if not 0 <= n <= max_pages * page:
            raise ValueError(f"{name}: kv_lengths[{b}] = {n}; expected 0 to max_pages * page = {max_pages * page}")
        used = table[b, :-(-n // page)]
        if used.numel() and (int(used.min()) < 0 or int(used.max()) >= P):
            raise ValueError(f"{name}: block_table row {b} names page {int(used.min()) if int(used.min()) < 0 else int(used.max())}, "
                             f"outside the pool's 0 .. {P - 1}")
    return lengths


def _graph_warmup(device):
    """Whether torch.compile's CUDA graph trees (mode="reduce-overhead") are warming a function up on
    this thread and device: its allocations then come from the graphs' pool, which must hold nothing
    but the function's outputs when recording starts, so nothing made then may be kept. (Their state
    stays "warm-up" until their next run, so an eager call after one keeps nothing either: it builds
    its tile lists again, a cost and not an error.)"""
    trees = sys.modules.get("torch._inductor.cudagraph_trees")
    if trees is None:
        return False
    try:
        manager = trees.get_manager(device.index, create_if_none_exists=False)
    except Exception:
        return False
    return manager is not None and getattr(manager, "path_state", None) == trees.ExecutionState.WARMUP


def _forced_arch():
    return os.environ.get("ATTNC_TORCH_ARCH") or None


def _float32_scratch(pieces, zeroed, device):
    """(name, shape) pieces as float32 views of two allocations, one zeroed (the pieces whose
    "p_" + name the manifest lists in `zeroed`) and one not: two allocator calls and at most one
    fill a backward rather than one per tensor, which the host pays for at every step. Each piece
    starts on a 256-byte boundary."""
    key = (tuple(pieces), tuple(zeroed))
    layout = _SCRATCH_LAYOUTS.get(key)
    if layout is None:
        zeroed = set(zeroed)
        places, ends = [], {True: 0, False: 0}
        for name, shape in pieces:
            z, size = "p_" + name in zeroed, math.prod(shape)
            places.append((name, z, ends[z], ends[z] + size, shape))
            ends[z] += -(-size // 64) * 64
        if len(_SCRATCH_LAYOUTS) >= PLAN_CACHE_SIZE:
            _SCRATCH_LAYOUTS.clear()  # one call, safe beside another thread's lookup
        layout = _SCRATCH_LAYOUTS[key] = (tuple(places), ends[True], ends[False])
    places, zeroed_length, plain_length = layout
    flat = {True: torch.zeros(zeroed_length, dtype=torch.float32, device=device),
            False: torch.empty(plain_length, dtype=torch.float32, device=device)}
    return {name: flat[z][start:end].view(shape) for name, z, start, end, shape in places}


# The scratch layouts of the backwards seen, by their pieces and zeroed names (the sizes of a launch).
_SCRATCH_LAYOUTS = {}


def _every_tile(tiles, rows, count, block, extent, other_block, other_extent, full_bit):
    """A tile list where every element is visible (the manifest's host rule), built on the device
    (no host copy, so it can be captured in a CUDA graph): each of `rows` rows is
    [count, 0 | F, 1 | F, ...], F = full_bit unless the tile runs past `extent`. For the backward,
    `other_block`/`other_extent` are the kv tiling: row r is kv tile r % kv_tiles, F also needs
    that tile inside Nkv."""
    device = tiles.device
    index = torch.arange(count, dtype=torch.int32, device=device)
    full = (index + 1) * block <= extent
    if other_block is None:
        entries = (index | (full.to(torch.int32) * full_bit)).expand(rows, count)
    else:
        kv_tiles = -(-other_extent // other_block)
        kv = torch.arange(kv_tiles, dtype=torch.int32, device=device)
        full_kv = (kv + 1) * other_block <= other_extent
        per_kv = index[None, :] | ((full[None, :] & full_kv[:, None]).to(torch.int32) * full_bit)
        entries = per_kv.repeat(rows // kv_tiles, 1)
    view = tiles.view(rows, count + 1)
    view[:, 0] = count
    view[:, 1:] = entries


def _row_sums(kernel):
    """Rows of the backward's row-gradient scratch, from its meaning ("float32 [2, B, H, Nq]")."""
    for entry in kernel.backward["entries"].values():
        for a in entry["arguments"]:
            if a["name"] == "p_row_grads":
                match = re.search(r"\[(\d+), B, H, Nq\]", a.get("meaning", ""))
                if match is None:
                    raise _plan.PlanError(f"cannot read the size of p_row_grads from the manifest: {a.get('meaning')!r}")
                return int(match.group(1))
    return 0
