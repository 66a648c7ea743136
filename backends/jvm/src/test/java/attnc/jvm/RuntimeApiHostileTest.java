package attnc.jvm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.front.CompileException;
import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.launch.ShapeException;
import attnc.run.Attnc;
import attnc.run.Kernel;
import attnc.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * The runtime API ({@link Attnc#compile}, {@link Kernel#forward}, the JVM kernel's strided
 * launch) against mistaken launches: each is refused before any work with one message naming
 * what was expected and what came; a good launch beside a bad one is unaffected.
 */
class RuntimeApiHostileTest {
    private final Random random = new Random(11);
    private static final String TOPK = "input sel: int32[B, H, NQB, K]\nmask: q >= kv\nselect: kv / 16 in sel[b, h, q / 16]";

    private Tensor floats(int... shape) {
        return Tensor.random(DType.FLOAT32, shape, random);
    }

    private static Tensor ints(int... shape) {
        return Tensor.ofInts(DType.INT32, shape, new int[Math.toIntExact(Tensor.elementCount(shape))]);
    }

    private record Row(String what, Supplier<Problem> problem, String words) {}

    @Test
    void mistakenLaunchesAreRefusedWithWhatWasExpected() throws Exception {
        Kernel causal = Attnc.compile("causal", "mask: q >= kv", "jvm", Map.of());
        Kernel topk = Attnc.compile("topk", TOPK, "jvm", Map.of());
        List<Row> rows = List.of(
                new Row("q of rank 3", () -> new Problem(floats(2, 32, 8), floats(1, 2, 32, 8), floats(1, 2, 32, 8), Map.of()),
                        "q: expected rank 4 [B, H, Nq, D], got shape [2, 32, 8]"),
                new Row("int32 q", () -> new Problem(ints(1, 2, 32, 8), floats(1, 2, 32, 8), floats(1, 2, 32, 8), Map.of()),
                        "q: expected a float dtype (float32, bfloat16, float16), got int32"),
                new Row("k of another head size", () -> new Problem(floats(1, 2, 32, 8), floats(1, 2, 32, 4), floats(1, 2, 32, 8), Map.of()),
                        "k: expected shape [1, 2, 32, 8] [B, Hkv, Nkv, D] to match q [1, 2, 32, 8], got [1, 2, 32, 4]"),
                new Row("H not a multiple of Hkv", () -> new Problem(floats(1, 3, 32, 8), floats(1, 2, 32, 8), floats(1, 2, 32, 8), Map.of()),
                        "heads: H = 3 must be a multiple of Hkv = 2 (GQA/MQA)"),
                new Row("an offset past int32", () -> new Problem(floats(1, 2, 32, 8), floats(1, 2, 32, 8), floats(1, 2, 32, 8), Map.of(),
                        Map.of(), Integer.MAX_VALUE - 10), "do not fit in int32"),
                new Row("q in GPU memory", () -> new Problem(Tensor.onDevice("a device buffer", DType.BFLOAT16, 1, 2, 32, 8), floats(1, 2, 32, 8),
                        floats(1, 2, 32, 8), Map.of()), "q: the tensor lives in GPU memory; the jvm backend reads host memory"),
                new Row("an input the pattern does not declare", () -> new Problem(floats(1, 2, 32, 8), floats(1, 2, 32, 8),
                        floats(1, 2, 32, 8), Map.of("doc", ints(1, 32))), "unknown input 'doc'; the pattern declares no inputs"));
        for (Row row : rows) {
            ShapeException e = assertThrows(ShapeException.class, () -> causal.forward(row.problem().get()), row.what());
            assertTrue(e.getMessage().contains(row.words()), row.what() + ": " + e.getMessage());
        }
        Problem tooFewBlocks = new Problem(floats(1, 2, 64, 8), floats(1, 2, 64, 8), floats(1, 2, 64, 8), Map.of("sel", ints(1, 2, 3, 2)));
        assertEquals("input 'sel' [1, 2, 3, 2]: index q / 16 of dimension 2 is 3 at b=0, h=0, q=48, kv=0; expected 0..2",
                assertThrows(ShapeException.class, () -> topk.forward(tooFewBlocks)).getMessage());
        Problem int32Sel = new Problem(floats(1, 2, 64, 8), floats(1, 2, 64, 8), floats(1, 2, 64, 8), Map.of("sel", floats(1, 2, 4, 2)));
        assertEquals("input 'sel': expected dtype int32, got float32", assertThrows(ShapeException.class, () -> topk.forward(int32Sel)).getMessage());
    }

    @Test
    void theStridedLaunchChecksIndexRangesToo() throws Exception {
        Kernel topk = new JvmBackend().compile(attnc.pass.Passes.optimize(attnc.front.Frontend.compile("topk", TOPK), Map.of()));
        // Q, K and V as [B, N, H, D] buffers seen through transposed views, the output written in place.
        Tensor q = Tensor.wrap(floats(1, 64, 2, 8).floats(), 1, 64, 2, 8).transpose(1, 2);
        float[] out = new float[2 * 64 * 8];
        Problem problem = new Problem(q, q, q, Map.of("sel", ints(1, 2, 3, 2)));
        ShapeException e = assertThrows(ShapeException.class, () -> topk.forward(problem, Tensor.wrap(out, 1, 2, 64, 8), null));
        assertTrue(e.getMessage().startsWith("input 'sel' [1, 2, 3, 2]: index q / 16 of dimension 2 is 3"), e.getMessage());
        assertArrayEquals(new float[out.length], out, "nothing was written");
    }

    @Test
    void unknownBackendsAndBadFoldsAreNamed() {
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> Attnc.compile("c", "mask: true", "gpu", Map.of()));
        assertTrue(unknown.getMessage().startsWith("unknown backend 'gpu'; expected one of"), unknown.getMessage());
        CompileException fold = assertThrows(CompileException.class, () -> Attnc.compile("w", "param w: int = 8\nmask: q / w >= kv", "jvm",
                Map.of("w", new Expr.IntLit(0))));
        assertTrue(fold.getMessage().startsWith("w:2:7: error: division by zero"), fold.getMessage());
    }

    @Test
    void oneBadLaunchAmongConcurrentOnesFailsAloneAndTheOthersAgree() throws Exception {
        Kernel causal = Attnc.compile("causal", "mask: q >= kv", "jvm", Map.of());
        Problem good = new Problem(floats(1, 2, 96, 16), floats(1, 2, 96, 16), floats(1, 2, 96, 16), Map.of());
        Problem bad = new Problem(floats(1, 2, 96, 16), floats(1, 2, 96, 8), floats(1, 2, 96, 16), Map.of());
        Result expected = causal.forward(good);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Result>> results = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                Problem p = i == 7 ? bad : good;
                results.add(pool.submit(() -> causal.forward(p)));
            }
            for (int i = 0; i < results.size(); i++) {
                if (i == 7) {
                    var e = assertThrows(java.util.concurrent.ExecutionException.class, results.get(i)::get);
                    assertTrue(e.getCause() instanceof ShapeException, String.valueOf(e.getCause()));
                } else {
                    assertArrayEquals(expected.out(), results.get(i).get().out(), "launch " + i);
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
