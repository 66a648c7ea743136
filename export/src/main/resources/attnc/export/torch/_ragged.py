"""A ragged batch's prefill over a paged KV cache, as the manifest's "ragged" section describes it and
attnc's Java launcher (RaggedPrefill) runs it: queries packed [totalQ, H, D], each sequence with its own
query and key counts, K and V read in place through the block table, one launch of the ragged module.

Decisions:
- Everything is checked before any launch, and the host reads query_starts, kv_lengths and the rows of
  block_table that the sequences use (a synchronisation when they live on the GPU): they size the
  launch, each sequence's tile lists and the work list.
- Each sequence's tile lists come from the module's classifier, launched once per sequence under that
  sequence's sizes (or are every tile, where the mask hides nothing); the work list (sequence, head,
  query block, list offset) is built in RaggedPlan's order and sorted by list length on the device,
  longest first and stably, so no list is copied back.
- An input whose shape names Nq, Nkv or Q0 is given at the largest extent any sequence declares; each
  sequence's leading view of it is copied, one after another, for the kernel (RaggedPrefill does the same).
- The kernels read bfloat16 (float16 and float32 tensors are rounded first) and write a float32 output,
  returned in q's dtype. No autograd: this is an inference path.
"""
import torch

from . import _cuda, _op, _plan

INT_DTYPES = (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)
LARGEST_INDEX = 2**31 - 1


def prefill(package, q, query_starts, k_pages, v_pages, block_table, kv_lengths, inputs, params, return_lse):
    """See the package's ragged_prefill."""
    name, kernel = package.name, package.kernel
    refusal = kernel.ragged_refusal()
    if refusal is not None:
        raise ValueError(f"{name}: no ragged prefill for this pattern ({refusal})")
    total, H, D, P, page, Hkv, Dv = _check_tensors(package, q, query_starts, k_pages, v_pages, block_table, kv_lengths)
    B, max_pages = block_table.shape
    starts, lengths = _check_lengths(name, query_starts, kv_lengths, block_table, total, page, P)
    counts = [starts[b + 1] - starts[b] for b in range(B)]
    dev = q.device
    sizes = package._input_sizes({"B": B, "H": H, "Hkv": Hkv, "Nq": max(counts, default=0), "Nkv": max(lengths, default=0), "D": D, "Dv": Dv,
                                  "Q0": max(0, max(lengths, default=0) - max(counts, default=0))}, inputs)
    own = [{**sizes, "Nq": nq, "Nkv": nkv, "Q0": max(0, nkv - nq)} for nq, nkv in zip(counts, lengths)]
    per_sequence = kernel.ragged["per_sequence_inputs"]
    prepared, copies = [], {}
    for spec, t in zip(package.inputs, inputs):
        if spec.name in per_sequence:
            whole, copies[spec.name] = _sequence_copies(package, spec, t, sizes, own, dev)
            prepared.append(whole)
        else:
            prepared.append(package._prepare_input(spec, t, sizes, dev))
    param_values = {spec.name: package._param_value(spec, params[spec.name]) for spec in package.params}
    if return_lse and not kernel.writes_lse:
        raise ValueError(f"{name}: this pattern's normalisation has no log-sum-exp; call it without return_lse")
    out = torch.empty((total, H, Dv), dtype=torch.float32, device=dev)
    lse = torch.empty((total, H) if kernel.writes_lse else (0,), dtype=torch.float32, device=dev)
    if total:
        with torch.no_grad(), _op._on_device(dev):
            forced = _op._forced_arch()
            # Like the decode modules, a forced sm_90a means the best there (the ragged module at sm_90 may be mma.sync).
            variant = kernel.ragged_variant(torch.cuda.get_device_capability(dev), D, Dv, None if forced in (None, "sm_90a") else forced)
            s = _plan.Sizes(B, H, Hkv, max(counts), max(lengths), D, Dv, {n: int(sizes[n]) for n in package.sizes_from})
            _launch(package, variant, s, q, k_pages, v_pages, query_starts, block_table, kv_lengths, counts, lengths, prepared, copies,
                    param_values, out, lse, page.bit_length() - 1, max_pages)
    out = out.to(q.dtype)
    return (out, lse) if return_lse else out


def _check_tensors(package, q, query_starts, k_pages, v_pages, block_table, kv_lengths):
    """The shapes, dtypes and devices of the batch's tensors: (totalQ, H, D, P, page, Hkv, Dv)."""
    name = package.name
    for label, t in (("q", q), ("query_starts", query_starts), ("k_pages", k_pages), ("v_pages", v_pages), ("block_table", block_table),
                     ("kv_lengths", kv_lengths)):
        _op._expect_tensor(label, t)
    if q.dim() != 3 or k_pages.dim() != 4 or v_pages.dim() != 4:
        raise ValueError(f"{name}: q must be [totalQ, H, D], k_pages [P, page, Hkv, D] and v_pages [P, page, Hkv, Dv]; got shapes "
                         f"{tuple(q.shape)}, {tuple(k_pages.shape)}, {tuple(v_pages.shape)}")
    total, H, D = q.shape
    P, page, Hkv, Dk = k_pages.shape
    Dv = v_pages.shape[3]
    if tuple(v_pages.shape[:3]) != (P, page, Hkv):
        raise ValueError(f"{name}: v_pages {tuple(v_pages.shape)} must match k_pages {tuple(k_pages.shape)} in P, page and Hkv")
    if page < 1 or page > 256 or page & (page - 1):
        raise ValueError(f"{name}: the page size (dimension 1 of k_pages, {page}) must be a power of two from 1 to 256")
    head_dims = sorted({v["head_dim"] for v in package.kernel.ragged["variants"]})
    if Dk != D or D != Dv or D not in head_dims:
        raise ValueError(f"{name}: head dims q {D}, k {Dk}, v {Dv}; the exported ragged kernels take D == Dv in {head_dims}")
    if Hkv == 0 or H % Hkv:
        raise ValueError(f"{name}: q has {H} heads and the pages {Hkv}: H must be a multiple of Hkv")
    for label, t in (("q", q), ("k_pages", k_pages), ("v_pages", v_pages)):
        if t.dtype not in _op.FLOATS:
            raise TypeError(f"{name}: {label} is {t.dtype}; the kernels take torch.bfloat16, torch.float16 or torch.float32 (all computed in bfloat16)")
        if t.device.type != "cuda" or t.device != q.device:
            raise ValueError(f"{name}: {label} must be a CUDA tensor on q's device; got {t.device} (q on {q.device})")
    for label, t in (("query_starts", query_starts), ("block_table", block_table), ("kv_lengths", kv_lengths)):
        if t.dtype not in INT_DTYPES:
            raise TypeError(f"{name}: {label} holds integers (int32; other integer dtypes are converted); got {t.dtype}")
    if kv_lengths.dim() != 1 or block_table.dim() != 2 or block_table.shape[0] != kv_lengths.shape[0] \
            or tuple(query_starts.shape) != (kv_lengths.shape[0] + 1,):
        raise ValueError(f"{name}: kv_lengths must be [B], block_table [B, max_pages] and query_starts [B + 1]; got {tuple(kv_lengths.shape)}, "
                         f"{tuple(block_table.shape)} and {tuple(query_starts.shape)}")
    if total * H > LARGEST_INDEX or P * page * Hkv > LARGEST_INDEX:
        raise ValueError(f"{name}: the kernel indexes rows with 32-bit ints; got totalQ * H = {total * H} and P * page * Hkv = {P * page * Hkv}, "
                         f"both must be at most {LARGEST_INDEX} (split the batch)")
    return total, H, D, P, page, Hkv, Dv


def _check_lengths(name, query_starts, kv_lengths, block_table, total, page, P):
    """query_starts and kv_lengths as lists, checked with every page the sequences read."""
    starts = [int(n) for n in query_starts.tolist()]
    if starts[0] != 0 or starts[-1] != total:
        raise ValueError(f"{name}: query_starts must run from 0 to totalQ = {total} (q's dimension 0); got {starts[0]} .. {starts[-1]}")
    for b in range(kv_lengths.numel()):
        if starts[b + 1] < starts[b]:
            raise ValueError(f"{name}: query_starts must not decrease: query_starts[{b + 1}] = {starts[b + 1]} < query_starts[{b}] = {starts[b]}")
    return starts, _op.check_pages(name, kv_lengths, block_table, page, P)


def _sequence_copies(package, spec, t, sizes, own, device):
    """An input sized per sequence: (the input checked at the largest extent any sequence declares,
    (its sequences' views copied one after another with a spare element, each copy's byte offset))."""
    views = [tuple(spec.shape(s)) for s in own]
    largest = tuple(max(dims) for dims in zip(*views)) if views else tuple(spec.shape({**sizes, "Nq": 0, "Nkv": 0, "Q0": 0}))
    whole = package._prepare_input(spec, t, sizes, device, expected=largest, note=" (each dimension the largest any sequence declares)")
    chunks, offsets, at = [], [], 0
    for dims in views:
        view = whole[tuple(slice(0, n) for n in dims)].reshape(-1)
        offsets.append(at * whole.element_size())
        chunks.append(view)
        at += view.numel()
    # The spare element: a sequence whose view is empty still reads a valid address.
    chunks.append(whole.new_zeros(1))
    return whole, (torch.cat(chunks), offsets)


def _launch(package, variant, s, q, k_pages, v_pages, query_starts, block_table, kv_lengths, counts, lengths, prepared, copies,
            param_values, out, lse, page_shift, max_pages):
    kernel, dev = package.kernel, q.device
    qb, kb, vb = _op._operand(q), _op._operand(k_pages), _op._operand(v_pages)
    per_sequence = kernel.ragged["per_sequence_inputs"]
    offsets = None
    if per_sequence:
        offsets = torch.tensor([[copies[n][1][b] for n in per_sequence] for b in range(s.B)], dtype=torch.int64).to(dev)
    regions, length = kernel.ragged_regions(variant, s.H, counts, lengths)
    if length > LARGEST_INDEX:
        raise ValueError(f"{package.name}: the tile lists of this batch hold {length} ints, more than the work list's 32-bit offsets reach (split the batch)")
    tiles = torch.zeros(max(1, length), dtype=torch.int32, device=dev)
    ints = {label: t.to(device=dev, dtype=torch.int32).contiguous()
            for label, t in (("query_starts", query_starts), ("block_table", block_table), ("kv_lengths", kv_lengths))}
    pointers = {"q": qb.data_ptr(), "k": kb.data_ptr(), "v": vb.data_ptr(), "out": out.data_ptr(),
                "lse": lse.data_ptr() if kernel.writes_lse else 0, "tiles": tiles.data_ptr(),
                "input_offsets": offsets.data_ptr() if offsets is not None else 0,
                **{label: t.data_ptr() for label, t in ints.items()},
                **{"in_" + spec.name: (copies[spec.name][0] if spec.name in copies else t).data_ptr() for spec, t in zip(package.inputs, prepared)}}
    values = kernel.ragged_values(variant, s, pointers, param_values, page_shift, max_pages)
    stream = _op._launch_stream(dev)
    _tile_lists(package, variant, values, regions, counts, lengths, copies, tiles, stream)
    work = _work_list(kernel, s.H, regions, tiles)
    entry = kernel.ragged["entry"]
    grid, block, shared = kernel.ragged_launch(variant, work.shape[0])
    label = f"{package.name} ragged {entry['entry']}"
    function = package._function(dev.index, variant["file"], entry["entry"], shared)
    arguments = _plan.pack(entry["arguments"], {**values, "p_work": work.data_ptr()}, label)
    _cuda.Launch(_op.driver(), function, grid, block, shared, arguments, {}, label)(stream, {})


def _tile_lists(package, variant, values, regions, counts, lengths, copies, tiles, stream):
    """Each sequence's lists at its region (kernel.ragged_regions): every tile where the mask hides
    nothing, else the classifier under the sequence's own sizes and input copies."""
    kernel = package.kernel
    rule = kernel.ragged["tile_list"]
    slots_h = kernel.ragged_slots_h(values["p_H"])
    if rule["builder"] != "classifier":
        for b, offset, blocks, width in regions:
            # [count, 0 | F, 1 | F, ...], F unless the tile runs past the sequence's keys.
            index = torch.arange(width - 1, dtype=torch.int32, device=tiles.device)
            full = ((index + 1) * variant["block_n"] <= lengths[b]).to(torch.int32) * kernel.full_bit
            rows = tiles[offset:offset + slots_h * blocks * width].view(slots_h * blocks, width)
            rows[:, 0] = width - 1
            rows[:, 1:] = index | full
        return
    classifier = rule["classifier"]
    arguments = kernel.ragged["entry"]["arguments"]
    label = f"{package.name} ragged {classifier['entry']}"
    for b, offset, blocks, width in regions:
        if lengths[b] == 0:
            continue  # no keys: count 0, as the zeroed lists say
        grid, block, shared = kernel.ragged_classifier_launch(variant, values["p_B"], values["p_H"], counts[b])
        function = package._function(tiles.device.index, variant["file"], classifier["entry"], shared)
        own_inputs = {"p_in_" + n: copy.data_ptr() + offsets[b] for n, (copy, offsets) in copies.items()}
        rows = slots_h * blocks * width
        # A mask that reads b is classified for every b' under this sequence's sizes; sequence b's rows are kept.
        scratch = torch.empty(grid[1] * blocks * width, dtype=torch.int32, device=tiles.device) if rule["per_batch"] else None
        target = scratch.data_ptr() if scratch is not None else tiles.data_ptr() + 4 * offset
        own = kernel.ragged_classifier_values(variant, values, counts[b], lengths[b], target, own_inputs)
        _cuda.Launch(_op.driver(), function, grid, block, shared, _plan.pack(arguments, own, label), {}, label)(stream, {})
        if scratch is not None:
            tiles[offset:offset + rows] = scratch[b * rows:(b + 1) * rows]


def _work_list(kernel, H, regions, tiles):
    """int32 [entries, 4] of (b, h, query block, list offset) in RaggedPlan's order: by sequence, head and
    query block, then stably by the count of each entry's list, largest first (sorted on the device)."""
    per_head = kernel.ragged["tile_list"]["per_head"]
    parts = []
    for b, offset, blocks, width in regions:
        h = torch.arange(H, dtype=torch.int32).repeat_interleave(blocks)
        block = torch.arange(blocks, dtype=torch.int32).repeat(H)
        slot = h if per_head else torch.zeros_like(h)
        parts.append(torch.stack([torch.full_like(h, b), h, block, offset + (slot * blocks + block) * width], dim=1))
    entries = torch.cat(parts).to(tiles.device)
    # Ascending on the negated counts: a stable sort keeps equal counts in the order above.
    order = torch.sort(-tiles[entries[:, 3].long()], stable=True).indices
    return entries[order].contiguous()
