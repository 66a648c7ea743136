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

    static String render(LoweredPattern lowered, KernelConfig config) {
        Signature signature = signature(lowered);
        PtxWriter out = new PtxWriter();
        boolean softmax = lowered.norm() instanceof LoweredNorm.Softmax, transform = !lowered.identityOutput();
        Leaves leaves = new ScalarLeaves(config.headDim(), config.valueDim(), null, true);
        ProgramRenderer output = new ProgramRenderer(out, lowered.output(), "out", leaves);
        ProgramRenderer sink = lowered.norm() instanceof LoweredNorm.Softmax(var z) && z.isPresent() ? new ProgramRenderer(out, z.get(), "sink", leaves) : null;
        KernelLeaves.threadIndices(out, 0);
        signature.loadParams(out);
        String exit = out.newLabel("exit");
        String rows = out.s32("%rows"), row = out.s32("%row");
        out.op("mov.u32", out.s32("%block"), "%ctaid.x");
        out.op("mad.lo.s32", row, "%block", ROWS_PER_BLOCK, "%warp");
        out.op("mul.lo.s32", rows, "%B", "%H");
        out.op("mul.lo.s32", rows, rows, "%Nq");
        out.op("setp.ge.s32", out.pred("%outside"), row, rows);
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
        out.label(exit);
        out.op("ret");
        return signature.header(ENTRY) + "\n.maxntid " + THREADS + ", 1, 1\n{\n" + out.render() + "}\n";
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
        out.op("@%s_present ld.global.f32", lse, "[" + address + "]");
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
                out.op("@" + load + " ld.global.f32", "%partial_u" + u + "_c" + j, "[" + address + "]");
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
