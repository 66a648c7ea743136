package attnc.ptx.emit;

/**
 * The order in which a (tiles, rows) grid's blocks take their work: the hardware starts blocks in
 * order of their linear index, so a grid whose x walks one row's tiles, heaviest first, leaves the
 * last row's heaviest tile (a causal row's longest list, twice the average) to start in the grid's
 * final wave, and the whole kernel waits for it. Here rows are taken in groups of G: within a group,
 * rank 0 of each of its rows first, then rank 1, and so on; the last group spans G waves' worth of
 * ranks, so its heavy tiles start early, while the blocks running at once still stream the K and V
 * (or Q and dO) of only G rows, which stay in L2. G is the rows whose streamed bytes fit
 * {@link #L2_SHARE}, at least 1 and at most the grid's rows.
 */
final class GroupedGrid {
    /** Bytes of L2 the rows of one group may stream: a third of the H100's 50 MB and of the H200's 60 MB. */
    static final long L2_SHARE = 16L << 20;

    private GroupedGrid() {}

    /**
     * Sets {@code rank} (0 for the row's first tile in the order, the heaviest) and {@code row} of
     * this block; {@code rowBytes} (u64) is what one row's blocks stream.
     */
    static void assign(PtxWriter out, String rank, String row, String rowBytes) {
        out.comment("grid order: rows in groups whose streamed bytes fit L2, each group's rank-0 tiles first");
        String x = out.s32("%grid_x"), y = out.s32("%grid_y"), tiles = out.s32("%grid_tiles"), rows = out.s32("%grid_rows");
        String linear = out.s32("%grid_linear"), size = out.s32("%grid_group"), group = out.s32("%grid_group_index");
        String first = out.s32("%grid_first_row"), span = out.s32("%grid_span"), within = out.s32("%grid_within");
        String kilobytes = out.u64("%grid_row_kb");
        out.op("mov.u32", x, "%ctaid.x");
        out.op("mov.u32", y, "%ctaid.y");
        out.op("mov.u32", tiles, "%nctaid.x");
        out.op("mov.u32", rows, "%nctaid.y");
        out.op("mad.lo.s32", linear, y, tiles, x);
        // In KiB, so that the division is a 32-bit one.
        out.op("shr.u64", kilobytes, rowBytes, 10);
        out.op("min.u64", kilobytes, kilobytes, L2_SHARE >> 10);
        out.op("cvt.u32.u64", size, kilobytes);
        out.op("max.u32", size, size, 1);
        out.op("div.u32", size, L2_SHARE >> 10, size);
        out.op("min.u32", size, size, rows);
        out.op("mul.lo.s32", span, size, tiles);
        out.op("div.s32", group, linear, span);
        out.op("mul.lo.s32", first, group, size);
        out.op("mul.lo.s32", span, group, span);
        out.op("sub.s32", within, linear, span);
        String members = out.s32("%grid_members");
        out.op("sub.s32", members, rows, first);
        out.op("min.s32", members, members, size);
        out.op("div.s32", rank, within, members);
        out.op("rem.s32", row, within, members);
        out.op("add.s32", row, row, first);
    }
}
