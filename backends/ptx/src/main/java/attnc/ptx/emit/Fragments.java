package attnc.ptx.emit;

/**
 * Register names for a warp's mma.m16n8k16 fragments, so the emitters agree on them. A thread
 * holds, for m-tile {@code mt}, rows g and g+8 (row index {@code 2·mt} and {@code 2·mt+1}) and,
 * for each 8-column n-tile, columns 2t and 2t+1 (column index {@code 2·nt} and {@code 2·nt+1}).
 */
final class Fragments {
    private Fragments() {}

    /** Score accumulator element i (0..3) of m-tile mt, n-tile nt. */
    static String score(int mt, int nt, int i) { return "%s_m" + mt + "_n" + nt + "_" + i; }

    /** The score at a thread row and column index. */
    static String scoreAt(int row, int col) { return score(row / 2, col / 2, (row % 2) * 2 + col % 2); }

    /** Output accumulator element i of m-tile mt, value n-tile dt. */
    static String acc(int mt, int dt, int i) { return "%o_m" + mt + "_n" + dt + "_" + i; }

    static String accAt(int row, int col) { return acc(row / 2, col / 2, (row % 2) * 2 + col % 2); }

    /** Q operand register j (0..3) of m-tile mt, k-chunk kc. */
    static String queryA(int mt, int kc, int j) { return "%qa_m" + mt + "_k" + kc + "_" + j; }

    /** P operand register j of m-tile mt, kv chunk kk. */
    static String probA(int mt, int kk, int j) { return "%pa_m" + mt + "_k" + kk + "_" + j; }

    /** One mma.sync: D = A·B + C over a 16×8×16 tile, fp32 accumulate. */
    static String mma(String type, String[] d, String[] a, String b0, String b1, String[] c) {
        return "mma.sync.aligned.m16n8k16.row.col.f32." + type + "." + type + ".f32 {" + String.join(", ", d) + "}, {"
                + String.join(", ", a) + "}, {" + b0 + ", " + b1 + "}, {" + String.join(", ", c) + "}";
    }
}
