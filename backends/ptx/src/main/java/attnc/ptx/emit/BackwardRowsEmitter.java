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
    static final int DELTA_ROWS_PER_BLOCK = 4;
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
     * One row a warp, its lanes taking every 32nd element: Δ = Σ dO·o for softmax; with an output
     * transform, first dO = dOut · d output/d o at o (written in the input precision for the main
     * kernel) and the gradients of the inputs the transform reads, dOut · partial, summed over the
     * row's lanes first where the element read does not change along d.
     */
    static String delta(LoweredBackward backward, BackwardConfig config) {
        boolean transform = !backward.forward().identityOutput(), softmax = backward.forward().norm() instanceof LoweredNorm.Softmax;
        Signature signature = deltaSignature(backward);
        PtxWriter out = new PtxWriter();
        KernelLeaves.threadIndices(out, 0);
        signature.loadParams(out);
        out.comment("row = block * " + DELTA_ROWS_PER_BLOCK + " + warp");
        String exit = out.newLabel("exit");
        out.op("mov.u32", out.s32("%block"), "%ctaid.x");
        out.op("mad.lo.s32", out.s32("%row"), "%block", DELTA_ROWS_PER_BLOCK, "%warp");
        out.op("setp.ge.s32", out.pred("%outside"), "%row", "%rows");
        out.op("@%outside bra.uni", exit);
        int width = config.valueDim(), steps = (width + 31) / 32;
        String sum = out.f32("%sum"), element = out.s32("%element"), address = out.u64("%address"), index = out.u64("%index");
        String dOut = out.f32("%d_out"), o = out.f32("%o"), present = out.pred("%present");
        ProgramRenderer byO = null;
        List<ProgramRenderer[]> sites = new ArrayList<>();
        if (transform) {
            Leaves leaves = new ScalarLeaves(config.headDim(), config.valueDim(), null, true);
            out.comment("the row's batch, head and query position, for the output transform");
            out.op("rem.s32", out.s32("%q"), "%row", "%Nq");
            out.op("div.s32", out.s32("%bh"), "%row", "%Nq");
            out.op("rem.s32", out.s32("%h"), "%bh", "%H");
            out.op("div.s32", out.s32("%b"), "%bh", "%H");
            out.op("add.s32", out.s32("%q_abs"), "%q", "%query_offset");
            byO = new ProgramRenderer(out, backward.outputByO(), "dout_by", leaves);
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
        }
        out.op("mov.f32", sum, "0f00000000");
        for (int j = 0; j < steps; j++) {
            String d = out.s32("%d_c" + j);
            out.op("add.s32", d, "%lane", 32 * j);
            out.op("setp.lt.s32", present, d, width);
            out.op("mad.lo.s32", element, "%row", width, d);
            out.op("mul.wide.s32", index, element, 2);
            out.op("add.s64", address, "%dout", index);
            loadHalf(out, config, present, dOut, address);
            out.op("mul.wide.s32", index, element, 4);
            if (!transform) {
                if (config.forwardOutput() == attnc.ir.DType.FLOAT32) {
                    out.op("add.s64", address, "%out", index);
                    out.op("@" + present + " ld.global.nc.f32", o, "[" + address + "]");
                } else {
                    out.op("mul.wide.s32", index, element, 2);
                    out.op("add.s64", address, "%out", index);
                    loadHalf(out, config, present, o, address);
                }
                out.op("@" + present + " fma.rn.f32", sum, dOut, o, sum);
                continue;
            }
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
            for (int lane = 16; lane >= 1; lane /= 2) {
                out.op("shfl.sync.bfly.b32", partner, rowSum, lane, "0x1f", "0xffffffff");
                out.op("add.f32", rowSum, rowSum, partner);
            }
            ExactSums.addAt(out, config.deterministic(), "%writer", "%grad_" + outputSites(backward).get(i).input(), site[0].result(0, 0), rowSum);
        }
        if (softmax) {
            for (int lane = 16; lane >= 1; lane /= 2) {
                out.op("shfl.sync.bfly.b32", partner, sum, lane, "0x1f", "0xffffffff");
                out.op("add.f32", sum, sum, partner);
            }
            out.op("mul.wide.s32", index, "%row", 4);
            out.op("add.s64", address, "%delta", index);
            out.op("@%writer st.global.f32", "[" + address + "]", sum);
        }
        out.label(exit);
        out.op("ret");
        return signature.header(DELTA_ENTRY) + "\n.maxntid " + THREADS + ", 1, 1\n{\n" + out.render() + "}\n";
    }

    private static List<LoweredBackward.Site> outputSites(LoweredBackward backward) { return backward.sites(Section.OUTPUT); }

    private static List<ProgramRenderer> programs(ProgramRenderer byO, List<ProgramRenderer[]> sites) {
        List<ProgramRenderer> all = new ArrayList<>(List.of(byO));
        for (ProgramRenderer[] site : sites) all.addAll(List.of(site));
        return all;
    }

    /** An element of the input precision (bf16 or fp16) at {@code address} into an f32 register, where {@code present}. */
    private static void loadHalf(PtxWriter out, BackwardConfig config, String present, String into, String address) {
        if (config.dtype() == attnc.ir.DType.FLOAT16) {
            String half = out.reg(".b16", "%half_" + into.substring(1));
            out.op("@" + present + " ld.global.nc.b16", half, "[" + address + "]");
            out.op("cvt.f32.f16", into, half);
        } else {
            String bits = out.b32("%bits_" + into.substring(1));
            out.op("@" + present + " ld.global.nc.u16", bits, "[" + address + "]");
            out.op("shl.b32", bits, bits, 16);
            out.op("mov.b32", into, bits);
        }
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
