package attnc.ptx.emit;

import attnc.lower.LoweredBackward;
import java.util.function.BiFunction;

/**
 * The Hopper backward kernel (sm_90a), FlashAttention-3's schedule for the backward: a block of
 * 384 threads owns 128 keys of one kv head. Warpgroup 0 is the producer: its first thread copies K
 * and V once and, for each query tile the keys see (every head of the group in turn), Q and dO into
 * a ring of two stages with TMA; its second warp copies the tile's LSE and Δ beside them. Warpgroups
 * 1 and 2 are consumers of 64 keys each; per tile:
 * <ol>
 *   <li>Sᵀ = K·Qᵀ and dPᵀ = V·dOᵀ, wgmma m64n64 with both operands in shared memory;</li>
 *   <li>everything between the products as {@link BackwardElements} has it (a warp's share of a
 *       wgmma accumulator is mma.sync's layout): weights, dS, site gradients, dx;</li>
 *   <li>dV += Pᵀ·dO with Pᵀ from registers and dO read transposed (MN-major) from its stage;</li>
 *   <li>dx stored transposed ({@code stmatrix.trans}) as dS [q][kv], 128-byte swizzled, into the
 *       stage's own dS tile; then in one wgmma group dK += dxᵀ·Q (dx from registers, Q read
 *       MN-major) and dQ = dS·K from shared memory, the two warpgroups splitting the head dim
 *       (each over all 128 keys, after a barrier between them), so each dq element is added once
 *       a tile; the stage is then released. Each warpgroup stages its half of dQ in shared memory,
 *       and one of its threads adds it into dq with a TMA reduction.</li>
 * </ol>
 * Shared memory follows {@link WgmmaEmitter}: tiles of 64-column chunks of 128-byte rows,
 * swizzled, from a 1024-aligned base; 8-row groups 1024 bytes apart.
 */
final class WgmmaBackwardEmitter extends BackwardElements {
    static final String ENTRY = BackwardEmitter.ENTRY;
    private static final int ROW_BYTES = 128, GROUP_BYTES = 8 * ROW_BYTES, WARPGROUP = 128, STAGES = 2;
    /** Named barriers: 1 and 2 for one consumer warpgroup each, 3 for both. */
    private static final int BOTH_CONSUMERS = 3;
    /** A dq reduction's writes done and ordered before what the issuer does next in the generic proxy. */
    private static final String[] LANDED = {"cp.async.bulk.wait_group 0", "fence.proxy.async.global"};

    private final int kvChunk, qChunk, dsChunk;
    private final int kBase, vBase, qBase, doBase, rowsBase, dsBase, dqBase, barrierBase;
    private final int qStage, doStage;

    private WgmmaBackwardEmitter(LoweredBackward backward, BackwardConfig config) {
        super(backward, config);
        int d = config.headDim(), dv = config.valueDim(), keys = config.blockKv(), queries = config.blockQ();
        kvChunk = keys * ROW_BYTES;
        qChunk = queries * ROW_BYTES;
        dsChunk = queries * ROW_BYTES;
        qStage = BackwardConfig.swizzledBytes(queries, d);
        doStage = BackwardConfig.swizzledBytes(queries, dv);
        kBase = 0;
        vBase = kBase + BackwardConfig.swizzledBytes(keys, d);
        qBase = vBase + BackwardConfig.swizzledBytes(keys, dv);
        doBase = qBase + STAGES * qStage;
        rowsBase = doBase + STAGES * doStage;
        dsBase = rowsBase + STAGES * config.rowStageBytes();
        dqBase = dsBase + STAGES * BackwardConfig.swizzledBytes(queries, keys);
        barrierBase = dqBase + 2 * config.dqStageBytes();
    }

    static String render(LoweredBackward backward, BackwardConfig config) {
        return new WgmmaBackwardEmitter(backward, config).emit();
    }

    private String emit() {
        out.op("mov.u32", out.u32("%tid_x"), "%tid.x");
        signature.loadParams(out);
        sharedLayout();
        initBarriers();
        Mbarriers.splitRoles(out, this::consumer, this::producer);
        return signature.header(ENTRY) + "\n.maxntid " + config.threads() + ", 1, 1\n.minnctapersm 1\n{\n" + out.render() + "}\n";
    }

    private void sharedLayout() {
        out.blank().comment("shared memory, 1024-aligned for the 128-byte swizzle: K, V, Q stages, dO stages, LSE/delta stages, dS a stage, dQ staging, mbarriers");
        String base = Mbarriers.alignedBase(out);
        String[][] regions = {{"%smem_k", "" + kBase}, {"%smem_v", "" + vBase}, {"%smem_q", "" + qBase}, {"%smem_do", "" + doBase},
                {"%smem_rows", "" + rowsBase}, {"%smem_ds", "" + dsBase}, {"%smem_dq", "" + dqBase}, {"%bar_kv", "" + barrierBase}, {"%bar_full", "" + (barrierBase + 8)},
                {"%bar_empty", "" + (barrierBase + 8 + 8 * STAGES)}};
        for (String[] region : regions) out.op("add.u32", out.u32(region[0]), base, Integer.parseInt(region[1]));
    }

    /**
     * Thread 0 sets the barriers up: K/V's completes on the producer's arrival and the copy's
     * bytes; a stage's full one also on the 32 arrivals of the warp copying LSE and Δ (softmax);
     * its empty one on every consumer thread's.
     */
    private void initBarriers() {
        String done = out.newLabel("barriers_ready");
        out.op("setp.ne.u32", out.pred("%not_first"), "%tid_x", 0);
        out.op("@%not_first bra", done);
        out.op("mbarrier.init.shared::cta.b64", "[%bar_kv]", 1);
        for (int s = 0; s < STAGES; s++) {
            out.op("mbarrier.init.shared::cta.b64", "[%bar_full+" + 8 * s + "]", softmax ? 33 : 1);
            out.op("mbarrier.init.shared::cta.b64", "[%bar_empty+" + 8 * s + "]", 2 * WARPGROUP);
        }
        out.op("fence.mbarrier_init.release.cluster");
        out.label(done);
        out.op("bar.sync", 0);
    }

    /** For head {@code %head_i} of the group: h, its (b, h) row base, its slot's tile list and count. */
    private void head() {
        out.op("mad.lo.s32", out.s32("%h"), "%hk", "%group", "%head_i");
        out.op("mad.lo.s32", out.s32("%bh"), "%b", "%H", "%h");
        headTileList();
    }

    /** Entry {@code i} of the head's list: its query tile, first query and FULL bit. */
    private void entry(String i) {
        out.op("mul.wide.s32", "%offset64", i, 4);
        out.op("add.s64", out.u64("%entry_addr"), "%tile_list", "%offset64");
        out.op("ld.global.s32", out.s32("%entry"), "[%entry_addr+4]");
        out.op("and.b32", out.s32("%q_tile_i"), "%entry", PtxModule.FULL_BIT - 1);
        out.op("mul.lo.s32", out.s32("%q_start"), "%q_tile_i", config.blockQ());
        out.op("and.b32", out.s32("%full_bit"), "%entry", PtxModule.FULL_BIT);
        out.op("setp.ne.s32", out.pred("%tile_full"), "%full_bit", 0);
    }

    /** A loop over the group's heads and each head's tiles, around {@code perTile}; {@code perHead} runs once a head. */
    private void tasks(Runnable perHead, Runnable perTile) {
        String heads = out.newLabel("heads"), headsDone = out.newLabel("heads_done"), tiles = out.newLabel("tiles"), tilesDone = out.newLabel("tiles_done");
        out.op("mov.s32", out.s32("%head_i"), 0);
        out.label(heads);
        out.op("setp.ge.s32", out.pred("%heads_end"), "%head_i", "%group");
        out.op("@%heads_end bra.uni", headsDone);
        head();
        perHead.run();
        out.op("mov.s32", out.s32("%tile_i"), 0);
        out.label(tiles);
        out.op("setp.ge.s32", out.pred("%tiles_end"), "%tile_i", "%tile_count");
        out.op("@%tiles_end bra.uni", tilesDone);
        entry("%tile_i");
        perTile.run();
        out.op("add.s32", "%tile_i", "%tile_i", 1);
        out.op("bra.uni", tiles);
        out.label(tilesDone);
        out.op("add.s32", "%head_i", "%head_i", 1);
        out.op("bra.uni", heads);
        out.label(headsDone);
    }

    /** The ring's next stage: stage + 1 wrapping to 0, where the phase parity flips. */
    private void advance(String stage, String phase) {
        String wrapped = out.pred(stage + "_wrapped");
        out.op("add.s32", stage, stage, 1);
        out.op("setp.eq.s32", wrapped, stage, STAGES);
        out.op("selp.s32", stage, 0, stage, wrapped);
        out.op("xor.b32", out.u32(phase + "_flip"), phase, 1);
        out.op("selp.b32", phase, phase + "_flip", phase, wrapped);
    }

    /** Barrier addresses of stage {@code stage}: {@code prefix}_full and {@code prefix}_empty. */
    private void stageBarriers(String stage, String prefix) {
        String offset = out.u32(prefix + "_bar_offset");
        out.op("shl.b32", offset, stage, 3);
        out.op("add.u32", out.u32(prefix + "_full"), "%bar_full", offset);
        out.op("add.u32", out.u32(prefix + "_empty"), "%bar_empty", offset);
    }

    // ---- producer ----

    private void producer() {
        out.blank().comment("producer warpgroup: thread 0 issues the TMA copies, warp 1 copies LSE and delta; the rest leave");
        out.op("setmaxnreg.dec.sync.aligned.u32", 24);
        String done = out.newLabel("producer_done");
        out.op("shr.u32", out.u32("%p_warp"), "%tid_x", 5);
        out.op("and.b32", out.u32("%p_lane"), "%tid_x", 31);
        out.op("setp.eq.u32", out.pred("%issuer"), "%tid_x", 0);
        out.op("setp.eq.u32", out.pred("%row_copier"), "%p_warp", 1);
        out.op("or.pred", out.pred("%producing"), "%issuer", softmax ? "%row_copier" : "%issuer");
        out.op("@!%producing bra", done);
        block();
        out.op("mad.lo.s32", out.s32("%kv_bh"), "%b", "%Hkv", "%hk");
        String keysDone = out.newLabel("keys_requested");
        out.op("@!%issuer bra", keysDone);
        out.comment("K and V: the block's " + config.blockKv() + " keys, once");
        int kvBytes = BackwardConfig.swizzledBytes(config.blockKv(), config.headDim()) + BackwardConfig.swizzledBytes(config.blockKv(), config.valueDim());
        out.op("mbarrier.arrive.expect_tx.shared::cta.b64", "_", "[%bar_kv]", kvBytes);
        for (int c = 0; c < config.headDim() / 64; c++) Mbarriers.copy(out, "%smem_k", c * kvChunk, "%tmap_k", c, "%kv_start", "%kv_bh", "%bar_kv");
        for (int c = 0; c < config.valueDim() / 64; c++) Mbarriers.copy(out, "%smem_v", c * kvChunk, "%tmap_v", c, "%kv_start", "%kv_bh", "%bar_kv");
        out.label(keysDone);
        out.op("mov.s32", out.s32("%p_stage"), 0);
        out.op("mov.u32", out.u32("%p_phase"), 0);
        tasks(() -> {}, () -> {
            stageBarriers("%p_stage", "%p");
            out.op("xor.b32", out.u32("%p_free"), "%p_phase", 1);
            Mbarriers.waitParity(out, "%p_empty", "%p_free");
            String rows = out.newLabel("rows_only");
            out.op("@!%issuer bra", rows);
            out.op("mbarrier.arrive.expect_tx.shared::cta.b64", "_", "[%p_full]", qStage + doStage);
            out.op("mad.lo.s32", out.u32("%p_q_dst"), "%p_stage", qStage, "%smem_q");
            out.op("mad.lo.s32", out.u32("%p_do_dst"), "%p_stage", doStage, "%smem_do");
            for (int c = 0; c < config.headDim() / 64; c++) Mbarriers.copy(out, "%p_q_dst", c * qChunk, "%tmap_q", c, "%q_start", "%bh", "%p_full");
            for (int c = 0; c < config.valueDim() / 64; c++) Mbarriers.copy(out, "%p_do_dst", c * qChunk, "%tmap_dout", c, "%q_start", "%bh", "%p_full");
            out.label(rows);
            if (softmax) copyRows();
            advance("%p_stage", "%p_phase");
        });
        out.comment("leave only when the consumers have released every stage: no copy outlives the block's use of it");
        for (int s = 0; s < STAGES; s++) {
            stageBarriers("%p_stage", "%p");
            out.op("xor.b32", "%p_free", "%p_phase", 1);
            Mbarriers.waitParity(out, "%p_empty", "%p_free");
            advance("%p_stage", "%p_phase");
        }
        out.label(done);
        out.op("ret");
    }

    /**
     * Warp 1: the tile's LSE (64 rows) and Δ into the stage's rows, four values a lane with
     * cp.async (rows past Nq read nothing and are zero), then one arrival a lane on the stage's
     * full barrier when its copies land.
     */
    private void copyRows() {
        String skip = out.newLabel("rows_done");
        out.op("@!%row_copier bra", skip);
        out.op("mad.lo.s32", out.u32("%p_rows_dst"), "%p_stage", config.rowStageBytes(), "%smem_rows");
        String row = out.s32("%p_row"), index = out.s32("%p_row_index"), inside = out.pred("%p_row_inside"), source = out.u64("%p_row_src");
        String bytes = out.u32("%p_row_bytes"), destination = out.u32("%p_row_dst");
        for (int j = 0; j < 2 * config.blockQ() / 32; j++) {
            int value = 32 * j;
            boolean lse = value < config.blockQ();
            out.op("add.s32", row, "%p_lane", value % config.blockQ());
            out.op("add.s32", index, row, "%q_start");
            out.op("setp.lt.s32", inside, index, "%Nq");
            out.op("add.s32", index, index, "%bh_row0");
            out.op("mul.wide.s32", source, index, 4);
            out.op("add.s64", source, source, lse ? "%lse" : "%delta");
            out.op("selp.b64", source, source, lse ? "%lse" : "%delta", inside);
            out.op("selp.u32", bytes, 4, 0, inside);
            out.op("mad.lo.s32", destination, row, 4, "%p_rows_dst");
            out.op("cp.async.ca.shared.global", "[" + destination + "+" + (lse ? 0 : 4 * config.blockQ()) + "]", "[" + source + "]", 4, bytes);
        }
        out.op("cp.async.mbarrier.arrive.noinc.shared::cta.b64", "[%p_full]");
        out.label(skip);
    }

    // ---- consumers ----

    private void consumer() {
        out.blank().comment("consumer warpgroups: 64 keys each");
        out.op("setmaxnreg.inc.sync.aligned.u32", 240);
        KernelLeaves.threadIndices(out, KernelConfig.PRODUCER_THREADS);
        out.op("shr.s32", out.s32("%wg"), "%warp", 2);
        out.op("and.b32", out.s32("%wq"), "%warp", 3);
        out.op("add.s32", out.s32("%wg_barrier"), "%wg", 1);
        out.op("and.b32", out.u32("%wg_thread"), "%tid_x", WARPGROUP - 1);
        out.op("setp.eq.u32", out.pred("%dq_issuer"), "%wg_thread", 0);
        blockIndices();
        clearKeyGradients();
        if (config.deterministic()) noTurnPending();
        descriptors();
        out.op("setp.ne.s32", out.pred("%scale_zero"), 0, 0);
        out.op("setp.eq.s32", out.pred("%scale_one"), 0, 0);
        out.op("mov.u32", out.u32("%zero_parity"), 0);
        Mbarriers.waitParity(out, "%bar_kv", "%zero_parity");
        out.op("mov.s32", out.s32("%c_stage"), 0);
        out.op("mov.u32", out.u32("%c_phase"), 0);
        tasks(this::headPrograms, this::consumeTile);
        out.comment("the last dQ reductions have finished reading this block's shared memory");
        out.op("@%dq_issuer cp.async.bulk.wait_group", 0);
        if (config.deterministic()) passTurn(LANDED);
        storeKeyGradients();
        out.op("ret");
    }

    /**
     * The fixed parts of the shared-memory matrix descriptors: 128-byte swizzle and 1024 bytes
     * between 8-row groups in the high word; this warpgroup's 64 rows of K and V.
     */
    private void descriptors() {
        out.op("mov.u32", out.u32("%desc_hi"), (GROUP_BYTES >> 4) | (1 << 30));
        out.op("mad.lo.s32", out.u32("%k_rows"), "%wg", 64 * ROW_BYTES, "%smem_k");
        out.op("mad.lo.s32", out.u32("%v_rows"), "%wg", 64 * ROW_BYTES, "%smem_v");
    }

    private void consumeTile() {
        stageBarriers("%c_stage", "%c");
        out.op("mad.lo.s32", out.u32("%c_q"), "%c_stage", qStage, "%smem_q");
        out.op("mad.lo.s32", out.u32("%c_do"), "%c_stage", doStage, "%smem_do");
        out.op("mad.lo.s32", out.u32("%c_rows"), "%c_stage", config.rowStageBytes(), "%smem_rows");
        out.op("mad.lo.s32", out.u32("%ds_tile"), "%c_stage", BackwardConfig.swizzledBytes(config.blockQ(), config.blockKv()), "%smem_ds");
        Mbarriers.waitParity(out, "%c_full", "%c_phase");
        out.comment("S^T = K Q^T and dP^T = V dO^T: this warpgroup's 64 keys against the tile's 64 queries");
        out.op("wgmma.fence.sync.aligned");
        product(BackwardElements::dot, "%k_rows", kvChunk, "%c_q", config.headDim());
        product(BackwardElements::dpt, "%v_rows", kvChunk, "%c_do", config.valueDim());
        out.op("wgmma.commit_group.sync.aligned");
        if (config.deterministic()) loadRank("%dq_issuer");
        out.op("wgmma.wait_group.sync.aligned", 0);
        queryPositions("%c_rows");
        weights();
        out.comment("dV += P^T dO, under the gradients of the scores");
        String[][] p = packed("pa", (qc, kr) -> site("p", qc, kr));
        out.op("wgmma.fence.sync.aligned");
        transposedB(p, "%c_do", config.valueDim(), BackwardElements::dv);
        out.op("wgmma.commit_group.sync.aligned");
        scoreGradients();
        String[][] dx = packed("dxa", (qc, kr) -> site("dx", qc, kr));
        storeScoreGradients(dx);
        out.comment("dK += dx^T Q and dQ = dS K, one group: a single wait for both");
        out.op("wgmma.fence.sync.aligned");
        transposedB(dx, "%c_q", config.headDim(), BackwardElements::dk);
        int columns = queryProduct();
        out.op("wgmma.commit_group.sync.aligned");
        out.op("wgmma.wait_group.sync.aligned", 0);
        Mbarriers.arrive(out, "%c_empty");
        reduceQueryGradients(columns);
        advance("%c_stage", "%c_phase");
    }

    /** acc = A·Bᵀ over the head dim: A this warpgroup's 64 rows (K or V), B the tile's 64 queries (Q or dO), both K-major. */
    private void product(BiFunction<Integer, Integer, String> result, String aRows, int aChunk, String bTile, int width) {
        String[] acc = new String[config.blockQ() / 2];
        for (int nt = 0; nt < config.blockQ() / 8; nt++) for (int i = 0; i < 4; i++) acc[4 * nt + i] = out.f32(result.apply(2 * nt + i % 2, i / 2));
        String a = out.b64("%desc_a"), b = out.b64("%desc_b"), lo = out.u32("%desc_lo");
        String mma = "wgmma.mma_async.sync.aligned.m64n" + config.blockQ() + "k16.f32." + config.mmaType() + "." + config.mmaType();
        for (int kk = 0; kk < width / 16; kk++) {
            int within = (kk % 4) * 32, chunk = kk / 4;
            kMajor(lo, aRows, chunk * aChunk + within);
            out.op("mov.b64", a, "{" + lo + ", %desc_hi}");
            kMajor(lo, bTile, chunk * qChunk + within);
            out.op("mov.b64", b, "{" + lo + ", %desc_hi}");
            out.op(mma, "{" + String.join(", ", acc) + "}", a, b, kk == 0 ? "%scale_zero" : "%scale_one", 1, 1, 0, 0);
        }
    }

    /** The low word of a K-major descriptor at {@code base + offset} (the leading offset unused: 1). */
    private void kMajor(String lo, String base, int offset) {
        out.op("add.u32", lo, base, offset);
        out.op("shr.u32", lo, lo, 4);
        out.op("or.b32", lo, lo, 1 << 16);
    }

    /** The low word of an MN-major descriptor at {@code base + offset}: 64-column chunks {@code chunk} bytes apart. */
    private void mnMajor(String lo, String base, int offset, int chunk) {
        out.op("add.u32", lo, base, offset);
        out.op("shr.u32", lo, lo, 4);
        out.op("or.b32", lo, lo, (chunk >> 4) << 16);
    }

    /** acc += A·B, A from registers (16 queries a step), B the tile's rows (queries × {@code width}) read MN-major. */
    private void transposedB(String[][] a, String tile, int width, BiFunction<Integer, Integer, String> acc) {
        String[] d = new String[width / 2];
        for (int dt = 0; dt < width / 8; dt++) for (int i = 0; i < 4; i++) d[4 * dt + i] = acc.apply(dt, i);
        String b = out.b64("%desc_b"), lo = out.u32("%desc_lo");
        String mma = "wgmma.mma_async.sync.aligned.m64n" + width + "k16.f32." + config.mmaType() + "." + config.mmaType();
        for (int kk = 0; kk < config.blockQ() / 16; kk++) {
            mnMajor(lo, tile, kk * 2 * GROUP_BYTES, qChunk);
            out.op("mov.b64", b, "{" + lo + ", %desc_hi}");
            out.op(mma, "{" + String.join(", ", d) + "}", "{" + String.join(", ", a[kk]) + "}", b, "%scale_one", 1, 1, 1);
        }
    }

    /**
     * dx as dS [q][kv] in shared memory (each 8 × 8 block of a warp's fragment stored transposed,
     * so that a row is 8 keys of one query: a 16-byte unit of the 128-byte swizzle), where both
     * warpgroups' dQ products read it. Each stage has its own dS tile, so the barrier after the
     * stores is the only one between the warpgroups a tile: the tile two back read this dS tile,
     * and both warpgroups had finished with it when they last met at that barrier.
     */
    private void storeScoreGradients(String[][] dx) {
        out.comment("the previous dQ reduction has read its staging tile (the barrier below tells the warpgroup)");
        // Deterministic: the previous tile's reduction has had most of a tile to land, so its turn passes here.
        if (config.deterministic()) passTurn(LANDED);
        out.op("@%dq_issuer cp.async.bulk.wait_group.read", 0);
        storeTransposed(dx);
        out.op("fence.proxy.async.shared::cta");
        out.op("bar.sync " + BOTH_CONSUMERS + ", " + 2 * WARPGROUP);
    }

    /**
     * dQ = dS·K by wgmma, this warpgroup's half of the head dim over all the block's keys, issued
     * into the caller's group; returns the columns, which {@link #reduceQueryGradients} adds into dq.
     */
    private int queryProduct() {
        int columns = config.headDim() / 2, keys = config.blockKv();
        out.comment("dQ = dS K: this warpgroup's " + columns + " columns over all " + keys + " keys");
        String[] acc = new String[columns / 2];
        for (int dt = 0; dt < columns / 8; dt++) for (int i = 0; i < 4; i++) acc[4 * dt + i] = out.f32(dq(dt, i));
        String a = out.b64("%desc_a"), b = out.b64("%desc_b"), lo = out.u32("%desc_lo");
        // Warpgroup 1's columns start a 64-column chunk (D = 128) or halfway along the chunk's 128-byte rows (D = 64).
        int columnOffset = (columns / 64) * kvChunk + (columns % 64) * 2;
        out.op("mad.lo.s32", out.u32("%k_columns"), "%wg", columnOffset, "%smem_k");
        String mma = "wgmma.mma_async.sync.aligned.m64n" + columns + "k16.f32." + config.mmaType() + "." + config.mmaType();
        for (int kk = 0; kk < keys / 16; kk++) {
            kMajor(lo, "%ds_tile", (kk / 4) * dsChunk + (kk % 4) * 32);
            out.op("mov.b64", a, "{" + lo + ", %desc_hi}");
            mnMajor(lo, "%k_columns", kk * 2 * GROUP_BYTES, kvChunk);
            out.op("mov.b64", b, "{" + lo + ", %desc_hi}");
            out.op(mma, "{" + String.join(", ", acc) + "}", a, b, kk == 0 ? "%scale_zero" : "%scale_one", 1, 1, 0, 1);
        }
        return columns;
    }

    /**
     * stmatrix .trans: matrix j of a step holds this thread's keys g (j even) or g + 8 (j odd)
     * against queries 2t, 2t + 1 of n-tile 2·step + j/2; lane l gives the row (query) l % 8 of
     * matrix l / 8, whose 8 keys land in 16-byte unit (key / 8) XOR (query % 8) of the query's row.
     */
    private void storeTransposed(String[][] dx) {
        out.comment("dx -> dS [q][kv] (stmatrix.trans, 128-byte swizzle); key chunk = warpgroup");
        String matrix = out.s32("%st_matrix"), row = out.s32("%st_row"), query = out.s32("%st_query"), unit = out.s32("%st_unit");
        String address = out.u32("%st_addr");
        out.op("shr.s32", matrix, "%lane", 3);
        out.op("and.b32", row, "%lane", 7);
        out.op("mad.lo.s32", out.u32("%ds_chunk"), "%wg", dsChunk, "%ds_tile");
        for (int step = 0; step < dx.length; step++) {
            // query = 8 · (2·step + matrix / 2) + row; key unit = 2·wq + matrix % 2
            out.op("shr.s32", query, matrix, 1);
            out.op("mad.lo.s32", query, query, 8, row);
            out.op("add.s32", query, query, 16 * step);
            out.op("and.b32", unit, matrix, 1);
            out.op("mad.lo.s32", unit, "%wq", 2, unit);
            out.op("xor.b32", unit, unit, row);
            out.op("shl.b32", unit, unit, 4);
            out.op("mad.lo.s32", address, query, ROW_BYTES, unit);
            out.op("add.u32", address, address, "%ds_chunk");
            out.op("stmatrix.sync.aligned.m8n8.x4.trans.shared.b16", "[" + address + "]", "{" + String.join(", ", dx[step]) + "}");
        }
    }

    /**
     * dQ into the warpgroup's staging tile as the dq tensor map's boxes lay it out (32 columns of
     * 128 bytes a row, 16-byte unit u of row r at u XOR r % 8: a warp's stores then fill whole
     * bank rows), then one thread adds the tile into dq with TMA, which clips rows past Nq. Atomic
     * adds from every thread stalled the warpgroup on the memory queue and on their registers
     * (ncu, dense D = 64: a third of the consumers' stall samples).
     */
    private void reduceQueryGradients(int columns) {
        out.comment("dQ -> this warpgroup's staging tile (128-byte swizzled boxes of 32 columns), then one TMA add into dq");
        int boxBytes = config.blockQ() * ROW_BYTES;
        String stage = out.u32("%dq_stage"), unit = out.u32("%dq_unit"), odd = out.u32("%dq_odd"), row = out.u32("%dq_row_base");
        String address = out.u32("%dq_addr");
        out.op("mad.lo.s32", stage, "%wg", config.dqStageBytes(), "%smem_dq");
        out.op("and.b32", odd, "%t", 1);
        out.op("shl.b32", odd, odd, 3);
        // The pair of columns 8·dt + 2t, +1 lies in unit 2·(dt % 4) + t / 2 of box dt / 4, at byte 8·(t % 2).
        String[] within = new String[4];
        for (int c = 0; c < 4; c++) {
            within[c] = out.u32("%dq_within" + c);
            out.op("shr.u32", unit, "%t", 1);
            out.op("add.u32", unit, unit, 2 * c);
            out.op("xor.b32", unit, unit, "%g");
            out.op("shl.b32", unit, unit, 4);
            out.op("add.u32", within[c], unit, odd);
        }
        for (int half = 0; half < 2; half++) {
            out.op("mad.lo.s32", row, "%wq", 16, "%g");
            out.op("mad.lo.s32", row, row, ROW_BYTES, stage);
            if (half > 0) out.op("add.u32", row, row, 8 * ROW_BYTES);
            for (int dt = 0; dt < columns / 8; dt++) {
                out.op("add.u32", address, row, within[dt % 4]);
                out.op("st.shared.v2.f32", "[" + address + "+" + (dt / 4) * boxBytes + "]", "{" + dq(dt, 2 * half) + ", " + dq(dt, 2 * half + 1) + "}");
            }
        }
        out.op("fence.proxy.async.shared::cta");
        out.op("bar.sync %wg_barrier, " + WARPGROUP);
        // Two visits a block: each warpgroup adds its half of the columns and passes the turn once.
        if (config.deterministic()) takeTurn("%dq_issuer", 2);
        String skip = out.newLabel("dq_reduced");
        out.op("@!%dq_issuer bra", skip);
        if (config.deterministic()) out.op("fence.proxy.async.global");
        String column = out.s32("%dq_column"), source = out.u32("%dq_source");
        for (int box = 0; box < columns / BackwardConfig.DQ_BOX_COLUMNS; box++) {
            out.op("mad.lo.s32", column, "%wg", columns, box * BackwardConfig.DQ_BOX_COLUMNS);
            out.op("add.u32", source, stage, box * boxBytes);
            out.op("cp.reduce.async.bulk.tensor.3d.global.shared::cta.add.tile.bulk_group",
                    "[%tmap_dq, {" + column + ", %q_start, %bh}]", "[" + source + "]");
        }
        out.op("cp.async.bulk.commit_group");
        out.label(skip);
    }
}
