package demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.ir.DType;
import attnc.launch.Gradients;
import attnc.launch.KvCache;
import attnc.launch.Result;
import attnc.launch.ShapeException;
import attnc.launch.Wrt;
import attnc.run.Backend;
import attnc.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class LocalWindowAttentionTest {
    private final Random random = new Random(11);
    private final int[] shape = {1, 2, 97, 32};
    private final Tensor q = Tensor.random(DType.FLOAT32, shape, random);
    private final Tensor k = Tensor.random(DType.FLOAT32, shape, random);
    private final Tensor v = Tensor.random(DType.FLOAT32, shape, random);
    private final Tensor temperature = Tensor.wrap(new float[] {0.7f, 1.3f}, 2);

    /** fp32 kernel against the double-precision reference: outputs are averages of values in [-1, 1], so 1e-5 is a few ulps. */
    private static void assertClose(Result want, Result got, double tolerance) {
        for (int i = 0; i < want.out().length; i++) {
            assertTrue(Float.isFinite(got.out()[i]), "finite at " + i);
            assertEquals(want.out()[i], got.out()[i], tolerance, "out[" + i + "]");
        }
    }

    @Test
    void theJvmKernelWasGeneratedAtBuildTimeAndMatchesTheReference() {
        try (LocalWindowAttention fast = LocalWindowAttention.builder().window(16).build();
             LocalWindowAttention oracle = LocalWindowAttention.builder().window(16).backend("reference").build()) {
            assertTrue(fast.precompiled(), "the Maven plugin's class files are loaded, nothing generated at run time");
            assertFalse(oracle.precompiled(), "the reference has nothing to precompile");
            assertClose(oracle.forward(q, k, v, temperature), fast.forward(q, k, v, temperature), 1e-5);
        }
    }

    @Test
    void theGradientsMatchTheReference() {
        try (LocalWindowAttention fast = LocalWindowAttention.builder().window(16).build();
             LocalWindowAttention oracle = LocalWindowAttention.builder().window(16).backend("reference").build()) {
            Tensor dOut = Tensor.random(DType.FLOAT32, shape, random);
            Gradients got = fast.backward(q, k, v, temperature, fast.forward(q, k, v, temperature), dOut);
            Gradients want = oracle.backward(q, k, v, temperature, oracle.forward(q, k, v, temperature), dOut);
            for (Wrt w : want.values().keySet()) {
                float[] g = got.get(w).floats(), e = want.get(w).floats();
                double scale = 0;
                for (float x : e) scale = Math.max(scale, Math.abs(x));
                // fp32 against double: a few ulps of the gradient's largest element per term summed (97 keys, 32 dims).
                for (int i = 0; i < e.length; i++) assertEquals(e[i], g[i], 1e-4 * Math.max(scale, 1e-3), w.label() + "[" + i + "]");
            }
            assertEquals(4, want.values().size(), "dq, dk, dv and the temperature's");
        }
    }

    @Test
    void theDeterministicGradientsAreTheSameBitsOnEveryRun() {
        try (LocalWindowAttention fast = LocalWindowAttention.builder().window(16).build()) {
            Tensor dOut = Tensor.random(DType.FLOAT32, shape, random);
            Result forward = fast.forward(q, k, v, temperature);
            Gradients once = fast.backward(q, k, v, temperature, forward, dOut, true), again = fast.backward(q, k, v, temperature, forward, dOut, true);
            assertEquals(java.util.Optional.empty(), once.firstDifference(again), "every gradient element's bits the same in both runs");
            assertEquals(4, once.values().size(), "dq, dk, dv and the temperature's");
        }
    }

    @Test
    void thePtxKernelWasPrecompiledAndRunsWhereThereIsAGpu() {
        assertNotNull(LocalWindowAttention.class.getResource("/attnc/ptx/demo/LocalWindowAttention/kernel.json"),
                "PTX generated at build time, packaged with the classes");
        Assumptions.assumeTrue(Backend.named("ptx").map(Backend::available).orElse(false), "no NVIDIA GPU here");
        // The GPU computes on bf16 inputs: give both the same bf16 values; 2e-2 covers bf16 weights.
        Tensor q16 = Tensor.random(DType.BFLOAT16, shape, random), k16 = Tensor.random(DType.BFLOAT16, shape, random);
        Tensor v16 = Tensor.random(DType.BFLOAT16, shape, random);
        try (LocalWindowAttention gpu = LocalWindowAttention.builder().window(16).backend("ptx").build();
             LocalWindowAttention oracle = LocalWindowAttention.builder().window(16).backend("reference").build()) {
            assertTrue(gpu.precompiled(), "the packaged PTX is loaded");
            assertClose(oracle.forward(q16, k16, v16, temperature), gpu.forward(q16, k16, v16, temperature), 2e-2);
        }
    }

    @Test
    void testPatternsGetWrappersToo() {
        try (DenseAttention dense = DenseAttention.builder().build();
             DenseAttention oracle = DenseAttention.builder().backend("reference").build()) {
            assertTrue(dense.precompiled(), "generate-test precompiles as generate does");
            assertClose(oracle.forward(q, k, v), dense.forward(q, k, v), 1e-5);
        }
    }

    @Test
    void wrongShapeIsRefusedWithExpectedAndActual() {
        Tensor wrong = Tensor.wrap(new float[] {1, 1, 1}, 3);
        try (LocalWindowAttention attention = LocalWindowAttention.builder().build()) {
            ShapeException e = assertThrows(ShapeException.class, () -> attention.forward(q, k, v, wrong));
            assertTrue(e.getMessage().contains("expected shape [2]") && e.getMessage().contains("got [3]"), e.getMessage());
        }
    }

    @Test
    void aDecodeStepThroughAPagedCacheMatchesTheDenseLaunch() {
        int n = 97, h = 2, d = 32;
        Tensor keys = Tensor.random(DType.FLOAT32, new int[] {n, h, d}, random), values = Tensor.random(DType.FLOAT32, new int[] {n, h, d}, random);
        Tensor query = Tensor.random(DType.FLOAT32, new int[] {1, h, d}, random);
        KvCache cache = KvCache.packed(keys, values, Tensor.wrap(new int[] {0, n}, 2));
        try (LocalWindowAttention attention = LocalWindowAttention.builder().window(16).build()) {
            Result paged = attention.decode(query, cache, temperature);
            // The same step as a dense launch: the query at the last position, [1, n, H, D] rows seen as [1, H, n, D].
            Result dense = attention.forward(Tensor.wrap(query.floats(), 1, h, 1, d), Tensor.wrap(keys.floats(), 1, n, h, d).transpose(1, 2),
                    Tensor.wrap(values.floats(), 1, n, h, d).transpose(1, 2), temperature, n - 1);
            assertClose(dense, paged, 1e-5);
        }
    }
}
