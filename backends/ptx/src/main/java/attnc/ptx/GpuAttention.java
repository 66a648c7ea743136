package attnc.ptx;

import attnc.gpu.Device;
import attnc.gpu.DeviceTensor;
import attnc.gpu.GpuFunction;
import attnc.gpu.TensorMap;
import attnc.ir.Expr;
import attnc.ir.Param;
import attnc.launch.Binding;
import attnc.lower.LoweredPattern;
import attnc.ptx.emit.KernelConfig;
import attnc.ptx.emit.PtxModule;
import attnc.ptx.emit.Signature;
import attnc.tensor.Tensor;
import java.util.Map;

/**
 * A pattern's module loaded on a device, launched on device tensors: builds the argument list
 * of {@link Signature}, the tile lists ({@link TilePlan}), and runs the kernels. Used by
 * {@link PtxKernel} for host tensors and directly by benchmarks on resident tensors.
 */
public final class GpuAttention {
    private final Device device;
    private final LoweredPattern pattern;
    private final PtxModule module;
    private final GpuFunction attention;
    private final GpuFunction classifier;

    public GpuAttention(Device device, LoweredPattern pattern, PtxModule module) {
        this.device = device;
        this.pattern = pattern;
        this.module = module;
        this.attention = device.modules().function(module.text(), PtxModule.ATTENTION_ENTRY);
        this.classifier = module.classifies() ? device.modules().function(module.text(), PtxModule.CLASSIFY_ENTRY) : null;
    }

    /**
     * Device tensors of one launch; lse may be null, inputs by name; {@code preOutput} (fp32
     * [B, H, Nq, Dv]) receives o before the output transform where there is one and it is not null;
     * {@code paged}, for a paged decode module, where its K and V rows are (k and v are then the pools).
     */
    public record Tensors(DeviceTensor q, DeviceTensor k, DeviceTensor v, DeviceTensor out, DeviceTensor lse, DeviceTensor preOutput,
                          Map<String, DeviceTensor> inputs, Paged paged) {
        public Tensors(DeviceTensor q, DeviceTensor k, DeviceTensor v, DeviceTensor out, DeviceTensor lse, DeviceTensor preOutput,
                       Map<String, DeviceTensor> inputs) {
            this(q, k, v, out, lse, preOutput, inputs, null);
        }

        public Tensors(DeviceTensor q, DeviceTensor k, DeviceTensor v, DeviceTensor out, DeviceTensor lse, Map<String, DeviceTensor> inputs) {
            this(q, k, v, out, lse, null, inputs, null);
        }
    }

    /**
     * A paged KV cache on the device: k and v are pools [P, page, Hkv, ·] (rows contiguous), the
     * block table int32 [B, maxPages], the keys of each sequence int32 [B], and log2 of the page size.
     */
    public record Paged(DeviceTensor blockTable, DeviceTensor kvLengths, int pageShift, int maxPages) {}

    /**
     * What a ragged prefill module ({@link attnc.ptx.emit.Decode#RAGGED}) also reads: the queries'
     * offsets int32 [B + 1], the work list int32 [entries, 4] ({@link RaggedPlan}) and, where an
     * input is sized per sequence, the byte offset of each sequence's copy of it int64 [B, inputs]
     * (else null).
     */
    public record Ragged(DeviceTensor queryStarts, DeviceTensor work, DeviceTensor inputOffsets, int entries) {}

    public TilePlan plan(Binding binding) {
        return TilePlan.of(module, binding.size("B"), binding.size("H"), binding.size("Nq"), binding.size("Nkv"));
    }

    /**
     * Fills the tile lists for this binding (once; reuse them across launches with the same
     * inputs): on the host when every element is visible or the mask reads no inputs (the
     * block-sparsity analysis), else with the classifier kernel.
     */
    public void prepareTiles(Binding binding, Tensors tensors, DeviceTensor tiles) {
        prepareTiles(binding, tensors, tiles, null);
    }

    /**
     * As above; with the host copies of the inputs ({@code hostInputs}, may be null), masks that
     * read inputs are classified on the host too (the analysis' block map of the inputs: exact on
     * every example, see TilePlanTest), which saves the classifier launch.
     */
    public void prepareTiles(Binding binding, Tensors tensors, DeviceTensor tiles, Map<String, Tensor> hostInputs) {
        TilePlan plan = plan(binding);
        KernelConfig c = module.config();
        int nkv = binding.size("Nkv");
        if (classifier == null) {
            tiles.write(plan.allVisible(nkv, c.blockN()));
        } else if (!pattern.readsInputs() || hostInputs != null) {
            tiles.write(plan.analysed(pattern, c, binding, hostInputs));
        } else {
            plan.classify(classifier, args(binding, tensors, tiles));
        }
    }

    /** Fills the lists with the classifier kernel whatever the mask (to check the host analysis against it). */
    public void classifyOnDevice(Binding binding, Tensors tensors, DeviceTensor tiles) {
        if (classifier == null) throw new IllegalStateException(pattern.name() + " has no classifier: every element is visible");
        plan(binding).classify(classifier, args(binding, tensors, tiles));
    }

    /** Launches the attention kernel (asynchronously, on the default stream). */
    public void launch(Binding binding, Tensors tensors, DeviceTensor tiles) {
        launch(binding, tensors, tiles, 1, Merged.ELSEWHERE);
    }

    /**
     * Where a split-KV decode launch's last blocks merge the splits: zeroed counters, one a (query
     * block, head) of the launch, and the merged output, LSE and o before the transform; null
     * throughout leaves the merge to the merge entry.
     */
    record Merged(DeviceTensor counters, DeviceTensor out, DeviceTensor lse, DeviceTensor preOutput) {
        static final Merged ELSEWHERE = new Merged(null, null, null, null);
    }

    /** As above over {@code splits} chunks of each tile list (grid z; a split-KV decode module writes partials, merged as {@code merged} says). */
    void launch(Binding binding, Tensors tensors, DeviceTensor tiles, int splits, Merged merged) {
        TilePlan plan = plan(binding);
        KernelConfig c = module.config();
        attention.launch(new int[] {plan.queryBlocks(), binding.size("B") * binding.size("H"), splits},
                new int[] {c.threads(), 1, 1}, c.sharedBytes(), args(binding, tensors, tiles, null, merged));
    }

    /**
     * Launches a ragged prefill module: one block per work entry; {@code binding} holds the sizes
     * every sequence shares (its Nq, Nkv and Q0 are replaced per sequence by the kernel), {@code
     * tiles} the lists the work entries point into.
     */
    void launchRagged(Binding binding, Tensors tensors, DeviceTensor tiles, Ragged ragged) {
        KernelConfig c = module.config();
        if (!c.decode().ragged()) throw new IllegalStateException("not a ragged prefill module: " + c.tag());
        attention.launch(new int[] {ragged.entries(), 1, 1}, new int[] {c.threads(), 1, 1}, c.sharedBytes(), args(binding, tensors, tiles, ragged, Merged.ELSEWHERE));
    }

    private GpuFunction.Args args(Binding binding, Tensors t, DeviceTensor tiles) {
        return args(binding, t, tiles, null, Merged.ELSEWHERE);
    }

    private GpuFunction.Args args(Binding binding, Tensors t, DeviceTensor tiles, Ragged ragged, Merged merged) {
        TilePlan plan = plan(binding);
        KernelConfig c = module.config();
        Signature signature = Signature.of(pattern.pattern(), c);
        GpuFunction.Args args = new GpuFunction.Args();
        for (String tensor : signature.tensors()) {
            args.pointer(switch (tensor) {
                case "q" -> t.q();
                case "k" -> t.k();
                case "v" -> t.v();
                case "out" -> t.out();
                case "lse" -> t.lse();
                case "pre_out" -> t.preOutput();
                case "tiles" -> tiles;
                case "block_table" -> t.paged().blockTable();
                case "kv_lengths" -> t.paged().kvLengths();
                case "query_starts" -> ragged.queryStarts();
                case "work" -> ragged.work();
                case "input_offsets" -> ragged.inputOffsets();
                case "merge_counters" -> merged.counters();
                case "merged_out" -> merged.out();
                case "merged_lse" -> merged.lse();
                case "merged_pre_out" -> merged.preOutput();
                default -> throw new IllegalStateException("no tensor " + tensor + " in a forward launch");
            });
        }
        if (!signature.tensorMaps().isEmpty()) {
            int b = binding.size("B"), h = binding.size("H"), hkv = binding.size("Hkv"), nq = binding.size("Nq"), nkv = binding.size("Nkv");
            args.bytes(rows(t.q(), c.headDim(), nq, b * h, c.blockM()));
            args.bytes(rows(t.k(), c.headDim(), nkv, b * hkv, c.blockN()));
            args.bytes(rows(t.v(), c.valueDim(), nkv, b * hkv, c.blockN()));
        }
        for (String input : signature.inputs()) args.pointer(t.inputs().get(input));
        for (String size : signature.sizes()) {
            args.s32(switch (size) {
                case "query_offset" -> binding.queryOffset();
                case "kv_tiles" -> plan.kvTiles();
                case "slots_h" -> plan.slotsH();
                case "slot_stride_b" -> plan.slotStrideB();
                case "slot_stride_h" -> plan.slotStrideH();
                case "page_shift" -> t.paged().pageShift();
                case "max_pages" -> t.paged().maxPages();
                default -> binding.size(size);
            });
        }
        return symbolicSizesAndParams(args, signature, binding);
    }

    /** The tail every kernel of a pattern shares: the symbolic sizes of its inputs and its params, in {@code signature}'s order. */
    static GpuFunction.Args symbolicSizesAndParams(GpuFunction.Args args, Signature signature, Binding binding) {
        for (String size : signature.extraSizes()) args.s32(binding.size(size));
        for (Param p : signature.params()) {
            switch (binding.params().get(p.name())) {
                case Expr.IntLit(int v) -> args.s32(v);
                case Expr.FloatLit(double v) -> args.f32((float) v);
                case Expr.BoolLit(boolean v) -> args.s32(v ? 1 : 0);
                case Expr other -> throw new IllegalStateException("param " + p.name() + " is not a literal: " + other);
            }
        }
        return args;
    }

    /**
     * A [heads][rows][width] tensor as the wgmma kernel copies it: boxes of 64 columns × {@code
     * box} rows of one head, 128-byte swizzled; rows past the end of a head read as zero.
     */
    static byte[] rows(DeviceTensor tensor, int width, int rows, int heads, int box) {
        return TensorMap.tiled(tensor, new long[] {width, rows, heads}, new long[] {2L * width, 2L * width * rows},
                new int[] {KernelConfig.SWIZZLE_ELEMENTS, box, 1}, TensorMap.Swizzle.BYTES_128);
    }

    public PtxModule module() { return module; }
    public Device device() { return device; }
    public GpuFunction attentionFunction() { return attention; }
}
