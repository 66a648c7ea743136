package attnc.tune;

import attnc.launch.Binding;

/**
 * The shapes one tuned configuration serves: batch, heads, head dims exact; sequence lengths
 * rounded up to a power of two (the best tiles change slowly with N, and a cache keyed by exact N
 * would never hit); the query offset only as "decode" (few queries) or not.
 */
public record ShapeClass(int b, int h, int hkv, int nqBucket, int nkvBucket, int d, int dv) {

    public static ShapeClass of(Binding binding) {
        return new ShapeClass(binding.size("B"), binding.size("H"), binding.size("Hkv"),
                bucket(binding.size("Nq")), bucket(binding.size("Nkv")), binding.size("D"), binding.size("Dv"));
    }

    static int bucket(int n) {
        return n <= 1 ? 1 : Integer.highestOneBit(n - 1) << 1;
    }

    @Override
    public String toString() {
        return "B" + b + "_H" + h + "x" + hkv + "_Nq" + nqBucket + "_Nkv" + nkvBucket + "_D" + d + "x" + dv;
    }
}
