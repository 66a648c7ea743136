package attnc.ptx.emit;

import attnc.ir.Pattern;
import attnc.ir.Printer;
import attnc.lower.LoweredNorm;
import attnc.lower.LoweredPattern;
import attnc.lower.ScoreTerm;
import attnc.lower.Program.Level;
import java.util.List;

/**
 * What every flash-attention forward kernel of a pattern does to its score and output
 * registers, whatever computes the products: the row set-up (absolute positions, the row-level
 * parts of every program), the pattern's score, mask and weights per element of a tile, the
 * online softmax's row max and exponentials in base 2, and the epilogue. A thread holds rows g
 * and g+8 of each 16-row slice of its warp and, per 8-column n-tile, columns 2t and 2t+1: the
 * accumulator layout of mma.sync m16n8k16 and, per warp, of wgmma m64nNk16 alike, so
 * {@link MmaSyncEmitter} and {@link WgmmaEmitter} share this code and differ in their loads,
 * products and schedule.
 */
abstract class FlashEmitter {
    static final String ENTRY = "attnc_attention";
    static final String NEG_INF = "0fFF800000";
    static final double LOG2_E = 1.4426950408889634;
    static final String LOG2E = PtxWriter.f32Literal(LOG2_E);
    static final String LN2 = PtxWriter.f32Literal(0.6931471805599453);

    final LoweredPattern lowered;
    final Pattern pattern;
    final KernelConfig config;
    final Signature signature;
    final PtxWriter out = new PtxWriter();
    final KernelLeaves leaves;
    final int rows, cols, valueCols;

    ProgramRenderer mask, score, scale, output, normValue;
    /** Softmax with score = s + t: t · log2 e, added by the fma that scales s ({@link #addsTerm}); null otherwise. */
    ProgramRenderer term;
    /** t = k · float(q − kv) ({@link ScoreTerm#relativeFactor}): k · log2 e, uniform, and t is counted along each tile's columns; null otherwise. */
    ProgramRenderer relative;

    FlashEmitter(LoweredPattern lowered, KernelConfig config) {
        this.lowered = lowered;
        this.pattern = lowered.pattern();
        this.config = config;
        this.signature = Signature.of(pattern, config);
        this.leaves = new KernelLeaves(config, signature, config.decode().ragged() ? Signature.raggedInputs(pattern) : List.of());
        this.rows = 2 * config.mTiles();
        this.cols = config.warpKeyCount() / 4;
        this.valueCols = config.warpValueDim() / 4;
    }

    /** The pattern's programs, rendered into this kernel under their prefixes. */
    void setUpPrograms() {
        mask = program("mask", lowered.visibility());
        score = program("score", lowered.score());
        scale = program("scale", lowered.scale());
        output = program("out", lowered.output());
        normValue = lowered.norm().value().map(v -> program(lowered.norm() instanceof LoweredNorm.Sigmoid ? "bias" : "sink", v)).orElse(null);
        java.util.Optional<attnc.lower.Program> additive = softmax() ? lowered.scoreTerm() : java.util.Optional.empty();
        term = additive.map(t -> program("term", ScoreTerm.times(t, LOG2_E))).orElse(null);
        relative = additive.flatMap(ScoreTerm::relativeFactor).map(k -> program("rel", ScoreTerm.times(k, LOG2_E))).orElse(null);
    }

    /** Column c's kv offset from the lane's first column in the mma fragments' layout: pairs of columns every 8. */
    static int columnOffset(int c) { return (c / 2) * 8 + (c % 2); }

    /**
     * Softmax over s + t: each base-2 logit is one fma, s · (scale · log2 e) + t · log2 e, with
     * log2 e folded into t's least varying factor, where a general score multiplies s by the
     * scale before its program and the result by log2 e after it.
     */
    boolean addsTerm() { return term != null; }

    private ProgramRenderer program(String prefix, attnc.lower.Program program) {
        return new ProgramRenderer(out, program, prefix, leaves);
    }

    boolean softmax() { return lowered.norm() instanceof LoweredNorm.Softmax; }

    boolean identityScore() { return lowered.identityScore(); }

    /**
     * The walk over the block's tile list: {@code beforeWait}, then the tile waited for (every
     * thread's copies, a barrier) and its stage's addresses set, then {@code body}. The stage the
     * last tile freed is refilled before the body, or, where the loop refills a stage once its tile
     * is used ({@link KernelConfig#tilesAhead}), this tile's own after it, behind a barrier.
     */
    void tileLoop(TileLoader loader, Runnable beforeWait, Runnable body) {
        String loop = out.newLabel("tile_loop"), done = out.newLabel("tiles_done");
        out.blank().comment("walk the visible key/value tiles of this query block");
        out.op("mov.s32", out.s32("%tile_i"), 0);
        out.label(loop);
        out.op("setp.ge.s32", out.pred("%tiles_end"), "%tile_i", "%tile_count");
        out.op("@%tiles_end bra.uni", done);
        beforeWait.run();
        boolean refillAfterUse = config.tilesAhead() == config.stages();
        out.op("cp.async.wait_group", config.tilesAhead() - 1);
        out.op("bar.sync", 0);
        loader.currentTile();
        if (!refillAfterUse) loader.prefetchNext();
        body.run();
        if (refillAfterUse) {
            out.op("bar.sync", 0);
            loader.prefetchNext();
        }
        loader.advance();
        out.op("add.s32", "%tile_i", "%tile_i", 1);
        out.op("bra.uni", loop);
        out.label(done);
        out.op("cp.async.wait_group", 0);
    }

    /** Row indices, absolute query positions, and everything that depends on the row but not on kv. */
    void setUpRows() {
        out.blank().comment(config.warpKeys() ? "rows of this thread: g and g+8 of each 16-row slice, every warp the block's same rows"
                : "rows of this thread: g and g+8 of each 16-row slice the warp owns");
        for (int r = 0; r < rows; r++) {
            String row = out.s32("%row_r" + r);
            if (config.warpKeys()) out.op("mov.s32", row, "%g");
            else out.op("mad.lo.s32", row, "%warp", (16 * config.mTiles()), "%g");
            out.op("add.s32", row, row, ((r / 2) * 16 + (r % 2) * 8));
            if (config.decode().packs()) {
                // Row r of a packed block is query r % Nq of the group's head r / Nq.
                String query = out.s32("%q_packed_r" + r);
                out.op("add.s32", query, row, "%q_start");
                out.op("rem.s32", query, query, "%" + Signature.PACKED_NQ);
                out.op("add.s32", out.s32("%q_abs_r" + r), query, "%query_offset");
            } else {
                out.op("add.s32", out.s32("%q_abs_r" + r), row, "%q_first");
            }
        }
        out.comment("scale: " + Printer.expr(pattern.scale()));
        emitRowLevels(scale);
        if (!identityScore()) {
            out.comment("score: " + Printer.expr(pattern.score()) + " (parts that do not change along kv)");
            if (relative != null) relative.emit(Level.UNIFORM, 0, 0);
            else emitRowLevels(addsTerm() ? term : score);
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
            if (softmax() && (identityScore() || addsTerm())) out.op("mul.f32", rowScale, scale.result(r, 0), LOG2E);
            else out.op("mov.f32", rowScale, scale.result(r, 0));
        }
    }

    void emitRowLevels(ProgramRenderer program) {
        program.emit(Level.UNIFORM, 0, 0);
        for (int r = 0; r < rows; r++) program.emit(Level.ROW, r, 0);
    }

    void initialiseRowState() {
        out.blank().comment("running row state: max (base 2), partial row sum, output accumulators");
        for (int r = 0; r < rows; r++) {
            if (softmax()) {
                out.op("mov.f32", out.f32("%row_max_r" + r), NEG_INF);
                out.op("mov.f32", out.f32("%row_sum_r" + r), "0f00000000");
            }
            for (int c = 0; c < valueCols; c++) out.op("mov.f32", out.f32(Fragments.accAt(r, c)), "0f00000000");
        }
    }

    /**
     * The kv position of the lane's first column and, where the mask reads memory per key, each
     * column's position and the column-only part of the mask for PARTIAL tiles, issued before
     * S = Q·Kᵀ so that its loads (document ids of the keys, say) complete under the matrix products.
     */
    void maskColumns() {
        out.comment("kv position of this lane's first column in the tile");
        out.op("mad.lo.s32", out.s32("%kv_lane"), "%t", 2, "%kv_first");
        if (config.warpKeys()) out.op("mad.lo.s32", "%kv_lane", "%warp", config.warpKeyCount(), "%kv_lane");
        if (relative != null) {
            out.comment("k · float(q - kv) at the lane's first column of this tile, per row (the score's term)");
            for (int r = 0; r < rows; r++) {
                String distance = out.s32("%rel_distance_r" + r), rel = out.f32("%rel_r" + r);
                out.op("sub.s32", distance, "%q_abs_r" + r, "%kv_lane");
                out.op("cvt.rn.f32.s32", rel, distance);
                out.op("mul.f32", rel, rel, relative.result(0, 0));
            }
        }
        if (earlyColumns()) {
            for (int c = 0; c < cols; c++) columnPosition(c);
            maskColumnLevel();
        }
    }

    /**
     * The kv position of column {@code c} of the thread. Without early mask loads it is formed where
     * it is read, after the products, one column at a time: formed for every column before S = Q·Kᵀ,
     * the positions (and the mask's column values after them) stay live beside S, O and the P·V in
     * flight, and 128-key tiles of three consumer warpgroups at D = 64 spill 96 bytes (dense) to 176
     * (sliding window) where formed late they spill none (ptxas -arch=sm_90a -v, 2026-12-03).
     */
    private void columnPosition(int c) {
        out.op("add.s32", out.s32("%kv_c" + c), "%kv_lane", columnOffset(c));
    }

    /** Column work that reads memory goes before the products; index arithmetic stays late, where it costs no registers across them. */
    boolean earlyColumns() { return config.earlyMaskLoads() && mask.program().loadsAt(Level.COL); }

    void maskColumnLevel() {
        String full = out.newLabel("full_columns");
        out.op("@%tile_full bra.uni", full);
        out.comment("PARTIAL tile, per column: " + Printer.expr(pattern.visibility()));
        for (int c = 0; c < cols; c++) mask.emit(Level.COL, 0, c);
        out.label(full);
    }

    /** Softmax with the default (positive) scale and no score expression: FlashAttention-2's fold of the scale into one fma. */
    boolean foldScale() {
        return softmax() && identityScore() && lowered.positiveScale();
    }

    /** Scale, the score expression; the mask follows in {@link #applyMask}. */
    void maskAndScore() {
        out.comment(identityScore() ? "s = scale·q·k" : "s = scale·q·k; score: " + Printer.expr(pattern.score()));
        if (relative == null) {
            for (int c = 0; c < cols; c++) {
                if (!earlyColumns()) columnPosition(c);
                (addsTerm() ? term : score).emit(Level.COL, 0, c);
            }
        }
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                String s = Fragments.scoreAt(r, c);
                if (foldScale()) continue;
                if (relative != null) {
                    // k · float(q − kv) = k · float(q − kv_lane) − k · offset: the offset is a constant of the column.
                    String t = out.f32("%rel_term");
                    out.op("fma.rn.f32", t, relative.result(0, 0), PtxWriter.f32Literal(-columnOffset(c)), "%rel_r" + r);
                    out.op("fma.rn.f32", s, s, "%scale2_r" + r, t);
                    continue;
                }
                if (addsTerm()) {
                    term.emit(Level.ELEMENT, r, c);
                    out.op("fma.rn.f32", s, s, "%scale2_r" + r, term.result(r, c));
                    continue;
                }
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
    void applyMask() {
        String full = out.newLabel("full_tile"), ragged = out.newLabel("ragged_tile");
        out.op("@%tile_full bra.uni", full);
        out.comment("PARTIAL tile: mask " + Printer.expr(pattern.visibility()));
        // Only the last tile of a ragged Nkv needs the bounds test; the others skip its 2 instructions a score.
        out.op("add.s32", out.s32("%kv_end"), "%kv_first", config.blockN());
        out.op("setp.gt.s32", out.pred("%tile_ragged"), "%kv_end", "%Nkv");
        out.op("@%tile_ragged bra.uni", ragged);
        if (!lowered.alwaysVisible()) maskElements(false);
        out.op("bra.uni", full);
        out.label(ragged);
        maskElements(true);
        out.label(full);
    }

    /**
     * Removes invisible scores (−∞ for softmax, weight 0 otherwise); with {@code bounds}, also keys
     * past Nkv. Column by column, each column's position and mask values formed just before its
     * scores (unless loaded early), so that few are live at once.
     */
    void maskElements(boolean bounds) {
        String masked = softmax() ? NEG_INF : "0f00000000";
        for (int c = 0; c < cols; c++) {
            if (!earlyColumns()) {
                columnPosition(c);
                mask.emit(Level.COL, 0, c);
            }
            if (bounds) out.op("setp.lt.s32", out.pred("%kv_ok_c" + c), "%kv_c" + c, "%Nkv");
            for (int r = 0; r < rows; r++) {
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

    /** The max to subtract: 0 while the row has seen nothing (max −∞), so 2^(−∞ − 0) = 0, never NaN. */
    String safe(String max, int r) {
        String allMasked = out.pred("%all_masked_r" + r), safeMax = out.f32("%safe_max_r" + r);
        out.op("setp.eq.f32", allMasked, max, NEG_INF);
        out.op("selp.f32", safeMax, "0f00000000", max, allMasked);
        return safeMax;
    }

    /** Row sums across the quad, the sink, the division, the output expression, stores. */
    void finish() {
        out.blank().comment("epilogue: normalise, output expression, store");
        new Epilogue(out, lowered, config, rows, valueCols, output, normValue).emit();
    }

    /**
     * The online softmax of one tile, base 2: the mask, each row's new max; O and the row sum
     * rescaled only when some row's max grew by more than 2^8 ({@link #RESCALE_THRESHOLD});
     * then the tile's weights, summed into the row sums. O must not be in flight.
     */
    void softmaxUpdate() {
        applyMask();
        out.comment("online softmax, base 2: row max of the tile, rescale only when some row's max grew by more than 2^8");
        String grows = tileMaxAndVote();
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
        exponentiate("%row_sum_r", true);
    }

    /**
     * Each row's max over the tile (after the mask, across the four threads that share a row)
     * into {@code %new_max_r}, and whether any row of the warp grew by more than
     * {@link #RESCALE_THRESHOLD}: the predicate returned, not yet voted across the warp.
     */
    String tileMaxAndVote() {
        String partner = out.f32("%shuffled"), grows = out.pred("%max_grows");
        out.op("setp.ne.s32", grows, 0, 0);
        for (int r = 0; r < rows; r++) {
            String tileMax = out.f32("%tile_max_r" + r);
            reduce("max.f32", tileMax, r);
            Shuffles.butterfly(out, "max.f32", tileMax, partner, 1, 2);
        }
        shareTileMaxima();
        for (int r = 0; r < rows; r++) {
            String tileMax = "%tile_max_r" + r;
            // Folded scale: the max was taken over raw q·k; scaling it (scale > 0) gives the max of the scaled scores.
            if (foldScale()) out.op("mul.f32", tileMax, tileMax, "%scale2_r" + r);
            String newMax = out.f32("%new_max_r" + r), growth = out.f32("%growth_r" + r), rowGrows = out.pred("%grows_r" + r);
            out.op("max.f32", newMax, "%row_max_r" + r, tileMax);
            // −∞ − (−∞) is NaN and compares false: a row with nothing visible yet needs no rescale.
            out.op("sub.f32", growth, newMax, "%row_max_r" + r);
            out.op("setp.gt.f32", rowGrows, growth, RESCALE_THRESHOLD);
            out.op("or.pred", grows, grows, rowGrows);
        }
        return grows;
    }

    /**
     * Where warps share rows and split a tile's keys between them, each row's max over the whole
     * tile, from every warp's {@code %tile_max_r}: nothing where a warp holds all of its rows' keys.
     */
    void shareTileMaxima() {}

    /**
     * Scores to weights against each row's current max, 2^(s − max); their row sums are added to
     * {@code sum} + row ({@code accumulate}) or replace it. With {@link KernelConfig#fmaExp}
     * quarters of the columns go to {@link #exp2OnFma}.
     */
    void exponentiate(String sum, boolean accumulate) {
        for (int r = 0; r < rows; r++) {
            String negativeMax = out.f32("%neg_max_r" + r);
            out.op("neg.f32", negativeMax, safe("%row_max_r" + r, r));
            // Each weight joins one of CHAINS partial sums right after its exponential: the adds
            // interleave with the ex2s and no add waits on the one before it.
            int chains = Math.min(CHAINS, cols);
            String[] partial = new String[chains];
            for (int c = 0; c < cols; c++) {
                String s = Fragments.scoreAt(r, c);
                if (foldScale()) out.op("fma.rn.f32", s, s, "%scale2_r" + r, negativeMax);
                else out.op("add.f32", s, s, negativeMax);
                if ((c / 2) % 4 < config.fmaExp()) exp2OnFma(s);
                else out.op("ex2.approx.ftz.f32", s, s);
                if (c < chains) out.op("mov.f32", partial[c] = out.f32("%weights_" + c + "_r" + r), s);
                else out.op("add.f32", partial[c % chains], partial[c % chains], s);
            }
            for (int width = 1; width < chains; width *= 2) {
                for (int k = 0; k + width < chains; k += 2 * width) out.op("add.f32", partial[k], partial[k], partial[k + width]);
            }
            if (accumulate) out.op("add.f32", sum + r, sum + r, partial[0]);
            else out.op("mov.f32", out.f32(sum + r), partial[0]);
        }
    }

    /** Independent chains a row's reductions are split into, so consecutive max or add instructions do not wait on each other. */
    private static final int CHAINS = 4;

    /**
     * {@code result} = op over the thread's scores of row {@code r}: {@link #CHAINS} independent
     * chains over every CHAINS-th column, then combined pairwise.
     */
    private void reduce(String op, String result, int r) {
        int chains = Math.min(CHAINS, cols);
        String[] partial = new String[chains];
        for (int k = 0; k < chains; k++) {
            partial[k] = k == 0 ? result : out.f32("%reduce_" + k + "_r" + r);
            out.op("mov.f32", partial[k], Fragments.scoreAt(r, k));
        }
        for (int c = chains; c < cols; c++) out.op(op, partial[c % chains], partial[c % chains], Fragments.scoreAt(r, c));
        for (int width = 1; width < chains; width *= 2) {
            for (int k = 0; k + width < chains; k += 2 * width) out.op(op, partial[k], partial[k], partial[k + width]);
        }
    }

    /** A cubic for 2^f on [−1/2, 1/2] (relative error 7.5e-5, far below the bf16 rounding of P), highest power first. */
    private static final String[] EXP2_POLY = {"0f3D61FBB0", "0f3E786F0F", "0f3F31798D", "0f3F7FFB49"};
    private static final String ROUNDING = "0f4B400000";

    /**
     * 2^x on the FMA pipe: x = j + f with j = round(x) (adding 1.5·2^23 leaves j in the low
     * mantissa bits), 2^f by {@link #EXP2_POLY}, then j added to the exponent field. x is first
     * clamped at −126, where 2^x is a subnormal or less: a masked (−∞) score becomes a weight of
     * at most 2^−126 instead of 0, which no row that sees a key can tell (its sum is at least 1;
     * see {@link Epilogue}'s empty-row test).
     */
    private void exp2OnFma(String x) {
        String rounded = out.b32("%exp_rounded"), f = out.f32("%exp_fraction"), p = out.b32("%exp_poly"), shift = out.b32("%exp_shift");
        out.op("max.f32", x, x, "0fC2FC0000");
        out.op("add.f32", rounded, x, ROUNDING);
        out.op("sub.f32", f, rounded, ROUNDING);
        out.op("sub.f32", f, x, f);
        out.op("fma.rn.f32", p, f, EXP2_POLY[0], EXP2_POLY[1]);
        out.op("fma.rn.f32", p, p, f, EXP2_POLY[2]);
        out.op("fma.rn.f32", p, p, f, EXP2_POLY[3]);
        out.op("shl.b32", shift, rounded, 23);
        out.op("add.s32", p, p, shift);
        out.op("mov.b32", x, p);
    }
}
