package demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.ir.DType;
import attnc.launch.Result;
import attnc.launch.ShapeException;
import attnc.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LocalWindowAttentionTest {
    private final Random random = new Random(11);
    private final int[] shape = {1, 2, 97, 32};
    private final Tensor q = Tensor.random(DType.FLOAT32, shape, random);
    private final Tensor k = Tensor.random(DType.FLOAT32, shape, random);
    private final Tensor v = Tensor.random(DType.FLOAT32, shape, random);
    private final Tensor temperature = Tensor.ofFloats(DType.FLOAT32, new int[] {2}, new float[] {0.7f, 1.3f});

    @Test
    void generatedKernelMatchesTheReference() {
        try (LocalWindowAttention fast = LocalWindowAttention.builder().window(16).build();
             LocalWindowAttention oracle = LocalWindowAttention.builder().window(16).backend("reference").build()) {
            Result got = fast.forward(q, k, v, temperature);
            Result want = oracle.forward(q, k, v, temperature);
            // fp32 kernel against the double-precision reference: outputs are convex combinations
            // of values in [-1, 1], so 1e-5 absolute is a few ulps of accumulated rounding.
            for (int i = 0; i < want.out().length; i++) {
                assertTrue(Float.isFinite(got.out()[i]), "finite at " + i);
                assertEquals(want.out()[i], got.out()[i], 1e-5, "out[" + i + "]");
            }
        }
    }

    @Test
    void theJvmKernelWasGeneratedAtBuildTime() {
        try (LocalWindowAttention attention = LocalWindowAttention.builder().build();
             LocalWindowAttention oracle = LocalWindowAttention.builder().backend("reference").build()) {
            assertTrue(attention.precompiled(), "the Maven plugin's class files are loaded, nothing generated at run time");
            assertTrue(!oracle.precompiled(), "the reference has nothing to precompile");
            Result got = attention.forward(q, k, v, temperature);
            Result want = oracle.forward(q, k, v, temperature);
            for (int i = 0; i < want.out().length; i++) assertEquals(want.out()[i], got.out()[i], 1e-5, "out[" + i + "]");
        }
    }

    @Test
    void wrongShapeIsRefusedWithExpectedAndActual() {
        Tensor wrong = Tensor.ofFloats(DType.FLOAT32, new int[] {3}, new float[] {1, 1, 1});
        try (LocalWindowAttention attention = LocalWindowAttention.builder().build()) {
            ShapeException e = assertThrows(ShapeException.class, () -> attention.forward(q, k, v, wrong));
            assertTrue(e.getMessage().contains("expected shape [2]") && e.getMessage().contains("got [3]"), e.getMessage());
        }
    }
}
