package attnc.ptx.emit;

/** Reductions across a warp's lanes by butterfly shuffles, each lane left holding the result. */
final class Shuffles {
    private Shuffles() {}

    /**
     * {@code value} = {@code op} ({@code add.f32}, {@code max.f32}) of the lanes' values at xor
     * distances {@code first} to {@code last}, powers of two, doubling or halving in that order
     * (the order fixes the rounding of a sum); {@code partner} holds the shuffled value.
     */
    static void butterfly(PtxWriter out, String op, String value, String partner, int first, int last) {
        for (int lane = first; ; lane = first < last ? 2 * lane : lane / 2) {
            out.op("shfl.sync.bfly.b32", partner, value, lane, "0x1f", "0xffffffff");
            out.op(op, value, value, partner);
            if (lane == last) return;
        }
    }
}
