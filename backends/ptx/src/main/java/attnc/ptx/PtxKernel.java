package attnc.ptx;

import attnc.gpu.Device;
import attnc.gpu.DeviceTensor;
import attnc.ir.DType;
import attnc.ir.Input;
import attnc.ir.Norm;
import attnc.ir.Pattern;
import attnc.run.Binding;
import attnc.run.Kernel;
import attnc.run.Problem;
import attnc.run.Result;
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
    private final Pattern pattern;
    private final TuningConfig tuning;
    private final Map<KernelConfig, GpuAttention> loaded = new ConcurrentHashMap<>();

    /** {@code tuning}: knobs of {@link TuningSpace} over the default tiling (empty for the default). */
    PtxKernel(Pattern pattern, TuningConfig tuning) {
        this.pattern = pattern;
        this.tuning = tuning;
    }

    @Override public Pattern pattern() { return pattern; }

    @Override
    public Result forward(Problem problem) {
        Binding binding = Binding.of(pattern, problem);
        Device device = Device.get(0);
        DType dtype = problem.q().dtype() == DType.FLOAT16 ? DType.FLOAT16 : DType.BFLOAT16;
        KernelConfig config = TuningSpace.apply(KernelConfig.of(pattern, device.sm() >= 90 ? 90 : 80, dtype, binding.size("D"), binding.size("Dv")), tuning);
        GpuAttention gpu = loaded.computeIfAbsent(config, c -> new GpuAttention(device, pattern, PtxModule.render(pattern, c)));
        int b = binding.size("B"), h = binding.size("H"), nq = binding.size("Nq"), dv = binding.size("Dv");
        boolean softmax = pattern.norm() instanceof Norm.Softmax;
        List<DeviceTensor> owned = new ArrayList<>();
        try {
            DeviceTensor q = own(owned, DeviceTensor.upload(device, problem.q(), dtype));
            DeviceTensor k = own(owned, DeviceTensor.upload(device, problem.k(), dtype));
            DeviceTensor v = own(owned, DeviceTensor.upload(device, problem.v(), dtype));
            DeviceTensor out = own(owned, DeviceTensor.allocate(device, DType.FLOAT32, b, h, nq, dv));
            DeviceTensor lse = softmax ? own(owned, DeviceTensor.allocate(device, DType.FLOAT32, b, h, nq)) : null;
            // Poisoned with NaN: an element the kernel fails to write cannot pass a comparison.
            out.fill(0xFF);
            if (lse != null) lse.fill(0xFF);
            Map<String, DeviceTensor> inputs = new LinkedHashMap<>();
            for (Input input : pattern.inputs()) {
                inputs.put(input.name(), own(owned, DeviceTensor.upload(device, problem.inputs().get(input.name()), input.dtype())));
            }
            GpuAttention.Tensors tensors = new GpuAttention.Tensors(q, k, v, out, lse, inputs);
            DeviceTensor tiles = own(owned, gpu.plan(binding).allocate(device));
            gpu.prepareTiles(binding, tensors, tiles, problem.inputs());
            gpu.launch(binding, tensors, tiles);
            device.synchronize();
            return new Result(out.readFloats(), lse == null ? null : lse.readFloats(), new int[] {b, h, nq, dv});
        } finally {
            for (DeviceTensor t : owned) t.close();
        }
    }

    private static DeviceTensor own(List<DeviceTensor> owned, DeviceTensor t) {
        owned.add(t);
        return t;
    }
}
