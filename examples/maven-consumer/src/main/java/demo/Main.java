package demo;

import attnc.ir.DType;
import attnc.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

/** Runs the generated wrapper once, writing into off-heap memory, and prints a few numbers. */
public final class Main {
    private Main() {}

    /**
     * Runs the local window pattern over random data.
     *
     * @param args ignored
     */
    public static void main(String[] args) {
        Random random = new Random(7);
        int b = 1, n = 256, h = 4, d = 64;
        // Q, K, V as a fused projection leaves them, [B, N, H, D], seen as [B, H, N, D].
        Tensor q = Tensor.random(DType.FLOAT32, new int[] {b, n, h, d}, random).transpose(1, 2);
        Tensor k = Tensor.random(DType.FLOAT32, new int[] {b, n, h, d}, random).transpose(1, 2);
        Tensor v = Tensor.random(DType.FLOAT32, new int[] {b, n, h, d}, random).transpose(1, 2);
        Tensor temperature = Tensor.wrap(new float[] {0.5f, 1f, 1.5f, 2f}, h);
        try (Arena arena = Arena.ofShared();
             LocalWindowAttention attention = LocalWindowAttention.builder().window(64).build()) {
            MemorySegment rows = arena.allocate(4L * b * n * h * d);
            attention.forwardInto(q, k, v, temperature, Tensor.wrap(rows, DType.FLOAT32, b, n, h, d).transpose(1, 2), null);
            System.out.printf("out[0..3] = %.5f %.5f %.5f (precompiled: %b)%n", rows.getAtIndex(ValueLayout.JAVA_FLOAT, 0),
                    rows.getAtIndex(ValueLayout.JAVA_FLOAT, 1), rows.getAtIndex(ValueLayout.JAVA_FLOAT, 2), attention.precompiled());
        }
    }
}
