package attnc.ptx.emit;

import attnc.grad.Section;
import attnc.ir.DType;
import attnc.ir.Index;
import attnc.ir.Printer;
import attnc.lower.Instr;
import attnc.lower.LoweredBackward;
import attnc.lower.LoweredNorm;
import attnc.lower.LoweredPattern;
import attnc.lower.ScoreTerm;
import attnc.lower.Program;
import attnc.lower.Program.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;

/**
 * What every backward kernel of a pattern does to its registers, whatever computes the products:
 * a warp holds Sᵀ and dPᵀ for 16 keys × the tile's queries (mma.sync's m16n8k16 accumulator
 * layout, which is also a warp's share of a wgmma m64 accumulator), so {@link BackwardEmitter}
 * (mma.sync) and {@link WgmmaBackwardEmitter} (wgmma) share the block and head indices, the
 * pattern's programs at each level, the weights recomputed from the LSE, dS by the norm's rule,
 * the score sites' gradients and row sums, dx, and the final atomic adds of dK and dV.
 */
abstract class BackwardElements {
    static final List<String> TENSORS = List.of("q", "k", "v", "dout", "lse", "delta", "dq", "dk", "dv", "row_grads", "tiles");
    static final List<String> SIZES = List.of("B", "H", "Hkv", "Nq", "Nkv", "query_offset", "q_tiles", "kv_tiles", "slot_stride_b",
            "slot_stride_h");
    /** Rows of the row-gradient buffer: Σ ds·(q·k) for the scale, Σ dS for the sigmoid's bias. */
    static final int SCALE_ROW_SUMS = 0, BIAS_ROW_SUMS = 1;

    static final int KV_SLOTS = 2;

    final LoweredBackward backward;
    final LoweredPattern lowered;
    final BackwardConfig config;
    final Signature signature;
    final PtxWriter out = new PtxWriter();
    final ProgramRenderer mask, score, scale, scoreByS, bias;
    /**
     * Softmax whose score is s + k · float(q − kv), k uniform ({@link ScoreTerm#relativeFactor}):
     * k · log2 e, and P is recomputed with two fmas a score as the forward formed it; null otherwise.
     */
    final ProgramRenderer relative;
    final List<SiteRenderers> sites = new ArrayList<>();
    final boolean softmax, needsS, scaleSums, biasSums, positionsEverywhere;
    /** Query n-tiles of 8 and the query slots (two an n-tile) a thread holds. */
    final int qTiles, qSlots;

    BackwardElements(LoweredBackward backward, BackwardConfig config) {
        this.backward = backward;
        this.lowered = backward.forward();
        this.config = config;
        this.signature = signature(backward, config);
        Leaves leaves = new ElementLeaves(config);
        mask = new ProgramRenderer(out, lowered.visibility(), "mask", leaves);
        score = new ProgramRenderer(out, lowered.score(), "score", leaves);
        scale = new ProgramRenderer(out, lowered.scale(), "scale", leaves);
        scoreByS = new ProgramRenderer(out, backward.scoreByS(), "dscore", leaves);
        bias = lowered.norm() instanceof LoweredNorm.Sigmoid sigmoid ? new ProgramRenderer(out, sigmoid.bias(), "bias", leaves) : null;
        List<LoweredBackward.Site> scoreSites = backward.sites(Section.SCORE);
        for (int i = 0; i < scoreSites.size(); i++) {
            LoweredBackward.Site site = scoreSites.get(i);
            sites.add(new SiteRenderers(site, new ProgramRenderer(out, site.offset(), "site" + i + "_at", leaves),
                    new ProgramRenderer(out, site.partial(), "site" + i + "_by", leaves)));
        }
        softmax = lowered.norm() instanceof LoweredNorm.Softmax;
        relative = softmax ? lowered.scoreTerm().flatMap(ScoreTerm::relativeFactor)
                .map(k -> new ProgramRenderer(out, ScoreTerm.times(k, FlashEmitter.LOG2_E), "rel", leaves)).orElse(null) : null;
        needsS = !lowered.identityScore() && relative == null || readsScore(backward.scoreByS())
                || sites.stream().anyMatch(s -> readsScore(s.offset.program()) || readsScore(s.partial.program()));
        scaleSums = !backward.sites(Section.SCALE).isEmpty();
        biasSums = bias != null && !backward.sites(Section.NORM).isEmpty();
        // Query positions and bounds cost a few instructions a column; FULL tiles of plain masks need none.
        positionsEverywhere = scaleSums || biasSums || !sites.isEmpty()
                || programs().stream().anyMatch(p -> p != mask && readsIndex(p.program()));
        qTiles = config.blockQ() / 8;
        qSlots = 2 * qTiles;
    }

    /** A score load site's offset and partial, rendered under their own prefixes. */
    record SiteRenderers(LoweredBackward.Site site, ProgramRenderer offset, ProgramRenderer partial) {}

    /**
     * The deterministic kernel's own tensors: each list entry's rank among its query tile's
     * visitors (int32, laid out as the lists), and a turn counter per (b, h, query tile) (int32, zeroed).
     */
    static final List<String> DETERMINISTIC_TENSORS = List.of("tile_ranks", "dq_turns");

    /**
     * The backward kernel's parameters: its tensors, a gradient buffer per input that has one, the
     * deterministic kernel's ranks and turns, the tensor maps of Q, K, V, dO and dq for the wgmma
     * kernel, then the forward's inputs, sizes and params.
     */
    static Signature signature(LoweredBackward backward, BackwardConfig config) {
        List<String> tensors = new ArrayList<>(TENSORS);
        for (String input : backward.inputs()) tensors.add("grad_" + input);
        if (config.deterministic()) tensors.addAll(DETERMINISTIC_TENSORS);
        Signature plain = Signature.of(backward.forward().pattern()).with(tensors, SIZES);
        return config.wgmma() ? plain.withTensorMaps(TENSOR_MAPS) : plain;
    }

    /** What the wgmma kernel copies (and, for dq, adds into) with TMA, in the order of its tensor-map parameters. */
    static final List<String> TENSOR_MAPS = List.of("q", "k", "v", "dout", "dq");

    static boolean readsIndex(Program program) {
        for (int i = 0; i < program.instrs().size(); i++) {
            if (program.live(i) && program.instrs().get(i) instanceof Instr.IndexValue(Index index) && (index == Index.Q || index == Index.KV)) return true;
        }
        return false;
    }

    static boolean readsScore(Program program) {
        for (int i = 0; i < program.instrs().size(); i++) {
            if (program.live(i) && program.instrs().get(i) instanceof Instr.Score) return true;
        }
        return false;
    }

    // Register names. A thread holds, of each 16 × 8 fragment, keys g and g+8 (kv slot 0 and 1) and
    // queries 2t and 2t+1 of each of the tile's query n-tiles (q slot 2·nt and 2·nt+1).

    /** Sᵀ (raw q·k) at kv slot kr, q slot qc. */
    static String dot(int qc, int kr) { return "%st_n" + qc / 2 + "_" + (kr * 2 + qc % 2); }
    static String dpt(int qc, int kr) { return "%dpt_n" + qc / 2 + "_" + (kr * 2 + qc % 2); }
    static String site(String stem, int qc, int kr) { return "%" + stem + "_r" + qc + "_c" + kr; }
    static String dk(int dt, int i) { return "%dk_n" + dt + "_" + i; }
    static String dv(int dt, int i) { return "%dv_n" + dt + "_" + i; }
    static String dq(int dt, int i) { return "%dq_n" + dt + "_" + i; }

    /** Rows and columns the renderers see: rows are the thread's query slots, columns its kv slots. */
    static final class ElementLeaves implements Leaves {
        final BackwardConfig config;

        ElementLeaves(BackwardConfig config) { this.config = config; }

        @Override public String index(Index index, int row, int col) {
            return switch (index) {
                case B -> "%b";
                case H -> "%h";
                case Q -> "%q_abs_r" + row;
                case KV -> "%kv_abs_c" + col;
                case D -> throw new IllegalStateException("d outside the output");
            };
        }

        @Override public String size(String name) { return Signature.sizeRegister(name, config.headDim(), config.valueDim()); }

        @Override public String score(int row, int col) { return site("s", row, col); }
    }

    /** The block's indices, this thread's two keys, the first key row of its kv head, and the lanes that add sums. */
    void blockIndices() {
        block();
        for (int kr = 0; kr < KV_SLOTS; kr++) {
            out.op("mad.lo.s32", out.s32("%kv_abs_c" + kr), "%warp", 16, "%g");
            out.op("add.s32", "%kv_abs_c" + kr, "%kv_abs_c" + kr, "%kv_start");
            if (kr > 0) out.op("add.s32", "%kv_abs_c" + kr, "%kv_abs_c" + kr, 8 * kr);
        }
        out.op("mad.lo.s32", out.s32("%kv_row0"), "%bhk", "%Nkv", "%kv_start");
        out.comment("the lanes that add a sum: the first of those sharing a query (g = 0), a key (t = 0), the warp's first");
        out.op("setp.eq.s32", out.pred("%first_g"), "%g", 0);
        out.op("setp.eq.s32", out.pred("%first_t"), "%t", 0);
        out.op("setp.eq.s32", out.pred("%first_lane"), "%lane", 0);
    }

    /** The block's kv tile and first key, batch and kv head, the group's size and the tile lists' width. */
    void block() {
        out.comment("block: kv tile (the first, heaviest under a causal mask, first) and (batch, kv head) in grouped order; the group's query heads in turn");
        // A row's Q and dO over its group's heads: Nq · (D + Dv) · H / Hkv bf16 values.
        String bytes = out.u64("%row_q_bytes"), heads = out.s32("%row_heads");
        out.op("div.s32", heads, "%H", "%Hkv");
        out.op("mul.lo.s32", heads, heads, 2 * (config.headDim() + config.valueDim()));
        out.op("mul.wide.s32", bytes, "%Nq", heads);
        GroupedGrid.assign(out, out.s32("%kv_block"), out.s32("%bhk"), bytes);
        if (config.deterministic()) {
            out.comment("deterministic: the last kv tile first, the order in which blocks take their turns at a query tile's dq");
            out.op("sub.s32", "%kv_block", "%kv_tiles", "%kv_block");
            out.op("sub.s32", "%kv_block", "%kv_block", 1);
        }
        out.op("div.s32", out.s32("%b"), "%bhk", "%Hkv");
        out.op("rem.s32", out.s32("%hk"), "%bhk", "%Hkv");
        out.op("div.s32", out.s32("%group"), "%H", "%Hkv");
        out.op("mul.lo.s32", out.s32("%kv_start"), "%kv_block", config.blockKv());
        out.op("add.s32", out.s32("%list_width"), "%q_tiles", 1);
    }

    /** For head {@code %h} (row base {@code %bh_row0} of (b, h)): its slot's tile list and count. */
    void headTileList() {
        String index = out.u64("%offset64");
        out.comment("the tile list of this head's slot and kv tile: [count, entries...], entry = q tile | FULL bit");
        out.op("mul.lo.s32", out.s32("%slot"), "%b", "%slot_stride_b");
        out.op("mad.lo.s32", "%slot", "%h", "%slot_stride_h", "%slot");
        out.op("mad.lo.s32", out.s32("%list_row"), "%slot", "%kv_tiles", "%kv_block");
        out.op("mul.lo.s32", "%list_row", "%list_row", "%list_width");
        out.op("mul.wide.s32", index, "%list_row", 4);
        out.op("add.s64", out.u64("%tile_list"), "%tiles", index);
        out.op("ld.global.s32", out.s32("%tile_count"), "[%tile_list]");
        out.op("mul.lo.s32", out.s32("%bh_row0"), "%bh", "%Nq");
    }

    /**
     * Deterministic dQ, at the start of a tile: the thread of {@code guard} loads this block's rank
     * among the visitors of query tile {@code %q_tile_i} (entry {@code %tile_i} of the rank list,
     * laid out as the tile lists) and a first reading of the tile's turn counter, which {@link
     * #takeTurn} reads once the tile's dq is ready to add: their latency passes under the tile's
     * products. The turn's state lives across the tile as 32-bit indices, addresses made where
     * used (the 64-bit addresses it held spilled a few more bytes at D = 128).
     */
    void loadRank(String guard) {
        String address = out.u64("%rank_addr"), offset = out.u64("%rank_offset");
        out.op("sub.s64", address, "%tile_list", "%tiles");
        out.op("add.s64", address, address, "%tile_ranks");
        out.op("mul.wide.s32", offset, "%tile_i", 4);
        out.op("add.s64", address, address, offset);
        out.op("@" + guard + " ld.global.s32", out.s32("%rank"), "[" + address + "+4]");
        out.op("mad.lo.s32", out.s32("%turn_at"), "%bh", "%q_tiles", "%q_tile_i");
        turnAddress("%turn_at");
        out.op("@" + guard + " ld.relaxed.gpu.global.s32", out.s32("%turn_seen"), "[%turn_addr]");
    }

    /** {@code %turn_addr}: the turn counter of entry {@code turn} of dq_turns. */
    private void turnAddress(String turn) {
        String offset = out.u64("%turn_offset");
        out.op("mul.wide.s32", offset, turn, 4);
        out.op("add.s64", out.u64("%turn_addr"), "%dq_turns", offset);
    }

    /**
     * Deterministic dQ, before this tile's adds: the thread of {@code guard} waits until the turn
     * counter of this head's query tile reaches {@code perVisit} × its rank, so that the blocks add
     * into the tile's dq rows one after another, the last kv tile first. The turn is then pending
     * until {@link #passTurn}.
     */
    void takeTurn(String guard, int perVisit) {
        String rank = "%rank", seen = "%turn_seen";
        String waiting = out.newLabel("turn_wait"), check = out.newLabel("turn_check"), done = out.newLabel("turn_done");
        out.comment("deterministic dQ: wait for this block's turn at the query tile (the blocks before it in kv order have added)");
        out.op("@!" + guard + " bra", done);
        out.op("mov.s32", out.s32("%turn_held"), "%turn_at");
        turnAddress("%turn_held");
        out.op("mul.lo.s32", rank, rank, perVisit);
        out.op("bra", check);
        // Relaxed reads while waiting (an acquire at gpu scope also invalidates the SM's L1), a short
        // sleep between them so that the waiting blocks do not crowd the counter's L2 slice; one
        // acquire once the turn has come, which the release that brought it synchronizes with.
        out.label(waiting);
        out.op("nanosleep.u32", 64);
        out.op("ld.relaxed.gpu.global.s32", seen, "[%turn_addr]");
        out.label(check);
        out.op("setp.lt.s32", out.pred("%turn_early"), seen, rank);
        out.op("@%turn_early bra", waiting);
        out.op("ld.acquire.gpu.global.s32", seen, "[%turn_addr]");
        out.label(done);
        out.op("mov.pred", "%turn_pending", guard);
    }

    /** Deterministic dQ: nothing pending before the first tile. */
    void noTurnPending() {
        out.op("mov.s32", out.s32("%turn_held"), 0);
        out.op("setp.ne.s32", out.pred("%turn_pending"), 0, 0);
    }

    /**
     * Deterministic dQ: where a turn is pending, {@code landed} (instructions that wait until this
     * block's adds into the tile's rows are done, run under the predicate), then the release that
     * passes it on: a release is cumulative, so the other threads' adds, ordered before it by a
     * barrier, are visible to the next block too. The kernels call it as soon as the adds have
     * surely landed, not at their next turn: the tile's next visitor is already waiting.
     */
    void passTurn(String... landed) {
        for (String instruction : landed) out.op("@%turn_pending " + instruction);
        String offset = out.u64("%turn_offset"), address = out.u64("%turn_release_addr");
        out.op("mul.wide.s32", offset, "%turn_held", 4);
        out.op("add.s64", address, "%dq_turns", offset);
        out.op("@%turn_pending red.release.gpu.global.add.s32", "[" + address + "]", 1);
        out.op("setp.ne.s32", "%turn_pending", 0, 0);
    }

    /** dK and dV accumulate in registers over every query head and tile. */
    void clearKeyGradients() {
        out.blank().comment("dK and dV accumulate in registers over every query head and tile");
        for (int dt = 0; dt < config.headDim() / 8; dt++) for (int i = 0; i < 4; i++) out.op("mov.f32", out.f32(dk(dt, i)), "0f00000000");
        for (int dt = 0; dt < config.valueDim() / 8; dt++) for (int i = 0; i < 4; i++) out.op("mov.f32", out.f32(dv(dt, i)), "0f00000000");
    }

    /** At the start of each head: the parts of the pattern that change with neither q nor kv, then those that change with kv only. */
    void headPrograms() {
        out.comment("the pattern's parts that change with neither q nor kv: scale " + Printer.expr(lowered.pattern().scale()));
        for (ProgramRenderer program : programs()) program.emit(Level.UNIFORM, 0, 0);
        out.comment("... and those that change with kv only");
        for (ProgramRenderer program : programs()) for (int kr = 0; kr < KV_SLOTS; kr++) program.emit(Level.COL, 0, kr);
    }

    /** Every program rendered per element: the mask (in PARTIAL tiles), score, scale, d score/d s, bias, site offsets and partials. */
    List<ProgramRenderer> programs() {
        List<ProgramRenderer> all = new ArrayList<>(List.of(mask, score, scale, scoreByS));
        if (bias != null) all.add(bias);
        if (relative != null) all.add(relative);
        for (SiteRenderers s : sites) {
            all.add(s.offset);
            all.add(s.partial);
        }
        return all;
    }

    /**
     * Each query slot's LSE (base 2) and Δ (softmax), from the tile's rows in shared memory at
     * {@code rows} (LSE, then Δ, fp32), and the parts of the pattern that change with q only.
     */
    void queryPositions(String rows) {
        if (softmax) {
            out.comment("the tile's LSE (base 2) and delta = rowsum(dO o) of this thread's query columns, from shared memory");
            out.op("mad.lo.s32", out.s32("%rows_lane"), "%t", 8, rows);
            for (int nt = 0; nt < qTiles; nt++) {
                String lo = out.f32("%lse2_r" + 2 * nt), hi = out.f32("%lse2_r" + (2 * nt + 1));
                out.op("ld.shared.v2.f32", "{" + lo + ", " + hi + "}", "[%rows_lane+" + 32 * nt + "]");
                out.op("mul.f32", lo, lo, FlashEmitter.LOG2E);
                out.op("mul.f32", hi, hi, FlashEmitter.LOG2E);
                out.op("ld.shared.v2.f32", "{" + out.f32("%delta_r" + 2 * nt) + ", " + out.f32("%delta_r" + (2 * nt + 1)) + "}",
                        "[%rows_lane+" + (4 * config.blockQ() + 32 * nt) + "]");
            }
        }
        if (positionsEverywhere) positions();
        for (ProgramRenderer program : programs()) {
            if (program == mask) continue;
            for (int qc = 0; qc < qSlots; qc++) program.emit(Level.ROW, qc, 0);
        }
    }

    /** Query slot qc's offset from the thread's first: pairs of columns every 8, as the mma fragments hold them. */
    static int queryOffset(int qc) { return 8 * (qc / 2) + qc % 2; }

    /** The query position of each slot, relative (for Nq) and absolute (for the pattern), and whether it is inside Nq. */
    void positions() {
        out.comment("query positions of this thread's columns");
        out.op("mad.lo.s32", out.s32("%q_lane"), "%t", 2, "%q_start");
        for (int qc = 0; qc < qSlots; qc++) {
            String rel = out.s32("%q_rel_r" + qc);
            out.op("add.s32", rel, "%q_lane", queryOffset(qc));
            out.op("add.s32", out.s32("%q_abs_r" + qc), rel, "%query_offset");
            out.op("setp.lt.s32", out.pred("%q_ok_r" + qc), rel, "%Nq");
        }
    }

    /** The scaled score s, the pattern's score, and the weights P; PARTIAL tiles mask theirs. */
    void weights() {
        out.comment("s = scale q.k, the score, and the weights as the forward formed them");
        if (relative != null) {
            out.comment("k · float(q - kv) at this thread's first query slot, per key slot (the score's term)");
            for (int kr = 0; kr < KV_SLOTS; kr++) {
                String distance = out.s32("%rel_distance_c" + kr), rel = out.f32("%rel_c" + kr);
                out.op("sub.s32", distance, "%q_abs_r0", "%kv_abs_c" + kr);
                out.op("cvt.rn.f32.s32", rel, distance);
                out.op("mul.f32", rel, rel, relative.result(0, 0));
            }
        }
        for (int qc = 0; qc < qSlots; qc++) {
            String rowScale = scale.result(qc, 0);
            if (softmax && (lowered.identityScore() || relative != null)) {
                out.op("mul.f32", out.f32("%scale2_r" + qc), rowScale, FlashEmitter.LOG2E);
                out.op("neg.f32", out.f32("%neg_lse2_r" + qc), "%lse2_r" + qc);
            }
            for (int kr = 0; kr < KV_SLOTS; kr++) {
                String s = out.f32(site("s", qc, kr)), p = out.f32(site("p", qc, kr));
                if (needsS) out.op("mul.f32", s, dot(qc, kr), rowScale);
                if (relative != null) {
                    // k · float(q − kv) = k · float(q₀ − kv) + k · (the slot's query offset, a constant), as the forward formed it.
                    String t = out.f32("%rel_term");
                    out.op("fma.rn.f32", t, relative.result(0, 0), PtxWriter.f32Literal(queryOffset(qc)), "%rel_c" + kr);
                    out.op("add.f32", t, t, "%neg_lse2_r" + qc);
                    out.op("fma.rn.f32", p, dot(qc, kr), "%scale2_r" + qc, t);
                    out.op("ex2.approx.ftz.f32", p, p);
                    continue;
                }
                if (softmax && lowered.identityScore()) {
                    // The scale joins log2(e) and the LSE in one fma, as the forward folded it.
                    out.op("fma.rn.f32", p, dot(qc, kr), "%scale2_r" + qc, "%neg_lse2_r" + qc);
                    out.op("ex2.approx.ftz.f32", p, p);
                    continue;
                }
                if (!needsS) out.op("mul.f32", s, dot(qc, kr), rowScale);
                score.emit(Level.ELEMENT, qc, kr);
                String logit = lowered.identityScore() ? s : score.result(qc, kr);
                switch (lowered.norm()) {
                    case LoweredNorm.Softmax sink -> {
                        out.op("mul.f32", p, logit, FlashEmitter.LOG2E);
                        out.op("sub.f32", p, p, "%lse2_r" + qc);
                        out.op("ex2.approx.ftz.f32", p, p);
                    }
                    case LoweredNorm.Sigmoid sigmoid -> {
                        out.op("add.f32", p, logit, bias.result(qc, 0));
                        out.op("mul.f32", p, p, "0f3F000000");
                        out.op("tanh.approx.f32", p, p);
                        out.op("fma.rn.f32", p, p, "0f3F000000", "0f3F000000");
                    }
                    case LoweredNorm.Identity none -> out.op("mov.f32", p, logit);
                }
            }
        }
        partialOnly(() -> {
            out.comment("PARTIAL tile: mask " + Printer.expr(lowered.pattern().visibility()) + ", queries past Nq, keys past Nkv");
            if (!positionsEverywhere) positions();
            for (int qc = 0; qc < qSlots; qc++) mask.emit(Level.ROW, qc, 0);
            for (int kr = 0; kr < KV_SLOTS; kr++) out.op("setp.lt.s32", out.pred("%kv_ok_c" + kr), "%kv_abs_c" + kr, "%Nkv");
            for (int qc = 0; qc < qSlots; qc++) {
                for (int kr = 0; kr < KV_SLOTS; kr++) {
                    mask.emit(Level.ELEMENT, qc, kr);
                    String visible = out.pred(visible(qc, kr));
                    out.op("and.pred", visible, "%kv_ok_c" + kr, "%q_ok_r" + qc);
                    out.op("and.pred", visible, visible, mask.result(qc, kr));
                    out.op("selp.f32", site("p", qc, kr), site("p", qc, kr), "0f00000000", visible);
                }
            }
        });
    }

    /** Code for PARTIAL tiles only; FULL tiles branch over it. */
    void partialOnly(Runnable code) {
        String full = out.newLabel("full_tile");
        out.op("@%tile_full bra.uni", full);
        code.run();
        out.label(full);
    }

    String visible(int qc, int kr) { return site("visible", qc, kr); }

    /** {@code value} (kv slot rows × q slot columns) packed as mma A fragments per 16-query chunk: [chunk][j]. */
    String[][] packed(String stem, BiFunction<Integer, Integer, String> value) {
        String[][] a = new String[qTiles / 2][4];
        for (int kk = 0; kk < qTiles / 2; kk++) {
            for (int j = 0; j < 4; j++) {
                int nt = 2 * kk + j / 2, kr = j % 2;
                a[kk][j] = out.b32("%" + stem + "_k" + kk + "_" + j);
                out.op("cvt.rn." + config.mmaType() + "x2.f32", a[kk][j], value.apply(2 * nt + 1, kr), value.apply(2 * nt, kr));
            }
        }
        return a;
    }

    /**
     * dS (the gradient of the score's value) by the norm's rule; the score's load sites and the
     * sigmoid's bias take theirs from it; then dx = dS · d score/d s · scale, and the scale's row
     * sums Σ dS · d score/d s · q·k.
     */
    void scoreGradients() {
        out.comment("dS by the norm's rule: " + lowered.pattern().norm());
        for (int qc = 0; qc < qSlots; qc++) {
            for (int kr = 0; kr < KV_SLOTS; kr++) {
                String dS = out.f32(site("dsc", qc, kr)), p = site("p", qc, kr);
                switch (lowered.norm()) {
                    case LoweredNorm.Softmax sink -> {
                        out.op("sub.f32", dS, dpt(qc, kr), "%delta_r" + qc);
                        out.op("mul.f32", dS, dS, p);
                    }
                    case LoweredNorm.Sigmoid sigmoid -> {
                        out.op("fma.rn.f32", dS, p, p, "0f00000000");
                        out.op("sub.f32", dS, p, dS);
                        out.op("mul.f32", dS, dS, dpt(qc, kr));
                    }
                    case LoweredNorm.Identity none -> out.op("mov.f32", dS, dpt(qc, kr));
                }
            }
        }
        // Weights of masked elements are 0, so softmax and sigmoid give them dS = 0 by themselves.
        if (lowered.norm() instanceof LoweredNorm.Identity) {
            partialOnly(() -> {
                for (int qc = 0; qc < qSlots; qc++) {
                    for (int kr = 0; kr < KV_SLOTS; kr++) out.op("selp.f32", site("dsc", qc, kr), site("dsc", qc, kr), "0f00000000", visible(qc, kr));
                }
            });
        }
        for (int i = 0; i < sites.size(); i++) siteGradient(i);
        if (biasSums) {
            out.comment("the sigmoid's bias: sum of dS along each query row");
            rowSums((qc, kr) -> site("dsc", qc, kr), BIAS_ROW_SUMS);
        }
        out.comment("dx = dS * d score/d s * scale, the gradient of q.k");
        boolean chain = !isOne(backward.scoreByS());
        for (int qc = 0; qc < qSlots; qc++) {
            for (int kr = 0; kr < KV_SLOTS; kr++) {
                String dx = out.f32(site("dx", qc, kr));
                if (chain) {
                    scoreByS.emit(Level.ELEMENT, qc, kr);
                    out.op("mul.f32", dx, site("dsc", qc, kr), scoreByS.result(qc, kr));
                } else {
                    out.op("mov.f32", dx, site("dsc", qc, kr));
                }
            }
        }
        // d score/d s may be infinite where the score is masked (log s at s = 0); nothing flows there.
        if (chain) {
            partialOnly(() -> {
                for (int qc = 0; qc < qSlots; qc++) {
                    for (int kr = 0; kr < KV_SLOTS; kr++) out.op("selp.f32", site("dx", qc, kr), site("dx", qc, kr), "0f00000000", visible(qc, kr));
                }
            });
        }
        if (scaleSums) {
            out.comment("the scale: sum of dS * d score/d s * q.k along each query row");
            for (int qc = 0; qc < qSlots; qc++) {
                for (int kr = 0; kr < KV_SLOTS; kr++) out.op("mul.f32", out.f32(site("dscale", qc, kr)), site("dx", qc, kr), dot(qc, kr));
            }
            rowSums((qc, kr) -> site("dscale", qc, kr), SCALE_ROW_SUMS);
        }
        for (int qc = 0; qc < qSlots; qc++) {
            for (int kr = 0; kr < KV_SLOTS; kr++) out.op("mul.f32", site("dx", qc, kr), site("dx", qc, kr), scale.result(qc, 0));
        }
    }

    static boolean isOne(Program program) {
        return program.resultInstr() instanceof Instr.FloatConst(double v) && v == 1.0;
    }

    /**
     * One score load site: dS × partial per element, summed over what the offset does not vary
     * with (across the thread's slots and then the lanes that share the offset) before one atomic
     * add per distinct element: per element, per query row, per key or once per warp.
     */
    void siteGradient(int i) {
        SiteRenderers s = sites.get(i);
        String grad = "%grad_" + s.site.input(), stem = "site" + i + "_dg";
        out.comment("gradient of " + s.site.input() + " through the score (offset varies " + s.offset.program().resultLevel() + ")");
        for (int qc = 0; qc < qSlots; qc++) {
            for (int kr = 0; kr < KV_SLOTS; kr++) {
                s.partial.emit(Level.ELEMENT, qc, kr);
                out.op("mul.f32", out.f32(site(stem, qc, kr)), site("dsc", qc, kr), s.partial.result(qc, kr));
            }
        }
        partialOnly(() -> {
            for (int qc = 0; qc < qSlots; qc++) {
                for (int kr = 0; kr < KV_SLOTS; kr++) out.op("selp.f32", site(stem, qc, kr), site(stem, qc, kr), "0f00000000", visible(qc, kr));
            }
        });
        switch (s.offset.program().resultLevel()) {
            case ELEMENT -> {
                for (int qc = 0; qc < qSlots; qc++) {
                    for (int kr = 0; kr < KV_SLOTS; kr++) {
                        s.offset.emit(Level.ELEMENT, qc, kr);
                        atomicAdd(grad, s.offset.result(qc, kr), site(stem, qc, kr), null);
                    }
                }
            }
            case ROW -> {
                for (int qc = 0; qc < qSlots; qc++) {
                    String sum = out.f32("%" + stem + "_row" + qc);
                    out.op("add.f32", sum, site(stem, qc, 0), site(stem, qc, 1));
                    shuffleSum(sum, 4, 16);
                    atomicAdd(grad, s.offset.result(qc, 0), sum, "%first_g");
                }
            }
            case COL -> {
                for (int kr = 0; kr < KV_SLOTS; kr++) {
                    String sum = out.f32("%" + stem + "_col" + kr);
                    out.op("mov.f32", sum, site(stem, 0, kr));
                    for (int qc = 1; qc < qSlots; qc++) out.op("add.f32", sum, sum, site(stem, qc, kr));
                    shuffleSum(sum, 1, 2);
                    atomicAdd(grad, s.offset.result(0, kr), sum, "%first_t");
                }
            }
            case UNIFORM -> {
                String sum = out.f32("%" + stem + "_all");
                out.op("mov.f32", sum, site(stem, 0, 0));
                for (int qc = 0; qc < qSlots; qc++) {
                    for (int kr = qc == 0 ? 1 : 0; kr < KV_SLOTS; kr++) out.op("add.f32", sum, sum, site(stem, qc, kr));
                }
                shuffleSum(sum, 1, 16);
                atomicAdd(grad, s.offset.result(0, 0), sum, "%first_lane");
            }
        }
    }

    /** Adds the lanes' values at xor distances {@code from}..{@code to} (powers of two). */
    void shuffleSum(String value, int from, int to) {
        Shuffles.butterfly(out, "add.f32", value, out.f32("%shuffled"), from, to);
    }

    /**
     * Adds {@code value} into element {@code offset} of the sums at {@code base}, by the threads of
     * {@code guard} (all if null): a red.global.add of fp32, or an exact sum when deterministic.
     */
    void atomicAdd(String base, String offset, String value, String guard) {
        ExactSums.addAt(out, config.deterministic(), guard, base, offset, value);
    }

    /** Sums {@code value} along each query row of the tile (the warp's 16 keys) and adds it into the row-gradient buffer's {@code which} row. */
    void rowSums(BiFunction<Integer, Integer, String> value, int which) {
        out.op("mul.lo.s32", out.s32("%rows_all"), "%B", "%H");
        out.op("mul.lo.s32", "%rows_all", "%rows_all", "%Nq");
        for (int qc = 0; qc < qSlots; qc++) {
            String sum = out.f32("%row_sum_" + which + "_r" + qc), adds = out.pred("%row_adds");
            out.op("add.f32", sum, value.apply(qc, 0), value.apply(qc, 1));
            shuffleSum(sum, 4, 16);
            out.op("and.pred", adds, "%first_g", "%q_ok_r" + qc);
            out.op("add.s32", out.s32("%row_at"), "%bh_row0", "%q_rel_r" + qc);
            if (which > 0) out.op("mad.lo.s32", "%row_at", "%rows_all", which, "%row_at");
            atomicAdd("%row_grads", "%row_at", sum, adds);
        }
    }

    /**
     * dK and dV, summed in registers over every head of the group, stored once: the block is the
     * only one that writes these rows (one block a kv tile and kv head), so they need no adds and
     * no zeroing before the launch, which cost a memset of both tensors (BENCHMARKS.md). Rows
     * past Nkv are skipped by predicate, not by branch: the narrow stores exchange halves
     * between lanes, which every lane of the warp must reach.
     */
    void storeKeyGradients() {
        out.blank().comment("dK and dV rows inside Nkv: stored into dk and dv[b, kv head, kv, :], this block's alone");
        String row = out.s32("%kv_row"), inside = out.pred("%kv_inside"), address = out.u64("%kv_grad_addr");
        if (config.keyGradients() != DType.FLOAT32) out.op("and.b32", out.u32("%t_odd_bit"), "%t", 1);
        for (int half = 0; half < 2; half++) {
            out.op("setp.lt.s32", inside, "%kv_abs_c" + half, "%Nkv");
            out.op("add.s32", row, "%kv_row0", "%kv_abs_c" + half);
            out.op("sub.s32", row, row, "%kv_start");
            store(row, address, inside, "%dk", config.headDim(), BackwardElements::dk, half);
            store(row, address, inside, "%dv", config.valueDim(), BackwardElements::dv, half);
        }
    }

    /**
     * One row's values, the thread holding two adjacent columns of each 8-column step: float32
     * pairs, or in the input precision each pair rounded to nearest even into one 32-bit word
     * (what PyTorch's own cast of the float32 gradient gives). Narrow, lanes t and t ^ 1 swap
     * words so that each stores four adjacent columns of one step, the even lane step 2j's and the
     * odd lane step 2j + 1's: a warp's store then fills whole 32-byte sectors, where one word a
     * lane filled half of each.
     */
    void store(String row, String address, String inside, String base, int width, BiFunction<Integer, Integer, String> acc, int half) {
        boolean narrow = config.keyGradients() != DType.FLOAT32;
        int bytes = narrow ? 2 : 4;
        String element = out.s32("%grad_element");
        out.op("mul.lo.s32", element, row, width);
        out.op("mad.lo.s32", element, "%t", 2, element);
        out.op("mul.wide.s32", "%offset64", element, bytes);
        out.op("add.s64", address, base, "%offset64");
        if (!narrow) {
            for (int dt = 0; dt < width / 8; dt++) {
                out.op("@" + inside + " st.global.v2.f32", "[" + address + "+" + dt * 8 * bytes + "]",
                        "{" + acc.apply(dt, 2 * half) + ", " + acc.apply(dt, 2 * half + 1) + "}");
            }
            return;
        }
        // The odd lane's four columns start one word before its own pair, in the next step: 16 - 4 bytes on.
        out.op("setp.ne.u32", out.pred("%t_odd"), "%t_odd_bit", 0);
        out.op("selp.b64", out.u64("%odd_shift"), 12, 0, "%t_odd");
        out.op("add.s64", address, address, "%odd_shift");
        String own = out.b32("%grad_own"), next = out.b32("%grad_next"), given = out.b32("%grad_given"), taken = out.b32("%grad_taken");
        String low = out.b32("%grad_low"), high = out.b32("%grad_high");
        for (int dt = 0; dt < width / 8; dt += 2) {
            out.op("cvt.rn." + config.mmaType() + "x2.f32", own, acc.apply(dt, 2 * half + 1), acc.apply(dt, 2 * half));
            out.op("cvt.rn." + config.mmaType() + "x2.f32", next, acc.apply(dt + 1, 2 * half + 1), acc.apply(dt + 1, 2 * half));
            out.op("selp.b32", given, own, next, "%t_odd");
            out.op("shfl.sync.bfly.b32", taken, given, 1, "0x1f", "0xffffffff");
            out.op("selp.b32", low, taken, own, "%t_odd");
            out.op("selp.b32", high, next, taken, "%t_odd");
            out.op("@" + inside + " st.global.v2.b32", "[" + address + "+" + dt * 8 * bytes + "]", "{" + low + ", " + high + "}");
        }
    }

    /** Adds two adjacent floats at {@code address + offset}: one vector reduction on sm_90, two scalar ones before. */
    void addPair(String address, int offset, String first, String second) {
        if (config.sm() >= 90) {
            out.op("red.global.add.v2.f32", "[" + address + "+" + offset + "]", "{" + first + ", " + second + "}");
        } else {
            out.op("red.global.add.f32", "[" + address + "+" + offset + "]", first);
            out.op("red.global.add.f32", "[" + address + "+" + (offset + 4) + "]", second);
        }
    }
}
