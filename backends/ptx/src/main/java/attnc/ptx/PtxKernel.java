package attnc.ptx;

import attnc.gpu.Device;
import attnc.gpu.DeviceTensor;
import attnc.gpu.EventTimer;
import attnc.ir.DType;
import attnc.ir.Input;
import attnc.ir.Pattern;
import attnc.launch.BackwardLaunch;
import attnc.launch.Binding;
import attnc.launch.Gradients;
import attnc.launch.Memory;
import attnc.launch.Outputs;
import attnc.launch.Problem;
import attnc.launch.RaggedBatch;
import attnc.launch.RaggedBinding;
import attnc.launch.Result;
import attnc.launch.ShapeException;
import attnc.launch.Wrt;
import attnc.lower.LowerBackward;
import attnc.lower.LoweredBackward;
import attnc.lower.LoweredPattern;
import attnc.ptx.emit.BackwardConfig;
import attnc.ptx.emit.BackwardModule;
import attnc.ptx.emit.KernelConfig;
import attnc.ptx.emit.PtxModule;
import attnc.run.Kernel;
import attnc.run.TuningConfig;
import attnc.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A pattern compiled for the GPU, behind the same {@link Kernel#forward} as the CPU kernels:
 * checks the problem ({@link Binding#of}) before touching the device, uploads Q/K/V as bf16
 * (fp16 when they are fp16), launches, copies the fp32 output back and frees every device
 * buffer. Modules are rendered per head-dim and dtype on first use and cached.
 *
 * <p>Tensors already on the GPU ({@link DeviceTensor#asTensor}: a KV cache kept between decode
 * steps) are used in place: {@link #forward(Problem, Tensor, Tensor)} with q, k, v, out and lse
 * there copies nothing but the pattern's inputs and the tile lists.
 */
final class PtxKernel implements Kernel {
    private final LoweredPattern lowered;
    private final Pattern pattern;
    private final TuningConfig tuning;
    private final Map<Module<KernelConfig>, GpuAttention> loaded = new ConcurrentHashMap<>();
    private final Map<Module<KernelConfig>, GpuDecode> decoders = new ConcurrentHashMap<>();
    private final Map<Module<BackwardConfig>, GpuBackward> backwards = new ConcurrentHashMap<>();
    private volatile LoweredBackward lowerBackward;

    /** A module's tiling and the head dims its programs see (padded ones differ from the tiling's, {@link HeadPadding}). */
    private record Module<C>(C config, HeadPadding dims, Set<String> gradientInputs) {
        Module(C config, HeadPadding dims) { this(config, dims, Set.of()); }
    }

    /** {@code tuning}: knobs of {@link TuningSpace} over the default tiling (empty for the default). */
    PtxKernel(LoweredPattern lowered, TuningConfig tuning) {
        this.lowered = lowered;
        this.pattern = lowered.pattern();
        this.tuning = tuning;
    }

    @Override public Pattern pattern() { return pattern; }

    @Override
    public Result forward(Problem problem) {
        requireHost(problem);
        try (Launch launch = new Launch(problem, null)) {
            launch.run();
            launch.device.synchronize();
            GpuAttention.Tensors t = launch.tensors;
            int dv = launch.dims.dv();
            return new Result(HeadPadding.trim(t.out().readFloats(), dv), t.lse() == null ? null : t.lse().readFloats(), new int[] {
                    launch.binding.size("B"), launch.binding.size("H"), launch.binding.size("Nq"), dv},
                    t.preOutput() == null ? null : HeadPadding.trim(t.preOutput().readFloats(), dv));
        }
    }

    /**
     * Writes the output into {@code out} and the LSE into {@code lse} (or skips it when null). When
     * {@code out} lives on the GPU, so must q, k, v and lse, each a whole {@link DeviceTensor}
     * (row-major, no view), q, k, v all bf16 or all fp16, out and lse float32, head dims multiples
     * of 16; the pattern's inputs come from host memory. The kernels then read and write them in
     * place, on the default stream; the call returns when they have finished. Everything is
     * checked before any device work. Host outputs take {@link Kernel}'s path.
     */
    @Override
    public void forward(Problem problem, Tensor out, Tensor lse) {
        if (out == null || !(out.storage() instanceof Tensor.Storage.Device)) {
            requireHost(problem);
            Kernel.super.forward(problem, out, lse);
            return;
        }
        for (Input input : pattern.inputs()) requireHost("input '" + input.name() + "'", problem.inputs().get(input.name()));
        Binding binding = Binding.of(pattern, problem);
        Outputs.check(pattern, binding, out, lse);
        Resident resident = Resident.of(problem, out, lse, binding);
        try (Launch launch = new Launch(problem, resident)) {
            launch.run();
            launch.device.synchronize();
        }
    }

    /** q, k, v, out and lse on the device, checked: what a resident launch uses in place. */
    private record Resident(DeviceTensor q, DeviceTensor k, DeviceTensor v, DeviceTensor out, DeviceTensor lse) {
        static Resident of(Problem problem, Tensor out, Tensor lse, Binding binding) {
            DeviceTensor q = device("q", problem.q()), k = device("k", problem.k());
            // MLA's latent cache on the device: V the view of K's first Dv columns, read from K's buffer.
            DeviceTensor v = GpuDecode.valuesInKeys(problem.k(), problem.v()) ? k : device("v", problem.v());
            DeviceTensor o = device("out", out), l = lse == null ? null : device("lse", lse);
            if (q.dtype() != DType.BFLOAT16 && q.dtype() != DType.FLOAT16 || k.dtype() != q.dtype() || v.dtype() != q.dtype()) {
                throw new ShapeException("q, k, v on the GPU: expected all bfloat16 or all float16, got " + q.dtype() + ", " + k.dtype() + ", " + v.dtype());
            }
            if (o.dtype() != DType.FLOAT32) throw new ShapeException("out on the GPU: expected float32 (the kernels' output), got " + o.dtype());
            if (HeadPadding.of(binding).pads()) {
                throw new ShapeException("D = " + binding.size("D") + ", Dv = " + binding.size("Dv") + " with q, k, v on the GPU: expected multiples of 16"
                        + " (other head dims run zero-padded, which needs the host tensors)");
            }
            return new Resident(q, k, v, o, l);
        }

        /** The device buffer behind a whole-buffer view, or a refusal saying what was expected. */
        private static DeviceTensor device(String name, Tensor t) {
            if (t == null || !(t.storage() instanceof Tensor.Storage.Device(Object owner, long elements))) {
                throw new ShapeException(name + ": expected a tensor on the GPU like out (DeviceTensor.asTensor()), got "
                        + (t == null ? "none" : "one in host memory"));
            }
            if (!(owner instanceof DeviceTensor buffer) || !t.isContiguous() || elements != t.size()) {
                throw new ShapeException(name + ": expected a whole DeviceTensor seen row-major (DeviceTensor.asTensor()), got a view over " + owner);
            }
            return buffer;
        }
    }

    /** Refuses device tensors where the backend copies from the host (a problem whose output comes back as a {@link Result}). */
    private static void requireHost(Problem problem) {
        requireHost("q", problem.q());
        requireHost("k", problem.k());
        requireHost("v", problem.v());
        problem.inputs().forEach((name, t) -> requireHost("input '" + name + "'", t));
    }

    private static void requireHost(String name, Tensor t) {
        if (t != null && t.storage() instanceof Tensor.Storage.Device) {
            throw new ShapeException(name + ": the tensor lives in GPU memory; the ptx backend uses q, k and v there in place when out (and lse) are"
                    + " there too (forward(problem, out, lse)), and copies a pattern's inputs from host memory");
        }
    }

    /** The precision the kernels read q, k and v in: fp16 where q is fp16, else bf16 (fp32 inputs rounded to it). */
    static DType inputDType(DType q) { return q == DType.FLOAT16 ? DType.FLOAT16 : DType.BFLOAT16; }

    /**
     * A ragged launch over a paged cache: the paged decode kernel ({@link PagedDecode}) when every
     * sequence has the same 1 to {@link GpuDecode#MAX_AUTO_QUERIES} queries and it takes the
     * pattern and head dims (a decode step); any other batch, the ragged prefill kernel ({@link
     * RaggedPrefill}), one launch for every sequence. What neither takes is refused in one line
     * before any device work.
     */
    @Override
    public Result forward(RaggedBatch batch) {
        if (batch != null && batch.cache() != null) {
            requireHost("q", batch.q());
            requireHost("cache.k", batch.cache().k());
            requireHost("cache.v", batch.cache().v());
        }
        RaggedBinding ragged = RaggedBinding.of(pattern, batch);
        if (ragged.totalQueries() == 0) {
            return new Result(new float[0], lowered.writesLse() ? new float[0] : null, new int[] {0, ragged.heads(), ragged.valueDim()});
        }
        Device device = Device.get(0);
        int sm = KernelConfig.target(device.sm());
        // MLA's latent cache: the V pool is the view of the K pool's first Dv columns, uploaded and read once, as K.
        boolean latent = batch.cache() != null
                && GpuDecode.latent(sm, ragged.headDim(), ragged.valueDim(), GpuDecode.valuesInKeys(batch.cache().k(), batch.cache().v()));
        if (!PagedDecode.takes(pattern, ragged, sm, latent)) {
            // The prefill takes no latent head dims: what refuses the batch here is the decode's reason.
            if (latent) PagedDecode.requireSupported(pattern, ragged, sm, true);
            return prefill(batch, ragged);
        }
        Binding launch = PagedDecode.launchBinding(ragged, PagedDecode.requireSupported(pattern, ragged, sm, latent));
        HeadPadding dims = HeadPadding.of(launch);
        Binding padded = dims.binding(launch);
        DType dtype = inputDType(batch.q().dtype());
        long keys = 2L * (batch.cache().k().size() + batch.cache().v().size()), rows = (long) ragged.totalQueries() * ragged.heads();
        requireDeviceMemory(device, keys + 2L * batch.q().size() + 4L * rows * (ragged.valueDim() + 1) * 2 + 4L * batch.cache().blockTable().size());
        LoweredPattern seen = dims.lowered(lowered);
        KernelConfig config;
        if (latent) {
            config = GpuDecode.latentConfig(seen, sm, dtype, padded, true);
        } else {
            KernelConfig auto = GpuDecode.config(seen, sm, dtype, padded);
            config = auto.forDecode(auto.decode().paged());
        }
        GpuDecode decoder = decoders.computeIfAbsent(new Module<>(config, dims), m -> new GpuDecode(device, seen, PtxModule.render(seen, m.config())));
        try (PagedDecode paged = new PagedDecode(device, decoder, batch, ragged, launch, pattern, lowered.writesLse(), latent)) {
            return paged.run();
        }
    }

    /** A ragged batch through the prefill kernel ({@link KernelConfig#ofRagged}: wgmma on sm_90 from D = 32), the work and tile lists built here. */
    private Result prefill(RaggedBatch batch, RaggedBinding ragged) {
        RaggedPrefill.requireSupported(ragged);
        HeadPadding dims = new HeadPadding(ragged.headDim(), ragged.valueDim());
        Device device = Device.get(0);
        requireDeviceMemory(device, RaggedPrefill.deviceBytes(batch, ragged, pattern));
        LoweredPattern seen = dims.lowered(lowered);
        KernelConfig config = RaggedPrefill.config(seen, device, batch, ragged, RaggedPrefill.Tiling.DEFAULT).orElseThrow();
        GpuAttention attention = loaded.computeIfAbsent(new Module<>(config, dims), m -> new GpuAttention(device, seen, PtxModule.render(seen, m.config())));
        RaggedPlan plan = RaggedPlan.of(lowered, ragged, config);
        try (RaggedPrefill prefill = new RaggedPrefill(device, attention, batch, ragged, plan, pattern, lowered.writesLse())) {
            return prefill.run();
        }
    }

    /**
     * The gradients on the device (FlashAttention-2's backward, {@link GpuBackward}): Q, K, V and
     * dOut in bf16 (fp16 when Q is), the forward's fp32 output and LSE; every gradient is fp32.
     * Head dims beyond 128 are refused before any device work; multiples of 8 that are not of 16
     * run padded ({@link HeadPadding}). Patterns with an output transform need the forward's
     * {@link Result#preOutput}, which this backend's forward keeps.
     */
    @Override
    public Gradients backward(Problem problem, Result forward, Tensor dOut, Set<Wrt> wanted) {
        return backward(problem, forward, dOut, wanted, false);
    }

    /**
     * Deterministic: each query tile's dq takes its kv blocks' adds in kv order, one block at a
     * time, and row sums and input gradients are summed exactly as 128-bit fixed point and rounded
     * once ({@link BackwardConfig}); BENCHMARKS.md gives what the order costs.
     */
    @Override
    public Gradients backward(Problem problem, Result forward, Tensor dOut, Set<Wrt> wanted, boolean deterministic) {
        BackwardLaunch checked = BackwardLaunch.of(pattern, problem, forward, dOut, wanted);
        HeadPadding dims = HeadPadding.of(checked.binding());
        String refusal = dims.d() % 8 != 0 || dims.dv() % 8 != 0
                ? "the GPU backward takes head dims D and Dv that are multiples of 8, got D = " + dims.d() + ", Dv = " + dims.dv()
                : BackwardConfig.headDimRefusal(HeadPadding.padded(dims.d()), HeadPadding.padded(dims.dv()));
        if (refusal != null) throw new ShapeException(refusal);
        Binding binding = dims.binding(checked.binding());
        int headDim = binding.size("D"), valueDim = binding.size("Dv");
        Device device = Device.get(0);
        DType dtype = inputDType(problem.q().dtype());
        Set<String> gradientInputs = new java.util.TreeSet<>();
        for (Wrt w : checked.wanted()) if (w instanceof Wrt.Input(String name)) gradientInputs.add(name);
        // Q, K, V and dOut in 2 bytes (out, LSE and o in 4), the fp32 gradients, delta and row sums; the pattern's
        // inputs (at most 4 bytes an element) and their wanted gradients, summed exactly where deterministic.
        long rows = (long) binding.size("B") * binding.size("H") * binding.size("Nq");
        long inputElements = problem.inputs().values().stream().mapToLong(Tensor::size).sum();
        long gradientElements = gradientInputs.stream().mapToLong(name -> problem.inputs().get(name).size()).sum();
        requireDeviceMemory(device, 2L * (problem.q().size() + problem.k().size() + problem.v().size() + dOut.size())
                + 4L * (problem.q().size() + problem.k().size() + problem.v().size()) + 4L * rows * (2L * valueDim + 4)
                + 4L * (inputElements + gradientElements) + (deterministic ? BackwardModule.EXACT_BYTES * (2L * rows + gradientElements) : 0));
        BackwardConfig tuned = TuningSpace.applyBackward(BackwardConfig.of(KernelConfig.target(device.sm()), dtype, headDim, valueDim), tuning);
        BackwardConfig config = deterministic ? tuned.withDeterministic() : tuned;
        LoweredBackward lb = dims.lowered(loweredBackward()).only(gradientInputs);
        GpuBackward gpu = backwards.computeIfAbsent(new Module<>(config, dims, Set.copyOf(gradientInputs)),
                m -> new GpuBackward(device, lb, BackwardModule.render(lb, m.config())));
        Map<String, int[]> inputShapes = new LinkedHashMap<>();
        problem.inputs().forEach((name, t) -> inputShapes.put(name, t.shape()));
        Map<String, DeviceTensor> byName = new LinkedHashMap<>();
        try {
            byName.put("q", DeviceTensor.upload(device, HeadPadding.pad(problem.q()), dtype));
            byName.put("k", DeviceTensor.upload(device, HeadPadding.pad(problem.k()), dtype));
            byName.put("v", DeviceTensor.upload(device, HeadPadding.pad(problem.v()), dtype));
            byName.put("dout", DeviceTensor.upload(device, HeadPadding.pad(dOut), dtype));
            int[] outShape = {binding.size("B"), binding.size("H"), binding.size("Nq"), dims.dv()};
            if (lowered.writesLse()) {
                byName.put("out", DeviceTensor.upload(device, HeadPadding.pad(Tensor.ofFloats(DType.FLOAT32, outShape, forward.out())), DType.FLOAT32));
                byName.put("lse", DeviceTensor.upload(device, Tensor.ofFloats(DType.FLOAT32, new int[] {outShape[0], outShape[1], outShape[2]},
                        forward.lse()), DType.FLOAT32));
            }
            if (forward.preOutput() != null) {
                byName.put("pre_out", DeviceTensor.upload(device, HeadPadding.pad(Tensor.ofFloats(DType.FLOAT32, outShape, forward.preOutput())), DType.FLOAT32));
            }
            for (Input input : pattern.inputs()) {
                byName.put("in_" + input.name(), DeviceTensor.upload(device, problem.inputs().get(input.name()), input.dtype()));
            }
            byName.putAll(gpu.allocateOutputs(device, binding, inputShapes));
            GpuBackward.Tensors tensors = new GpuBackward.Tensors(byName);
            gpu.writeTileLists(binding, problem.inputs(), tensors);
            gpu.launch(binding, tensors);
            device.synchronize();
            Map<Wrt, Tensor> gradients = new LinkedHashMap<>();
            for (Wrt w : checked.wanted()) {
                Tensor like = switch (w) {
                    case Wrt.Operand o -> switch (o) { case Q -> problem.q(); case K -> problem.k(); case V -> problem.v(); };
                    case Wrt.Input(String name) -> problem.inputs().get(name);
                };
                String buffer = switch (w) {
                    case Wrt.Operand o -> o.label();
                    case Wrt.Input(String name) -> "grad_" + name;
                };
                float[] values = byName.get(buffer).readFloats();
                if (w instanceof Wrt.Operand) values = HeadPadding.trim(values, like.dim(3));
                gradients.put(w, Tensor.ofFloats(DType.FLOAT32, like.shape(), values));
            }
            return new Gradients(gradients);
        } finally {
            for (DeviceTensor t : byName.values()) t.close();
        }
    }

    private LoweredBackward loweredBackward() {
        LoweredBackward lb = lowerBackward;
        if (lb == null) lowerBackward = lb = LowerBackward.lower(pattern);
        return lb;
    }

    /** The tiling for this launch; head dims the kernels do not take are the caller's to change, refused as a shape. */
    private KernelConfig config(Binding binding, DType dtype) {
        KernelConfig config;
        try {
            config = TuningSpace.apply(KernelConfig.of(lowered, KernelConfig.target(Device.get(0).sm()), dtype, binding.size("D"), binding.size("Dv")), tuning);
        } catch (IllegalArgumentException e) {
            throw unsupported(binding, e);
        }
        return fitting(config, tuning, binding);
    }

    /**
     * {@code config}, or a refusal where {@code tuning} made it overflow this launch's shared memory
     * or registers (a tuning chosen for other head dims): said here, not by the driver at launch.
     */
    static KernelConfig fitting(KernelConfig config, TuningConfig tuning, Binding binding) {
        String limit = config.limitExceeded(config.sm());
        if (limit != null) {
            throw new ShapeException("the tuning " + tuning + " does not fit sm_" + config.sm() + " at D = " + binding.size("D") + ", Dv = "
                    + binding.size("Dv") + ": " + limit);
        }
        return config;
    }

    /** The decode tiling for this launch, with the tiling knobs it has (keys a tile, stages). */
    private KernelConfig decodeConfig(Binding binding, DType dtype) {
        try {
            KernelConfig auto = GpuDecode.config(lowered, KernelConfig.target(Device.get(0).sm()), dtype, binding);
            int blockN = tuning.get("block_n", auto.blockN()), knob = tuning.get(TuningSpace.WARP_KEYS, -1);
            if (knob == 1 && !GpuDecode.warpKeysFit(auto, binding)) {
                throw new IllegalArgumentException("warp_keys = 1 needs at most " + GpuDecode.WARP_KEY_ROWS + " packed rows a block, got "
                        + GpuDecode.blockRows(auto, binding));
            }
            // Unless asked for, the key split gives way to a tile too short for 16 keys a warp.
            boolean warpKeys = knob >= 0 ? knob == 1 : auto.warpKeys() && blockN % (16 * auto.warps()) == 0;
            KernelConfig config = auto.withDecodeTiling(blockN, tuning.get("stages", auto.stages()), warpKeys);
            String exceeded = config.limitExceeded(config.sm());
            if (exceeded != null) throw new IllegalArgumentException("the decode tiling " + config.tag() + " does not fit: " + exceeded);
            return config;
        } catch (IllegalArgumentException e) {
            throw unsupported(binding, e);
        }
    }

    private static ShapeException unsupported(Binding binding, IllegalArgumentException e) {
        int d = binding.size("D"), dv = binding.size("Dv");
        String why = d % 8 != 0 || dv % 8 != 0 || Math.max(d, dv) > 256
                ? "head dims must be multiples of 8 up to 256 (those that are not multiples of 16 run padded with zero columns); "
                        + GpuDecode.latentRule(90) : e.getMessage();
        return new ShapeException("the ptx backend cannot run D = " + d + ", Dv = " + dv + ": " + why);
    }

    /** What a forward launch holds on the device: Q, K, V in 2 bytes, inputs, the fp32 output (twice with a transform), the LSE and tile lists. */
    private long forwardBytes(Problem problem, Binding binding) {
        long out = 4L * binding.size("B") * binding.size("H") * binding.size("Nq") * binding.size("Dv");
        long bytes = 2L * (problem.q().size() + problem.k().size() + problem.v().size()) + out * (lowered.identityOutput() ? 1 : 2)
                + out / Math.max(1, binding.size("Dv"));
        for (Input input : pattern.inputs()) bytes += (long) problem.inputs().get(input.name()).size() * input.dtype().bytes();
        return bytes;
    }

    /**
     * Refuses a launch whose buffers cannot fit in the device's free memory, before any of them is
     * allocated, with the figures (a failed cuMemAlloc in the middle would say much less).
     */
    static void requireDeviceMemory(Device device, long bytes) {
        long[] info = device.memoryInfo();
        if (bytes > info[0]) {
            throw new ShapeException("the launch needs " + Memory.human(bytes) + " of device memory but " + device.name() + " has "
                    + Memory.human(info[0]) + " free of " + Memory.human(info[1]) + "; expected smaller sizes");
        }
    }

    /** Device time only: inputs uploaded and tile lists built once, then CUDA-event-timed launches. */
    @Override
    public double medianMillis(java.util.function.Supplier<Problem> freshInputs, int warmups, int repeats) {
        try (Launch launch = new Launch(freshInputs.get(), null)) {
            return EventTimer.medianMillis(launch.device, launch::run, warmups, repeats);
        }
    }

    /**
     * Whether this launch decodes (split-KV, {@link GpuDecode}): a few queries a head, where one
     * block a head would leave most of the device idle. The {@code decode} knob forces it (1) or
     * the prefill kernel (0); a forward tiling chosen by knobs is run as chosen; else it decodes up
     * to {@link GpuDecode#MAX_AUTO_QUERIES} queries.
     */
    private boolean decodes(Binding binding) {
        int knob = tuning.get(TuningSpace.DECODE, -1);
        if (knob >= 0) return knob == 1;
        boolean tiled = tuning.knobs().keySet().stream().anyMatch(name -> !name.startsWith("backward_"));
        return !tiled && binding.size("Nq") <= GpuDecode.MAX_AUTO_QUERIES && binding.size("Nkv") >= GpuDecode.MIN_AUTO_KEYS
                && Math.max(binding.size("D"), binding.size("Dv")) <= GpuDecode.maxHeadDim(KernelConfig.target(Device.get(0).sm()));
    }

    /**
     * One problem on the device: checked, uploaded (or, {@code resident}, used in place), output
     * poisoned, tile lists built; what it allocated is freed on close.
     */
    private final class Launch implements AutoCloseable {
        /** The binding the kernels run under (head dims padded, {@link HeadPadding}) and the dims the caller gave. */
        final Binding binding;
        final HeadPadding dims;
        final Device device = Device.get(0);
        final GpuAttention gpu;
        /** The split-KV path and its partials, or null for the one-pass kernel. */
        final GpuDecode decoder;
        final GpuDecode.Partials partials;
        final GpuAttention.Tensors tensors;
        final DeviceTensor tiles;
        private final DeviceBuffers owned = new DeviceBuffers();

        Launch(Problem problem, Resident resident) {
            Binding logical = Binding.of(pattern, problem);
            dims = HeadPadding.of(logical);
            binding = dims.binding(logical);
            DType dtype = inputDType(resident != null ? resident.q().dtype() : problem.q().dtype());
            if (resident == null) requireDeviceMemory(device, forwardBytes(problem, binding));
            LoweredPattern seen = dims.lowered(lowered);
            int sm = KernelConfig.target(device.sm());
            // MLA's latent cache: V is K's first Dv columns, uploaded and read once, as K.
            boolean latent = GpuDecode.latent(sm, binding.size("D"), binding.size("Dv"), GpuDecode.valuesInKeys(problem.k(), problem.v()));
            if (latent || decodes(binding)) {
                KernelConfig config = latent ? GpuDecode.latentConfig(lowered, sm, dtype, binding, false) : decodeConfig(binding, dtype);
                decoder = decoders.computeIfAbsent(new Module<>(config, dims),
                        m -> new GpuDecode(device, seen, PtxModule.render(seen, m.config())));
                gpu = null;
            } else {
                gpu = loaded.computeIfAbsent(new Module<>(config(binding, dtype), dims), m -> new GpuAttention(device, seen, PtxModule.render(seen, m.config())));
                decoder = null;
            }
            int b = binding.size("B"), h = binding.size("H"), nq = binding.size("Nq"), dv = binding.size("Dv");
            try {
                DeviceTensor q, k, v, out, lse;
                if (resident != null) {
                    q = resident.q();
                    k = resident.k();
                    v = resident.v();
                    out = resident.out();
                    lse = lowered.writesLse() ? resident.lse() : null;
                } else {
                    q = owned.add(DeviceTensor.upload(device, HeadPadding.pad(problem.q()), dtype));
                    k = owned.add(DeviceTensor.upload(device, HeadPadding.pad(problem.k()), dtype));
                    v = latent ? k : owned.add(DeviceTensor.upload(device, HeadPadding.pad(problem.v()), dtype));
                    out = owned.add(DeviceTensor.allocate(device, DType.FLOAT32, b, h, nq, dv));
                    lse = lowered.writesLse() ? owned.add(DeviceTensor.allocate(device, DType.FLOAT32, b, h, nq)) : null;
                    // Poisoned with NaN: an element the kernel fails to write cannot pass a comparison.
                    out.fill(0xFF);
                    if (lse != null) lse.fill(0xFF);
                }
                Map<String, DeviceTensor> inputs = new LinkedHashMap<>();
                for (Input input : pattern.inputs()) {
                    inputs.put(input.name(), owned.add(DeviceTensor.upload(device, problem.inputs().get(input.name()), input.dtype())));
                }
                // o before the output transform, which the backward reads: one more fp32 store of the output's size.
                DeviceTensor preOutput = lowered.identityOutput() ? null : owned.add(DeviceTensor.allocate(device, DType.FLOAT32, b, h, nq, dv));
                if (preOutput != null) preOutput.fill(0xFF);
                tensors = new GpuAttention.Tensors(q, k, v, out, lse, preOutput, inputs);
                if (decoder != null) {
                    partials = owned.add(decoder.allocatePartials(binding, decoder.splits(binding)));
                    tiles = owned.add(DeviceTensor.allocate(device, DType.INT32, decoder.tilesLength(binding)));
                    decoder.prepareTiles(binding, tensors, tiles, problem.inputs());
                } else {
                    partials = null;
                    tiles = owned.add(gpu.plan(binding).allocate(device));
                    gpu.prepareTiles(binding, tensors, tiles, problem.inputs());
                }
            } catch (RuntimeException e) {
                close();
                throw e;
            }
        }

        /** Launches the kernels (asynchronously). */
        void run() {
            if (decoder != null) decoder.launch(binding, tensors, tiles, partials);
            else gpu.launch(binding, tensors, tiles);
        }



        @Override
        public void close() {
            owned.close();
        }
    }
}
