package attnc.ptx.emit;

import attnc.grad.Section;
import attnc.lower.LoweredBackward;
import attnc.lower.LoweredNorm;
import attnc.lower.Program.Level;
import java.util.ArrayList;
import java.util.List;

/**
 * The backward's kernels over query rows, one thread or warp a row: before the main kernel, Δ =
 * rowsum(dO∘o) (softmax) and, with an output transform, dO from dOut and the transform's input
 * gradients; after it, the gradients of the inputs the scale and the norm's
 * value read, from the row sums {@link BackwardEmitter} added (the scale's, the sigmoid bias') or,
 * for a sink, −exp(z − LSE)·Δ.
 */
final class BackwardRowsEmitter {
    static final String DELTA_ENTRY = "attnc_backward_delta";
    static final String ROWS_ENTRY = "attnc_backward_rows";
    /** Rows a warp of the delta kernel takes: enough loads in flight to near the memory's bandwidth (one a warp ran at a third of it). */
    static final int DELTA_ROWS_PER_WARP = 4;
    static final int DELTA_ROWS_PER_BLOCK = 4 * DELTA_ROWS_PER_WARP;
    static final int THREADS = 128;
    /** The delta kernel's sizes with an output transform: the row count, then every size the transform may read. */
    static final List<String> DELTA_SIZES = List.of("rows", "B", "H", "Hkv", "Nq", "Nkv", "query_offset");

    private BackwardRowsEmitter() {}

    /**
     * The delta kernel's parameters: dOut, the forward's output and Δ; with an output transform
     * also o (pre_out), where dO = dOut · d output/d o goes (dout_eff, the input precision), the
     * input gradients, and the pattern's inputs, sizes and params the transform reads.
     */
    static Signature deltaSignature(LoweredBackward backward) {
        if (backward.forward().identityOutput()) return new Signature(List.of("dout", "out", "delta"), List.of(), List.of(), List.of("rows"), List.of(), List.of());
        List<String> tensors = new ArrayList<>(List.of("dout", "out", "delta", "pre_out", "dout_eff"));
        for (String input : backward.inputs()) tensors.add("grad_" + input);
        return Signature.of(backward.forward().pattern()).with(tensors, DELTA_SIZES);
    }

    static Signature rowsSignature(LoweredBackward backward) {
        List<String> tensors = new ArrayList<>(List.of("lse", "delta", "row_grads"));
        for (String input : backward.inputs()) tensors.add("grad_" + input);
        return Signature.of(backward.forward().pattern()).with(tensors, List.of("B", "H", "Nq", "query_offset"));
    }

    /** Whether the pattern has gradients the rows kernel computes: of inputs read by the scale or the norm's value. */
    static boolean hasRowSites(LoweredBackward backward) {
        return !backward.sites(Section.SCALE).isEmpty() || !backward.sites(Section.NORM).isEmpty();
    }

    /**
     * Δ = Σ dO·o for softmax ({@link #rowSums} where the output is o); with an output transform,
     * each warp's rows one after the other, its lanes taking every 32nd element: first dO = dOut ·
     * d output/d o at o (written in the input precision for the main kernel) and the gradients of
     * the inputs the transform reads, dOut · partial, summed over the row's lanes first where the
     * element read does not change along d.
     */
    static String delta(LoweredBackward backward, BackwardConfig config) {
        boolean transform = !backward.forward().identityOutput(), softmax = backward.forward().norm() instanceof LoweredNorm.Softmax;
        if (!transform) return rowSums(backward, config);
        Signature signature = deltaSignature(backward);
        PtxWriter out = new PtxWriter();
        KernelLeaves.threadIndices(out, 0);
        signature.loadParams(out);
        out.comment("rows block * " + DELTA_ROWS_PER_BLOCK + " + warp * " + DELTA_ROWS_PER_WARP + " + i, one after the other: past the last row, so are the later ones");
        String exit = out.newLabel("exit"), next = out.newLabel("next_row");
        out.op("mov.u32", out.s32("%block"), "%ctaid.x");
        out.op("mov.s32", out.s32("%row_i"), 0);
        out.label(next);
        out.op("mad.lo.s32", out.s32("%row"), "%block", DELTA_ROWS_PER_BLOCK / DELTA_ROWS_PER_WARP, "%warp");
        out.op("mad.lo.s32", "%row", "%row", DELTA_ROWS_PER_WARP, "%row_i");
        out.op("setp.ge.s32", out.pred("%outside"), "%row", "%rows");
        out.op("@%outside bra.uni", exit);
        int width = config.valueDim(), steps = (width + 31) / 32;
        String sum = out.f32("%sum"), element = out.s32("%element"), address = out.u64("%address"), index = out.u64("%index");
        String dOut = "%d_out_0", present = out.pred("%present");
        List<ProgramRenderer[]> sites = new ArrayList<>();
        Leaves leaves = new ScalarLeaves(config.headDim(), config.valueDim(), null, true);
        out.comment("the row's batch, head and query position, for the output transform");
        out.op("rem.s32", out.s32("%q"), "%row", "%Nq");
        out.op("div.s32", out.s32("%bh"), "%row", "%Nq");
        out.op("rem.s32", out.s32("%h"), "%bh", "%H");
        out.op("div.s32", out.s32("%b"), "%bh", "%H");
        out.op("add.s32", out.s32("%q_abs"), "%q", "%query_offset");
        ProgramRenderer byO = new ProgramRenderer(out, backward.outputByO(), "dout_by", leaves);
        List<LoweredBackward.Site> outputSites = backward.sites(Section.OUTPUT);
        for (int i = 0; i < outputSites.size(); i++) {
            sites.add(new ProgramRenderer[] {new ProgramRenderer(out, outputSites.get(i).offset(), "site" + i + "_at", leaves),
                    new ProgramRenderer(out, outputSites.get(i).partial(), "site" + i + "_by", leaves)});
        }
        for (ProgramRenderer program : programs(byO, sites)) {
            program.emit(Level.UNIFORM, 0, 0);
            program.emit(Level.ROW, 0, 0);
        }
        for (int i = 0; i < sites.size(); i++) out.op("mov.f32", out.f32("%site" + i + "_row_sum"), "0f00000000");
        out.op("mov.f32", sum, "0f00000000");
        for (int j = 0; j < steps; j++) {
            String d = out.s32("%d_c" + j);
            out.op("add.s32", d, "%lane", 32 * j);
            out.op("setp.lt.s32", present, d, width);
            out.op("mad.lo.s32", element, "%row", width, d);
            out.op("mul.wide.s32", index, element, 2);
            out.op("add.s64", address, "%dout", index);
            loadHalves(out, config.dtype(), present, 1, "%d_out", address);
            out.op("mul.wide.s32", index, element, 4);
            String oj = out.f32("%o_c" + j), dO = out.f32("%d_o_c" + j);
            out.op("add.s64", address, "%pre_out", index);
            out.op("@" + present + " ld.global.nc.f32", oj, "[" + address + "]");
            for (ProgramRenderer program : programs(byO, sites)) {
                program.emit(Level.COL, 0, j);
                program.emit(Level.ELEMENT, 0, j);
            }
            out.op("mul.f32", dO, dOut, byO.result(0, j));
            if (softmax) out.op("@" + present + " fma.rn.f32", sum, dO, oj, sum);
            String half = out.reg(".b16", "%d_o_half");
            out.op("cvt.rn." + config.mmaType() + ".f32", half, dO);
            out.op("mul.wide.s32", index, element, 2);
            out.op("add.s64", address, "%dout_eff", index);
            out.op("@" + present + " st.global.b16", "[" + address + "]", half);
            for (int i = 0; i < sites.size(); i++) {
                ProgramRenderer[] site = sites.get(i);
                String product = out.f32("%site" + i + "_dg_c" + j), grad = "%grad_" + outputSites(backward).get(i).input();
                out.op("mul.f32", product, dOut, site[1].result(0, j));
                if (site[0].program().resultLevel().variesAlongColumns()) {
                    ExactSums.addAt(out, config.deterministic(), present, grad, site[0].result(0, j), product);
                } else {
                    out.op("@" + present + " add.f32", "%site" + i + "_row_sum", "%site" + i + "_row_sum", product);
                }
            }
        }
        String partner = out.f32("%partner");
        out.op("setp.eq.s32", out.pred("%writer"), "%lane", 0);
        for (int i = 0; i < sites.size(); i++) {
            ProgramRenderer[] site = sites.get(i);
            if (site[0].program().resultLevel().variesAlongColumns()) continue;
            out.comment("the row's lanes share the element " + outputSites(backward).get(i).input() + " they read: one add a row");
            String rowSum = "%site" + i + "_row_sum";
            Shuffles.butterfly(out, "add.f32", rowSum, partner, 16, 1);
            ExactSums.addAt(out, config.deterministic(), "%writer", "%grad_" + outputSites(backward).get(i).input(), site[0].result(0, 0), rowSum);
        }
        if (softmax) {
            Shuffles.butterfly(out, "add.f32", sum, partner, 16, 1);
            out.op("mul.wide.s32", index, "%row", 4);
            out.op("add.s64", address, "%delta", index);
            out.op("@%writer st.global.f32", "[" + address + "]", sum);
        }
        out.op("add.s32", "%row_i", "%row_i", 1);
        out.op("setp.lt.s32", out.pred("%more_rows"), "%row_i", DELTA_ROWS_PER_WARP);
        out.op("@%more_rows bra.uni", next);
        out.label(exit);
        out.op("ret");
        return signature.header(DELTA_ENTRY) + "\n.maxntid " + THREADS + ", 1, 1\n{\n" + out.render() + "}\n";
    }

    /**
     * Δ = Σ dO·o of a pattern whose output is o, each warp's rows loaded before any is summed (the
     * kernel is a pass over dO and O: what bounds it is how many loads are in flight), each lane
     * reading {@code lanes} adjacent elements at a time, as wide a load as the row splits into.
     */
    private static String rowSums(LoweredBackward backward, BackwardConfig config) {
        Signature signature = deltaSignature(backward);
        PtxWriter out = new PtxWriter();
        KernelLeaves.threadIndices(out, 0);
        signature.loadParams(out);
        int width = config.valueDim(), lanes = width % 128 == 0 ? 4 : width % 64 == 0 ? 2 : 1, steps = (width + 32 * lanes - 1) / (32 * lanes);
        boolean wideO = config.forwardOutput() == attnc.ir.DType.FLOAT32;
        out.comment("rows block * " + DELTA_ROWS_PER_BLOCK + " + warp * " + DELTA_ROWS_PER_WARP + " + i; lane l reads elements "
                + lanes + " * (l + 32 * step) onwards");
        out.op("mov.u32", out.s32("%block"), "%ctaid.x");
        out.op("mad.lo.s32", out.s32("%row0"), "%block", DELTA_ROWS_PER_BLOCK / DELTA_ROWS_PER_WARP, "%warp");
        out.op("mul.lo.s32", "%row0", "%row0", DELTA_ROWS_PER_WARP);
        out.op("setp.eq.s32", out.pred("%writer"), "%lane", 0);
        String index = out.u64("%index"), address = out.u64("%address");
        for (int j = 0; j < steps; j++) out.op("mad.lo.s32", out.s32("%column_" + j), "%lane", lanes, 32 * lanes * j);
        for (int i = 0; i < DELTA_ROWS_PER_WARP; i++) {
            String row = out.s32("%row_" + i), present = out.pred("%present_" + i);
            out.op("add.s32", row, "%row0", i);
            out.op("setp.lt.s32", present, row, "%rows");
            for (int j = 0; j < steps; j++) {
                String element = out.s32("%element"), column = "%column_" + j;
                String here = present;
                if (lanes == 1) {
                    here = out.pred("%present_" + i + "_" + j);
                    out.op("setp.lt.and.s32", here, column, width, present);
                }
                out.op("mad.lo.s32", element, row, width, column);
                out.op("mul.wide.s32", index, element, 2);
                out.op("add.s64", address, "%dout", index);
                loadHalves(out, config.dtype(), here, lanes, "%d_out_" + i + "_" + j, address);
                out.op("mul.wide.s32", index, element, wideO ? 4 : 2);
                out.op("add.s64", address, "%out", index);
                if (wideO) {
                    loadFloats(out, here, lanes, "%o_" + i + "_" + j, address);
                } else {
                    loadHalves(out, config.forwardOutput(), here, lanes, "%o_" + i + "_" + j, address);
                }
            }
        }
        String partner = out.f32("%partner");
        for (int i = 0; i < DELTA_ROWS_PER_WARP; i++) {
            String sum = out.f32("%sum_" + i);
            out.op("mov.f32", sum, "0f00000000");
            for (int j = 0; j < steps; j++) {
                for (int e = 0; e < lanes; e++) {
                    String dOut = "%d_out_" + i + "_" + j + "_" + e, o = "%o_" + i + "_" + j + "_" + e;
                    out.op((lanes == 1 ? "@%present_" + i + "_" + j + " " : "") + "fma.rn.f32", sum, dOut, o, sum);
                }
            }
            Shuffles.butterfly(out, "add.f32", sum, partner, 16, 1);
            String writes = out.pred("%writes_" + i);
            out.op("and.pred", writes, "%writer", "%present_" + i);
            out.op("mul.wide.s32", index, "%row_" + i, 4);
            out.op("add.s64", address, "%delta", index);
            out.op("@" + writes + " st.global.f32", "[" + address + "]", sum);
        }
        out.op("ret");
        return signature.header(DELTA_ENTRY) + "\n.maxntid " + THREADS + ", 1, 1\n{\n" + out.render() + "}\n";
    }

    /**
     * {@code lanes} adjacent 16-bit elements of {@code dtype} at {@code address} into f32 registers
     * {@code stem_0..}, where {@code present}: a bf16 is the top half of its f32 (sm_80 has no
     * cvt from bf16), an fp16 is converted.
     */
    private static void loadHalves(PtxWriter out, attnc.ir.DType dtype, String present, int lanes, String stem, String address) {
        boolean bf16 = dtype != attnc.ir.DType.FLOAT16;
        if (lanes == 1) {
            String into = out.f32(stem + "_0");
            if (bf16) {
                String bits = out.b32(stem + "_w0");
                out.op("@" + present + " ld.global.nc.u16", bits, "[" + address + "]");
                out.op("shl.b32", into, bits, 16);
            } else {
                String half = out.reg(".b16", stem + "_h0");
                out.op("@" + present + " ld.global.nc.b16", half, "[" + address + "]");
                out.op("cvt.f32.f16", into, half);
            }
            return;
        }
        List<String> words = new ArrayList<>();
        for (int w = 0; w < lanes / 2; w++) words.add(out.b32(stem + "_w" + w));
        out.op("@" + present + " ld.global.nc" + (words.size() == 1 ? "" : ".v" + words.size()) + ".b32",
                words.size() == 1 ? words.getFirst() : "{" + String.join(", ", words) + "}", "[" + address + "]");
        for (int w = 0; w < words.size(); w++) {
            String low = out.f32(stem + "_" + 2 * w), high = out.f32(stem + "_" + (2 * w + 1));
            if (bf16) {
                out.op("shl.b32", low, words.get(w), 16);
                out.op("and.b32", high, words.get(w), "0xFFFF0000");
            } else {
                String lowHalf = out.reg(".b16", stem + "_lo"), highHalf = out.reg(".b16", stem + "_hi");
                out.op("mov.b32", "{" + lowHalf + ", " + highHalf + "}", words.get(w));
                out.op("cvt.f32.f16", low, lowHalf);
                out.op("cvt.f32.f16", high, highHalf);
            }
        }
    }

    /** {@code lanes} adjacent floats at {@code address} into {@code stem_0..}, where {@code present}. */
    private static void loadFloats(PtxWriter out, String present, int lanes, String stem, String address) {
        List<String> values = new ArrayList<>();
        for (int e = 0; e < lanes; e++) values.add(out.f32(stem + "_" + e));
        out.op("@" + present + " ld.global.nc" + (lanes == 1 ? "" : ".v" + lanes) + ".f32",
                lanes == 1 ? values.getFirst() : "{" + String.join(", ", values) + "}", "[" + address + "]");
    }

    private static List<LoweredBackward.Site> outputSites(LoweredBackward backward) { return backward.sites(Section.OUTPUT); }

    private static List<ProgramRenderer> programs(ProgramRenderer byO, List<ProgramRenderer[]> sites) {
        List<ProgramRenderer> all = new ArrayList<>(List.of(byO));
        for (ProgramRenderer[] site : sites) all.addAll(List.of(site));
        return all;
    }

    /** Per row (b, h, q): each scale or norm site's upstream × partial, added at the element it reads. */
    static String rows(LoweredBackward backward, BackwardConfig config) {
        Signature signature = rowsSignature(backward);
        PtxWriter out = new PtxWriter();
        Leaves leaves = new ScalarLeaves(config.headDim(), config.valueDim(), null, false);
        out.op("mov.u32", out.s32("%thread"), "%tid.x");
        signature.loadParams(out);
        String exit = out.newLabel("exit");
        out.op("mov.u32", out.s32("%block"), "%ctaid.x");
        out.op("mad.lo.s32", out.s32("%row"), "%block", THREADS, "%thread");
        out.op("mul.lo.s32", out.s32("%rows"), "%B", "%H");
        out.op("mul.lo.s32", "%rows", "%rows", "%Nq");
        out.op("setp.ge.s32", out.pred("%outside"), "%row", "%rows");
        out.op("@%outside bra.uni", exit);
        out.op("rem.s32", out.s32("%q"), "%row", "%Nq");
        out.op("div.s32", out.s32("%bh"), "%row", "%Nq");
        out.op("rem.s32", out.s32("%h"), "%bh", "%H");
        out.op("div.s32", out.s32("%b"), "%bh", "%H");
        out.op("add.s32", out.s32("%q_abs"), "%q", "%query_offset");
        String index = out.u64("%index"), address = out.u64("%address");
        out.op("mul.wide.s32", index, "%row", 4);
        String scaleUpstream = out.f32("%upstream_scale"), normUpstream = out.f32("%upstream_norm");
        if (!backward.sites(Section.SCALE).isEmpty()) {
            out.comment("the scale's upstream: sum of dS * d score/d s * q.k along the row");
            out.op("add.s64", address, "%row_grads", index);
            out.op("ld.global.f32", scaleUpstream, "[" + address + "]");
        }
        if (!backward.sites(Section.NORM).isEmpty()) {
            switch (backward.forward().norm()) {
                case LoweredNorm.Sigmoid sigmoid -> {
                    out.comment("the bias' upstream: sum of dS along the row");
                    out.op("mul.wide.s32", address, "%rows", 4 * BackwardEmitter.BIAS_ROW_SUMS);
                    out.op("add.s64", address, address, index);
                    out.op("add.s64", address, "%row_grads", address);
                    out.op("ld.global.f32", normUpstream, "[" + address + "]");
                }
                case LoweredNorm.Softmax(var sink) -> {
                    out.comment("the sink's upstream: -exp(z - LSE) * delta");
                    ProgramRenderer z = new ProgramRenderer(out, sink.orElseThrow(), "sink", leaves);
                    z.emitAll(0, 0);
                    String lse = out.f32("%lse_row"), delta = out.f32("%delta_row");
                    out.op("add.s64", address, "%lse", index);
                    out.op("ld.global.f32", lse, "[" + address + "]");
                    out.op("add.s64", address, "%delta", index);
                    out.op("ld.global.f32", delta, "[" + address + "]");
                    out.op("sub.f32", normUpstream, z.result(0, 0), lse);
                    out.op("mul.f32", normUpstream, normUpstream, FlashEmitter.LOG2E);
                    out.op("ex2.approx.ftz.f32", normUpstream, normUpstream);
                    out.op("mul.f32", normUpstream, normUpstream, delta);
                    out.op("neg.f32", normUpstream, normUpstream);
                }
                case LoweredNorm.Identity none -> throw new IllegalStateException("no norm value to differentiate");
            }
        }
        List<LoweredBackward.Site> sites = new ArrayList<>(backward.sites(Section.SCALE));
        sites.addAll(backward.sites(Section.NORM));
        for (int i = 0; i < sites.size(); i++) {
            LoweredBackward.Site site = sites.get(i);
            out.comment("gradient of " + site.input() + " through the " + site.section().spelling());
            ProgramRenderer offset = new ProgramRenderer(out, site.offset(), "site" + i + "_at", leaves);
            ProgramRenderer partial = new ProgramRenderer(out, site.partial(), "site" + i + "_by", leaves);
            offset.emitAll(0, 0);
            partial.emitAll(0, 0);
            String product = out.f32("%site" + i + "_dg");
            out.op("mul.f32", product, site.section() == Section.SCALE ? scaleUpstream : normUpstream, partial.result(0, 0));
            ExactSums.addAt(out, config.deterministic(), null, "%grad_" + site.input(), offset.result(0, 0), product);
        }
        out.label(exit);
        out.op("ret");
        return signature.header(ROWS_ENTRY) + "\n.maxntid " + THREADS + ", 1, 1\n{\n" + out.render() + "}\n";
    }

}
