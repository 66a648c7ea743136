package attnc.ptx;

import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.lower.LoweredPattern;
import attnc.ptx.emit.ClassifyEmitter;
import attnc.ptx.emit.KernelConfig;
import attnc.ptx.emit.PtxModule;
import attnc.ptx.emit.Signature;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code ragged} section of kernel.json and its modules: the ragged prefill kernel ({@link
 * RaggedPrefill}, {@link KernelConfig#ofRagged}: wgmma on sm_90a where it takes the pattern, else
 * mma.sync) for each exported architecture and head dim, and the argument ABI a caller without
 * attnc needs: packed queries and their starts, the paged pools and block table, the per-sequence
 * input copies and their offsets, the work list as {@link RaggedPlan} orders it, and how to build
 * the tile lists (the module's classifier, launched once per sequence, where the mask hides
 * anything). An architecture and head dim the ragged path refuses is named with the reason; where
 * it refuses every one, the section is that reason.
 */
final class RaggedExport {
    private RaggedExport() {}

    /** {@code causal_ragged.ptx} (sm_80, D = 64), {@code causal_ragged_sm_90a_d128.ptx}, {@code document_ragged_sm_90.ptx}. */
    static String fileName(Pattern pattern, KernelConfig config) {
        return pattern.name() + "_ragged" + (config.sm() == PtxExport.ARCHITECTURES.getFirst() ? "" : "_" + PtxExport.arch(config))
                + (config.headDim() == PtxExport.HEAD_DIMS.getFirst() ? "" : "_d" + config.headDim()) + ".ptx";
    }

    /** Renders the modules into {@code files} and returns their description, or the reason there are none. */
    static JsonElement describe(LoweredPattern lowered, List<Integer> sms, Map<String, byte[]> files) {
        Pattern pattern = lowered.pattern();
        JsonArray variants = new JsonArray(), refused = new JsonArray();
        List<String> reasons = new ArrayList<>();
        PtxModule first = null;
        for (int sm : sms) {
            for (int d : PtxExport.HEAD_DIMS) {
                KernelConfig config;
                try {
                    config = KernelConfig.ofRagged(lowered, sm, DType.BFLOAT16, d, d);
                } catch (IllegalArgumentException e) {
                    // A tile: section the mma.sync tiling cannot take (the wgmma ragged kernel takes none).
                    String reason = "sm_" + sm + ", D = " + d + ": " + e.getMessage();
                    reasons.add(reason);
                    refused.add(reason);
                    continue;
                }
                PtxModule module = PtxModule.render(lowered, config);
                if (first == null) first = module;
                String file = fileName(pattern, config);
                files.put(file, module.text().getBytes(StandardCharsets.US_ASCII));
                variants.add(variant(file, config));
            }
        }
        if (first == null) return new JsonPrimitive("unsupported: the ragged prefill kernel refuses this pattern (" + String.join("; ", reasons) + ")");
        JsonObject r = new JsonObject();
        r.addProperty("about", "prefill over a ragged batch and a paged KV cache in one launch: queries packed [totalQ, H, D], each sequence with"
                + " its own Nq, Nkv and bottom-right query offset, K and V read in place through a block table; block x runs entry x of a work"
                + " list of (sequence, head, query block), longest tile lists first. Inference only: there is no backward for it");
        PtxExport.precisions(r, "float32", lowered);
        r.addProperty("order", "copy the per-sequence inputs (input_views) when per_sequence_inputs is not empty; build the tile lists (tile_list);"
                + " the work list from their counts (work_list); launch entry, grid (entries, 1, 1); all on one stream");
        r.add("variants", variants);
        if (!refused.isEmpty()) r.add("refused", refused);
        r.addProperty("tensor_maps", "none: the sm_90a (wgmma) variants' producer warpgroup copies the packed Q rows and the K/V rows it finds"
                + " through the block table with cp.async, so no variant takes a tensor map");
        r.add("entry", PtxExport.entry(PtxModule.ATTENTION_ENTRY, PtxExport.strings("entries", "1", "1"), "threads", "shared_bytes",
                arguments(lowered, Signature.of(pattern, first.config()))));
        r.addProperty("queries", "bfloat16 [totalQ, H, D], contiguous, packed token-major: sequence b's Nq_b = query_starts[b + 1] - query_starts[b]"
                + " queries (0 or more) are rows query_starts[b] .. query_starts[b + 1] - 1, at the bottom right of its keys: query i sits at"
                + " position Q0_b + i, Q0_b = max(0, kv_lengths[b] - Nq_b). Inside the pattern Nq, Nkv and Q0 are the sequence's own, b its index,"
                + " B the number of sequences");
        r.add("paged", DecodeExport.pagedPool());
        JsonArray perSequence = new JsonArray();
        Signature.raggedInputs(pattern).forEach(perSequence::add);
        r.add("per_sequence_inputs", perSequence);
        r.addProperty("input_views", "an input whose declared shape names Nq, Nkv or Q0 (per_sequence_inputs) is given at the largest extent any"
                + " sequence declares (in each dimension the largest over the sequences; at Nq = Nkv = Q0 = 0 for B = 0), and sequence b sees its"
                + " leading part, the declared shape at its own sizes. The entry reads sequence b's view from a copy: the views, each row-major,"
                + " one after another in sequence order, then one spare element (a sequence whose view is empty still has a valid address);"
                + " p_in_<name> points at the first copy and p_input_offsets[b, i] is the byte offset of sequence b's copy of"
                + " per_sequence_inputs[i]. Other inputs are passed as the forward takes them, B being the number of sequences");
        r.add("input_offsets", inputOffsets());
        r.add("work_list", workList());
        r.add("tile_list", tileList(first));
        r.addProperty("output", "out float32 [totalQ, H, Dv] and lse float32 [totalQ, H], packed as q: row (query_starts[b] + i, h) is query i of"
                + " sequence b, head h; every row is written: a row with no visible key (a sequence without keys) gets 0, then the output"
                + " transform, and LSE -inf, or the sink logit");
        r.addProperty("limits", "totalQ * H and P * page * Hkv at most 2^31 - 1: the kernel indexes rows with 32-bit ints");
        return r;
    }

    private static JsonObject variant(String file, KernelConfig c) {
        JsonObject v = new JsonObject();
        v.addProperty("file", file);
        v.addProperty("arch", PtxExport.arch(c));
        v.addProperty("schedule", c.schedule().name().toLowerCase(java.util.Locale.ROOT));
        PtxExport.tiling(v, c);
        return v;
    }

    /** The entry's parameters with their meaning in a ragged launch: what {@link RaggedPrefill} and {@link GpuAttention#launchRagged} pass. */
    private static JsonArray arguments(LoweredPattern lowered, Signature signature) {
        Map<String, String> meaning = new LinkedHashMap<>();
        meaning.put("p_q", "queries, bfloat16 [totalQ, H, D], contiguous, packed (ragged.queries)");
        meaning.put("p_k", "key pool, bfloat16 [P, page, Hkv, D], contiguous (ragged.paged)");
        meaning.put("p_v", "value pool, bfloat16 [P, page, Hkv, Dv], contiguous (ragged.paged)");
        meaning.put("p_out", "output, float32 [totalQ, H, Dv], packed as q (ragged.output)");
        meaning.put("p_lse", lowered.writesLse() ? "log-sum-exp of the scores, float32 [totalQ, H], packed as q (natural log; -inf for a row with no"
                + " visible key and no sink); 0 to skip" : "unused (no LSE without softmax): pass 0");
        meaning.put("p_pre_out", "o before the output transform, float32 [totalQ, H, Dv], packed as q; 0 to skip (attnc passes 0: there is no ragged"
                + " backward)");
        meaning.put("p_tiles", "int32 tile lists, read at the offsets the work list names (ragged.tile_list)");
        meaning.put("p_block_table", "int32 [B, max_pages]: the pool pages of each sequence (ragged.paged)");
        meaning.put("p_kv_lengths", "int32 [B]: the keys of each sequence, 0 to max_pages * page");
        meaning.put("p_query_starts", "int32 [B + 1]: sequence b's queries are packed rows query_starts[b] .. query_starts[b + 1] - 1;"
                + " query_starts[0] = 0, never decreasing, query_starts[B] = totalQ");
        meaning.put("p_work", "int32 [entries, 4], 16-byte aligned: the work list (ragged.work_list); block x runs entry x");
        meaning.put("p_input_offsets", "int64 [B, len(per_sequence_inputs)]: byte offsets of each sequence's input copies (ragged.input_views)");
        for (String name : Signature.raggedInputs(lowered.pattern())) {
            meaning.put("p_in_" + name, "input '" + name + "': the first of the sequences' copies of their views of it (ragged.input_views)");
        }
        meaning.put("p_B", "sequences (rows of block_table)");
        meaning.put("p_Nq", "max over the sequences of Nq_b: each block replaces it with its sequence's Nq_b");
        meaning.put("p_Nkv", "max(kv_lengths): each block replaces it with its sequence's kv_lengths[b]");
        meaning.put("p_query_offset", "max(0, p_Nkv - p_Nq): each block replaces it with its sequence's Q0_b = max(0, kv_lengths[b] - Nq_b)");
        meaning.put("p_kv_tiles", "not read by this entry (attnc passes ceil(p_Nkv / block_n)); the classifier's is per sequence (ragged.tile_list)");
        meaning.put("p_slots_h", "not read by this entry (attnc passes H if tile_list.per_head else 1); the classifier reads it (ragged.tile_list)");
        meaning.put("p_slot_stride_b", "not read by this entry (attnc passes p_slots_h if B > 1 else 0)");
        meaning.put("p_slot_stride_h", "not read by this entry (attnc passes 1 if p_slots_h > 1 else 0)");
        meaning.put("p_page_shift", "log2 of the page size (0 to 8: pages of 1 to 256 keys)");
        meaning.put("p_max_pages", "the block table's row length");
        return DecodeExport.withMeanings(PtxExport.arguments(lowered.pattern(), signature), meaning);
    }


    private static JsonObject inputOffsets() {
        JsonObject o = new JsonObject();
        o.addProperty("dtype", "int64");
        o.add("shape", PtxExport.strings("B", "len(per_sequence_inputs)"));
        o.addProperty("passed", "as p_input_offsets, only where per_sequence_inputs is not empty (the entry has no such parameter otherwise)");
        o.addProperty("value", "[b, i]: bytes from p_in_<per_sequence_inputs[i]> to sequence b's copy (the elements of the views of sequences 0 .. b - 1"
                + " times the input's element size)");
        return o;
    }

    private static JsonObject workList() {
        JsonObject w = new JsonObject();
        w.addProperty("dtype", "int32");
        w.add("shape", PtxExport.strings("entries", "4"));
        w.addProperty("entry", "(b, h, query_block, list_offset): sequence b, query head h, the sequence's queries query_block * block_m .."
                + " query_block * block_m + block_m - 1 (those below Nq_b), and the index in p_tiles (in ints) of the entry's tile list, the list"
                + " of sequence b, slot (h if tile_list.per_head else 0) and query_block");
        w.addProperty("entries", "one per (b, h, query_block < ceil(Nq_b / block_m)): H * sum over b of ceil(Nq_b / block_m); a sequence without"
                + " queries has none");
        w.addProperty("order", "attnc's (RaggedPlan): listed by b, then h, then query_block, then sorted by the count of each entry's list"
                + " (p_tiles[list_offset]), largest first, stably (equal counts keep that order), so the long sequences' heavy blocks start"
                + " before short ones fill the gaps. Each block writes rows of its own: any order computes the same output");
        return w;
    }

    /** The lists are the forward's, per sequence under its own sizes and input views; the module's classifier builds them a sequence at a time. */
    private static JsonObject tileList(PtxModule module) {
        JsonObject t = new JsonObject();
        t.addProperty("dtype", "int32");
        t.addProperty("per_batch", module.maskPerBatch());
        t.addProperty("per_head", module.maskPerHead());
        t.addProperty("full_bit", PtxModule.FULL_BIT);
        t.addProperty("group_bits", "optional, as the forward's tile_list.group_bits, under the sequence's own sizes; the classifier sets them");
        t.addProperty("list", "[count, entry_0 .. entry_{count-1}], entry = kv tile | full_bit, kv tile t holding the sequence's keys t * block_n .."
                + " t * block_n + block_n - 1");
        t.addProperty("lists", "one per (sequence b with Nq_b > 0, slot, query_block < ceil(Nq_b / block_m)), slot < slots_h = H if per_head else 1;"
                + " anywhere in p_tiles (each work entry names its list's offset): attnc packs them in count + 1 ints each, sequence by sequence,"
                + " slot by slot, query block by query block; the classifier writes rows of ceil(kv_lengths[b] / block_n) + 1 ints");
        t.addProperty("rule", "tile_list's rule under the sequence's own sizes (Nq = Nq_b, Nkv = kv_lengths[b], Q0 = Q0_b) and input views: every"
                + " kv tile holding a visible (q, kv) of the query block, in any order; full_bit only when every (q < Nq_b, kv) of the tile is visible"
                + " and the tile ends inside kv_lengths[b]; a sequence without keys has count 0");
        if (module.classifies()) {
            t.addProperty("builder", "classifier");
            JsonObject c = new JsonObject();
            c.addProperty("entry", PtxModule.CLASSIFY_ENTRY);
            c.addProperty("launches", "one per sequence b with Nq_b > 0 and kv_lengths[b] > 0 (the others' lists hold count 0)");
            c.add("grid", PtxExport.strings("ceil(Nq_b / block_m)", "slots", "1"));
            c.add("block", PtxExport.strings(Integer.toString(ClassifyEmitter.THREADS), "1", "1"));
            c.addProperty("shared_bytes", 0);
            c.addProperty("slots", "slots_h when per_batch is false, else B * slots_h");
            c.addProperty("arguments", "the entry's (ragged.entry.arguments), with p_Nq = Nq_b, p_Nkv = kv_lengths[b], p_query_offset = Q0_b,"
                    + " p_kv_tiles = ceil(kv_lengths[b] / block_n), p_slots_h = slots_h, p_tiles as below, and p_in_<name> of each per-sequence input"
                    + " the address of sequence b's copy (p_in_<name> + p_input_offsets[b, i]); it reads p_tiles, the inputs, the sizes and the"
                    + " params, no other pointer");
            c.addProperty("writes", "block (x, y) classifies query block x of slot y % slots_h as sequence y / slots_h (the b the mask sees) and"
                    + " writes that list at row y * ceil(Nq_b / block_m) + x, rows of p_kv_tiles + 1 ints from p_tiles. per_batch false: p_tiles ="
                    + " where sequence b's lists go (slot s, query block x at row s * ceil(Nq_b / block_m) + x). per_batch true: p_tiles = a scratch of"
                    + " B * slots_h * ceil(Nq_b / block_m) * (p_kv_tiles + 1) ints, whose rows b * slots_h * ceil(Nq_b / block_m) onwards"
                    + " (slots_h * ceil(Nq_b / block_m) of them) are sequence b's lists");
            t.add("classifier", c);
        } else {
            t.addProperty("builder", "host: every list of sequence b is [t_b, 0 | F, 1 | F, ...], t_b = ceil(kv_lengths[b] / block_n), F = full_bit"
                    + " except for a last tile that runs past kv_lengths[b]");
        }
        return t;
    }
}
