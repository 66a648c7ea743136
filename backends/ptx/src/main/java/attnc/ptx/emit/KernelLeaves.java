package attnc.ptx.emit;

import attnc.ir.Index;
import java.util.List;

/**
 * The attention kernel's thread set-up (thread, warp and lane indices, batch and head, the
 * parameters in registers) and the values it gives rendered programs: b, h, q per row, kv per
 * column, d per output column, sizes, params and input addresses.
 */
final class KernelLeaves implements Leaves {
    private final KernelConfig config;
    private final Signature signature;
    /** The inputs a ragged kernel reads at each sequence's own copy ({@link Signature#raggedInputs}). */
    private final List<String> raggedInputs;

    KernelLeaves(KernelConfig config, Signature signature, List<String> raggedInputs) {
        this.config = config;
        this.signature = signature;
        this.raggedInputs = raggedInputs;
    }

    /** Everything a thread of the mma.sync kernel needs first: its indices, the parameters, the block's indices. */
    void setUp(PtxWriter out) {
        threadIndices(out, 0);
        signature.loadParams(out);
        blockOrWorkEntry(out);
    }

    /** What this block computes: a ragged kernel's work entry, else the grid's query block, batch and head (and a paged launch's sequence extents). */
    void blockOrWorkEntry(PtxWriter out) {
        if (config.decode().ragged()) {
            workEntry(out);
            return;
        }
        blockIndices(out);
        if (config.decode().pages()) sequenceExtents(out);
    }

    /**
     * A ragged prefill block: its work entry (b, h, query block, tile list offset), then sequence
     * b's extents: its queries (query_starts[b + 1] − query_starts[b], the first at packed row
     * {@code %q_seq}), its keys, its bottom-right query offset; each input sized per sequence
     * moved to b's copy.
     */
    private void workEntry(PtxWriter out) {
        out.comment("ragged: this block's work entry (b, h, query block, tile list offset), longest lists first");
        String address = out.u64("%work_addr");
        out.op("mov.u32", out.s32("%ctaid_x"), "%ctaid.x");
        out.op("mul.wide.s32", address, "%ctaid_x", 16);
        out.op("add.s64", address, "%work", address);
        out.op("ld.global.nc.v4.s32", "{" + out.s32("%b") + ", " + out.s32("%h") + ", " + out.s32("%q_block") + ", " + out.s32("%list_offset") + "}",
                "[" + address + "]");
        out.op("div.s32", out.s32("%group"), "%H", "%Hkv");
        out.op("div.s32", out.s32("%hk"), "%h", "%group");
        out.op("mul.lo.s32", out.s32("%q_start"), "%q_block", config.blockM());
        out.comment("sequence b: its queries from packed row q_seq, its keys, its query offset (bottom right)");
        out.op("mul.wide.s32", address, "%b", 4);
        out.op("add.s64", address, "%query_starts", address);
        out.op("ld.global.nc.s32", out.s32("%q_seq"), "[" + address + "]");
        out.op("ld.global.nc.s32", out.s32("%q_seq_end"), "[" + address + "+4]");
        out.op("sub.s32", "%Nq", "%q_seq_end", "%q_seq");
        out.op("mul.wide.s32", address, "%b", 4);
        out.op("add.s64", address, "%kv_lengths", address);
        out.op("ld.global.nc.s32", "%Nkv", "[" + address + "]");
        out.op("sub.s32", "%query_offset", "%Nkv", "%Nq");
        out.op("max.s32", "%query_offset", "%query_offset", 0);
        out.op("add.s32", out.s32("%q_first"), "%q_start", "%query_offset");
        for (int i = 0; i < raggedInputs.size(); i++) {
            String offset = out.u64("%input_offset");
            out.op("mad.lo.s32", out.s32("%input_slot"), "%b", raggedInputs.size(), i);
            out.op("mul.wide.s32", address, "%input_slot", 8);
            out.op("add.s64", address, "%input_offsets", address);
            out.op("ld.global.nc.u64", offset, "[" + address + "]");
            out.op("add.s64", input(raggedInputs.get(i)), input(raggedInputs.get(i)), offset);
        }
    }

    /**
     * A paged launch's sequence b: its keys (kv_lengths[b]) replace the launch's Nkv, and its
     * queries sit at their bottom right (Q0 = max(0, Nkv − Nq), Nq the queries of one head).
     */
    private void sequenceExtents(PtxWriter out) {
        out.comment("paged: this sequence's keys and query offset");
        String address = out.u64("%kv_length_addr");
        out.op("mul.wide.s32", address, "%b", 4);
        out.op("add.s64", address, "%kv_lengths", address);
        out.op("ld.global.s32", "%Nkv", "[" + address + "]");
        out.op("sub.s32", "%query_offset", "%Nkv", config.decode().packs() ? "%" + Signature.PACKED_NQ : "%Nq");
        out.op("max.s32", "%query_offset", "%query_offset", 0);
        out.op("add.s32", "%q_first", "%q_start", "%query_offset");
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

    /**
     * The query block (the last, heaviest under a causal mask, first), batch, head and kv head this
     * block computes: a prefill grid in {@link GroupedGrid}'s order; a decode grid (a few query
     * blocks, split-KV chunks in z) keeps the plain one.
     */
    void blockIndices(PtxWriter out) {
        out.comment("query block (the heaviest blocks of a causal mask first), batch, head, kv head (GQA)");
        out.op("mov.u32", out.s32("%nctaid_x"), "%nctaid.x");
        if (config.decode() == Decode.NONE) {
            // A row's K and V: Nkv · (D + Dv) bf16 values.
            String bytes = out.u64("%row_kv_bytes");
            out.op("mul.wide.s32", bytes, "%Nkv", 2 * (config.headDim() + config.valueDim()));
            GroupedGrid.assign(out, out.s32("%q_rank"), out.s32("%bh"), bytes);
            out.op("sub.s32", out.s32("%q_block"), "%nctaid_x", "%q_rank");
        } else {
            out.op("mov.u32", out.s32("%ctaid_x"), "%ctaid.x");
            out.op("sub.s32", out.s32("%q_block"), "%nctaid_x", "%ctaid_x");
            out.op("mov.u32", out.s32("%bh"), "%ctaid.y");
        }
        out.op("sub.s32", "%q_block", "%q_block", 1);
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
