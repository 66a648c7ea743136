package attnc.ptx.emit;

import attnc.ir.Printer;
import attnc.lower.LoweredBackward;
import attnc.lower.LoweredPattern;

/**
 * The tile classifiers: small kernels that evaluate the pattern's mask on every (q, kv) of every
 * tile and write the lists the attention kernels walk. The forward's, per query block, lists the
 * non-EMPTY kv tiles in order, each marked FULL when every element of it is visible; the
 * backward's, per kv tile, lists the query tiles, FULL when every element is visible and inside
 * Nq and Nkv (the backward masks rows past Nq, the forward never stores them). They are exact for
 * any mask (index-only or data-dependent) and cost one mask evaluation per element, once per
 * launch. {@code forward} builds the lists on the host with the block-sparsity analysis instead
 * ({@link TilePlan#analysed}: equal to this kernel's lists on every index-only example, run 12);
 * the classifiers run for launches on resident tensors whose mask reads inputs, and exported
 * modules keep them so that callers without attnc can build the lists.
 */
public final class ClassifyEmitter {
    static final String ENTRY = "attnc_classify";
    static final String BACKWARD_ENTRY = "attnc_backward_classify";
    public static final int THREADS = 128;

    private final LoweredPattern lowered;
    private final PtxWriter out = new PtxWriter();
    private final ProgramRenderer mask;
    private final int tileQ, tileKv;
    private final boolean walksKv;
    /** Consumer warpgroups whose own classes each entry carries ({@link KernelConfig#listGroups}): 0 for none. */
    private final int groups;

    private ClassifyEmitter(LoweredPattern lowered, int headDim, int valueDim, int tileQ, int tileKv, boolean walksKv, int groups) {
        this.lowered = lowered;
        this.mask = new ProgramRenderer(out, lowered.visibility(), "mask", new ScalarLeaves(headDim, valueDim, "%kv", false));
        this.tileQ = tileQ;
        this.tileKv = tileKv;
        this.walksKv = walksKv;
        this.groups = groups;
    }

    /** The forward's classifier: block x = query block, y = slot; the same parameters as the attention kernel. */
    static String render(LoweredPattern lowered, KernelConfig config) {
        ClassifyEmitter emitter = new ClassifyEmitter(lowered, config.headDim(), config.valueDim(), config.blockM(), config.blockN(), true, config.listGroups());
        Signature signature = Signature.of(lowered.pattern(), config);
        PtxWriter out = emitter.out;
        out.op("mov.u32", out.s32("%thread"), "%tid.x");
        signature.loadParams(out);
        out.comment("block (x = query block, y = slot: one per batch and/or head the mask depends on)");
        out.op("mov.u32", out.s32("%fixed_tile"), "%ctaid.x");
        out.op("mov.u32", out.s32("%slot"), "%ctaid.y");
        out.op("div.s32", out.s32("%b"), "%slot", "%slots_h");
        out.op("rem.s32", out.s32("%h"), "%slot", "%slots_h");
        out.op("mov.u32", out.s32("%fixed_tiles"), "%nctaid.x");
        out.op("mov.s32", out.s32("%walked_tiles"), "%kv_tiles");
        emitter.walk();
        return signature.header(ENTRY) + "\n.maxntid " + THREADS + ", 1, 1\n{\n" + out.render() + "}\n";
    }

    /**
     * The backward's classifier: block x = kv tile, y = slot, with the backward kernel's
     * parameters, so a caller passes the same arguments to both.
     */
    static String renderBackward(LoweredBackward backward, BackwardConfig config) {
        ClassifyEmitter emitter = new ClassifyEmitter(backward.forward(), config.headDim(), config.valueDim(), config.blockQ(), config.blockKv(), false, 0);
        Signature signature = BackwardElements.signature(backward, config);
        PtxWriter out = emitter.out;
        out.op("mov.u32", out.s32("%thread"), "%tid.x");
        signature.loadParams(out);
        out.comment("block (x = kv tile, y = slot = b * slot_stride_b + h * slot_stride_h)");
        out.op("mov.u32", out.s32("%fixed_tile"), "%ctaid.x");
        out.op("mov.u32", out.s32("%slot"), "%ctaid.y");
        String some = out.pred("%strided");
        out.op("setp.gt.s32", some, "%slot_stride_b", 0);
        out.op("max.s32", out.s32("%stride_b"), "%slot_stride_b", 1);
        out.op("div.s32", out.s32("%b"), "%slot", "%stride_b");
        out.op("selp.s32", "%b", "%b", 0, some);
        out.op("mul.lo.s32", out.s32("%slot_h"), "%b", "%slot_stride_b");
        out.op("sub.s32", out.s32("%h"), "%slot", "%slot_h");
        out.op("setp.gt.s32", some, "%slot_stride_h", 0);
        out.op("selp.s32", "%h", "%h", 0, some);
        out.op("mov.u32", out.s32("%fixed_tiles"), "%nctaid.x");
        out.op("mov.s32", out.s32("%walked_tiles"), "%q_tiles");
        emitter.walk();
        return signature.header(BACKWARD_ENTRY) + "\n.maxntid " + THREADS + ", 1, 1\n{\n" + out.render() + "}\n";
    }

    /**
     * The list of the block's fixed tile (a query block or a kv tile): each walked tile's
     * elements evaluated by the block's threads, ANDed and ORed across the block, an entry
     * written for every tile with a visible element; with {@link #groups}, each warpgroup's rows
     * in turn, so that the entry also says which warpgroups see none or all of the tile.
     */
    private void walk() {
        out.op("mad.lo.s32", out.s32("%list_row"), "%slot", "%fixed_tiles", "%fixed_tile");
        out.op("add.s32", out.s32("%list_width"), "%walked_tiles", 1);
        out.op("mul.lo.s32", "%list_row", "%list_row", "%list_width");
        out.op("mul.wide.s32", out.u64("%offset"), "%list_row", 4);
        out.op("add.s64", out.u64("%tile_list"), "%tiles", "%offset");
        out.op("mov.s32", out.s32("%count"), 0);
        out.op("setp.eq.s32", out.pred("%writer"), "%thread", 0);
        out.op("mov.s32", out.s32("%walked"), 0);
        String tileLoop = out.newLabel("tile"), tileDone = out.newLabel("tiles_done"), skip = out.newLabel("empty_tile");
        out.label(tileLoop);
        out.op("setp.ge.s32", out.pred("%tiles_end"), "%walked", "%walked_tiles");
        out.op("@%tiles_end bra.uni", tileDone);
        out.op("mov.s32", out.s32("%entry"), "%walked");
        if (groups == 0) {
            classes(0, tileQ, "%any_visible", "%all_visible");
        } else {
            out.op("setp.ne.s32", out.pred("%any_visible"), 0, 0);
            out.op("setp.eq.s32", out.pred("%all_visible"), 0, 0);
            int rowsEach = tileQ / groups;
            for (int w = 0; w < groups; w++) {
                out.comment("warpgroup " + w + ": rows " + w * rowsEach + " to " + ((w + 1) * rowsEach - 1));
                classes(w * rowsEach, rowsEach, "%group_any", "%group_all");
                out.op("or.pred", "%any_visible", "%any_visible", "%group_any");
                out.op("and.pred", "%all_visible", "%all_visible", "%group_all");
                // Rows all past Nq: hidden, and not also full (which every element of none would make it).
                out.op("and.pred", "%group_all", "%group_all", "%group_any");
                out.op("selp.s32", out.s32("%group_bits"), 0, PtxModule.groupHidden(w), "%group_any");
                out.op("or.b32", "%entry", "%entry", "%group_bits");
                out.op("selp.s32", "%group_bits", PtxModule.groupFull(w), 0, "%group_all");
                out.op("or.b32", "%entry", "%entry", "%group_bits");
            }
        }
        out.op("@!%any_visible bra.uni", skip);
        out.op("selp.s32", out.s32("%full"), TileLoader.FULL_BIT, 0, "%all_visible");
        out.op("or.b32", "%entry", "%entry", "%full");
        out.op("mul.wide.s32", "%offset", "%count", 4);
        out.op("add.s64", "%offset", "%offset", "%tile_list");
        out.op("@%writer st.global.s32", "[%offset+4]", "%entry");
        out.op("add.s32", "%count", "%count", 1);
        out.label(skip);
        out.op("add.s32", "%walked", "%walked", 1);
        out.op("bra.uni", tileLoop);
        out.label(tileDone);
        out.op("@%writer st.global.s32", "[%tile_list]", "%count");
    }

    /**
     * Whether any element of rows {@code rowFirst..rowFirst+rowCount-1} of the walked tile is
     * visible (into {@code any}) and whether all are (into {@code all}), across the block.
     */
    private void classes(int rowFirst, int rowCount, String any, String all) {
        String elementLoop = out.newLabel("element"), elementDone = out.newLabel("elements_done");
        out.op("setp.ne.s32", out.pred(any), 0, 0);
        out.op("setp.eq.s32", out.pred(all), 0, 0);
        out.op("mov.s32", out.s32("%element"), "%thread");
        out.label(elementLoop);
        out.op("setp.ge.s32", out.pred("%elements_end"), "%element", rowCount * tileKv);
        out.op("@%elements_end bra", elementDone);
        out.op("div.s32", out.s32("%row"), "%element", tileKv);
        out.op("rem.s32", out.s32("%col"), "%element", tileKv);
        if (rowFirst > 0) out.op("add.s32", "%row", "%row", rowFirst);
        out.op("mad.lo.s32", out.s32("%q_index"), walksKv ? "%fixed_tile" : "%walked", tileQ, "%row");
        out.op("add.s32", out.s32("%q_abs"), "%q_index", "%query_offset");
        out.op("mad.lo.s32", out.s32("%kv"), walksKv ? "%walked" : "%fixed_tile", tileKv, "%col");
        out.comment("mask: " + Printer.expr(lowered.pattern().visibility()));
        mask.emitAll(0, 0);
        out.op("setp.lt.s32", out.pred("%kv_inside"), "%kv", "%Nkv");
        out.op("and.pred", out.pred("%visible"), "%kv_inside", mask.result(0, 0));
        out.op("setp.lt.s32", out.pred("%row_inside"), "%q_index", "%Nq");
        out.op("and.pred", out.pred("%counts"), "%row_inside", "%visible");
        out.op("or.pred", any, any, "%counts");
        if (walksKv) {
            out.comment("rows past Nq are never stored: they neither make a tile visible nor keep it from FULL");
            out.op("not.pred", out.pred("%hidden"), "%visible");
            out.op("and.pred", "%hidden", "%hidden", "%row_inside");
            out.op("not.pred", "%hidden", "%hidden");
            out.op("and.pred", all, all, "%hidden");
        } else {
            out.comment("the backward masks rows past Nq: a tile with one is never FULL");
            out.op("and.pred", all, all, "%counts");
        }
        out.op("add.s32", "%element", "%element", THREADS);
        out.op("bra", elementLoop);
        out.label(elementDone);
        out.op("bar.red.or.pred", any, 0, any);
        out.op("bar.red.and.pred", all, 0, all);
    }
}
