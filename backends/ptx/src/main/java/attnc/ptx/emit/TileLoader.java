package attnc.ptx.emit;

/**
 * cp.async traffic of the attention kernel: the Q tile once, and key/value tiles from the tile
 * list into a ring of {@code stages} shared-memory buffers. Each thread copies 16-byte chunks of
 * fixed columns; rows past Nq or Nkv are zero-filled (source size 0) so no garbage reaches an mma.
 * A row of D/8 chunks is spread over a power-of-two number of threads (lanes) so that every pass
 * copies whole rows; where D/8 is not one (D = 96, 160), the lanes past the row copy nothing.
 */
final class TileLoader {
    static final int FULL_BIT = PtxModule.FULL_BIT;

    private final PtxWriter out;
    private final KernelConfig config;
    private final int kChunks, vChunks, kLanes, vLanes;

    TileLoader(PtxWriter out, KernelConfig config) {
        this.out = out;
        this.config = config;
        this.kChunks = config.headDim() / 8;
        this.vChunks = config.valueDim() / 8;
        this.kLanes = lanes(kChunks, config.threads());
        this.vLanes = lanes(vChunks, config.threads());
        if (config.blockN() % (config.threads() / kLanes) != 0 || config.blockN() % (config.threads() / vLanes) != 0
                || config.blockM() % (config.threads() / kLanes) != 0) {
            throw new IllegalArgumentException("tile rows must be a multiple of the rows one pass copies: " + config.tag());
        }
    }

    /** The threads a row of {@code chunks} is copied by: the chunks themselves when they divide the block, else the next power of two. */
    private static int lanes(int chunks, int threads) {
        int lanes = threads % chunks == 0 ? chunks : Integer.highestOneBit(chunks - 1) * 2;
        if (lanes > threads) throw new IllegalArgumentException("a row of " + chunks + " 16-byte chunks needs more than " + threads + " threads");
        return lanes;
    }

    /** The predicate of the threads that copy a chunk of {@code tensor}'s rows, or null when every thread does. */
    private String live(String tensor, int chunks, int lanes) {
        return chunks == lanes ? null : "%" + tensor + "_chunk_live";
    }

    void setUp(KernelLeaves leaves) {
        int d2 = config.headDim() * 2, dv2 = config.valueDim() * 2;
        out.blank().comment(config.swizzledKv() ? "shared memory: Q tile (rows padded by 16 bytes), then K stages, then V stages (chunks swizzled by row)"
                : "shared memory: Q tile, then K stages, then V stages (rows padded by 16 bytes)");
        out.op("mov.u32", out.u32("%smem_q"), "attnc_smem");
        out.op("add.u32", out.u32("%smem_k"), "%smem_q", config.qBytes());
        out.op("add.u32", out.u32("%smem_v"), "%smem_k", config.stages() * config.kStageBytes());
        out.comment("global bases of this (b, h): Q rows from q_start, K/V of the kv head");
        String index = out.u64("%row_index");
        if (config.decode().ragged()) {
            // Packed queries [totalQ, H, D]: query i of sequence b, head h is row (q_seq + i) · H + h.
            out.op("add.s32", out.s32("%q_row0"), "%q_seq", "%q_start");
            out.op("mad.lo.s32", "%q_row0", "%q_row0", "%H", "%h");
        } else {
            out.op("mad.lo.s32", out.s32("%q_row0"), "%bh", "%Nq", "%q_start");
        }
        out.op("mul.wide.s32", index, "%q_row0", d2);
        out.op("add.s64", out.u64("%q_base"), "%q", index);
        if (config.decode().pages()) {
            out.comment("paged: K and V rows are found per copy through the block table, from the pools' bases");
            out.op("mov.u64", out.u64("%k_base"), "%k");
            out.op("mov.u64", out.u64("%v_base"), "%v");
            out.op("mad.lo.s32", out.s32("%table_row"), "%b", "%max_pages", 0);
            out.op("shl.b32", out.s32("%page_mask"), 1, "%page_shift");
            out.op("sub.s32", "%page_mask", "%page_mask", 1);
            if (onePageTiles()) out.op("setp.ge.s32", out.pred("%tile_one_page"), "%page_shift", Integer.numberOfTrailingZeros(config.blockN()));
        } else {
            out.op("mad.lo.s32", out.s32("%kv_head"), "%b", "%Hkv", "%hk");
            out.op("mul.lo.s32", out.s32("%kv_row0"), "%kv_head", "%Nkv");
            out.op("mul.wide.s32", index, "%kv_row0", d2);
            out.op("add.s64", out.u64("%k_base"), "%k", index);
            out.op("mul.wide.s32", index, "%kv_row0", dv2);
            out.op("add.s64", out.u64("%v_base"), "%v", index);
        }
        out.comment("this thread's 16-byte chunks: column chunk tid % chunks of rows tid / chunks + pass · rows per pass");
        chunkOffsets("k", kChunks, kLanes, d2, config.kStride());
        if (!latent()) chunkOffsets("v", vChunks, vLanes, dv2, config.vStride());
        if (config.swizzledKv()) {
            String shared = out.s32("%q_chunk_soff");
            out.op("mad.lo.s32", shared, "%k_chunk_row", config.qStride(), "%k_chunk_cbytes");
        }
        out.comment("ldmatrix lane addresses: lanes 8j..8j+7 point at the rows of 8×8 matrix j");
        out.op("shr.s32", out.s32("%matrix"), "%lane", 3);
        out.op("and.b32", out.s32("%matrix_row"), "%lane", 7);
        // Q (A operand): matrices (rows 0-7, k 0-7), (rows 8-15, k 0-7), (rows 0-7, k 8-15), (rows 8-15, k 8-15).
        laneAddress(out, "%lane_q_off", 1, 2, config.qStride());
        // K (B operand, not transposed): (n 0-7, k lo), (n 0-7, k hi), (n 8-15, k lo), (n 8-15, k hi).
        // V (B operand, transposed): (kv 0-7, d lo), (kv 8-15, d lo), (kv 0-7, d hi), (kv 8-15, d hi).
        if (latent()) {
            columnSplitLaneAddresses();
        } else if (config.swizzledKv()) {
            swizzledLaneAddresses("%lane_k_off", 2, 1, config.kStride());
            swizzledLaneAddresses("%lane_v_off", 1, 2, config.vStride());
        } else {
            laneAddress(out, "%lane_k_off", 2, 1, config.kStride());
            laneAddress(out, "%lane_v_off", 1, 2, config.vStride());
        }
        if (config.warpKeys() && !latent()) warpKeyOffsets();
        // Warps that share their rows read the same Q.
        out.op("mad.lo.s32", out.s32("%warp_q_off"), "%warp", config.warpKeys() ? 0 : 16 * config.mTiles() * config.qStride(), "%lane_q_off");
        out.op("add.u32", out.u32("%lane_q_addr"), "%smem_q", "%warp_q_off");
        if (config.decode().ragged()) raggedTileList(out);
        else tileList(out, config.decode().packs());
        out.op("mov.s32", out.s32("%stage_read"), 0);
        if (config.tilesAhead() < config.stages()) out.op("mov.s32", out.s32("%stage_write"), (config.stages() - 1));
    }

    /**
     * The address of this query block's tile list ({@code %tile_list}: [count, entries...], an
     * entry is a kv tile | FULL bit) and its count ({@code %tile_count}).
     */
    static void tileList(PtxWriter out, boolean packed) {
        String index = out.u64("%row_index");
        out.comment("the tile list of this query block: [count, entries...], entry = kv tile | FULL bit");
        out.op("mad.lo.s32", out.s32("%slot"), "%b", "%slot_stride_b", 0);
        out.op("mad.lo.s32", "%slot", "%h", "%slot_stride_h", "%slot");
        if (packed) {
            // A packed block's rows are queries of the launch's few, all in its query block 0, whose list then serves every block of the group.
            out.op("mov.s32", out.s32("%list_row"), "%slot");
        } else {
            out.op("mad.lo.s32", out.s32("%list_row"), "%slot", "%nctaid_x", "%q_block");
        }
        out.op("add.s32", out.s32("%list_width"), "%kv_tiles", 1);
        out.op("mul.lo.s32", "%list_row", "%list_row", "%list_width");
        out.op("mul.wide.s32", index, "%list_row", 4);
        out.op("add.s64", out.u64("%tile_list"), "%tiles", index);
        out.op("ld.global.s32", out.s32("%tile_count"), "[%tile_list]");
    }

    /** A ragged prefill block's tile list: at its work entry's offset into tiles ([count, entries...], as {@link #tileList}). */
    static void raggedTileList(PtxWriter out) {
        String index = out.u64("%row_index");
        out.comment("the tile list of this work entry: [count, entries...], entry = kv tile | FULL bit");
        out.op("mul.wide.s32", index, "%list_offset", 4);
        out.op("add.s64", out.u64("%tile_list"), "%tiles", index);
        out.op("ld.global.s32", out.s32("%tile_count"), "[%tile_list]");
    }

    /**
     * Split-KV: this block's share of the list, chunk {@code %ctaid.z} of {@code %nctaid.z} equal
     * chunks; {@code %tile_list} moves to the chunk's first entry less one (so entry i stays at
     * {@code [%tile_list + 4 + 4i]}) and {@code %tile_count} becomes the chunk's length, maybe 0.
     */
    static void splitList(PtxWriter out) {
        out.comment("split-KV: this block walks chunk ctaid.z of the list's nctaid.z chunks");
        String split = out.s32("%split"), splits = out.s32("%splits"), chunk = out.s32("%split_chunk");
        String first = out.s32("%split_first"), end = out.s32("%split_end");
        out.op("mov.u32", split, "%ctaid.z");
        out.op("mov.u32", splits, "%nctaid.z");
        out.op("add.s32", chunk, "%tile_count", splits);
        out.op("sub.s32", chunk, chunk, 1);
        out.op("div.s32", chunk, chunk, splits);
        out.op("mul.lo.s32", first, split, chunk);
        out.op("min.s32", first, first, "%tile_count");
        out.op("add.s32", end, first, chunk);
        out.op("min.s32", end, end, "%tile_count");
        out.op("sub.s32", "%tile_count", end, first);
        out.op("mul.wide.s32", "%row_index", first, 4);
        out.op("add.s64", "%tile_list", "%tile_list", "%row_index");
    }

    /** V is K's first Dv columns, read from K's tile ({@link Schedule#MMA_SYNC_COLUMNS}): no V copies, no V stages. */
    private boolean latent() { return config.schedule().columns(); }

    /**
     * The column-split decode's lane offsets: K as four 8 × 8 matrices of the warp's 8 keys, matrix
     * j at the 8 columns j of a 32-column slice (two k-steps of B fragments a load); V, transposed,
     * as {@link #laneAddress} from the warp's first column of O.
     */
    private void columnSplitLaneAddresses() {
        String k = out.s32("%lane_k_off");
        out.op("mad.lo.s32", k, "%warp", config.warpKeyCount(), "%matrix_row");
        out.op("mul.lo.s32", k, k, config.kStride());
        out.op("mad.lo.s32", k, "%matrix", 16, k);
        laneAddress(out, "%lane_v_off", 1, 2, config.vStride());
        out.op("mad.lo.s32", "%lane_v_off", "%warp", config.warpValueDim() * 2, "%lane_v_off");
    }

    /**
     * Warps sharing a tile's keys: warp w's K and V fragments start at its first key, row w ·
     * {@link KernelConfig#warpKeyCount} of the tile (a multiple of 16 rows, so a swizzled row keeps its chunk order).
     */
    private void warpKeyOffsets() {
        String kOffset = out.s32("%warp_k_off"), vOffset = out.s32("%warp_v_off");
        out.op("mul.lo.s32", kOffset, "%warp", config.warpKeyCount() * config.kStride());
        out.op("mul.lo.s32", vOffset, "%warp", config.warpKeyCount() * config.vStride());
        for (String suffix : config.swizzledKv() ? new String[] {"_0", "_1", "_2", "_3"} : new String[] {""}) {
            out.op("add.s32", "%lane_k_off" + suffix, "%lane_k_off" + suffix, kOffset);
            out.op("add.s32", "%lane_v_off" + suffix, "%lane_v_off" + suffix, vOffset);
        }
    }

    /** Lane offset into a tile for ldmatrix: row (matrix & rowBit ? 8 : 0) + matrix_row, chunk (matrix & colBit ? 1 : 0). */
    static void laneAddress(PtxWriter out, String reg, int rowBit, int colBit, int stride) {
        String rowSel = out.s32(reg + "_rowsel"), colSel = out.s32(reg + "_colsel");
        out.op("and.b32", rowSel, "%matrix", rowBit);
        out.op("shr.s32", rowSel, rowSel, Integer.numberOfTrailingZeros(rowBit));
        out.op("mad.lo.s32", rowSel, rowSel, 8, "%matrix_row");
        out.op("and.b32", colSel, "%matrix", colBit);
        out.op("shr.s32", colSel, colSel, Integer.numberOfTrailingZeros(colBit));
        out.op("mul.lo.s32", colSel, colSel, 16);
        out.op("mad.lo.s32", out.s32(reg), rowSel, stride, colSel);
    }

    /**
     * The swizzled layout's lane offsets {@code reg_j}, j = 0..3: the lane's row as {@link
     * #laneAddress}, its chunk 2j + (matrix &amp; colBit ? 1 : 0) of the 128-byte group at that chunk ^ (row % 8). The column
     * pairs a k-step reads repeat every four steps, one group on, so four offsets serve every step ({@link #fragmentAddress}).
     */
    private void swizzledLaneAddresses(String reg, int rowBit, int colBit, int stride) {
        String rowSel = out.s32(reg + "_rowsel"), colSel = out.s32(reg + "_colsel");
        out.op("and.b32", rowSel, "%matrix", rowBit);
        out.op("shr.s32", rowSel, rowSel, Integer.numberOfTrailingZeros(rowBit));
        out.op("mad.lo.s32", rowSel, rowSel, 8, "%matrix_row");
        out.op("mul.lo.s32", rowSel, rowSel, stride);
        out.op("and.b32", colSel, "%matrix", colBit);
        out.op("shr.s32", colSel, colSel, Integer.numberOfTrailingZeros(colBit));
        out.op("xor.b32", colSel, colSel, "%matrix_row");
        out.op("shl.b32", colSel, colSel, 4);
        for (int j = 0; j < 4; j++) {
            String offset = out.s32(reg + "_" + j);
            out.op("xor.b32", offset, colSel, j * 32);
            out.op("add.s32", offset, offset, rowSel);
        }
    }

    /**
     * {@code dest} := the ldmatrix address of this lane in the current stage of {@code tensor} ("k"
     * or "v") for rows 16·block… and the 16-column slice {@code slice} (column chunks 2·slice, 2·slice + 1).
     */
    void fragmentAddress(String dest, String tensor, int block, int slice) {
        int stride = tensor.equals("k") ? config.kStride() : config.vStride();
        if (config.swizzledKv()) out.op("add.u32", dest, "%lane_" + tensor + "_addr_" + slice % 4, block * 16 * stride + slice / 4 * 128);
        else out.op("add.u32", dest, "%lane_" + tensor + "_addr", block * 16 * stride + slice * 32);
    }

    private void chunkOffsets(String tensor, int chunks, int lanes, int rowBytes, int stride) {
        String row = out.s32("%" + tensor + "_chunk_row"), col = out.s32("%" + tensor + "_chunk_col");
        out.op("div.s32", row, "%thread", lanes);
        out.op("rem.s32", col, "%thread", lanes);
        String live = live(tensor, chunks, lanes);
        if (live != null) out.op("setp.lt.s32", out.pred(live), col, chunks);
        String global = out.s32("%" + tensor + "_chunk_goff"), columnBytes = out.s32("%" + tensor + "_chunk_cbytes");
        out.op("mul.lo.s32", columnBytes, col, 16);
        out.op("mad.lo.s32", global, row, rowBytes, columnBytes);
        String shared = out.s32("%" + tensor + "_chunk_soff");
        if (config.swizzledKv()) {
            // A pass copies a multiple of 8 rows, so the row's swizzle is its first pass's for every pass.
            out.op("and.b32", shared, row, 7);
            out.op("xor.b32", shared, shared, col);
            out.op("mul.lo.s32", shared, shared, 16);
        } else {
            out.op("mul.lo.s32", shared, col, 16);
        }
        out.op("mad.lo.s32", shared, row, stride, shared);
    }

    void loadQuery() {
        int rowsPerPass = config.threads() / kLanes;
        String global = out.u64("%q_src"), shared = out.u32("%q_dst"), ok = out.pred("%row_in"), bytes = out.u32("%copy_bytes");
        String left = out.s32("%q_rows_left");
        out.op("sub.s32", left, "%Nq", "%q_start");
        out.op("add.u32", shared, "%smem_q", config.swizzledKv() ? "%q_chunk_soff" : "%k_chunk_soff");
        String rowReg = out.s32("%copy_row");
        boolean packed = config.decode().ragged();
        String passBytes = null;
        if (!packed) {
            out.op("cvt.s64.s32", global, "%k_chunk_goff");
            out.op("add.s64", global, "%q_base", global);
        } else {
            // Packed rows are H · D elements apart: the chunk's row and each pass step by that, not by D.
            String rowBytes = out.s32("%q_row_bytes"), chunkBytes = out.s32("%q_chunk_goff");
            out.op("mul.lo.s32", rowBytes, "%H", config.headDim() * 2);
            out.op("mad.lo.s32", chunkBytes, "%k_chunk_row", rowBytes, "%k_chunk_cbytes");
            out.op("cvt.s64.s32", global, chunkBytes);
            out.op("add.s64", global, "%q_base", global);
            passBytes = out.u64("%q_pass_bytes");
            out.op("mul.wide.s32", passBytes, rowBytes, rowsPerPass);
        }
        for (int pass = 0; pass < config.blockM() / rowsPerPass; pass++) {
            out.op("add.s32", rowReg, "%k_chunk_row", pass * rowsPerPass);
            out.op("setp.lt.s32", ok, rowReg, left);
            out.op("selp.u32", bytes, 16, 0, ok);
            if (packed && pass > 0) out.op("add.s64", global, global, passBytes);
            copy(shared, pass * rowsPerPass * config.qStride(), global, "%q_base", packed ? 0 : (long) pass * rowsPerPass * config.headDim() * 2, ok, bytes,
                    live("k", kChunks, kLanes));
        }
        out.op("cp.async.commit_group");
    }

    /**
     * One 16-byte copy; a row out of range reads nothing from a valid address and writes zeros;
     * a thread outside {@code live} (a lane past the row) copies nothing at all.
     */
    private void copy(String shared, int sharedOffset, String global, String fallback, long globalOffset, String ok, String bytes, String live) {
        String source = out.u64("%copy_src");
        out.op("add.s64", source, global, globalOffset);
        out.op("selp.b64", source, source, fallback, ok);
        out.op((live == null ? "" : "@" + live + " ") + "cp.async.cg.shared.global", "[" + shared + "+" + sharedOffset + "]", "[" + source + "]", 16, bytes);
    }

    /** The first {@link KernelConfig#tilesAhead} tiles of the list. */
    void prefetch() {
        out.comment("entries of tiles already requested, oldest first: the loop reads its tile from here, not from memory");
        for (int s = 0; s < config.tilesAhead(); s++) out.op("mov.s32", out.s32("%pending_" + s), 0);
        for (int s = 0; s < config.tilesAhead(); s++) {
            String skip = out.newLabel("prefetch_skip");
            out.op("setp.le.s32", out.pred("%no_tile"), "%tile_count", s);
            out.op("@%no_tile bra.uni", skip);
            out.op("mov.s32", out.s32("%load_i"), s);
            out.op("mov.s32", out.s32("%load_stage"), s);
            loadTile(false);
            out.op("mov.s32", "%pending_" + s, "%load_entry");
            out.label(skip);
            out.op("cp.async.commit_group");
        }
    }

    /**
     * Inside the loop, after {@link #currentTile}: the tile {@link KernelConfig#tilesAhead} ahead,
     * into the stage just freed: the one the last tile was read from, or, where the loop refills
     * a stage once its tile is used, this tile's own.
     */
    void prefetchNext() {
        String skip = out.newLabel("prefetch_skip");
        int ahead = config.tilesAhead();
        out.op("add.s32", "%load_i", "%tile_i", ahead);
        out.op("setp.ge.s32", "%no_tile", "%load_i", "%tile_count");
        out.op("@%no_tile bra.uni", skip);
        out.op("mov.s32", "%load_stage", ahead == config.stages() ? "%stage_read" : "%stage_write");
        loadTile(entryReadEarly);
        out.op("mov.s32", "%pending_" + (ahead - 1), "%load_entry");
        out.label(skip);
        out.op("cp.async.commit_group");
    }

    /** Whether {@link #prefetchNext} takes its entry from {@link #readNextEntry}. */
    private boolean entryReadEarly;

    /**
     * The list entry {@link #prefetchNext} will load, read now into {@code %next_entry} (where the
     * tile exists), so that its latency passes under the tile's products rather than before the
     * copies: the latent decode's copies wait on nothing else.
     */
    void readNextEntry() {
        entryReadEarly = true;
        String index = out.s32("%next_i"), address = out.u64("%next_entry_addr"), present = out.pred("%next_present");
        out.op("add.s32", index, "%tile_i", config.tilesAhead());
        out.op("setp.lt.s32", present, index, "%tile_count");
        out.op("mul.wide.s32", address, index, 4);
        out.op("add.s64", address, "%tile_list", address);
        out.op("@" + present + " ld.global.nc.s32", out.s32("%next_entry"), "[" + address + "+4]");
    }

    private void loadTile(boolean early) {
        if (early) {
            out.op("mov.s32", out.s32("%load_entry"), "%next_entry");
        } else {
            out.op("mul.wide.s32", "%row_index", "%load_i", 4);
            out.op("add.s64", out.u64("%entry_addr"), "%tile_list", "%row_index");
            out.op("ld.global.s32", out.s32("%load_entry"), "[%entry_addr+4]");
        }
        out.op("and.b32", out.s32("%load_tile"), "%load_entry", (FULL_BIT - 1));
        out.op("mul.lo.s32", out.s32("%load_kv"), "%load_tile", config.blockN());
        out.op("sub.s32", out.s32("%kv_rows_left"), "%Nkv", "%load_kv");
        copyTile("k", "%k_base", config.headDim() * 2, kChunks, kLanes, "%smem_k", config.kStageBytes(), config.kStride());
        if (!latent()) copyTile("v", "%v_base", config.valueDim() * 2, vChunks, vLanes, "%smem_v", config.vStageBytes(), config.vStride());
    }

    private void copyTile(String tensor, String base, int rowBytes, int chunks, int lanes, String smem, int stageBytes, int stride) {
        if (config.decode().pages()) {
            copyPagedTile(tensor, base, rowBytes, chunks, lanes, smem, stageBytes, stride);
            return;
        }
        int rowsPerPass = config.threads() / lanes;
        String global = out.u64("%" + tensor + "_src"), shared = out.u32("%" + tensor + "_dst");
        out.op("mul.wide.s32", global, "%load_kv", rowBytes);
        out.op("add.s64", global, global, base);
        out.op("cvt.s64.s32", "%row_index", "%" + tensor + "_chunk_goff");
        out.op("add.s64", global, global, "%row_index");
        out.op("mad.lo.s32", shared, "%load_stage", stageBytes, "%" + tensor + "_chunk_soff");
        out.op("add.u32", shared, shared, smem);
        for (int pass = 0; pass < config.blockN() / rowsPerPass; pass++) {
            passRow(tensor, pass * rowsPerPass);
            copy(shared, pass * rowsPerPass * stride, global, base, (long) pass * rowsPerPass * rowBytes, "%row_in", "%copy_bytes",
                    live(tensor, chunks, lanes));
        }
    }

    /**
     * A tile of a paged cache: each row's page from the block table (key kv of sequence b is slot
     * kv & (page − 1) of page table[b, kv >> page_shift]), its row (page · page + slot) · Hkv + hk of
     * the pool. Rows past the sequence's keys copy zeros, their table entry read at its last key.
     */
    private void copyPagedTile(String tensor, String base, int rowBytes, int chunks, int lanes, String smem, int stageBytes, int stride) {
        int rowsPerPass = config.threads() / lanes;
        String shared = out.u32("%" + tensor + "_dst"), kv = out.s32("%paged_kv"), last = out.s32("%paged_last"), entry = out.s32("%paged_entry");
        String page = out.s32("%paged_page"), row = out.s32("%paged_row"), address = out.u64("%paged_addr"), offset = out.u64("%paged_offset");
        String global = out.u64("%" + tensor + "_src");
        out.op("mad.lo.s32", shared, "%load_stage", stageBytes, "%" + tensor + "_chunk_soff");
        out.op("add.u32", shared, shared, smem);
        String copied = null;
        if (onePageTiles()) {
            copied = out.newLabel("page_copied");
            String perRow = out.newLabel("page_rows");
            out.op("@!%tile_one_page bra.uni", perRow);
            out.comment("the tile lies in one page: its rows are consecutive slots, Hkv pool rows apart, after one table read");
            String step = out.u64("%paged_row_step"), passStep = out.u64("%paged_pass_step");
            poolRow(out, "%load_kv", row, entry, page, address);
            out.op("mul.wide.s32", offset, row, rowBytes);
            out.op("add.s64", global, base, offset);
            out.op("mul.wide.s32", step, "%Hkv", rowBytes);
            out.op("cvt.s64.s32", offset, "%" + tensor + "_chunk_row");
            out.op("mad.lo.s64", global, offset, step, global);
            out.op("cvt.s64.s32", offset, "%" + tensor + "_chunk_cbytes");
            out.op("add.s64", global, global, offset);
            out.op("mul.lo.s64", passStep, step, rowsPerPass);
            for (int pass = 0; pass < config.blockN() / rowsPerPass; pass++) {
                passRow(tensor, pass * rowsPerPass);
                if (pass > 0) out.op("add.s64", global, global, passStep);
                copy(shared, pass * rowsPerPass * stride, global, base, 0, "%row_in", "%copy_bytes", live(tensor, chunks, lanes));
            }
            out.op("bra.uni", copied);
            out.label(perRow);
            if (config.blockN() / rowsPerPass >= FEW_PAGES_PASSES) fewPages(tensor, shared, global, base, rowBytes, chunks, lanes, stride, copied);
        }
        out.op("sub.s32", last, "%Nkv", 1);
        for (int pass = 0; pass < config.blockN() / rowsPerPass; pass++) {
            passRow(tensor, pass * rowsPerPass);
            out.op("add.s32", kv, "%load_kv", "%copy_row");
            out.op("min.s32", kv, kv, last);
            poolRow(out, kv, row, entry, page, address);
            out.op("mul.wide.s32", offset, row, rowBytes);
            out.op("add.s64", global, base, offset);
            out.op("cvt.s64.s32", offset, "%" + tensor + "_chunk_cbytes");
            out.op("add.s64", global, global, offset);
            copy(shared, pass * rowsPerPass * stride, global, base, 0, "%row_in", "%copy_bytes", live(tensor, chunks, lanes));
        }
        if (copied != null) out.label(copied);
    }

    /** The most pages a tile spans that {@link #fewPages} reads the entries of up front. */
    private static final int FEW_PAGES = 4;

    /**
     * The fewest passes of copies a tile takes for {@link #fewPages}: the latent decode's 32 (a
     * 1,152-byte row a pass of two), 2–4% faster in pages of 16 (DecodeCheck mla-time); the D = 128
     * row-split decode's 4 ran up to 6% slower with it (paged-time), as many table reads and more
     * work a row; its 8 with warp keys, no faster.
     */
    private static final int FEW_PAGES_PASSES = 16;

    /**
     * A tile spanning two to {@link #FEW_PAGES} pages (pages of 16 keys under 64-key tiles): the
     * entries of its pages read first, each clamped to the sequence's last page, then every copied
     * row picks its page's among them by the bits of its row's page index, so that no copy waits on
     * a table read of its own. Jumps to {@code copied} when done; falls through for smaller pages.
     */
    private void fewPages(String tensor, String shared, String global, String base, int rowBytes, int chunks, int lanes, int stride, String copied) {
        int rowsPerPass = config.threads() / lanes;
        String perRow = out.newLabel("page_per_row"), few = out.pred("%tile_few_pages");
        out.op("setp.ge.s32", few, "%page_shift", Integer.numberOfTrailingZeros(config.blockN() / FEW_PAGES));
        out.op("@!" + few + " bra.uni", perRow);
        out.comment("the tile spans a few pages: their table entries first, then each row's page among them");
        String first = out.s32("%few_first"), lastPage = out.s32("%few_last"), address = out.u64("%few_addr");
        out.op("shr.s32", first, "%load_kv", "%page_shift");
        out.op("sub.s32", lastPage, "%Nkv", 1);
        out.op("shr.s32", lastPage, lastPage, "%page_shift");
        String[] entries = new String[FEW_PAGES];
        for (int j = 0; j < FEW_PAGES; j++) {
            String index = out.s32("%few_index");
            entries[j] = out.s32("%few_page_" + j);
            out.op("add.s32", index, first, j);
            out.op("min.s32", index, index, lastPage);
            out.op("add.s32", index, index, "%table_row");
            out.op("mul.wide.s32", address, index, 4);
            out.op("add.s64", address, "%block_table", address);
            out.op("ld.global.nc.s32", entries[j], "[" + address + "]");
        }
        String offset = out.u64("%paged_offset");
        String which = out.s32("%few_which"), low = out.pred("%few_low"), high = out.pred("%few_high"), page = out.s32("%few_page");
        String even = out.s32("%few_even"), odd = out.s32("%few_odd"), row = out.s32("%few_row");
        for (int pass = 0; pass < config.blockN() / rowsPerPass; pass++) {
            passRow(tensor, pass * rowsPerPass);
            // The row's page among the tile's: (tile start + row) / page − the tile's first page, 0 to 3.
            out.op("add.s32", row, "%load_kv", "%copy_row");
            out.op("shr.s32", which, row, "%page_shift");
            out.op("sub.s32", which, which, first);
            out.op("and.b32", out.s32("%few_bit"), which, 1);
            out.op("setp.ne.s32", low, "%few_bit", 0);
            out.op("and.b32", "%few_bit", which, 2);
            out.op("setp.ne.s32", high, "%few_bit", 0);
            out.op("selp.s32", even, entries[2], entries[0], high);
            out.op("selp.s32", odd, entries[3], entries[1], high);
            out.op("selp.s32", page, odd, even, low);
            out.op("and.b32", row, row, "%page_mask");
            out.op("shl.b32", page, page, "%page_shift");
            out.op("or.b32", row, row, page);
            out.op("mad.lo.s32", row, row, "%Hkv", "%hk");
            out.op("mul.wide.s32", offset, row, rowBytes);
            out.op("add.s64", global, base, offset);
            out.op("cvt.s64.s32", offset, "%" + tensor + "_chunk_cbytes");
            out.op("add.s64", global, global, offset);
            copy(shared, pass * rowsPerPass * stride, global, base, 0, "%row_in", "%copy_bytes", live(tensor, chunks, lanes));
        }
        out.op("bra.uni", copied);
        out.label(perRow);
    }

    /**
     * Whether a paged decode reads one table entry a tile where its pages hold whole tiles (pages
     * of at least {@code blockN} keys, a power of two as the pages are, so no tile straddles two):
     * the row-by-row path reads one a copied row, each copy waiting on it. The ragged prefill keeps
     * the row-by-row path.
     */
    private boolean onePageTiles() { return config.decode().splits() && config.decode().pages() && Integer.bitCount(config.blockN()) == 1; }

    /**
     * The copy pass starting at tile row {@code firstRow}: this thread's row of {@code tensor}
     * ({@code %copy_row}), whether it lies inside the keys ({@code %row_in}) and the bytes its
     * copy reads, 16 or 0 ({@code %copy_bytes}).
     */
    private void passRow(String tensor, int firstRow) {
        out.op("add.s32", "%copy_row", "%" + tensor + "_chunk_row", firstRow);
        out.op("setp.lt.s32", "%row_in", "%copy_row", "%kv_rows_left");
        out.op("selp.u32", "%copy_bytes", 16, 0, "%row_in");
    }

    /**
     * {@code row} := the pool row [P, page, Hkv, ·] of key {@code kv} of sequence b (kv within its
     * keys; {@code row} may be {@code kv}): slot kv &amp; (page − 1) of page table[b, kv &gt;&gt; page_shift],
     * row (page · page_size + slot) · Hkv + hk; {@code entry}, {@code page} and {@code address} are scratch.
     */
    static void poolRow(PtxWriter out, String kv, String row, String entry, String page, String address) {
        out.op("shr.s32", entry, kv, "%page_shift");
        out.op("add.s32", entry, entry, "%table_row");
        out.op("mul.wide.s32", address, entry, 4);
        out.op("add.s64", address, "%block_table", address);
        out.op("ld.global.nc.s32", page, "[" + address + "]");
        out.op("and.b32", row, kv, "%page_mask");
        out.op("shl.b32", page, page, "%page_shift");
        out.op("or.b32", row, row, page);
        out.op("mad.lo.s32", row, row, "%Hkv", "%hk");
    }

    /** Reads the current entry: its first kv position, whether it is FULL, and the stage's ldmatrix addresses. */
    void currentTile() {
        out.op("mov.s32", out.s32("%entry"), "%pending_0");
        for (int k = 0; k + 1 < config.tilesAhead(); k++) out.op("mov.s32", "%pending_" + k, "%pending_" + (k + 1));
        out.op("and.b32", out.s32("%kv_tile"), "%entry", (FULL_BIT - 1));
        out.op("mul.lo.s32", out.s32("%kv_first"), "%kv_tile", config.blockN());
        out.op("and.b32", out.s32("%full_bit"), "%entry", FULL_BIT);
        out.op("setp.ne.s32", out.pred("%tile_full"), "%full_bit", 0);
        if (config.swizzledKv()) {
            out.op("mad.lo.s32", out.s32("%k_stage"), "%stage_read", config.kStageBytes(), "%smem_k");
            out.op("mad.lo.s32", out.s32("%v_stage"), "%stage_read", config.vStageBytes(), "%smem_v");
            for (int j = 0; j < 4; j++) {
                out.op("add.u32", out.u32("%lane_k_addr_" + j), "%k_stage", "%lane_k_off_" + j);
                out.op("add.u32", out.u32("%lane_v_addr_" + j), "%v_stage", "%lane_v_off_" + j);
            }
            return;
        }
        out.op("mad.lo.s32", out.s32("%k_stage"), "%stage_read", config.kStageBytes(), "%lane_k_off");
        out.op("add.u32", out.u32("%lane_k_addr"), "%smem_k", "%k_stage");
        if (latent()) {
            out.op("sub.s32", out.s32("%v_stage"), "%k_stage", "%lane_k_off");
            out.op("add.s32", "%v_stage", "%v_stage", "%lane_v_off");
            out.op("add.u32", out.u32("%lane_v_addr"), "%smem_k", "%v_stage");
            return;
        }
        out.op("mad.lo.s32", out.s32("%v_stage"), "%stage_read", config.vStageBytes(), "%lane_v_off");
        out.op("add.u32", out.u32("%lane_v_addr"), "%smem_v", "%v_stage");
    }

    /** Rotates the read and write stages of the ring (a loop that refills the stage it read has no write stage). */
    void advance() {
        for (String stage : config.tilesAhead() < config.stages() ? new String[] {"%stage_read", "%stage_write"} : new String[] {"%stage_read"}) {
            out.op("add.s32", stage, stage, 1);
            out.op("setp.eq.s32", "%no_tile", stage, config.stages());
            out.op("selp.s32", stage, 0, stage, "%no_tile");
        }
    }
}
