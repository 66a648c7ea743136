package attnc.ptx.emit;

import attnc.ir.Index;

/**
 * The attention kernel's thread set-up (thread, warp and lane indices, batch and head, the
 * parameters in registers) and the values it gives rendered programs: b, h, q per row, kv per
 * column, d per output column, sizes, params and input addresses.
 */
final class KernelLeaves implements Leaves {
    private final KernelConfig config;
    private final Signature signature;

    KernelLeaves(KernelConfig config, Signature signature) {
        this.config = config;
        this.signature = signature;
    }

    /** Everything a thread of the mma.sync kernel needs first: its indices, the parameters, the block's indices. */
    void setUp(PtxWriter out) {
        threadIndices(out, 0);
        signature.loadParams(out);
        blockIndices(out);
    }

    /**
     * This thread's index among the {@code firstThread}.. threads that compute (the wgmma path's
     * consumers start after the producer warpgroup), its warp, lane, and the lane's place in the
     * mma fragments.
     */
    static void threadIndices(PtxWriter out, int firstThread) {
        out.comment("thread, warp, lane; g = lane/4 is the row within an 8-row group, t = lane%4 the column pair");
        out.op("mov.u32", out.s32("%thread"), "%tid.x");
        if (firstThread > 0) out.op("sub.s32", "%thread", "%thread", firstThread);
        out.op("shr.s32", out.s32("%warp"), "%thread", 5);
        out.op("and.b32", out.s32("%lane"), "%thread", 31);
        out.op("shr.s32", out.s32("%g"), "%lane", 2);
        out.op("and.b32", out.s32("%t"), "%lane", 3);
    }

    /** The query block (heaviest first), batch, head and kv head this block computes. */
    void blockIndices(PtxWriter out) {
        out.comment("query block (the heaviest blocks of a causal mask first), batch, head, kv head (GQA)");
        out.op("mov.u32", out.s32("%ctaid_x"), "%ctaid.x");
        out.op("mov.u32", out.s32("%nctaid_x"), "%nctaid.x");
        out.op("sub.s32", out.s32("%q_block"), "%nctaid_x", "%ctaid_x");
        out.op("sub.s32", "%q_block", "%q_block", 1);
        out.op("mov.u32", out.s32("%bh"), "%ctaid.y");
        out.op("div.s32", out.s32("%b"), "%bh", "%H");
        out.op("rem.s32", out.s32("%h"), "%bh", "%H");
        out.op("div.s32", out.s32("%group"), "%H", "%Hkv");
        out.op("div.s32", out.s32("%hk"), "%h", "%group");
        out.op("mul.lo.s32", out.s32("%q_start"), "%q_block", config.blockM());
        out.op("add.s32", out.s32("%q_first"), "%q_start", "%query_offset");
    }

    @Override
    public String index(Index index, int row, int col) {
        return switch (index) {
            case B -> "%b";
            case H -> "%h";
            case Q -> "%q_abs_r" + row;
            case KV -> "%kv_c" + col;
            case D -> "%d_c" + col;
        };
    }

    @Override
    public String size(String name) { return Signature.sizeRegister(name, config.headDim(), config.valueDim()); }

    @Override
    public String score(int row, int col) { return Fragments.scoreAt(row, col); }

    @Override
    public String output(int row, int col) { return "%o_norm_r" + row + "_c" + col; }
}
