package attnc.ptx.emit;

import attnc.ir.Pattern;
import attnc.ir.Printer;
import attnc.lower.LoweredNorm;
import attnc.lower.LoweredPattern;
import attnc.lower.Program;
import attnc.lower.Program.Level;

/**
 * The flash-attention forward kernel of one pattern as PTX (FlashAttention-2's schedule on
 * mma.sync): a block owns {@code blockM} queries, each warp 16·mTiles of them with Q held in
 * registers; the block walks its list of key/value tiles (from the tile map: EMPTY tiles are
 * absent, FULL tiles skip the mask), loading them {@code stages} deep with cp.async. Per tile:
 * S = Q·Kᵀ (ldmatrix + mma), the score expression, the mask (PARTIAL tiles only), the online
 * softmax in base 2 (log2 e folded into the scale), and O += P·V with P straight from registers.
 */
final class AttentionEmitter {
    static final String ENTRY = "attnc_attention";
    static final String NEG_INF = "0fFF800000";
    static final String LOG2E = PtxWriter.f32Literal(1.4426950408889634);
    static final String LN2 = PtxWriter.f32Literal(0.6931471805599453);

    private final LoweredPattern lowered;
    private final Pattern pattern;
    private final KernelConfig config;
    private final Signature signature;
    private final PtxWriter out = new PtxWriter();
    private final KernelLeaves leaves;
    private final int rows, cols, valueCols;
    private final TileLoader loader;

    private ProgramRenderer mask, score, scale, output, normValue;

    private AttentionEmitter(LoweredPattern lowered, KernelConfig config) {
        this.lowered = lowered;
        this.pattern = lowered.pattern();
        this.config = config;
        this.signature = Signature.of(pattern);
        this.leaves = new KernelLeaves(config, signature);
        this.rows = 2 * config.mTiles();
        this.cols = config.blockN() / 4;
        this.valueCols = config.valueDim() / 4;
        this.loader = new TileLoader(out, config);
    }

    /** The entry's text (without the module header). */
    static String render(LoweredPattern pattern, KernelConfig config) {
        return new AttentionEmitter(pattern, config).emit();
    }

    private String emit() {
        mask = program("mask", lowered.visibility());
        score = program("score", lowered.score());
        scale = program("scale", lowered.scale());
        output = program("out", lowered.output());
        normValue = lowered.norm().value().map(v -> program(lowered.norm() instanceof LoweredNorm.Sigmoid ? "bias" : "sink", v)).orElse(null);
        leaves.setUp(out, pattern);
        setUpRows();
        loader.setUp(leaves);
        loadQuery();
        initialiseRowState();
        tileLoop();
        finish();
        return signature.header(ENTRY) + "\n.maxntid " + config.threads() + ", 1, 1\n{\n" + out.render() + "}\n";
    }

    private ProgramRenderer program(String prefix, Program program) {
        return new ProgramRenderer(out, program, prefix, leaves);
    }

    private boolean softmax() { return lowered.norm() instanceof LoweredNorm.Softmax; }

    private boolean identityScore() { return lowered.identityScore(); }

    /** Row indices, absolute query positions, and everything that depends on the row but not on kv. */
    private void setUpRows() {
        out.blank().comment("rows of this thread: g and g+8 of each 16-row slice the warp owns");
        for (int r = 0; r < rows; r++) {
            String row = out.s32("%row_r" + r);
            out.op("mad.lo.s32", row, "%warp", (16 * config.mTiles()), "%g");
            out.op("add.s32", row, row, ((r / 2) * 16 + (r % 2) * 8));
            out.op("add.s32", out.s32("%q_abs_r" + r), row, "%q_first");
        }
        out.comment("scale: " + Printer.expr(pattern.scale()));
        emitRowLevels(scale);
        if (!identityScore()) {
            out.comment("score: " + Printer.expr(pattern.score()) + " (parts that do not change along kv)");
            emitRowLevels(score);
        }
        if (normValue != null) {
            out.comment("norm: " + pattern.norm());
            emitRowLevels(normValue);
        }
        out.comment("mask: " + Printer.expr(pattern.visibility()) + " (parts that do not change along kv)");
        emitRowLevels(mask);
        out.comment("output: " + Printer.expr(pattern.output()) + " (parts that do not change along d)");
        emitRowLevels(output);
        for (int r = 0; r < rows; r++) {
            String rowScale = out.f32("%scale2_r" + r);
            // Softmax works in base 2: log2(e) joins the scale once per row instead of once per score.
            if (softmax() && identityScore()) out.op("mul.f32", rowScale, scale.result(r, 0), LOG2E);
            else out.op("mov.f32", rowScale, scale.result(r, 0));
        }
    }

    private void emitRowLevels(ProgramRenderer program) {
        program.emit(Level.UNIFORM, 0, 0);
        for (int r = 0; r < rows; r++) program.emit(Level.ROW, r, 0);
    }

    private void loadQuery() {
        out.blank().comment("Q tile → shared memory (cp.async), then into mma A fragments held for the whole loop");
        loader.loadQuery();
        loader.prefetch();
        out.op("cp.async.wait_group", (config.stages() - 1));
        out.op("bar.sync", 0);
        String address = out.u32("%q_frag_addr");
        for (int mt = 0; mt < config.mTiles(); mt++) {
            for (int kc = 0; kc < config.headDim() / 16; kc++) {
                int offset = mt * 16 * config.qStride() + kc * 32;
                out.op("add.u32", address, "%lane_q_addr", offset);
                String[] regs = new String[4];
                for (int j = 0; j < 4; j++) regs[j] = out.b32(Fragments.queryA(mt, kc, j));
                out.op("ldmatrix.sync.aligned.m8n8.x4.shared.b16", "{" + String.join(", ", regs) + "}", "[" + address + "]");
            }
        }
    }

    private void initialiseRowState() {
        out.blank().comment("running row state: max (base 2), partial row sum, output accumulators");
        for (int r = 0; r < rows; r++) {
            if (softmax()) {
                out.op("mov.f32", out.f32("%row_max_r" + r), NEG_INF);
                out.op("mov.f32", out.f32("%row_sum_r" + r), "0f00000000");
            }
            for (int c = 0; c < valueCols; c++) out.op("mov.f32", out.f32(Fragments.accAt(r, c)), "0f00000000");
        }
    }

    private void tileLoop() {
        String loop = out.newLabel("tile_loop"), done = out.newLabel("tiles_done");
        out.blank().comment("walk the visible key/value tiles of this query block");
        out.op("mov.s32", out.s32("%tile_i"), 0);
        out.label(loop);
        out.op("setp.ge.s32", out.pred("%tiles_end"), "%tile_i", "%tile_count");
        out.op("@%tiles_end bra.uni", done);
        out.op("cp.async.wait_group", (config.stages() - 2));
        out.op("bar.sync", 0);
        loader.currentTile();
        loader.prefetchNext();
        maskColumns();
        scores();
        maskAndScore();
        if (softmax()) softmaxUpdate();
        else applyMask();
        accumulate();
        loader.advance();
        out.op("add.s32", "%tile_i", "%tile_i", 1);
        out.op("bra.uni", loop);
        out.label(done);
        out.op("cp.async.wait_group", 0);
    }

    /** S = Q·Kᵀ for the tile, one mma per 16×8 block and 16-wide slice of the head dim. */
    private void scores() {
        out.comment("S = Q·Kᵀ (the first slice of the head dim accumulates onto zero registers, so S needs no clearing)");
        String zero = out.f32("%zero");
        out.op("mov.f32", zero, "0f00000000");
        String[] zeros = {zero, zero, zero, zero};
        String address = out.u32("%k_frag_addr");
        String[] b = {out.b32("%kb0"), out.b32("%kb1"), out.b32("%kb2"), out.b32("%kb3")};
        for (int kc = 0; kc < config.headDim() / 16; kc++) {
            for (int np = 0; np < config.blockN() / 16; np++) {
                out.op("add.u32", address, "%lane_k_addr", (np * 16 * config.qStride() + kc * 32));
                out.op("ldmatrix.sync.aligned.m8n8.x4.shared.b16", "{" + String.join(", ", b) + "}", "[" + address + "]");
                for (int mt = 0; mt < config.mTiles(); mt++) {
                    String[] a = new String[4];
                    for (int j = 0; j < 4; j++) a[j] = Fragments.queryA(mt, kc, j);
                    for (int half = 0; half < 2; half++) {
                        int nt = 2 * np + half;
                        String[] d = new String[4];
                        for (int i = 0; i < 4; i++) d[i] = out.f32(Fragments.score(mt, nt, i));
                        out.op(Fragments.mma(config.mmaType(), d, a, b[2 * half], b[2 * half + 1], kc == 0 ? zeros : d));
                    }
                }
            }
        }
    }

    /**
     * The kv position of each column the thread holds and, for PARTIAL tiles, the column-only
     * part of the mask, issued before S = Q·Kᵀ so that its loads (document ids of the keys, say)
     * complete under the matrix products.
     */
    private void maskColumns() {
        out.comment("kv position of each column this thread holds");
        out.op("mad.lo.s32", out.s32("%kv_lane"), "%t", 2, "%kv_first");
        for (int c = 0; c < cols; c++) {
            out.op("add.s32", out.s32("%kv_c" + c), "%kv_lane", ((c / 2) * 8 + (c % 2)));
        }
        if (earlyColumns()) maskColumnLevel();
    }

    /** Column work that reads memory goes before the products; index arithmetic stays late, where it costs no registers across them. */
    private boolean earlyColumns() { return config.earlyMaskLoads() && mask.program().loadsAt(Level.COL); }

    private void maskColumnLevel() {
        String full = out.newLabel("full_columns");
        out.op("@%tile_full bra.uni", full);
        out.comment("PARTIAL tile, per column: " + Printer.expr(pattern.visibility()));
        for (int c = 0; c < cols; c++) mask.emit(Level.COL, 0, c);
        out.label(full);
    }

    /** Softmax with the default (positive) scale and no score expression: FlashAttention-2's fold of the scale into one fma. */
    private boolean foldScale() {
        return softmax() && identityScore() && lowered.positiveScale();
    }

    /** Scale, the score expression; the mask follows in {@link #applyMask}. */
    private void maskAndScore() {
        out.comment(identityScore() ? "s = scale·q·k" : "s = scale·q·k; score: " + Printer.expr(pattern.score()));
        for (int c = 0; c < cols; c++) score.emit(Level.COL, 0, c);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                String s = Fragments.scoreAt(r, c);
                if (foldScale()) continue;
                out.op("mul.f32", s, s, "%scale2_r" + r);
                if (!identityScore()) {
                    score.emit(Level.ELEMENT, r, c);
                    if (softmax()) out.op("mul.f32", s, score.result(r, c), LOG2E);
                    else out.op("mov.f32", s, score.result(r, c));
                }
            }
        }
        if (softmax()) return;
        // Sigmoid and unnormalised weights are formed here, so the mask below zeroes weights, not logits.
        out.comment("weights: " + pattern.norm());
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                String s = Fragments.scoreAt(r, c);
                if (lowered.norm() instanceof LoweredNorm.Sigmoid) {
                    out.op("add.f32", s, s, normValue.result(r, 0));
                    out.op("mul.f32", s, s, "0f3F000000");
                    out.op("tanh.approx.f32", s, s);
                    out.op("fma.rn.f32", s, s, "0f3F000000", "0f3F000000");
                }
            }
        }
    }

    /** Masks PARTIAL tiles (kv beyond Nkv, and the pattern's mask); FULL tiles jump over this. */
    private void applyMask() {
        String full = out.newLabel("full_tile"), ragged = out.newLabel("ragged_tile");
        out.op("@%tile_full bra.uni", full);
        out.comment("PARTIAL tile: mask " + Printer.expr(pattern.visibility()));
        if (!earlyColumns()) for (int c = 0; c < cols; c++) mask.emit(Level.COL, 0, c);
        // Only the last tile of a ragged Nkv needs the bounds test; the others skip its 2 instructions a score.
        out.op("add.s32", out.s32("%kv_end"), "%kv_first", config.blockN());
        out.op("setp.gt.s32", out.pred("%tile_ragged"), "%kv_end", "%Nkv");
        out.op("@%tile_ragged bra.uni", ragged);
        if (!lowered.alwaysVisible()) maskElements(false);
        out.op("bra.uni", full);
        out.label(ragged);
        for (int c = 0; c < cols; c++) out.op("setp.lt.s32", out.pred("%kv_ok_c" + c), "%kv_c" + c, "%Nkv");
        maskElements(true);
        out.label(full);
    }

    /** Removes invisible scores (−∞ for softmax, weight 0 otherwise); with {@code bounds}, also keys past Nkv. */
    private void maskElements(boolean bounds) {
        String masked = softmax() ? NEG_INF : "0f00000000";
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                mask.emit(Level.ELEMENT, r, c);
                String visible = mask.result(r, c);
                if (bounds) {
                    visible = out.pred("%visible_r" + r + "_c" + c);
                    out.op("and.pred", visible, "%kv_ok_c" + c, mask.result(r, c));
                }
                String s = Fragments.scoreAt(r, c);
                out.op("selp.f32", s, s, masked, visible);
            }
        }
    }

    /**
     * Growth of the row max (base 2) tolerated before O and the row sum are rescaled: weights stay
     * below 2^8 against a stale max, exact in fp32 and bf16 alike, and most tiles of a long row
     * skip the rescale (64 multiplications a thread) altogether.
     */
    static final String RESCALE_THRESHOLD = PtxWriter.f32Literal(8.0);

    private void softmaxUpdate() {
        applyMask();
        out.comment("online softmax, base 2: row max of the tile, rescale only when some row's max grew by more than 2^8");
        String partner = out.f32("%shuffled"), grows = out.pred("%max_grows");
        out.op("setp.ne.s32", grows, 0, 0);
        for (int r = 0; r < rows; r++) {
            String tileMax = out.f32("%tile_max_r" + r);
            out.op("mov.f32", tileMax, Fragments.scoreAt(r, 0));
            for (int c = 1; c < cols; c++) out.op("max.f32", tileMax, tileMax, Fragments.scoreAt(r, c));
            for (int lane = 1; lane <= 2; lane *= 2) {
                out.op("shfl.sync.bfly.b32", partner, tileMax, lane, "0x1f", "0xffffffff");
                out.op("max.f32", tileMax, tileMax, partner);
            }
            // Folded scale: the max was taken over raw q·k; scaling it (scale > 0) gives the max of the scaled scores.
            if (foldScale()) out.op("mul.f32", tileMax, tileMax, "%scale2_r" + r);
            String newMax = out.f32("%new_max_r" + r), growth = out.f32("%growth_r" + r), rowGrows = out.pred("%grows_r" + r);
            out.op("max.f32", newMax, "%row_max_r" + r, tileMax);
            // −∞ − (−∞) is NaN and compares false: a row with nothing visible yet needs no rescale.
            out.op("sub.f32", growth, newMax, "%row_max_r" + r);
            out.op("setp.gt.f32", rowGrows, growth, RESCALE_THRESHOLD);
            out.op("or.pred", grows, grows, rowGrows);
        }
        String noRescale = out.newLabel("no_rescale");
        out.op("vote.sync.any.pred", grows, grows, "0xffffffff");
        out.op("@!" + grows + " bra.uni", noRescale);
        for (int r = 0; r < rows; r++) {
            String max = "%row_max_r" + r, newMax = "%new_max_r" + r, alpha = out.f32("%alpha_r" + r);
            out.op("sub.f32", alpha, max, safe(newMax, r));
            out.op("ex2.approx.ftz.f32", alpha, alpha);
            out.op("mov.f32", max, newMax);
            out.op("mul.f32", "%row_sum_r" + r, "%row_sum_r" + r, alpha);
            for (int c = 0; c < valueCols; c++) out.op("mul.f32", Fragments.accAt(r, c), Fragments.accAt(r, c), alpha);
        }
        out.label(noRescale);
        for (int r = 0; r < rows; r++) {
            String negativeMax = out.f32("%neg_max_r" + r), sum = "%row_sum_r" + r;
            out.op("neg.f32", negativeMax, safe("%row_max_r" + r, r));
            for (int c = 0; c < cols; c++) {
                String s = Fragments.scoreAt(r, c);
                if (foldScale()) out.op("fma.rn.f32", s, s, "%scale2_r" + r, negativeMax);
                else out.op("add.f32", s, s, negativeMax);
                out.op("ex2.approx.ftz.f32", s, s);
                out.op("add.f32", sum, sum, s);
            }
        }
    }

    /** The max to subtract: 0 while the row has seen nothing (max −∞), so 2^(−∞ − 0) = 0, never NaN. */
    private String safe(String max, int r) {
        String allMasked = out.pred("%all_masked_r" + r), safeMax = out.f32("%safe_max_r" + r);
        out.op("setp.eq.f32", allMasked, max, NEG_INF);
        out.op("selp.f32", safeMax, "0f00000000", max, allMasked);
        return safeMax;
    }

    /** O += P·V, P converted to the input precision straight from the score registers. */
    private void accumulate() {
        out.comment("O += P·V");
        String type = config.mmaType();
        for (int mt = 0; mt < config.mTiles(); mt++) {
            for (int kk = 0; kk < config.blockN() / 16; kk++) {
                for (int j = 0; j < 4; j++) {
                    int nt = 2 * kk + j / 2;
                    int base = (j % 2) * 2;
                    out.op("cvt.rn." + type + "x2.f32", out.b32(Fragments.probA(mt, kk, j)), Fragments.score(mt, nt, base + 1), Fragments.score(mt, nt, base));
                }
            }
        }
        String address = out.u32("%v_frag_addr");
        String[] b = {out.b32("%vb0"), out.b32("%vb1"), out.b32("%vb2"), out.b32("%vb3")};
        for (int kk = 0; kk < config.blockN() / 16; kk++) {
            for (int dp = 0; dp < config.valueDim() / 16; dp++) {
                out.op("add.u32", address, "%lane_v_addr", (kk * 16 * config.vStride() + dp * 32));
                out.op("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16", "{" + String.join(", ", b) + "}", "[" + address + "]");
                for (int mt = 0; mt < config.mTiles(); mt++) {
                    String[] a = new String[4];
                    for (int j = 0; j < 4; j++) a[j] = Fragments.probA(mt, kk, j);
                    for (int half = 0; half < 2; half++) {
                        int dt = 2 * dp + half;
                        String[] d = {Fragments.acc(mt, dt, 0), Fragments.acc(mt, dt, 1), Fragments.acc(mt, dt, 2), Fragments.acc(mt, dt, 3)};
                        out.op(Fragments.mma(type, d, a, b[2 * half], b[2 * half + 1], d));
                    }
                }
            }
        }
    }

    /** Row sums across the quad, the sink, the division, the output expression, stores. */
    private void finish() {
        out.blank().comment("epilogue: normalise, output expression, store");
        new Epilogue(out, lowered, config, rows, valueCols, output, normValue).emit();
    }
}
