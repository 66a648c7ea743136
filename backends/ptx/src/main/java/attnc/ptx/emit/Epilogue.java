package attnc.ptx.emit;

import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.ir.Printer;
import attnc.lower.LoweredPattern;
import attnc.lower.Program.Level;

/**
 * The end of the attention kernel: finishes the row sums across the four threads that share a
 * row, folds in a sink logit, divides, applies the output expression per element and stores the
 * fp32 output (and, for softmax, the natural-log LSE). A row that saw nothing gives 0 and −∞.
 */
final class Epilogue {
    private final PtxWriter out;
    private final LoweredPattern lowered;
    private final Pattern pattern;
    private final KernelConfig config;
    private final int rows, valueCols;
    private final ProgramRenderer output, normValue;
    /** Split-KV partials: no sink (the merge counts it once), no output transform. */
    private final boolean split;

    Epilogue(PtxWriter out, LoweredPattern lowered, KernelConfig config, int rows, int valueCols, ProgramRenderer output, ProgramRenderer normValue) {
        this.out = out;
        this.lowered = lowered;
        this.pattern = lowered.pattern();
        this.config = config;
        this.rows = rows;
        this.valueCols = valueCols;
        this.output = output;
        this.split = config.decode().splits();
        this.normValue = split ? null : normValue;
    }

    void emit() {
        boolean columns = config.schedule().columns();
        if (config.warpKeys() && !columns) {
            splitSlices();
            new WarpMerge(out, lowered, config, rows, valueCols).emit();
            return;
        }
        boolean softmax = lowered.writesLse();
        if (softmax && columns) {
            out.comment("each warp summed its own keys' weights: the rows' sums over every warp");
            for (int r = 0; r < rows; r++) Shuffles.butterfly(out, "add.f32", "%row_sum_r" + r, "%shuffled", 1, 2);
            ColumnSplitEmitter.acrossWarps(out, config, rows, "%row_sum_r", "add.f32");
        }
        for (int r = 0; r < rows; r++) {
            String inverse = out.f32("%inverse_r" + r);
            if (softmax) normalise(r, inverse, !columns);
            else out.op("mov.f32", inverse, "0f3F800000");
            for (int c = 0; c < valueCols; c++) {
                out.op("mul.f32", out.f32("%o_norm_r" + r + "_c" + c), Fragments.accAt(r, c), inverse);
            }
        }
        if (split) {
            splitSlices();
        } else {
            out.comment("output: " + Printer.expr(pattern.output()));
            for (int c = 0; c < valueCols; c++) {
                out.op("mad.lo.s32", out.s32("%d_c" + c), "%t", 2, ((c / 2) * 8 + c % 2));
                output.emit(Level.COL, 0, c);
            }
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < valueCols; c++) output.emit(Level.ELEMENT, r, c);
            }
        }
        store(softmax);
    }

    /**
     * Split-KV: this block's partial o (no output transform: the merge applies it to the merged
     * o) and LSE go to slice {@code %ctaid.z} of the partial buffers, each B·H·Nq rows.
     */
    private void splitSlices() {
        out.comment("split-KV partials: o and LSE into slice ctaid.z");
        String rowsAll = out.s32("%rows_all"), slice = out.u64("%slice_offset");
        out.op("mul.lo.s32", rowsAll, "%B", "%H");
        out.op("mul.lo.s32", rowsAll, rowsAll, "%Nq");
        out.op("mul.lo.s32", rowsAll, rowsAll, "%split");
        out.op("mul.wide.s32", slice, rowsAll, 4);
        out.op("add.s64", "%lse", "%lse", slice);
        out.op("mul.wide.s32", slice, rowsAll, 4 * config.valueDim());
        out.op("add.s64", "%out", "%out", slice);
    }

    /** Sum across the quad (unless done), then 1/l (0 for an empty row) and the LSE, with an optional sink. */
    private void normalise(int r, String inverse, boolean acrossQuad) {
        String sum = "%row_sum_r" + r, max = "%row_max_r" + r, partner = "%shuffled";
        if (acrossQuad) Shuffles.butterfly(out, "add.f32", sum, partner, 1, 2);
        if (normValue != null) {
            out.comment("sink logit joins the denominator only");
            String sink = out.f32("%sink2_r" + r), top = out.f32("%top_r" + r), safe = out.f32("%top_safe_r" + r);
            String empty = out.pred("%top_empty_r" + r), rescale = out.f32("%rescale_r" + r), sinkWeight = out.f32("%sink_w_r" + r);
            out.op("mul.f32", sink, normValue.result(r, 0), FlashEmitter.LOG2E);
            out.op("max.f32", top, max, sink);
            out.op("setp.eq.f32", empty, top, FlashEmitter.NEG_INF);
            out.op("selp.f32", safe, "0f00000000", top, empty);
            out.op("sub.f32", rescale, max, safe);
            out.op("ex2.approx.ftz.f32", rescale, rescale);
            out.op("sub.f32", sinkWeight, sink, safe);
            out.op("ex2.approx.ftz.f32", sinkWeight, sinkWeight);
            out.op("mul.f32", sum, sum, rescale);
            for (int c = 0; c < valueCols; c++) out.op("mul.f32", Fragments.accAt(r, c), Fragments.accAt(r, c), rescale);
            out.op("add.f32", sum, sum, sinkWeight);
            out.op("mov.f32", max, top);
        }
        String empty = out.pred("%empty_r" + r), lse = out.f32("%lse_r" + r), log = out.f32("%log_sum_r" + r);
        // A row that saw a key has a sum of at least 1 (the weight of its max); exponentials on the FMA pipe
        // leave masked weights of up to 2^-126 instead of 0, so that kernel tests against 1/2.
        out.op("setp.le.f32", empty, sum, config.fmaExp() > 0 ? "0f3F000000" : "0f00000000");
        out.op("rcp.rn.f32", inverse, sum);
        out.op("selp.f32", inverse, "0f00000000", inverse, empty);
        out.op("lg2.approx.f32", log, sum);
        out.op("add.f32", lse, max, log);
        out.op("mul.f32", lse, lse, FlashEmitter.LN2);
        out.op("selp.f32", lse, FlashEmitter.NEG_INF, lse, empty);
    }

    /** o of row r before the output transform, fp32, when the caller passed somewhere to keep it (the backward needs it). */
    private void storePreOutput(int r, String rowIndex) {
        String address = out.u64("%pre_addr"), column = out.u64("%pre_col"), skip = out.newLabel("no_pre_output");
        out.op("@!%pre_present bra.uni", skip);
        out.op("mul.wide.s32", address, rowIndex, config.valueDim() * 4);
        out.op("add.s64", address, "%pre_out", address);
        out.op("mul.wide.s32", column, "%t", 8);
        out.op("add.s64", address, address, column);
        for (int c = 0; c < valueCols; c += 2) {
            out.op("st.global.v2.f32", "[" + address + "+" + (c / 2) * 32 + "]", "{%o_norm_r" + r + "_c" + c + ", %o_norm_r" + r + "_c" + (c + 1) + "}");
        }
        out.label(skip);
    }

    /** What is stored at (r, c): the output expression's value, or o itself for a split-KV partial. */
    /** {@code rowIndex} := the query position of the block's row {@code blockRow}, and {@code inside} whether it lies inside Nq. */
    static void rowInside(PtxWriter out, String blockRow, String rowIndex, String inside) {
        out.op("add.s32", rowIndex, "%q_start", blockRow);
        out.op("setp.lt.s32", inside, rowIndex, "%Nq");
    }

    /**
     * {@code rowIndex}, a query position from {@link #rowInside}, := its row of the output and LSE:
     * (b · H + h) · Nq + q, or in a ragged launch's packed rows [totalQ, H, ·], query i of sequence b
     * and head h at (q_seq + i) · H + h.
     */
    static void globalRow(PtxWriter out, KernelConfig config, String rowIndex) {
        if (config.decode().ragged()) {
            out.op("add.s32", rowIndex, rowIndex, "%q_seq");
            out.op("mad.lo.s32", rowIndex, rowIndex, "%H", "%h");
        } else {
            out.op("mad.lo.s32", rowIndex, "%bh", "%Nq", rowIndex);
        }
    }

    /** lse[rowIndex] := {@code value}, from the threads {@code writer} holds. */
    static void storeLse(PtxWriter out, String rowIndex, String writer, String value) {
        String address = out.u64("%lse_addr");
        out.op("mul.wide.s32", address, rowIndex, 4);
        out.op("add.s64", address, "%lse", address);
        out.op("@" + writer + " st.global.f32", "[" + address + "]", value);
    }

    private String value(int r, int c) { return split ? "%o_norm_r" + r + "_c" + c : output.result(r, c); }

    private void store(boolean softmax) {
        out.comment("store rows inside Nq: out[b, h, q, d] " + config.output() + (softmax ? ", lse[b, h, q] from the first thread of each quad" : ""));
        String rowIndex = out.s32("%out_row"), address = out.u64("%out_addr"), inside = out.pred("%row_inside");
        String lsePresent = out.pred("%lse_present"), lseWriter = out.pred("%lse_writer");
        if (!lowered.identityOutput()) out.op("setp.ne.u64", out.pred("%pre_present"), "%pre_out", 0);
        if (softmax) {
            out.op("setp.ne.u64", lsePresent, "%lse", 0);
            out.op("setp.eq.s32", lseWriter, "%t", 0);
            out.op("and.pred", lseWriter, lseWriter, lsePresent);
            if (config.schedule().columns()) {
                // Every warp holds the rows' LSE; the first stores it.
                String first = out.pred("%lse_warp");
                out.op("setp.eq.s32", first, "%warp", 0);
                out.op("and.pred", lseWriter, lseWriter, first);
            }
        }
        for (int r = 0; r < rows; r++) {
            String skip = out.newLabel("row_outside");
            rowInside(out, "%row_r" + r, rowIndex, inside);
            out.op("@!" + inside + " bra", skip);
            globalRow(out, config, rowIndex);
            if (softmax) storeLse(out, rowIndex, lseWriter, "%lse_r" + r);
            if (!lowered.identityOutput() && !split) storePreOutput(r, rowIndex);
            int elementBytes = config.output().bytes();
            out.op("mul.wide.s32", address, rowIndex, config.valueDim() * elementBytes);
            out.op("add.s64", address, "%out", address);
            String column = out.u64("%out_col");
            out.op("mul.wide.s32", column, "%t", 2 * elementBytes);
            out.op("add.s64", address, address, column);
            if (config.schedule().columns()) {
                out.op("mul.wide.s32", column, "%warp", config.warpValueDim() * elementBytes);
                out.op("add.s64", address, address, column);
            }
            for (int c = 0; c < valueCols; c += 2) {
                String offset = "+" + (c / 2) * 8 * elementBytes;
                if (config.output() == DType.FLOAT32) {
                    out.op("st.global.v2.f32", "[" + address + offset + "]", "{" + value(r, c) + ", " + value(r, c + 1) + "}");
                } else {
                    String packed = out.b32("%out_pair");
                    out.op("cvt.rn." + config.mmaType() + "x2.f32", packed, value(r, c + 1), value(r, c));
                    out.op("st.global.b32", "[" + address + offset + "]", packed);
                }
            }
            out.label(skip);
        }
    }
}
