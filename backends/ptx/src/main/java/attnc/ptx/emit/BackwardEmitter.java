package attnc.ptx.emit;

import attnc.lower.LoweredBackward;
import java.util.function.BiFunction;

/**
 * The backward kernel of one pattern as PTX, FlashAttention-2's schedule on mma.sync: a block
 * owns {@link BackwardConfig#blockKv} keys of one kv head and, for each query head of its group,
 * walks the query tiles its keys see (a transposed tile list: EMPTY tiles absent, FULL tiles skip
 * the mask), Q and dO double-buffered with cp.async. Per tile, with Sᵀ held as each warp's 16 keys
 * × the tile's queries ({@link BackwardElements} does everything between the products):
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
final class BackwardEmitter extends BackwardElements {

    static final String ENTRY = "attnc_backward";
    private final int kStride, vStride, dsStride;

    private BackwardEmitter(LoweredBackward backward, BackwardConfig config) {
        super(backward, config);
        kStride = config.kStride();
        vStride = config.vStride();
        dsStride = config.dsStride();
    }

    static String render(LoweredBackward backward, BackwardConfig config) {
        return new BackwardEmitter(backward, config).emit();
    }

    private String emit() {
        KernelLeaves.threadIndices(out, 0);
        if (config.deterministic()) {
            out.op("setp.eq.s32", out.pred("%first_thread"), "%thread", 0);
            noTurnPending();
        }
        signature.loadParams(out);
        blockIndices();
        sharedAndGlobalBases();
        loadKeysAndValues();
        laneAddresses();
        clearKeyGradients();
        headLoop();
        storeKeyGradients();
        return signature.header(ENTRY) + "\n.maxntid " + config.threads() + ", 1, 1\n{\n" + out.render() + "}\n";
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
        if (config.deterministic()) {
            out.op("bar.sync", 0);
            passTurn();
        }
    }

    /** The head's tile list, tensors and the parts of the pattern that change with neither q nor kv, or only with kv. */
    private void headSetUp() {
        String index = "%offset64";
        headTileList();
        out.op("mul.wide.s32", index, "%bh_row0", 2 * config.headDim());
        out.op("add.s64", out.u64("%q_head"), "%q", index);
        out.op("mul.wide.s32", index, "%bh_row0", 2 * config.valueDim());
        out.op("add.s64", out.u64("%do_head"), "%dout", index);
        out.op("mul.wide.s32", index, "%bh_row0", 4 * config.headDim());
        out.op("add.s64", out.u64("%dq_head"), "%dq", index);
        headPrograms();
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
        // Deterministic: every warp's adds of the previous tile came before that barrier, so its turn passes now.
        if (config.deterministic()) passTurn();
        currentTile();
        if (config.deterministic()) loadRank("%first_thread");
        prefetchNext();
        if (softmax) out.op("mad.lo.s32", out.s32("%rows_stage"), "%stage", config.rowStageBytes(), "%smem_rows");
        queryPositions("%rows_stage");
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

    /** dV += Pᵀ·dO. */
    private void accumulateValues() {
        out.comment("dV += P^T dO");
        String[][] a = packed("pa", (qc, kr) -> site("p", qc, kr));
        transposedB(a, "%lane_do_bt", config.valueDim(), vStride, BackwardEmitter::dv);
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
        // Deterministic: the first thread waits for the tile's turn, and the barrier holds every warp's adds until it has come.
        if (config.deterministic()) takeTurn("%first_thread", 1);
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
}
