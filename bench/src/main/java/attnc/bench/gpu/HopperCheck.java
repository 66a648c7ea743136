package attnc.bench.gpu;

import attnc.analysis.ClassifyTiles;
import attnc.analysis.TileClassifier;
import attnc.front.Frontend;
import attnc.gpu.Device;
import attnc.gpu.DeviceTensor;
import attnc.gpu.EventTimer;
import attnc.ir.DType;
import attnc.ir.Input;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.launch.SampleProblems;
import attnc.launch.ShapeException;
import attnc.lower.LowerPattern;
import attnc.lower.LoweredPattern;
import attnc.pass.Passes;
import attnc.ptx.GpuAttention;
import attnc.ptx.PtxBackend;
import attnc.ptx.emit.KernelConfig;
import attnc.ptx.emit.PtxModule;
import attnc.ptx.emit.Schedule;
import attnc.reference.Reference;
import attnc.reference.Visibility;
import attnc.run.Kernel;
import attnc.run.TuningConfig;
import attnc.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * The Hopper path on the device, in one call: every schedule of the wgmma kernel against the
 * double-precision reference on ragged shapes (GQA, query offsets, Nq ≠ Nkv, bf16 and fp16) for
 * every pattern given, with a map of where the error sits when a case fails; then kernel-only
 * TFLOP/s of each schedule and of the mma.sync kernel on the benchmark shapes (resident inputs,
 * tile lists built once, CUDA events, median). Usage:
 * {@code HopperCheck check PATTERN...} (environment CHECK_VARIANTS: {@link #checkedVariants}) | {@code HopperCheck time OUT_DIR PATTERN...} (environment DIMS: the head dims timed, e.g. "64") | {@code HopperCheck small PATTERN}
 * (one small case per schedule, for compute-sanitizer) | {@code HopperCheck profile PATTERN B H N D SCHEDULE BLOCK_N STAGES FMA_EXP GROUPS}
 * (two launches of one kernel, for ncu).
 */
public final class HopperCheck {
    /** The configurations the correctness check runs: mma.sync, every wgmma schedule, three consumer warpgroups, exponentials on the FMA pipe. */
    private static final Map<String, TuningConfig> CHECKED = new LinkedHashMap<>();

    static {
        CHECKED.put("mma.sync", new TuningConfig(Map.of("schedule", Schedule.MMA_SYNC.ordinal())));
        CHECKED.put("wgmma", knobs(Schedule.WGMMA, 2, 128, 2, 0));
        CHECKED.put("overlap", knobs(Schedule.WGMMA_OVERLAP, 2, 128, 2, 0));
        CHECKED.put("overlap+fma-exp", knobs(Schedule.WGMMA_OVERLAP, 2, 128, 2, 1));
        CHECKED.put("pingpong", knobs(Schedule.WGMMA_PINGPONG, 2, 128, 2, 0));
        CHECKED.put("pingpong n112", knobs(Schedule.WGMMA_PINGPONG, 2, 112, 2, 0));
        CHECKED.put("pingpong n96", knobs(Schedule.WGMMA_PINGPONG, 2, 96, 2, 0));
        // 176- and 192-key tiles fit the accumulator limit at D = 128 since the column positions are formed late; the tuner offers 192.
        CHECKED.put("pingpong n192", knobs(Schedule.WGMMA_PINGPONG, 2, 192, 2, 0));
        CHECKED.put("pingpong n176", knobs(Schedule.WGMMA_PINGPONG, 2, 176, 2, 0));
        CHECKED.put("pingpong 3wg n96", knobs(Schedule.WGMMA_PINGPONG, 3, 96, 2, 0));
        CHECKED.put("overlap 3wg n96", knobs(Schedule.WGMMA_OVERLAP, 3, 96, 2, 0));
        CHECKED.put("overlap 3wg n112", knobs(Schedule.WGMMA_OVERLAP, 3, 112, 2, 0));
        CHECKED.put("pingpong 3wg n112", knobs(Schedule.WGMMA_PINGPONG, 3, 112, 2, 0));
        CHECKED.put("overlap 3wg n128", knobs(Schedule.WGMMA_OVERLAP, 3, 128, 2, 0));
        CHECKED.put("pingpong 3wg n128", knobs(Schedule.WGMMA_PINGPONG, 3, 128, 2, 0));
        CHECKED.put("pingpong 3wg n64", knobs(Schedule.WGMMA_PINGPONG, 3, 64, 2, 0));
        // Two warpgroups skipping the tiles hidden from their rows: not a default, timed beside the defaults (time's "with bits").
        CHECKED.put("pingpong bits", withBits(knobs(Schedule.WGMMA_PINGPONG, 2, 128, 2, 0)));
        CHECKED.put("overlap bits", withBits(knobs(Schedule.WGMMA_OVERLAP, 2, 128, 2, 0)));
        CHECKED.put("pingpong bits n64", withBits(knobs(Schedule.WGMMA_PINGPONG, 2, 64, 2, 0)));
        CHECKED.put("default", new TuningConfig(Map.of()));
    }

    private HopperCheck() {}

    public static void main(String[] args) throws Exception {
        Device device = Device.get(0);
        System.out.println("device: " + device + ", sm_" + device.sm());
        List<Path> files = new ArrayList<>();
        int first = args[0].equals("time") ? 2 : args[0].equals("profile") ? args.length : 1;
        for (int i = first; i < args.length; i++) files.add(Path.of(args[i]));
        int failures = switch (args[0]) {
            case "check" -> check(files, false);
            case "small" -> check(files, true);
            case "time" -> time(device, Path.of(args[1]), files);
            case "profile" -> profile(device, args);
            default -> throw new IllegalArgumentException("expected check, small or time, got " + args[0]);
        };
        System.out.println(failures == 0 ? "HOPPER CHECK PASSED" : "HOPPER CHECK FAILED: " + failures);
        System.exit(failures == 0 ? 0 : 1);
    }

    private static Pattern load(Path file) throws Exception {
        return Passes.optimize(Frontend.compile(file), Map.of());
    }

    /**
     * The checked variants whose names contain one of {@code filter}'s comma-separated parts
     * ("3wg,default": the three-warpgroup kernels and the default); all of them when it is null.
     */
    static Map<String, TuningConfig> checkedVariants(String filter) {
        if (filter == null || filter.isBlank()) return CHECKED;
        Map<String, TuningConfig> kept = new LinkedHashMap<>();
        for (Map.Entry<String, TuningConfig> e : CHECKED.entrySet()) {
            for (String part : filter.split(",")) if (!part.isBlank() && e.getKey().contains(part.trim())) kept.put(e.getKey(), e.getValue());
        }
        if (kept.isEmpty()) throw new IllegalArgumentException("CHECK_VARIANTS=" + filter + " names none of " + CHECKED.keySet());
        return kept;
    }

    static TuningConfig knobs(Schedule schedule, int groups, int blockN, int stages, int fmaExp) {
        return new TuningConfig(Map.of("schedule", schedule.ordinal(), "consumer_groups", groups, "block_n", blockN, "stages", stages, "fma_exp", fmaExp));
    }

    /** {@code knobs} with the lists carrying each warpgroup's own classes. */
    private static TuningConfig withBits(TuningConfig knobs) {
        Map<String, Integer> all = new LinkedHashMap<>(knobs.knobs());
        all.put("group_bits", 1);
        return new TuningConfig(all);
    }

    // ---- correctness ----

    private static int check(List<Path> files, boolean small) throws Exception {
        // {B, H, Hkv, Nq, Nkv, D, query offset (-1 bottom right), 1 for fp16[, Dv]}
        int[][] cases = small ? new int[][] {{1, 2, 1, 100, 200, 64, -1, 0}} : new int[][] {
                {2, 4, 2, 300, 300, 64, 0, 0}, {1, 4, 1, 77, 300, 128, -1, 0}, {1, 2, 2, 130, 130, 64, 0, 1},
                {1, 2, 1, 200, 450, 128, 0, 0}, {2, 2, 2, 1, 257, 64, -1, 0}, {1, 2, 2, 129, 640, 128, -1, 1}, {1, 3, 1, 150, 333, 96, -1, 0},
                {1, 4, 2, 150, 270, 40, -1, 0}, {1, 2, 2, 130, 130, 72, 0, 1},
                // Dv ≠ D: MLA's 192/128 and both ways round at 64/128.
                {1, 4, 2, 200, 333, 192, -1, 0, 128}, {1, 2, 1, 130, 260, 64, 0, 1, 128}, {1, 2, 2, 150, 150, 128, -1, 0, 64}};
        int failures = 0, passed = 0;
        // A file takes 35-45 s for 12 cases x 19 variants, most of it the driver compiling each kernel's PTX (a large mask's
        // kernel 3 s); eight variants at a time on threads made it no faster (47-61 s a file, H200 run of 2026-12-03). So
        // CHECK_VARIANTS picks fewer, and bench/gpu/run_ab.sh runs several JVMs at once.
        Map<String, TuningConfig> variants = checkedVariants(System.getenv("CHECK_VARIANTS"));
        Map<String, double[]> worst = new java.util.TreeMap<>();
        Map<String, Integer> skipped = new java.util.TreeMap<>();
        for (Path file : files) {
            Pattern pattern;
            try {
                pattern = load(file);
            } catch (Exception e) {
                continue;
            }
            Random random = new Random(file.toString().hashCode());
            long start = System.nanoTime();
            int passedBefore = passed, failedBefore = failures;
            for (int[] c : cases) {
                Problem problem = SampleProblems.of(pattern, DeviceCheck.shape(c),
                        c[7] == 1 ? DType.FLOAT16 : DType.BFLOAT16, random);
                Reference.Exact ref;
                try {
                    ref = Reference.run(pattern, problem);
                } catch (RuntimeException e) {
                    continue;
                }
                for (Map.Entry<String, TuningConfig> variant : variants.entrySet()) {
                    String label = String.format(Locale.ROOT, "%-20s %-22s %s %s", pattern.name(), variant.getKey(),
                            c[7] == 1 ? "fp16" : "bf16", DeviceCheck.sizes(c));
                    try (Kernel kernel = new PtxBackend().compile(pattern, variant.getValue())) {
                        Result got = kernel.forward(problem);
                        double[] err = DeviceCheck.compare(got.out(), ref.out());
                        double lseErr = ref.lse() == null ? 0 : DeviceCheck.compare(got.lse(), ref.lse())[0];
                        boolean ok = DeviceCheck.forwardWithin(err, lseErr);
                        double[] w = worst.computeIfAbsent(variant.getKey() + (c[7] == 1 ? " fp16" : " bf16"), key -> new double[3]);
                        w[0] = Math.max(w[0], err[2]);
                        w[1] = Math.max(w[1], lseErr);
                        w[2]++;
                        if (ok) {
                            passed++;
                        } else {
                            failures++;
                            System.out.printf("FAIL %s: max %.2e relL2 %.2e lse %.2e%n", label, err[0], err[2], lseErr);
                            if (failures <= 12) System.out.print(errorMap(got.out(), ref.out(), problem));
                        }
                    } catch (ShapeException e) {
                        // A fixed tiling that does not fit this shape is refused before any launch; the default must always fit.
                        if (variant.getKey().equals("default")) {
                            failures++;
                            System.out.printf("FAIL %s: %s%n", label, e.getMessage());
                        } else {
                            skipped.merge(variant.getKey(), 1, Integer::sum);
                        }
                    } catch (RuntimeException e) {
                        failures++;
                        System.out.printf("FAIL %s: %s%n", label, e);
                    }
                }
            }
            // A line a file, as it ends, so a check stopped by its time limit still says how far it got.
            System.out.printf(Locale.ROOT, "%s: %d passed, %d failed (%.0f s)%n", file, passed - passedBefore, failures - failedBefore,
                    (System.nanoTime() - start) / 1e9);
        }
        worst.forEach((key, w) -> System.out.printf(Locale.ROOT, "  %-22s %4.0f cases: worst relL2 %.2e, worst LSE error %.2e%n", key, w[2], w[0], w[1]));
        skipped.forEach((key, n) -> System.out.printf(Locale.ROOT, "  %-22s %4d cases refused: the tiling does not fit their head dims%n", key, n));
        System.out.printf("correctness: %d passed, %d failed%n", passed, failures);
        return failures;
    }

    /**
     * Where a wrong output's error sits: by query row within the 64 rows of a warpgroup (in
     * groups of 8), by output column in 16-column groups, and by query block, so a layout or
     * descriptor mistake shows its stride.
     */
    private static String errorMap(float[] got, double[] want, Problem problem) {
        int nq = problem.q().dim(2), dv = problem.v().dim(3);
        double[] byRow = new double[8], byCol = new double[(dv + 15) / 16], byBlock = new double[(nq + 127) / 128];
        for (int i = 0; i < want.length; i++) {
            double e = Double.isNaN(got[i]) ? 1e9 : Math.abs(got[i] - want[i]);
            int d = i % dv, q = (i / dv) % nq;
            byRow[(q % 64) / 8] = Math.max(byRow[(q % 64) / 8], e);
            byCol[d / 16] = Math.max(byCol[d / 16], e);
            byBlock[q / 128] = Math.max(byBlock[q / 128], e);
        }
        return "     rows%64/8 " + fmt(byRow) + "\n     cols/16   " + fmt(byCol) + "\n     qblock    " + fmt(byBlock) + "\n";
    }

    private static String fmt(double[] values) {
        StringBuilder s = new StringBuilder();
        for (double v : values) s.append(String.format(Locale.ROOT, " %.1e", v));
        return s.toString();
    }

    // ---- timing ----

    /** A kernel to time; {@code blockLists}: its lists without the warpgroups' own bits (every tile taken as the block takes it). */
    private record Variant(String name, KernelConfig config, boolean blockLists) {
        Variant(String name, KernelConfig config) { this(name, config, false); }
    }

    /** A variant ready to time: its kernel, its tile lists on the device and its fastest median so far. */
    private record Timed(Variant variant, GpuAttention gpu, DeviceTensor tiles, double[] ms) {}

    private static int time(Device device, Path outDir, List<Path> files) throws Exception {
        Files.createDirectories(outDir);
        StringBuilder json = new StringBuilder("[\n");
        // {B, H, N, D}
        int[][] shapes = Arrays.stream(new int[][] {{4, 16, 4096, 64}, {2, 16, 8192, 128}, {1, 16, 16384, 128}, {1, 16, 8192, 256}})
                .filter(shape -> timedDims(System.getenv("DIMS"), shape[3])).toArray(int[][]::new);
        System.out.println("pattern          B,H,N,D           visible  variant                                   ms      TFLOP/s");
        for (int[] shape : shapes) {
            int b = shape[0], h = shape[1], n = shape[2], d = shape[3];
            Random random = new Random(1);
            List<DeviceTensor> owned = new ArrayList<>();
            try {
                DeviceTensor q = DeviceCheck.own(owned, DeviceTensor.upload(device, Tensor.random(DType.BFLOAT16, new int[] {b, h, n, d}, random), DType.BFLOAT16));
                DeviceTensor k = DeviceCheck.own(owned, DeviceTensor.upload(device, Tensor.random(DType.BFLOAT16, new int[] {b, h, n, d}, random), DType.BFLOAT16));
                DeviceTensor v = DeviceCheck.own(owned, DeviceTensor.upload(device, Tensor.random(DType.BFLOAT16, new int[] {b, h, n, d}, random), DType.BFLOAT16));
                DeviceTensor out = DeviceCheck.own(owned, DeviceTensor.allocate(device, DType.BFLOAT16, b, h, n, d));
                DeviceTensor lse = DeviceCheck.own(owned, DeviceTensor.allocate(device, DType.FLOAT32, b, h, n));
                for (Path file : files) {
                    Pattern pattern = load(file);
                    if (d == 256 && !List.of("dense", "causal").contains(pattern.name())) continue;
                    LoweredPattern lowered = LowerPattern.lower(pattern);
                    Map<String, Tensor> hostInputs = benchInputs(pattern, b, h, n, new Random(2));
                    Map<String, DeviceTensor> inputs = new LinkedHashMap<>();
                    for (Input input : pattern.inputs()) inputs.put(input.name(), DeviceCheck.own(owned, DeviceTensor.upload(device, hostInputs.get(input.name()), input.dtype())));
                    Problem small = SampleProblems.of(pattern, new SampleProblems.Shape(1, 1, 1, 8, 8, d, 0), DType.BFLOAT16, random);
                    Binding binding = new Binding(Map.of("B", b, "H", h, "Hkv", h, "Nq", n, "Nkv", n, "D", d, "Dv", d, "Q0", 0), 0,
                            Binding.of(pattern, small).params());
                    double visible = visibleFraction(pattern, binding, hostInputs);
                    double flops = 4.0 * b * h * (double) n * n * d * visible;
                    KernelConfig standard = KernelConfig.of(lowered, 90, DType.BFLOAT16, d, d).withOutput(DType.BFLOAT16);
                    KernelConfig mma = KernelConfig.of(90, DType.BFLOAT16, d, d).withOutput(DType.BFLOAT16);
                    List<Variant> variants = new ArrayList<>();
                    variants.add(new Variant("mma.sync " + mma.tag(), mma));
                    variants.add(new Variant("default " + standard.tag(), standard));
                    if (standard.listGroups() > 0 && !lowered.alwaysVisible()) {
                        // The skipping loop's own cost: its lists without the bits, and the plain overlapped loop.
                        variants.add(new Variant("block lists " + standard.tag(), standard, true));
                        KernelConfig plain = standard.withGroupBits(false);
                        variants.add(new Variant("no bits " + plain.tag(), plain));
                    }
                    if (standard.schedule().overlap() && standard.listGroups() == 0 && !lowered.alwaysVisible()) {
                        KernelConfig bits = standard.withGroupBits(true);
                        variants.add(new Variant("with bits " + bits.tag(), bits));
                    }
                    for (int[] knob : variants(d, lowered.readsInputs())) {
                        KernelConfig c = standard.withWgmma(Schedule.values()[knob[0]], knob[1], knob[2], knob[3]).withFmaExp(knob[4]);
                        if (c.limitExceeded(90) == null && !c.equals(standard)) variants.add(new Variant(c.tag(), c));
                    }
                    // Every variant timed twice, round-robin, keeping its faster median: in the runs of 2026-12-01 and -02 the
                    // variant timed right after the mma.sync kernel was the slowest at D = 64 whichever it was (ALiBi pingpong
                    // 189.5 then 267.5 TFLOP/s when second), so a variant's one median can carry the clocks' settling.
                    List<Timed> timed = new ArrayList<>();
                    GpuAttention.Tensors tensors = new GpuAttention.Tensors(q, k, v, out, lse, inputs);
                    try {
                        for (Variant variant : variants) {
                            try {
                                GpuAttention gpu = new GpuAttention(device, lowered, PtxModule.render(lowered, variant.config()));
                                DeviceTensor tiles = gpu.plan(binding).allocate(device);
                                timed.add(new Timed(variant, gpu, tiles, new double[] {Double.MAX_VALUE}));
                                if (variant.blockLists()) {
                                    KernelConfig c = variant.config();
                                    tiles.write(gpu.plan(binding).analysed(ClassifyTiles.classifier(pattern, binding, hostInputs, c.blockM(), c.blockN()), n, c.blockN()));
                                } else {
                                    gpu.prepareTiles(binding, tensors, tiles, hostInputs);
                                }
                            } catch (RuntimeException e) {
                                System.out.printf("%-16s %-17s %s: %s%n", pattern.name(), b + "," + h + "," + n + "," + d, variant.name(), e);
                            }
                        }
                        device.synchronize();
                        for (int round = 0; round < 2; round++) {
                            for (Timed t : timed) {
                                t.ms()[0] = Math.min(t.ms()[0], EventTimer.medianMillis(device, () -> t.gpu().launch(binding, tensors, t.tiles()), 10, 40));
                            }
                        }
                    } finally {
                        for (Timed t : timed) t.tiles().close();
                    }
                    for (Timed t : timed) {
                        Variant variant = t.variant();
                        double ms = t.ms()[0];
                        double tflops = flops / ms / 1e9;
                        System.out.printf(Locale.ROOT, "%-16s %-17s %7.4f  %-40s %8.3f %8.1f%n", pattern.name(), b + "," + h + "," + n + "," + d,
                                visible, variant.name(), ms, tflops);
                        if (json.length() > 2) json.append(",\n");
                        json.append(String.format(Locale.ROOT, "  {\"pattern\": \"%s\", \"B\": %d, \"H\": %d, \"N\": %d, \"D\": %d, \"visible\": %.6f, "
                                + "\"variant\": \"%s\", \"ms\": %.5f, \"tflops\": %.2f}", pattern.name(), b, h, n, d, visible, variant.name(), ms, tflops));
                    }
                }
            } finally {
                for (DeviceTensor t : owned) t.close();
            }
        }
        Files.writeString(outDir.resolve("hopper_times.json"), json.append("\n]\n").toString());
        return 0;
    }

    /** Whether head dim {@code d} is one of {@code dims}, a comma-separated list (every dim when null: the peers' {@code DIMS} too). */
    static boolean timedDims(String dims, int d) {
        return dims == null || dims.isBlank() || Arrays.stream(dims.split(",")).map(String::trim).anyMatch(part -> part.equals(Integer.toString(d)));
    }

    /** Two launches of one configuration on resident random inputs: what ncu profiles (the second). */
    private static int profile(Device device, String[] args) throws Exception {
        Pattern pattern = load(Path.of(args[1]));
        int b = Integer.parseInt(args[2]), h = Integer.parseInt(args[3]), n = Integer.parseInt(args[4]), d = Integer.parseInt(args[5]);
        LoweredPattern lowered = LowerPattern.lower(pattern);
        Schedule schedule = Schedule.valueOf(args[6]);
        KernelConfig config = KernelConfig.of(lowered, 90, DType.BFLOAT16, d, d).withOutput(DType.BFLOAT16);
        if (schedule.wgmma()) config = config.withWgmma(schedule, Integer.parseInt(args[10]), Integer.parseInt(args[7]), Integer.parseInt(args[8])).withFmaExp(Integer.parseInt(args[9]));
        Random random = new Random(1);
        List<DeviceTensor> owned = new ArrayList<>();
        try {
            DeviceTensor q = DeviceCheck.own(owned, DeviceTensor.upload(device, Tensor.random(DType.BFLOAT16, new int[] {b, h, n, d}, random), DType.BFLOAT16));
            DeviceTensor k = DeviceCheck.own(owned, DeviceTensor.upload(device, Tensor.random(DType.BFLOAT16, new int[] {b, h, n, d}, random), DType.BFLOAT16));
            DeviceTensor v = DeviceCheck.own(owned, DeviceTensor.upload(device, Tensor.random(DType.BFLOAT16, new int[] {b, h, n, d}, random), DType.BFLOAT16));
            DeviceTensor out = DeviceCheck.own(owned, DeviceTensor.allocate(device, DType.BFLOAT16, b, h, n, d));
            DeviceTensor lse = DeviceCheck.own(owned, DeviceTensor.allocate(device, DType.FLOAT32, b, h, n));
            Map<String, Tensor> hostInputs = benchInputs(pattern, b, h, n, new Random(2));
            Map<String, DeviceTensor> inputs = new LinkedHashMap<>();
            for (Input input : pattern.inputs()) inputs.put(input.name(), DeviceCheck.own(owned, DeviceTensor.upload(device, hostInputs.get(input.name()), input.dtype())));
            Problem small = SampleProblems.of(pattern, new SampleProblems.Shape(1, 1, 1, 8, 8, d, 0), DType.BFLOAT16, random);
            Binding binding = new Binding(Map.of("B", b, "H", h, "Hkv", h, "Nq", n, "Nkv", n, "D", d, "Dv", d, "Q0", 0), 0, Binding.of(pattern, small).params());
            GpuAttention gpu = new GpuAttention(device, lowered, PtxModule.render(lowered, config));
            GpuAttention.Tensors tensors = new GpuAttention.Tensors(q, k, v, out, lse, inputs);
            DeviceTensor tiles = DeviceCheck.own(owned, gpu.plan(binding).allocate(device));
            gpu.prepareTiles(binding, tensors, tiles, hostInputs);
            for (int i = 0; i < 2; i++) gpu.launch(binding, tensors, tiles);
            device.synchronize();
            System.out.println("profiled " + pattern.name() + " " + config.tag() + ": registers " + gpu.attentionFunction().registers()
                    + ", local bytes " + gpu.attentionFunction().localBytes());
        } finally {
            for (DeviceTensor t : owned) t.close();
        }
        return 0;
    }

    /** {schedule ordinal, consumer groups, blockN, stages, fmaExp} timed beside the default at head dim {@code d}. */
    private static List<int[]> variants(int d, boolean readsInputs) {
        int wgo = Schedule.WGMMA_OVERLAP.ordinal(), wgp = Schedule.WGMMA_PINGPONG.ordinal();
        if (d <= 64) {
            return List.of(new int[] {wgo, 2, 128, 2, 0}, new int[] {wgo, 3, 96, 2, 0}, new int[] {wgp, 3, 96, 2, 0}, new int[] {wgo, 3, 112, 2, 0},
                    new int[] {wgp, 3, 112, 2, 0}, new int[] {wgo, 3, 128, 2, 0}, new int[] {wgp, 3, 128, 2, 0},
                    // A quarter of the exponentials on the FMA pipe: ex2 (XU) ran at 49-51% on the 96-key kernel, the tensor pipe at 48-50%.
                    new int[] {wgo, 3, 128, 2, 1}, new int[] {wgp, 3, 128, 2, 1},
                    // 64-key tiles: a sliding window's rows see about 1,024 keys of the 1,216 that a block of 192 rows lists with
                    // 128-key tiles; narrower tiles list fewer keys past its edges.
                    new int[] {wgp, 3, 64, 2, 0}, new int[] {wgo, 3, 64, 2, 0}, new int[] {wgp, 3, 64, 3, 0},
                    // Blocks of 128 rows: a document of ~512 tokens spans fewer of them than of 192.
                    new int[] {wgp, 2, 64, 2, 0}, new int[] {wgo, 2, 64, 2, 0}, new int[] {wgp, 2, 96, 2, 0});
        }
        if (d <= 128) {
            return List.of(new int[] {wgo, 2, 128, 2, 0}, new int[] {wgp, 2, 128, 2, 0}, new int[] {wgp, 2, 112, 2, 0}, new int[] {wgp, 2, 96, 2, 0},
                    // Wider key tiles fit since the column positions are formed late (no spills on dense or causal, ptxas -v): fewer
                    // softmax rescales and barrier rounds a row; timed to see whether they close dense D = 128's gap to 1.05x cuDNN.
                    new int[] {wgo, 2, 176, 2, 0}, new int[] {wgp, 2, 176, 2, 0}, new int[] {wgo, 2, 192, 2, 0}, new int[] {wgp, 2, 192, 2, 0},
                    new int[] {wgp, 2, 64, 2, 0});
        }
        return List.of(new int[] {wgo, 2, 64, 2, 0}, new int[] {wgp, 2, 64, 2, 0});
    }

    /** The benchmark's inputs: 8 sorted document ids per sequence (as the Python peers draw them), ALiBi slopes 2^(−8(i+1)/H). */
    static Map<String, Tensor> benchInputs(Pattern pattern, int b, int h, int n, Random random) {
        Map<String, Tensor> inputs = new LinkedHashMap<>();
        for (Input input : pattern.inputs()) {
            Tensor t = switch (input.name()) {
                case "doc" -> {
                    int[] ids = new int[b * n];
                    for (int i = 0; i < ids.length; i++) ids[i] = random.nextInt(8);
                    for (int row = 0; row < b; row++) java.util.Arrays.sort(ids, row * n, (row + 1) * n);
                    yield Tensor.ofInts(DType.INT32, new int[] {b, n}, ids);
                }
                case "slopes" -> {
                    float[] slopes = new float[h];
                    for (int i = 0; i < h; i++) slopes[i] = (float) Math.pow(2, -8.0 * (i + 1) / h);
                    yield Tensor.ofFloats(DType.FLOAT32, new int[] {h}, slopes);
                }
                default -> throw new IllegalArgumentException("no benchmark values for input " + input.name());
            };
            inputs.put(input.name(), t);
        }
        return inputs;
    }

    /**
     * Visible (q, kv) pairs over all of them, counted exactly but cheaply: FULL runs of 64 × 64
     * tiles by their area, PARTIAL ones element by element (every batch, head 0: the benchmark
     * masks ignore heads).
     */
    static double visibleFraction(Pattern pattern, Binding binding, Map<String, Tensor> inputs) {
        Visibility visibility = Visibility.of(pattern, binding, inputs);
        TileClassifier tiles = ClassifyTiles.classifier(pattern, binding, inputs, 64, 64);
        int b = binding.size("B"), n = binding.size("Nq");
        long count = 0;
        for (int bi = 0; bi < b; bi++) {
            for (int qt = 0; qt * 64 < n; qt++) {
                TileClassifier.TileRow row = tiles.row(bi, 0, qt);
                int q0 = qt * 64, q1 = Math.min(n, q0 + 64);
                for (int r = 0; r < row.runs(); r++) {
                    int kv0 = row.first()[r] * 64, kv1 = Math.min(n, (row.last()[r] + 1) * 64);
                    if (row.full()[r]) {
                        count += (long) (q1 - q0) * (kv1 - kv0);
                        continue;
                    }
                    for (int q = q0; q < q1; q++) for (int kv = kv0; kv < kv1; kv++) if (visibility.visible(bi, 0, q, kv)) count++;
                }
            }
        }
        return count / ((double) b * n * n);
    }
}
