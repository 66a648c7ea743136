package attnc.bench.gpu;

import attnc.front.Frontend;
import attnc.gpu.Device;
import attnc.gpu.DeviceTensor;
import attnc.gpu.EventTimer;
import attnc.ir.DType;
import attnc.ir.Input;
import attnc.ir.Norm;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.launch.SampleProblems;
import attnc.lower.LowerPattern;
import attnc.pass.Passes;
import attnc.ptx.GpuAttention;
import attnc.ptx.PtxBackend;
import attnc.ptx.emit.KernelConfig;
import attnc.ptx.emit.PtxModule;
import attnc.ptx.emit.Signature;
import attnc.reference.Reference;
import attnc.run.Kernel;
import attnc.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The GPU machine's check, run from a jlink'd JRE: every pattern against the reference at small
 * shapes (random inputs, GQA, ragged N, a query offset), a leak check over 10,000 launches, the
 * benchmark patterns' PTX exported for the Python comparison, and their kernels timed from Java.
 * Every index-only mask's host-built tile lists are also compared with the classifier kernel's
 * ({@link TileListCheck}). Usage: DeviceCheck OUT_DIR BENCH_PATTERN_DIR PATTERN_FILE... ("-" for
 * BENCH_PATTERN_DIR: the correctness checks only).
 */
public final class DeviceCheck {
    private DeviceCheck() {}

    public static void main(String[] args) throws Exception {
        Path outDir = Path.of(args[0]);
        Path benchDir = Path.of(args[1]);
        Device device = Device.get(0);
        System.out.println("device: " + device);
        int failures = 0;
        for (int i = 2; i < args.length; i++) failures += check(Path.of(args[i]));
        for (int i = 2; i < args.length; i++) failures += TileListCheck.check(device, Path.of(args[i]));
        if (args[1].equals("-")) {
            // Correctness only: no leak check, no benchmark export.
            System.out.println(failures == 0 ? "DEVICE CHECK PASSED" : "DEVICE CHECK FAILED: " + failures);
            System.exit(failures == 0 ? 0 : 1);
        }
        failures += leakCheck(device);
        Files.createDirectories(outDir.resolve("ptx"));
        StringBuilder manifest = new StringBuilder("[\n");
        StringBuilder times = new StringBuilder("{\n");
        int[][] shapes = {{4, 16, 4096, 64}, {2, 16, 8192, 128}};
        try (var files = Files.list(benchDir)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".attn")).sorted().toList()) {
                Pattern pattern = Passes.optimize(Frontend.compile(file), Map.of());
                for (int[] shape : shapes) {
                    // bf16 output, as FlexAttention and SDPA give (forward() keeps float32 for its Result).
                    KernelConfig config = KernelConfig.of(LowerPattern.lower(pattern), KernelConfig.target(device.sm()), DType.BFLOAT16, shape[3], shape[3]).withOutput(DType.BFLOAT16);
                    PtxModule module = PtxModule.render(LowerPattern.lower(pattern), config);
                    String name = pattern.name() + "_d" + shape[3];
                    Files.writeString(outDir.resolve("ptx").resolve(name + ".ptx"), module.text());
                    if (manifest.length() > 2) manifest.append(",\n");
                    manifest.append(manifestEntry(name, pattern, module));
                    for (KernelConfig variant : variants(pattern.name(), config)) {
                        PtxModule other = PtxModule.render(LowerPattern.lower(pattern), variant);
                        String variantName = name + "_" + variant.tag();
                        Files.writeString(outDir.resolve("ptx").resolve(variantName + ".ptx"), other.text());
                        manifest.append(",\n").append(manifestEntry(variantName, pattern, other));
                    }
                    double ms = time(device, pattern, module, shape);
                    System.out.printf("java %-16s B=%d H=%d N=%d D=%d: %.3f ms%n", pattern.name(), shape[0], shape[1], shape[2], shape[3], ms);
                    if (times.length() > 2) times.append(",\n");
                    times.append("  \"").append(name).append("\": ").append(ms);
                }
            }
        }
        Files.writeString(outDir.resolve("manifest.json"), manifest.append("\n]\n").toString());
        Files.writeString(outDir.resolve("java_times.json"), times.append("\n}\n").toString());
        System.out.println(failures == 0 ? "DEVICE CHECK PASSED" : "DEVICE CHECK FAILED: " + failures);
        System.exit(failures == 0 ? 0 : 1);
    }

    private static int check(Path file) throws Exception {
        Pattern pattern;
        try {
            pattern = Passes.optimize(Frontend.compile(file), Map.of());
        } catch (Exception e) {
            System.out.println("skip " + file + ": " + e.getMessage().lines().findFirst().orElse(""));
            return 0;
        }
        int failures = 0;
        Kernel kernel = new PtxBackend().compile(pattern);
        // {B, H, Hkv, Nq, Nkv, D, query offset}: ragged sizes, GQA, a short query block at the end of the keys.
        // The last element picks the input precision: 0 bf16, 1 fp16.
        int[][] cases = {{2, 4, 2, 200, 200, 64, 0, 0}, {1, 4, 1, 77, 300, 128, -1, 0}, {1, 2, 2, 130, 130, 32, 0, 0}, {1, 2, 1, 96, 96, 64, 0, 1}};
        Random random = new Random(file.toString().hashCode());
        for (int[] c : cases) {
            Problem problem = problem(pattern, c, random);
            Result gpu;
            try {
                gpu = kernel.forward(problem);
            } catch (RuntimeException e) {
                System.out.printf("FAIL %-20s %s: %s%n", pattern.name(), java.util.Arrays.toString(c), e);
                failures++;
                continue;
            }
            Reference.Exact ref;
            try {
                ref = Reference.run(pattern, problem);
            } catch (RuntimeException e) {
                System.out.printf("skip %-20s %s: the reference refuses the problem: %s%n", pattern.name(), java.util.Arrays.toString(c), e.getMessage());
                continue;
            }
            double[] err = compare(gpu.out(), ref.out());
            double lseErr = ref.lse() == null ? 0 : compare(gpu.lse(), ref.lse())[0];
            boolean ok = forwardWithin(err, lseErr);
            if (!ok) failures++;
            System.out.printf("%s %-20s %s B=%d H=%d Hkv=%d Nq=%d Nkv=%d D=%d: max %.2e mean %.2e relL2 %.2e lse max %.2e%n",
                    ok ? "ok  " : "FAIL", pattern.name(), c[7] == 1 ? "fp16" : "bf16", c[0], c[1], c[2], c[3], c[4], c[5], err[0], err[1], err[2], lseErr);
        }
        return failures;
    }

    /** max |a−b|, mean |a−b|, ‖a−b‖/‖b‖; NaN anywhere gives NaN (never passes). Infinite LSEs must match exactly. */
    static double[] compare(float[] got, double[] want) {
        double max = 0, sum = 0, diff2 = 0, ref2 = 0;
        for (int i = 0; i < want.length; i++) {
            if (Double.isInfinite(want[i]) && got[i] == want[i]) continue;
            double d = Math.abs(got[i] - want[i]);
            if (Double.isNaN(d)) return new double[] {Double.NaN, Double.NaN, Double.NaN};
            max = Math.max(max, d);
            sum += d;
            diff2 += d * d;
            ref2 += want[i] * want[i];
        }
        return new double[] {max, sum / want.length, Math.sqrt(diff2 / Math.max(ref2, 1e-30))};
    }

    /** {B, H, Hkv, Nq, Nkv, D, query offset (-1 bottom right)[, 1 for fp16]}. */
    static Problem problem(Pattern pattern, int[] c, Random random) {
        DType precision = c.length > 7 && c[7] == 1 ? DType.FLOAT16 : DType.BFLOAT16;
        return SampleProblems.of(pattern, new SampleProblems.Shape(c[0], c[1], c[2], c[3], c[4], c[5], c[6]), precision, random);
    }

    private static int leakCheck(Device device) throws Exception {
        Pattern pattern = Frontend.compile("leak", "mask: q >= kv");
        Kernel kernel = new PtxBackend().compile(pattern);
        Problem problem = problem(pattern, new int[] {1, 1, 1, 64, 64, 64, 0}, new Random(1));
        for (int i = 0; i < 10; i++) kernel.forward(problem);
        long before = device.memoryInfo()[0];
        for (int i = 0; i < 10_000; i++) kernel.forward(problem);
        long after = device.memoryInfo()[0];
        boolean ok = before - after < (1 << 20);
        System.out.printf("%s leak check: free memory before %d, after 10000 launches %d%n", ok ? "ok  " : "FAIL", before, after);
        return ok ? 0 : 1;
    }

    /** Other schedules timed beside the default (CuPy only), to choose the default from measurements. */
    private static List<KernelConfig> variants(String patternName, KernelConfig c) {
        boolean wide = c.headDim() > 64;
        return switch (patternName) {
            case "dense", "causal" -> wide
                    ? List.of(c.withTiling(8, 1, 64, 2, true), c.withTiling(4, 2, 32, 3, true))
                    : List.of(c.withTiling(4, 2, 64, 2, true), c.withTiling(4, 2, 128, 2, true));
            case "document" -> wide
                    ? List.of(c.withTiling(4, 1, 64, 2, false), c.withTiling(8, 1, 128, 2, true))
                    : List.of(c.withTiling(4, 2, 64, 2, false), c.withTiling(4, 2, 64, 3, true));
            default -> List.of();
        };
    }

    private static DeviceTensor randomDevice(Device device, Random random, int... shape) {
        return DeviceTensor.upload(device, Tensor.random(DType.BFLOAT16, shape, random), DType.BFLOAT16);
    }

    /** Document ids [B, N]: eight documents of random lengths per sequence, as the Python benchmark draws them. */
    private static Tensor documents(Random random, int b, int n) {
        int[] ids = new int[b * n];
        for (int i = 0; i < ids.length; i++) ids[i] = random.nextInt(8);
        for (int row = 0; row < b; row++) java.util.Arrays.sort(ids, row * n, (row + 1) * n);
        return Tensor.ofInts(DType.INT32, new int[] {b, n}, ids);
    }

    /** A check case {B, H, Hkv, Nq, Nkv, D, query offset (-1 bottom right), 1 for fp16[, Dv]} as a shape (Dv = D when not given). */
    static SampleProblems.Shape shape(int[] c) {
        return new SampleProblems.Shape(c[0], c[1], c[2], c[3], c[4], c[5], c.length > 8 ? c[8] : c[5], c[6]);
    }

    /** The environment's {@code SHAPES}, comma-separated sizes and shapes separated by semicolons ("2,16,8192,192,128;..."), or {@code defaults}. */
    static int[][] shapesFromEnvironment(int[][] defaults) {
        String given = System.getenv("SHAPES");
        if (given == null || given.isBlank()) return defaults;
        return java.util.Arrays.stream(given.split(";")).map(t -> java.util.Arrays.stream(t.trim().split(",")).mapToInt(Integer::parseInt).toArray())
                .toArray(int[][]::new);
    }

    /** A case's sizes for a report line: "B=.. H=.. Hkv=.. Nq=.. Nkv=.. D=..[ Dv=..] off=..". */
    static String sizes(int[] c) {
        return String.format(java.util.Locale.ROOT, "B=%d H=%d Hkv=%d Nq=%d Nkv=%d D=%d%s off=%d", c[0], c[1], c[2], c[3], c[4], c[5],
                c.length > 8 ? " Dv=" + c[8] : "", c[6]);
    }

    /** {@code t}, added to the buffers a harness frees when it is done. */
    static DeviceTensor own(List<DeviceTensor> owned, DeviceTensor t) {
        owned.add(t);
        return t;
    }

    /**
     * A forward on bf16 (or fp16) inputs against the double-precision reference: relL2 of the
     * output under 1e-2 (P rounded to 16 bits before P·V) and the largest LSE error under 2e-2;
     * NaN anywhere fails ({@link #compare} returns NaN, and NaN compares false).
     */
    static boolean forwardWithin(double[] err, double lseErr) {
        return err[2] < 1e-2 && lseErr < 2e-2;
    }

    private static String manifestEntry(String name, Pattern pattern, PtxModule module) {
        KernelConfig c = module.config();
        List<String> params = new ArrayList<>();
        for (String[] d : Signature.of(pattern).declarations()) params.add("[\"" + d[0] + "\", \"" + d[1] + "\"]");
        return "  {\"name\": \"" + name + "\", \"pattern\": \"" + pattern.name() + "\", \"file\": \"ptx/" + name + ".ptx\", \"threads\": " + c.threads()
                + ", \"shared\": " + c.sharedBytes() + ", \"output\": \"" + c.output() + "\"" + ", \"block_m\": " + c.blockM() + ", \"block_n\": " + c.blockN()
                + ", \"classifies\": " + module.classifies() + ", \"mask_per_batch\": " + module.maskPerBatch()
                + ", \"mask_per_head\": " + module.maskPerHead() + ", \"softmax\": " + (pattern.norm() instanceof Norm.Softmax)
                + ", \"params\": [" + String.join(", ", params) + "]}";
    }

    /** The attention kernel alone on resident random tensors (tile lists built once, as FlexAttention's block mask is). */
    private static double time(Device device, Pattern pattern, PtxModule module, int[] shape) {
        int b = shape[0], h = shape[1], n = shape[2], d = shape[3];
        Random random = new Random(7);
        Problem problem = problem(pattern, new int[] {1, 1, 1, 16, 16, d, 0}, random);
        GpuAttention gpu = new GpuAttention(device, LowerPattern.lower(pattern), module);
        List<DeviceTensor> owned = new ArrayList<>();
        try {
            DeviceTensor q = own(owned, randomDevice(device, random, b, h, n, d));
            DeviceTensor k = own(owned, randomDevice(device, random, b, h, n, d));
            DeviceTensor v = own(owned, randomDevice(device, random, b, h, n, d));
            DeviceTensor out = own(owned, DeviceTensor.allocate(device, module.config().output(), b, h, n, d));
            DeviceTensor lse = own(owned, DeviceTensor.allocate(device, DType.FLOAT32, b, h, n));
            Map<String, DeviceTensor> inputs = new LinkedHashMap<>();
            Map<String, Tensor> hostInputs = new LinkedHashMap<>();
            for (Input input : pattern.inputs()) {
                Tensor t = switch (input.name()) {
                    case "doc" -> documents(random, b, n);
                    default -> Tensor.random(input.dtype(), new int[] {h}, random);
                };
                hostInputs.put(input.name(), t);
                inputs.put(input.name(), own(owned, DeviceTensor.upload(device, t, input.dtype())));
            }
            // Params come from a small problem's binding; the sizes are the benchmark's.
            Binding small = Binding.of(pattern, problem);
            Binding binding = new Binding(Map.of("B", b, "H", h, "Hkv", h, "Nq", n, "Nkv", n, "D", d, "Dv", d), 0, small.params());
            GpuAttention.Tensors tensors = new GpuAttention.Tensors(q, k, v, out, lse, inputs);
            DeviceTensor tiles = own(owned, gpu.plan(binding).allocate(device));
            gpu.prepareTiles(binding, tensors, tiles);
            device.synchronize();
            return EventTimer.medianMillis(device, () -> gpu.launch(binding, tensors, tiles), 10, 50);
        } finally {
            for (DeviceTensor t : owned) t.close();
        }
    }
}
