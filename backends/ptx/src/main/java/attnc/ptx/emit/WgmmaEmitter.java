package attnc.ptx.emit;

import attnc.lower.LoweredPattern;

/**
 * The Hopper forward kernel (sm_90a) of one pattern, FlashAttention-3's schedule. A block of 384
 * threads computes 128 queries: warpgroup 0 is the producer, whose first thread copies Q once and
 * then each listed K and V tile into a ring of {@code stages} buffers with TMA, each copy
 * completing on an mbarrier; warpgroups 1 and 2 are consumers of 64 queries each. A consumer
 * computes S = Q·Kᵀ with wgmma from shared memory into registers, runs the pattern's score,
 * mask and online softmax there ({@link FlashEmitter}, the same code as the mma.sync kernel,
 * since a warp's wgmma accumulator layout is mma.sync's), packs P to bf16 pairs in the A-operand
 * layout and adds O += P·V with P from registers and V from shared memory, read transposed.
 *
 * <p>Shared memory is the 128-byte swizzled layout of TMA and wgmma: a tile of rows × D is stored
 * as D/64 column chunks, each rows × 128 bytes; 8-row groups are 1024 bytes apart (the
 * descriptors' stride), and a K step of 16 columns moves the start address 32 bytes within a row.
 * Buffers start 1024-byte aligned, where the swizzle pattern repeats.
 *
 * <p>A ragged batch ({@link Decode#RAGGED}) has no tensor maps: its queries are packed and its
 * keys sit in pages, so every producer thread copies 16-byte chunks with cp.async into the same
 * swizzled layout ({@link SwizzledCopies}), rows past the sequence's queries or keys zero-filled
 * (a page's unused slots may hold anything, NaN included, and a weight of 0 times NaN is NaN);
 * each copy completes on the stage's full barrier, which counts the producer's 128 threads.
 *
 * <p>The {@link Schedule} decides the overlap: with {@code WGMMA} each tile runs S, softmax, P·V
 * in turn; with {@code WGMMA_OVERLAP} S of tile i and P·V of tile i−1 are issued together and the
 * softmax of tile i runs while P·V computes; {@code WGMMA_PINGPONG} also makes the two consumer
 * warpgroups take turns issuing (named barriers 1 and 2), so one's softmax overlaps the other's
 * products. Where the lists carry them ({@link KernelConfig#listGroups}), the overlapped schedules
 * read each warpgroup's own class of a tile from its list entry: a warpgroup skips the tiles hidden
 * from its 64 rows (those past a causal diagonal or before a sliding window, where the block's
 * other rows still need them) and leaves the mask out of those it sees whole.
 */
final class WgmmaEmitter extends FlashEmitter {
    private static final int ROW_BYTES = 128, GROUP_BYTES = 8 * ROW_BYTES, WARPGROUP = 128;

    private final int qChunk, kChunk, vChunk;
    private final int kBase, vBase, barrierBase;
    private final String mmaS, mmaO;
    /** A ragged batch's kernel: cp.async from every producer thread instead of TMA. */
    private final boolean copies;
    /** The lists say which tiles each warpgroup sees none or all of ({@link KernelConfig#listGroups}): hidden ones it skips. */
    private final boolean groupBits;

    private WgmmaEmitter(LoweredPattern lowered, KernelConfig config) {
        super(lowered, config);
        this.qChunk = config.blockM() * ROW_BYTES;
        this.kChunk = config.blockN() * ROW_BYTES;
        this.vChunk = config.blockN() * ROW_BYTES;
        this.kBase = config.qBytes();
        this.vBase = kBase + config.stages() * config.kStageBytes();
        this.barrierBase = vBase + config.stages() * config.vStageBytes();
        String type = config.mmaType();
        this.mmaS = "wgmma.mma_async.sync.aligned.m64n" + config.blockN() + "k16.f32." + type + "." + type;
        this.mmaO = "wgmma.mma_async.sync.aligned.m64n" + config.valueDim() + "k16.f32." + type + "." + type;
        this.copies = config.decode().ragged();
        this.groupBits = config.listGroups() > 0 && !lowered.alwaysVisible();
    }

    static String render(LoweredPattern pattern, KernelConfig config) {
        return new WgmmaEmitter(pattern, config).emit();
    }

    private String emit() {
        setUpPrograms();
        out.op("mov.u32", out.u32("%tid_x"), "%tid.x");
        signature.loadParams(out);
        leaves.blockOrWorkEntry(out);
        if (copies) {
            TileLoader.raggedTileList(out);
        } else {
            out.op("mad.lo.s32", out.s32("%kv_bh"), "%b", "%Hkv", "%hk");
            TileLoader.tileList(out, false);
        }
        sharedLayout();
        initBarriers();
        Mbarriers.splitRoles(out, this::consumer, copies ? this::copyingProducer : this::producer);
        return signature.header(ENTRY) + "\n.maxntid " + config.threads() + ", 1, 1\n.minnctapersm 1\n{\n" + out.render() + "}\n";
    }

    /** The 1024-aligned base of the dynamic shared memory, the Q, K and V buffers and the mbarriers. */
    private void sharedLayout() {
        out.blank().comment("shared memory, 1024-aligned for the 128-byte swizzle: Q, K stages, V stages, mbarriers");
        String base = Mbarriers.alignedBase(out);
        out.op("mov.u32", out.u32("%smem_q"), base);
        out.op("add.u32", out.u32("%smem_k"), base, kBase);
        out.op("add.u32", out.u32("%smem_v"), base, vBase);
        out.op("add.u32", out.u32("%bar_q"), base, barrierBase);
        int offset = barrierBase + 8;
        for (String name : new String[] {"%bar_full_k", "%bar_full_v", "%bar_empty_k", "%bar_empty_v"}) {
            out.op("add.u32", out.u32(name), base, offset);
            offset += 8 * config.stages();
        }
    }

    /**
     * Thread 0 sets the barriers up: full ones (and Q's) complete on the producer's arrival and the
     * TMA copies' bytes, or on each producer thread's cp.async arrival; empty ones on every consumer's.
     */
    private void initBarriers() {
        int fillers = copies ? KernelConfig.PRODUCER_THREADS : 1;
        String done = out.newLabel("barriers_ready");
        out.op("setp.ne.u32", out.pred("%not_first"), "%tid_x", 0);
        out.op("@%not_first bra", done);
        out.op("mbarrier.init.shared::cta.b64", "[%bar_q]", fillers);
        for (int s = 0; s < config.stages(); s++) {
            out.op("mbarrier.init.shared::cta.b64", "[%bar_full_k+" + 8 * s + "]", fillers);
            out.op("mbarrier.init.shared::cta.b64", "[%bar_full_v+" + 8 * s + "]", fillers);
            out.op("mbarrier.init.shared::cta.b64", "[%bar_empty_k+" + 8 * s + "]", WARPGROUP * config.consumerGroups());
            out.op("mbarrier.init.shared::cta.b64", "[%bar_empty_v+" + 8 * s + "]", WARPGROUP * config.consumerGroups());
        }
        out.op("fence.mbarrier_init.release.cluster");
        out.label(done);
        out.op("bar.sync", 0);
    }

    // ---- producer ----

    private void producer() {
        out.blank().comment("producer warpgroup: one thread issues every copy; the others leave their registers to the consumers");
        out.op("setmaxnreg.dec.sync.aligned.u32", config.producerRegisters());
        String done = out.newLabel("producer_done");
        out.op("setp.ne.u32", out.pred("%not_issuer"), "%tid_x", 0);
        out.op("@%not_issuer bra", done);
        out.comment("Q: " + config.blockM() + " rows from q_start, once");
        out.op("mbarrier.arrive.expect_tx.shared::cta.b64", "_", "[%bar_q]", config.qBytes());
        for (int c = 0; c < KernelConfig.swizzleChunks(config.headDim()); c++) {
            Mbarriers.copy(out, "%smem_q", c * qChunk, "%tmap_q", c, "%q_start", "%bh", "%bar_q");
        }
        out.comment("K and V tiles of the list into the ring, each stage once the consumers have released it");
        ring(() -> {
            tensorTile("k", "%p_k_dst", config.headDim(), kChunk, config.kStageBytes());
            tensorTile("v", "%p_v_dst", config.valueDim(), vChunk, config.vStageBytes());
        });
        out.label(done);
        out.op("ret");
    }

    /**
     * The producer's walk of the tile list: for entry {@code %p_i}, its first key {@code %p_kv},
     * stage {@code %p_stage} and that stage's barriers and free parity, {@code fill} copies K and V;
     * then it leaves only when the consumers have released every stage, so that no copy outlives
     * the block's use of it.
     */
    private void ring(Runnable fill) {
        out.op("mov.s32", out.s32("%p_i"), 0);
        out.op("mov.s32", out.s32("%p_stage"), 0);
        out.op("mov.u32", out.u32("%p_phase"), 0);
        String loop = out.newLabel("produce"), tail = out.newLabel("producer_tail");
        out.label(loop);
        out.op("setp.ge.s32", out.pred("%p_end"), "%p_i", "%tile_count");
        out.op("@%p_end bra.uni", tail);
        entry("%p_i", "%p_entry");
        out.op("and.b32", out.s32("%p_tile"), "%p_entry", PtxModule.TILE_MASK);
        out.op("mul.lo.s32", out.s32("%p_kv"), "%p_tile", config.blockN());
        stageAddresses("%p_stage", "%p");
        out.op("xor.b32", out.u32("%p_free"), "%p_phase", 1);
        fill.run();
        advance("%p_i", "%p_stage", "%p_phase");
        out.op("bra.uni", loop);
        out.label(tail);
        for (int s = 0; s < config.stages(); s++) {
            stageAddresses("%p_stage", "%p");
            out.op("xor.b32", "%p_free", "%p_phase", 1);
            Mbarriers.waitParity(out, "%p_bar_empty_k", "%p_free");
            Mbarriers.waitParity(out, "%p_bar_empty_v", "%p_free");
            advance("%p_i", "%p_stage", "%p_phase");
        }
    }

    /**
     * The ragged kernel's producer: all 128 threads copy Q's rows of this sequence (packed
     * [totalQ, H, D]) once, then each listed K and V tile's rows through the block table into the
     * ring, each stage once the consumers have released it; every thread's copies of a buffer
     * arrive on its full barrier when they complete.
     */
    private void copyingProducer() {
        out.blank().comment("producer warpgroup (ragged batch): every thread copies 16-byte chunks with cp.async into the swizzled buffers");
        out.op("setmaxnreg.dec.sync.aligned.u32", config.producerRegisters());
        SwizzledCopies q = new SwizzledCopies(out, "q", config.headDim(), config.blockM());
        SwizzledCopies k = new SwizzledCopies(out, "k", config.headDim(), config.blockN());
        SwizzledCopies v = new SwizzledCopies(out, "v", config.valueDim(), config.blockN());
        out.comment("Q: rows q_start.. of sequence b, head h; rows past its queries zero-filled");
        q.packedRows("%smem_q");
        out.op("cp.async.mbarrier.arrive.noinc.shared::cta.b64", "[%bar_q]");
        out.comment("K and V tiles of the list, each row's page from the block table; rows past the sequence's keys zero-filled");
        out.op("mad.lo.s32", out.s32("%table_row"), "%b", "%max_pages", 0);
        out.op("shl.b32", out.s32("%page_mask"), 1, "%page_shift");
        out.op("sub.s32", "%page_mask", "%page_mask", 1);
        ring(() -> {
            copiedTile(k, "k", config.kStageBytes());
            copiedTile(v, "v", config.vStageBytes());
        });
        out.op("ret");
    }

    /** One K or V tile by cp.async: wait for its stage to be free, copy its rows, arrive on its full barrier when they land. */
    private void copiedTile(SwizzledCopies rows, String tensor, int stageBytes) {
        String destination = out.u32("%p_" + tensor + "_dst");
        Mbarriers.waitParity(out, "%p_bar_empty_" + tensor, "%p_free");
        out.op("mad.lo.s32", destination, "%p_stage", stageBytes, "%smem_" + tensor);
        rows.pagedRows(destination, "%p_kv");
        out.op("cp.async.mbarrier.arrive.noinc.shared::cta.b64", "[%p_bar_full_" + tensor + "]");
    }

    /**
     * Waits until a buffer has landed. cp.async writes through the generic proxy and wgmma reads
     * through the async one: after the wait, a proxy fence orders the two for this thread.
     */
    private void landed(String barrier, String parity) {
        Mbarriers.waitParity(out, barrier, parity);
        if (copies) out.op("fence.proxy.async.shared::cta");
    }

    /** One K or V tile: wait for its stage to be free, announce its bytes, copy it in 64-column chunks. */
    private void tensorTile(String tensor, String destination, int width, int chunkBytes, int stageBytes) {
        Mbarriers.waitParity(out, "%p_bar_empty_" + tensor, "%p_free");
        out.op("mbarrier.arrive.expect_tx.shared::cta.b64", "_", "[%p_bar_full_" + tensor + "]", stageBytes);
        out.op("mad.lo.s32", out.u32(destination), "%p_stage", stageBytes, "%smem_" + tensor);
        for (int c = 0; c < KernelConfig.swizzleChunks(width); c++) {
            Mbarriers.copy(out, destination, c * chunkBytes, "%tmap_" + tensor, c, "%p_kv", "%kv_bh", "%p_bar_full_" + tensor);
        }
    }

    // ---- consumers ----

    private void consumer() {
        out.blank().comment("consumer warpgroups: 64 query rows each");
        out.op("setmaxnreg.inc.sync.aligned.u32", config.consumerRegisters());
        KernelLeaves.threadIndices(out, KernelConfig.PRODUCER_THREADS);
        out.op("shr.s32", out.s32("%wg"), "%warp", 2);
        setUpRows();
        initialiseRowState();
        descriptors();
        String epilogue = out.newLabel("epilogue");
        out.comment("Q has landed");
        out.op("mov.u32", out.u32("%zero_parity"), 0);
        landed("%bar_q", "%zero_parity");
        out.op("setp.lt.s32", out.pred("%no_tiles"), "%tile_count", 1);
        out.op("@%no_tiles bra.uni", epilogue);
        out.op("setp.ne.s32", out.pred("%scale_zero"), 0, 0);
        out.op("setp.eq.s32", out.pred("%scale_one"), 0, 0);
        if (config.schedule().pingPong()) {
            out.comment("ping-pong: the consumer warpgroups issue in turn, warpgroup 0 first");
            out.op("add.s32", out.s32("%my_turn"), "%wg", 1);
            out.op("rem.s32", out.s32("%their_turn"), "%my_turn", config.consumerGroups());
            out.op("add.s32", "%their_turn", "%their_turn", 1);
            out.op("setp.eq.s32", out.pred("%last_wg"), "%wg", config.consumerGroups() - 1);
            out.op("@%last_wg bar.arrive", 1, 2 * WARPGROUP);
        }
        out.op("mov.s32", out.s32("%c_i"), 0);
        out.op("mov.s32", out.s32("%c_stage"), 0);
        out.op("mov.u32", out.u32("%c_phase"), 0);
        out.op("sub.s32", out.s32("%tile_last"), "%tile_count", 1);
        entry("%c_i", "%next_entry");
        if (groupBits) {
            skippingLoop();
        } else if (config.schedule().overlap()) {
            overlappedLoop();
        } else {
            sequentialLoop();
        }
        out.label(epilogue);
        finish();
        out.op("ret");
    }

    /** Each tile in turn: S = Q·Kᵀ, the pattern and softmax, O += P·V. */
    private void sequentialLoop() {
        String loop = out.newLabel("tile_loop"), done = out.newLabel("tiles_done");
        out.blank().comment("walk the visible key/value tiles of this query block");
        out.label(loop);
        out.op("setp.ge.s32", out.pred("%tiles_end"), "%c_i", "%tile_count");
        out.op("@%tiles_end bra.uni", done);
        currentTile();
        scoresAlone();
        landed("%c_bar_full_v", "%c_phase");
        issue(() -> values());
        out.op("wgmma.wait_group.sync.aligned", 0);
        Mbarriers.arrive(out, "%c_bar_empty_v");
        advance("%c_i", "%c_stage", "%c_phase");
        out.op("bra.uni", loop);
        out.label(done);
    }

    /**
     * S of tile i issued with P·V of tile i−1, the softmax of tile i under P·V, O rescaled after it:
     * the first tile's S alone before the loop, the last tile's P·V alone after it.
     */
    private void overlappedLoop() {
        out.blank().comment("first tile: S alone");
        currentTile();
        firstScores();
        String done = out.newLabel("tiles_done");
        out.blank().comment("the other tiles: S of this tile and P*V of the previous one together");
        pendingLoop(null, done);
        out.label(done);
        out.comment("last tile: P*V alone");
        pendingValues(true);
    }

    /**
     * {@link #overlappedLoop} for lists with warpgroup bits, in two states. With no P pending (at
     * the start, and after a tile hidden from these rows), a hidden tile is released and the next
     * tile seen runs its S alone. With P pending, a seen tile runs {@link #overlappedTile} as in
     * the plain loop, and a hidden one issues the pending P·V alone and is released. Each tile
     * takes one issue turn either way, so the warpgroups' ping-pong turns stay in step; and every
     * wgmma sits on a path some tile takes whatever the bits, which keeps ptxas from serializing
     * them (C7520).
     */
    private void skippingLoop() {
        String idle = out.newLabel("nothing_pending"), seen = out.newLabel("first_seen");
        String hidden = out.newLabel("tile_hidden"), done = out.newLabel("tiles_done"), idleDone = out.newLabel("done_idle");
        String finished = out.newLabel("tiles_finished");
        out.blank().comment("no P pending: tiles hidden from these rows are released, the next one seen runs S alone");
        out.label(idle);
        out.op("setp.ge.s32", out.pred("%tiles_end"), "%c_i", "%tile_count");
        out.op("@%tiles_end bra.uni", idleDone);
        currentTile();
        out.op("@!%tile_hidden bra.uni", seen);
        release(() -> issue(() -> {}));
        out.op("bra.uni", idle);
        out.label(seen);
        firstScores();

        out.blank().comment("P pending: S of this tile and P*V of the previous one together, unless hidden from these rows");
        pendingLoop(hidden, done);
        out.label(hidden);
        release(() -> pendingValues(false));
        out.op("bra.uni", idle);

        out.label(done);
        out.comment("last: the pending P*V");
        pendingValues(true);
        out.op("bra.uni", finished);
        out.label(idleDone);
        out.comment("last, with nothing pending: the turn alone");
        issueLast(() -> {});
        out.label(finished);
    }

    /** The current tile's S with nothing pending: it becomes the previous tile of the next one. */
    private void firstScores() {
        scoresAlone();
        keepPrevious();
        advance("%c_i", "%c_stage", "%c_phase");
    }

    /**
     * The loop of both schedules once P is pending: {@link #overlappedTile} for each tile until the
     * list ends (a branch to {@code done}); with {@code hidden}, a tile hidden from these rows
     * branches there instead.
     */
    private void pendingLoop(String hidden, String done) {
        String loop = out.newLabel("tile_loop");
        out.label(loop);
        out.op("setp.ge.s32", out.pred("%tiles_end"), "%c_i", "%tile_count");
        out.op("@%tiles_end bra.uni", done);
        currentTile();
        if (hidden != null) out.op("@%tile_hidden bra.uni", hidden);
        landed("%c_bar_full_k", "%c_phase");
        maskColumns();
        overlappedTile();
        advance("%c_i", "%c_stage", "%c_phase");
        out.op("bra.uni", loop);
    }

    /**
     * S of the current tile (K landed, its columns masked) issued with P·V of the previous one, the
     * softmax under P·V, O rescaled after it.
     */
    private void overlappedTile() {
        landed("%c_prev_bar_full_v", "%c_prev_phase");
        issue(() -> {
            scores();
            values("%c_prev_v");
        });
        out.op("wgmma.wait_group.sync.aligned", 1);
        Mbarriers.arrive(out, "%c_bar_empty_k");
        weights(false);
        out.op("wgmma.wait_group.sync.aligned", 0);
        Mbarriers.arrive(out, "%c_prev_bar_empty_v");
        if (softmax()) rescaleAfterValues();
        packWeights();
        keepPrevious();
    }

    /**
     * A tile hidden from these rows: its buffers released once landed, its ping-pong turn taken
     * with {@code turn}'s products (none, or the pending P·V), then the next tile.
     */
    private void release(Runnable turn) {
        out.comment("hidden from these rows: release its buffers once landed, the turn taken");
        landed("%c_bar_full_k", "%c_phase");
        Mbarriers.arrive(out, "%c_bar_empty_k");
        turn.run();
        landed("%c_bar_full_v", "%c_phase");
        Mbarriers.arrive(out, "%c_bar_empty_v");
        advance("%c_i", "%c_stage", "%c_phase");
    }

    /** The pending P·V as this turn's only products ({@code last}: the warpgroup's last turn), its V released after it. */
    private void pendingValues(boolean last) {
        landed("%c_prev_bar_full_v", "%c_prev_phase");
        if (last) issueLast(() -> values("%c_prev_v")); else issue(() -> values("%c_prev_v"));
        out.op("wgmma.wait_group.sync.aligned", 0);
        Mbarriers.arrive(out, "%c_prev_bar_empty_v");
    }

    /** The current tile's S with nothing else in flight, then the whole softmax and P packed for O += P·V. */
    private void scoresAlone() {
        landed("%c_bar_full_k", "%c_phase");
        maskColumns();
        issue(() -> scores());
        out.op("wgmma.wait_group.sync.aligned", 0);
        Mbarriers.arrive(out, "%c_bar_empty_k");
        weights(true);
        packWeights();
    }

    /** The stage just consumed, whose V is multiplied with the next tile's S. */
    private void keepPrevious() {
        out.op("mov.u32", out.u32("%c_prev_bar_full_v"), "%c_bar_full_v");
        out.op("mov.u32", out.u32("%c_prev_bar_empty_v"), "%c_bar_empty_v");
        out.op("mov.u32", out.u32("%c_prev_phase"), "%c_phase");
        out.op("mov.u32", out.u32("%c_prev_v"), "%c_v_desc_lo");
    }

    /**
     * The pattern's score and mask, then the weights: with {@code rescaleNow} (O not in flight)
     * the whole online softmax; without, the row max and weights only, O left for
     * {@link #rescaleAfterValues}.
     */
    private void weights(boolean rescaleNow) {
        maskAndScore();
        if (!softmax()) {
            applyMask();
            return;
        }
        if (rescaleNow) {
            softmaxUpdate();
            return;
        }
        applyMask();
        out.comment("online softmax, base 2, while P*V of the previous tile computes: O is rescaled after it");
        String grows = tileMaxAndVote(), keep = out.newLabel("max_kept");
        out.op("vote.sync.any.pred", grows, grows, "0xffffffff");
        for (int r = 0; r < rows; r++) out.op("mov.f32", out.f32("%alpha_r" + r), "0f3F800000");
        out.op("@!" + grows + " bra.uni", keep);
        for (int r = 0; r < rows; r++) {
            String max = "%row_max_r" + r, newMax = "%new_max_r" + r, alpha = "%alpha_r" + r;
            out.op("sub.f32", alpha, max, safe(newMax, r));
            out.op("ex2.approx.ftz.f32", alpha, alpha);
            out.op("mov.f32", max, newMax);
        }
        out.label(keep);
        exponentiate("%tile_sum_r", false);
    }

    /** O brought to the tile's max when some row's max grew (alpha is 1 otherwise), then the tile's weights added to the sums. */
    private void rescaleAfterValues() {
        String kept = out.newLabel("o_kept");
        out.op("@!%max_grows bra.uni", kept);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < valueCols; c++) out.op("mul.f32", Fragments.accAt(r, c), Fragments.accAt(r, c), "%alpha_r" + r);
        }
        out.label(kept);
        for (int r = 0; r < rows; r++) out.op("fma.rn.f32", "%row_sum_r" + r, "%row_sum_r" + r, "%alpha_r" + r, "%tile_sum_r" + r);
    }

    /**
     * The current entry of the tile list (loaded a tile ahead, so its latency hides under the
     * previous tile's work): its first kv, whether it is FULL, and its stage's buffers and
     * barriers; then the load of the next entry.
     */
    private void currentTile() {
        out.op("mov.s32", out.s32("%entry"), "%next_entry");
        out.op("add.s32", out.s32("%c_next"), "%c_i", 1);
        out.op("min.s32", "%c_next", "%c_next", "%tile_last");
        entry("%c_next", "%next_entry");
        out.op("and.b32", out.s32("%kv_tile"), "%entry", PtxModule.TILE_MASK);
        out.op("mul.lo.s32", out.s32("%kv_first"), "%kv_tile", config.blockN());
        out.op("and.b32", out.s32("%full_bit"), "%entry", PtxModule.FULL_BIT);
        if (groupBits) {
            out.comment("this warpgroup's bits: the tile hidden from its rows, or seen whole by them");
            // Ping-pong keeps its turn, the warpgroup + 1, across the loop: shifting by it leaves %wg dead there.
            boolean turn = config.schedule().pingPong();
            out.op("shr.u32", out.u32("%group_entry"), "%entry", turn ? "%my_turn" : "%wg");
            out.op("and.b32", out.s32("%group_full"), "%group_entry", PtxModule.groupFull(0) >> (turn ? 1 : 0));
            out.op("or.b32", "%full_bit", "%full_bit", "%group_full");
            out.op("and.b32", out.s32("%hidden_bit"), "%group_entry", PtxModule.groupHidden(0) >> (turn ? 1 : 0));
            out.op("setp.ne.s32", out.pred("%tile_hidden"), "%hidden_bit", 0);
        }
        out.op("setp.ne.s32", out.pred("%tile_full"), "%full_bit", 0);
        stageAddresses("%c_stage", "%c");
        out.op("mad.lo.s32", out.u32("%c_k_addr"), "%c_stage", config.kStageBytes(), "%smem_k");
        out.op("mad.lo.s32", out.u32("%c_v_addr"), "%c_stage", config.vStageBytes(), "%smem_v");
        out.op("shr.u32", out.u32("%c_k_desc_lo"), "%c_k_addr", 4);
        out.op("or.b32", "%c_k_desc_lo", "%c_k_desc_lo", 1 << 16);
        out.op("shr.u32", out.u32("%c_v_desc_lo"), "%c_v_addr", 4);
        out.op("or.b32", "%c_v_desc_lo", "%c_v_desc_lo", (vChunk >> 4) << 16);
    }

    /**
     * The fixed halves of the shared-memory matrix descriptors: 128-byte swizzle (layout 1 in bits
     * 62–63), 1024 bytes between 8-row groups (bits 32–45, in 16-byte units); Q's start for this
     * warpgroup's 64 rows. K-major operands (Q, K) ignore the leading offset (set to 1); V, read
     * MN-major, steps 64 columns of d by a whole chunk.
     */
    private void descriptors() {
        out.op("mov.u32", out.u32("%desc_hi"), (GROUP_BYTES >> 4) | (1 << 30));
        out.op("mad.lo.s32", out.u32("%q_addr"), "%wg", 64 * ROW_BYTES, "%smem_q");
        out.op("shr.u32", out.u32("%q_desc_lo"), "%q_addr", 4);
        out.op("or.b32", "%q_desc_lo", "%q_desc_lo", 1 << 16);
    }

    /** S = Q·Kᵀ: one m64nBLOCK_Nk16 wgmma per 16 columns of the head dim, the first onto zero. */
    private void scores() {
        String[] s = new String[config.blockN() / 2];
        for (int nt = 0; nt < config.blockN() / 8; nt++) for (int i = 0; i < 4; i++) s[4 * nt + i] = out.f32(Fragments.score(0, nt, i));
        String a = out.b64("%desc_a"), b = out.b64("%desc_b"), lo = out.u32("%desc_lo");
        for (int kk = 0; kk < config.headDim() / 16; kk++) {
            int within = (kk % 4) * 32, chunk = kk / 4;
            out.op("add.u32", lo, "%q_desc_lo", (chunk * qChunk + within) >> 4);
            out.op("mov.b64", a, "{" + lo + ", %desc_hi}");
            out.op("add.u32", lo, "%c_k_desc_lo", (chunk * kChunk + within) >> 4);
            out.op("mov.b64", b, "{" + lo + ", %desc_hi}");
            out.op(mmaS, "{" + String.join(", ", s) + "}", a, b, kk == 0 ? "%scale_zero" : "%scale_one", 1, 1, 0, 0);
        }
        out.op("wgmma.commit_group.sync.aligned");
    }

    private void values() { values("%c_v_desc_lo"); }

    /** O += P·V: one m64nDvk16 wgmma per 16 keys, P from registers, V read transposed (MN-major). */
    private void values(String vDescriptor) {
        String[] o = new String[config.valueDim() / 2];
        for (int dt = 0; dt < config.valueDim() / 8; dt++) for (int i = 0; i < 4; i++) o[4 * dt + i] = out.f32(Fragments.acc(0, dt, i));
        String b = out.b64("%desc_b"), lo = out.u32("%desc_lo");
        for (int kk = 0; kk < config.blockN() / 16; kk++) {
            String[] p = new String[4];
            for (int j = 0; j < 4; j++) p[j] = out.b32(Fragments.probA(0, kk, j));
            out.op("add.u32", lo, vDescriptor, (kk * 2 * GROUP_BYTES) >> 4);
            out.op("mov.b64", b, "{" + lo + ", %desc_hi}");
            out.op(mmaO, "{" + String.join(", ", o) + "}", "{" + String.join(", ", p) + "}", b, "%scale_one", 1, 1, 1);
        }
        out.op("wgmma.commit_group.sync.aligned");
    }

    /** P as bf16 (fp16) pairs in the A-operand layout, from the score registers. */
    private void packWeights() {
        out.comment("P -> A fragments of O += P*V");
        for (int kk = 0; kk < config.blockN() / 16; kk++) {
            for (int j = 0; j < 4; j++) {
                int nt = 2 * kk + j / 2, base = (j % 2) * 2;
                out.op("cvt.rn." + config.mmaType() + "x2.f32", out.b32(Fragments.probA(0, kk, j)), Fragments.score(0, nt, base + 1), Fragments.score(0, nt, base));
            }
        }
    }

    /**
     * A block of wgmma issues: fenced (registers they read or write were touched); under
     * ping-pong, after the previous warpgroup's block, and then the next warpgroup's turn.
     */
    private void issue(Runnable products) {
        if (config.schedule().pingPong()) out.op("bar.sync", "%my_turn", 2 * WARPGROUP);
        out.op("wgmma.fence.sync.aligned");
        products.run();
        if (config.schedule().pingPong()) out.op("bar.arrive", "%their_turn", 2 * WARPGROUP);
    }

    /** The last issue block: the last warpgroup gives no turn after it, so no arrival is left on a barrier. */
    private void issueLast(Runnable products) {
        if (!config.schedule().pingPong()) {
            issue(products);
            return;
        }
        out.op("bar.sync", "%my_turn", 2 * WARPGROUP);
        out.op("wgmma.fence.sync.aligned");
        products.run();
        out.op("@!%last_wg bar.arrive", "%their_turn", 2 * WARPGROUP);
    }

    // ---- shared by both roles ----

    /** Entry {@code i} of this query block's tile list. */
    private void entry(String i, String entry) {
        String address = out.u64("%entry_addr"), offset = out.u64("%entry_offset");
        out.op("mul.wide.s32", offset, i, 4);
        out.op("add.s64", address, "%tile_list", offset);
        out.op("ld.global.s32", out.s32(entry), "[" + address + "+4]");
    }

    /** The barriers of stage {@code stage}, named {@code prefix}_bar_full_k etc. */
    private void stageAddresses(String stage, String prefix) {
        String offset = out.u32(prefix + "_bar_offset");
        out.op("shl.b32", offset, stage, 3);
        for (String name : new String[] {"full_k", "full_v", "empty_k", "empty_v"}) {
            out.op("add.u32", out.u32(prefix + "_bar_" + name), "%bar_" + name, offset);
        }
    }

    /** Next tile: index + 1, stage + 1 wrapping to 0, where the phase parity flips. */
    private void advance(String i, String stage, String phase) {
        String wrapped = out.pred(stage + "_wrapped");
        out.op("add.s32", i, i, 1);
        out.op("add.s32", stage, stage, 1);
        out.op("setp.eq.s32", wrapped, stage, config.stages());
        out.op("selp.s32", stage, 0, stage, wrapped);
        out.op("xor.b32", out.u32(phase + "_flip"), phase, 1);
        out.op("selp.b32", phase, phase + "_flip", phase, wrapped);
    }
}
