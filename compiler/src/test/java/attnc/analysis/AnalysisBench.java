package attnc.analysis;

import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.reference.Visibility;
import attnc.tensor.Tensor;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * The analysis cost per launch at N = 128K (tiles 64 x 64, 2048 x 2048 tiles), for causal, a
 * 4096-wide sliding window and a causal document mask, against the peer measured in the same
 * run: building the block mask by evaluating the mask on every element (what FlexAttention's
 * create_block_mask does), timed on two query tiles and scaled to all 2048.
 *
 * <p>Printed per pattern: building the classifier (and the block map for documents) the first
 * time and warm, one kvRange, the runs of non-empty tiles of every query tile ({@code row}, the
 * whole plan a kernel needs), and build + rows against the per-element peer. Run from the repository root:
 * <pre>
 * ./build -q -o test-compile -pl compiler -am
 * /usr/lib/jvm/temurin-25-jdk-amd64/bin/java -cp compiler/target/classes:compiler/target/test-classes:dsl-grammar/target/classes:$HOME/.m2/repository/org/antlr/antlr4-runtime/4.13.2/antlr4-runtime-4.13.2.jar attnc.analysis.AnalysisBench
 * </pre>
 */
public final class AnalysisBench {
    private static final int N = 128 * 1024, TILE = 64, BATCH = 1, REPS = 15;
    /** CPU time of this thread: the machine is shared, and wall time would count other processes. */
    private static final java.lang.management.ThreadMXBean CPU = java.lang.management.ManagementFactory.getThreadMXBean();

    public static void main(String[] args) throws Exception {
        Map<String, String> patterns = new java.util.LinkedHashMap<>();
        patterns.put("causal", "mask: q >= kv");
        patterns.put("sliding window 4096", "param window: int = 4096\nmask: q >= kv && q - kv < window");
        patterns.put("document causal", "input doc: int32[B, Nkv]\nmask: doc[b, q] == doc[b, kv] && q >= kv");
        Map<String, Tensor> inputs = Map.of("doc", documents(new Random(1)));
        System.out.printf(Locale.ROOT, "N = %d, tiles %d x %d (%d x %d), best of %d runs, thread CPU time (the machine is shared: the best run is the cost)%n", N, TILE, TILE, N / TILE, N / TILE, REPS);
        System.out.printf(Locale.ROOT, "%-20s %10s %10s %12s %12s %12s %12s %12s %9s%n", "pattern", "build 1st", "build warm", "kvRange/row",
                "rows, all", "tiles", "analysis", "per-element", "ratio");
        for (var entry : patterns.entrySet()) {
            Pattern pattern = Frontend.compile(entry.getKey(), entry.getValue());
            Binding binding = binding(pattern);
            long c0 = CPU.getCurrentThreadCpuTime();
            ClassifyTiles.classifier(pattern, binding, inputs, TILE, TILE);
            double firstBuild = (CPU.getCurrentThreadCpuTime() - c0) / 1e3;
            // A process that launches often runs the build compiled by the JIT: warm it up as such a process would be, and
            // time a batch, since one index-only build is shorter than the clock's useful resolution.
            boolean readsData = attnc.ir.ExprTree.readsInputs(pattern.visibility());
            int batch = readsData ? 10 : 20000;
            for (int i = 0; i < batch; i++) ClassifyTiles.classifier(pattern, binding, inputs, TILE, TILE);
            long w0 = CPU.getCurrentThreadCpuTime();
            for (int i = 0; i < batch; i++) ClassifyTiles.classifier(pattern, binding, inputs, TILE, TILE);
            double warmBuild = (CPU.getCurrentThreadCpuTime() - w0) / 1e3 / batch;
            double[] range = new double[REPS], rows = new double[REPS];
            long visited = 0;
            for (int rep = 0; rep < REPS + 1; rep++) {
                TileClassifier tiles = ClassifyTiles.classifier(pattern, binding, inputs, TILE, TILE);
                long t1 = CPU.getCurrentThreadCpuTime();
                int qTiles = tiles.grid().qTiles();
                long bandTiles = 0;
                for (int qt = 0; qt < qTiles; qt++) bandTiles += tiles.kvRange(0, 0, qt).count();
                long t2 = CPU.getCurrentThreadCpuTime();
                long count = 0;
                for (int qt = 0; qt < qTiles; qt++) count += tiles.row(0, 0, qt).tiles();
                long t3 = CPU.getCurrentThreadCpuTime();
                if (bandTiles < count) throw new IllegalStateException("a row holds tiles outside its kvRange");
                if (rep == 0) continue; // warm-up
                range[rep - 1] = (t2 - t1) / 1e3 / qTiles;
                rows[rep - 1] = (t3 - t2) / 1e3;
                visited = count;
            }
            double analysis = warmBuild + best(rows);
            double peer = perElementPeer(pattern, binding, inputs);
            System.out.printf(Locale.ROOT, "%-20s %8.0fus %8.2fus %10.2fus %10.0fus %12d %10.0fus %10.0fms %8.0fx%n", entry.getKey(), firstBuild,
                    warmBuild, best(range), best(rows), visited, analysis, peer / 1e3, peer / analysis);
        }
        System.out.println("build: classifier (and block map) per launch, first in the JVM and JIT-warm; rows, all: the non-empty runs of every query tile (the whole plan);");
        System.out.println("analysis = build + rows; per-element: mask evaluated on every element to classify all tiles (FlexAttention's way).");
    }

    /** Microseconds to classify every tile by evaluating every element, from two sampled query tiles. */
    private static double perElementPeer(Pattern pattern, Binding binding, Map<String, Tensor> inputs) {
        Visibility visibility = Visibility.of(pattern, binding, inputs);
        int[] sampled = {N / TILE / 2, N / TILE - 1};
        long t0 = CPU.getCurrentThreadCpuTime();
        long any = 0;
        for (int qt : sampled) {
            for (int q = qt * TILE; q < (qt + 1) * TILE; q++) {
                for (int kv = 0; kv < N; kv++) if (visibility.visible(0, 0, q, kv)) any++;
            }
        }
        long t1 = CPU.getCurrentThreadCpuTime();
        if (any == 0) throw new IllegalStateException("nothing visible");
        return (t1 - t0) / 1e3 / sampled.length * (N / TILE);
    }

    private static Binding binding(Pattern pattern) {
        Map<String, Integer> sizes = Map.of("B", BATCH, "H", 1, "Hkv", 1, "Nq", N, "Nkv", N, "D", 64, "Dv", 64);
        Map<String, Expr> params = new HashMap<>();
        for (var p : pattern.params()) params.put(p.name(), p.defaultValue().orElseThrow());
        return new Binding(sizes, 0, params);
    }

    /** Packed documents of random lengths around 2K tokens. */
    private static Tensor documents(Random random) {
        int[] ids = new int[BATCH * N];
        int id = 0;
        for (int p = 0; p < ids.length; p++) {
            if (random.nextInt(2048) == 0) id++;
            ids[p] = id;
        }
        return Tensor.ofInts(DType.INT32, new int[] {BATCH, N}, ids);
    }

    private static double best(double[] xs) {
        return Arrays.stream(xs).min().orElseThrow();
    }
}
