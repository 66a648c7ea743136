package demo;

import attnc.ir.DType;
import attnc.launch.Result;
import attnc.tensor.Tensor;
import java.util.Random;

/** Runs the generated wrapper once and prints a few numbers. */
public final class Main {
    public static void main(String[] args) {
        Random random = new Random(7);
        int[] shape = {1, 4, 256, 64};
        Tensor q = Tensor.random(DType.FLOAT32, shape, random);
        Tensor k = Tensor.random(DType.FLOAT32, shape, random);
        Tensor v = Tensor.random(DType.FLOAT32, shape, random);
        Tensor temperature = Tensor.ofFloats(DType.FLOAT32, new int[] {4}, new float[] {0.5f, 1f, 1.5f, 2f});
        try (LocalWindowAttention attention = LocalWindowAttention.builder().window(64).build()) {
            Result result = attention.forward(q, k, v, temperature);
            System.out.printf("out[0..3] = %.5f %.5f %.5f, lse[0] = %.5f%n",
                    result.out()[0], result.out()[1], result.out()[2], result.lse()[0]);
        }
    }
}
