package attnc.bench.jmh;

import java.util.SplittableRandom;

/**
 * Issue 17's CPU decode shape: B sequences, H = 32 query heads over Hkv = 8 KV heads, D = 128,
 * fp32, {@code nq} queries per sequence at the end of {@code nkv} keys; inputs seeded, so attnc
 * and ONNX Runtime read the same values. K and V [B, Hkv, Nkv, D] are what a step reads: the GB/s
 * the report gives count them alone.
 */
final class DecodeInputs {
    static final int HEADS = 32, KV_HEADS = 8, D = 128;

    private DecodeInputs() {}

    /** B: 8, or fewer when the JVM's heap cannot hold K and V four times over (the cache, its pages, ORT's copies). */
    static int batch(int nkv) {
        long perSequence = 2L * KV_HEADS * nkv * D * Float.BYTES;
        int b = 8;
        while (b > 1 && 4 * b * perSequence > Runtime.getRuntime().maxMemory()) b /= 2;
        return b;
    }

    static float[] random(long count, long seed) {
        float[] values = new float[Math.toIntExact(count)];
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < values.length; i++) values[i] = (float) (random.nextDouble() * 2 - 1);
        return values;
    }

    /** Bytes of K and V a step reads. */
    static long bytes(int batch, int nkv) { return 2L * batch * KV_HEADS * nkv * D * Float.BYTES; }
}
