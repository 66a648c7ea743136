package attnc.ptx.emit;

import attnc.lower.LoweredPattern;

/**
 * MLA's split-KV decode ({@link Schedule#MMA_SYNC_COLUMNS}): eight warps share the block's rows
 * (a GQA group's heads packed, or a head's few queries). Per tile, warp w multiplies S for keys
 * 8w..8w+7 over the whole head dim, Q's fragments read from shared memory at every tile (at D =
 * 576 a row slice's fragments alone would take 144 registers); the warps' row maxima meet in
 * shared memory, so every warp applies the same max and rescale; each warp writes its weights
 * into the block's P tile and, after a barrier, accumulates its eighth of O's columns (64 of MLA's
 * 512) from all of P and V, which is K's first Dv columns in the same stage. Each warp's row sums cover its own keys
 * and are added across the warps at the end.
 */
final class ColumnSplitEmitter extends FlashEmitter {
    private final TileLoader loader;

    private ColumnSplitEmitter(LoweredPattern lowered, KernelConfig config) {
        super(lowered, config);
        if (!config.schedule().columns()) throw new IllegalArgumentException("not a column-split decode: " + config.tag());
        this.loader = new TileLoader(out, config);
    }

    /** The entry's text (without the module header). */
    static String render(LoweredPattern pattern, KernelConfig config) {
        return new ColumnSplitEmitter(pattern, config).emit();
    }

    private String emit() {
        setUpPrograms();
        leaves.setUp(out);
        setUpRows();
        loader.setUp(leaves);
        TileLoader.splitList(out);
        exchangeAddresses(out, config, rows);
        out.blank().comment("Q tile → shared memory (cp.async), where every warp reads its fragments at every tile");
        loader.loadQuery();
        loader.prefetch();
        initialiseRowState();
        tileLoop();
        finish();
        MergeEmitter.mergeWhenLast(out, lowered, config, "%smem_k");
        return signature.header(ENTRY) + "\n.maxntid " + config.threads() + ", 1, 1\n{\n" + out.render() + "}\n";
    }

    /**
     * The exchange areas after the K stages: P ({@code %smem_p}, rows of {@link
     * KernelConfig#weightStride} bytes) and a float a warp for each row ({@code %x_row_r}: row r's
     * eight; {@code %x_warp}: this warp's among them), written by the first thread of each quad.
     */
    private static void exchangeAddresses(PtxWriter out, KernelConfig config, int rows) {
        out.blank().comment("exchanges: P [rows][keys] bf16, then a float per row and warp (tile maxima, row sums)");
        out.op("mov.u32", out.u32("%smem_p"), "%smem_v");
        out.op("add.u32", out.u32("%smem_x"), "%smem_p", config.blockM() * config.weightStride());
        out.op("mul.lo.s32", out.s32("%x_warp"), "%warp", 4);
        // P's A fragments, as Q's: (rows 0-7, keys lo), (rows 8-15, keys lo), (rows 0-7, keys hi), (rows 8-15, keys hi).
        TileLoader.laneAddress(out, "%lane_p_off", 1, 2, config.weightStride());
        out.op("add.u32", out.u32("%lane_p_addr"), "%smem_p", "%lane_p_off");
        out.op("setp.eq.s32", out.pred("%quad_leader"), "%t", 0);
        for (int r = 0; r < rows; r++) out.op("mad.lo.s32", out.u32("%x_row_r" + r), "%row_r" + r, 4 * config.warps(), "%smem_x");
    }

    /** Every warp's {@code value + r} for each row meet: written, a barrier, then {@code op} over the warps' into {@code value + r}. */
    static void acrossWarps(PtxWriter out, KernelConfig config, int rows, String value, String op) {
        for (int r = 0; r < rows; r++) {
            out.op("add.u32", out.u32("%x_mine"), "%x_row_r" + r, "%x_warp");
            out.op("@%quad_leader st.shared.f32", "[%x_mine]", value + r);
        }
        out.op("bar.sync", 0);
        String[] parts = new String[config.warps()];
        for (int w = 0; w < parts.length; w++) parts[w] = out.f32("%x_part_" + w);
        for (int r = 0; r < rows; r++) {
            for (int w = 0; w < parts.length; w += 4) {
                out.op("ld.shared.v4.f32", "{" + String.join(", ", parts[w], parts[w + 1], parts[w + 2], parts[w + 3]) + "}",
                        "[%x_row_r" + r + "+" + 4 * w + "]");
            }
            for (int width = 1; width < parts.length; width *= 2) {
                for (int w = 0; w + width < parts.length; w += 2 * width) out.op(op, parts[w], parts[w], parts[w + width]);
            }
            out.op("mov.f32", value + r, parts[0]);
        }
    }

    @Override
    void shareTileMaxima() {
        out.comment("the tile's row maxima over every warp's keys");
        acrossWarps(out, config, rows, "%tile_max_r", "max.f32");
    }

    private void tileLoop() {
        tileLoop(loader, loader::readNextEntry, () -> {
            maskColumns();
            scores();
            maskAndScore();
            if (softmax()) softmaxUpdate();
            else applyMask();
            shareWeights();
            accumulate();
        });
    }

    /**
     * S = Q·Kᵀ for the warp's 8 keys: a load of K fragments covers two 16-column steps, and the
     * steps take turns among {@link #scoreChains} accumulators, so that the products of a step do
     * not wait on the step before.
     */
    private void scores() {
        out.comment("S = Q·Kᵀ for this warp's keys, Q's fragments from shared memory");
        String zero = out.f32("%zero");
        out.op("mov.f32", zero, "0f00000000");
        zeros = new String[] {zero, zero, zero, zero};
        int pairs = config.headDim() / 32;
        if (pipelined()) {
            // Double-buffered: the fragments of the next 32 columns load while this step's products run.
            scoreLoads(0, 0);
            for (int pair = 0; pair < pairs; pair++) {
                if (pair + 1 < pairs) scoreLoads(pair + 1, (pair + 1) % 2);
                for (int mt = 0; mt < config.mTiles(); mt++) {
                    for (int half = 0; half < 2; half++) scoreProduct(pair, mt, half, queryFragment(pair % 2, mt, half), keyFragment(pair % 2));
                }
            }
        } else {
            for (int pair = 0; pair < pairs; pair++) {
                String[] b = keyFragment(0);
                out.op("add.u32", out.u32("%k_frag_addr"), "%lane_k_addr", pair * 64);
                out.op("ldmatrix.sync.aligned.m8n8.x4.shared.b16", "{" + String.join(", ", b) + "}", "[%k_frag_addr]");
                for (int mt = 0; mt < config.mTiles(); mt++) {
                    for (int half = 0; half < 2; half++) {
                        String[] a = queryFragment(0, 0, 0);
                        loadQuery(a, pair, mt, half);
                        scoreProduct(pair, mt, half, a, b);
                    }
                }
            }
        }
        int chains = scoreChains();
        for (int mt = 0; mt < config.mTiles(); mt++) {
            for (int i = 0; i < 4; i++) {
                for (int width = 1; width < chains; width *= 2) {
                    for (int c = 0; c + width < chains; c += 2 * width) out.op("add.f32", chainScore(c, mt, i), chainScore(c, mt, i), chainScore(c + width, mt, i));
                }
            }
        }
    }

    private String[] zeros;

    /**
     * Whether the fragment loads of the next step are issued before this step's products: up to two
     * row slices, whose registers allow the second set (ncu at one slice: a stall on shared memory
     * after 4 of every 10 issued instructions, the products waiting on the ldmatrix just before them).
     */
    private boolean pipelined() { return config.mTiles() <= 2; }

    private String[] keyFragment(int set) {
        String[] b = new String[4];
        for (int j = 0; j < 4; j++) b[j] = out.b32("%kb" + set + "_" + j);
        return b;
    }

    private String[] queryFragment(int set, int mt, int half) {
        String[] a = new String[4];
        for (int j = 0; j < 4; j++) a[j] = out.b32("%qa" + set + "_m" + mt + "_h" + half + "_" + j);
        return a;
    }

    /** The K fragment of 32-column slice {@code pair} and every Q fragment of it into buffer set {@code set}. */
    private void scoreLoads(int pair, int set) {
        out.op("add.u32", out.u32("%k_frag_addr"), "%lane_k_addr", pair * 64);
        out.op("ldmatrix.sync.aligned.m8n8.x4.shared.b16", "{" + String.join(", ", keyFragment(set)) + "}", "[%k_frag_addr]");
        for (int mt = 0; mt < config.mTiles(); mt++) {
            for (int half = 0; half < 2; half++) loadQuery(queryFragment(set, mt, half), pair, mt, half);
        }
    }

    private void loadQuery(String[] a, int pair, int mt, int half) {
        out.op("add.u32", out.u32("%q_frag_addr"), "%lane_q_addr", mt * 16 * config.qStride() + (2 * pair + half) * 32);
        out.op("ldmatrix.sync.aligned.m8n8.x4.shared.b16", "{" + String.join(", ", a) + "}", "[%q_frag_addr]");
    }

    private void scoreProduct(int pair, int mt, int half, String[] a, String[] b) {
        int step = 2 * pair + half, chains = scoreChains();
        String[] d = new String[4];
        for (int i = 0; i < 4; i++) d[i] = out.f32(chainScore(step % chains, mt, i));
        out.op(Fragments.mma(config.mmaType(), d, a, b[2 * half], b[2 * half + 1], step < chains ? zeros : d));
    }

    /**
     * Accumulators S's steps take turns on: four for one row slice, where registers are plenty
     * (127 a thread with four or two, ptxas -arch=sm_90a -v), two for more (three slices use 246 with two).
     */
    private int scoreChains() { return config.mTiles() == 1 ? 4 : 2; }

    /** Accumulator {@code chain} of S's register {@code i} of row slice {@code mt}; chain 0 is S itself. */
    private static String chainScore(int chain, int mt, int i) {
        return chain == 0 ? Fragments.score(mt, 0, i) : "%s_chain" + chain + "_m" + mt + "_" + i;
    }

    /** The warp's weights, in the input precision, into its 8 columns of the block's P tile; then a barrier. */
    private void shareWeights() {
        out.comment("P: this warp's weights into its columns of the block's tile");
        String address = out.u32("%p_store"), pair = out.b32("%p_pair");
        String lane = out.u32("%p_lane");
        out.op("mad.lo.s32", lane, "%warp", config.warpKeyCount() * 2, "%smem_p");
        out.op("mad.lo.s32", lane, "%t", 4, lane);
        for (int r = 0; r < rows; r++) {
            out.op("mad.lo.s32", address, "%row_r" + r, config.weightStride(), lane);
            out.op("cvt.rn." + config.mmaType() + "x2.f32", pair, Fragments.scoreAt(r, 1), Fragments.scoreAt(r, 0));
            out.op("st.shared.b32", "[" + address + "]", pair);
        }
        out.op("bar.sync", 0);
    }

    /** O's columns of this warp += P·V over the tile's keys, P's fragments from shared memory, V's from K's stage. */
    private void accumulate() {
        out.comment("O (this warp's columns) += P·V");
        int steps = config.blockN() / 16;
        if (pipelined()) {
            valueLoads(0, 0);
            for (int kk = 0; kk < steps; kk++) {
                if (kk + 1 < steps) valueLoads(kk + 1, (kk + 1) % 2);
                for (int dp = 0; dp < config.warpValueDim() / 16; dp++) valueProducts(kk % 2, dp);
            }
            return;
        }
        for (int kk = 0; kk < steps; kk++) {
            weightLoads(kk, 0);
            for (int dp = 0; dp < config.warpValueDim() / 16; dp++) {
                valueLoad(kk, 0, dp);
                valueProducts(0, dp);
            }
        }
    }

    private String[] weightFragment(int set, int mt) {
        String[] a = new String[4];
        for (int j = 0; j < 4; j++) a[j] = out.b32("%pa" + set + "_m" + mt + "_" + j);
        return a;
    }

    private String[] valueFragment(int set, int dp) {
        String[] b = new String[4];
        for (int j = 0; j < 4; j++) b[j] = out.b32("%vb" + set + "_" + (pipelined() ? dp : 0) + "_" + j);
        return b;
    }

    /** P's fragments of keys 16·kk… and every V fragment of the warp's columns for them into buffer set {@code set}. */
    private void valueLoads(int kk, int set) {
        weightLoads(kk, set);
        for (int dp = 0; dp < config.warpValueDim() / 16; dp++) valueLoad(kk, set, dp);
    }

    private void weightLoads(int kk, int set) {
        for (int mt = 0; mt < config.mTiles(); mt++) {
            out.op("add.u32", out.u32("%p_frag_addr"), "%lane_p_addr", mt * 16 * config.weightStride() + kk * 32);
            out.op("ldmatrix.sync.aligned.m8n8.x4.shared.b16", "{" + String.join(", ", weightFragment(set, mt)) + "}", "[%p_frag_addr]");
        }
    }

    private void valueLoad(int kk, int set, int dp) {
        String address = out.u32("%v_frag_addr");
        loader.fragmentAddress(address, "v", kk, dp);
        out.op("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16", "{" + String.join(", ", valueFragment(set, dp)) + "}", "[" + address + "]");
    }

    private void valueProducts(int set, int dp) {
        String[] b = valueFragment(set, dp);
        for (int mt = 0; mt < config.mTiles(); mt++) {
            for (int half = 0; half < 2; half++) {
                int dt = 2 * dp + half;
                String[] d = {Fragments.acc(mt, dt, 0), Fragments.acc(mt, dt, 1), Fragments.acc(mt, dt, 2), Fragments.acc(mt, dt, 3)};
                out.op(Fragments.mma(config.mmaType(), d, weightFragment(set, mt), b[2 * half], b[2 * half + 1], d));
            }
        }
    }
}
