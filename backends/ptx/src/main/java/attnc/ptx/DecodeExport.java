package attnc.ptx;

import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.lower.LoweredPattern;
import attnc.ptx.emit.ClassifyEmitter;
import attnc.ptx.emit.Decode;
import attnc.ptx.emit.KernelConfig;
import attnc.ptx.emit.PtxModule;
import attnc.ptx.emit.Signature;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The {@code decode} section of kernel.json and its modules: the split-KV decode kernels
 * ({@link GpuDecode}) for each exported architecture and head dim, in every {@link Decode} mode
 * the pattern takes (GQA-packed where {@link GpuDecode#packable}, paged where {@link
 * PagedDecode#patternRefusal} finds nothing), each module holding the decode entry, the merge
 * and, unless every element is visible, the classifier. A mode the pattern cannot take is named
 * with the reason instead of written. The description follows what {@link GpuDecode#launch},
 * {@link GpuDecode#splits} and {@link GpuDecode#preparePagedTiles} do.
 */
final class DecodeExport {
    /** The modes in export order, with their manifest names. */
    static final List<Decode> MODES = List.of(Decode.SPLIT, Decode.SPLIT_PACKED, Decode.SPLIT_PAGED, Decode.SPLIT_PACKED_PAGED);

    private DecodeExport() {}

    static String modeName(Decode mode) { return mode.name().toLowerCase(Locale.ROOT); }

    /** The modes {@code lowered} decodes in: split always, packed where no per-block program reads h, paged where the pattern allows. */
    static List<Decode> modes(LoweredPattern lowered) {
        boolean packs = GpuDecode.packable(lowered), pages = PagedDecode.patternRefusal(lowered.pattern()) == null;
        return MODES.stream().filter(m -> (packs || !m.packs()) && (pages || !m.pages())).toList();
    }

    /** {@code causal_decode.ptx} (sm_80, D = 64), {@code causal_decode_packed_paged_warpkeys_sm_90_d128.ptx}. */
    static String fileName(Pattern pattern, KernelConfig config) {
        Decode mode = config.decode();
        return pattern.name() + "_decode" + (mode.packs() ? "_packed" : "") + (mode.pages() ? "_paged" : "") + (config.warpKeys() ? "_warpkeys" : "")
                + (config.sm() == PtxExport.ARCHITECTURES.getFirst() ? "" : "_sm_" + config.sm())
                + (config.headDim() == PtxExport.HEAD_DIMS.getFirst() ? "" : "_d" + config.headDim()) + ".ptx";
    }

    /** Renders the modules into {@code files} and returns their description. */
    static JsonObject describe(LoweredPattern lowered, List<Integer> sms, Map<String, byte[]> files) {
        Pattern pattern = lowered.pattern();
        List<Decode> modes = modes(lowered);
        JsonArray variants = new JsonArray();
        PtxModule first = null;
        for (Decode mode : modes) {
            for (int sm : sms) {
                for (int d : PtxExport.HEAD_DIMS) {
                    for (boolean warpKeys : new boolean[] {true, false}) {
                        KernelConfig config = KernelConfig.of(sm, DType.BFLOAT16, d, d).forDecode(mode).withWarpKeys(warpKeys);
                        PtxModule module = PtxModule.render(lowered, config);
                        if (first == null) first = module;
                        String file = fileName(pattern, config);
                        files.put(file, module.text().getBytes(StandardCharsets.US_ASCII));
                        variants.add(variant(file, config));
                    }
                }
            }
        }
        JsonObject d = new JsonObject();
        d.addProperty("about", "split-KV decoding, a few queries a head against a long KV cache: blocks of the decode entry each walk one chunk"
                + " (grid z) of their tile list and write fp32 partial outputs and LSEs; the merge entry combines them by LSE, adds a sink once"
                + " and applies the output transform");
        PtxExport.precisions(d, "float32", lowered);
        d.addProperty("when", "attnc's own launcher decodes launches of Nq <= " + GpuDecode.MAX_AUTO_QUERIES + " queries a head over Nkv >= "
                + GpuDecode.MIN_AUTO_KEYS + " keys and runs the forward kernel otherwise");
        d.addProperty("max_queries", GpuDecode.MAX_AUTO_QUERIES);
        d.addProperty("min_keys", GpuDecode.MIN_AUTO_KEYS);
        d.addProperty("order", "build the tile list (decode.tile_list); launch the decode entry of the mode's module with grid z = splits, then the merge"
                + " entry of the same module, on one stream; or pass the decode entry zeroed p_merge_counters and the merge entry's outputs, and"
                + " launch nothing after it (attnc's own launcher does)");
        d.addProperty("warp_keys", "a variant with warp_keys true has its warps share block_m = 16 rows, each over its share of every tile's keys,"
                + " their partials merged in the block; attnc runs it where a block's rows ((H / Hkv) * Nq packed, else Nq) are at most its block_m"
                + " (" + GpuDecode.WARP_KEY_ROWS + "), and the variant of the same mode without warp_keys otherwise; both write one partial a block");
        d.add("variants", variants);
        JsonObject entries = new JsonObject();
        for (Decode mode : modes) entries.add(modeName(mode), decodeEntry(lowered, mode));
        entries.add("merge", PtxExport.entry(PtxModule.MERGE_ENTRY, PtxExport.strings("ceil(B * H * Nq / " + PtxModule.MERGE_ROWS_PER_BLOCK + ")", "1", "1"),
                Integer.toString(PtxModule.MERGE_THREADS), "0", mergeArguments(lowered)));
        d.add("entries", entries);
        String notPacked = GpuDecode.packingRefusal(lowered);
        if (notPacked == null) d.add("packed", packing());
        else d.addProperty("packed", "unsupported: " + notPacked + ", and a packed block holds the rows of several heads");
        String notPaged = PagedDecode.patternRefusal(pattern);
        if (notPaged == null) d.add("paged", paged());
        else d.addProperty("paged", "unsupported: " + notPaged);
        d.add("splits", splits());
        d.add("partials", partials());
        d.add("tile_list", tileList(first, notPaged == null));
        return d;
    }

    private static JsonObject variant(String file, KernelConfig c) {
        JsonObject v = new JsonObject();
        v.addProperty("file", file);
        v.addProperty("arch", "sm_" + c.sm());
        v.addProperty("mode", modeName(c.decode()));
        v.addProperty("warp_keys", c.warpKeys());
        PtxExport.tiling(v, c);
        return v;
    }

    /** The decode entry of {@code mode}: grid (query blocks, batch × heads of the launch, splits); sizes in the grid are the caller's. */
    private static JsonObject decodeEntry(LoweredPattern lowered, Decode mode) {
        JsonArray grid = mode.packs() ? PtxExport.strings("ceil(H / Hkv * Nq / block_m)", "B * Hkv", "splits")
                : PtxExport.strings("ceil(Nq / block_m)", "B * H", "splits");
        // A decode kernel's parameters depend on its mode alone (it is mma.sync at every architecture and head dim).
        Signature signature = Signature.of(lowered.pattern(), KernelConfig.of(PtxExport.ARCHITECTURES.getFirst(), DType.BFLOAT16, 64, 64).forDecode(mode));
        return PtxExport.entry(PtxModule.ATTENTION_ENTRY, grid, "threads", "shared_bytes", decodeArguments(lowered, signature, mode));
    }

    private static JsonArray decodeArguments(LoweredPattern lowered, Signature signature, Decode mode) {
        Map<String, String> meaning = new LinkedHashMap<>();
        meaning.put("p_out", "partial outputs (partials.partial_out), float32 [splits, B * H * Nq, Dv]: block z writes slice z, o over its chunk's keys"
                + " (normalised by their own sum under softmax), no sink, no output transform");
        meaning.put("p_lse", lowered.writesLse() ? "partial LSEs (partials.partial_lse), float32 [splits, B * H * Nq]: slice z from block z, natural log,"
                + " -inf where its chunk saw no key; never 0" : "unused (no LSE without softmax): pass 0");
        meaning.put("p_pre_out", "unused by the decode entry (the merge keeps o before the output transform): pass 0");
        meaning.put("p_tiles", "int32 tile lists, see decode.tile_list");
        meaning.put("p_merge_counters", "int32 [grid x * grid y], all 0 before the first launch (each launch leaves them 0): with them the last block of"
                + " each query block to finish merges its splits into p_merged_out and p_merged_lse, and the merge entry is not launched; 0 leaves"
                + " the merge to the merge entry");
        meaning.put("p_merged_out", "with p_merge_counters: the merge entry's p_out; else unused (0)");
        meaning.put("p_merged_lse", "with p_merge_counters: the merge entry's p_lse; else unused (0)");
        meaning.put("p_merged_pre_out", "with p_merge_counters: the merge entry's p_pre_out; else unused (0)");
        if (mode.packs()) {
            meaning.put("p_H", "Hkv: the packed launch has one head per kv head (decode.packed)");
            meaning.put("p_Nq", "(H / Hkv) * Nq: the packed rows of one kv head, at most block_m");
            meaning.put("p_" + Signature.PACKED_NQ, "Nq, the queries of one head: packed row r is query r % packed_nq of head hk * (H / Hkv) + r / packed_nq");
            meaning.put("p_slots_h", "1 (a packable mask does not read h)");
        }
        if (mode.pages()) {
            meaning.put("p_q", "queries, bfloat16 [B, H, Nq, D], contiguous: sequence b's Nq queries, at the bottom right of its keys");
            meaning.put("p_k", "key pool, bfloat16 [P, page, Hkv, D], contiguous (decode.paged)");
            meaning.put("p_v", "value pool, bfloat16 [P, page, Hkv, Dv], contiguous (decode.paged)");
            meaning.put("p_B", "sequences");
            meaning.put("p_Nkv", "max(1, max(kv_lengths)), the longest sequence's keys: each block replaces it by its sequence's kv_lengths[b]");
            meaning.put("p_query_offset", "max(0, p_Nkv - Nq): each block replaces it by its sequence's max(0, kv_lengths[b] - Nq)");
            meaning.put("p_kv_tiles", "ceil(p_Nkv / block_n): the tile lists' width less one");
            meaning.put("p_slot_stride_b", "p_slots_h if B > 1 else 0 (paged lists are per sequence)");
            meaning.put("p_block_table", "int32 [B, max_pages]: the pool pages of each sequence (decode.paged)");
            meaning.put("p_kv_lengths", "int32 [B]: the keys of each sequence, 0 to max_pages * page");
            meaning.put("p_page_shift", "log2 of the page size (0 to 8: pages of 1 to 256 keys)");
            meaning.put("p_max_pages", "the block table's row length");
        }
        return withMeanings(PtxExport.arguments(lowered.pattern(), signature), meaning);
    }

    private static JsonArray mergeArguments(LoweredPattern lowered) {
        Map<String, String> meaning = new LinkedHashMap<>();
        meaning.put("p_partial_out", "the decode entry's partial outputs, float32 [splits, B * H * Nq, Dv]");
        meaning.put("p_partial_lse", "the decode entry's partial LSEs, float32 [splits, B * H * Nq]" + (lowered.writesLse() ? "" : "; not read without softmax (may be 0)"));
        meaning.put("p_out", "output, float32 [B, H, Nq, Dv]: the merged o (0 for a row with no visible key) after the output transform");
        meaning.put("p_lse", "log-sum-exp of the scores, float32 [B, H, Nq] (natural log, a sink included; -inf for a row with no visible key and no sink);"
                + " 0 to skip; unused without softmax");
        meaning.put("p_pre_out", "o before the output transform, float32 [B, H, Nq, Dv], kept for a backward pass; 0 to skip");
        meaning.put("p_H", "query heads (the caller's, packed or not)");
        meaning.put("p_Nq", "queries a head (the caller's, packed or not)");
        meaning.put("p_Nkv", "keys, as the decode entry's p_Nkv");
        meaning.put("p_query_offset", "as the decode entry's p_query_offset: the position the sink and output transform see for query 0");
        meaning.put("p_splits", "the decode launch's grid z");
        return withMeanings(PtxExport.arguments(lowered.pattern(), PtxModule.mergeSignature(lowered)), meaning);
    }

    /** {@code arguments} with the meanings of the names in {@code meaning} replaced. */
    static JsonArray withMeanings(JsonArray arguments, Map<String, String> meaning) {
        for (JsonElement element : arguments) {
            JsonObject a = element.getAsJsonObject();
            String name = a.get("name").getAsString();
            if (meaning.containsKey(name)) a.addProperty("meaning", meaning.get(name));
        }
        return arguments;
    }

    private static JsonObject packing() {
        JsonObject p = new JsonObject();
        p.addProperty("when", "(H / Hkv) * Nq <= block_m (" + GpuDecode.BLOCK_ROWS + " without warp_keys): attnc then runs the split_packed modules"
                + " (split_packed_paged when paged), else split (split_paged)");
        p.addProperty("binding", "the decode entry runs with p_H = Hkv, p_Nq = (H / Hkv) * Nq and p_packed_nq = Nq: one block holds a GQA group's heads"
                + " x queries as its rows, so K and V are read once per kv head; q, the partials and the merge keep their [B, H, Nq, ...] layout (a"
                + " group's heads are consecutive), and the tile list and the merge take the caller's sizes");
        return p;
    }

    /** The paged KV cache's layout (pools, page size, block table, lengths), as the decode and ragged entries both read it. */
    static JsonObject pagedPool() {
        JsonObject p = new JsonObject();
        p.addProperty("k_pool", "bfloat16 [P, page, Hkv, D], contiguous (p_k)");
        p.addProperty("v_pool", "bfloat16 [P, page, Hkv, Dv], contiguous (p_v)");
        p.addProperty("page", "a power of two from 1 to 256, passed as p_page_shift = log2(page)");
        p.addProperty("block_table", "int32 [B, max_pages] (p_block_table, p_max_pages): key i of sequence b is slot i & (page - 1) of page"
                + " block_table[b, i >> page_shift]; only the first ceil(kv_lengths[b] / page) entries of row b are read, each in [0, P);"
                + " sequences may share pages");
        p.addProperty("kv_lengths", "int32 [B] (p_kv_lengths): the keys of each sequence, 0 to max_pages * page");
        return p;
    }

    private static JsonObject paged() {
        JsonObject p = pagedPool();
        p.addProperty("queries", "bfloat16 [B, H, Nq, D]: every sequence has the same Nq, 1 to " + GpuDecode.MAX_AUTO_QUERIES
                + ", at the bottom right of its keys (Q0 = max(0, kv_lengths[b] - Nq))");
        p.addProperty("sizes", "p_Nkv = max(1, max(kv_lengths)), p_query_offset = max(0, p_Nkv - Nq), p_kv_tiles = ceil(p_Nkv / block_n); inside the"
                + " pattern Nkv and Q0 are each sequence's own, b its index");
        p.addProperty("output", "the merge's out [B, H, Nq, Dv] and lse [B, H, Nq]: row (b, h, i) is query i of sequence b; a sequence with no keys"
                + " gets output 0 (then the output transform) and LSE -inf, or the sink logit");
        JsonArray refused = new JsonArray();
        refused.add("sequences with different numbers of queries");
        refused.add("Nq outside 1 .. " + GpuDecode.MAX_AUTO_QUERIES);
        refused.add("head dims above " + PtxExport.HEAD_DIMS.getLast());
        refused.add("patterns with an input shaped by Nq, Nkv or Q0, or a sink or output transform reading q, Nq, Nkv or Q0 (then this section says"
                + " unsupported)");
        p.add("refused", refused);
        return p;
    }

    private static JsonObject splits() {
        JsonObject s = new JsonObject();
        s.addProperty("rule", "one wave: splits = max(1, min(floor(multiprocessors * resident / blocks), kv_tiles)), blocks = grid x * grid y of"
                + " the decode entry, resident = max(1, cuOccupancyMaxActiveBlocksPerMultiprocessor(decode entry, threads, shared_bytes))");
        s.addProperty("any_count", "every split count from 1 to kv_tiles gives the unsplit result within rounding: block z walks entries"
                + " [z * c, min((z + 1) * c, count)) of its list, c = ceil(count / splits), and writes o = 0, LSE = -inf for rows it saw nothing of");
        return s;
    }

    private static JsonObject partials() {
        JsonObject p = new JsonObject();
        p.add("partial_out", PtxExport.buffer("float32", "splits", "B * H * Nq", "Dv"));
        p.add("partial_lse", PtxExport.buffer("float32", "splits", "B * H * Nq"));
        p.addProperty("note", "the caller's B, H, Nq (packed or not, the rows are the same); the decode entry takes them as p_out and p_lse and writes"
                + " every row of every slice, so they need no zeroing; the merge reads them as p_partial_out and p_partial_lse");
        return p;
    }

    /** The lists are the forward's, at the decode tiling; a paged launch's are per sequence under its own Nkv and Q0. */
    private static JsonObject tileList(PtxModule module, boolean paged) {
        JsonObject t = new JsonObject();
        t.addProperty("per_batch", module.maskPerBatch());
        t.addProperty("per_head", module.maskPerHead());
        t.addProperty("layout", "as tile_list (rule, full_bit, slots, slot strides) with the decode variants' block_m and block_n: row (slot *"
                + " ceil(Nq / block_m) + query_block) of kv_tiles + 1 ints, [count, entry_0 .. entry_{count-1}, unused...], entry = kv tile | full_bit");
        t.addProperty("sizes", "the caller's B, H, Nq, Nkv and query offset, packed or not (a packed block walks query block 0's list)");
        t.addProperty("length", "slots * ceil(Nq / block_m) * (kv_tiles + 1), kv_tiles = ceil(Nkv / block_n)");
        if (module.classifies()) {
            t.addProperty("builder", "classifier");
            JsonObject classifier = new JsonObject();
            classifier.addProperty("entry", PtxModule.CLASSIFY_ENTRY);
            classifier.add("grid", PtxExport.strings("ceil(Nq / block_m)", "slots", "1"));
            classifier.add("block", PtxExport.strings(Integer.toString(ClassifyEmitter.THREADS), "1", "1"));
            classifier.addProperty("shared_bytes", 0);
            classifier.addProperty("arguments", "the decode entry's of the same module, with the caller's sizes (packed: p_H = H, p_Nq = Nq; p_packed_nq is"
                    + " not read)");
            t.add("classifier", classifier);
        } else {
            t.addProperty("builder", "host: every row is [kv_tiles, 0 | F, 1 | F, ...], F = full_bit except for a last tile that runs past Nkv");
        }
        if (paged) {
            JsonObject p = new JsonObject();
            p.addProperty("slots", "B * slots_h: every sequence has lists of its own, whatever per_batch says");
            p.addProperty("width", "kv_tiles + 1, kv_tiles = ceil(max(1, max(kv_lengths)) / block_n)");
            p.addProperty("rule", "sequence b's rows are its own lists: tile_list's rule under Nkv = kv_lengths[b] and Q0 = max(0, kv_lengths[b] - Nq);"
                    + " a sequence with no keys has count 0");
            p.addProperty("builder", module.classifies()
                    ? "the classifier reads p_Nkv and p_query_offset, not kv_lengths: for each sequence b launch it (arguments as classifier.arguments)"
                    + " with p_Nkv = kv_lengths[b], p_query_offset = max(0, kv_lengths[b] - Nq) and the launch's p_kv_tiles, grid (ceil(Nq / block_m),"
                    + " B * slots_h, 1), into a scratch list of this length, and copy slot rows b * slots_h .. (b + 1) * slots_h - 1 from it; when"
                    + " per_batch is false, grid (ceil(Nq / block_m), slots_h, 1) with p_tiles advanced to sequence b's first row writes them in place"
                    : "host: sequence b's rows are [t_b, 0 | F, 1 | F, ...], t_b = ceil(kv_lengths[b] / block_n), F = full_bit except for a last"
                    + " tile that runs past kv_lengths[b]");
            t.add("paged", p);
        }
        return t;
    }
}
