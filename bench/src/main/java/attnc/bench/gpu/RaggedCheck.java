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
import attnc.launch.SampleProblems;
import attnc.lower.LowerPattern;
import attnc.lower.LoweredPattern;
import attnc.pass.Passes;
import attnc.ptx.GpuAttention;
import attnc.ptx.PtxBackend;
import attnc.ptx.RaggedPrefill;
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
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * The ragged prefill kernel on the device, in one call. {@code RaggedCheck check PATTERN...}:
 * ragged batches over paged caches through {@code Kernel.forward(RaggedBatch)} (the default
 * tiling) and through each kernel it chooses between (mma.sync; wgmma on sm_90 where the Hopper
 * path takes the pattern, head dims below the default's 32 aside), against the
 * double-precision {@link RaggedReference}: page sizes 1, 16, 64 and 256, pages shuffled in the
 * pool and a prompt's pages shared by the next sequence, sequences without queries or keys, Nq
 * above and below Nkv, GQA, head dims 32, 64, 72 (padded), 128, 256, bf16 and fp16; a case passes with a
 * relL2 of the output at most 2e-2 and an LSE error at most 2e-2, NaN never. {@code RaggedCheck
 * small PATTERN}: one small case (for compute-sanitizer). {@code RaggedCheck time OUT_DIR}: 8
 * sequences of 300 to 4,000 tokens (seed 17), causal, H = 16, D = 32, 64, 128 and 256, bf16, pages of 64 in a
 * random order: kernel time of the mma.sync and wgmma tilings (the default is one of them, timed once) by CUDA events (median of 30
 * after 10), TFLOP/s, beside the same work
 * as one document-masked launch of the dense kernel over the packed tokens; the lengths go to
 * OUT_DIR/ragged_lengths.json for peers_ragged.py.
 */
public final class RaggedCheck {
    private RaggedCheck() {}

    /** {H, Hkv, D, page, 1 for fp16}, with each case's query and key counts. */
    private static final int[][] SHAPES = {{4, 2, 64, 16, 0}, {4, 4, 128, 64, 0}, {8, 1, 64, 1, 0}, {2, 2, 128, 256, 1}, {4, 2, 72, 16, 0}, {4, 2, 64, 64, 1},
        {4, 2, 32, 16, 0}, {2, 1, 256, 64, 0}};
    private static final int[][] QUERIES = {{300, 17, 0, 129}, {200, 1, 450}, {64, 100, 33}, {513, 5}, {90, 40}, {1000, 3, 77, 250}, {150, 260}, {70, 200}};
    private static final int[][] KEYS = {{300, 600, 50, 129}, {1000, 1, 450}, {64, 30, 0}, {700, 1000}, {90, 200}, {1000, 800, 77, 0}, {400, 260}, {300, 200}};

    public static void main(String[] args) throws Exception {
        Device device = Device.get(0);
        System.out.println("device: " + device + ", sm_" + device.sm());
        List<Path> files = new ArrayList<>();
        for (int i = args[0].equals("time") ? 2 : 1; i < args.length; i++) files.add(Path.of(args[i]));
        int failures = switch (args[0]) {
            case "check" -> check(device, files, SHAPES.length);
            case "small" -> check(device, files, 1);
            case "time" -> time(device, Path.of(args[1]));
            default -> throw new IllegalArgumentException("expected check, small or time, got " + args[0]);
        };
        System.out.println(failures == 0 ? "RAGGED CHECK PASSED" : "RAGGED CHECK FAILED: " + failures);
        System.exit(failures == 0 ? 0 : 1);
    }

    private static int check(Device device, List<Path> files, int shapes) throws Exception {
        int passed = 0, failed = 0;
        double worst = 0, worstLse = 0;
        for (Path file : files) {
            Pattern pattern = Passes.optimize(Frontend.compile(file), Map.of());
            LoweredPattern lowered = LowerPattern.lower(pattern);
            Random random = new Random(file.getFileName().toString().hashCode());
            try (Kernel kernel = new PtxBackend().compile(pattern, new TuningConfig(Map.of()))) {
                for (int i = 0; i < shapes; i++) {
                    int[] c = shapes == 1 ? new int[] {2, 1, 64, 16, 0} : SHAPES[i];
                    int[] nq = shapes == 1 ? new int[] {70, 5} : QUERIES[i], nkv = shapes == 1 ? new int[] {70, 90} : KEYS[i];
                    DType dtype = c[4] == 1 ? DType.FLOAT16 : DType.BFLOAT16;
                    String label = String.format(Locale.ROOT, "%-20s %s H=%d Hkv=%d D=%d page=%d Nq=%s Nkv=%s", pattern.name(), dtype, c[0], c[1], c[2], c[3],
                            Arrays.toString(nq), Arrays.toString(nkv));
                    RaggedBatch batch = batch(pattern, c, nq, nkv, dtype, random);
                    Reference.Exact ref;
                    try {
                        ref = RaggedReference.run(pattern, batch);
                    } catch (RuntimeException e) {
                        System.out.println("skip " + label + ": the reference refuses it: " + e.getMessage());
                        continue;
                    }
                    // Kernel.forward runs the default tiling; both kernels it chooses between beside it (wgmma where there is one).
                    for (RaggedPrefill.Tiling tiling : RaggedPrefill.Tiling.values()) {
                        String variant = label + " " + tiling.name().toLowerCase(Locale.ROOT);
                        if (!RaggedPrefill.available(device, lowered, batch, tiling)) continue;
                        try {
                            attnc.launch.Result got;
                            if (tiling == RaggedPrefill.Tiling.DEFAULT) {
                                got = kernel.forward(batch);
                            } else {
                                try (RaggedPrefill prefill = RaggedPrefill.prepare(device, lowered, batch, tiling)) {
                                    got = prefill.run();
                                }
                            }
                            double[] err = DeviceCheck.compare(got.out(), ref.out());
                            double lseErr = ref.lse() == null ? 0 : DeviceCheck.compare(got.lse(), ref.lse())[0];
                            // NaN compares false: it never passes.
                            boolean ok = err[2] <= 2e-2 && lseErr <= 2e-2;
                            if (ok) passed++;
                            else failed++;
                            worst = Math.max(worst, err[2]);
                            worstLse = Math.max(worstLse, lseErr);
                            System.out.printf(Locale.ROOT, "%s %s: max %.2e relL2 %.2e lse %.2e%n", ok ? "ok  " : "FAIL", variant, err[0], err[2], lseErr);
                        } catch (RuntimeException e) {
                            failed++;
                            System.out.printf("FAIL %s: %s%n", variant, e);
                            if (failed < 3) e.printStackTrace(System.out);
                        }
                    }
                }
            }
        }
        System.out.printf(Locale.ROOT, "correctness: %d passed, %d failed; worst relL2 %.2e, worst LSE error %.2e%n", passed, failed, worst, worstLse);
        return failed;
    }

    /**
     * A ragged batch: sequence b has {@code nq[b]} queries and {@code nkv[b]} keys, its pages drawn
     * from a shuffled pool with spare pages, sequence 1 starting with half of sequence 0's full
     * pages (a shared prompt); the inputs at the batch's largest extents.
     */
    static RaggedBatch batch(Pattern pattern, int[] c, int[] nq, int[] nkv, DType dtype, Random random) {
        int sequences = nq.length, h = c[0], hkv = c[1], d = c[2], page = c[3];
        int maxPages = 1, total = 2, maxQ = 0, maxKv = 0;
        for (int b = 0; b < sequences; b++) {
            maxPages = Math.max(maxPages, (nkv[b] + page - 1) / page);
            total += (nkv[b] + page - 1) / page;
            maxQ = Math.max(maxQ, nq[b]);
            maxKv = Math.max(maxKv, nkv[b]);
        }
        List<Integer> ids = new ArrayList<>();
        for (int p = 0; p < total; p++) ids.add(p);
        Collections.shuffle(ids, random);
        int[] table = new int[sequences * maxPages], starts = new int[sequences + 1];
        for (int b = 0, next = 0; b < sequences; b++) {
            for (int j = 0; j < (nkv[b] + page - 1) / page; j++) table[b * maxPages + j] = ids.get(next++);
            starts[b + 1] = starts[b] + nq[b];
        }
        if (sequences > 1) {
            int shared = Math.min((nkv[0] / page) / 2, (nkv[1] + page - 1) / page);
            System.arraycopy(table, 0, table, maxPages, shared);
        }
        Tensor q = Tensor.random(dtype, new int[] {starts[sequences], h, d}, random);
        Tensor k = Tensor.random(dtype, new int[] {total, page, hkv, d}, random);
        Tensor v = Tensor.random(dtype, new int[] {total, page, hkv, d}, random);
        KvCache cache = new KvCache(k, v, Tensor.wrap(table, sequences, maxPages), Tensor.wrap(nkv.clone(), sequences));
        Problem shape = SampleProblems.of(pattern, new SampleProblems.Shape(sequences, h, hkv, maxQ, maxKv, d, -1), dtype, random);
        return new RaggedBatch(q, Tensor.wrap(starts, sequences + 1), cache, shape.inputs());
    }

    /**
     * The ragged prefill: causal sequences of 300 to 4,000 tokens, and the same tokens as one
     * packed sequence under the document mask (each token's document its sequence) on the dense
     * kernel (its own tiling: wgmma at D = 128 on sm_90). FLOPs are 4 · H · D · Σ N_b (N_b + 1) / 2
     * for both.
     */
    private static int time(Device device, Path outDir) throws Exception {
        Files.createDirectories(outDir);
        Random random = new Random(17);
        int sequences = 8, h = 16, page = 64;
        int[] lengths = new int[sequences];
        for (int b = 0; b < sequences; b++) lengths[b] = 300 + random.nextInt(3701);
        int tokens = Arrays.stream(lengths).sum();
        double pairs = 0;
        for (int n : lengths) pairs += (double) n * (n + 1) / 2;
        Files.writeString(outDir.resolve("ragged_lengths.json"), Arrays.toString(lengths) + "\n");
        System.out.println("lengths " + Arrays.toString(lengths) + ", " + tokens + " tokens, H=" + h + ", page " + page);
        System.out.println("D    variant                                           blocks  ms        TFLOP/s");
        StringBuilder json = new StringBuilder("[\n");
        Pattern causal = Passes.optimize(Frontend.compile("causal", "mask: q >= kv"), Map.of());
        Pattern document = Passes.optimize(Frontend.compile("document", "input doc: int32[B, Nkv]\nmask: q >= kv && doc[b, q] == doc[b, kv]"), Map.of());
        int failures = 0;
        for (int d : new int[] {32, 64, 128, 256}) {
            double flops = 4.0 * h * d * pairs;
            try {
                // The default is one of the other two kernels: each kernel is timed once, by its tiling's tag.
                Map<String, Double> timed = new HashMap<>();
                double ragged = timeRagged(device, causal, lengths, h, d, page, flops, json, RaggedPrefill.Tiling.DEFAULT, timed);
                double mmaSync = timeRagged(device, causal, lengths, h, d, page, flops, json, RaggedPrefill.Tiling.MMA_SYNC, timed);
                double wgmma = timeRagged(device, causal, lengths, h, d, page, flops, json, RaggedPrefill.Tiling.WGMMA, timed);
                double masked = timeDocument(device, document, lengths, h, d, flops, json);
                System.out.printf(Locale.ROOT, "D=%d ragged / document-masked time ratio: %.3f (ragged %.2fx as fast; mma.sync ragged %.2fx, wgmma ragged %.2fx)%n", d,
                        ragged / masked, masked / ragged, masked / mmaSync, masked / wgmma);
            } catch (RuntimeException e) {
                failures++;
                System.out.printf("D=%d: %s%n", d, e);
                e.printStackTrace(System.out);
            }
        }
        Files.writeString(outDir.resolve("ragged_times.json"), json.append("\n]\n").toString());
        return failures;
    }

    /** The kernel of {@code tiling}'s milliseconds, timed and reported unless {@code timed} has its tiling's already. */
    private static double timeRagged(Device device, Pattern causal, int[] lengths, int h, int d, int page, double flops, StringBuilder json,
            RaggedPrefill.Tiling tiling, Map<String, Double> timed) {
        int[] c = {h, h, d, page, 0};
        RaggedBatch batch = batch(causal, c, lengths, lengths, DType.BFLOAT16, new Random(d));
        try (RaggedPrefill prefill = RaggedPrefill.prepare(device, LowerPattern.lower(causal), batch, tiling)) {
            String tag = prefill.config().tag();
            Double known = timed.get(tag);
            if (known != null) return known;
            double ms = EventTimer.medianMillis(device, prefill::launch, 10, 30);
            report(d, "ragged causal " + tag, prefill.entries(), ms, flops, json);
            timed.put(tag, ms);
            return ms;
        }
    }

    private static double timeDocument(Device device, Pattern document, int[] lengths, int h, int d, double flops, StringBuilder json) {
        LoweredPattern lowered = LowerPattern.lower(document);
        int tokens = Arrays.stream(lengths).sum();
        int[] ids = new int[tokens];
        for (int b = 0, at = 0; b < lengths.length; at += lengths[b], b++) Arrays.fill(ids, at, at + lengths[b], b);
        Random random = new Random(d);
        Tensor q = Tensor.random(DType.BFLOAT16, new int[] {1, h, tokens, d}, random);
        Tensor k = Tensor.random(DType.BFLOAT16, new int[] {1, h, tokens, d}, random);
        Tensor v = Tensor.random(DType.BFLOAT16, new int[] {1, h, tokens, d}, random);
        Map<String, Tensor> inputs = Map.of("doc", Tensor.wrap(ids, 1, tokens));
        Problem problem = new Problem(q, k, v, inputs, Map.of(), 0);
        Binding binding = Binding.of(document, problem);
        GpuAttention dense = new GpuAttention(device, lowered, PtxModule.render(lowered, KernelConfig.of(lowered, KernelConfig.target(device.sm()), DType.BFLOAT16, d, d)));
        List<DeviceTensor> owned = new ArrayList<>();
        try {
            DeviceTensor dq = DeviceCheck.own(owned, DeviceTensor.upload(device, q, DType.BFLOAT16));
            DeviceTensor dk = DeviceCheck.own(owned, DeviceTensor.upload(device, k, DType.BFLOAT16));
            DeviceTensor dv = DeviceCheck.own(owned, DeviceTensor.upload(device, v, DType.BFLOAT16));
            DeviceTensor doc = DeviceCheck.own(owned, DeviceTensor.upload(device, inputs.get("doc"), DType.INT32));
            DeviceTensor out = DeviceCheck.own(owned, DeviceTensor.allocate(device, DType.FLOAT32, 1, h, tokens, d));
            DeviceTensor lse = DeviceCheck.own(owned, DeviceTensor.allocate(device, DType.FLOAT32, 1, h, tokens));
            GpuAttention.Tensors tensors = new GpuAttention.Tensors(dq, dk, dv, out, lse, Map.of("doc", doc));
            DeviceTensor tiles = DeviceCheck.own(owned, dense.plan(binding).allocate(device));
            dense.prepareTiles(binding, tensors, tiles, inputs);
            double ms = EventTimer.medianMillis(device, () -> dense.launch(binding, tensors, tiles), 10, 30);
            report(d, "document " + dense.module().config().tag(), dense.plan(binding).queryBlocks() * h, ms, flops, json);
            return ms;
        } finally {
            for (DeviceTensor t : owned) t.close();
        }
    }

    private static void report(int d, String variant, int blocks, double ms, double flops, StringBuilder json) {
        double tflops = flops / ms / 1e9;
        System.out.printf(Locale.ROOT, "%-4d %-48s %7d  %8.4f  %7.1f%n", d, variant, blocks, ms, tflops);
        if (json.length() > 2) json.append(",\n");
        json.append(String.format(Locale.ROOT, "  {\"D\": %d, \"variant\": \"%s\", \"blocks\": %d, \"ms\": %.5f, \"tflops\": %.2f}", d, variant, blocks, ms, tflops));
    }
}
