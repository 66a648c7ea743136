package attnc.bench.gpu;

import attnc.front.Frontend;
import attnc.gpu.Device;
import attnc.gpu.DeviceTensor;
import attnc.gpu.EventTimer;
import attnc.ir.DType;
import attnc.ir.Input;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.launch.Gradients;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.launch.SampleProblems;
import attnc.launch.ShapeException;
import attnc.launch.Wrt;
import attnc.lower.LowerBackward;
import attnc.lower.LowerPattern;
import attnc.lower.LoweredBackward;
import attnc.lower.LoweredPattern;
import attnc.pass.Passes;
import attnc.ptx.BackwardTilePlan;
import attnc.ptx.GpuAttention;
import attnc.ptx.GpuBackward;
import attnc.ptx.PtxBackend;
import attnc.ptx.emit.BackwardConfig;
import attnc.ptx.emit.BackwardModule;
import attnc.ptx.emit.KernelConfig;
import attnc.ptx.emit.PtxModule;
import attnc.reference.ReferenceBackend;
import attnc.reference.ReferenceBackward;
import attnc.run.Kernel;
import attnc.run.TuningConfig;
import attnc.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

/**
 * The GPU backward on the device, in one call: every gradient of every pattern given against the
 * double-precision {@link ReferenceBackward} on ragged shapes (GQA, query offsets, Nq ≠ Nkv, bf16
 * and fp16), given the PTX forward's own output and LSE; then kernel-only TFLOP/s of the backward
 * (Δ, main and row kernels, gradient zeroing included) on the benchmark shapes, resident inputs,
 * CUDA events, median. Usage: {@code BackwardCheck check PATTERN...} | {@code BackwardCheck small
 * PATTERN} (one small case, for compute-sanitizer) | {@code BackwardCheck time OUT_DIR [--only=TEXT] PATTERN...}
 * (with --only, the configurations whose tag contains TEXT, e.g. {@code d64_backward_q64_kv128_wgmma}; the
 * environment's {@code SHAPES}, e.g. {@code "2,16,8192,192,128"}, replaces the shapes {@code B,H,N,D[,Dv]}).
 */
public final class BackwardCheck {
    /**
     * Relative L2 error allowed per gradient: Q, K, V, dO, P and dS all go through bf16 (8
     * significant bits, 4e-3 relative each) and dS is a difference of such products, so ~1e-2.
     */
    private static final double TOLERANCE = 2e-2;

    /** The Hopper kernel, for head dims 64 and 128. */
    private static final String WGMMA = "wgmma";

    /** The default tiling and the others {@code time} measures: each is checked before it can become a default. */
    private static final Map<String, TuningConfig> TILINGS = new LinkedHashMap<>();

    static {
        TILINGS.put("default", new TuningConfig(Map.of()));
        for (int[] t : new int[][] {{32, 4}, {64, 4}, {64, 8}, {32, 8}}) {
            TILINGS.put("q" + t[0] + "/w" + t[1], new TuningConfig(Map.of("backward_block_q", t[0], "backward_warps", t[1])));
        }
        TILINGS.put(WGMMA, new TuningConfig(Map.of("backward_wgmma", 1)));
    }

    private BackwardCheck() {}

    public static void main(String[] args) throws Exception {
        Device device = Device.get(0);
        System.out.println("device: " + device + ", sm_" + device.sm());
        int first = args[0].equals("time") ? 2 : 1;
        List<Path> files = new ArrayList<>();
        String only = "";
        for (int i = first; i < args.length; i++) {
            if (args[i].startsWith("--only=")) only = args[i].substring("--only=".length());
            else files.add(Path.of(args[i]));
        }
        int failures = switch (args[0]) {
            case "check" -> check(files, false);
            case "small" -> check(files, true);
            case "time" -> time(device, Path.of(args[1]), files, only);
            default -> throw new IllegalArgumentException("expected check, small or time, got " + args[0]);
        };
        System.out.println(failures == 0 ? "BACKWARD CHECK PASSED" : "BACKWARD CHECK FAILED: " + failures);
        System.exit(failures == 0 ? 0 : 1);
    }

    private static Pattern load(Path file) throws Exception {
        return Passes.optimize(Frontend.compile(file), Map.of());
    }

    /**
     * Each case twice: given the reference's forward (exact O and LSE), every gradient must be
     * within {@link #TOLERANCE}, which isolates the backward's own error; given the PTX forward's
     * (what a user passes), dq, dk and dv must be, and input gradients are reported: Δ = rowsum(dO∘O)
     * inherits the forward's bf16 rounding of P, and an input gradient that sums dS over whole rows
     * (a per-head slope, say) cancels to a small difference of large sums, as in FlashAttention.
     */
    private static int check(List<Path> files, boolean small) throws Exception {
        // {B, H, Hkv, Nq, Nkv, D, query offset (-1 bottom right), 1 for fp16[, Dv]}
        int[][] cases = small ? new int[][] {{1, 2, 1, 70, 130, 64, -1, 0}} : new int[][] {
                {2, 4, 2, 150, 150, 64, 0, 0}, {1, 4, 1, 77, 300, 128, -1, 0}, {1, 2, 2, 130, 97, 64, 0, 1},
                {1, 2, 1, 200, 260, 128, 0, 0}, {2, 2, 2, 1, 257, 64, -1, 0}, {1, 3, 1, 100, 160, 96, -1, 1}, {1, 2, 2, 64, 64, 32, 0, 0},
                {1, 4, 2, 90, 150, 40, -1, 0}, {1, 2, 1, 70, 70, 72, 0, 0}, {1, 2, 1, 100, 150, 128, -1, 0, 64}, {1, 2, 2, 90, 90, 64, 0, 1, 128},
                // D + Dv past 256: MLA's 192 / 128, 160 / 160, 256 / 64.
                {1, 2, 1, 100, 150, 192, -1, 0, 128}, {1, 2, 2, 90, 130, 160, 0, 1}, {2, 4, 2, 70, 200, 256, -1, 0, 64}};
        int failures = 0, passed = 0;
        Map<String, double[]> worst = new TreeMap<>();
        for (Path file : files) {
            Pattern pattern = load(file);
            Random random = new Random(file.toString().hashCode());
            for (int[] c : cases) {
                DType dtype = c[7] == 1 ? DType.FLOAT16 : DType.BFLOAT16;
                String label = String.format(Locale.ROOT, "%-20s %s %s", pattern.name(), dtype, DeviceCheck.sizes(c));
                Problem problem = SampleProblems.of(pattern, DeviceCheck.shape(c), dtype, random);
                Result exactForward;
                try {
                    exactForward = new ReferenceBackend().compile(pattern).forward(problem);
                } catch (ShapeException e) {
                    System.out.println("skip " + label + ": " + e.getMessage());
                    continue;
                }
                // Tile lists do not depend on D: padded head dims (40, 72) go through the kernel only, whose module pads them.
                int dv = DeviceCheck.shape(c).valueDim();
                if (c[5] % 16 == 0 && dv % 16 == 0) failures += checkLists(pattern, problem, label);
                Tensor dOut = Tensor.random(dtype, new int[] {c[0], c[1], c[3], dv}, random);
                ReferenceBackward.Exact want = ReferenceBackward.run(pattern, problem, exactForward, dOut, Wrt.all(pattern));
                for (Map.Entry<String, TuningConfig> tiling : TILINGS.entrySet()) {
                    boolean standard = tiling.getValue().knobs().isEmpty();
                    // The small case (for compute-sanitizer) runs the default and the wgmma kernel.
                    if (small && !standard && !tiling.getKey().equals(WGMMA) || tiling.getKey().equals(WGMMA) && (c[5] % 64 != 0 || dv != c[5])) continue;
                    try (Kernel kernel = new PtxBackend().compile(pattern, tiling.getValue())) {
                        StringBuilder line = new StringBuilder();
                        boolean ok = compare("exact forward:", kernel.backward(problem, exactForward, dOut), want, true, line, worst, "");
                        // The PTX forward's own result once per case: the tilings differ in the backward only.
                        if (standard) ok &= compare("; PTX forward:", kernel.backward(problem, kernel.forward(problem), dOut), want, false, line, worst, " (PTX forward)");
                        // Asking for q, k and v only builds a module without the inputs' gradients: the same q, k, v gradients.
                        if (standard && want.values().keySet().stream().anyMatch(w -> w instanceof Wrt.Input)) {
                            Set<Wrt> operands = Set.of(Wrt.Operand.Q, Wrt.Operand.K, Wrt.Operand.V);
                            Map<Wrt, double[]> values = new LinkedHashMap<>(want.values());
                            values.keySet().retainAll(operands);
                            ok &= compare("; q/k/v only:", kernel.backward(problem, exactForward, dOut, operands), new ReferenceBackward.Exact(values, want.shapes()),
                                    true, line, worst, " (q/k/v only)");
                        }
                        // The deterministic kernels: within tolerance, and bitwise the same over two runs.
                        if (standard || tiling.getKey().equals(WGMMA)) {
                            Gradients once = kernel.backward(problem, exactForward, dOut, Wrt.all(pattern), true);
                            ok &= compare("; deterministic:", once, want, true, line, worst, " (deterministic)");
                            ok &= identical(once, kernel.backward(problem, exactForward, dOut, Wrt.all(pattern), true), line);
                        }
                        if (ok) passed++;
                        else failures++;
                        System.out.println((ok ? "ok   " : "FAIL ") + label + " " + tiling.getKey() + ": " + line);
                    } catch (RuntimeException e) {
                        failures++;
                        System.out.printf("FAIL %s %s: %s%n", label, tiling.getKey(), e);
                        if (failures < 3) e.printStackTrace(System.out);
                    }
                }
            }
        }
        worst.forEach((key, w) -> System.out.printf(Locale.ROOT, "  %-22s %4.0f gradients: worst relL2 %.2e%n", key, w[1], w[0]));
        System.out.printf("correctness: %d passed, %d failed%n", passed, failures);
        return failures;
    }

    /**
     * The device classifier's tile lists against the host's (the block-sparsity analysis): equal
     * for masks that read no inputs; for the others the host's must list every tile the device
     * found visible and call FULL only tiles the device did. Returns the failures (0 or 1).
     */
    private static int checkLists(Pattern pattern, Problem problem, String label) {
        LoweredBackward backward = LowerBackward.lower(pattern);
        if (backward.forward().alwaysVisible()) return 0;
        Device device = Device.get(0);
        Binding binding = Binding.of(pattern, problem);
        // The classifier entry is the mma.sync module's (the wgmma one's arguments are tensor maps of Q, K and V); its tiles are the default's.
        BackwardConfig config = BackwardConfig.mmaSync(KernelConfig.target(device.sm()), DType.BFLOAT16, binding.size("D"), binding.size("Dv"));
        GpuBackward gpu = new GpuBackward(device, backward, BackwardModule.render(backward, config));
        Map<String, DeviceTensor> byName = new LinkedHashMap<>();
        try {
            for (Input input : pattern.inputs()) {
                byName.put("in_" + input.name(), DeviceTensor.upload(device, problem.inputs().get(input.name()), input.dtype()));
            }
            int[] host = gpu.tileLists(binding, problem.inputs());
            DeviceTensor tiles = DeviceTensor.allocate(device, DType.INT32, host.length);
            byName.put("tiles", tiles);
            tiles.fill(0);
            gpu.classifyOnDevice(binding, new GpuBackward.Tensors(byName));
            device.synchronize();
            int[] onDevice = tiles.readInts();
            BackwardTilePlan plan = gpu.plan(binding);
            for (int list = 0; list < plan.listLength() / (plan.qTiles() + 1); list++) {
                int base = list * (plan.qTiles() + 1);
                Map<Integer, Boolean> h = entries(host, base), d = entries(onDevice, base);
                boolean exact = h.equals(d);
                boolean sound = h.keySet().containsAll(d.keySet()) && h.entrySet().stream().allMatch(e -> !e.getValue() || Boolean.TRUE.equals(d.get(e.getKey())));
                if (backward.forward().readsInputs() ? !sound : !exact) {
                    System.out.printf("FAIL %s: backward tile list %d: host %s, device %s%n", label, list, h, d);
                    return 1;
                }
            }
            return 0;
        } finally {
            for (DeviceTensor t : byName.values()) t.close();
        }
    }

    /** A list's entries: query tile → FULL. */
    private static Map<Integer, Boolean> entries(int[] lists, int base) {
        Map<Integer, Boolean> entries = new TreeMap<>();
        for (int i = 0; i < lists[base]; i++) entries.put(lists[base + 1 + i] & (PtxModule.FULL_BIT - 1), (lists[base + 1 + i] & PtxModule.FULL_BIT) != 0);
        return entries;
    }

    /**
     * Appends each gradient's relative L2 error to {@code line}; false if one that must pass does
     * not (NaN never does). A gradient the reference has as (near) zero passes on a max error
     * below 1e-5 and stays out of the worst-case table, where its ratio would say nothing.
     */
    private static boolean compare(String what, Gradients got, ReferenceBackward.Exact want, boolean inputsMustPass, StringBuilder line,
                                   Map<String, double[]> worst, String suffix) {
        boolean ok = true;
        line.append(what);
        for (Wrt w : want.values().keySet()) {
            double[] err = DeviceCheck.compare(got.get(w).floats(), want.values().get(w));
            boolean degenerate = err[0] < 1e-5;
            boolean fine = err[2] < TOLERANCE || degenerate;
            boolean counts = inputsMustPass || !(w instanceof Wrt.Input);
            if (counts) ok &= fine;
            line.append(String.format(Locale.ROOT, " %s %.1e%s", w.label(), err[2], fine ? "" : counts ? "!" : "?"));
            if (degenerate && !Double.isNaN(err[0])) continue;
            double[] wst = worst.computeIfAbsent((w instanceof Wrt.Input ? "inputs" : w.label()) + suffix, key -> new double[2]);
            wst[0] = Double.isNaN(err[2]) || Double.isNaN(wst[0]) ? Double.NaN : Math.max(wst[0], err[2]);
            wst[1]++;
        }
        return ok;
    }

    /** Whether {@code again} has {@code once}'s bits; the first element that differs is named in {@code line}. */
    private static boolean identical(Gradients once, Gradients again, StringBuilder line) {
        Optional<String> differs = once.firstDifference(again);
        line.append(differs.map(d -> " NOT REPRODUCED: " + d + "!").orElse(" bitwise reproduced"));
        return differs.isEmpty();
    }

    /**
     * TFLOP/s as FlashAttention counts the backward: 2.5 × the forward's 2·B·H·N²·(D + Dv) (4·B·H·N²·D
     * where Dv = D), times the visible fraction.
     */
    private static int time(Device device, Path outDir, List<Path> files, String only) throws Exception {
        Files.createDirectories(outDir);
        StringBuilder json = new StringBuilder("[\n");
        int[][] shapes = DeviceCheck.shapesFromEnvironment(new int[][] {{4, 16, 4096, 64}, {2, 16, 8192, 128}});
        System.out.println("pattern          B,H,N,D           visible  config                              ms      TFLOP/s");
        for (int[] shape : shapes) {
            int b = shape[0], h = shape[1], n = shape[2], d = shape[3], dv = shape.length > 4 ? shape[4] : d;
            String sizes = b + "," + h + "," + n + "," + d + (dv == d ? "" : "/" + dv);
            Random random = new Random(1);
            List<DeviceTensor> owned = new ArrayList<>();
            try {
                int[] dims = {b, h, n, d}, valueDims = {b, h, n, dv};
                DeviceTensor q = DeviceCheck.own(owned, DeviceTensor.upload(device, Tensor.random(DType.BFLOAT16, dims, random), DType.BFLOAT16));
                DeviceTensor k = DeviceCheck.own(owned, DeviceTensor.upload(device, Tensor.random(DType.BFLOAT16, dims, random), DType.BFLOAT16));
                DeviceTensor v = DeviceCheck.own(owned, DeviceTensor.upload(device, Tensor.random(DType.BFLOAT16, valueDims, random), DType.BFLOAT16));
                DeviceTensor dOut = DeviceCheck.own(owned, DeviceTensor.upload(device, Tensor.random(DType.BFLOAT16, valueDims, random), DType.BFLOAT16));
                DeviceTensor out = DeviceCheck.own(owned, DeviceTensor.allocate(device, DType.FLOAT32, b, h, n, dv));
                DeviceTensor lse = DeviceCheck.own(owned, DeviceTensor.allocate(device, DType.FLOAT32, b, h, n));
                for (Path file : files) {
                    Pattern pattern = load(file);
                    LoweredPattern lowered = LowerPattern.lower(pattern);
                    LoweredBackward backward = LowerBackward.lower(pattern);
                    Map<String, Tensor> hostInputs = HopperCheck.benchInputs(pattern, b, h, n, new Random(2));
                    Map<String, DeviceTensor> byName = new LinkedHashMap<>(Map.of("q", q, "k", k, "v", v, "dout", dOut, "out", out, "lse", lse));
                    Map<String, DeviceTensor> inputs = new LinkedHashMap<>();
                    Map<String, int[]> shapesOf = new LinkedHashMap<>();
                    for (Input input : pattern.inputs()) {
                        DeviceTensor t = DeviceCheck.own(owned, DeviceTensor.upload(device, hostInputs.get(input.name()), input.dtype()));
                        inputs.put(input.name(), t);
                        byName.put("in_" + input.name(), t);
                        shapesOf.put(input.name(), hostInputs.get(input.name()).shape());
                    }
                    Problem small = SampleProblems.of(pattern, new SampleProblems.Shape(1, 1, 1, 8, 8, d, 0), DType.BFLOAT16, random);
                    Binding binding = new Binding(Map.of("B", b, "H", h, "Hkv", h, "Nq", n, "Nkv", n, "D", d, "Dv", dv, "Q0", 0), 0,
                            Binding.of(pattern, small).params());
                    double visible = HopperCheck.visibleFraction(pattern, binding, hostInputs);
                    double flops = 2.5 * 2.0 * b * h * (double) n * n * (d + dv) * visible;
                    // The forward's output and LSE, which the backward reads.
                    GpuAttention forward = new GpuAttention(device, lowered, PtxModule.render(lowered, KernelConfig.of(lowered, 90, DType.BFLOAT16, d, dv)));
                    try (DeviceTensor tiles = forward.plan(binding).allocate(device)) {
                        GpuAttention.Tensors tensors = new GpuAttention.Tensors(q, k, v, out, lse, inputs);
                        forward.prepareTiles(binding, tensors, tiles, hostInputs);
                        forward.launch(binding, tensors, tiles);
                    }
                    // {block_q, warps as BackwardConfig takes them, then flags: wgmma, q/k/v gradients only, deterministic}: q/k/v only
                    // where the pattern has input gradients (ALiBi's slopes), which a caller holding them fixed does not ask for and
                    // Flex's peer does not compute.
                    for (int[] tiling : new int[][] {{32, 4}, {64, 4}, {32, 8}, {64, 8}, {64, 8, 1}, {64, 8, 1, 1}, {64, 8, 0, 0, 1}, {64, 8, 1, 0, 1}}) {
                        boolean operandsOnly = flag(tiling, 3);
                        if (operandsOnly && backward.inputs().isEmpty()) continue;
                        LoweredBackward used = operandsOnly ? backward.only(Set.of()) : backward;
                        BackwardConfig plain;
                        try {
                            plain = new BackwardConfig(90, DType.BFLOAT16, d, dv, tiling[0], tiling[1], DType.FLOAT32, DType.FLOAT32, flag(tiling, 2), false);
                        } catch (IllegalArgumentException e) {
                            continue; // the wgmma kernel at head dims it does not take
                        }
                        BackwardConfig config = flag(tiling, 4) ? plain.withDeterministic() : plain;
                        if (!(config.tag() + (operandsOnly ? "_qkv" : "")).contains(only)) continue;
                        double ms;
                        List<DeviceTensor> scratch = new ArrayList<>();
                        try {
                            GpuBackward gpu = new GpuBackward(device, used, BackwardModule.render(used, config));
                            Map<String, DeviceTensor> outputs = gpu.allocateOutputs(device, binding, shapesOf);
                            scratch.addAll(outputs.values());
                            Map<String, DeviceTensor> all = new LinkedHashMap<>(byName);
                            all.putAll(outputs);
                            GpuBackward.Tensors tensors = new GpuBackward.Tensors(all);
                            gpu.writeTileLists(binding, hostInputs, tensors);
                            device.synchronize();
                            ms = EventTimer.medianMillis(device, () -> gpu.launch(binding, tensors), 5, 20);
                        } catch (RuntimeException e) {
                            System.out.printf("%-16s %-17s %s: %s%n", pattern.name(), sizes, config.tag(), e);
                            continue;
                        } finally {
                            for (DeviceTensor t : scratch) t.close();
                        }
                        double tflops = flops / ms / 1e9;
                        String name = config.tag() + (operandsOnly ? "_qkv" : "");
                        System.out.printf(Locale.ROOT, "%-16s %-17s %7.4f  %-34s %8.3f %8.1f%n", pattern.name(), sizes, visible, name, ms, tflops);
                        if (json.length() > 2) json.append(",\n");
                        json.append(String.format(Locale.ROOT, "  {\"pattern\": \"%s\", \"B\": %d, \"H\": %d, \"N\": %d, \"D\": %d, \"Dv\": %d, \"visible\": %.6f, "
                                + "\"config\": \"%s\", \"ms\": %.5f, \"tflops\": %.2f}", pattern.name(), b, h, n, d, dv, visible, name, ms, tflops));
                    }
                }
            } finally {
                for (DeviceTensor t : owned) t.close();
            }
        }
        Files.writeString(outDir.resolve("backward_times.json"), json.append("\n]\n").toString());
        return 0;
    }

    private static boolean flag(int[] tiling, int i) { return tiling.length > i && tiling[i] == 1; }
}
