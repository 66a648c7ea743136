package attnc.ptx.emit;

import attnc.grad.Section;
import attnc.ir.Index;
import attnc.lower.LoweredBackward;
import attnc.lower.LoweredNorm;
import java.util.ArrayList;
import java.util.List;

/**
 * The backward's kernels over query rows, one thread or warp a row: before the main kernel, Δ =
 * rowsum(dO∘o) (softmax only); after it, the gradients of the inputs the scale and the norm's
 * value read, from the row sums {@link BackwardEmitter} added (the scale's, the sigmoid bias') or,
 * for a sink, −exp(z − LSE)·Δ.
 */
final class BackwardRowsEmitter {
    static final String DELTA_ENTRY = "attnc_backward_delta";
    static final String ROWS_ENTRY = "attnc_backward_rows";
    static final int DELTA_ROWS_PER_BLOCK = 4;
    static final int THREADS = 128;

    private BackwardRowsEmitter() {}

    static Signature deltaSignature() {
        return new Signature(List.of("dout", "out", "delta"), List.of(), List.of(), List.of("rows"), List.of(), List.of());
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

    /** Δ of one row a warp: its lanes take every 32nd element of dO (input precision) and o (fp32). */
    static String delta(BackwardConfig config) {
        Signature signature = deltaSignature();
        PtxWriter out = new PtxWriter();
        KernelLeaves.threadIndices(out, 0);
        signature.loadParams(out);
        out.comment("row = block * " + DELTA_ROWS_PER_BLOCK + " + warp");
        String exit = out.newLabel("exit");
        out.op("mov.u32", out.s32("%block"), "%ctaid.x");
        out.op("mad.lo.s32", out.s32("%row"), "%block", DELTA_ROWS_PER_BLOCK, "%warp");
        out.op("setp.ge.s32", out.pred("%outside"), "%row", "%rows");
        out.op("@%outside bra.uni", exit);
        int width = config.valueDim();
        String sum = out.f32("%sum"), element = out.s32("%element"), address = out.u64("%address"), index = out.u64("%index");
        String dO = out.f32("%d_out"), o = out.f32("%o"), present = out.pred("%present");
        out.op("mov.f32", sum, "0f00000000");
        for (int j = 0; j < (width + 31) / 32; j++) {
            out.op("add.s32", element, "%lane", 32 * j);
            out.op("setp.lt.s32", present, element, width);
            out.op("mad.lo.s32", element, "%row", width, element);
            out.op("mul.wide.s32", index, element, 2);
            out.op("add.s64", address, "%dout", index);
            if (config.dtype() == attnc.ir.DType.FLOAT16) {
                String half = out.reg(".b16", "%half");
                out.op("@" + present + " ld.global.nc.b16", half, "[" + address + "]");
                out.op("cvt.f32.f16", dO, half);
            } else {
                String bits = out.b32("%bits");
                out.op("@" + present + " ld.global.nc.u16", bits, "[" + address + "]");
                out.op("shl.b32", bits, bits, 16);
                out.op("mov.b32", dO, bits);
            }
            out.op("mul.wide.s32", index, element, 4);
            out.op("add.s64", address, "%out", index);
            out.op("@" + present + " ld.global.nc.f32", o, "[" + address + "]");
            out.op("@" + present + " fma.rn.f32", sum, dO, o, sum);
        }
        String partner = out.f32("%partner");
        for (int lane = 16; lane >= 1; lane /= 2) {
            out.op("shfl.sync.bfly.b32", partner, sum, lane, "0x1f", "0xffffffff");
            out.op("add.f32", sum, sum, partner);
        }
        out.op("setp.eq.s32", out.pred("%writer"), "%lane", 0);
        out.op("mul.wide.s32", index, "%row", 4);
        out.op("add.s64", address, "%delta", index);
        out.op("@%writer st.global.f32", "[" + address + "]", sum);
        out.label(exit);
        out.op("ret");
        return signature.header(DELTA_ENTRY) + "\n.maxntid " + THREADS + ", 1, 1\n{\n" + out.render() + "}\n";
    }

    /** Per row (b, h, q): each scale or norm site's upstream × partial, added at the element it reads. */
    static String rows(LoweredBackward backward, BackwardConfig config) {
        Signature signature = rowsSignature(backward);
        PtxWriter out = new PtxWriter();
        Leaves leaves = new Leaves() {
            @Override public String index(Index index, int row, int col) {
                return switch (index) {
                    case B -> "%b";
                    case H -> "%h";
                    case Q -> "%q_abs";
                    case KV, D -> throw new IllegalStateException(index + " in a per-row program");
                };
            }

            @Override public String size(String name) { return Signature.sizeRegister(name, config.headDim(), config.valueDim()); }
        };
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
            out.op("mul.wide.s32", address, offset.result(0, 0), 4);
            out.op("add.s64", address, "%grad_" + site.input(), address);
            out.op("red.global.add.f32", "[" + address + "]", product);
        }
        out.label(exit);
        out.op("ret");
        return signature.header(ROWS_ENTRY) + "\n.maxntid " + THREADS + ", 1, 1\n{\n" + out.render() + "}\n";
    }

}
