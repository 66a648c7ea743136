package attnc.ptx;

import attnc.gpu.Device;
import attnc.gpu.DeviceTensor;
import attnc.gpu.GpuFunction;
import attnc.ir.DType;
import attnc.ir.Index;
import attnc.analysis.ClassifyTiles;
import attnc.launch.Binding;
import attnc.launch.RaggedBinding;
import attnc.lower.Instr;
import attnc.lower.LoweredNorm;
import attnc.lower.LoweredPattern;
import attnc.lower.Program;
import attnc.ptx.emit.Decode;
import attnc.ptx.emit.KernelConfig;
import attnc.ptx.emit.PtxModule;
import attnc.ptx.emit.Signature;
import attnc.tensor.Tensor;
import java.util.HashMap;
import java.util.Map;

/**
 * Decoding on the device: a few queries against a long KV cache. The decode module's blocks each
 * take one chunk of a tile list (split-KV, grid z) and write partial outputs and LSEs; the merge
 * entry combines them, applying the sink and the output transform once, or, where a block holds at
 * most {@link #MERGED_ROWS} rows, the last block of each query block to finish. Where the pattern's mask,
 * score and scale do not depend on the head, the query heads of a GQA group are packed into one
 * block's rows, so each block reads its kv head's K and V once for the whole group.
 */
public final class GpuDecode {
    /** Queries one packed block holds: the decode tiling's 4 warps of 16 rows. */
    static final int BLOCK_ROWS = 64;
    /** Rows up to which a block's warps share them and split each tile's keys ({@link KernelConfig#withWarpKeys}). */
    static final int WARP_KEY_ROWS = 16;
    /** The most rows a decode block merges itself, one a warp of its four ({@link #launch}). */
    static final int MERGED_ROWS = 4;
    /**
     * By default a launch decodes with up to this many queries a head (one token, or a speculative
     * draft's few) over at least {@link #MIN_AUTO_KEYS} keys (four 64-key tiles: fewer leave little to split).
     */
    static final int MAX_AUTO_QUERIES = 16, MIN_AUTO_KEYS = 256;
    /**
     * The widest head dim of the decode kernel on sm_{@code sm}, wider launches taking the prefill
     * kernel: 256 on sm_90, as DecodeCheck has run it (D = 64 to 256, Dv ≠ D); 128 on sm_8x, whose
     * two stages of 64-key tiles at D = 256 (128 KiB) pass sm_86's 99 KiB of shared memory.
     */
    static int maxHeadDim(int sm) { return sm >= 90 ? 256 : 128; }

    /** Row slices of 16 a latent decode block takes: three, as a fourth at D = 576 passes sm_90's shared memory ({@link KernelConfig#latentDecode}). */
    static final int LATENT_ROW_SLICES = 3;

    /**
     * Whether a launch takes the latent decode ({@link KernelConfig#latentDecode}, sm_90): V is
     * K's first Dv columns ({@code valuesInKeys}) and the head dims pass {@link #maxHeadDim}, up
     * to {@link KernelConfig#MAX_LATENT_DIM}, D a multiple of 32 and Dv of 128: MLA's 576 and 512.
     */
    static boolean latent(int sm, int d, int dv, boolean valuesInKeys) {
        return valuesInKeys && sm >= 90 && Math.max(d, dv) > maxHeadDim(sm) && d <= KernelConfig.MAX_LATENT_DIM && dv <= d && d % 32 == 0 && dv % 128 == 0;
    }

    /** Why a launch with these head dims cannot take the latent decode, for a refusal. */
    static String latentRule(int sm) {
        return "head dims past " + maxHeadDim(sm) + " run in MLA's decode on sm_90: D up to " + KernelConfig.MAX_LATENT_DIM
                + " (a multiple of 32), V the view of K's first Dv columns (a multiple of 128), as MLA's latent cache";
    }

    /** Whether V is K's first Dv columns in place: a view of K's storage with K's offset and strides, as MLA's latent cache. */
    public static boolean valuesInKeys(Tensor k, Tensor v) {
        if (k.rank() != 4 || v.rank() != 4 || !k.storage().equals(v.storage()) || k.offset() != v.offset()
                || !java.util.Arrays.equals(k.strides(), v.strides()) || v.dim(3) > k.dim(3)) return false;
        for (int i = 0; i < 3; i++) if (k.dim(i) != v.dim(i)) return false;
        return true;
    }

    /**
     * The latent decode's config, up to 48 rows a block: a GQA group's heads packed into rows where
     * the pattern allows and there are at most {@link #MAX_AUTO_QUERIES} queries, so that one
     * query block's tile list covers them all (each block of a group too big for one runs it);
     * K read through a block table where {@code paged}.
     */
    public static KernelConfig latentConfig(LoweredPattern lowered, int sm, DType dtype, Binding binding, boolean paged) {
        boolean packs = packable(lowered) && binding.size("Nq") <= MAX_AUTO_QUERIES;
        int rows = packs ? binding.size("H") / binding.size("Hkv") * binding.size("Nq") : binding.size("Nq");
        int slices = Math.min(LATENT_ROW_SLICES, (rows + 15) / 16);
        Decode mode = packs ? Decode.SPLIT_PACKED : Decode.SPLIT;
        return KernelConfig.latentDecode(sm, dtype, binding.size("D"), binding.size("Dv"), paged ? mode.paged() : mode, slices);
    }

    private final LoweredPattern lowered;
    private final GpuAttention attention;
    private final GpuFunction merge;

    public GpuDecode(Device device, LoweredPattern lowered, PtxModule module) {
        if (!module.config().decode().splits()) throw new IllegalArgumentException("a decode module has a split-KV config, got " + module.config().tag());
        this.lowered = lowered;
        this.attention = new GpuAttention(device, lowered, module);
        this.merge = device.modules().function(module.text(), PtxModule.MERGE_ENTRY);
    }

    /**
     * The decode config for a launch: GQA packing when the pattern and the shape allow it, else
     * split-KV alone; the warps sharing a block's rows where it holds at most {@link #WARP_KEY_ROWS}.
     */
    public static KernelConfig config(LoweredPattern lowered, int sm, DType dtype, Binding binding) {
        if (Math.max(binding.size("D"), binding.size("Dv")) > maxHeadDim(sm)) {
            throw new IllegalArgumentException("the decode kernel on sm_" + sm + " takes head dims up to " + maxHeadDim(sm));
        }
        boolean packs = packable(lowered) && binding.size("H") / binding.size("Hkv") * binding.size("Nq") <= BLOCK_ROWS;
        KernelConfig config = KernelConfig.of(sm, dtype, binding.size("D"), binding.size("Dv")).forDecode(packs ? Decode.SPLIT_PACKED : Decode.SPLIT);
        return config.withWarpKeys(blockRows(config, binding) <= WARP_KEY_ROWS);
    }

    /** The rows a launch of {@code config} gives its blocks: a GQA group's queries packed, else each head's. */
    static int blockRows(KernelConfig config, Binding binding) {
        return config.decode().packs() ? binding.size("H") / binding.size("Hkv") * binding.size("Nq") : binding.size("Nq");
    }

    /**
     * Whether a launch may share its blocks' rows among the warps: unpacked, any Nq (blocks of 16
     * queries); packed, one block of at most {@link #WARP_KEY_ROWS}, since a packed launch's query
     * blocks past the first would run the first one's tile list.
     */
    static boolean warpKeysFit(KernelConfig config, Binding binding) {
        return !config.decode().packs() || blockRows(config, binding) <= WARP_KEY_ROWS;
    }

    /**
     * Whether a block may hold rows of several heads: the mask, score, scale and a sigmoid's bias
     * read neither h nor the sizes a packed launch redefines, H and Nq (a sink and the output
     * transform are the merge's, per row, so they may).
     */
    public static boolean packable(LoweredPattern lowered) { return packingRefusal(lowered) == null; }

    /** Why a block cannot hold rows of several heads ("the score reads h"), or null when it can. */
    static String packingRefusal(LoweredPattern lowered) {
        Map<String, Program> perBlock = new java.util.LinkedHashMap<>();
        perBlock.put("the mask", lowered.visibility());
        perBlock.put("the score", lowered.score());
        perBlock.put("the scale", lowered.scale());
        if (lowered.norm() instanceof LoweredNorm.Sigmoid(Program bias)) perBlock.put("the sigmoid's bias", bias);
        for (Map.Entry<String, Program> e : perBlock.entrySet()) {
            Program program = e.getValue();
            if (program.dependsOn(program.result()).contains(Index.H)) return e.getKey() + " reads h";
            // Packed, the entry runs with H := Hkv and Nq := the group's rows: a program reading either (directly, or in an
            // input's strides and bounds) would see those.
            for (int i = 0; i < program.instrs().size(); i++) {
                if (program.live(i) && program.instrs().get(i) instanceof Instr.SizeValue(String name) && (name.equals("H") || name.equals("Nq"))) {
                    return e.getKey() + " reads the size " + name;
                }
            }
        }
        return null;
    }

    /**
     * The binding the decode entry runs: packed, H = Hkv heads of group · Nq rows each (the same
     * memory as [B, H, Nq, ·], a group's heads being consecutive), with the queries per head as
     * {@code packed_nq}; else the launch's own.
     */
    static Binding launchBinding(KernelConfig config, Binding binding) {
        if (!config.decode().packs()) return binding;
        Map<String, Integer> sizes = new HashMap<>(binding.sizes());
        int group = binding.size("H") / binding.size("Hkv");
        sizes.put("H", binding.size("Hkv"));
        sizes.put("Nq", group * binding.size("Nq"));
        sizes.put(Signature.PACKED_NQ, binding.size("Nq"));
        return new Binding(Map.copyOf(sizes), binding.queryOffset(), binding.params());
    }

    /**
     * Splits for a launch: {@link #wavesSplits} of its blocks over as many as the multiprocessors
     * hold at once (the driver's occupancy for this kernel).
     */
    public int splits(Binding binding) {
        Binding launch = launchBinding(attention.module().config(), binding);
        TilePlan plan = attention.plan(launch);
        int blocks = plan.queryBlocks() * launch.size("B") * launch.size("H");
        return wavesSplits(blocks, attention.device().multiprocessors() * Math.max(1, residentBlocks()), plan.kvTiles());
    }

    /** Past one wave, the most splits {@link #wavesSplits} considers: each adds a partial output to write and merge. */
    static final int MAX_SPLITS_PAST_A_WAVE = 8;

    /**
     * Splits for {@code blocks} unsplit blocks of which {@code resident} run at once: the count s,
     * at most the kv tiles and the larger of ⌊resident / blocks⌋ (one full wave) and {@link
     * #MAX_SPLITS_PAST_A_WAVE}, whose waves of blocks a 1/s as long take least, ⌈blocks · s /
     * resident⌉ / s, the fewest where several tie. One full wave wins where it exists, unless more
     * waves of smaller blocks leave fewer multiprocessors idle: MLA's 128 heads of 64 sequences make
     * 192 blocks on the H200's 132, unsplit a full wave and a second not half full (ncu: 1.45
     * waves), where two splits give three waves of half the work (0.618 to 0.480 ms); 16 sequences
     * make 48 blocks, where one wave of two splits leaves 36 multiprocessors idle and eight splits
     * take three waves of an eighth.
     */
    static int wavesSplits(int blocks, int resident, int kvTiles) {
        int best = 1, most = Math.min(kvTiles, Math.max(resident / blocks, MAX_SPLITS_PAST_A_WAVE));
        for (int s = 2; s <= most; s++) {
            long waves = ((long) blocks * s + resident - 1) / resident, bestWaves = ((long) blocks * best + resident - 1) / resident;
            if (waves * best < bestWaves * s) best = s;
        }
        return best;
    }

    /** Registers a thread of the decode entry, as the driver allocated them. */
    public int registers() { return attention.attentionFunction().registers(); }

    /** Decode blocks one multiprocessor holds at once. */
    public int residentBlocks() {
        KernelConfig c = attention.module().config();
        return attention.attentionFunction().residentBlocks(c.threads(), c.sharedBytes());
    }

    /**
     * The partial outputs [splits, B, H, Nq, Dv] and LSEs [splits, B, H, Nq] a launch writes, fp32,
     * and the counters [query blocks · B · H of the launch] with which its last blocks merge them
     * (zeroed here; each launch leaves them zero).
     */
    public record Partials(DeviceTensor out, DeviceTensor lse, DeviceTensor counters, int splits) implements AutoCloseable {
        @Override
        public void close() {
            out.close();
            lse.close();
            counters.close();
        }
    }

    public Partials allocatePartials(Binding binding, int splits) {
        int rows = binding.size("B") * binding.size("H") * binding.size("Nq");
        Binding launch = launchBinding(attention.module().config(), binding);
        DeviceTensor counters = DeviceTensor.allocate(attention.device(), DType.INT32,
                attention.plan(launch).queryBlocks() * launch.size("B") * launch.size("H"));
        counters.fill(0);
        return new Partials(DeviceTensor.allocate(attention.device(), DType.FLOAT32, splits, rows, binding.size("Dv")),
                DeviceTensor.allocate(attention.device(), DType.FLOAT32, splits, rows), counters, splits);
    }

    /** The tile lists of the decode launch, as many ints as {@link #tilesLength}; see {@link GpuAttention#prepareTiles}. */
    public void prepareTiles(Binding binding, GpuAttention.Tensors tensors, DeviceTensor tiles, Map<String, Tensor> hostInputs) {
        // A packed block is one query block whose rows repeat the launch's Nq <= 64 queries head by head: its list is the
        // launch's own for query block 0, as the mask does not depend on the head.
        attention.prepareTiles(binding, tensors, tiles, hostInputs);
    }

    public int tilesLength(Binding binding) { return attention.plan(binding).listLength(); }

    /** Key tiles of the longest list: the most splits a launch can use. */
    public int kvTiles(Binding binding) { return attention.plan(binding).kvTiles(); }

    /**
     * The tile lists of a paged launch ({@code launch}: the sequences' longest Nkv): each
     * sequence's own, from the block-sparsity analysis under its own binding (Nkv, Q0), in the
     * slots of its batch index.
     */
    public void preparePagedTiles(RaggedBinding ragged, Binding launch, DeviceTensor tiles) {
        KernelConfig c = attention.module().config();
        TilePlan plan = attention.plan(launch);
        int width = plan.kvTiles() + 1, slotsH = plan.slotsH();
        int[] lists = new int[plan.listLength()];
        for (RaggedBinding.Sequence sequence : ragged.sequences()) {
            Binding own = sequence.binding();
            int nkv = own.size("Nkv"), b = sequence.index();
            if (nkv == 0) continue;
            TilePlan natural = new TilePlan(plan.queryBlocks(), (nkv + c.blockN() - 1) / c.blockN(), attention.module().maskPerBatch() ? ragged.batch() : 1, slotsH);
            int[] mine = lowered.alwaysVisible() ? natural.allVisible(nkv, c.blockN())
                    : natural.analysed(ClassifyTiles.classifier(lowered.pattern(), own, sequence.inputs(), c.blockM(), c.blockN()), nkv, c.blockN());
            int from = natural.slotsB() > 1 ? b : 0, ownWidth = natural.kvTiles() + 1;
            for (int h = 0; h < slotsH; h++) {
                for (int qb = 0; qb < plan.queryBlocks(); qb++) {
                    int source = ((from * slotsH + h) * plan.queryBlocks() + qb) * ownWidth, target = ((b * slotsH + h) * plan.queryBlocks() + qb) * width;
                    System.arraycopy(mine, source, lists, target, mine[source] + 1);
                }
            }
        }
        tiles.write(lists);
    }

    /**
     * The decode entry over the splits, into {@code tensors}' out, lse and pre_out. Where a block
     * holds at most {@link #MERGED_ROWS} rows, one a warp, the last block of each query block to
     * finish merges its splits: one launch, 2.3-3.2 µs faster at Nq = 1 than the merge entry after
     * it; with more rows the last block's warps merge them one after another, and the merge
     * entry, 4 rows a block over many blocks, is 0.7-2 µs faster (Nq = 4 at a GQA group of 4;
     * BENCHMARKS.md).
     */
    public void launch(Binding binding, GpuAttention.Tensors tensors, DeviceTensor tiles, Partials partials) {
        if (blockRows(attention.module().config(), binding) <= MERGED_ROWS) {
            decode(binding, tensors, tiles, partials, new GpuAttention.Merged(partials.counters(), tensors.out(), tensors.lse(), tensors.preOutput()));
        } else {
            partials(binding, tensors, tiles, partials);
            merge(binding, tensors, partials);
        }
    }

    /** The decode entry alone, its blocks leaving the splits' partials to {@link #merge}. */
    public void partials(Binding binding, GpuAttention.Tensors tensors, DeviceTensor tiles, Partials partials) {
        decode(binding, tensors, tiles, partials, GpuAttention.Merged.ELSEWHERE);
    }

    private void decode(Binding binding, GpuAttention.Tensors tensors, DeviceTensor tiles, Partials partials, GpuAttention.Merged merged) {
        GpuAttention.Tensors into = new GpuAttention.Tensors(tensors.q(), tensors.k(), tensors.v(), partials.out(), partials.lse(), null, tensors.inputs(),
                tensors.paged());
        attention.launch(launchBinding(attention.module().config(), binding), into, tiles, partials.splits(), merged);
    }

    /** The merge alone: {@code partials} into {@code tensors}' out, lse and pre_out. */
    public void merge(Binding binding, GpuAttention.Tensors tensors, Partials partials) {
        Signature signature = PtxModule.mergeSignature(lowered);
        GpuFunction.Args args = new GpuFunction.Args();
        for (String tensor : signature.tensors()) {
            args.pointer(switch (tensor) {
                case "partial_out" -> partials.out();
                case "partial_lse" -> partials.lse();
                case "out" -> tensors.out();
                case "lse" -> tensors.lse();
                case "pre_out" -> tensors.preOutput();
                default -> throw new IllegalStateException("no tensor " + tensor + " in a merge");
            });
        }
        for (String input : signature.inputs()) args.pointer(tensors.inputs().get(input));
        for (String size : signature.sizes()) {
            args.s32(switch (size) {
                case "query_offset" -> binding.queryOffset();
                case "splits" -> partials.splits();
                default -> binding.size(size);
            });
        }
        int rows = binding.size("B") * binding.size("H") * binding.size("Nq");
        merge.launch(new int[] {(rows + PtxModule.MERGE_ROWS_PER_BLOCK - 1) / PtxModule.MERGE_ROWS_PER_BLOCK, 1, 1},
                new int[] {PtxModule.MERGE_THREADS, 1, 1}, 0, GpuAttention.symbolicSizesAndParams(args, signature, binding));
    }
}
