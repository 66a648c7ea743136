package attnc.ptx.emit;

import attnc.ir.Pattern;
import attnc.ir.Printer;
import attnc.lower.LoweredPattern;

/**
 * The tile classifier: a small kernel that evaluates the pattern's mask on every (q, kv) of
 * every tile and writes, per query block, the list the attention kernel walks: the non-EMPTY kv
 * tiles in order, each marked FULL when every element of it is visible. It is exact for any
 * mask (index-only or data-dependent) and costs one mask evaluation per element, once per launch.
 * {@code forward} builds the lists on the host with the block-sparsity analysis instead
 * ({@link TilePlan#analysed}: equal to this kernel's lists on every index-only example, run 12);
 * it runs for launches on resident tensors whose mask reads inputs, and exported modules keep it
 * so that callers without attnc can build the lists.
 */
public final class ClassifyEmitter {
    static final String ENTRY = "attnc_classify";
    public static final int THREADS = 128;

    private ClassifyEmitter() {}

    static String render(LoweredPattern lowered, KernelConfig config) {
        Pattern pattern = lowered.pattern();
        Signature signature = Signature.of(pattern, config);
        PtxWriter out = new PtxWriter();
        Leaves leaves = new ScalarLeaves(config.headDim(), config.valueDim(), "%kv", false);
        ProgramRenderer mask = new ProgramRenderer(out, lowered.visibility(), "mask", leaves);
        int blockM = config.blockM(), blockN = config.blockN();
        out.op("mov.u32", out.s32("%thread"), "%tid.x");
        signature.loadParams(out);
        out.comment("block (x = query block, y = slot: one per batch and/or head the mask depends on)");
        out.op("mov.u32", out.s32("%q_block"), "%ctaid.x");
        out.op("mov.u32", out.s32("%slot"), "%ctaid.y");
        out.op("div.s32", out.s32("%b"), "%slot", "%slots_h");
        out.op("rem.s32", out.s32("%h"), "%slot", "%slots_h");
        out.op("mul.lo.s32", out.s32("%q_start"), "%q_block", blockM);
        out.op("mov.u32", out.s32("%q_blocks"), "%nctaid.x");
        out.op("mad.lo.s32", out.s32("%list_row"), "%slot", "%q_blocks", "%q_block");
        out.op("add.s32", out.s32("%list_width"), "%kv_tiles", 1);
        out.op("mul.lo.s32", "%list_row", "%list_row", "%list_width");
        out.op("mul.wide.s32", out.u64("%offset"), "%list_row", 4);
        out.op("add.s64", out.u64("%tile_list"), "%tiles", "%offset");
        out.op("mov.s32", out.s32("%count"), 0);
        out.op("setp.eq.s32", out.pred("%writer"), "%thread", 0);
        out.op("mov.s32", out.s32("%kv_tile"), 0);
        String tileLoop = out.newLabel("tile"), tileDone = out.newLabel("tiles_done");
        String elementLoop = out.newLabel("element"), elementDone = out.newLabel("elements_done"), skip = out.newLabel("empty_tile");
        out.label(tileLoop);
        out.op("setp.ge.s32", out.pred("%tiles_end"), "%kv_tile", "%kv_tiles");
        out.op("@%tiles_end bra.uni", tileDone);
        out.op("setp.ne.s32", out.pred("%any_visible"), 0, 0);
        out.op("setp.eq.s32", out.pred("%all_visible"), 0, 0);
        out.op("mov.s32", out.s32("%element"), "%thread");
        out.label(elementLoop);
        out.op("setp.ge.s32", out.pred("%elements_end"), "%element", blockM * blockN);
        out.op("@%elements_end bra", elementDone);
        out.op("div.s32", out.s32("%row"), "%element", blockN);
        out.op("rem.s32", out.s32("%col"), "%element", blockN);
        out.op("add.s32", out.s32("%q_index"), "%q_start", "%row");
        out.op("add.s32", out.s32("%q_abs"), "%q_index", "%query_offset");
        out.op("mad.lo.s32", out.s32("%kv"), "%kv_tile", blockN, "%col");
        out.comment("mask: " + Printer.expr(pattern.visibility()));
        mask.emitAll(0, 0);
        out.op("setp.lt.s32", out.pred("%kv_inside"), "%kv", "%Nkv");
        out.op("and.pred", out.pred("%visible"), "%kv_inside", mask.result(0, 0));
        out.comment("rows past Nq are never stored: they neither make a tile visible nor keep it from FULL");
        out.op("setp.lt.s32", out.pred("%row_inside"), "%q_index", "%Nq");
        out.op("and.pred", out.pred("%counts"), "%row_inside", "%visible");
        out.op("or.pred", "%any_visible", "%any_visible", "%counts");
        out.op("not.pred", out.pred("%hidden"), "%visible");
        out.op("and.pred", "%hidden", "%hidden", "%row_inside");
        out.op("not.pred", "%hidden", "%hidden");
        out.op("and.pred", "%all_visible", "%all_visible", "%hidden");
        out.op("add.s32", "%element", "%element", THREADS);
        out.op("bra", elementLoop);
        out.label(elementDone);
        out.op("bar.red.or.pred", "%any_visible", 0, "%any_visible");
        out.op("bar.red.and.pred", "%all_visible", 0, "%all_visible");
        out.op("@!%any_visible bra.uni", skip);
        out.op("selp.s32", out.s32("%entry"), TileLoader.FULL_BIT, 0, "%all_visible");
        out.op("or.b32", "%entry", "%entry", "%kv_tile");
        out.op("mul.wide.s32", "%offset", "%count", 4);
        out.op("add.s64", "%offset", "%offset", "%tile_list");
        out.op("@%writer st.global.s32", "[%offset+4]", "%entry");
        out.op("add.s32", "%count", "%count", 1);
        out.label(skip);
        out.op("add.s32", "%kv_tile", "%kv_tile", 1);
        out.op("bra.uni", tileLoop);
        out.label(tileDone);
        out.op("@%writer st.global.s32", "[%tile_list]", "%count");
        return signature.header(ENTRY) + "\n.maxntid " + THREADS + ", 1, 1\n{\n" + out.render() + "}\n";
    }
}
