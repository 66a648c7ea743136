package attnc.ptx.emit;

import attnc.ir.Index;

/**
 * Where a rendered {@link attnc.lower.Program} finds the values it does not compute: the index
 * variables at a site, sizes, params, the score, the output element and input base addresses.
 * Each kernel supplies its own (the attention kernel per thread row and column, the tile
 * classifier per element).
 */
interface Leaves {
    /** An s32 register (or immediate) holding {@code index} at row {@code row}, column {@code col}. */
    String index(Index index, int row, int col);

    /** An s32 register or immediate holding the size. */
    String size(String name);

    /** A register holding the launch-time param (.s32, .f32 or, for bools, .s32 0/1), as {@link Signature#loadParams} fills it. */
    default String param(String name) { return "%param_" + name; }

    /** The .f32 scaled score s at a site. */
    default String score(int row, int col) { throw new IllegalStateException("s is not available here"); }

    /** The .f32 output element o at a site. */
    default String output(int row, int col) { throw new IllegalStateException("o is not available here"); }

    /** The .u64 register holding the global address of an input tensor, as {@link Signature#loadParams} fills it. */
    default String input(String name) { return "%in_" + name; }
}
