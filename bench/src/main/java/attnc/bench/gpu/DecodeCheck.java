package attnc.bench.gpu;

import attnc.front.Frontend;
import attnc.gpu.Device;
import attnc.gpu.DeviceTensor;
import attnc.gpu.EventTimer;
import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.launch.KvCache;
import attnc.launch.Problem;
import attnc.launch.RaggedBatch;
import attnc.launch.RaggedBinding;
import attnc.launch.Result;
import attnc.launch.SampleProblems;
import attnc.launch.ShapeException;
import attnc.lower.LowerPattern;
import attnc.lower.LoweredPattern;
import attnc.pass.Passes;
import attnc.ptx.GpuAttention;
import attnc.ptx.GpuDecode;
import attnc.ptx.PtxBackend;
import attnc.ptx.emit.KernelConfig;
import attnc.ptx.emit.PtxModule;
import attnc.reference.RaggedReference;
import attnc.reference.Reference;
import attnc.run.Kernel;
import attnc.run.TuningConfig;
import attnc.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * The split-KV decode path on the device, in one call: every pattern given, decoding forced, against
 * the double-precision reference on decode shapes (one to sixteen queries at the end of the keys,
 * GQA packed and not, ragged Nkv, bf16 and fp16); then the GB/s of K and V read on the issue's
 * shapes (B=8, H=32, Hkv=8, D=128), resident inputs, CUDA events, median, beside the prefill
 * kernel on the same inputs. Usage: {@code DecodeCheck check PATTERN...} | {@code DecodeCheck tilings
 * PATTERN...} (every decode tiling) | {@code DecodeCheck small PATTERN} (one small case, for
 * compute-sanitizer) | {@code DecodeCheck paged PATTERN...} (ragged batches over a paged cache) |
 * {@code DecodeCheck time OUT_DIR [D]} (D = 128 unless given) | {@code DecodeCheck paged-time OUT_DIR} (paged beside contiguous) | {@code DecodeCheck
 * resident PATTERN...} (q, k, v, out and lse kept on the device through {@code Kernel.forward(problem, out, lse)}) | {@code DecodeCheck
 * mla PATTERN...} (MLA's latent decode, V the view of K's first Dv columns) | {@code DecodeCheck mla-time OUT_DIR} (the
 * environment's {@code SHAPES}, e.g. {@code "64,16,4096;16,128,32768"}, replaces the shapes {@code B,H,Nkv}).
 */
public final class DecodeCheck {
    /**
     * The decode tilings besides the launch's default, {keys a tile, stages, warps sharing the rows (1: where the launch
     * allows, as by default; 0: never)}; each is checked before it can become the default.
     */
    private static final int[][] TILINGS = {{64, 3, 1}, {64, 2, 1}, {64, 2, 0}, {32, 2, 0}, {32, 3, 0}, {128, 2, 1}};

    /** The knobs of a tiling (null: the launch's default), decoding forced. */
    private static Map<String, Integer> knobs(int[] tiling) {
        if (tiling == null) return Map.of("decode", 1);
        Map<String, Integer> knobs = new TreeMap<>(Map.of("decode", 1, "block_n", tiling[0], "stages", tiling[1]));
        if (tiling[2] == 0) knobs.put("warp_keys", 0);
        return knobs;
    }

    /** The default tiling of {@code auto} first (the rows after its time take it apart), then the others of {@link #TILINGS}. */
    private static List<int[]> timedTilings(KernelConfig auto) {
        int[] chosen = {auto.blockN(), auto.stages(), auto.warpKeys() ? 1 : 0};
        List<int[]> tilings = new ArrayList<>(List.of(chosen));
        for (int[] tiling : TILINGS) if (!Arrays.equals(tiling, chosen)) tilings.add(tiling);
        return tilings;
    }

    private static String tilingName(int[] tiling) { return tiling == null ? "default" : "n" + tiling[0] + "/s" + tiling[1] + (tiling[2] == 0 ? "/rows" : ""); }

    private DecodeCheck() {}

    public static void main(String[] args) throws Exception {
        Device device = Device.get(0);
        System.out.println("device: " + device + ", sm_" + device.sm());
        int first = args[0].endsWith("time") ? 2 : 1;
        boolean tilings = args[0].equals("tilings");
        List<Path> files = new ArrayList<>();
        for (int i = first; i < args.length; i++) files.add(Path.of(args[i]));
        int failures = switch (args[0]) {
            case "check", "tilings" -> check(files, false, tilings ? TILINGS.length : 0);
            case "small" -> check(files, true, 0);
            case "paged" -> paged(files);
            case "time" -> time(device, Path.of(args[1]), args.length > 2 ? Integer.parseInt(args[2]) : 128);
            case "paged-time" -> pagedTime(device, Path.of(args[1]));
            case "resident" -> resident(device, files);
            case "mla" -> mla(files);
            case "mla-time" -> mlaTime(device, Path.of(args[1]));
            default -> throw new IllegalArgumentException("expected check, tilings, small, paged, time, paged-time, resident, mla or mla-time, got " + args[0]);
        };
        System.out.println(failures == 0 ? "DECODE CHECK PASSED" : "DECODE CHECK FAILED: " + failures);
        System.exit(failures == 0 ? 0 : 1);
    }

    /**
     * Each case through {@code Kernel.forward} with decoding forced. Tolerances as the prefill
     * kernel's (bf16 P: relL2 1e-2, LSE 2e-2): the partials are fp32 and the merge adds one
     * rounding of e^(LSE_s − M) per split.
     */
    private static int check(List<Path> files, boolean small, int tilings) throws Exception {
        // {B, H, Hkv, Nq, Nkv, D, query offset (-1 bottom right), 1 for fp16[, Dv]}: packed groups (4 x 1, 4 x 16 = 64 rows), a group too
        // large to pack (8 x 16), MHA, a short cache of one tile, head dims 64, 96, 128, 40 and 72 (padded to 48, 80), Dv ≠ D.
        int[][] cases = small ? new int[][] {{1, 4, 1, 2, 300, 64, -1, 0}} : new int[][] {
                {2, 8, 2, 1, 4099, 128, -1, 0}, {1, 4, 1, 16, 2048, 64, -1, 0}, {1, 8, 1, 16, 700, 128, -1, 1}, {3, 4, 4, 3, 1000, 64, -1, 0},
                {2, 6, 2, 1, 50, 96, -1, 0}, {1, 4, 2, 5, 1537, 128, 0, 1}, {1, 4, 1, 4, 1100, 40, -1, 0}, {2, 4, 2, 1, 777, 72, -1, 1},
                {1, 8, 2, 1, 900, 128, -1, 0, 64}, {1, 4, 1, 3, 600, 64, -1, 1, 128},
                // Head dims past 128 (sm_90): a packed token and an unpacked head at D = 256, a group too large to pack, MLA's 192 / 128.
                {2, 8, 2, 1, 1500, 256, -1, 0}, {1, 4, 4, 3, 900, 256, -1, 1}, {1, 8, 1, 16, 700, 256, -1, 0}, {1, 8, 2, 1, 800, 192, -1, 0, 128}};
        int[] counts = new int[2];
        Map<String, double[]> worst = new TreeMap<>();
        for (Path file : files) {
            Pattern pattern = Passes.optimize(Frontend.compile(file), Map.of());
            checkTiling(pattern, null, cases, new Random(file.toString().hashCode()), counts, worst);
            for (int t = 0; t < tilings; t++) checkTiling(pattern, TILINGS[t], cases, new Random(file.toString().hashCode()), counts, worst);
        }
        return summary(counts, worst, 6);
    }

    /**
     * MLA's latent decode (head dims past 256, V the view of K's first Dv columns) through {@code
     * Kernel.forward}, on the tolerances of {@link #check}: one latent KV head and 16 to 128 query
     * heads packed (one block of rows, two, and six of them), several queries (speculative tokens), a
     * group of queries too many to pack, two latent heads, a cache shorter than a tile, fp16, and
     * head dims 320 / 256 beside MLA's 576 / 512; then paged latent caches ({@code
     * Kernel.forward(RaggedBatch)}, the V pool the view of the K pool) against the reference's ragged
     * launch: pages of 1, 16 and 64 in a random order, a shared prompt, empty and one-key sequences;
     * and one case with the cache on the device ({@code Kernel.forward(problem, out, lse)}).
     */
    private static int mla(List<Path> files) throws Exception {
        int[][] cases = {{2, 16, 1, 1, 1500, 576, -1, 0, 512}, {1, 64, 1, 1, 700, 576, -1, 0, 512}, {1, 128, 1, 2, 600, 576, -1, 1, 512},
                {2, 16, 1, 5, 1000, 576, -1, 0, 512}, {1, 8, 1, 20, 500, 576, -1, 0, 512}, {2, 32, 2, 1, 2000, 576, -1, 0, 512},
                {1, 16, 1, 1, 50, 576, -1, 1, 512}, {2, 8, 1, 3, 900, 320, -1, 0, 256}};
        int[] counts = new int[2];
        Map<String, double[]> worst = new TreeMap<>();
        for (Path file : files) {
            Pattern pattern = Passes.optimize(Frontend.compile(file), Map.of());
            Random random = new Random(file.toString().hashCode());
            try (Kernel kernel = new PtxBackend().compile(pattern, new TuningConfig(Map.of()))) {
                for (int[] c : cases) {
                    DType dtype = c[7] == 1 ? DType.FLOAT16 : DType.BFLOAT16;
                    String label = String.format(Locale.ROOT, "%-20s latent %s %s", pattern.name(), dtype, DeviceCheck.sizes(c));
                    Problem problem = latent(SampleProblems.of(pattern, DeviceCheck.shape(c), dtype, random));
                    Reference.Exact ref = reference(label, () -> Reference.run(pattern, problem));
                    if (ref == null) continue;
                    try {
                        judge(kernel.forward(problem), ref, label, "latent " + dtype, counts, worst);
                    } catch (RuntimeException e) {
                        failed(label, e, counts);
                    }
                }
                // {B, H, Hkv, Nq, D, page, 1 for fp16}, kv lengths; Dv = 512.
                int[][] paged = {{3, 16, 1, 1, 576, 16, 0}, {2, 64, 1, 2, 576, 64, 1}, {4, 8, 1, 1, 576, 1, 0}, {2, 128, 1, 1, 576, 64, 0}};
                int[][] lengths = {{700, 1300, 0}, {65, 2000}, {300, 77, 1, 129}, {900, 1500}};
                for (int i = 0; i < paged.length; i++) {
                    int[] c = paged[i];
                    DType dtype = c[6] == 1 ? DType.FLOAT16 : DType.BFLOAT16;
                    RaggedBatch batch = latent(pagedBatch(pattern, c, lengths[i], dtype, random), 512);
                    String label = String.format(Locale.ROOT, "%-20s latent paged %s B=%d H=%d Nq=%d page=%d Nkv=%s", pattern.name(), dtype, c[0], c[1], c[3], c[5],
                            Arrays.toString(lengths[i]));
                    checkPaged(kernel, pattern, batch, label, "latent paged " + dtype, counts, worst);
                }
                // The latent cache kept on the device: q, K, out and lse there, V the view of K's buffer.
                int[] c = {2, 16, 1, 1, 1500, 576, -1, 0, 512};
                Problem host = latent(SampleProblems.of(pattern, DeviceCheck.shape(c), DType.BFLOAT16, random));
                String label = String.format(Locale.ROOT, "%-20s latent resident bf16 %s", pattern.name(), DeviceCheck.sizes(c));
                Reference.Exact ref = reference(label, () -> Reference.run(pattern, host));
                if (ref != null) {
                    Device device = Device.get(0);
                    try (DeviceTensor q = DeviceTensor.upload(device, host.q(), DType.BFLOAT16);
                         DeviceTensor k = DeviceTensor.upload(device, host.k(), DType.BFLOAT16);
                         DeviceTensor out = DeviceTensor.allocate(device, DType.FLOAT32, c[0], c[1], c[3], c[8]);
                         DeviceTensor lse = DeviceTensor.allocate(device, DType.FLOAT32, c[0], c[1], c[3])) {
                        out.fill(0xFF);
                        lse.fill(0xFF);
                        Tensor kView = k.asTensor();
                        Problem problem = new Problem(q.asTensor(), kView, kView.leadingColumns(c[8]), host.inputs(), host.params(), host.queryOffset());
                        Tensor lseView = ref.lse() == null ? null : lse.asTensor();
                        kernel.forward(problem, out.asTensor(), lseView);
                        judge(new Result(out.readFloats(), lseView == null ? null : lse.readFloats(), new int[] {c[0], c[1], c[3], c[8]}), ref, label,
                                "latent resident", counts, worst);
                    } catch (RuntimeException e) {
                        failed(label, e, counts);
                    }
                }
            }
        }
        return summary(counts, worst, 20);
    }

    /** The batch with its V pool replaced by the view of the K pool's first {@code dv} columns: MLA's latent cache, paged. */
    private static RaggedBatch latent(RaggedBatch batch, int dv) {
        KvCache cache = batch.cache();
        return new RaggedBatch(batch.q(), batch.queryStarts(), new KvCache(cache.k(), cache.k().leadingColumns(dv), cache.blockTable(), cache.kvLengths()),
                batch.inputs());
    }

    /** The problem with V replaced by the view of K's first Dv columns: MLA's one latent cache. */
    private static Problem latent(Problem problem) {
        Tensor k = problem.k();
        return new Problem(problem.q(), k, k.leadingColumns(problem.v().dim(3)), problem.inputs(), problem.params(), problem.queryOffset());
    }

    /**
     * MLA decode steps (dense, D = 576, Dv = 512, one latent head, one query at the end of the
     * keys) on the device's inputs: the cache contiguous, then in pages of 64 (FlashMLA's) and 16 in
     * a random order, each with its automatic tiling and splits; the decode and its merge timed by
     * CUDA events (median of 50 after 10). The cache holds one repeated value, as in {@link #time}.
     * GB/s count the latent cache read once, TFLOP/s 2 · B · H · Nkv · (D + Dv).
     */
    private static int mlaTime(Device device, Path outDir) throws Exception {
        Files.createDirectories(outDir);
        Pattern pattern = Passes.optimize(Frontend.compile("dense", "mask: true"), Map.of());
        LoweredPattern lowered = LowerPattern.lower(pattern);
        int d = 576, dv = 512, nq = 1;
        int[][] shapes = DeviceCheck.shapesFromEnvironment(
                new int[][] {{64, 16, 4096}, {16, 16, 32768}, {128, 16, 1024}, {64, 128, 4096}, {16, 128, 32768}, {132, 64, 2048}});
        StringBuilder json = new StringBuilder("[\n");
        System.out.println("  B    H    Nkv  layout      splits        ms     GB/s  TFLOP/s");
        for (int[] shape : shapes) {
            int b = shape[0], h = shape[1], nkv = shape[2];
            Binding binding = new Binding(Map.of("B", b, "H", h, "Hkv", 1, "Nq", nq, "Nkv", nkv, "D", d, "Dv", dv, "Q0", nkv - nq), nkv - nq, Map.of());
            List<DeviceTensor> owned = new ArrayList<>();
            try {
                DeviceTensor q = DeviceCheck.own(owned, DeviceTensor.upload(device, Tensor.random(DType.BFLOAT16, new int[] {b, h, nq, d}, new Random(1)), DType.BFLOAT16));
                DeviceTensor out = DeviceCheck.own(owned, DeviceTensor.allocate(device, DType.FLOAT32, b, h, nq, dv));
                DeviceTensor lse = DeviceCheck.own(owned, DeviceTensor.allocate(device, DType.FLOAT32, b, h, nq));
                GpuDecode decode = new GpuDecode(device, lowered, PtxModule.render(lowered, GpuDecode.latentConfig(lowered, 90, DType.BFLOAT16, binding, false)));
                try (DeviceTensor k = DeviceTensor.allocate(device, DType.BFLOAT16, b, 1, nkv, d);
                     GpuDecode.Partials partials = decode.allocatePartials(binding, decode.splits(binding));
                     DeviceTensor tiles = DeviceTensor.allocate(device, DType.INT32, decode.tilesLength(binding))) {
                    k.fill(0x3C);
                    GpuAttention.Tensors tensors = new GpuAttention.Tensors(q, k, k, out, lse, Map.of());
                    decode.prepareTiles(binding, tensors, tiles, Map.of());
                    double ms = EventTimer.medianMillis(device, () -> decode.launch(binding, tensors, tiles, partials), 10, 50);
                    json.append(mlaRow(b, h, nkv, "contiguous", partials.splits(), ms, json.length() > 2));
                }
                GpuDecode paged = new GpuDecode(device, lowered, PtxModule.render(lowered, GpuDecode.latentConfig(lowered, 90, DType.BFLOAT16, binding, true)));
                for (int page : new int[] {64, 16}) {
                    double[] timed = pagedMillis(device, paged, binding, q, out, lse, page, true);
                    json.append(mlaRow(b, h, nkv, "paged " + page, (int) timed[1], timed[0], true));
                }
            } catch (RuntimeException e) {
                System.out.printf("B=%d H=%d Nkv=%d: %s%n", b, h, nkv, e);
            } finally {
                for (DeviceTensor t : owned) t.close();
            }
        }
        Files.writeString(outDir.resolve("mla_times.json"), json.append("\n]\n").toString());
        return 0;
    }

    /** A line of {@link #mlaTime} printed, and its JSON object returned. */
    private static String mlaRow(int b, int h, int nkv, String layout, int splits, double ms, boolean comma) {
        double gbs = 2.0 * b * nkv * 576 / ms / 1e6, tflops = 2.0 * b * h * nkv * (576 + 512) / ms / 1e9;
        System.out.printf(Locale.ROOT, "%4d %4d %6d  %-10s %6d  %8.4f  %7.0f  %7.1f%n", b, h, nkv, layout, splits, ms, gbs, tflops);
        return (comma ? ",\n" : "") + String.format(Locale.ROOT,
                "  {\"B\": %d, \"H\": %d, \"Nkv\": %d, \"layout\": \"%s\", \"splits\": %d, \"ms\": %.5f, \"gbs\": %.1f, \"tflops\": %.2f}",
                b, h, nkv, layout, splits, ms, gbs, tflops);
    }

    /** The cases on one decode tiling ({@link #TILINGS}, or null for the default); counts {passed, failed}, the worst errors by precision. */
    private static void checkTiling(Pattern pattern, int[] tiling, int[][] cases, Random random, int[] counts, Map<String, double[]> worst) {
        try (Kernel kernel = new PtxBackend().compile(pattern, new TuningConfig(knobs(tiling)))) {
            for (int[] c : cases) {
                String label = String.format(Locale.ROOT, "%-20s %s %s %s", pattern.name(), tilingName(tiling),
                        c[7] == 1 ? "fp16" : "bf16", DeviceCheck.sizes(c));
                Problem problem = SampleProblems.of(pattern, DeviceCheck.shape(c),
                        c[7] == 1 ? DType.FLOAT16 : DType.BFLOAT16, random);
                Reference.Exact ref = reference(label, () -> Reference.run(pattern, problem));
                if (ref == null) continue;
                try {
                    judge(kernel.forward(problem), ref, label, c[7] == 1 ? "fp16" : "bf16", counts, worst);
                } catch (ShapeException e) {
                    // A forced tiling that does not fit these head dims (128-key tiles at D = 256) is refused, not run; the default must run.
                    if (tiling == null) failed(label, e, counts);
                    else System.out.println("refused " + label + ": " + e.getMessage());
                } catch (RuntimeException e) {
                    failed(label, e, counts);
                }
            }
        }
    }

    /**
     * Ragged decode batches over a paged cache ({@code Kernel.forward(RaggedBatch)}) against the
     * reference's ragged launch: page sizes 1, 16 and 64, pages in a random order with the first
     * sequence's prompt pages shared by the second, sequences of 0 keys, of fewer keys than
     * queries and of lengths that end inside a page, GQA packed and not, bf16 and fp16. The same
     * tolerances as {@link #check}.
     */
    private static int paged(List<Path> files) throws Exception {
        // {B, H, Hkv, Nq, D, page, 1 for fp16}, kv lengths
        int[][] cases = {{3, 8, 2, 1, 128, 16, 0}, {4, 4, 4, 2, 64, 64, 1}, {2, 8, 1, 4, 128, 1, 0}, {5, 4, 2, 3, 64, 16, 0}, {3, 8, 2, 1, 256, 16, 0},
                {2, 4, 4, 2, 256, 64, 1}};
        int[][] lengths = {{700, 1300, 0}, {65, 1, 4000, 129}, {300, 77}, {1024, 2, 513, 0, 2000}, {900, 0, 1500}, {65, 2000}};
        int[] counts = new int[2];
        Map<String, double[]> worst = new TreeMap<>();
        for (Path file : files) {
            Pattern pattern = Passes.optimize(Frontend.compile(file), Map.of());
            Random random = new Random(file.toString().hashCode());
            try (Kernel kernel = new PtxBackend().compile(pattern, new TuningConfig(Map.of()))) {
                for (int i = 0; i < cases.length; i++) {
                    int[] c = cases[i];
                    DType dtype = c[6] == 1 ? DType.FLOAT16 : DType.BFLOAT16;
                    RaggedBatch batch = pagedBatch(pattern, c, lengths[i], dtype, random);
                    String label = String.format(Locale.ROOT, "%-20s paged %s B=%d H=%d Hkv=%d Nq=%d D=%d page=%d Nkv=%s", pattern.name(), dtype, c[0], c[1], c[2],
                            c[3], c[4], c[5], java.util.Arrays.toString(lengths[i]));
                    checkPaged(kernel, pattern, batch, label, "paged " + dtype, counts, worst);
                }
            }
        }
        return summary(counts, worst, 12);
    }

    /** A paged batch through {@code Kernel.forward} against the reference's ragged launch; a batch the backend refuses is said, not counted. */
    private static void checkPaged(Kernel kernel, Pattern pattern, RaggedBatch batch, String label, String key, int[] counts, Map<String, double[]> worst) {
        Reference.Exact ref = reference(label, () -> RaggedReference.run(pattern, batch));
        if (ref == null) return;
        try {
            judge(kernel.forward(batch), ref, label, key, counts, worst);
        } catch (UnsupportedOperationException e) {
            System.out.println("refused " + label + ": " + e.getMessage());
        } catch (RuntimeException e) {
            failed(label, e, counts);
        }
    }

    /** The reference's result, or null (the case skipped, with the reason) when it refuses the case. */
    private static Reference.Exact reference(String label, java.util.function.Supplier<Reference.Exact> run) {
        try {
            return run.get();
        } catch (RuntimeException e) {
            System.out.println("skip " + label + ": the reference refuses it: " + e.getMessage());
            return null;
        }
    }

    /** A case that threw: counted, named, and its trace printed for the first two. */
    private static void failed(String label, RuntimeException e, int[] counts) {
        counts[1]++;
        System.out.printf("FAIL %s: %s%n", label, e);
        if (counts[1] < 3) e.printStackTrace(System.out);
    }

    /** The worst errors by group ({@code width}: the group name's column) and the counts; the number failed. */
    private static int summary(int[] counts, Map<String, double[]> worst, int width) {
        worst.forEach((key, w) -> System.out.printf(Locale.ROOT, "  %-" + width + "s %4.0f cases: worst relL2 %.2e, worst LSE error %.2e%n", key, w[2], w[0], w[1]));
        System.out.printf("correctness: %d passed, %d failed%n", counts[0], counts[1]);
        return counts[1];
    }

    /** One result against the reference: a line, the counts {passed, failed}, and the worst errors under {@code key}. */
    private static void judge(Result got, Reference.Exact ref, String label, String key, int[] counts, Map<String, double[]> worst) {
        double[] err = DeviceCheck.compare(got.out(), ref.out());
        double lseErr = ref.lse() == null ? 0 : DeviceCheck.compare(got.lse(), ref.lse())[0];
        boolean ok = DeviceCheck.forwardWithin(err, lseErr);
        double[] w = worst.computeIfAbsent(key, k -> new double[3]);
        w[0] = Math.max(w[0], err[2]);
        w[1] = Math.max(w[1], lseErr);
        w[2]++;
        counts[ok ? 0 : 1]++;
        System.out.printf(Locale.ROOT, "%s %s: max %.2e relL2 %.2e lse %.2e%n", ok ? "ok  " : "FAIL", label, err[0], err[2], lseErr);
    }

    /** A paged batch: each sequence's pages drawn from a shuffled pool, sequence 1 reusing sequence 0's first pages (a shared prompt). */
    private static RaggedBatch pagedBatch(Pattern pattern, int[] c, int[] lengths, DType dtype, Random random) {
        int batch = c[0], h = c[1], hkv = c[2], nq = c[3], d = c[4], page = c[5];
        int maxPages = 1, total = 0;
        for (int len : lengths) {
            maxPages = Math.max(maxPages, (len + page - 1) / page);
            total += (len + page - 1) / page;
        }
        List<Integer> ids = new ArrayList<>();
        for (int p = 0; p < total; p++) ids.add(p);
        java.util.Collections.shuffle(ids, random);
        int[] table = new int[batch * maxPages];
        for (int b = 0, next = 0; b < batch; b++) {
            for (int j = 0; j < (lengths[b] + page - 1) / page; j++) table[b * maxPages + j] = ids.get(next++);
        }
        if (batch > 1) {
            int shared = Math.min((lengths[0] / page) / 2, (lengths[1] + page - 1) / page);
            for (int j = 0; j < shared; j++) table[maxPages + j] = table[j];
        }
        int[] starts = new int[batch + 1];
        for (int b = 0; b < batch; b++) starts[b + 1] = starts[b] + nq;
        Tensor q = Tensor.random(dtype, new int[] {batch * nq, h, d}, random);
        Tensor k = Tensor.random(dtype, new int[] {Math.max(1, total), page, hkv, d}, random);
        Tensor v = Tensor.random(dtype, new int[] {Math.max(1, total), page, hkv, d}, random);
        KvCache cache = new KvCache(k, v, Tensor.wrap(table, batch, maxPages), Tensor.wrap(lengths.clone(), batch));
        Problem shape = SampleProblems.of(pattern, new SampleProblems.Shape(batch, h, hkv, nq, 8, d, -1), dtype, random);
        return new RaggedBatch(q, Tensor.wrap(starts, batch + 1), cache, shape.inputs());
    }

    /**
     * GB/s of K and V read (bf16, 2 · B · Hkv · Nkv · D · 2 bytes over the median time) for the
     * decode path and, for the reader's scale, the prefill kernel on the same resident inputs.
     * K and V hold one repeated small value: the timing does not depend on the values, and the
     * caches (4.3 GB at 128K) would take minutes to draw and upload from the host.
     */
    private static int time(Device device, Path outDir, int d) throws Exception {
        Files.createDirectories(outDir);
        StringBuilder json = new StringBuilder("[\n");
        int b = 8, h = 32, hkv = 8;
        System.out.println("pattern   Nq  Nkv      variant (registers, blocks a multiprocessor)               splits  ms        GB/s");
        for (String source : new String[] {"mask: true", "mask: q >= kv"}) {
            Pattern pattern = Passes.optimize(Frontend.compile(source.equals("mask: true") ? "dense" : "causal", source), Map.of());
            LoweredPattern lowered = LowerPattern.lower(pattern);
            for (int nq : new int[] {1, 4}) {
                if (!source.equals("mask: true") && nq == 1) continue; // one query at the end sees every key: dense
                for (int nkv : new int[] {4096, 32768, 131072}) {
                    Binding binding = new Binding(Map.of("B", b, "H", h, "Hkv", hkv, "Nq", nq, "Nkv", nkv, "D", d, "Dv", d, "Q0", nkv - nq), nkv - nq, Map.of());
                    double bytes = 2.0 * b * hkv * nkv * d * 2;
                    List<DeviceTensor> owned = new ArrayList<>();
                    try {
                        DeviceTensor q = DeviceCheck.own(owned, DeviceTensor.upload(device, Tensor.random(DType.BFLOAT16, new int[] {b, h, nq, d}, new Random(1)), DType.BFLOAT16));
                        DeviceTensor k = DeviceCheck.own(owned, DeviceTensor.allocate(device, DType.BFLOAT16, b, hkv, nkv, d));
                        DeviceTensor v = DeviceCheck.own(owned, DeviceTensor.allocate(device, DType.BFLOAT16, b, hkv, nkv, d));
                        k.fill(0x3C);
                        v.fill(0x3C);
                        DeviceTensor out = DeviceCheck.own(owned, DeviceTensor.allocate(device, DType.FLOAT32, b, h, nq, d));
                        DeviceTensor lse = DeviceCheck.own(owned, DeviceTensor.allocate(device, DType.FLOAT32, b, h, nq));
                        GpuAttention.Tensors tensors = new GpuAttention.Tensors(q, k, v, out, lse, Map.of());
                        List<Object[]> rows = new ArrayList<>();
                        // A second cache as large, read between each flush and the timed call by the "written back" row.
                        DeviceTensor k2 = DeviceCheck.own(owned, DeviceTensor.allocate(device, DType.BFLOAT16, b, hkv, nkv, d));
                        DeviceTensor v2 = DeviceCheck.own(owned, DeviceTensor.allocate(device, DType.BFLOAT16, b, hkv, nkv, d));
                        GpuAttention.Tensors other = new GpuAttention.Tensors(q, k2, v2, out, lse, Map.of());
                        KernelConfig auto = GpuDecode.config(lowered, 90, DType.BFLOAT16, binding);
                        for (int[] tiling : timedTilings(auto)) {
                            KernelConfig config = auto.withDecodeTiling(tiling[0], tiling[1], auto.warpKeys() && tiling[2] == 1);
                            if (config.limitExceeded(90) != null) continue;
                            boolean byDefault = config.equals(auto);
                            GpuDecode decode = new GpuDecode(device, lowered, PtxModule.render(lowered, config));
                            // The chosen splits (one wave) and twice as many (two waves of shorter splits).
                            for (int splits : new int[] {decode.splits(binding), 2 * decode.splits(binding)}) {
                                try (GpuDecode.Partials partials = decode.allocatePartials(binding, splits);
                                     DeviceTensor tiles = DeviceTensor.allocate(device, DType.INT32, decode.tilesLength(binding))) {
                                    decode.prepareTiles(binding, tensors, tiles, Map.of());
                                    double ms = EventTimer.medianMillis(device, () -> decode.launch(binding, tensors, tiles, partials), 10, 50);
                                    rows.add(new Object[] {"decode " + config.tag() + " r" + decode.registers() + " x" + decode.residentBlocks(), splits, ms});
                                    // What the merge alone takes of the default tiling's call (its GB/s column means nothing), and the rest.
                                    if (byDefault && splits == decode.splits(binding)) {
                                        rows.add(new Object[] {"  the flush written back before the call", splits, EventTimer.medianMillis(device,
                                                () -> decode.launch(binding, other, tiles, partials), () -> decode.launch(binding, tensors, tiles, partials), 10, 50)});
                                        rows.add(new Object[] {"  of which the merge", splits, EventTimer.medianMillis(device, () -> decode.merge(binding, tensors, partials), 10, 50)});
                                        rows.add(new Object[] {"  the decode entry alone", splits,
                                                EventTimer.medianMillis(device, () -> decode.partials(binding, tensors, tiles, partials), 10, 50)});
                                        rows.add(new Object[] {"  the decode entry, then the merge entry", splits, EventTimer.medianMillis(device, () -> {
                                            decode.partials(binding, tensors, tiles, partials);
                                            decode.merge(binding, tensors, partials);
                                        }, 10, 50)});
                                    }
                                }
                            }
                        }
                        GpuAttention prefill = new GpuAttention(device, lowered, PtxModule.render(lowered, KernelConfig.of(lowered, 90, DType.BFLOAT16, d, d)));
                        try (DeviceTensor tiles = prefill.plan(binding).allocate(device)) {
                            prefill.prepareTiles(binding, tensors, tiles, Map.of());
                            rows.add(new Object[] {"prefill", 1, EventTimer.medianMillis(device, () -> prefill.launch(binding, tensors, tiles), 5, 20)});
                        }
                        for (Object[] row : rows) {
                            double ms = (double) row[2], gbs = bytes / ms / 1e6;
                            System.out.printf(Locale.ROOT, "%-8s %3d %7d   %-58s %5d  %8.4f  %7.0f%n", pattern.name(), nq, nkv, row[0], (int) row[1], ms, gbs);
                            if (json.length() > 2) json.append(",\n");
                            json.append(String.format(Locale.ROOT, "  {\"pattern\": \"%s\", \"Nq\": %d, \"Nkv\": %d, \"variant\": \"%s\", \"splits\": %d, \"ms\": %.5f, \"gbs\": %.1f}",
                                    pattern.name(), nq, nkv, row[0], (int) row[1], ms, gbs));
                        }
                    } catch (RuntimeException e) {
                        System.out.printf("%s Nq=%d Nkv=%d: %s%n", pattern.name(), nq, nkv, e);
                    } finally {
                        for (DeviceTensor t : owned) t.close();
                    }
                }
            }
        }
        Files.writeString(outDir.resolve("decode_times.json"), json.append("\n]\n").toString());
        return 0;
    }

    /**
     * GB/s of K and V read by the paged decode on the shapes (B=8, H=32, Hkv=8, D=128,
     * dense, every sequence Nkv keys), page sizes 16 and 64 with the pages in a random order,
     * beside the contiguous decode in the same call, each with its automatic tiling and splits; and
     * the paged kernel whose warps hold rows of their own ("paged rows"), for comparison.
     * Pools filled with one value as in {@link #time}; the sequences' bindings are built directly
     * (a ragged batch would need the pools on the host).
     */
    private static int pagedTime(Device device, Path outDir) throws Exception {
        Files.createDirectories(outDir);
        StringBuilder json = new StringBuilder("[\n");
        int b = 8, h = 32, hkv = 8, d = 128;
        Pattern pattern = Passes.optimize(Frontend.compile("dense", "mask: true"), Map.of());
        LoweredPattern lowered = LowerPattern.lower(pattern);
        System.out.println("Nq  Nkv      layout        splits  ms        GB/s   vs contiguous");
        for (int nq : new int[] {1, 4}) {
            for (int nkv : new int[] {4096, 32768, 131072}) {
                Binding binding = new Binding(Map.of("B", b, "H", h, "Hkv", hkv, "Nq", nq, "Nkv", nkv, "D", d, "Dv", d, "Q0", nkv - nq), nkv - nq, Map.of());
                double bytes = 2.0 * b * hkv * nkv * d * 2;
                KernelConfig auto = GpuDecode.config(lowered, 90, DType.BFLOAT16, binding);
                List<DeviceTensor> owned = new ArrayList<>();
                try {
                    DeviceTensor q = DeviceCheck.own(owned, DeviceTensor.upload(device, Tensor.random(DType.BFLOAT16, new int[] {b, h, nq, d}, new Random(1)), DType.BFLOAT16));
                    DeviceTensor out = DeviceCheck.own(owned, DeviceTensor.allocate(device, DType.FLOAT32, b, h, nq, d));
                    DeviceTensor lse = DeviceCheck.own(owned, DeviceTensor.allocate(device, DType.FLOAT32, b, h, nq));
                    double contiguous;
                    // The contiguous cache is freed before the paged pools of the same size are allocated.
                    GpuDecode decode = new GpuDecode(device, lowered, PtxModule.render(lowered, auto));
                    try (DeviceTensor k = DeviceTensor.allocate(device, DType.BFLOAT16, b, hkv, nkv, d);
                         DeviceTensor v = DeviceTensor.allocate(device, DType.BFLOAT16, b, hkv, nkv, d);
                         GpuDecode.Partials partials = decode.allocatePartials(binding, decode.splits(binding));
                         DeviceTensor tiles = DeviceTensor.allocate(device, DType.INT32, decode.tilesLength(binding))) {
                        k.fill(0x3C);
                        v.fill(0x3C);
                        GpuAttention.Tensors tensors = new GpuAttention.Tensors(q, k, v, out, lse, Map.of());
                        decode.prepareTiles(binding, tensors, tiles, Map.of());
                        contiguous = EventTimer.medianMillis(device, () -> decode.launch(binding, tensors, tiles, partials), 10, 50);
                        json.append(row(nq, nkv, "contiguous", partials.splits(), contiguous, bytes, contiguous, json.length() > 2));
                    }
                    // The default paged kernel, and the one whose warps hold rows of their own (32-key tiles).
                    for (KernelConfig pagedConfig : List.of(auto.forDecode(auto.decode().paged()), auto.withWarpKeys(false).forDecode(auto.decode().paged()))) {
                        GpuDecode paged = new GpuDecode(device, lowered, PtxModule.render(lowered, pagedConfig));
                        String kind = pagedConfig.warpKeys() ? "paged " : "paged rows ";
                        for (int page : new int[] {16, 64}) {
                            double[] timed = pagedMillis(device, paged, binding, q, out, lse, page, false);
                            json.append(row(nq, nkv, kind + page, (int) timed[1], timed[0], bytes, contiguous, true));
                        }
                    }
                } catch (RuntimeException e) {
                    System.out.printf("Nq=%d Nkv=%d: %s%n", nq, nkv, e);
                } finally {
                    for (DeviceTensor t : owned) t.close();
                }
            }
        }
        Files.writeString(outDir.resolve("paged_times.json"), json.append("\n]\n").toString());
        return 0;
    }

    /**
     * {@code paged}'s decode of {@code binding} (every sequence Nkv keys) over pools in pages of
     * {@code page} keys in a random order, holding one repeated value as in {@link #time}: K and V
     * pools of their own, or with {@code latent} V read from the K pool. The median ms of 50 after
     * 10, and the splits it took.
     */
    private static double[] pagedMillis(Device device, GpuDecode paged, Binding binding, DeviceTensor q, DeviceTensor out, DeviceTensor lse, int page,
            boolean latent) {
        int b = binding.size("B"), h = binding.size("H"), hkv = binding.size("Hkv"), nq = binding.size("Nq"), nkv = binding.size("Nkv");
        int d = binding.size("D"), dv = binding.size("Dv"), perSequence = nkv / page, pages = b * perSequence;
        List<Integer> ids = new ArrayList<>();
        for (int p = 0; p < pages; p++) ids.add(p);
        java.util.Collections.shuffle(ids, new Random(page));
        int[] table = ids.stream().mapToInt(Integer::intValue).toArray(), lengths = new int[b];
        Arrays.fill(lengths, nkv);
        List<RaggedBinding.Sequence> sequences = new ArrayList<>();
        for (int s = 0; s < b; s++) sequences.add(new RaggedBinding.Sequence(s, s * nq, binding, Map.of()));
        RaggedBinding ragged = new RaggedBinding(h, hkv, d, dv, page, pages, b * nq, perSequence, table, sequences, 0);
        // A latent cache's V is the K pool: no pool of its own (try-with-resources skips the null).
        try (DeviceTensor k = DeviceTensor.allocate(device, DType.BFLOAT16, pages, page, hkv, d);
             DeviceTensor ownV = latent ? null : DeviceTensor.allocate(device, DType.BFLOAT16, pages, page, hkv, dv);
             DeviceTensor blockTable = DeviceTensor.upload(device, Tensor.wrap(table, b, perSequence), DType.INT32);
             DeviceTensor kvLengths = DeviceTensor.upload(device, Tensor.wrap(lengths, b), DType.INT32);
             GpuDecode.Partials partials = paged.allocatePartials(binding, paged.splits(binding));
             DeviceTensor tiles = DeviceTensor.allocate(device, DType.INT32, paged.tilesLength(binding))) {
            DeviceTensor v = latent ? k : ownV;
            k.fill(0x3C);
            v.fill(0x3C);
            GpuAttention.Tensors tensors = new GpuAttention.Tensors(q, k, v, out, lse, null, Map.of(),
                    new GpuAttention.Paged(blockTable, kvLengths, Integer.numberOfTrailingZeros(page), perSequence));
            paged.preparePagedTiles(ragged, binding, tiles);
            return new double[] {EventTimer.medianMillis(device, () -> paged.launch(binding, tensors, tiles, partials), 10, 50), partials.splits()};
        }
    }

    /**
     * {@code Kernel.forward(problem, out, lse)} with q, k, v, out and lse on the device
     * ({@code DeviceTensor.asTensor}) against the reference: a decode step (B=8, H=32, Hkv=8, D=128,
     * Nq=1 and 4, Nkv=4096) and a prefill (B=1, H=4, Hkv=2, N=300, D=64); then the host's time a
     * call (checks, tile lists, launch, wait) for the decode steps, median of 50 after 10.
     */
    private static int resident(Device device, List<Path> files) throws Exception {
        // {B, H, Hkv, Nq, Nkv, D}
        int[][] shapes = {{8, 32, 8, 1, 4096, 128}, {8, 32, 8, 4, 4096, 128}, {1, 4, 2, 300, 300, 64}};
        int[] counts = new int[2];
        Map<String, double[]> worst = new TreeMap<>();
        for (Path file : files) {
            Pattern pattern = Passes.optimize(Frontend.compile(file), Map.of());
            Random random = new Random(file.toString().hashCode());
            try (Kernel kernel = new PtxBackend().compile(pattern, new TuningConfig(Map.of()))) {
                for (int[] c : shapes) {
                    Problem host = SampleProblems.of(pattern, new SampleProblems.Shape(c[0], c[1], c[2], c[3], c[4], c[5], -1), DType.BFLOAT16, random);
                    String label = String.format(Locale.ROOT, "%-20s resident B=%d H=%d Hkv=%d Nq=%d Nkv=%d D=%d", pattern.name(), c[0], c[1], c[2], c[3], c[4], c[5]);
                    Reference.Exact ref = reference(label, () -> Reference.run(pattern, host));
                    if (ref == null) continue;
                    try (DeviceTensor q = DeviceTensor.upload(device, host.q(), DType.BFLOAT16);
                         DeviceTensor k = DeviceTensor.upload(device, host.k(), DType.BFLOAT16);
                         DeviceTensor v = DeviceTensor.upload(device, host.v(), DType.BFLOAT16);
                         DeviceTensor out = DeviceTensor.allocate(device, DType.FLOAT32, c[0], c[1], c[3], c[5]);
                         DeviceTensor lse = DeviceTensor.allocate(device, DType.FLOAT32, c[0], c[1], c[3])) {
                        out.fill(0xFF);
                        lse.fill(0xFF);
                        Problem problem = new Problem(q.asTensor(), k.asTensor(), v.asTensor(), host.inputs(), host.params(), host.queryOffset());
                        Tensor lseView = ref.lse() == null ? null : lse.asTensor();
                        kernel.forward(problem, out.asTensor(), lseView);
                        judge(new Result(out.readFloats(), lseView == null ? null : lse.readFloats(), new int[] {c[0], c[1], c[3], c[5]}), ref, label,
                                "resident", counts, worst);
                        if (c[3] <= 16) {
                            for (int i = 0; i < 10; i++) kernel.forward(problem, out.asTensor(), lseView);
                            double[] ms = new double[50];
                            for (int i = 0; i < ms.length; i++) {
                                long t0 = System.nanoTime();
                                kernel.forward(problem, out.asTensor(), lseView);
                                ms[i] = (System.nanoTime() - t0) / 1e6;
                            }
                            java.util.Arrays.sort(ms);
                            System.out.printf(Locale.ROOT, "  %s: %.3f ms a call (host wall time, median of 50)%n", label, ms[25]);
                        }
                    } catch (RuntimeException e) {
                        failed(label, e, counts);
                    }
                }
            }
        }
        return summary(counts, worst, 12);
    }

    /** Prints one timing and returns its JSON object, preceded by a comma unless it is the first. */
    private static String row(int nq, int nkv, String layout, int splits, double ms, double bytes, double contiguous, boolean comma) {
        System.out.printf(Locale.ROOT, "%3d %7d   %-12s %6d  %8.4f  %7.0f  %.3f%n", nq, nkv, layout, splits, ms, bytes / ms / 1e6, contiguous / ms);
        return String.format(Locale.ROOT, "%s  {\"Nq\": %d, \"Nkv\": %d, \"layout\": \"%s\", \"splits\": %d, \"ms\": %.5f, \"gbs\": %.1f}",
                comma ? ",\n" : "", nq, nkv, layout, splits, ms, bytes / ms / 1e6);
    }
}
