package attnc.ptx.emit;

import attnc.lower.LoweredPattern;

/**
 * The flash-attention forward kernel of one pattern as PTX (FlashAttention-2's schedule on
 * mma.sync): a block owns {@code blockM} queries, each warp 16·mTiles of them with Q held in
 * registers; the block walks its list of key/value tiles (from the tile map: EMPTY tiles are
 * absent, FULL tiles skip the mask), loading them {@code stages} deep with cp.async. Per tile:
 * S = Q·Kᵀ (ldmatrix + mma), the score expression, the mask (PARTIAL tiles only), the online
 * softmax in base 2 (log2 e folded into the scale), and O += P·V with P straight from registers.
 */
final class MmaSyncEmitter extends FlashEmitter {
    private final TileLoader loader;

    private MmaSyncEmitter(LoweredPattern lowered, KernelConfig config) {
        super(lowered, config);
        this.loader = new TileLoader(out, config);
    }

    /** The entry's text (without the module header). */
    static String render(LoweredPattern pattern, KernelConfig config) {
        return new MmaSyncEmitter(pattern, config).emit();
    }

    private String emit() {
        setUpPrograms();
        leaves.setUp(out);
        setUpRows();
        loader.setUp(leaves);
        if (config.decode().splits()) TileLoader.splitList(out);
        loadQuery();
        initialiseRowState();
        tileLoop();
        finish();
        if (config.decode().splits()) MergeEmitter.mergeWhenLast(out, lowered, config, "%smem_k");
        return signature.header(ENTRY) + "\n.maxntid " + config.threads() + ", 1, 1\n{\n" + out.render() + "}\n";
    }

    private void loadQuery() {
        out.blank().comment("Q tile → shared memory (cp.async), then into mma A fragments held for the whole loop");
        loader.loadQuery();
        loader.prefetch();
        out.op("cp.async.wait_group", config.tilesAhead());
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

    private void tileLoop() {
        tileLoop(loader, () -> {}, () -> {
            maskColumns();
            scores();
            maskAndScore();
            if (softmax()) softmaxUpdate();
            else applyMask();
            accumulate();
        });
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
            for (int np = 0; np < config.warpKeyCount() / 16; np++) {
                loader.fragmentAddress(address, "k", np, kc);
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

    /** O += P·V, P converted to the input precision straight from the score registers. */
    private void accumulate() {
        out.comment("O += P·V");
        String type = config.mmaType();
        for (int mt = 0; mt < config.mTiles(); mt++) {
            for (int kk = 0; kk < config.warpKeyCount() / 16; kk++) {
                for (int j = 0; j < 4; j++) {
                    int nt = 2 * kk + j / 2;
                    int base = (j % 2) * 2;
                    out.op("cvt.rn." + type + "x2.f32", out.b32(Fragments.probA(mt, kk, j)), Fragments.score(mt, nt, base + 1), Fragments.score(mt, nt, base));
                }
            }
        }
        String address = out.u32("%v_frag_addr");
        String[] b = {out.b32("%vb0"), out.b32("%vb1"), out.b32("%vb2"), out.b32("%vb3")};
        for (int kk = 0; kk < config.warpKeyCount() / 16; kk++) {
            for (int dp = 0; dp < config.valueDim() / 16; dp++) {
                loader.fragmentAddress(address, "v", kk, dp);
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

}
