package attnc.ptx.emit;

import attnc.lower.LoweredNorm;
import attnc.lower.LoweredPattern;
import attnc.lower.Program.Level;
import java.util.ArrayList;
import java.util.List;

/**
 * The split-KV merge: one warp a query row (b, h, q), its lanes taking every 32nd column; the
 * splits' LSEs are read a split a lane and reduced by shuffles, and the partial outputs of
 * {@link #UNROLL} splits are loaded before any is added, so that a row waits on memory once per
 * {@link #UNROLL} splits rather than twice a split. Softmax
 * partials (o_s normalised by their own sums, LSE_s) combine by their LSE: with M = max_s LSE_s
 * (and the sink logit z, which no partial counted), o = Σ e^(LSE_s − M) o_s / (Σ e^(LSE_s − M) +
 * e^(z − M)) and LSE = M + log of the denominator; a row no split saw gives 0 and −∞. Sigmoid and
 * unnormalised partials are sums, added. Then the pattern's output transform, at the merged o.
 */
final class MergeEmitter {
    static final String ENTRY = "attnc_merge";
    static final int ROWS_PER_BLOCK = 4;
    static final int THREADS = 32 * ROWS_PER_BLOCK;
    /**
     * Splits whose partial outputs are in flight at once: a decode launch of one wave has 4 to 6
     * splits on the H200 (two or three blocks a multiprocessor), so their loads wait on memory together.
     */
    static final int UNROLL = 8;

    private MergeEmitter() {}

    /** The merge's parameters: the partials, the outputs (and o before a transform), then the pattern's inputs, sizes and params. */
    static Signature signature(LoweredPattern lowered) {
        List<String> tensors = new ArrayList<>(List.of("partial_out", "partial_lse", "out", "lse"));
        if (!lowered.identityOutput()) tensors.add("pre_out");
        return Signature.of(lowered.pattern()).with(tensors, List.of("B", "H", "Hkv", "Nq", "Nkv", "query_offset", "splits"));
    }

    /** The rows a call of {@link #FUNCTION} merges: [row_first, row_end), warp w of the calling block taking rows row_first + w, + w + 4, ... */
    static final List<String> ROW_RANGE = List.of("row_first", "row_end");
    /** The merge of a range of rows, called by the merge entry and by the last block of a decode launch to count in. */
    static final String FUNCTION = "attnc_merge_rows";

    /** The merge entry's text, which merges {@link #ROWS_PER_BLOCK} rows a block through {@link #renderFunction}'s function, declared before it. */
    static String renderEntry(LoweredPattern lowered) {
        Signature signature = signature(lowered);
        PtxWriter out = new PtxWriter();
        signature.loadParams(out);
        String first = out.s32("%row_first"), end = out.s32("%row_end"), rows = out.s32("%rows");
        out.op("mov.u32", first, "%ctaid.x");
        out.op("mul.lo.s32", first, first, ROWS_PER_BLOCK);
        out.op("mul.lo.s32", rows, "%B", "%H");
        out.op("mul.lo.s32", rows, rows, "%Nq");
        out.op("add.s32", end, first, ROWS_PER_BLOCK);
        out.op("min.s32", end, end, rows);
        call(out, signature, name -> "%" + name.substring(2));
        out.op("ret");
        return signature.header(ENTRY) + "\n.maxntid " + THREADS + ", 1, 1\n{\n" + out.render() + "}\n";
    }

    /**
     * A call of {@link #FUNCTION} from a block of {@link #THREADS} threads: each of the merge's
     * parameters (and {@link #ROW_RANGE}) passed as {@code value} gives it, by parameter name.
     */
    static void call(PtxWriter out, Signature signature, java.util.function.Function<String, String> value) {
        List<String[]> parameters = functionParameters(signature);
        out.line("{");
        List<String> names = new ArrayList<>();
        for (int i = 0; i < parameters.size(); i++) {
            String type = parameters.get(i)[0], name = "a" + i;
            out.line(".param " + type + " " + name + ";");
            out.op("st.param" + type, "[" + name + "]", value.apply(parameters.get(i)[1]));
            names.add(name);
        }
        out.op("call.uni", FUNCTION + ", (" + String.join(", ", names) + ")");
        out.line("}");
    }

    /**
     * The end of a split-KV decode block: with counters, every thread's partial stores made
     * visible, the block counts itself in at its query block's counter, and the last of the grid's
     * z blocks resets the counter and merges the query block's rows through {@link #FUNCTION},
     * with the caller's sizes (a packed launch's H and Nq are the group's) and the partial buffers'
     * bases. The leader's verdict passes to the block through the shared word at {@code flag},
     * which no warp reads once the tile loop is done.
     */
    static void mergeWhenLast(PtxWriter out, LoweredPattern lowered, KernelConfig config, String flag) {
        String done = out.newLabel("merged"), leader = out.pred("%merge_leader"), address = out.u64("%counter_addr");
        String index = out.s32("%counter_index"), arrived = out.s32("%arrived"), seen = out.u32("%merge_flag"), last = out.pred("%merge_last");
        out.blank().comment("the last of the splits to finish merges its query block's rows (unless the caller passed no counters)");
        out.op("setp.eq.u64", out.pred("%merge_elsewhere"), "%merge_counters", 0);
        out.op("@%merge_elsewhere bra.uni", done);
        out.op("membar.gl");
        out.op("bar.sync", 0);
        out.op("setp.eq.s32", leader, "%thread", 0);
        String blockX = out.s32("%merge_block_x"), blockY = out.s32("%merge_block_y"), blocksX = out.s32("%merge_blocks_x"), splits = out.s32("%merge_splits");
        out.op("mov.u32", blockX, "%ctaid.x");
        out.op("mov.u32", blockY, "%ctaid.y");
        out.op("mov.u32", blocksX, "%nctaid.x");
        out.op("mov.u32", splits, "%nctaid.z");
        out.op("mad.lo.s32", index, blockY, blocksX, blockX);
        out.op("mul.wide.s32", address, index, 4);
        out.op("add.s64", address, "%merge_counters", address);
        out.op("@" + leader + " atom.global.add.u32", arrived, "[" + address + "]", 1);
        out.op("sub.s32", out.s32("%splits_less_one"), splits, 1);
        out.op("setp.eq.s32", last, arrived, "%splits_less_one");
        out.op("selp.u32", seen, 1, 0, last);
        out.op("@" + leader + " st.shared.u32", "[" + flag + "]", seen);
        out.op("bar.sync", 0);
        out.op("ld.shared.u32", seen, "[" + flag + "]");
        out.op("setp.eq.u32", last, seen, 0);
        out.op("@" + last + " bra.uni", done);
        // Left zero for the next launch; the other splits' stores, fenced before their adds, are read past L1 (ld.global.cg).
        out.op("@" + leader + " st.global.u32", "[" + address + "]", 0);
        out.op("membar.gl");
        String first = out.s32("%merge_first"), end = out.s32("%merge_end"), nq = "%Nq", h = "%H";
        if (config.decode().packs()) {
            // The group's heads × queries are the launch's rows: the caller has Nq = packed_nq and H = Hkv × group.
            nq = "%" + Signature.PACKED_NQ;
            h = out.s32("%merge_h");
            out.op("div.s32", h, "%Nq", nq);
            out.op("mul.lo.s32", h, h, "%H");
        }
        // The launch's rows [B, H, Nq] are the caller's, in the same order.
        out.op("mul.lo.s32", first, blockY, "%Nq");
        out.op("mad.lo.s32", first, blockX, config.blockM(), first);
        out.op("mad.lo.s32", end, blockY, "%Nq", "%Nq");
        out.op("add.s32", out.s32("%merge_block_end"), first, config.blockM());
        out.op("min.s32", end, end, "%merge_block_end");
        Signature merge = signature(lowered);
        java.util.Map<String, String> values = new java.util.HashMap<>();
        for (String[] declaration : merge.declarations()) values.put(declaration[1], "%" + declaration[1].substring(2));
        values.put("p_partial_out", reloaded(out, "p_out"));
        values.put("p_partial_lse", reloaded(out, "p_lse"));
        values.put("p_out", "%merged_out");
        values.put("p_lse", "%merged_lse");
        values.put("p_pre_out", "%merged_pre_out");
        values.put("p_H", h);
        values.put("p_Nq", nq);
        // A paged block replaced Nkv and the query offset by its sequence's: the merge takes the launch's.
        for (String size : new String[] {"Nkv", "query_offset"}) {
            String register = out.s32("%merge_" + size);
            out.op("ld.param.s32", register, "[p_" + size + "]");
            values.put("p_" + size, register);
        }
        values.put("p_splits", splits);
        values.put("p_row_first", first);
        values.put("p_row_end", end);
        // The function's warps take every fourth row: a block of more warps merges with its first four.
        if (config.warps() > ROWS_PER_BLOCK) {
            out.op("setp.ge.s32", out.pred("%merge_idle"), "%warp", ROWS_PER_BLOCK);
            out.op("@%merge_idle bra.uni", done);
        }
        call(out, merge, values::get);
        out.label(done);
    }

    /** The pointer parameter {@code name} loaded afresh as a global address (the kernel moved its register on). */
    private static String reloaded(PtxWriter out, String name) {
        String register = out.u64("%merge_base_" + name.substring(2));
        out.op("ld.param.u64", register, "[" + name + "]");
        out.op("cvta.to.global.u64", register, register);
        return register;
    }

    private static List<String[]> functionParameters(Signature signature) {
        List<String[]> all = new ArrayList<>(signature.declarations());
        for (String name : ROW_RANGE) all.add(new String[] {".s32", "p_" + name});
        return all;
    }

    /** The text of {@link #FUNCTION}, which a module declares before the entries that call it. */
    static String renderFunction(LoweredPattern lowered, KernelConfig config) {
        Signature signature = signature(lowered);
        PtxWriter out = new PtxWriter();
        boolean softmax = lowered.norm() instanceof LoweredNorm.Softmax, transform = !lowered.identityOutput();
        Leaves leaves = new ScalarLeaves(config.headDim(), config.valueDim(), null, true);
        ProgramRenderer output = new ProgramRenderer(out, lowered.output(), "out", leaves);
        ProgramRenderer sink = lowered.norm() instanceof LoweredNorm.Softmax(var z) && z.isPresent() ? new ProgramRenderer(out, z.get(), "sink", leaves) : null;
        KernelLeaves.threadIndices(out, 0);
        signature.loadParams(out);
        for (String name : ROW_RANGE) out.op("ld.param.s32", out.s32("%" + name), "[p_" + name + "]");
        String exit = out.newLabel("exit"), next = out.newLabel("next_row");
        String row = out.s32("%row"), rows = out.s32("%rows");
        out.op("mul.lo.s32", rows, "%B", "%H");
        out.op("mul.lo.s32", rows, rows, "%Nq");
        out.op("add.s32", row, "%row_first", "%warp");
        out.label(next);
        out.op("setp.ge.s32", out.pred("%outside"), row, "%row_end");
        out.op("@%outside bra.uni", exit);
        out.comment("the row's batch, head and query position, for the sink and the output transform");
        out.op("rem.s32", out.s32("%q"), row, "%Nq");
        out.op("div.s32", out.s32("%bh"), row, "%Nq");
        out.op("rem.s32", out.s32("%h"), "%bh", "%H");
        out.op("div.s32", out.s32("%b"), "%bh", "%H");
        out.op("add.s32", out.s32("%q_abs"), "%q", "%query_offset");
        int width = config.valueDim(), steps = (width + 31) / 32;
        for (int j = 0; j < steps; j++) {
            out.op("add.s32", out.s32("%d_c" + j), "%lane", 32 * j);
            out.op("setp.lt.s32", out.pred("%present_c" + j), "%d_c" + j, width);
            out.op("mov.f32", out.f32("%o_c" + j), "0f00000000");
        }
        String index = out.u64("%index"), address = out.u64("%address"), element = out.s32("%element");
        String max = out.f32("%max"), lse = out.f32("%lse_s"), weight = out.f32("%weight"), sum = out.f32("%sum");
        if (softmax) {
            out.comment("M = the largest partial LSE (and the sink logit): a split a lane, then the warp's maximum");
            out.op("mov.f32", max, FlashEmitter.NEG_INF);
            chunks(out, () -> {
                loadLaneLse(out, rows, row, element, index, address, lse);
                out.op("max.f32", max, max, lse);
            });
            Shuffles.butterfly(out, "max.f32", max, out.f32("%shuffled"), 16, 1);
            if (sink != null) {
                for (Level level : Level.values()) sink.emit(level, 0, 0);
                out.op("max.f32", max, max, sink.result(0, 0));
            }
            String empty = out.pred("%empty"), safe = out.f32("%safe_max");
            out.op("setp.eq.f32", empty, max, FlashEmitter.NEG_INF);
            out.op("selp.f32", safe, "0f00000000", max, empty);
            out.op("mov.f32", sum, "0f00000000");
            out.comment("o = sum of e^(LSE_s - M) o_s over the denominator, in base 2: each lane's split's weight, shuffled to all");
            chunks(out, () -> {
                loadLaneLse(out, rows, row, element, index, address, lse);
                out.op("sub.f32", weight, lse, safe);
                out.op("mul.f32", weight, weight, FlashEmitter.LOG2E);
                out.op("ex2.approx.ftz.f32", weight, weight);
                out.op("add.f32", sum, sum, weight);
                addPartials(out, config, steps, rows, row, element, index, address, weight);
            });
            Shuffles.butterfly(out, "add.f32", sum, out.f32("%shuffled"), 16, 1);
            if (sink != null) {
                String sinkWeight = out.f32("%sink_weight");
                out.op("sub.f32", sinkWeight, sink.result(0, 0), safe);
                out.op("mul.f32", sinkWeight, sinkWeight, FlashEmitter.LOG2E);
                out.op("ex2.approx.ftz.f32", sinkWeight, sinkWeight);
                out.op("add.f32", sum, sum, sinkWeight);
            }
            String inverse = out.f32("%inverse"), log = out.f32("%log_sum"), merged = out.f32("%merged_lse");
            out.op("rcp.rn.f32", inverse, sum);
            out.op("selp.f32", inverse, "0f00000000", inverse, empty);
            for (int j = 0; j < steps; j++) out.op("mul.f32", "%o_c" + j, "%o_c" + j, inverse);
            out.op("lg2.approx.f32", log, sum);
            out.op("mul.f32", log, log, FlashEmitter.LN2);
            out.op("add.f32", merged, max, log);
            out.op("selp.f32", merged, FlashEmitter.NEG_INF, merged, empty);
            out.op("setp.eq.s32", out.pred("%writer"), "%lane", 0);
            out.op("setp.ne.u64", out.pred("%lse_present"), "%lse", 0);
            out.op("and.pred", "%writer", "%writer", "%lse_present");
            out.op("mul.wide.s32", index, row, 4);
            out.op("add.s64", address, "%lse", index);
            out.op("@%writer st.global.f32", "[" + address + "]", merged);
        } else {
            out.comment("sigmoid and unnormalised partials are sums");
            chunks(out, () -> addPartials(out, config, steps, rows, row, element, index, address, null));
        }
        out.comment("output: the pattern's transform at the merged o");
        for (Level level : Level.values()) {
            if (level.variesAlongColumns()) {
                for (int j = 0; j < steps; j++) output.emit(level, 0, j);
            } else {
                output.emit(level, 0, 0);
            }
        }
        for (int j = 0; j < steps; j++) {
            String skip = out.newLabel("column_outside");
            out.op("@!%present_c" + j + " bra", skip);
            out.op("mad.lo.s32", element, row, width, "%d_c" + j);
            out.op("mul.wide.s32", index, element, 4);
            out.op("add.s64", address, "%out", index);
            out.op("st.global.f32", "[" + address + "]", output.result(0, j));
            if (transform) {
                String none = out.newLabel("no_pre_output");
                out.op("setp.eq.u64", out.pred("%pre_absent"), "%pre_out", 0);
                out.op("@%pre_absent bra", none);
                out.op("add.s64", address, "%pre_out", index);
                out.op("st.global.f32", "[" + address + "]", "%o_c" + j);
                out.label(none);
            }
            out.label(skip);
        }
        out.op("add.s32", row, row, THREADS / 32);
        out.op("bra.uni", next);
        out.label(exit);
        out.op("ret");
        return ".func " + FUNCTION + Signature.parameterList(functionParameters(signature)) + "\n{\n" + out.render() + "}\n";
    }

    /**
     * {@code body} for each chunk of 32 splits, from {@code %chunk}: lane l takes split {@code %s} =
     * chunk + l where {@code %s_present}; {@code %chunk_splits} of the chunk exist.
     */
    private static void chunks(PtxWriter out, Runnable body) {
        String loop = out.newLabel("chunk"), done = out.newLabel("chunks_done"), chunk = out.s32("%chunk");
        out.op("mov.s32", chunk, 0);
        out.label(loop);
        out.op("setp.ge.s32", out.pred("%chunks_end"), chunk, "%splits");
        out.op("@%chunks_end bra.uni", done);
        out.op("add.s32", out.s32("%s"), chunk, "%lane");
        out.op("setp.lt.s32", out.pred("%s_present"), "%s", "%splits");
        out.op("sub.s32", out.s32("%chunk_splits"), "%splits", chunk);
        out.op("min.s32", "%chunk_splits", "%chunk_splits", 32);
        body.run();
        out.op("add.s32", chunk, chunk, 32);
        out.op("bra.uni", loop);
        out.label(done);
    }

    /** {@code lse} = the partial LSE of this lane's split {@code %s} for this row, −∞ past the splits. */
    private static void loadLaneLse(PtxWriter out, String rows, String row, String element, String index, String address, String lse) {
        out.op("mov.f32", lse, FlashEmitter.NEG_INF);
        out.op("mad.lo.s32", element, "%s", rows, row);
        out.op("mul.wide.s32", index, element, 4);
        out.op("add.s64", address, "%partial_lse", index);
        out.op("@%s_present ld.global.cg.f32", lse, "[" + address + "]");
    }

    /**
     * o += weight_s × the partial o of split s, for the chunk's splits, {@link #UNROLL} at a time:
     * split s's weight is lane s's {@code laneWeight} (null: sums, weight 1), and its row's
     * columns this lane takes are all loaded before any is added.
     */
    private static void addPartials(PtxWriter out, KernelConfig config, int steps, String rows, String row, String element, String index,
                                    String address, String laneWeight) {
        String loop = out.newLabel("unrolled"), done = out.newLabel("unrolled_done"), i = out.s32("%i"), split = out.s32("%split_u");
        String column = out.s32("%column");
        out.op("mov.s32", i, 0);
        out.label(loop);
        out.op("setp.ge.s32", out.pred("%unrolled_end"), i, "%chunk_splits");
        out.op("@%unrolled_end bra.uni", done);
        for (int u = 0; u < UNROLL; u++) {
            String valid = out.pred("%valid_u" + u);
            out.op("add.s32", split, i, u);
            out.op("setp.lt.s32", valid, split, "%chunk_splits");
            if (laneWeight != null) out.op("shfl.sync.idx.b32", out.f32("%weight_u" + u), laneWeight, split, "0x1f", "0xffffffff");
            out.op("add.s32", split, split, "%chunk");
            out.op("mad.lo.s32", element, split, rows, row);
            for (int j = 0; j < steps; j++) {
                String load = out.pred("%load_u" + u + "_c" + j);
                out.op("and.pred", load, valid, "%present_c" + j);
                out.op("mad.lo.s32", column, element, config.valueDim(), "%d_c" + j);
                out.op("mul.wide.s32", index, column, 4);
                out.op("add.s64", address, "%partial_out", index);
                out.op("mov.f32", out.f32("%partial_u" + u + "_c" + j), "0f00000000");
                out.op("@" + load + " ld.global.cg.f32", "%partial_u" + u + "_c" + j, "[" + address + "]");
            }
        }
        for (int u = 0; u < UNROLL; u++) {
            for (int j = 0; j < steps; j++) {
                // Past the chunk's splits the loaded value is 0: adding it changes nothing, weight or none.
                if (laneWeight != null) out.op("fma.rn.f32", "%o_c" + j, "%partial_u" + u + "_c" + j, "%weight_u" + u, "%o_c" + j);
                else out.op("add.f32", "%o_c" + j, "%o_c" + j, "%partial_u" + u + "_c" + j);
            }
        }
        out.op("add.s32", i, i, UNROLL);
        out.op("bra.uni", loop);
        out.label(done);
    }
}
