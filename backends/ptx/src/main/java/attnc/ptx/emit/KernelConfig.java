package attnc.ptx.emit;

import attnc.ir.DType;
import attnc.ir.Tile;
import attnc.lower.LoweredPattern;
import java.util.List;
import java.util.Optional;

/**
 * The shape of one generated kernel: target, input precision, head dims and the tiling. A
 * thread block has {@code warps} warps; each warp owns {@code mTiles} slices of 16 query rows
 * and walks the key/value tiles of {@code blockN} keys, loaded {@code stages} deep with cp.async.
 * {@code earlyMaskLoads}: a mask that reads memory per key (document ids) is loaded before
 * S = Q·Kᵀ, hiding the loads under the products (measured +2–3.5% on the document mask).
 * {@code output}: float32 (what {@link attnc.launch.Result} holds) or the input dtype (what
 * PyTorch callers expect, and half the bytes to store). {@code decode}: the split-KV and GQA-packed
 * variants for decoding ({@link Decode}). {@code groupBits}: the tile lists carry each consumer
 * warpgroup's own class of a tile ({@link #listGroups}). {@code warpKeys}: a split-KV decode
 * block's warps share its 16 · mTiles rows and each multiplies its own {@link #warpKeyCount} keys
 * of every tile, their partials merged in shared memory at the end ({@link WarpMerge}).
 */
public record KernelConfig(int sm, DType dtype, int headDim, int valueDim, int warps, int mTiles, int blockN, int stages,
                           boolean earlyMaskLoads, DType output, Schedule schedule, int fmaExp, Decode decode, boolean groupBits, boolean warpKeys) {

    public KernelConfig {
        if (sm < 80) throw new IllegalArgumentException("the PTX backend needs sm_80 or newer (mma.sync bf16, cp.async), got sm_" + sm);
        if (dtype != DType.BFLOAT16 && dtype != DType.FLOAT16) throw new IllegalArgumentException("inputs must be bfloat16 or float16, got " + dtype);
        int widest = schedule.columns() ? MAX_LATENT_DIM : 256;
        for (int dim : new int[] {headDim, valueDim}) {
            if (dim % 16 != 0 || dim < 16 || dim > widest) throw new IllegalArgumentException("head dims must be multiples of 16 up to " + widest + ", got " + dim);
        }
        if (valueDim % 16 != 0) throw new IllegalArgumentException("value dim must be a multiple of 16");
        if (blockN % 16 != 0) throw new IllegalArgumentException("blockN must be a multiple of 16");
        if (stages < 2) throw new IllegalArgumentException("at least two stages");
        if (output != DType.FLOAT32 && output != dtype) throw new IllegalArgumentException("output must be float32 or the input dtype, got " + output);
        if (fmaExp < 0 || fmaExp > 3) throw new IllegalArgumentException("fmaExp counts quarters of the exponentials, 0 to 3, got " + fmaExp);
        if (groupBits && !schedule.overlap()) throw new IllegalArgumentException("warpgroup bits need an overlapped wgmma schedule, got " + schedule);
        if (decode.splits() && (schedule.wgmma() || output != DType.FLOAT32)) {
            throw new IllegalArgumentException("split-KV decoding runs the mma.sync kernel with float32 partial outputs");
        }
        int share = schedule.columns() ? 8 : 16;
        if (warpKeys && (!decode.splits() || blockN % (share * warps) != 0)) {
            throw new IllegalArgumentException("warps share a tile's keys only in split-KV decoding, " + share + " keys or a multiple each: " + blockN + " keys, "
                    + warps + " warps");
        }
        if (schedule.columns() && (!warpKeys || valueDim > headDim || valueDim % (16 * warps) != 0 || headDim % 32 != 0 || output != DType.FLOAT32)) {
            throw new IllegalArgumentException("the column-split decode reads V as K's first Dv columns, each warp 16 of them or a multiple, warps sharing the rows: D = "
                    + headDim + ", Dv = " + valueDim + ", " + warps + " warps");
        }
        if (schedule.wgmma()) {
            if (sm < 90) throw new IllegalArgumentException("the wgmma schedule needs sm_90a, got sm_" + sm);
            if ((warps != 8 && warps != 12) || mTiles != 1) {
                throw new IllegalArgumentException("the wgmma schedule has two or three consumer warpgroups of 64 rows: 8 or 12 warps, 1 m tile");
            }
            if (blockN % 16 != 0 || blockN > 256) throw new IllegalArgumentException("the wgmma schedule takes a multiple of 16 keys a tile, up to 256, got " + blockN);
        }
    }

    /**
     * The target a GPU of compute capability {@code sm} (as 80, 86, 90, ...) gets code for: sm_90
     * from 9.x on, where the Hopper path and its 227 KiB of shared memory are, else sm_80.
     */
    public static int target(int sm) { return sm >= 90 ? 90 : 80; }

    /** The widest head dim of the column-split decode ({@link Schedule#MMA_SYNC_COLUMNS}): MLA's 512 latent and 64 rotary columns. */
    public static final int MAX_LATENT_DIM = 576;

    /**
     * MLA's decode ({@link Schedule#MMA_SYNC_COLUMNS}): V is K's first {@code valueDim} columns;
     * eight warps share {@code mTiles} slices of 16 rows, each taking 8 keys of every 64-key tile
     * and an eighth of O's columns; two stages, refilled once used. At D = 576 a stage is 73 KiB,
     * so up to three row slices fit the 227 KiB of sm_90 beside Q, the weights and the maxima.
     */
    public static KernelConfig latentDecode(int sm, DType dtype, int headDim, int valueDim, Decode mode, int mTiles) {
        if (!mode.splits()) throw new IllegalArgumentException("a latent decode splits its keys, not " + mode);
        return new KernelConfig(sm, dtype, headDim, valueDim, 8, mTiles, 64, 2, true, DType.FLOAT32, Schedule.MMA_SYNC_COLUMNS, 0, mode, false, true);
    }

    /** Elements of a 128-byte swizzle row: the column chunk a TMA box and a wgmma descriptor cover. */
    public static final int SWIZZLE_ELEMENTS = 64;

    /** The tiling measured best for each head dim (H100, see bench/gpu/RESULTS-ptx.md). */
    public static KernelConfig of(int sm, DType dtype, int headDim, int valueDim) {
        int widest = Math.max(headDim, valueDim);
        // D=64: three stages measured level with two (±1%); 32 query rows a warp halve the K/V fragment loads.
        if (widest <= 64) return new KernelConfig(sm, dtype, headDim, valueDim, 4, 2, 64, 3, true, DType.FLOAT32, Schedule.MMA_SYNC, 0, Decode.NONE, false, false);
        // D=128: 128-key tiles measured 303 vs 253 TFLOP/s dense against 64-key tiles.
        if (widest <= 128 && sm >= 90) return new KernelConfig(sm, dtype, headDim, valueDim, 8, 1, 128, 2, true, DType.FLOAT32, Schedule.MMA_SYNC, 0, Decode.NONE, false, false);
        // 174 KB of shared memory above does not fit sm_8x; 4 warps x 32 rows x 32 keys, 3 stages (87 KB) measured 332 dense on the H100.
        if (widest <= 128) return new KernelConfig(sm, dtype, headDim, valueDim, 4, 2, 32, 3, true, DType.FLOAT32, Schedule.MMA_SYNC, 0, Decode.NONE, false, false);
        return new KernelConfig(sm, dtype, headDim, valueDim, 8, 1, 32, 2, true, DType.FLOAT32, Schedule.MMA_SYNC, 0, Decode.NONE, false, false);
    }

    /**
     * The kernel for a pattern on sm_{@code sm}: from sm_90 on, the wgmma path ({@link #hopper})
     * when the head dims allow it; else the mma.sync tiling of {@link #of}, except for masks that
     * read inputs (document ids, block lists), where PARTIAL tiles are common: 64×64 tiles at
     * D=128 (measured +9%) and two stages at D=64 (+1–3%, near the noise). A {@code tile:}
     * section is honoured by {@link #ofTile}.
     */
    public static KernelConfig of(LoweredPattern pattern, int sm, DType dtype, int headDim, int valueDim) {
        KernelConfig standard = of(sm, dtype, headDim, valueDim);
        Optional<KernelConfig> hopper = sm >= 90 ? hopper(standard, pattern) : Optional.empty();
        if (pattern.pattern().tile().isPresent()) {
            Tile tile = pattern.pattern().tile().get();
            return ofTile(hopper.filter(h -> tile.q() % 64 == 0 && tile.q() / 64 >= 2 && tile.q() / 64 <= 3).orElse(standard), tile.q(), tile.kv());
        }
        return hopper.orElseGet(() -> mmaSync(standard, pattern));
    }

    /**
     * The mma.sync tiling {@link #of(LoweredPattern, int, DType, int, int)} picks where it takes no
     * wgmma kernel, whatever the target: what the ragged prefill kernel ({@link #forRagged}) runs.
     */
    public static KernelConfig ofMmaSync(LoweredPattern pattern, int sm, DType dtype, int headDim, int valueDim) {
        KernelConfig standard = of(sm, dtype, headDim, valueDim);
        if (pattern.pattern().tile().isPresent()) {
            Tile tile = pattern.pattern().tile().get();
            return ofTile(standard, tile.q(), tile.kv());
        }
        return mmaSync(standard, pattern);
    }

    private static KernelConfig mmaSync(KernelConfig standard, LoweredPattern pattern) {
        if (!pattern.readsInputs()) return standard;
        int headDim = standard.headDim(), valueDim = standard.valueDim();
        int widest = Math.max(headDim, valueDim);
        if (widest <= 64) return standard.withTiling(4, 2, 64, 2, true);
        if (widest <= 128) return standard.withTiling(4, 1, 64, 2, true);
        return standard;
    }

    /**
     * The Hopper path (sm_90a) as measured best on the H200 (BENCHMARKS.md, "The Hopper path"):
     * up to D = 64, three consumer warpgroups (192 query rows) of 128-key tiles (dense +1.5%,
     * causal +3.3% over 112- and 96-key tiles, which spilled before the column positions were
     * formed late); up to D = 128, two warpgroups of 128-key tiles; both overlapped without
     * turns for plain dense attention and ping-pong for the rest (masks, ALiBi, softcap: +1–8%);
     * beyond, 64-key tiles, ping-pong. Masks that read inputs (document ids) at D ≤ 64: three
     * overlapped warpgroups of 64-key tiles.
     * Empty where the head dims are not multiples of 16 or the accumulators would not fit.
     */
    static Optional<KernelConfig> hopper(KernelConfig standard, LoweredPattern pattern) {
        List<KernelConfig> candidates = hopperCandidates(standard, pattern);
        if (Math.max(standard.headDim(), standard.valueDim()) <= 64 && pattern.readsInputs() && standard.headDim() % 16 == 0 && standard.valueDim() % 16 == 0) {
            // Masks that read inputs at D ≤ 64: three overlapped warpgroups of 64-key tiles, each skipping the tiles its rows do not
            // see, 190.0-192.3 TFLOP/s against mma.sync's 180.8-181.4 (document, B=4, H=16, N=4096; fourth session of 2026-12-04). The
            // ragged prefill keeps mma.sync there: not timed with it.
            candidates = List.of(standard.withWgmma(Schedule.WGMMA_OVERLAP, 3, 64, 2));
        }
        return candidates.stream().filter(c -> c.limitExceeded(standard.sm()) == null).findFirst();
    }

    /** {@link #hopper}'s tilings in order of preference, before the check that they fit. */
    private static List<KernelConfig> hopperCandidates(KernelConfig standard, LoweredPattern pattern) {
        if (standard.headDim() % 16 != 0 || standard.valueDim() % 16 != 0) return List.of();
        int widest = Math.max(standard.headDim(), standard.valueDim());
        // Masks that read inputs at D ≤ 64: the mma.sync kernel's 64 × 64 tiles measured fastest (163 against 152 TFLOP/s, document)
        // before the warpgroups skipped hidden tiles; the forward now takes other tiles ({@link #hopper}).
        if (widest <= 64 && pattern.readsInputs()) return List.of();
        Schedule schedule = pattern.identityScore() && pattern.alwaysVisible() ? Schedule.WGMMA_OVERLAP : Schedule.WGMMA_PINGPONG;
        return widest <= 64
                // Three warpgroups of 128-key tiles: 477.6 against 470.4 TFLOP/s dense, 409.5 against 396.6 causal (B=4, H=16,
                // N=4096). The ragged kernel's producer leaves too few registers for them and takes the next.
                ? List.of(standard.withWgmma(schedule, 3, 128, 2),
                        pattern.alwaysVisible() ? standard.withWgmma(Schedule.WGMMA_OVERLAP, 3, 112, 2) : standard.withWgmma(Schedule.WGMMA_PINGPONG, 3, 96, 2),
                        standard.withWgmma(Schedule.WGMMA_PINGPONG, 3, 96, 2), standard.withWgmma(Schedule.WGMMA_PINGPONG, 2, 128, 2))
                : widest <= 128
                ? List.of(standard.withWgmma(schedule, 2,
                                // Masks that read inputs hold their per-key values across the products: 128-key tiles spill (28 bytes
                                // stored, 72 loaded, ptxas -v), 112 do not and measured 2.9-3.6% faster (document, N = 8192 and 16384).
                                pattern.readsInputs() ? 112 : 128, 2),
                        standard.withWgmma(Schedule.WGMMA_PINGPONG, 2, 64, 2))
                : List.of(standard.withWgmma(Schedule.WGMMA_PINGPONG, 2, 64, 2), standard.withWgmma(Schedule.WGMMA_PINGPONG, 2, 32, 2));
    }

    /**
     * The ragged prefill kernel ({@link Decode#RAGGED}) of a pattern on sm_{@code sm}: {@link
     * #raggedHopper} from head dim 32 up (run on the H200 at 32, 64, 72, 128 and 256, each correct
     * and faster than mma.sync: BENCHMARKS.md; below 32 the producer's copies are checked by their
     * arithmetic and ptxas alone), else the mma.sync tiling of {@link #ofMmaSync}.
     */
    public static KernelConfig ofRagged(LoweredPattern pattern, int sm, DType dtype, int headDim, int valueDim) {
        boolean checked = Math.min(headDim, valueDim) >= 32;
        return (checked ? raggedHopper(pattern, sm, dtype, headDim, valueDim) : Optional.<KernelConfig>empty())
                .orElseGet(() -> ofMmaSync(pattern, sm, dtype, headDim, valueDim).forRagged());
    }

    /**
     * The wgmma ragged prefill kernel: from sm_90 on, the first of {@link #hopper}'s tilings that
     * fits with the ragged producer's registers ({@link #producerRegisters}); empty before sm_90, for
     * a pattern with a {@code tile:} section, and where the Hopper path does not take the pattern.
     */
    public static Optional<KernelConfig> raggedHopper(LoweredPattern pattern, int sm, DType dtype, int headDim, int valueDim) {
        if (sm < 90 || pattern.pattern().tile().isPresent()) return Optional.empty();
        return hopperCandidates(of(sm, dtype, headDim, valueDim), pattern).stream().map(KernelConfig::forRagged).filter(c -> c.limitExceeded(sm) == null).findFirst();
    }

    /**
     * A {@code tile: q = .., kv = ..} section as this kernel's tiling, or a message saying what
     * fits. mma.sync: q = 16 rows × warps (4 or 8) × m tiles (1 or 2), so 64, 128 or 256; wgmma:
     * q = 64 rows × consumer warpgroups (2 or 3), so 128 or 192; kv a multiple of 16 up to 256.
     */
    static KernelConfig ofTile(KernelConfig base, int q, int kv) {
        checkTile(q, kv);
        KernelConfig config;
        if (base.schedule().wgmma()) {
            config = base.withWgmma(base.schedule(), q / 64, kv, base.stages());
        } else {
            if (q == 192) throw new IllegalArgumentException("tile q = 192 needs the wgmma path (sm_90); mma.sync takes q = 64, 128 or 256");
            int warps = q == 64 ? 4 : q == 128 ? base.warps() : 8;
            config = base.withTiling(warps, q / (16 * warps), kv, base.stages(), base.earlyMaskLoads());
        }
        String limit = config.limitExceeded(base.sm());
        if (limit != null) {
            throw new IllegalArgumentException("tile q = " + q + ", kv = " + kv + " does not fit sm_" + base.sm() + " at D = "
                    + base.headDim() + ": " + limit);
        }
        return config;
    }

    /** The rules of {@link #ofTile} that hold whatever the head dims and the device. */
    public static void checkTile(int q, int kv) {
        if (q != 64 && q != 128 && q != 192 && q != 256) {
            throw new IllegalArgumentException("tile q = " + q + ": the PTX backend takes q = 64, 128, 192 (sm_90) or 256");
        }
        if (kv < 16 || kv > 256 || kv % 16 != 0) throw new IllegalArgumentException("tile kv = " + kv + ": the PTX backend takes a multiple of 16 up to 256");
    }

    public KernelConfig withTiling(int warps, int mTiles, int blockN, int stages, boolean earlyMaskLoads) {
        return new KernelConfig(sm, dtype, headDim, valueDim, warps, mTiles, blockN, stages, earlyMaskLoads, output, schedule, fmaExp, decode, groupBits, warpKeys);
    }

    /**
     * The Hopper path with {@code schedule}: two consumer warpgroups (128 query rows), {@code blockN}
     * keys a tile, {@code stages} K and V buffers in flight.
     */
    public KernelConfig withWgmma(Schedule schedule, int blockN, int stages) {
        return withWgmma(schedule, 2, blockN, stages);
    }

    /** As above with {@code groups} consumer warpgroups (2 or 3: 128 or 192 query rows). */
    public KernelConfig withWgmma(Schedule schedule, int groups, int blockN, int stages) {
        return new KernelConfig(sm, dtype, headDim, valueDim, 4 * groups, 1, blockN, stages, earlyMaskLoads, output, schedule, fmaExp, decode,
                defaultGroupBits(schedule, groups), false);
    }

    /** Consumer warpgroups of the wgmma path. */
    public int consumerGroups() { return warps / 4; }

    /**
     * The consumer warpgroups whose own classes a tile-list entry carries ({@link
     * PtxModule#groupHidden}, {@link PtxModule#groupFull}), 0 for none: with {@link #groupBits},
     * the overlapped wgmma kernel skips a tile hidden from a warpgroup's rows and leaves the mask
     * out where they see all of it.
     */
    public int listGroups() { return groupBits ? consumerGroups() : 0; }

    /**
     * Whether an overlapped kernel of {@code groups} warpgroups carries the bits unless told:
     * three do; at D = 64 the bits gained 4-7% over the same kernel without them (sliding window,
     * ALiBi, causal), while the two-warpgroup kernels of D = 128 and 256 ran 2-6% slower with the
     * skipping loop than without it (BENCHMARKS.md, wg-skip), a loop since made cheaper (its
     * two states, eighth session of 2026-12-03) and not yet timed there again.
     */
    static boolean defaultGroupBits(Schedule schedule, int groups) { return schedule.overlap() && groups == 3; }

    /** The same kernel with ({@code bits}) or without the warpgroups' own classes in its lists. */
    public KernelConfig withGroupBits(boolean bits) {
        return new KernelConfig(sm, dtype, headDim, valueDim, warps, mTiles, blockN, stages, earlyMaskLoads, output, schedule, fmaExp, decode, bits, warpKeys);
    }

    /**
     * Registers a thread of a consumer and of the producer warpgroup keep after setmaxnreg: the
     * producer needs few, and the block's 64K are shared out (240 × 256 + 24 × 128 with two
     * consumer warpgroups, 160 × 384 + 32 × 128 with three).
     */
    public int consumerRegisters() {
        if (!decode.ragged()) return consumerGroups() == 2 ? 240 : 160;
        return (65_536 / PRODUCER_THREADS - producerRegisters()) / consumerGroups() / 8 * 8;
    }

    /**
     * A TMA producer needs few; the ragged kernel's producer copies with cp.async from all its
     * threads, each computing its rows' addresses through the block table, and keeps 40 (the
     * consumers 232 with two warpgroups, 152 with three).
     */
    public int producerRegisters() { return decode.ragged() ? 40 : consumerGroups() == 2 ? 24 : 32; }

    /**
     * The same kernel computing {@code quarters}/4 of its softmax exponentials with a polynomial
     * on the FMA pipe instead of the special-function unit (ex2), whose throughput bounds the
     * softmax at small head dims.
     */
    public KernelConfig withFmaExp(int quarters) {
        return new KernelConfig(sm, dtype, headDim, valueDim, warps, mTiles, blockN, stages, earlyMaskLoads, output, schedule, quarters, decode, groupBits, warpKeys);
    }

    /**
     * The decode kernel for these head dims: 4 warps of 16 query rows (a GQA group's queries
     * packed, or a sequence's few), writing split-KV partials, two stages. Contiguous caches take
     * 64-key tiles (two blocks a multiprocessor at D = 128), 2–3% ahead of 32-key tiles at three
     * blocks on the H200 once K and V were swizzled; paged caches keep 32-key tiles, as a copy
     * that waits on a block-table read per row needs the third block: with 64-key tiles the paged
     * decode fell to 0.78–0.83 of the contiguous one at 32K and 128K keys (BENCHMARKS.md), and so
     * do head dims past 128, whose 64-key tiles spill (`ptxas -arch=sm_90a -v`, D = 256). With
     * {@link #warpKeys} both take 64-key tiles. Contiguous caches on sm_90 take three stages with
     * them (two blocks a multiprocessor, every stage requested while a block waits: {@link
     * #tilesAhead}), 0.4–2.5% ahead of two stages at three blocks at Nq = 1 and 4 and every length;
     * paged caches keep two, whose copies wait on a table read per row (0.947–0.992 of contiguous
     * on three, 0.971–0.993 on two: BENCHMARKS.md); sm_8x keeps two, as three at D = 128 pass the
     * 99 KiB of sm_86.
     */
    public KernelConfig forDecode(Decode mode) { return decodeTiling(mode, warpKeys); }

    /**
     * The decode kernel of {@link #forDecode} with its warps sharing the block's rows ({@code on})
     * and each taking a share of every tile's keys, or each holding its own 16 rows, at the tiling
     * that goes with it. Where a block has at most 16 real rows (a token of a GQA group of 4 to 16
     * packed, or of one head) the warps of the row-split kernel multiply rows of padding, each
     * reading every K and V fragment of the tile from shared memory for them.
     */
    public KernelConfig withWarpKeys(boolean on) {
        if (!decode.splits()) throw new IllegalArgumentException("warps share a tile's keys only in split-KV decoding, not " + tag());
        return decodeTiling(decode, on);
    }

    private KernelConfig decodeTiling(Decode mode, boolean warpKeys) {
        int keys = (mode.pages() || Math.max(headDim, valueDim) > 128) && !warpKeys ? 32 : 64, stages = warpKeys && sm >= 90 && !mode.pages() ? 3 : 2;
        return new KernelConfig(sm, dtype, headDim, valueDim, 4, 1, keys, stages, earlyMaskLoads, DType.FLOAT32, Schedule.MMA_SYNC, 0, mode, false, warpKeys);
    }

    /**
     * The same decode kernel with {@code blockN} keys a tile, {@code stages} and the warps sharing
     * the rows or not: checked as a whole, so that a tile too short for the warps' shares is refused
     * only when {@code warpKeys} asks for them.
     */
    public KernelConfig withDecodeTiling(int blockN, int stages, boolean warpKeys) {
        return new KernelConfig(sm, dtype, headDim, valueDim, warps, mTiles, blockN, stages, earlyMaskLoads, output, schedule, fmaExp, decode, groupBits, warpKeys);
    }

    /** Keys of a tile one warp multiplies: a share of them with {@link #warpKeys}, else all. */
    public int warpKeyCount() { return warpKeys ? blockN / warps : blockN; }

    /** Columns of O one warp accumulates: its share of them in the column-split decode, else all. */
    public int warpValueDim() { return schedule.columns() ? valueDim / warps : valueDim; }

    /**
     * The same tiling as the prefill kernel of a ragged batch over a paged cache ({@link
     * Decode#RAGGED}), the output float32.
     */
    public KernelConfig forRagged() {
        return new KernelConfig(sm, dtype, headDim, valueDim, warps, mTiles, blockN, stages, earlyMaskLoads, DType.FLOAT32, schedule, fmaExp, Decode.RAGGED, groupBits, false);
    }

    /** The same kernel storing its output as {@code dtype} (float32 or the input dtype). */
    public KernelConfig withOutput(DType dtype) {
        return new KernelConfig(sm, this.dtype, headDim, valueDim, warps, mTiles, blockN, stages, earlyMaskLoads, dtype, schedule, fmaExp, decode, groupBits, warpKeys);
    }

    /** Dynamic shared memory a block may use: 227 KiB on sm_90, 163 KiB on sm_80, 99 KiB on sm_86/89. */
    public static int sharedLimit(int sm) {
        return sm >= 90 ? 232_448 : sm == 80 ? 166_912 : 101_376;
    }

    /**
     * Fp32 accumulator registers a thread holds for O and S ({@code mTiles} × (Dv + blockN) / 2),
     * and, on the wgmma path, P's bf16 pairs (blockN / 4). The measured mma.sync kernels hold up
     * to 160 and use 228–255 registers without spilling (Q fragments, addresses, softmax state
     * take the rest); a wgmma consumer has 240 (two warpgroups) or 160 (three) and no Q fragments,
     * so up to 208 or 128: with the column positions formed after the products ({@link
     * FlashEmitter}), three warpgroups of 128-key tiles at D = 64 (128) and two of 192-key tiles at
     * D = 128 (208) assemble without a spill on dense, causal, sliding window, ALiBi and softcap
     * ({@code ptxas -arch=sm_90a -v}, 2026-12-03; before, 128-key tiles spilled 96–176 bytes). A
     * mask that loads per-key inputs early holds them too: document's 192-key tiles spill 3.4 KB,
     * which this count does not see (the tuner times them and keeps what is faster).
     */
    public int accumulatorRegisters() { return mTiles * (warpValueDim() + warpKeyCount()) / 2 + (schedule.wgmma() ? blockN / 4 : 0); }

    private int accumulatorLimit() { return schedule.wgmma() ? consumerRegisters() - 32 : 160; }

    /** Why this tiling cannot run on sm_{@code sm}, or null when it can. */
    public String limitExceeded(int sm) {
        if (sharedBytes() > sharedLimit(sm)) return "shared memory " + sharedBytes() + " B > " + sharedLimit(sm) + " B";
        if (accumulatorRegisters() > accumulatorLimit()) return accumulatorRegisters() + " accumulator registers > " + accumulatorLimit();
        return null;
    }

    /** The wgmma path's producer warpgroup comes on top of the consumer warps. */
    public int threads() { return warps * 32 + (schedule.wgmma() ? PRODUCER_THREADS : 0); }
    public int blockM() { return (warpKeys ? 1 : warps) * mTiles * 16; }
    public static final int PRODUCER_THREADS = 128;

    /**
     * Shared-memory row strides in bytes: on the mma.sync path a 16-byte pad keeps ldmatrix's
     * eight rows on distinct banks; the wgmma path's rows are 64-column chunks of 128-byte
     * swizzled rows, the bytes per row of a tile being the chunks' 128 bytes each.
     */
    public int qStride() { return schedule.wgmma() ? swizzleChunks(headDim) * 128 : headDim * 2 + 16; }
    public int kStride() { return swizzledKv() ? headDim * 2 : qStride(); }
    public int vStride() { return schedule.columns() ? kStride() : schedule.wgmma() ? swizzleChunks(valueDim) * 128 : swizzledKv() ? valueDim * 2 : valueDim * 2 + 16; }

    /**
     * Whether the mma.sync path stores K and V rows unpadded, 16-byte chunk c of row r at chunk
     * c ^ (r % 8) of its 128-byte group, where the padded rows would start off the 128-byte grid:
     * a warp's copy of two padded rows then costs the L2 a third more sectors than K and V hold and
     * shared memory a quarter more wavefronts (ncu on the decode kernel, BENCHMARKS.md). The decode
     * kernels, which stream K and V at memory speed, take it where rows are whole 128-byte groups
     * and a pass of copies covers a multiple of the swizzle's 8 rows.
     */
    public boolean swizzledKv() {
        return decode.splits() && schedule == Schedule.MMA_SYNC && headDim % 64 == 0 && valueDim % 64 == 0 && threads() % headDim == 0 && threads() % valueDim == 0;
    }

    /** 64-column chunks a row of {@code width} takes on the wgmma path (a last, partial one is filled with zeros by TMA). */
    public static int swizzleChunks(int width) { return (width + SWIZZLE_ELEMENTS - 1) / SWIZZLE_ELEMENTS; }

    /**
     * Tiles a block keeps requested while it waits for one: stages − 1 where the loop refills a
     * stage when the next tile has landed, every stage in the split-KV decode of a contiguous
     * cache whose warps share the rows, which refills a stage as soon as its tile is used (a
     * barrier after the products). Each of its warps multiplies a quarter of the tile, a fraction
     * of the tile's load, so the loop's time is the wait: 0.1–1.7% faster on three stages. Where
     * each warp multiplies the whole tile for its own rows the barrier cost 3–9%, and paged copies
     * ran 1–2% slower (BENCHMARKS.md).
     */
    public int tilesAhead() { return decode.splits() && warpKeys && (!decode.pages() || schedule.columns()) ? stages : stages - 1; }

    public int qBytes() { return blockM() * qStride(); }
    public int kStageBytes() { return blockN * kStride(); }
    public int vStageBytes() { return schedule.columns() ? 0 : blockN * vStride(); }

    /** Bytes of a row of the column-split decode's weights P in shared memory: the tile's keys, padded by 16 bytes so ldmatrix's rows fall on distinct banks. */
    public int weightStride() { return blockN * 2 + 16; }

    /**
     * The column-split decode's exchanges: the tile's weights P (bf16, {@link #weightStride}) and,
     * per row, a float from each warp (the tile's maxima, the final row sums).
     */
    public int exchangeBytes() { return schedule.columns() ? blockM() * (weightStride() + 4 * warps) : 0; }

    /** mbarriers of the wgmma path: Q, then full and empty for every K and V stage. */
    public int barriers() { return schedule.wgmma() ? 1 + 4 * stages : 0; }

    /**
     * Q, the K and V stages and, on the wgmma path, the mbarriers and 1 KiB for aligning the
     * base to the 128-byte swizzle's 1024-byte pattern.
     */
    public int sharedBytes() {
        int tiles = qBytes() + stages * (kStageBytes() + vStageBytes()) + exchangeBytes();
        return schedule.wgmma() ? tiles + 8 * barriers() + 1024 : tiles;
    }

    /** mma operand type in PTX: bf16 or f16. */
    public String mmaType() { return dtype == DType.BFLOAT16 ? "bf16" : "f16"; }

    /** A short name for file names and cache keys. */
    public String tag() {
        return "sm" + sm + "_" + mmaType() + "_d" + headDim + (valueDim != headDim ? "v" + valueDim : "")
                + "_w" + warps + "m" + mTiles + "n" + blockN + "s" + stages + (earlyMaskLoads ? "_early" : "") + (output != DType.FLOAT32 ? "_out" + mmaType() : "")
                + (schedule != Schedule.MMA_SYNC ? "_" + schedule.key() : "") + (fmaExp > 0 ? "_e" + fmaExp : "")
                + (decode != Decode.NONE ? "_" + decode.name().toLowerCase(java.util.Locale.ROOT) : "")
                + (warpKeys ? "_warpkeys" : "")
                + (schedule.wgmma() && groupBits != defaultGroupBits(schedule, consumerGroups()) ? (groupBits ? "_bits" : "_nobits") : "");
    }
}
