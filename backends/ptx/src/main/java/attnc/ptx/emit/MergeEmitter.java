package attnc.ptx.emit;

import attnc.lower.LoweredNorm;
import attnc.lower.LoweredPattern;
import attnc.lower.Program.Level;
import java.util.ArrayList;
import java.util.List;

/**
 * The split-KV merge: one warp a query row (b, h, q), its lanes taking every 32nd column. Softmax
 * partials (o_s normalised by their own sums, LSE_s) combine by their LSE: with M = max_s LSE_s
 * (and the sink logit z, which no partial counted), o = Σ e^(LSE_s − M) o_s / (Σ e^(LSE_s − M) +
 * e^(z − M)) and LSE = M + log of the denominator; a row no split saw gives 0 and −∞. Sigmoid and
 * unnormalised partials are sums, added. Then the pattern's output transform, at the merged o.
 */
final class MergeEmitter {
    static final String ENTRY = "attnc_merge";
    static final int ROWS_PER_BLOCK = 4;
    static final int THREADS = 32 * ROWS_PER_BLOCK;

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
        String index = out.u64("%index"), address = out.u64("%address"), split = out.s32("%s"), element = out.s32("%element");
        String max = out.f32("%max"), lse = out.f32("%lse_s"), weight = out.f32("%weight"), sum = out.f32("%sum"), value = out.f32("%partial");
        if (softmax) {
            out.comment("M = the largest partial LSE (and the sink logit)");
            out.op("mov.f32", max, FlashEmitter.NEG_INF);
            splitLoop(out, split, () -> {
                loadPartialLse(out, split, rows, row, element, index, address, lse);
                out.op("max.f32", max, max, lse);
            });
            if (sink != null) {
                for (Level level : Level.values()) sink.emit(level, 0, 0);
                out.op("max.f32", max, max, sink.result(0, 0));
            }
            String empty = out.pred("%empty"), safe = out.f32("%safe_max");
            out.op("setp.eq.f32", empty, max, FlashEmitter.NEG_INF);
            out.op("selp.f32", safe, "0f00000000", max, empty);
            out.op("mov.f32", sum, "0f00000000");
            out.comment("o = sum of e^(LSE_s - M) o_s over the denominator, in base 2");
            splitLoop(out, split, () -> {
                loadPartialLse(out, split, rows, row, element, index, address, lse);
                out.op("sub.f32", weight, lse, safe);
                out.op("mul.f32", weight, weight, FlashEmitter.LOG2E);
                out.op("ex2.approx.ftz.f32", weight, weight);
                out.op("add.f32", sum, sum, weight);
                addPartials(out, config, steps, element, index, address, value, weight);
            });
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
            out.op("mov.f32", weight, "0f3F800000");
            splitLoop(out, split, () -> {
                out.op("mad.lo.s32", element, split, rows, row);
                addPartials(out, config, steps, element, index, address, value, weight);
            });
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

    /** {@code body} for s = 0 .. splits − 1. */
    private static void splitLoop(PtxWriter out, String split, Runnable body) {
        String loop = out.newLabel("split"), done = out.newLabel("split_done");
        out.op("mov.s32", split, 0);
        out.label(loop);
        out.op("setp.ge.s32", out.pred("%splits_end"), split, "%splits");
        out.op("@%splits_end bra.uni", done);
        body.run();
        out.op("add.s32", split, split, 1);
        out.op("bra.uni", loop);
        out.label(done);
    }

    /** {@code lse} = split s's partial LSE of this row; {@code element} = its row in the partial buffers. */
    private static void loadPartialLse(PtxWriter out, String split, String rows, String row, String element, String index, String address, String lse) {
        out.op("mad.lo.s32", element, split, rows, row);
        out.op("mul.wide.s32", index, element, 4);
        out.op("add.s64", address, "%partial_lse", index);
        out.op("ld.global.f32", lse, "[" + address + "]");
    }

    /** o += weight × the partial o of the split's row {@code element} (its columns this lane takes). */
    private static void addPartials(PtxWriter out, KernelConfig config, int steps, String element, String index, String address, String value,
                                    String weight) {
        String column = out.s32("%column");
        for (int j = 0; j < steps; j++) {
            out.op("mad.lo.s32", column, element, config.valueDim(), "%d_c" + j);
            out.op("mul.wide.s32", index, column, 4);
            out.op("add.s64", address, "%partial_out", index);
            out.op("@%present_c" + j + " ld.global.f32", value, "[" + address + "]");
            out.op("@%present_c" + j + " fma.rn.f32", "%o_c" + j, value, weight, "%o_c" + j);
        }
    }
}
