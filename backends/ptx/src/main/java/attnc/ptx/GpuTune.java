package attnc.ptx;

import attnc.front.Frontend;
import attnc.gpu.Device;
import attnc.gpu.DeviceTensor;
import attnc.gpu.EventTimer;
import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.pass.Passes;
import attnc.run.Binding;
import attnc.run.TuningConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The GPU tuning space timed kernel-only: every configuration {@link PtxBackend#configurations}
 * offers for a pattern and shape, on resident random bf16 tensors, tile lists built once (as the
 * benchmarks do), median of 50 CUDA-event-timed launches; each configuration's output is first
 * compared with the default's (bf16 P rounded against a different running max when the key tiles
 * differ: up to ~8e-3 measured, so 2e-2 is the bound). {@code attnc tune} times whole
 * {@code forward} calls instead (uploads and read-backs included). Index-only masks (no inputs).
 * Usage: GpuTune REPORT.md B,H,N,D PATTERN_FILE...
 */
public final class GpuTune {
    static final double AGREEMENT = 2e-2;

    private GpuTune() {}

    public static void main(String[] args) throws Exception {
        Device device = Device.get(0);
        int[] s = java.util.Arrays.stream(args[1].split(",")).mapToInt(Integer::parseInt).toArray();
        StringBuilder report = new StringBuilder("| pattern | B,H,N,D | configuration | ms | vs default |\n|---|---|---|---|---|\n");
        PtxBackend backend = new PtxBackend();
        for (int i = 2; i < args.length; i++) {
            Pattern pattern = Passes.optimize(Frontend.compile(Path.of(args[i])), Map.of());
            Binding binding = new Binding(Map.of("B", s[0], "H", s[1], "Hkv", s[1], "Nq", s[2], "Nkv", s[2], "D", s[3], "Dv", s[3], "Q0", 0), 0,
                    Binding.of(pattern, DeviceCheck.problem(pattern, new int[] {1, 1, 1, 16, 16, s[3], 0}, new Random(1))).params());
            KernelConfig standard = KernelConfig.of(pattern, device.sm() >= 90 ? 90 : 80, DType.BFLOAT16, s[3], s[3]);
            List<TuningConfig> space = new ArrayList<>(List.of(new TuningConfig(Map.of())));
            space.addAll(backend.configurations(pattern, binding));
            System.out.printf("%s B,H,N,D=%s: default %s, %d configurations%n", pattern.name(), args[1], standard.tag(), space.size() - 1);
            Random random = new Random(7);
            try (DeviceTensor q = random(device, random, s); DeviceTensor k = random(device, random, s); DeviceTensor v = random(device, random, s);
                 DeviceTensor lse = DeviceTensor.allocate(device, DType.FLOAT32, s[0], s[1], s[2])) {
                float[] expected = null;
                double defaultMs = 0, bestMs = Double.MAX_VALUE;
                String best = "";
                for (TuningConfig knobs : space) {
                    KernelConfig config = TuningSpace.apply(standard, knobs);
                    GpuAttention gpu = new GpuAttention(device, pattern, PtxModule.render(pattern, config));
                    try (DeviceTensor out = DeviceTensor.allocate(device, DType.FLOAT32, s[0], s[1], s[2], s[3]);
                         DeviceTensor tiles = gpu.plan(binding).allocate(device)) {
                        GpuAttention.Tensors tensors = new GpuAttention.Tensors(q, k, v, out, lse, Map.of());
                        out.fill(0xFF);
                        gpu.prepareTiles(binding, tensors, tiles);
                        gpu.launch(binding, tensors, tiles);
                        device.synchronize();
                        float[] got = out.readFloats();
                        double difference = expected == null ? 0 : maxDifference(expected, got);
                        if (expected == null) expected = got;
                        String name = knobs.knobs().isEmpty() ? "default " + config.tag() : knobs.toString();
                        if (!(difference <= AGREEMENT)) {
                            System.out.printf("  %-40s rejected: output differs from the default by %.2e%n", name, difference);
                            report.append(String.format("| %s | %s | %s | rejected (differs by %.1e) | |%n", pattern.name(), args[1], name, difference));
                            continue;
                        }
                        double ms = EventTimer.medianMillis(device, () -> gpu.launch(binding, tensors, tiles), 10, 50);
                        if (knobs.knobs().isEmpty()) defaultMs = ms;
                        else if (ms < bestMs) {
                            bestMs = ms;
                            best = name;
                        }
                        System.out.printf("  %-40s %.3f ms  %.3fx  (max diff %.1e)%n", name, ms, defaultMs / ms, difference);
                        report.append(String.format("| %s | %s | %s | %.3f | %.3f |%n", pattern.name(), args[1], name, ms, defaultMs / ms));
                    }
                }
                System.out.printf("best %s: %s %.3f ms, %.3fx the default%n", pattern.name(), best, bestMs, defaultMs / bestMs);
                report.append(String.format("| **%s best** | %s | %s | %.3f | **%.3f** |%n", pattern.name(), args[1], best, bestMs, defaultMs / bestMs));
            }
        }
        Files.writeString(Path.of(args[0]), report.toString());
    }

    private static DeviceTensor random(Device device, Random random, int[] s) {
        return DeviceTensor.upload(device, attnc.tensor.Tensor.random(DType.BFLOAT16, new int[] {s[0], s[1], s[2], s[3]}, random), DType.BFLOAT16);
    }

    private static double maxDifference(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            double d = Math.abs((double) a[i] - b[i]);
            if (Double.isNaN(d)) return Double.NaN;
            max = Math.max(max, d);
        }
        return max;
    }
}
