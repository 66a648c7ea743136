package attnc.ptx;

import attnc.gpu.Device;
import attnc.gpu.DeviceTensor;
import attnc.gpu.EventTimer;
import attnc.ir.DType;
import attnc.ir.Input;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.lower.LoweredPattern;
import attnc.ptx.emit.KernelConfig;
import attnc.ptx.emit.PtxModule;
import attnc.run.Kernel;
import attnc.run.TuningConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A pattern compiled for the GPU, behind the same {@link Kernel#forward} as the CPU kernels:
 * checks the problem ({@link Binding#of}) before touching the device, uploads Q/K/V as bf16
 * (fp16 when they are fp16), launches, copies the fp32 output back and frees every device
 * buffer. Modules are rendered per head-dim and dtype on first use and cached.
 */
final class PtxKernel implements Kernel {
    private final LoweredPattern lowered;
    private final Pattern pattern;
    private final TuningConfig tuning;
    private final Map<KernelConfig, GpuAttention> loaded = new ConcurrentHashMap<>();

    /** {@code tuning}: knobs of {@link TuningSpace} over the default tiling (empty for the default). */
    PtxKernel(LoweredPattern lowered, TuningConfig tuning) {
        this.lowered = lowered;
        this.pattern = lowered.pattern();
        this.tuning = tuning;
    }

    @Override public Pattern pattern() { return pattern; }

    @Override
    public Result forward(Problem problem) {
        try (Launch launch = new Launch(problem)) {
            launch.gpu.launch(launch.binding, launch.tensors, launch.tiles);
            launch.device.synchronize();
            GpuAttention.Tensors t = launch.tensors;
            return new Result(t.out().readFloats(), t.lse() == null ? null : t.lse().readFloats(), new int[] {
                    launch.binding.size("B"), launch.binding.size("H"), launch.binding.size("Nq"), launch.binding.size("Dv")});
        }
    }

    /** Device time only: inputs uploaded and tile lists built once, then CUDA-event-timed launches. */
    @Override
    public double medianMillis(java.util.function.Supplier<Problem> freshInputs, int warmups, int repeats) {
        try (Launch launch = new Launch(freshInputs.get())) {
            return EventTimer.medianMillis(launch.device, () -> launch.gpu.launch(launch.binding, launch.tensors, launch.tiles),
                    warmups, repeats);
        }
    }

    /** One problem on the device: checked, uploaded, output poisoned, tile lists built; freed on close. */
    private final class Launch implements AutoCloseable {
        final Binding binding;
        final Device device = Device.get(0);
        final GpuAttention gpu;
        final GpuAttention.Tensors tensors;
        final DeviceTensor tiles;
        private final List<DeviceTensor> owned = new ArrayList<>();

        Launch(Problem problem) {
            binding = Binding.of(pattern, problem);
            DType dtype = problem.q().dtype() == DType.FLOAT16 ? DType.FLOAT16 : DType.BFLOAT16;
            KernelConfig config = TuningSpace.apply(KernelConfig.of(lowered, device.sm() >= 90 ? 90 : 80, dtype,
                    binding.size("D"), binding.size("Dv")), tuning);
            gpu = loaded.computeIfAbsent(config, c -> new GpuAttention(device, lowered, PtxModule.render(lowered, c)));
            int b = binding.size("B"), h = binding.size("H"), nq = binding.size("Nq"), dv = binding.size("Dv");
            try {
                DeviceTensor q = own(DeviceTensor.upload(device, problem.q(), dtype));
                DeviceTensor k = own(DeviceTensor.upload(device, problem.k(), dtype));
                DeviceTensor v = own(DeviceTensor.upload(device, problem.v(), dtype));
                DeviceTensor out = own(DeviceTensor.allocate(device, DType.FLOAT32, b, h, nq, dv));
                DeviceTensor lse = lowered.writesLse() ? own(DeviceTensor.allocate(device, DType.FLOAT32, b, h, nq)) : null;
                // Poisoned with NaN: an element the kernel fails to write cannot pass a comparison.
                out.fill(0xFF);
                if (lse != null) lse.fill(0xFF);
                Map<String, DeviceTensor> inputs = new LinkedHashMap<>();
                for (Input input : pattern.inputs()) {
                    inputs.put(input.name(), own(DeviceTensor.upload(device, problem.inputs().get(input.name()), input.dtype())));
                }
                tensors = new GpuAttention.Tensors(q, k, v, out, lse, inputs);
                tiles = own(gpu.plan(binding).allocate(device));
                gpu.prepareTiles(binding, tensors, tiles, problem.inputs());
            } catch (RuntimeException e) {
                close();
                throw e;
            }
        }

        private DeviceTensor own(DeviceTensor t) {
            owned.add(t);
            return t;
        }

        @Override
        public void close() {
            for (DeviceTensor t : owned) t.close();
        }
    }
}
