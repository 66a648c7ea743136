package attnc.ptx;

import attnc.gpu.Device;
import attnc.gpu.DeviceTensor;
import attnc.gpu.GpuFunction;
import attnc.gpu.TensorMap;
import attnc.ir.DType;
import attnc.launch.Binding;
import attnc.lower.LoweredBackward;
import attnc.ptx.emit.BackwardConfig;
import attnc.ptx.emit.BackwardModule;
import attnc.ptx.emit.Signature;
import attnc.tensor.Tensor;
import java.util.HashMap;
import java.util.Map;

/**
 * A pattern's backward module loaded on a device, launched on device tensors: the transposed
 * tile lists (per kv tile, the query tiles its keys see), then Δ, the main kernel and the row
 * kernel, with the gradient buffers it adds into zeroed first. Used by {@link PtxKernel#backward} for host
 * tensors and by benchmarks on resident ones.
 */
public final class GpuBackward {
    private final LoweredBackward backward;
    private final BackwardModule module;
    private final GpuFunction main, delta, rows, classifier, finish;

    public GpuBackward(Device device, LoweredBackward backward, BackwardModule module) {
        this.backward = backward;
        this.module = module;
        this.main = device.modules().function(module.text(), BackwardModule.BACKWARD_ENTRY);
        this.delta = module.hasDelta() ? device.modules().function(module.text(), BackwardModule.DELTA_ENTRY) : null;
        this.rows = module.hasRows() ? device.modules().function(module.text(), BackwardModule.ROWS_ENTRY) : null;
        this.classifier = module.classifies() ? device.modules().function(module.text(), BackwardModule.CLASSIFY_ENTRY) : null;
        this.finish = module.config().deterministic() ? device.modules().function(module.text(), BackwardModule.FINISH_ENTRY) : null;
    }

    /**
     * Device tensors of one launch by parameter name: q, k, v, dout (input precision), out, lse and
     * pre_out of the forward (fp32; out for softmax, pre_out where the output is transformed), the pattern's inputs as {@code in_<name>}, the
     * gradients dq, dk, dv and {@code grad_<name>} (fp32, zeroed by {@link #launch} where added into), and the
     * scratch {@code delta} [B, H, Nq], {@code row_grads} [ROW_SUMS, B, H, Nq], {@code tiles} and,
     * with an output transform, {@code dout_eff} (dO after the transform, input precision).
     */
    public record Tensors(Map<String, DeviceTensor> byName) {
        public DeviceTensor get(String name) { return byName.get(name); }
    }

    public BackwardModule module() { return module; }

    public BackwardTilePlan plan(Binding binding) {
        return BackwardTilePlan.of(backward.forward(), module.config().blockQ(), module.config().blockKv(), binding);
    }

    /** The transposed tile lists of this launch ({@link BackwardTilePlan#lists}). */
    public int[] tileLists(Binding binding, Map<String, Tensor> hostInputs) {
        return plan(binding).lists(backward.forward(), binding, hostInputs);
    }

    /** Writes the launch's {@code tiles} and, for a deterministic module, the entries' ranks ({@code tile_ranks}). */
    public void writeTileLists(Binding binding, Map<String, Tensor> hostInputs, Tensors t) {
        int[] lists = tileLists(binding, hostInputs);
        t.get("tiles").write(lists);
        if (module.config().deterministic()) t.get("tile_ranks").write(plan(binding).ranks(lists));
    }

    /**
     * Fills the launch's {@code tiles} with its lists on the device, with the classifier (one
     * mask evaluation per element): for masks that read inputs held only there, and to check the
     * host's lists against. Every element visible needs no classifier: the host writes those.
     */
    public void classifyOnDevice(Binding binding, Tensors t) {
        if (classifier == null) throw new IllegalStateException(backward.forward().name() + " has no classifier: every element is visible");
        BackwardTilePlan plan = plan(binding);
        classifier.launch(new int[] {plan.kvTiles(), plan.slotsB() * plan.slotsH(), 1}, new int[] {BackwardModule.CLASSIFIER_THREADS, 1, 1}, 0,
                mainArguments(binding, t));
    }

    /**
     * Zeroes the gradients the kernels add into, then launches Δ, the main kernel and the row kernel (asynchronously, on
     * the default stream). A deterministic module adds row sums and input gradients into their
     * exact buffers ({@code exact_<name>}) and rounds them into the fp32 ones: the row sums before
     * the row kernel reads them, the input gradients at the end.
     */
    public void launch(Binding binding, Tensors t) {
        boolean exact = module.config().deterministic();
        for (Map.Entry<String, DeviceTensor> e : t.byName().entrySet()) {
            if (accumulated(e.getKey(), exact)) e.getValue().fill(0);
        }
        Tensors fp32 = t;
        if (exact) t = exactSums(t, true);
        int b = binding.size("B"), h = binding.size("H"), nq = binding.size("Nq"), rowsAll = b * h * nq;
        if (delta != null) {
            GpuFunction.Args args = tensors(new GpuFunction.Args(), module.deltaSignature(), t, binding).s32(rowsAll);
            if (module.transformsOutput()) {
                args.s32(b).s32(h).s32(binding.size("Hkv")).s32(nq).s32(binding.size("Nkv")).s32(binding.queryOffset());
                args = GpuAttention.symbolicSizesAndParams(args, module.deltaSignature(), binding);
            }
            delta.launch(new int[] {ceilDiv(rowsAll, BackwardModule.DELTA_ROWS_PER_BLOCK), 1, 1}, new int[] {BackwardModule.ROW_THREADS, 1, 1}, 0, args);
        }
        BackwardTilePlan plan = plan(binding);
        main.launch(new int[] {plan.kvTiles(), b * binding.size("Hkv"), 1}, new int[] {module.config().threads(), 1, 1}, module.config().sharedBytes(),
                mainArguments(binding, t));
        if (rows != null) {
            if (exact) {
                round(t.get("row_grads"), fp32.get("row_grads"));
                t = exactSums(fp32, false);
            }
            GpuFunction.Args rowArgs = tensors(new GpuFunction.Args(), module.rowsSignature(), t, binding).s32(b).s32(h).s32(nq).s32(binding.queryOffset());
            rows.launch(new int[] {ceilDiv(rowsAll, BackwardModule.ROW_THREADS), 1, 1}, new int[] {BackwardModule.ROW_THREADS, 1, 1}, 0,
                    GpuAttention.symbolicSizesAndParams(rowArgs, module.rowsSignature(), binding));
        }
        if (exact) for (String input : backward.inputs()) round(t.get("grad_" + input), fp32.get("grad_" + input));
    }

    /** {@code t} with the gradients of inputs and, if {@code rowSums}, the row sums read from their exact buffers. */
    private Tensors exactSums(Tensors t, boolean rowSums) {
        Map<String, DeviceTensor> aliased = t.byName();
        for (String input : backward.inputs()) aliased = withAlias(aliased, "grad_" + input, "exact_grad_" + input);
        return new Tensors(rowSums ? withAlias(aliased, "row_grads", "exact_row_grads") : aliased);
    }

    /** Rounds the exact sums into {@code sums} (fp32, one an element). */
    private void round(DeviceTensor exact, DeviceTensor sums) {
        int count = Math.toIntExact(sums.bytes() / 4);
        finish.launch(new int[] {ceilDiv(count, BackwardModule.FINISH_THREADS), 1, 1}, new int[] {BackwardModule.FINISH_THREADS, 1, 1}, 0,
                new GpuFunction.Args().pointer(exact).pointer(sums).s32(count));
    }

    /** The main kernel's arguments (the classifier's too). */
    private GpuFunction.Args mainArguments(Binding binding, Tensors t) {
        BackwardTilePlan plan = plan(binding);
        // With an output transform, the main kernel reads dO after it (dout_eff), not dOut.
        GpuFunction.Args args = tensors(new GpuFunction.Args(), module.signature(),
                module.transformsOutput() ? new Tensors(withAlias(t.byName(), "dout", "dout_eff")) : t, binding);
        args.s32(binding.size("B")).s32(binding.size("H")).s32(binding.size("Hkv")).s32(binding.size("Nq")).s32(binding.size("Nkv"))
                .s32(binding.queryOffset()).s32(plan.qTiles()).s32(plan.kvTiles()).s32(plan.slotStrideB()).s32(plan.slotStrideH());
        return GpuAttention.symbolicSizesAndParams(args, module.signature(), binding);
    }

    private static Map<String, DeviceTensor> withAlias(Map<String, DeviceTensor> byName, String name, String from) {
        Map<String, DeviceTensor> aliased = new HashMap<>(byName);
        aliased.put(name, byName.get(from));
        return aliased;
    }

    /**
     * Whether the kernels add into the tensor (atomically), or count in it, so that it starts at
     * zero; dk and dv are stored whole by the main kernel, and with {@code exact} sums the fp32 row
     * sums and input gradients by the rounding kernel.
     */
    private static boolean accumulated(String name, boolean exact) {
        boolean summed = name.equals("row_grads") || name.startsWith("grad_");
        return name.equals("dq") || (summed && !exact) || name.startsWith("exact_") || name.equals("dq_turns");
    }

    /**
     * The signature's tensors, its tensor maps (the wgmma kernel's: Q and dO in boxes of the query
     * tile's rows, K and V of the block's keys, dq in the boxes it adds into), then its inputs
     * ({@code in_<name>}), by name; a missing tensor is passed as null.
     */
    private GpuFunction.Args tensors(GpuFunction.Args args, Signature signature, Tensors t, Binding binding) {
        for (String name : signature.tensors()) args.pointer(t.get(name));
        BackwardConfig c = module.config();
        int b = binding.size("B"), h = binding.size("H"), hkv = binding.size("Hkv"), nq = binding.size("Nq"), nkv = binding.size("Nkv");
        for (String map : signature.tensorMaps()) {
            args.bytes(switch (map) {
                case "q" -> GpuAttention.rows(t.get("q"), c.headDim(), nq, b * h, c.blockQ());
                case "dout" -> GpuAttention.rows(t.get("dout"), c.valueDim(), nq, b * h, c.blockQ());
                case "k" -> GpuAttention.rows(t.get("k"), c.headDim(), nkv, b * hkv, c.blockKv());
                case "v" -> GpuAttention.rows(t.get("v"), c.valueDim(), nkv, b * hkv, c.blockKv());
                case "dq" -> TensorMap.tiled(t.get("dq"), new long[] {c.headDim(), nq, (long) b * h}, new long[] {4L * c.headDim(), 4L * c.headDim() * nq},
                        new int[] {BackwardConfig.DQ_BOX_COLUMNS, c.blockQ(), 1}, TensorMap.Swizzle.BYTES_128);
                default -> throw new IllegalStateException("no tensor map of " + map);
            });
        }
        for (String input : signature.inputs()) args.pointer(t.get("in_" + input));
        return args;
    }

    /** The scratch and gradient buffers of a launch, fp32 (dk and dv in the config's precision for them), by name, for {@link Tensors}. */
    public Map<String, DeviceTensor> allocateOutputs(Device device, Binding binding, Map<String, int[]> inputShapes) {
        int b = binding.size("B"), h = binding.size("H"), hkv = binding.size("Hkv"), nq = binding.size("Nq"), nkv = binding.size("Nkv");
        Map<String, DeviceTensor> outputs = new HashMap<>();
        outputs.put("dq", DeviceTensor.allocate(device, DType.FLOAT32, b, h, nq, binding.size("D")));
        DType keys = module.config().keyGradients();
        outputs.put("dk", DeviceTensor.allocate(device, keys, b, hkv, nkv, binding.size("D")));
        outputs.put("dv", DeviceTensor.allocate(device, keys, b, hkv, nkv, binding.size("Dv")));
        outputs.put("delta", DeviceTensor.allocate(device, DType.FLOAT32, b, h, nq));
        outputs.put("row_grads", DeviceTensor.allocate(device, DType.FLOAT32, BackwardModule.ROW_SUMS, b, h, nq));
        outputs.put("tiles", DeviceTensor.allocate(device, DType.INT32, plan(binding).listLength()));
        for (String input : backward.inputs()) outputs.put("grad_" + input, DeviceTensor.allocate(device, DType.FLOAT32, inputShapes.get(input)));
        if (module.transformsOutput()) outputs.put("dout_eff", DeviceTensor.allocate(device, module.config().dtype(), b, h, nq, binding.size("Dv")));
        if (module.config().deterministic()) {
            int words = BackwardModule.EXACT_BYTES / 4;
            outputs.put("exact_row_grads", DeviceTensor.allocate(device, DType.INT32, BackwardModule.ROW_SUMS, b, h, nq, words));
            for (String input : backward.inputs()) {
                int[] shape = inputShapes.get(input);
                int[] exact = java.util.Arrays.copyOf(shape, shape.length + 1);
                exact[shape.length] = words;
                outputs.put("exact_grad_" + input, DeviceTensor.allocate(device, DType.INT32, exact));
            }
            BackwardTilePlan plan = plan(binding);
            outputs.put("tile_ranks", DeviceTensor.allocate(device, DType.INT32, plan.listLength()));
            outputs.put("dq_turns", DeviceTensor.allocate(device, DType.INT32, b, h, plan.qTiles()));
        }
        return outputs;
    }

    private static int ceilDiv(int a, int b) { return (a + b - 1) / b; }
}
