package attnc.ptx.emit;

import attnc.grad.Section;
import attnc.ir.Index;
import attnc.ir.Printer;
import attnc.lower.Instr;
import attnc.lower.LoweredBackward;
import attnc.lower.LoweredNorm;
import attnc.lower.LoweredPattern;
import attnc.lower.Program;
import attnc.lower.Program.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;

/**
 * The backward kernel of one pattern as PTX, FlashAttention-2's schedule on mma.sync: a block
 * owns {@link BackwardConfig#blockKv} keys of one kv head and, for each query head of its group,
 * walks the query tiles its keys see (a transposed tile list: EMPTY tiles absent, FULL tiles skip
 * the mask), Q and dO double-buffered with cp.async. Per tile, with Sᵀ held as each warp's 16 keys
 * × 64 queries:
 * <ol>
 *   <li>Sᵀ = K·Qᵀ and dPᵀ = V·dOᵀ;</li>
 *   <li>the pattern's score and weights recomputed from the forward's LSE (softmax), the bias
 *       (sigmoid) or as they are; PARTIAL tiles masked;</li>
 *   <li>dV += Pᵀ·dO;</li>
 *   <li>dS by the norm's rule, the score's load sites' gradients from it, then
 *       dx = dS · d score/d s · scale, the gradient of q·k;</li>
 *   <li>dK += dxᵀ·Q, and dx through shared memory for dQ = dx·K, added to dQ with atomics.</li>
 * </ol>
 * dK and dV stay in registers over the whole walk and are added once at the end (atomically: the
 * blocks of a GQA group's heads share nothing else). Row sums the scale and the sigmoid's bias
 * need are added per query row; {@link BackwardRowsEmitter} turns them into input gradients.
 */
final class BackwardEmitter {
    static final String ENTRY = "attnc_backward";
    static final List<String> TENSORS = List.of("q", "k", "v", "dout", "lse", "delta", "dq", "dk", "dv", "row_grads", "tiles");
    static final List<String> SIZES = List.of("B", "H", "Hkv", "Nq", "Nkv", "query_offset", "q_tiles", "kv_tiles", "slot_stride_b",
            "slot_stride_h");
    /** Rows of the row-gradient buffer: Σ ds·(q·k) for the scale, Σ dS for the sigmoid's bias. */
    static final int SCALE_ROW_SUMS = 0, BIAS_ROW_SUMS = 1;

    private static final int KV_SLOTS = 2;

    private final LoweredBackward backward;
    private final LoweredPattern lowered;
    private final BackwardConfig config;
    private final Signature signature;
    private final PtxWriter out = new PtxWriter();
    private final ProgramRenderer mask, score, scale, scoreByS, bias;
    private final List<SiteRenderers> sites = new ArrayList<>();
    private final boolean softmax, needsS, scaleSums, biasSums, positionsEverywhere;
    private final int kStride, vStride, dsStride;
    /** Query n-tiles of 8 and the query slots (two an n-tile) a thread holds. */
    private final int qTiles, qSlots;

    /** A score load site's offset and partial, rendered under their own prefixes. */
    private record SiteRenderers(LoweredBackward.Site site, ProgramRenderer offset, ProgramRenderer partial) {}

    private BackwardEmitter(LoweredBackward backward, BackwardConfig config) {
        this.backward = backward;
        this.lowered = backward.forward();
        this.config = config;
        this.signature = signature(backward);
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
        needsS = !lowered.identityScore() || readsScore(backward.scoreByS())
                || sites.stream().anyMatch(s -> readsScore(s.offset.program()) || readsScore(s.partial.program()));
        scaleSums = !backward.sites(Section.SCALE).isEmpty();
        biasSums = bias != null && !backward.sites(Section.NORM).isEmpty();
        // Query positions and bounds cost a few instructions a column; FULL tiles of plain masks need none.
        positionsEverywhere = scaleSums || biasSums || !sites.isEmpty()
                || programs().stream().anyMatch(p -> p != mask && readsIndex(p.program()));
        kStride = config.kStride();
        vStride = config.vStride();
        dsStride = config.dsStride();
        qTiles = config.blockQ() / 8;
        qSlots = 2 * qTiles;
    }

    /** The backward kernel's parameters: its tensors, a gradient buffer per input that has one, then the forward's inputs, sizes and params. */
    static Signature signature(LoweredBackward backward) {
        List<String> tensors = new ArrayList<>(TENSORS);
        for (String input : backward.inputs()) tensors.add("grad_" + input);
        return Signature.of(backward.forward().pattern()).with(tensors, SIZES);
    }

    static String render(LoweredBackward backward, BackwardConfig config) {
        return new BackwardEmitter(backward, config).emit();
    }

    private static boolean readsIndex(Program program) {
        for (int i = 0; i < program.instrs().size(); i++) {
            if (program.live(i) && program.instrs().get(i) instanceof Instr.IndexValue(Index index) && (index == Index.Q || index == Index.KV)) return true;
        }
        return false;
    }

    private static boolean readsScore(Program program) {
        for (int i = 0; i < program.instrs().size(); i++) {
            if (program.live(i) && program.instrs().get(i) instanceof Instr.Score) return true;
        }
        return false;
    }

    private String emit() {
        KernelLeaves.threadIndices(out, 0);
        signature.loadParams(out);
        blockIndices();
        sharedAndGlobalBases();
        loadKeysAndValues();
        laneAddresses();
        out.blank().comment("dK and dV accumulate in registers over every query head and tile");
        for (int dt = 0; dt < config.headDim() / 8; dt++) for (int i = 0; i < 4; i++) out.op("mov.f32", out.f32(dk(dt, i)), "0f00000000");
        for (int dt = 0; dt < config.valueDim() / 8; dt++) for (int i = 0; i < 4; i++) out.op("mov.f32", out.f32(dv(dt, i)), "0f00000000");
        headLoop();
        storeKeyGradients();
        return signature.header(ENTRY) + "\n.maxntid " + config.threads() + ", 1, 1\n{\n" + out.render() + "}\n";
    }

    // Register names. A thread holds, of each 16 × 8 fragment, keys g and g+8 (kv slot 0 and 1) and
    // queries 2t and 2t+1 of each of the 8 query n-tiles (q slot 2·nt and 2·nt+1).

    /** Sᵀ (raw q·k) at kv slot kr, q slot qc. */
    private static String dot(int qc, int kr) { return "%st_n" + qc / 2 + "_" + (kr * 2 + qc % 2); }
    private static String dpt(int qc, int kr) { return "%dpt_n" + qc / 2 + "_" + (kr * 2 + qc % 2); }
    private static String site(String stem, int qc, int kr) { return "%" + stem + "_r" + qc + "_c" + kr; }
    private static String dk(int dt, int i) { return "%dk_n" + dt + "_" + i; }
    private static String dv(int dt, int i) { return "%dv_n" + dt + "_" + i; }
    private static String dq(int dt, int i) { return "%dq_n" + dt + "_" + i; }

    /** Rows and columns the renderers see: rows are the thread's query slots, columns its kv slots. */
    private static final class ElementLeaves implements Leaves {
        private final BackwardConfig config;

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

    private void blockIndices() {
        out.comment("block: x = kv tile, y = (batch, kv head); the query heads of the kv head's group are walked in turn");
        out.op("mov.u32", out.s32("%kv_block"), "%ctaid.x");
        out.op("mov.u32", out.s32("%bhk"), "%ctaid.y");
        out.op("div.s32", out.s32("%b"), "%bhk", "%Hkv");
        out.op("rem.s32", out.s32("%hk"), "%bhk", "%Hkv");
        out.op("div.s32", out.s32("%group"), "%H", "%Hkv");
        out.op("mul.lo.s32", out.s32("%kv_start"), "%kv_block", config.blockKv());
        out.op("add.s32", out.s32("%list_width"), "%q_tiles", 1);
        for (int kr = 0; kr < KV_SLOTS; kr++) {
            out.op("mad.lo.s32", out.s32("%kv_abs_c" + kr), "%warp", 16, "%g");
            out.op("add.s32", "%kv_abs_c" + kr, "%kv_abs_c" + kr, "%kv_start");
            if (kr > 0) out.op("add.s32", "%kv_abs_c" + kr, "%kv_abs_c" + kr, 8 * kr);
        }
    }

    private void sharedAndGlobalBases() {
        out.blank().comment("shared memory: K, V, two stages of Q, two of dO, the dx tile (rows padded by 16 bytes)");
        out.op("mov.u32", out.u32("%smem_k"), "attnc_smem");
        out.op("add.u32", out.u32("%smem_v"), "%smem_k", config.kBytes());
        out.op("add.u32", out.u32("%smem_q"), "%smem_v", config.vBytes());
        out.op("add.u32", out.u32("%smem_do"), "%smem_q", 2 * config.qStageBytes());
        out.op("add.u32", out.u32("%smem_rows"), "%smem_do", 2 * config.doStageBytes());
        out.op("add.u32", out.u32("%smem_ds"), "%smem_rows", 2 * config.rowStageBytes());
        out.comment("this thread's 16-byte chunks of a row of Q or K (D) and of dO or V (Dv)");
        chunkOffsets("k", config.headDim() / 8, 2 * config.headDim(), kStride);
        chunkOffsets("v", config.valueDim() / 8, 2 * config.valueDim(), vStride);
        String index = out.u64("%offset64");
        out.op("mad.lo.s32", out.s32("%kv_row0"), "%bhk", "%Nkv", "%kv_start");
        out.op("mul.wide.s32", index, "%kv_row0", 2 * config.headDim());
        out.op("add.s64", out.u64("%k_tile"), "%k", index);
        out.op("mul.wide.s32", index, "%kv_row0", 2 * config.valueDim());
        out.op("add.s64", out.u64("%v_tile"), "%v", index);
        out.op("sub.s32", out.s32("%kv_rows_left"), "%Nkv", "%kv_start");
        if (softmax) {
            out.comment("the first 2 x blockQ threads copy a tile's LSE (the first half) and delta (the second), one row each");
            String which = out.s32("%row_copy_which");
            out.op("rem.s32", out.s32("%row_copy_i"), "%thread", config.blockQ());
            out.op("div.s32", which, "%thread", config.blockQ());
            out.op("setp.lt.s32", out.pred("%row_copier"), which, 2);
            out.op("setp.eq.s32", out.pred("%row_copy_lse"), which, 0);
            out.op("selp.b64", out.u64("%row_copy_base"), "%lse", "%delta", "%row_copy_lse");
            out.op("mul.lo.s32", out.s32("%row_copy_soff"), "%thread", 4);
        }
    }

    /** A row of {@code chunks} 16-byte chunks is copied by a power of two of lanes; those past the row copy nothing. */
    private int lanes(int chunks) {
        return Integer.bitCount(chunks) == 1 ? chunks : Integer.highestOneBit(chunks) * 2;
    }

    private void chunkOffsets(String tensor, int chunks, int rowBytes, int stride) {
        int lanes = lanes(chunks);
        String row = out.s32("%" + tensor + "_chunk_row"), col = out.s32("%" + tensor + "_chunk_col");
        out.op("div.s32", row, "%thread", lanes);
        out.op("rem.s32", col, "%thread", lanes);
        if (lanes != chunks) out.op("setp.lt.s32", out.pred("%" + tensor + "_chunk_live"), col, chunks);
        out.op("mul.lo.s32", out.s32("%" + tensor + "_chunk_goff"), col, 16);
        out.op("mad.lo.s32", "%" + tensor + "_chunk_goff", row, rowBytes, "%" + tensor + "_chunk_goff");
        out.op("mul.lo.s32", out.s32("%" + tensor + "_chunk_soff"), col, 16);
        out.op("mad.lo.s32", "%" + tensor + "_chunk_soff", row, stride, "%" + tensor + "_chunk_soff");
    }

    /**
     * cp.async of 64 rows of {@code width} elements from {@code global} (the tile's first row) to
     * {@code shared}; rows from {@code rowsLeft} on are zero-filled, read from the tile's first row.
     */
    private void copyRows(String chunk, int width, int rows, String global, String shared, int stride, String rowsLeft) {
        int chunks = width / 8, lanes = lanes(chunks), rowsPerPass = config.threads() / lanes;
        // Threads past the row's chunks, or past the tile's rows when one pass covers more, copy nothing.
        String live = null;
        if (lanes != chunks || rowsPerPass > rows) {
            live = out.pred("%" + chunk + "_copy_live_" + rows);
            out.op("setp.lt.s32", live, "%" + chunk + "_chunk_row", Math.min(rows, rowsPerPass));
            if (lanes != chunks) out.op("and.pred", live, live, "%" + chunk + "_chunk_live");
        }
        String first = out.u64("%copy_first"), source = out.u64("%copy_src"), destination = out.u32("%copy_dst");
        String row = out.s32("%copy_row"), inside = out.pred("%copy_inside"), bytes = out.u32("%copy_bytes");
        out.op("cvt.s64.s32", first, "%" + chunk + "_chunk_goff");
        out.op("add.s64", first, global, first);
        out.op("add.u32", destination, shared, "%" + chunk + "_chunk_soff");
        for (int pass = 0; pass < Math.max(1, rows / rowsPerPass); pass++) {
            out.op("add.s32", row, "%" + chunk + "_chunk_row", pass * rowsPerPass);
            out.op("setp.lt.s32", inside, row, rowsLeft);
            out.op("selp.u32", bytes, 16, 0, inside);
            out.op("add.s64", source, first, (long) pass * rowsPerPass * 2 * width);
            out.op("selp.b64", source, source, global, inside);
            out.op((live == null ? "" : "@" + live + " ") + "cp.async.cg.shared.global", "[" + destination + "+" + pass * rowsPerPass * stride + "]",
                    "[" + source + "]", 16, bytes);
        }
    }

    private void loadKeysAndValues() {
        out.blank().comment("K and V of this block's keys: loaded once, read by every query tile");
        copyRows("k", config.headDim(), config.blockKv(), "%k_tile", "%smem_k", kStride, "%kv_rows_left");
        copyRows("v", config.valueDim(), config.blockKv(), "%v_tile", "%smem_v", vStride, "%kv_rows_left");
        out.op("cp.async.commit_group");
    }

    /**
     * ldmatrix lane offsets. "Rows first" (matrices: rows 0-7 and 8-15 of the low 8 columns, then
     * of the high 8) serves A operands and transposed B operands; "columns first" (the low and high
     * 8 columns of rows 0-7, then of rows 8-15) serves plain B operands and the transposed A of dx.
     */
    private void laneAddresses() {
        out.comment("ldmatrix lane offsets: lanes 8j..8j+7 point at the rows of 8x8 matrix j");
        out.op("shr.s32", out.s32("%matrix"), "%lane", 3);
        out.op("and.b32", out.s32("%matrix_row"), "%lane", 7);
        TileLoader.laneAddress(out, "%rows_first_k", 1, 2, kStride);
        TileLoader.laneAddress(out, "%rows_first_v", 1, 2, vStride);
        TileLoader.laneAddress(out, "%cols_first_k", 2, 1, kStride);
        TileLoader.laneAddress(out, "%cols_first_v", 2, 1, vStride);
        TileLoader.laneAddress(out, "%cols_first_ds", 2, 1, dsStride);
        out.comment("the lanes that add a sum: the first of those sharing a query (g = 0), a key (t = 0), the warp's first");
        out.op("setp.eq.s32", out.pred("%first_g"), "%g", 0);
        out.op("setp.eq.s32", out.pred("%first_t"), "%t", 0);
        out.op("setp.eq.s32", out.pred("%first_lane"), "%lane", 0);
        out.comment("this warp's 16 keys in K and V; for dQ, its 16 queries of the tile and its part of the head dim");
        out.op("mad.lo.s32", out.s32("%warp_k"), "%warp", 16 * kStride, "%rows_first_k");
        out.op("add.u32", out.u32("%lane_k_a"), "%smem_k", "%warp_k");
        out.op("mad.lo.s32", out.s32("%warp_v"), "%warp", 16 * vStride, "%rows_first_v");
        out.op("add.u32", out.u32("%lane_v_a"), "%smem_v", "%warp_v");
        out.op("add.u32", out.u32("%lane_k_bt"), "%smem_k", "%rows_first_k");
        out.op("rem.s32", out.s32("%dq_block"), "%warp", config.blockQ() / 16);
        out.op("div.s32", out.s32("%dq_part"), "%warp", config.blockQ() / 16);
        out.op("mad.lo.s32", out.s32("%warp_ds"), "%dq_block", 32, "%cols_first_ds");
        out.op("add.u32", out.u32("%lane_ds_at"), "%smem_ds", "%warp_ds");
    }

    private void headLoop() {
        String loop = out.newLabel("head_loop"), done = out.newLabel("heads_done");
        out.blank().comment("each query head of the kv head's group");
        out.op("mov.s32", out.s32("%head_i"), 0);
        out.label(loop);
        out.op("setp.ge.s32", out.pred("%heads_end"), "%head_i", "%group");
        out.op("@%heads_end bra.uni", done);
        out.op("mad.lo.s32", out.s32("%h"), "%hk", "%group", "%head_i");
        out.op("mad.lo.s32", out.s32("%bh"), "%b", "%H", "%h");
        headSetUp();
        queryLoop();
        out.op("add.s32", "%head_i", "%head_i", 1);
        out.op("bra.uni", loop);
        out.label(done);
        out.op("cp.async.wait_group", 0);
    }

    /** The head's tile list, tensors and the parts of the pattern that change with neither q nor kv, or only with kv. */
    private void headSetUp() {
        String index = "%offset64";
        out.comment("the tile list of this head's slot and kv tile: [count, entries...], entry = q tile | FULL bit");
        out.op("mul.lo.s32", out.s32("%slot"), "%b", "%slot_stride_b");
        out.op("mad.lo.s32", "%slot", "%h", "%slot_stride_h", "%slot");
        out.op("mad.lo.s32", out.s32("%list_row"), "%slot", "%kv_tiles", "%kv_block");
        out.op("mul.lo.s32", "%list_row", "%list_row", "%list_width");
        out.op("mul.wide.s32", index, "%list_row", 4);
        out.op("add.s64", out.u64("%tile_list"), "%tiles", index);
        out.op("ld.global.s32", out.s32("%tile_count"), "[%tile_list]");
        out.op("mul.lo.s32", out.s32("%bh_row0"), "%bh", "%Nq");
        out.op("mul.wide.s32", index, "%bh_row0", 2 * config.headDim());
        out.op("add.s64", out.u64("%q_head"), "%q", index);
        out.op("mul.wide.s32", index, "%bh_row0", 2 * config.valueDim());
        out.op("add.s64", out.u64("%do_head"), "%dout", index);
        out.op("mul.wide.s32", index, "%bh_row0", 4 * config.headDim());
        out.op("add.s64", out.u64("%dq_head"), "%dq", index);
        out.comment("the pattern's parts that change with neither q nor kv: scale " + Printer.expr(lowered.pattern().scale()));
        for (ProgramRenderer program : programs()) program.emit(Level.UNIFORM, 0, 0);
        out.comment("... and those that change with kv only");
        for (ProgramRenderer program : programs()) for (int kr = 0; kr < KV_SLOTS; kr++) program.emit(Level.COL, 0, kr);
        out.comment("the previous head's last tile is read by every warp before its stages are reused");
        out.op("bar.sync", 0);
        String none = out.newLabel("no_tiles");
        out.op("mov.s32", out.s32("%stage"), 0);
        out.op("setp.le.s32", out.pred("%no_tile"), "%tile_count", 0);
        out.op("@%no_tile bra.uni", none);
        out.op("ld.global.s32", out.s32("%load_entry"), "[%tile_list+4]");
        loadQueryTile();
        out.label(none);
        out.op("cp.async.commit_group");
    }

    /** Every program rendered per element: the mask (in PARTIAL tiles), score, scale, d score/d s, bias, site offsets and partials. */
    private List<ProgramRenderer> programs() {
        List<ProgramRenderer> all = new ArrayList<>(List.of(mask, score, scale, scoreByS));
        if (bias != null) all.add(bias);
        for (SiteRenderers s : sites) {
            all.add(s.offset);
            all.add(s.partial);
        }
        return all;
    }

    /** Q and dO rows of the tile in {@code %load_entry} into stage {@code %stage} xor 1 is the next; here, {@code %load_stage}. */
    private void loadQueryTile() {
        String index = "%offset64";
        out.op("and.b32", out.s32("%load_tile"), "%load_entry", PtxModule.FULL_BIT - 1);
        out.op("mul.lo.s32", out.s32("%load_q"), "%load_tile", config.blockQ());
        out.op("sub.s32", out.s32("%q_rows_left"), "%Nq", "%load_q");
        out.op("mul.wide.s32", index, "%load_q", 2 * config.headDim());
        out.op("add.s64", out.u64("%q_tile"), "%q_head", index);
        out.op("mul.wide.s32", index, "%load_q", 2 * config.valueDim());
        out.op("add.s64", out.u64("%do_tile"), "%do_head", index);
        out.op("mad.lo.s32", out.s32("%q_stage_off"), "%stage", config.qStageBytes(), 0);
        out.op("add.u32", out.u32("%q_dst_stage"), "%smem_q", "%q_stage_off");
        out.op("mad.lo.s32", out.s32("%do_stage_off"), "%stage", config.doStageBytes(), 0);
        out.op("add.u32", out.u32("%do_dst_stage"), "%smem_do", "%do_stage_off");
        copyRows("k", config.headDim(), config.blockQ(), "%q_tile", "%q_dst_stage", kStride, "%q_rows_left");
        copyRows("v", config.valueDim(), config.blockQ(), "%do_tile", "%do_dst_stage", vStride, "%q_rows_left");
        if (!softmax) return;
        String row = out.s32("%row_copy_q"), inside = out.pred("%row_copy_inside"), source = out.u64("%row_copy_src");
        out.op("add.s32", row, "%load_q", "%row_copy_i");
        out.op("setp.lt.s32", inside, row, "%Nq");
        out.op("add.s32", row, row, "%bh_row0");
        out.op("mul.wide.s32", "%offset64", row, 4);
        out.op("add.s64", source, "%row_copy_base", "%offset64");
        out.op("selp.b64", source, source, "%row_copy_base", inside);
        out.op("selp.u32", "%copy_bytes", 4, 0, inside);
        out.op("mad.lo.s32", out.s32("%row_stage_off"), "%stage", config.rowStageBytes(), "%row_copy_soff");
        out.op("add.u32", "%copy_dst", "%smem_rows", "%row_stage_off");
        out.op("@%row_copier cp.async.ca.shared.global", "[%copy_dst]", "[" + source + "]", 4, "%copy_bytes");
    }

    private void queryLoop() {
        String loop = out.newLabel("q_loop"), done = out.newLabel("q_done");
        out.op("mov.s32", out.s32("%tile_i"), 0);
        out.label(loop);
        out.op("setp.ge.s32", out.pred("%tiles_end"), "%tile_i", "%tile_count");
        out.op("@%tiles_end bra.uni", done);
        out.op("cp.async.wait_group", 0);
        out.op("bar.sync", 0);
        currentTile();
        prefetchNext();
        queryPositions();
        products();
        weights();
        accumulateValues();
        scoreGradients();
        accumulateKeys();
        queryGradients();
        out.op("xor.b32", "%stage", "%stage", 1);
        out.op("add.s32", "%tile_i", "%tile_i", 1);
        out.op("bra.uni", loop);
        out.label(done);
    }

    private void currentTile() {
        out.op("mul.wide.s32", "%offset64", "%tile_i", 4);
        out.op("add.s64", out.u64("%entry_addr"), "%tile_list", "%offset64");
        out.op("ld.global.s32", out.s32("%entry"), "[%entry_addr+4]");
        out.op("and.b32", out.s32("%q_tile_i"), "%entry", PtxModule.FULL_BIT - 1);
        out.op("mul.lo.s32", out.s32("%q_start"), "%q_tile_i", config.blockQ());
        out.op("and.b32", out.s32("%full_bit"), "%entry", PtxModule.FULL_BIT);
        out.op("setp.ne.s32", out.pred("%tile_full"), "%full_bit", 0);
        out.op("mad.lo.s32", out.s32("%q_stage_now"), "%stage", config.qStageBytes(), "%cols_first_k");
        out.op("add.u32", out.u32("%lane_q_b"), "%smem_q", "%q_stage_now");
        out.op("mad.lo.s32", out.s32("%q_stage_t"), "%stage", config.qStageBytes(), "%rows_first_k");
        out.op("add.u32", out.u32("%lane_q_bt"), "%smem_q", "%q_stage_t");
        out.op("mad.lo.s32", out.s32("%do_stage_now"), "%stage", config.doStageBytes(), "%cols_first_v");
        out.op("add.u32", out.u32("%lane_do_b"), "%smem_do", "%do_stage_now");
        out.op("mad.lo.s32", out.s32("%do_stage_t"), "%stage", config.doStageBytes(), "%rows_first_v");
        out.op("add.u32", out.u32("%lane_do_bt"), "%smem_do", "%do_stage_t");
    }

    /** The next tile's Q and dO into the other stage, under this tile's work. */
    private void prefetchNext() {
        String skip = out.newLabel("prefetch_skip");
        out.op("add.s32", out.s32("%next_i"), "%tile_i", 1);
        out.op("setp.ge.s32", "%no_tile", "%next_i", "%tile_count");
        out.op("@%no_tile bra.uni", skip);
        out.op("ld.global.s32", "%load_entry", "[%entry_addr+8]");
        out.op("xor.b32", "%stage", "%stage", 1);
        loadQueryTile();
        out.op("xor.b32", "%stage", "%stage", 1);
        out.label(skip);
        out.op("cp.async.commit_group");
    }

    /** Each query slot's LSE (base 2) and Δ (softmax), and the parts of the pattern that change with q only. */
    private void queryPositions() {
        if (softmax) {
            out.comment("the tile's LSE (base 2) and delta = rowsum(dO o) of this thread's query columns, from shared memory");
            out.op("mad.lo.s32", out.s32("%rows_stage"), "%stage", config.rowStageBytes(), "%smem_rows");
            out.op("mad.lo.s32", "%rows_stage", "%t", 8, "%rows_stage");
            for (int nt = 0; nt < qTiles; nt++) {
                String lo = out.f32("%lse2_r" + 2 * nt), hi = out.f32("%lse2_r" + (2 * nt + 1));
                out.op("ld.shared.v2.f32", "{" + lo + ", " + hi + "}", "[%rows_stage+" + 32 * nt + "]");
                out.op("mul.f32", lo, lo, FlashEmitter.LOG2E);
                out.op("mul.f32", hi, hi, FlashEmitter.LOG2E);
                out.op("ld.shared.v2.f32", "{" + out.f32("%delta_r" + 2 * nt) + ", " + out.f32("%delta_r" + (2 * nt + 1)) + "}",
                        "[%rows_stage+" + (4 * config.blockQ() + 32 * nt) + "]");
            }
        }
        if (positionsEverywhere) positions();
        for (ProgramRenderer program : programs()) {
            if (program == mask) continue;
            for (int qc = 0; qc < qSlots; qc++) program.emit(Level.ROW, qc, 0);
        }
    }

    /** The query position of each slot, relative (for Nq) and absolute (for the pattern), and whether it is inside Nq. */
    private void positions() {
        out.comment("query positions of this thread's columns");
        out.op("mad.lo.s32", out.s32("%q_lane"), "%t", 2, "%q_start");
        for (int qc = 0; qc < qSlots; qc++) {
            String rel = out.s32("%q_rel_r" + qc);
            out.op("add.s32", rel, "%q_lane", 8 * (qc / 2) + qc % 2);
            out.op("add.s32", out.s32("%q_abs_r" + qc), rel, "%query_offset");
            out.op("setp.lt.s32", out.pred("%q_ok_r" + qc), rel, "%Nq");
        }
    }

    /** Sᵀ = K·Qᵀ and dPᵀ = V·dOᵀ: this warp's 16 keys against the tile's 64 queries. */
    private void products() {
        out.comment("S^T = K Q^T and dP^T = V dO^T (the first slice of the head dim accumulates onto zeros)");
        out.op("mov.f32", out.f32("%zero"), "0f00000000");
        product(BackwardEmitter::dot, "%lane_k_a", "%lane_q_b", config.headDim(), kStride);
        product(BackwardEmitter::dpt, "%lane_v_a", "%lane_do_b", config.valueDim(), vStride);
    }

    private void product(BiFunction<Integer, Integer, String> result, String aLane, String bLane, int width, int stride) {
        String[] zeros = {"%zero", "%zero", "%zero", "%zero"};
        String address = out.u32("%frag_addr");
        String[] a = {out.b32("%fa0"), out.b32("%fa1"), out.b32("%fa2"), out.b32("%fa3")};
        String[] b = {out.b32("%fb0"), out.b32("%fb1"), out.b32("%fb2"), out.b32("%fb3")};
        for (int kc = 0; kc < width / 16; kc++) {
            out.op("add.u32", address, aLane, kc * 32);
            out.op("ldmatrix.sync.aligned.m8n8.x4.shared.b16", "{" + String.join(", ", a) + "}", "[" + address + "]");
            for (int np = 0; np < qTiles / 2; np++) {
                out.op("add.u32", address, bLane, np * 16 * stride + kc * 32);
                out.op("ldmatrix.sync.aligned.m8n8.x4.shared.b16", "{" + String.join(", ", b) + "}", "[" + address + "]");
                for (int half = 0; half < 2; half++) {
                    int nt = 2 * np + half;
                    String[] d = new String[4];
                    for (int i = 0; i < 4; i++) d[i] = out.f32(result.apply(2 * nt + i % 2, i / 2));
                    out.op(Fragments.mma(config.mmaType(), d, a, b[2 * half], b[2 * half + 1], kc == 0 ? zeros : d));
                }
            }
        }
    }

    /** The scaled score s, the pattern's score, and the weights P; PARTIAL tiles mask theirs. */
    private void weights() {
        out.comment("s = scale q.k, the score, and the weights as the forward formed them");
        for (int qc = 0; qc < qSlots; qc++) {
            String rowScale = scale.result(qc, 0);
            if (softmax && lowered.identityScore()) {
                out.op("mul.f32", out.f32("%scale2_r" + qc), rowScale, FlashEmitter.LOG2E);
                out.op("neg.f32", out.f32("%neg_lse2_r" + qc), "%lse2_r" + qc);
            }
            for (int kr = 0; kr < KV_SLOTS; kr++) {
                String s = out.f32(site("s", qc, kr)), p = out.f32(site("p", qc, kr));
                if (needsS) out.op("mul.f32", s, dot(qc, kr), rowScale);
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
    private void partialOnly(Runnable code) {
        String full = out.newLabel("full_tile");
        out.op("@%tile_full bra.uni", full);
        code.run();
        out.label(full);
    }

    private String visible(int qc, int kr) { return site("visible", qc, kr); }

    /** dV += Pᵀ·dO. */
    private void accumulateValues() {
        out.comment("dV += P^T dO");
        String[][] a = packed("pa", (qc, kr) -> site("p", qc, kr));
        transposedB(a, "%lane_do_bt", config.valueDim(), vStride, BackwardEmitter::dv);
    }

    /** {@code value} (kv slot rows × q slot columns) packed as mma A fragments per 16-query chunk: [chunk][j]. */
    private String[][] packed(String stem, BiFunction<Integer, Integer, String> value) {
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

    /** acc += A · B over the tile's queries, B (queries × {@code width}) read transposed from shared memory. */
    private void transposedB(String[][] a, String bLane, int width, int stride, BiFunction<Integer, Integer, String> acc) {
        String address = out.u32("%frag_addr");
        String[] b = {out.b32("%fb0"), out.b32("%fb1"), out.b32("%fb2"), out.b32("%fb3")};
        for (int kk = 0; kk < qTiles / 2; kk++) {
            for (int dp = 0; dp < width / 16; dp++) {
                out.op("add.u32", address, bLane, kk * 16 * stride + dp * 32);
                out.op("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16", "{" + String.join(", ", b) + "}", "[" + address + "]");
                for (int half = 0; half < 2; half++) {
                    int dt = 2 * dp + half;
                    String[] d = {acc.apply(dt, 0), acc.apply(dt, 1), acc.apply(dt, 2), acc.apply(dt, 3)};
                    out.op(Fragments.mma(config.mmaType(), d, a[kk], b[2 * half], b[2 * half + 1], d));
                }
            }
        }
    }

    /**
     * dS (the gradient of the score's value) by the norm's rule; the score's load sites and the
     * sigmoid's bias take theirs from it; then dx = dS · d score/d s · scale, and the scale's row
     * sums Σ dS · d score/d s · q·k.
     */
    private void scoreGradients() {
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

    private static boolean isOne(Program program) {
        return program.resultInstr() instanceof Instr.FloatConst(double v) && v == 1.0;
    }

    /**
     * One score load site: dS × partial per element, summed over what the offset does not vary
     * with (across the thread's slots and then the lanes that share the offset) before one atomic
     * add per distinct element: per element, per query row, per key or once per warp.
     */
    private void siteGradient(int i) {
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
    private void shuffleSum(String value, int from, int to) {
        String partner = out.f32("%shuffled");
        for (int lane = from; lane <= to; lane *= 2) {
            out.op("shfl.sync.bfly.b32", partner, value, lane, "0x1f", "0xffffffff");
            out.op("add.f32", value, value, partner);
        }
    }

    /** red.global.add of {@code value} at float element {@code offset} of {@code base}, by the threads of {@code guard} (all if null). */
    private void atomicAdd(String base, String offset, String value, String guard) {
        String address = out.u64("%grad_addr");
        out.op("mul.wide.s32", address, offset, 4);
        out.op("add.s64", address, base, address);
        out.op((guard == null ? "" : "@" + guard + " ") + "red.global.add.f32", "[" + address + "]", value);
    }

    /** Sums {@code value} along each query row of the tile (the warp's 16 keys) and adds it into the row-gradient buffer's {@code which} row. */
    private void rowSums(BiFunction<Integer, Integer, String> value, int which) {
        String index = "%offset64", address = out.u64("%row_sum_addr");
        out.op("mul.lo.s32", out.s32("%rows_all"), "%B", "%H");
        out.op("mul.lo.s32", "%rows_all", "%rows_all", "%Nq");
        for (int qc = 0; qc < qSlots; qc++) {
            String sum = out.f32("%row_sum_" + which + "_r" + qc), adds = out.pred("%row_adds");
            out.op("add.f32", sum, value.apply(qc, 0), value.apply(qc, 1));
            shuffleSum(sum, 4, 16);
            out.op("and.pred", adds, "%first_g", "%q_ok_r" + qc);
            out.op("add.s32", out.s32("%row_at"), "%bh_row0", "%q_rel_r" + qc);
            if (which > 0) out.op("mad.lo.s32", "%row_at", "%rows_all", which, "%row_at");
            out.op("mul.wide.s32", index, "%row_at", 4);
            out.op("add.s64", address, "%row_grads", index);
            out.op("@" + adds + " red.global.add.f32", "[" + address + "]", sum);
        }
    }

    /** dK += dxᵀ·Q; dx also goes to shared memory, as [key][query] in the input precision, for dQ. */
    private void accumulateKeys() {
        out.comment("dK += dx^T Q");
        String[][] a = packed("dxa", (qc, kr) -> site("dx", qc, kr));
        transposedB(a, "%lane_q_bt", config.headDim(), kStride, BackwardEmitter::dk);
        out.comment("dx -> shared memory [key][query], for dQ = dx K");
        out.op("mad.lo.s32", out.s32("%ds_row"), "%warp", 16, "%g");
        out.op("mul.lo.s32", "%ds_row", "%ds_row", dsStride);
        out.op("mad.lo.s32", "%ds_row", "%t", 4, "%ds_row");
        out.op("add.u32", out.u32("%ds_addr"), "%smem_ds", "%ds_row");
        for (int kk = 0; kk < qTiles / 2; kk++) {
            for (int j = 0; j < 4; j++) {
                int nt = 2 * kk + j / 2, kr = j % 2;
                out.op("st.shared.b32", "[%ds_addr+" + (kr * 8 * dsStride + nt * 16) + "]", a[kk][j]);
            }
        }
    }

    /**
     * dQ = dx·K for the tile's queries, added to the fp32 dQ rows with atomics: each warp takes 16
     * queries and, where the tile has fewer than four such blocks, a part of the head dim.
     */
    private void queryGradients() {
        out.op("bar.sync", 0);
        int blocks = config.blockQ() / 16, parts = config.warps() / blocks, chunks = config.headDim() / 16;
        int perPart = (chunks + parts - 1) / parts;
        out.comment("dQ = dx K: this warp's 16 queries against the block's 64 keys, " + (parts == 1 ? "all" : "its part") + " of the head dim");
        String address = out.u32("%frag_addr");
        String[] a = {out.b32("%fa0"), out.b32("%fa1"), out.b32("%fa2"), out.b32("%fa3")};
        String[] b = {out.b32("%fb0"), out.b32("%fb1"), out.b32("%fb2"), out.b32("%fb3")};
        String[] zeros = {"%zero", "%zero", "%zero", "%zero"};
        String row = out.s32("%dq_row"), inside = out.pred("%dq_inside"), rowAddress = out.u64("%dq_row_addr");
        for (int part = 0; part < parts; part++) {
            int from = part * perPart, to = Math.min(chunks, from + perPart);
            String skip = out.newLabel("dq_part");
            if (parts > 1) {
                out.op("setp.ne.s32", out.pred("%other_part"), "%dq_part", part);
                out.op("@%other_part bra.uni", skip);
            }
            for (int kk = 0; kk < config.blockKv() / 16; kk++) {
                out.op("add.u32", address, "%lane_ds_at", kk * 16 * dsStride);
                out.op("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16", "{" + String.join(", ", a) + "}", "[" + address + "]");
                for (int dp = from; dp < to; dp++) {
                    out.op("add.u32", address, "%lane_k_bt", kk * 16 * kStride + dp * 32);
                    out.op("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16", "{" + String.join(", ", b) + "}", "[" + address + "]");
                    for (int half = 0; half < 2; half++) {
                        int dt = 2 * dp + half;
                        String[] d = new String[4];
                        for (int i = 0; i < 4; i++) d[i] = out.f32(dq(dt, i));
                        out.op(Fragments.mma(config.mmaType(), d, a, b[2 * half], b[2 * half + 1], kk == 0 ? zeros : d));
                    }
                }
            }
            out.comment("dQ rows inside Nq: red.add into dq[b, h, q, :]");
            for (int half = 0; half < 2; half++) {
                out.op("mad.lo.s32", row, "%dq_block", 16, "%g");
                out.op("add.s32", row, row, "%q_start");
                if (half > 0) out.op("add.s32", row, row, 8);
                out.op("setp.lt.s32", inside, row, "%Nq");
                out.op("mul.lo.s32", row, row, config.headDim());
                out.op("mad.lo.s32", row, "%t", 2, row);
                out.op("mul.wide.s32", "%offset64", row, 4);
                out.op("add.s64", rowAddress, "%dq_head", "%offset64");
                // One branch around the row's adds: a predicate on each would cost ptxas a branch apiece.
                String outside = out.newLabel("dq_row_outside");
                out.op("@!" + inside + " bra", outside);
                for (int dt = 2 * from; dt < 2 * to; dt++) addPair(rowAddress, dt * 8 * 4, dq(dt, 2 * half), dq(dt, 2 * half + 1));
                out.label(outside);
            }
            out.label(skip);
        }
    }

    /** The block's dK and dV rows inside Nkv, added into dk and dv [b, kv head, kv, :]. */
    private void storeKeyGradients() {
        out.blank().comment("dK and dV rows inside Nkv: red.add into dk and dv[b, kv head, kv, :] (the group's heads share them)");
        String row = out.s32("%kv_row"), inside = out.pred("%kv_inside"), address = out.u64("%kv_grad_addr");
        for (int half = 0; half < 2; half++) {
            out.op("setp.lt.s32", inside, "%kv_abs_c" + half, "%Nkv");
            out.op("add.s32", row, "%kv_row0", "%kv_abs_c" + half);
            out.op("sub.s32", row, row, "%kv_start");
            String outside = out.newLabel("kv_row_outside");
            out.op("@!" + inside + " bra", outside);
            store(row, address, "%dk", config.headDim(), BackwardEmitter::dk, half);
            store(row, address, "%dv", config.valueDim(), BackwardEmitter::dv, half);
            out.label(outside);
        }
    }

    private void store(String row, String address, String base, int width, BiFunction<Integer, Integer, String> acc, int half) {
        String element = out.s32("%grad_element");
        out.op("mul.lo.s32", element, row, width);
        out.op("mad.lo.s32", element, "%t", 2, element);
        out.op("mul.wide.s32", "%offset64", element, 4);
        out.op("add.s64", address, base, "%offset64");
        for (int dt = 0; dt < width / 8; dt++) addPair(address, dt * 8 * 4, acc.apply(dt, 2 * half), acc.apply(dt, 2 * half + 1));
    }

    /** Adds two adjacent floats at {@code address + offset}: one vector reduction on sm_90, two scalar ones before. */
    private void addPair(String address, int offset, String first, String second) {
        if (config.sm() >= 90) {
            out.op("red.global.add.v2.f32", "[" + address + "+" + offset + "]", "{" + first + ", " + second + "}");
        } else {
            out.op("red.global.add.f32", "[" + address + "+" + offset + "]", first);
            out.op("red.global.add.f32", "[" + address + "+" + (offset + 4) + "]", second);
        }
    }
}
