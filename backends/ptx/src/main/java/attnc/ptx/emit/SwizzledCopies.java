package attnc.ptx.emit;

/**
 * cp.async copies of one tensor's tiles into the wgmma kernel's swizzled shared-memory layout, by
 * the {@link KernelConfig#PRODUCER_THREADS} producer threads together. A row of {@code width}
 * elements is width / 8 chunks of 16 bytes; chunk u of tile row r goes to the 64-column block
 * u / 8 (each {@code rows} × 128 bytes) at byte r · 128 + ((u mod 8) xor (r mod 8)) · 16, where
 * TMA's 128-byte swizzle would put it (the buffers are 1024-byte aligned). A row is copied by a
 * power-of-two number of lanes (those past its chunks copy nothing), so one pass copies
 * 128 / lanes rows; where that does not divide the tile (narrow rows: 64 a pass at D = 16), the
 * threads past the last pass's rows copy nothing. Rows outside the sequence copy zeros (source
 * size 0, from a valid address).
 */
final class SwizzledCopies {
    private static final int ROW_BYTES = 128;

    private final PtxWriter out;
    private final String name;
    private final int width, rows, lanes, rowsPerPass, passes;
    /** The predicate of the lanes that copy a chunk, or null when every lane does. */
    private final String live;
    /** The predicate of the threads whose row of the last pass is inside the tile, or null when the passes divide it. */
    private final String lastLive;

    SwizzledCopies(PtxWriter out, String name, int width, int rows) {
        this.out = out;
        this.name = name;
        this.width = width;
        this.rows = rows;
        int chunks = width / 8;
        this.lanes = Integer.bitCount(chunks) == 1 ? chunks : Integer.highestOneBit(chunks) * 2;
        this.rowsPerPass = KernelConfig.PRODUCER_THREADS / lanes;
        if (lanes > KernelConfig.PRODUCER_THREADS) throw new IllegalArgumentException("a row of " + width + " elements is more than 128 chunks");
        this.passes = (rows + rowsPerPass - 1) / rowsPerPass;
        this.live = lanes == chunks ? null : "%" + name + "_chunk_live";
        this.lastLive = rows % rowsPerPass == 0 ? null : "%" + name + "_last_live";
        threadChunk(chunks);
    }

    /**
     * This thread's chunk: its row of the first pass, its global column bytes, and its byte in the
     * tile for even and odd passes (with fewer than 8 rows a pass, an odd pass moves the row's
     * swizzle phase by 4).
     */
    private void threadChunk(int chunks) {
        String row = out.s32("%" + name + "_row"), chunk = out.s32("%" + name + "_chunk");
        out.op("div.s32", row, "%tid_x", lanes);
        out.op("rem.s32", chunk, "%tid_x", lanes);
        if (live != null) out.op("setp.lt.s32", out.pred(live), chunk, chunks);
        if (lastLive != null) {
            out.op("setp.lt.s32", out.pred(lastLive), row, rows - (passes - 1) * rowsPerPass);
            if (live != null) out.op("and.pred", lastLive, lastLive, live);
        }
        out.op("mul.lo.s32", out.s32("%" + name + "_cbytes"), chunk, 16);
        swizzledByte(row, chunk, 0);
        if (rowsPerPass % 8 != 0) swizzledByte(row, chunk, rowsPerPass);
    }

    private void swizzledByte(String row, String chunk, int rowShift) {
        String phase = out.s32("%" + name + "_phase"), column = out.s32("%" + name + "_swz"), block = out.s32("%" + name + "_block");
        if (rowShift == 0) {
            out.op("and.b32", phase, row, 7);
        } else {
            out.op("add.s32", phase, row, rowShift);
            out.op("and.b32", phase, phase, 7);
        }
        out.op("and.b32", column, chunk, 7);
        out.op("xor.b32", column, column, phase);
        out.op("shl.b32", column, column, 4);
        out.op("shr.s32", block, chunk, 3);
        out.op("mul.lo.s32", block, block, rows * ROW_BYTES);
        out.op("add.s32", column, column, block);
        out.op("mad.lo.s32", out.s32(tileByte(rowShift)), row, ROW_BYTES, column);
        if (rowShift > 0) out.op("add.s32", tileByte(rowShift), tileByte(rowShift), rowShift * ROW_BYTES);
    }

    private String tileByte(int rowShift) { return "%" + name + "_tile_byte" + (rowShift == 0 ? "" : "_odd"); }

    /** The shared address of this thread's chunk in pass {@code pass}: the even or odd pass's byte, plus the pass's rows. */
    private String destination(String base, int pass) {
        String dst = out.u32("%" + name + "_dst");
        boolean odd = rowsPerPass % 8 != 0 && pass % 2 == 1;
        out.op("add.u32", dst, base, tileByte(odd ? rowsPerPass : 0));
        return "[" + dst + "+" + (pass - (odd ? 1 : 0)) * rowsPerPass * ROW_BYTES + "]";
    }

    private void copy(int pass, String destination, String source, String inside) {
        String bytes = out.u32("%copy_bytes"), guard = pass == passes - 1 && lastLive != null ? lastLive : live;
        out.op("selp.u32", bytes, 16, 0, inside);
        out.op((guard == null ? "" : "@" + guard + " ") + "cp.async.cg.shared.global", destination, "[" + source + "]", 16, bytes);
    }

    /**
     * A query tile of sequence b, head h from the packed [totalQ, H, width] queries: tile row i is
     * query q_start + i, packed row (q_seq + q_start + i) · H + h, inside while q_start + i < Nq.
     */
    void packedRows(String base) {
        String source = out.u64("%" + name + "_src"), step = out.u64("%" + name + "_pass_bytes"), left = out.s32("%" + name + "_rows_left");
        String packed = out.s32("%" + name + "_packed_row"), offset = out.u64("%" + name + "_offset"), inside = out.pred("%copy_inside");
        String chosen = out.u64("%copy_src"), row = out.s32("%copy_row");
        out.op("sub.s32", left, "%Nq", "%q_start");
        out.op("add.s32", packed, "%q_seq", "%q_start");
        out.op("add.s32", packed, packed, "%" + name + "_row");
        out.op("mad.lo.s32", packed, packed, "%H", "%h");
        out.op("mul.wide.s32", offset, packed, width * 2);
        out.op("add.s64", source, "%" + name, offset);
        out.op("cvt.s64.s32", offset, "%" + name + "_cbytes");
        out.op("add.s64", source, source, offset);
        out.op("mul.lo.s32", packed, "%H", rowsPerPass * width * 2);
        out.op("cvt.s64.s32", step, packed);
        for (int pass = 0; pass < passes; pass++) {
            if (pass > 0) out.op("add.s64", source, source, step);
            out.op("add.s32", row, "%" + name + "_row", pass * rowsPerPass);
            out.op("setp.lt.s32", inside, row, left);
            out.op("selp.b64", chosen, source, "%" + name, inside);
            copy(pass, destination(base, pass), chosen, inside);
        }
    }

    /**
     * A key or value tile of sequence b from the pool [P, page, Hkv, width]: tile row i is key
     * kv0 + i ({@link TileLoader#poolRow}), inside while kv < Nkv (past it, the table is read at the
     * last key, a valid entry).
     */
    void pagedRows(String base, String kv0) {
        String kv = out.s32("%copy_kv"), last = out.s32("%copy_last_kv"), entry = out.s32("%copy_entry"), page = out.s32("%copy_page");
        String address = out.u64("%copy_addr"), offset = out.u64("%copy_offset"), inside = out.pred("%copy_inside"), chosen = out.u64("%copy_src");
        out.op("sub.s32", last, "%Nkv", 1);
        for (int pass = 0; pass < passes; pass++) {
            out.op("add.s32", kv, kv0, "%" + name + "_row");
            if (pass > 0) out.op("add.s32", kv, kv, pass * rowsPerPass);
            out.op("setp.lt.s32", inside, kv, "%Nkv");
            out.op("min.s32", kv, kv, last);
            TileLoader.poolRow(out, kv, kv, entry, page, address);
            out.op("mul.wide.s32", offset, kv, width * 2);
            out.op("add.s64", address, "%" + name, offset);
            out.op("cvt.s64.s32", offset, "%" + name + "_cbytes");
            out.op("add.s64", address, address, offset);
            out.op("selp.b64", chosen, address, "%" + name, inside);
            copy(pass, destination(base, pass), chosen, inside);
        }
    }
}
